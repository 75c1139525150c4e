"""`mlcc-ci failures check|rules`: classify a failed stage's log by the catalog's rules."""

from pathlib import Path

import click

from mlcc_ci.cli.opening import open_for, resolve_name
from mlcc_ci.cli.options import json_option, profile_option, store_options


@click.group()
def failures() -> None:
    """Classify failed stages: product, infra, capacity, quota, credentials or harness.

    The rules are in the catalog's _failures.yaml (a team catalog's own rules come first);
    the first rule whose pattern matches the end of a log wins.
    """


@failures.command()
@click.argument("logfile", type=click.Path(path_type=Path, dir_okay=True))
@click.option(
    "--stage",
    type=click.Choice(["generate", "validate", "build", "deploy_test", "register", "teardown"]),
    help="The stage that wrote the log: only its rules apply (default: every rule).",
)
@json_option
def check(logfile: Path, stage: str | None, as_json: bool) -> None:
    """Classify LOGFILE (its last 64 KB): print the class, the rule, the capture it groups
    by, the hint and the line that matched. Exit 0 whatever the class."""
    import errno
    import json

    from mlcc_ci import failures as core
    from mlcc_ci.errors import UsageError
    from mlcc_ci.files import NotARegularFile
    from mlcc_ci.redact import redact
    from mlcc_ci.safetext import printable

    rules = core.load_rules()
    try:
        found = core.classify_log(stage, logfile, rules)
    except NotARegularFile as exc:
        raise UsageError(f"cannot read {logfile}: {str(exc).removeprefix(f'{logfile} ')}") from None
    except OSError as exc:
        reason = "no such file" if exc.errno == errno.ENOENT else exc.strerror or str(exc)
        raise UsageError(f"cannot read {logfile}: {reason}") from None
    line = printable(redact(found.line))
    if as_json:
        doc = {
            "class": found.cls,
            "rule": found.rule or None,
            "capture": printable(found.capture) or None,
            "hint": found.hint,
            "retry": {"count": found.retry.count, "backoffSeconds": found.retry.backoff_seconds},
            "line": line or None,
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(f"class:   {found.cls}")
    if found.rule:
        click.echo(f"rule:    {found.rule}")
        click.echo(f"capture: {printable(found.capture)}")
        retry = found.retry
        if retry.count:
            click.echo(f"retry:   {retry.count}x, {retry.backoff_seconds}s apart")
        click.echo(f"line:    {line}")
    click.echo(f"hint:    {found.hint}")


@failures.command("rules")
@json_option
def list_rules(as_json: bool) -> None:
    """List the rules in the order they are tried: a team catalog's first, then the shipped
    ones it does not replace, each with the file and line that writes it."""
    import json

    from mlcc_ci import failures as core

    rules = core.load_rules()
    rows = [
        {
            "name": r.name,
            "class": r.cls,
            "stages": ",".join(r.stages),
            "retry": f"{r.retry.count}x/{r.retry.backoff_seconds}s",
            "source": r.source,
        }
        for r in rules
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from tabulate import tabulate

    click.echo(tabulate(rows, headers={k: k for k in rows[0]} if rows else ()))


@failures.command()
@click.argument("run_id", metavar="RUN")
@click.option("--name", metavar="NAME", help="The run's configuration (for an older run).")
@json_option
@profile_option
@store_options
def explain(
    run_id: str,
    name: str | None,
    as_json: bool,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Why run RUN failed: the line of its log the rules matched, the class, the rule and
    what to do. Reads the stage's local log while it is there, else what the history kept
    of it (the error summary)."""
    import json

    from mlcc_ci import clock, runs
    from mlcc_ci import failures as core
    from mlcc_ci.errors import NotFound
    from mlcc_ci.redact import redact
    from mlcc_ci.safetext import printable

    rules = core.load_rules()
    catalog, _, store = open_for(profile_name, store_url, table)
    config_id = resolve_name(catalog, store, name)[1] if name else None
    record, run = runs.find(store, run_id, config_id)
    stage = runs.failed_stage(run)
    if run.status == "pass" or stage is None:
        raise NotFound(f"run {run.runId} of {record.deploymentConfig} did not fail ({run.status})")
    found, log = runs.classify_run(run, rules)
    grounded = runs.grounded(run, rules, log)
    source = (
        f"{log} and {log.with_suffix('.stderr.log').name} beside it (their last 64 KB)"
        if log
        else "the error summary the history kept (the log is gone)"
    )
    stored = run.failure.cls if run.failure is not None else "-"
    rule = next((r for r in rules if r.name == found.rule), None)
    hint = found.hint
    if log is None and not found.rule:  # "read the log" of a log that is gone says nothing
        hint = (
            "no rule matched what the history kept, and the log is gone: "
            f"`mlcc-ci run {record.deploymentConfig}` runs it again with a log"
        )
    if as_json:
        doc = {
            "runId": run.runId,
            "name": record.deploymentConfig,
            "status": run.status,
            "stage": stage,
            "class": found.cls,
            "storedClass": None if stored == "-" else stored,
            "statusBefore": (run.failure.statusBefore or None) if run.failure else None,
            "rule": found.rule or None,
            "ruleSource": rule.source if rule else None,
            "capture": printable(found.capture) or None,
            "line": printable(redact(found.line)) or None,
            "hint": hint,
            "from": str(log) if log else "errorSummary",
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(
        printable(
            f"run {run.runId} of {record.deploymentConfig}: {run.status} at {stage}, "
            f"started {clock.display(run.startedAt)}"
            + (f", attempt {run.attempt}" if run.attempt > 1 else "")
        )
    )
    click.echo(f"class:   {found.cls}")
    if found.rule:
        click.echo(f"rule:    {found.rule} ({rule.source if rule else '?'})")
        click.echo(f"capture: {printable(found.capture)}")
        click.echo(f"line:    {printable(redact(found.line))}")
    click.echo(f"from:    {source}")
    click.echo(f"hint:    {hint}")
    if stored != found.cls and not grounded:
        assert run.failure is not None  # a run with no stored class is always grounded
        click.echo(
            printable(
                f"stored:  {stored} ({run.failure.rule}), from the log when it was there: "
                "`failures reclassify` leaves it as it is"
            )
        )
    elif stored != found.cls:
        # a failure put on the harness takes its status back once it is off the harness
        back = (
            f", and gives the run back its status {run.failure.statusBefore}"
            if run.failure is not None and runs.harness_relabel(run) and found.cls != core.HARNESS
            else ""
        )
        click.echo(
            f"stored:  {stored} (the rules have changed since: `mlcc-ci failures reclassify` "
            f"re-labels the history{back})"
        )


@failures.command()
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@profile_option
@store_options
def reclassify(
    dry_run: bool, profile_name: str | None, store_url: str | None, table: str | None
) -> None:
    """Classify every failed run in the history again by the rules as they are now, and
    re-label those whose class, rule or capture changed (the runs, and each record's recent
    runs and last result). Pass rates and regressions follow the new labels.

    A run whose log is gone keeps its class unless what the history kept of it (the error
    summary, the capture) still holds what its rule matched. A failure put on the harness
    becomes an `error` and keeps its status, which it takes again once the rules no longer
    have its harness rule (its log gone or not: that rule is the label's only evidence)."""
    from collections import Counter

    from mlcc_ci import failures as core
    from mlcc_ci import runs
    from mlcc_ci.safetext import printable

    rules = core.load_rules()
    _, _, store = open_for(profile_name, store_url, table)
    done = runs.reclassify(store, rules, write=not dry_run)
    changes = done.changes
    for change in changes:
        after = change.after
        label = f"{after.cls} ({after.rule})" if after.rule else after.cls
        click.echo(
            printable(
                f"{change.name:<28} run {change.run.runId:<14} {change.run.status:<18} "
                f"{change.before} -> {label}"
                + (f" (now {change.status})" if change.status != change.run.status else "")
            )
        )
    moves = Counter(f"{c.before} -> {c.after.cls}" for c in changes)
    summary = ", ".join(f"{k}: {n}" for k, n in sorted(moves.items()))
    verb = "would re-label" if dry_run else "re-labelled"
    kept = (
        f"; {done.kept} left as stored for lack of evidence (the log is gone, and what the "
        "history kept does not hold what the rule matched)"
        if done.kept
        else ""
    )
    click.echo(
        f"{verb} {len(changes)} of {done.seen} failed run(s)"
        f"{': ' + summary if summary else ''}{kept}"
    )
    if changes and not dry_run:
        click.echo(
            "each configuration re-labelled takes its newest product result; infrastructure "
            "failures since then block it"
        )


COMMANDS = [failures]
