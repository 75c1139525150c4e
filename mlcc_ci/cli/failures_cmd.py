"""`mlcc-ci failures check|rules`: classify a failed stage's log by the catalog's rules."""

from pathlib import Path

import click

from mlcc_ci.cli.options import json_option


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


COMMANDS = [failures]
