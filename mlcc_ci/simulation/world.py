"""The world a simulation replays: what happens to the catalog's configurations over some
days, all drawn from one seed (random.Random(seed)): the same seed, the same world.

What happens (the rates are `Rates`' fields):
  generator releases    the pinned generator's version moves on; some releases break one to
                        three configurations, until a later release fixes them
  base image updates    an image's digest changes under the same tag (a floating tag often,
                        a release tag rarely); some updates break the configurations built
                        FROM it, until the image's next update
  entry edits           a catalog entry changes (its base image tag); some edits break it,
                        until a later edit fixes it
  silent breakages      a configuration breaks with no visible change (a model removed from
                        the hub, a dependency yanked); some recover later, others not
  capacity gaps         an instance type has no capacity in the region for some hours: runs
                        on it are blocked (capacity) and retried with the rule's backoff
  infrastructure        any run may hit throttling or a build queue timeout (blocked, infra)
  flakes                any run may fail a health check once, with nothing broken

Each breakage is a regression window: from when it starts to when it is fixed (or the end);
breakages of one configuration that overlap are one window (`regressions`).
No breakage starts in the last `quiet_days` (at most a quarter of the days), so that every
policy had as long to notice each one. The world may begin `warmup_days` before the measured
days (`origin`): releases, updates, edits, gaps and failures go on, nothing breaks, and each
policy builds the history it schedules by, as a stack that has been running has. A run's
outcome depends on the world at its start
and on draws seeded by the seed, the configuration and the start time only: two policies
that run the same configuration at the same moment see the same result.
"""

import functools
import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from mlcc_ci import clock
from mlcc_ci.catalog import GPU_FAMILIES, compact_json
from mlcc_ci.constants import PASS
from mlcc_ci.models import Registration, StageResult
from mlcc_ci.resultparts import Failure

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
KINDS = (
    "generator-release",
    "image-update",
    "entry-edit",
    "silent-break",
    "silent-recovery",
    "capacity-gap",
)
# What a typical run's stages take, in seconds (the README's 35 executor minutes: 20 of them
# the nested build, 15 the endpoint's), and what is left to the executor around them.
TYPICAL_SECONDS = {"generate": 60.0, "validate": 15.0, "build": 1200.0, "deploy_test": 900.0}
AROUND_SECONDS = 120.0  # register, teardown and writing the result
RUN_STAGES = ("generate", "validate", "build", "deploy_test")


@dataclass(frozen=True)
class Rates:
    # generator releases come about monthly (on npm, @aws/ml-container-creator 1.5.2 came out
    # on 2026-08-09 and 1.6.0 on 2026-09-09): at least a week apart, then 3 weeks on average
    release_every_days: float = 21.0
    release_gap_days: float = 7.0
    release_breaks: float = 0.4  # the share of releases that break something
    # per base image, one of: a floating tag rebuilt every couple of weeks (python:3.12-slim),
    # one re-pushed with patches monthly (a DLC), a release tag rarely re-pushed
    image_every_days: tuple[float, ...] = (14.0, 30.0, 90.0)
    image_weights: tuple[float, ...] = (0.25, 0.25, 0.5)
    image_breaks: float = 0.2
    edit_every_days: float = 30.0  # per configuration
    edit_breaks: float = 0.25
    edit_fix_days: tuple[float, float] = (1.0, 5.0)
    silent_every_days: float = 60.0  # per configuration
    silent_recovers: float = 0.3
    silent_days: tuple[float, float] = (3.0, 14.0)  # how long one that recovers lasts
    gap_every_days: float = 7.0  # per GPU instance type
    gap_hours: tuple[float, float] = (2.0, 12.0)
    infra_per_run: float = 0.03
    flake_per_run: float = 0.02
    quiet_days: float = 7.0


RATES = Rates()


@dataclass(frozen=True)
class Config:
    """A supported catalog configuration as the world starts it."""

    name: str
    registration: Registration
    instance_type: str
    image: str  # its base image reference (the family its digests follow)
    config: Mapping[str, object] = field(compare=False)


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # one of KINDS
    subject: str  # the version, image, configuration or instance type
    detail: str
    breaks: tuple[str, ...] = ()  # the configurations it breaks


@dataclass(frozen=True)
class Breakage:
    """A regression window: `config` fails from `start` until `end` (None: to the end)."""

    config: str
    kind: str  # generator | image | entry | silent
    start: datetime
    end: datetime | None
    cause: str
    stage: str
    message: str

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class Attempt:
    """What the world makes of one run started at a moment."""

    status: str  # pass | fail-<stage>
    stages: Mapping[str, StageResult]
    seconds: float
    message: str
    failure: Failure | None
    backoff: int  # the classifying rule's backoff (seconds), for a blocked run
    generator_version: str
    image: str  # the base image it was built FROM, by digest
    cause: str  # "" (a pass) | breakage | flake | capacity | infra


_MESSAGES = {
    "generator": [
        ("generate", "⚠️  Unsupported deployment config: {name} (generator {cause})"),
        ("build", "ERROR: No matching distribution found for serving-runtime==99.{n}"),
    ],
    "image": [
        ("deploy_test", "the endpoint did not pass the ping health check ({cause})"),
        ("deploy_test", "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB"),
    ],
    "entry": [("deploy_test", "the endpoint did not pass the ping health check ({cause})")],
    "silent": [
        (
            "deploy_test",
            "Repository Not Found for url: https://huggingface.co/api/models/org/model-{n}/",
        ),
        ("deploy_test", "the endpoint did not pass the ping health check ({cause})"),
    ],
}
FLAKE = ("deploy_test", "the endpoint did not pass the ping health check (a flake)")
CAPACITY = ("deploy_test", "Unable to provision requested ML compute capacity.")
INFRA = [
    (
        "deploy_test",
        "An error occurred (ThrottlingException) when calling the CreateEndpoint operation",
    ),
    ("build", "executor build TIMED_OUT in phase QUEUED"),
]


@cache
def classified(stage: str, message: str) -> tuple[Failure, int]:
    """The failure the real rules make of `message` at `stage`, and its rule's backoff."""
    from mlcc_ci.failures import classify

    found = classify(stage, message)
    failure = Failure(found.cls, stage, found.rule, found.capture)
    return failure, found.retry.backoff_seconds


class World:
    def __init__(
        self,
        seed: int,
        days: float,
        configs: Sequence[Config],
        generator: str = "1.6.0",
        rates: Rates = RATES,
        start: datetime = START,
        warmup_days: float = 0.0,
    ) -> None:
        self.seed, self.days, self.rates, self.start = seed, days, rates, start
        self.end = start + timedelta(days=days)
        self.origin = start - timedelta(days=warmup_days)  # the world begins; no breakage yet
        self.configs = {c.name: c for c in configs}
        self.first_version = generator
        rng = random.Random(seed)
        quiet = min(rates.quiet_days, days / 4)
        self.last_break = self.end - timedelta(days=quiet)  # no breakage starts after it
        self.events: list[Event] = []
        self.breakages: list[Breakage] = []
        self.releases = self._releases(rng)  # (when, version)
        self.updates = self._image_updates(rng)  # image -> moments its digest changed
        self.edits = self._edits(rng)  # configuration -> moments its entry was edited
        self._silent(rng)
        self.gaps = self._gaps(rng)  # instance type -> (start, end) windows
        self.events.sort(key=lambda e: (e.at, e.kind, e.subject))
        self.breakages.sort(key=lambda b: (b.start, b.config))
        self._by_config: dict[str, list[Breakage]] = {}
        for b in self.breakages:
            self._by_config.setdefault(b.config, []).append(b)
        self.regressions = regressions(self.breakages)

    # -- making the world -------------------------------------------------------------

    def _moments(
        self, rng: random.Random, every_days: float, gap_days: float = 0.0
    ) -> list[datetime]:
        """Moments of a Poisson process over the days (at least `gap_days` apart)."""
        found: list[datetime] = []
        at = self.origin
        while True:
            step = gap_days + rng.expovariate(1 / every_days)
            if step >= (self.end - at).total_seconds() / 86400:
                return found
            at += timedelta(days=step)
            found.append(at)

    def _may_break(self, at: datetime) -> bool:
        """Breakages start within the measured days, before the quiet end."""
        return self.start <= at < self.last_break

    def _window(
        self,
        rng: random.Random,
        name: str,
        kind: str,
        span: tuple[datetime, datetime | None],
        cause: str,
    ) -> None:
        start, end = span
        stage, text = rng.choice(_MESSAGES[kind])
        message = text.format(name=name, cause=cause, n=rng.randrange(1000))
        self.breakages.append(Breakage(name, kind, start, end, cause, stage, message))

    def _releases(self, rng: random.Random) -> list[tuple[datetime, str]]:
        r = self.rates
        moments = self._moments(rng, r.release_every_days, r.release_gap_days)
        parts = [int(p) for p in re.findall(r"\d+", self.first_version)[:3]]
        major, minor, patch = (*parts, 0, 0, 0)[:3]
        releases = []
        for at in moments:
            if rng.random() < 0.25:
                minor, patch = minor + 1, 0
            else:
                patch += 1
            releases.append((at, f"{major}.{minor}.{patch}"))
        self.releases = releases  # generator_version() reads it below
        names = sorted(self.configs)
        for i, (at, version) in enumerate(releases):
            broken: tuple[str, ...] = ()
            if self._may_break(at) and rng.random() < r.release_breaks:
                broken = tuple(sorted(rng.sample(names, min(rng.randint(1, 3), len(names)))))
                fix = i + (1 if rng.random() < 0.7 else 2)
                end = releases[fix][0] if fix < len(releases) else None
                for name in broken:
                    self._window(rng, name, "generator", (at, end), f"generator {version}")
            detail = f"generator {version} released" + (
                f"; breaks {', '.join(broken)}" if broken else ""
            )
            self.events.append(Event(at, "generator-release", version, detail, broken))
        return releases

    def _image_updates(self, rng: random.Random) -> dict[str, list[datetime]]:
        r = self.rates
        images = sorted({c.image for c in self.configs.values()})
        updates: dict[str, list[datetime]] = {}
        for image in images:
            mean = rng.choices(r.image_every_days, r.image_weights)[0]
            moments = self._moments(rng, mean, 1.0)
            updates[image] = moments
            users = sorted(c.name for c in self.configs.values() if c.image == image)
            for i, at in enumerate(moments):
                broken: tuple[str, ...] = ()
                if self._may_break(at) and rng.random() < r.image_breaks:
                    broken = tuple(n for n in users if rng.random() < 0.6) or (rng.choice(users),)
                    end = moments[i + 1] if i + 1 < len(moments) else None
                    for name in broken:
                        self._window(rng, name, "image", (at, end), f"a new {image}")
                detail = f"{image} has a new digest" + (
                    f"; breaks {', '.join(broken)}" if broken else ""
                )
                self.events.append(Event(at, "image-update", image, detail, broken))
        return updates

    def _edits(self, rng: random.Random) -> dict[str, list[datetime]]:
        r = self.rates
        edits: dict[str, list[datetime]] = {}
        for name in sorted(self.configs):
            moments = self._moments(rng, r.edit_every_days)
            fixes = []
            for at in moments:
                if self._may_break(at) and rng.random() < r.edit_breaks:
                    fixed = at + timedelta(days=rng.uniform(*r.edit_fix_days))
                    end = fixed if fixed < self.end else None
                    fixes.append((at, end))
                    if end is not None:
                        moments = sorted([*moments, end])
            edits[name] = sorted(set(moments))
            broke = {at for at, _ in fixes}
            for at, end in fixes:
                n = edits[name].index(at) + 1
                self._window(rng, name, "entry", (at, end), f"edit {n} of its entry")
            for n, at in enumerate(edits[name], 1):
                detail = f"{name}'s entry edited (edit {n})" + (
                    "; breaks it" if at in broke else ""
                )
                self.events.append(
                    Event(at, "entry-edit", name, detail, (name,) if at in broke else ())
                )
        return edits

    def _silent(self, rng: random.Random) -> None:
        r = self.rates
        for name in sorted(self.configs):
            for at in self._moments(rng, r.silent_every_days):
                if not self._may_break(at):
                    continue
                end = None
                if rng.random() < r.silent_recovers:
                    recovered = at + timedelta(days=rng.uniform(*r.silent_days))
                    end = recovered if recovered < self.end else None
                self._window(rng, name, "silent", (at, end), "no visible change")
                self.events.append(
                    Event(at, "silent-break", name, f"{name} breaks, nothing changed", (name,))
                )
                if end is not None:
                    self.events.append(
                        Event(end, "silent-recovery", name, f"{name} works again by itself")
                    )

    def _gaps(self, rng: random.Random) -> dict[str, list[tuple[datetime, datetime]]]:
        r = self.rates
        types = sorted(
            {
                c.instance_type
                for c in self.configs.values()
                if c.instance_type.startswith(GPU_FAMILIES)
            }
        )
        gaps: dict[str, list[tuple[datetime, datetime]]] = {}
        for instance_type in types:
            gaps[instance_type] = []
            for at in self._moments(rng, r.gap_every_days):
                hours = rng.uniform(*r.gap_hours)
                gaps[instance_type].append((at, at + timedelta(hours=hours)))
                detail = f"no {instance_type} capacity for {hours:.1f} h"
                self.events.append(Event(at, "capacity-gap", instance_type, detail))
        return gaps

    # -- the world at a moment --------------------------------------------------------

    def generator_version(self, at: datetime) -> str:
        """The pinned generator's version at `at` (the pin follows each release)."""
        version = self.first_version
        for when, v in self.releases:
            if when > at:
                break
            version = v
        return version

    def _edit_count(self, name: str, at: datetime) -> int:
        return sum(1 for when in self.edits.get(name, ()) if when <= at)

    def image_at(self, name: str, at: datetime) -> str:
        """The base image reference configuration `name`'s entry names at `at`."""
        image = self.configs[name].image
        n = self._edit_count(name, at)
        return f"{image}-r{n}" if n else image

    def digest(self, image: str, at: datetime) -> str:
        """What looking `image` up at `at` answers: `sha256:...`; an edited entry's tag
        follows its family's updates."""
        family = next((f for f in self.updates if image == f or image.startswith(f"{f}-r")), image)
        n = sum(1 for when in self.updates.get(family, ()) if when <= at)
        return "sha256:" + hashlib.sha256(f"{self.seed}:{image}:{n}".encode()).hexdigest()

    def registration(self, name: str, at: datetime) -> Registration:
        """Configuration `name`'s registration as its entry is at `at`."""
        return self._edited(name, self._edit_count(name, at))

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - a world lives as long as its replays
    def _edited(self, name: str, n: int) -> Registration:
        """`name`'s registration after its first `n` edits."""
        c = self.configs[name]
        if not n:
            return c.registration
        image = f"{c.image}-r{n}"
        config = {**c.config, "baseImage": image}
        return replace(c.registration, configJson=compact_json(config), baseImage=image)

    def catalog(self, at: datetime) -> dict[str, Registration]:
        """configId -> registration of each supported entry at `at` (what select compares)."""
        regs = (self.registration(name, at) for name in self.configs)
        return {r.configId: r for r in regs}

    def broken(self, name: str, at: datetime) -> Breakage | None:
        return next((b for b in self._by_config.get(name, ()) if b.covers(at)), None)

    def no_capacity(self, instance_type: str, at: datetime) -> bool:
        return any(s <= at < e for s, e in self.gaps.get(instance_type, ()))

    def attempt(self, name: str, at: datetime) -> Attempt:
        """What a run of `name` started at `at` does."""
        c = self.configs[name]
        rng = random.Random(f"{self.seed}:{name}:{clock.iso(at)}")
        scale = {s: rng.uniform(0.8, 1.3) for s in RUN_STAGES}
        seconds = {s: TYPICAL_SECONDS[s] * scale[s] for s in RUN_STAGES}
        infra, flake, where = rng.random(), rng.random(), rng.random()
        image = f"{self.image_at(name, at)}@{self.digest(self.image_at(name, at), at)}"
        version = self.generator_version(at)
        failed: tuple[str, str] | None = None
        cause = ""
        if infra < self.rates.infra_per_run:
            failed, cause = INFRA[0 if where < 0.5 else 1], "infra"
        elif self.no_capacity(c.instance_type, at):
            failed, cause = CAPACITY, "capacity"
        elif (b := self.broken(name, at)) is not None:
            failed, cause = (b.stage, b.message), "breakage"
        elif flake < self.rates.flake_per_run:
            failed, cause = FLAKE, "flake"
        if failed is None:
            stages = {s: StageResult(PASS, round(seconds[s], 3)) for s in RUN_STAGES}
            total = sum(seconds.values()) + AROUND_SECONDS
            return Attempt(PASS, stages, total, "", None, 0, version, image, "")
        stage, message = failed
        failure, backoff = classified(stage, message)
        stages, total = {}, AROUND_SECONDS
        for s in RUN_STAGES:
            if s == stage:
                part = seconds[s] * (0.1 + 0.4 * where)  # a failure comes before the end
                stages[s] = StageResult("fail", round(part, 3), errorSummary=message[:500])
                total += part
                break
            stages[s] = StageResult(PASS, round(seconds[s], 3))
            total += seconds[s]
        return Attempt(
            f"fail-{stage}", stages, total, message, failure, backoff, version, image, cause
        )


def configs_of(registrations: Mapping[str, Registration]) -> list[Config]:
    """The world's configurations: the supported registrations of the catalog."""
    found = []
    for reg in sorted(registrations.values(), key=lambda r: r.deploymentConfig):
        config = json.loads(reg.configJson)
        found.append(
            Config(
                name=reg.deploymentConfig,
                registration=reg,
                instance_type=str(config.get("instanceType") or ""),
                image=reg.baseImage or str(config.get("baseImage") or f"{reg.deploymentConfig}"),
                config=config,
            )
        )
    return found


def regressions(breakages: Sequence[Breakage]) -> list[Breakage]:
    """The regression windows people meet: a configuration's breakages that overlap are one
    (from the first start to the last end, the first's kind and cause): a configuration
    already broken cannot break again where anyone sees it."""
    merged: list[Breakage] = []
    last: dict[str, int] = {}  # configuration -> index of its latest window in `merged`
    for b in sorted(breakages, key=lambda b: (b.start, b.config)):
        i = last.get(b.config)
        if i is not None and merged[i].covers(b.start):
            a = merged[i]
            end = None if a.end is None or b.end is None else max(a.end, b.end)
            merged[i] = replace(a, end=end)
            continue
        last[b.config] = len(merged)
        merged.append(b)
    return merged
