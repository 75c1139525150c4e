"""Run profiles: which commands the stages run and what each stage checks first.

Profiles are defined in the catalog defaults (`profiles:`), next to the default commands.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlcc_ci.catalog import Catalog, Entry, merge
from mlcc_ci.cost import NO_PRICES, Prices, prices_of
from mlcc_ci.errors import UsageError
from mlcc_ci.generator import Pin, pin_of

# Stages the harness does itself: static checks (and the project's own do/validate), and
# recording what was proven.
BUILTIN_STAGES = ("validate", "register")


@dataclass(frozen=True)
class StageSpec:
    name: str
    command: str | None  # None: the harness does the work itself
    timeout: float
    checks: tuple[str, ...] = ()
    problem: str | None = None  # why the stage cannot run as configured


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    stages: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, list[str]] = field(default_factory=dict)
    store: str | None = None
    generator: Pin = field(default_factory=lambda: pin_of({}))
    only: tuple[str, ...] = ()  # empty: every stage
    skip_reason: str = ""
    prices: Prices = NO_PRICES  # the catalog's price table, for each run's estimated cost
    # written into the generated do/config before it builds (see projectsetup)
    project_config: Mapping[str, str] = field(default_factory=dict)
    # after deploy_test: smoke-test the SageMaker endpoint; name why it failed if it did
    endpoint_checks: bool = False

    def runs(self, stage: str) -> bool:
        return not self.only or stage in self.only

    def stage_specs(self, entry: Entry) -> dict[str, StageSpec]:
        stages = merge(entry.data.get("stages", {}), self.stages)
        strategy = entry.data.get("buildStrategy") or ""
        specs = {}
        for name, spec in stages.items():
            command = spec.get("command")
            problem = None
            if isinstance(command, Mapping):
                if strategy not in command:
                    problem = (
                        f"buildStrategy '{strategy}' has no {name} command "
                        f"(known: {', '.join(sorted(command))})"
                    )
                command = command.get(strategy)
            if name in BUILTIN_STAGES:
                command = None
            specs[name] = StageSpec(
                name=name,
                command=" ".join(command.split()) if isinstance(command, str) else None,
                timeout=float(spec.get("timeoutSeconds", 600)),
                checks=tuple(self.checks.get(name, ())),
                problem=problem,
            )
        return specs


def load_profile(catalog: Catalog, name: str | None) -> Profile:
    profiles: Mapping[str, Any] = catalog.defaults.get("profiles", {})
    name = name or "default"
    if name not in profiles:
        raise UsageError(f"no profile '{name}' (defined: {', '.join(sorted(profiles))})")
    spec = profiles[name]
    return Profile(
        name=name,
        description=" ".join(str(spec.get("description", "")).split()),
        stages=spec.get("stages", {}),
        checks=spec.get("checks", {}),
        store=spec.get("store"),
        generator=pin_of(catalog.defaults),
        only=tuple(spec.get("only", ())),
        skip_reason=" ".join(str(spec.get("skipReason", f"not run by profile {name}")).split()),
        prices=prices_of(catalog.defaults),
        project_config={str(k): str(v) for k, v in spec.get("projectConfig", {}).items()},
        endpoint_checks=bool(spec.get("endpointChecks", False)),
    )


def profile_store(
    profile: Profile, store_url: str | None, env: Mapping[str, str] = os.environ
) -> str | None:
    """A profile's own store, unless --store or MLCC_CI_STORE names one."""
    return store_url or env.get("MLCC_CI_STORE") or profile.store
