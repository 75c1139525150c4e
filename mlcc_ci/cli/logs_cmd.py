"""`mlcc-ci logs NAME`: a stage's log, from the run's work folder or from CloudWatch."""

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from mlcc_ci.cli.opening import open_for, resolve_name
from mlcc_ci.cli.options import profile_option, store_options

POLL_SECONDS = 1.0
CLOUDWATCH_POLL_SECONDS = 2.0
# CloudWatch shows a line some seconds after it was written: after the run moved on, keep
# reading this long for the stage's copy to arrive.
CLOUDWATCH_GRACE_SECONDS = 20.0


@click.command()
@click.argument("name")
@click.option(
    "--stage", metavar="STAGE", help="The stage (default: the failed one, else the last)."
)
@click.option("--run", "run_id", metavar="ID", help="A run of NAME (default: the last one).")
@click.option(
    "--follow", "-f", is_flag=True, help="Follow a stage under way until it ends, like tail -f."
)
@click.option(
    "--raw",
    is_flag=True,
    help="Do not mask credentials (terminal escape sequences are taken out all the same).",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The work folder `run --work-dir` used, for a run under way (default: the `work` "
    "setting, as `mlcc-ci config` shows it).",
)
@profile_option
@store_options
def logs(
    name: str,
    stage: str | None,
    run_id: str | None,
    follow: bool,
    raw: bool,
    work_dir: Path | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Print a stage's log: of the last run of NAME (or --run ID), the stage that failed,
    else the last that ran (or --stage STAGE). A local run's log comes from its work
    folder, a run in AWS's from CloudWatch. Credentials are masked unless --raw."""
    from mlcc_ci import logs as core
    from mlcc_ci.constants import RUNNING
    from mlcc_ci.redact import secret_values
    from mlcc_ci.settings import work_root

    catalog, _, store = open_for(profile_name, store_url, table)
    name, config_id = resolve_name(catalog, store, name)
    record = store.get(config_id)
    runs = store.history(config_id, None if run_id else 1)
    target = core.pick(name, record, runs, run_id, stage)
    cleaner = core.Cleaner(secret_values(os.environ), redacting=not raw)
    under_way = bool(record and record.testStatus == RUNNING and record.runId == target.runId)

    def going() -> bool:
        now = store.get(config_id)
        return bool(
            now
            and now.testStatus == RUNNING
            and now.runId == target.runId
            and (now.currentStage or "generate") == target.stage
        )

    if under_way:
        root = work_dir or work_root()
        log = core.local_log(root, name, target.runId, target.stage)
        on_aws = store.description.startswith("dynamodb://")
        if on_aws and not (log.exists() or core.stderr_of(log).exists()):
            prefix = f"build/{target.configId}/{target.runId}/"
            _cloudwatch(store, target, None, prefix, cleaner, going if follow else None, store_url)
        elif follow and target.running:
            with _readable(log):
                for line in core.follow(log, going, interval=POLL_SECONDS):
                    click.echo(cleaner.line(line))
        else:
            _print_local(log, target, cleaner)
        return
    assert target.result is not None
    pointer = target.result.logPointer
    if not pointer:
        ran = next((r for r in runs if r.runId == target.runId), None)
        profile = ran.profile if ran else (record.profile if record else None)
        raise _no_log(target, _results(ran, record), _profile(catalog, profile))
    if pointer.startswith("cloudwatch:"):
        stream = pointer.removeprefix("cloudwatch:")
        _cloudwatch(store, target, stream, "", cleaner, None, store_url)
        return
    path = core.pointer_path(pointer, target.stage)
    if path is None:
        raise _error(f"the log pointer of stage {target.stage} is not a stage log: {pointer!r}")
    _print_local(path, target, cleaner)


def _error(message: str) -> Exception:
    from mlcc_ci.errors import NotFound

    return NotFound(message)


def _results(ran: Any, record: Any) -> Any:
    """The stage results of the run shown: its history item's, else the record's own."""
    if ran is not None:
        return ran.stageResults
    return record.stageResults if record is not None else {}


def _profile(catalog: Any, name: str | None) -> Any:
    """The run's profile as the catalog defines it now, or None (gone, or never named)."""
    from mlcc_ci.errors import UsageError
    from mlcc_ci.profiles import load_profile

    if not name:
        return None
    try:
        return load_profile(catalog, name)
    except UsageError:
        return None


def _skip_reason(stage: str, results: Any, profile: Any) -> str:
    """Why `stage` was skipped, where the run wrote no reason: its profile does not run it,
    or an earlier stage failed."""
    from mlcc_ci.constants import STAGES

    if profile is not None and not profile.runs(stage):
        runs = [s for s in STAGES if s in profile.only]
        said = ", ".join(runs[:-1]) + f" and {runs[-1]}" if len(runs) > 1 else "".join(runs)
        return f"the {profile.name} profile runs {said} only"
    before = STAGES[: STAGES.index(stage)] if stage in STAGES else ()
    failed = next((s for s in before if getattr(results.get(s), "status", "") == "fail"), None)
    if failed:
        return f"stage {failed} failed before it"
    return ""


def _no_log(target: Any, results: Any = None, profile: Any = None) -> Exception:
    result = target.result
    where = f"stage {target.stage} of {target.name} (run {target.runId})"
    if result.status == "skip":
        why = (result.note or result.errorSummary).strip()
        why = why or _skip_reason(target.stage, results or {}, profile)
        return _error(f"{where} was skipped" + (f": {why}" if why else ""))
    if result.status == "fail":
        said = (result.errorSummary.strip().splitlines() or ["no error output"])[0]
        return _error(f"{where} failed before it ran a command, so it has no log: {said}")
    return _error(f"{where} ran no command, so it has no log")


def _print_local(log: Path, target: Any, cleaner: Any) -> None:
    from mlcc_ci import logs as core

    if not (os.path.lexists(log) or os.path.lexists(core.stderr_of(log))):
        raise _error(
            f"the log of run {target.runId} is not on this machine any more: {log} (old run "
            "folders are removed; a run elsewhere keeps its own)"
        )
    with _readable(log):
        for line in core.stage_lines(log):
            click.echo(cleaner.line(line))


@contextlib.contextmanager
def _readable(log: Path) -> Iterator[None]:
    """A log that is a link, a FIFO or unreadable is one line of error."""
    from mlcc_ci.files import NotARegularFile

    try:
        yield
    except NotARegularFile as exc:
        raise _error(f"cannot print the log: {exc}") from None
    except OSError as exc:
        raise _error(f"cannot read {log}: {exc.strerror}") from None


def _cloudwatch(
    store: Any,
    target: Any,
    stream: str | None,
    prefix: str,
    cleaner: Any,
    going: Callable[[], bool] | None,
    store_url: str | None,
) -> None:
    """The stage's copy in the build's stream (`stream`, else the newest named `prefix`...)
    of the log group the store URL or the environment names; with `going`, follow it until
    the copy ends or the run moved on."""
    import boto3

    from mlcc_ci import logs as core
    from mlcc_ci.aws import cloudwatch

    group = cloudwatch.log_group(os.environ, store_url)
    client = cloudwatch.client(boto3.session.Session(), getattr(store, "region", None), os.environ)
    picker = core.Section(target.name, target.stage)
    token: str | None = None
    lines: list[str] = []
    over_since: float | None = None
    while True:
        if stream is None:
            stream = cloudwatch.find_stream(client, prefix, group)
        if stream is not None:
            fresh, token = cloudwatch.read(client, stream, token, group)
            lines += fresh
            for line in fresh:
                for shown in picker.take(line):
                    click.echo(cleaner.line(shown))
            if picker.done:
                return
        if going is None:
            break
        if not going():
            over_since = over_since or time.monotonic()
            if time.monotonic() - over_since > CLOUDWATCH_GRACE_SECONDS:
                break
        time.sleep(CLOUDWATCH_POLL_SECONDS)
    if stream is None:
        raise _error(f"no build log in CloudWatch yet for run {target.runId} ({prefix}…)")
    if not picker.found:
        click.echo(
            f"note: the build log {stream} holds no copy of stage {target.stage}'s output "
            "(the run ended before it was written, or an older mlcc-ci ran it); the whole "
            "build log follows",
            err=True,
        )
        for line in lines:
            click.echo(cleaner.line(line))


COMMANDS = [logs]
