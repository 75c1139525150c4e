"""Notices after a run is recorded: the owners hear of a regression or a fix, the platform
team of a configuration the infrastructure has blocked (suspects.platform_notice). A notice
that cannot be sent is a note on the run, never its failure."""

import contextlib
from dataclasses import replace

from mlcc_ci.constants import ERROR
from mlcc_ci.errors import ConflictError, StoreError
from mlcc_ci.history import transition
from mlcc_ci.lifecycle.context import RunContext, RunReport, Send
from mlcc_ci.lifecycle.record import write
from mlcc_ci.models import Blocked
from mlcc_ci.suspects import platform_notice


def tell(ctx: RunContext, report: RunReport, blocked: Blocked | None) -> None:
    """Whoever the recorded run concerns: the platform team of a block, the owners of a
    change in a configuration's status (a harness error concerns neither)."""
    if blocked is not None:
        tell_platform(ctx, report, blocked)
    elif report.outcome.status != ERROR:
        tell_owners(ctx, report)


def tell_owners(ctx: RunContext, report: RunReport) -> None:
    change = transition(report.record.previousStatus, report.outcome.status)
    if change is None or ctx.notifier.owners is None:
        return
    if change == "regressed" and report.quarantine:  # known bad: kept out of the flags
        report.notes.append(f"no regression notice: {report.quarantine}")
        return
    record, outcome = report.record, report.outcome
    subject = f"mlcc-ci: {record.deploymentConfig} {change} ({outcome.status})"
    lines = [
        f"{record.deploymentConfig} ({record.configId}) {change}: now {outcome.status}, "
        f"before {record.previousStatus}.",
        f"Run {record.runId}, finished {outcome.finishedAt}, profile {outcome.profile}.",
    ]
    if outcome.errorMessage:
        lines.append(f"First failure: {outcome.errorMessage}")
    if outcome.failure is not None and outcome.failure.rule:
        lines.append(f"Classified: {outcome.failure.cls} ({outcome.failure.rule}).")
    _send(ctx.notifier.owners, subject, lines, report)


def tell_platform(ctx: RunContext, report: RunReport, blocked: Blocked) -> None:
    """The platform team hears of a configuration infrastructure has blocked for more
    than a day, once per streak (the record remembers it was told), and of a rule that
    turns suspect (suspects.platform_notice)."""
    record = report.record
    if ctx.notifier.platform is None:
        return
    name, finished = record.deploymentConfig, report.outcome.finishedAt
    notice = platform_notice(name, record.configId, blocked, finished, ctx.env, ctx.rules)
    if notice is None:
        return
    subject, lines = notice
    if _send(ctx.notifier.platform, subject, lines, report):
        told = replace(record, blocked=replace(blocked, notified=True))
        # if this write is lost, they are told again next time: better twice than never
        with contextlib.suppress(ConflictError, StoreError):
            report.record = write(ctx.store, record, replace(told, version=record.version + 1))


def _send(send: Send, subject: str, lines: list[str], report: RunReport) -> bool:
    try:
        send(subject, "\n".join(lines))
    except Exception as exc:  # a notification must never lose a result
        report.notes.append(f"could not send the notification: {type(exc).__name__}: {exc}")
        return False
    return True
