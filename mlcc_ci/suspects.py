"""A failure rule that keeps blocking one configuration is suspect.

Classification can block a configuration, never pass it: a block proves nothing about the
product. A rule that has blocked the same configuration for more than `suspect-rounds`
rounds in a row (a round: one run, its retries included) may be hiding a product failure
(a catch-all `infra` rule does exactly that), so `status`, the report, the pull request's
verdict and the platform team's notice name it and where it is written.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mlcc_ci.models import Blocked, Run

if TYPE_CHECKING:
    from mlcc_ci.failures import Rule

SETTING = "suspect-rounds"


@dataclass(frozen=True)
class Suspect:
    """The rule that has blocked a configuration `rounds` rounds in a row; `source` is the
    FILE:LINE it is written at ("-": unknown)."""

    rule: str
    source: str
    cls: str
    rounds: int

    def text(self, name: str) -> str:
        """`rule catch-all (team/_failures.yaml:2) has blocked http-flask 4 rounds in a row
        (infra): nothing proven; the rule may hide a product failure`."""
        rule = f"rule {self.rule} ({self.source})" if self.rule else f"class {self.cls} (no rule)"
        return (
            f"{rule} has blocked {name} {self.rounds} rounds in a row ({self.cls}): nothing "
            "proven; the rule may hide a product failure"
        )

    def to_item(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "rule": self.rule,
            "source": self.source,
            "class": self.cls,
            "rounds": self.rounds,
        }


def limit(env: Mapping[str, str] = os.environ) -> int:
    """How many rounds a rule may block one configuration before it is suspect."""
    from mlcc_ci import settings

    return int(settings.value_of(SETTING, env))


def rule_source(rule: str) -> str:
    """Where the rule `rule` is written (FILE:LINE), by the rules in force; "-" when they
    cannot be read or no longer have it."""
    if not rule:
        return "-"
    from mlcc_ci.errors import CatalogError
    from mlcc_ci.failures import load_rules

    try:
        rules = load_rules()
    except CatalogError:
        return "-"
    return next((r.source for r in rules if r.name == rule), "-")


def suspect(blocked: Blocked | None, rounds: int, source: str | None = None) -> Suspect | None:
    """The suspect behind `blocked` when it has lasted more than `rounds` rounds."""
    if blocked is None or blocked.rounds <= rounds:
        return None
    where = source if source is not None else rule_source(blocked.rule)
    return Suspect(blocked.rule, where, blocked.cls, blocked.rounds)


def block_of(history: list[Run], before: Blocked | None) -> Blocked | None:
    """What blocks a configuration by its `history` (newest first): the infrastructure
    failures newer than its newest product result (harness errors and interrupted runs
    aside); None when there are none. A round is counted at each first attempt. What
    `before` knew that the history does not (when to try again, that the platform team
    was told) is kept."""
    streak = []
    for run in history:
        if run.product:
            break
        if run.failure is not None and run.failure.blocking and run.status != "error":
            streak.append(run)
    if not streak:
        return None
    failure = streak[0].failure
    assert failure is not None
    return Blocked(
        cls=failure.cls,
        stage=failure.stage,
        since=streak[-1].startedAt,
        retryAfter=before.retryAfter if before else streak[0].finishedAt,
        rule=failure.rule,
        capture=failure.capture,
        rounds=max(sum(r.attempt <= 1 for r in streak), 1),
        notified=before.notified if before else False,
    )


NOTICE_AFTER = timedelta(days=1)  # the platform team hears of a block this old


def platform_notice(
    name: str,
    config_id: str,
    blocked: Blocked,
    finished: str,
    env: Mapping[str, str],
    rules: "tuple[Rule, ...] | None" = None,
) -> tuple[str, list[str]] | None:
    """The platform team's notice (subject, lines) of `name`'s block after a run that
    finished at `finished`: once a streak when it has lasted more than a day, and when its
    rule turns suspect (then the rule and where it is written, by `rules` or the rules in
    force, are named); else None."""
    from mlcc_ci import clock, settings
    from mlcc_ci.errors import UsageError

    try:
        rounds = limit(env)
    except UsageError:  # a notice must never lose a result: the default, then
        rounds = int(settings.BY_KEY[SETTING].default)
    old = clock.parse(finished) - clock.parse(blocked.since) > NOTICE_AFTER
    turned = blocked.rounds == rounds + 1
    if not ((old and not blocked.notified) or turned):
        return None
    lines = [
        f"{name} ({config_id}) has been blocked by {blocked.cls} at {blocked.stage} since "
        f"{blocked.since} ({blocked.rounds} runs in a row).",
        f"Rule {blocked.rule or '-'}: {blocked.capture or '-'}.",
        f"The scanner tries again after {blocked.retryAfter}.",
    ]
    written = next((r.source for r in rules or () if r.name == blocked.rule), None)
    found = suspect(blocked, rounds, written)
    if found is not None:
        lines.append(f"Suspect: {found.text(name)} (more than {SETTING} = {rounds}).")
    return f"mlcc-ci: {name} blocked ({blocked.cls})", lines
