"""What `run --dry-run` prints: each record's stages as the profile would run them. Pure."""

from collections.abc import Iterable

from mlcc_ci.catalog import Catalog
from mlcc_ci.models import Record
from mlcc_ci.profiles import Profile

# What the harness does itself in the stages that have no command (lifecycle/stage.py); the
# validate stage ends with the project's own do/validate, as the runner runs it.
BUILT_IN = {
    "validate": (
        "(built in: required files, executables, bash -n, Dockerfile FROM, python compile, "
        "do/config matches) then ./do/validate (the project's own, offline, in the pinned "
        "generator's validate-env virtualenv with a HOME of its own)"
    ),
    "register": "(built in: record the generator version and the image the run proved)",
}


def lines(catalog: Catalog, profile: Profile, records: Iterable[Record]) -> list[str]:
    from mlcc_ci.lifecycle import RUN_STAGES
    from mlcc_ci.matrix import entry_for

    out = [f"profile {profile.name}: {profile.description}"]
    for record in records:
        entry = entry_for(record, catalog)
        specs = profile.stage_specs(entry)
        out.append(f"\n{entry.name} ({record.configId}) — configJson: {record.configJson}")
        for name in (*RUN_STAGES, "teardown"):
            spec = specs.get(name)
            if not profile.runs(name):
                out.append(f"  {name:<12} skipped: {profile.skip_reason}")
                continue
            if name in BUILT_IN:
                command = BUILT_IN[name]
            else:
                command = spec.command if spec and spec.command else "(nothing to run)"
            timeout = f"{spec.timeout:g}s" if spec else "-"
            checks = f" [checks: {', '.join(spec.checks)}]" if spec and spec.checks else ""
            out.append(f"  {name:<12} timeout {timeout:<6} {command}{checks}")
        out.append("  update       write the record and append the run to the history")
    return out
