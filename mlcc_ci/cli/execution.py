"""Running claimed records (`run`, `trigger`): the lifecycle of each, the progress, the
summary table and each failed run's first failure, the exit status, and the pruning of
old run folders."""

import contextlib
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click


def execute_runs(
    catalog: Any,
    profile: Any,
    store: Any,
    records: list[Any],
    jobs: int,
    work_dir: Path | None,
    preclaimed: bool,
    verbosity: int = 1,
    retry: bool = True,
) -> int:
    """Run the claimed records; the exit status: 0 all passed, 1 some configuration failed
    or is blocked, 3 only harness errors. A quarantined entry's failure is not counted."""
    from tabulate import tabulate

    from mlcc_ci import clock, quarantine
    from mlcc_ci.aws.notify import publisher
    from mlcc_ci.cli.logcopy import build_log_copier
    from mlcc_ci.cli.progress import ProgressView
    from mlcc_ci.failures import load_rules
    from mlcc_ci.lifecycle import Runner
    from mlcc_ci.matrix import Job, claim_all, entry_for, install_signal_handlers, run_all
    from mlcc_ci.runsummary import outcome_kind, shown_outcome, tally
    from mlcc_ci.safetext import printable
    from mlcc_ci.settings import work_root
    from mlcc_ci.stores.base import release

    rules = load_rules()  # before any claim: rules with a problem stop here, named
    deadline, max_wait = retry_limits(os.environ)
    if preclaimed:
        claimed = [Job(r, entry_for(r, catalog)) for r in records]
    else:
        claimed, lost = claim_all(store, records, catalog)
        for record in lost:
            click.echo(f"skipped {record.deploymentConfig}: claimed by another run first", err=True)
    for config_id, reason in store.unreadable.items():  # read or claimed: named, passed over
        click.echo(f"skipped unreadable record {config_id}: {printable(reason)}", err=True)
    if not claimed:
        click.echo("nothing to run")
        return 0
    root = (work_dir or work_root()).absolute()  # logs are found by it
    ctx = click.get_current_context(silent=True)
    color = bool(ctx and ctx.find_root().obj and ctx.find_root().obj.get("color", True))
    started: set[str] = set()
    try:
        with ProgressView(color=color, verbosity=verbosity) as view:
            copy = build_log_copier(view.lock) if os.environ.get("MLCC_CI_LOG_STREAM") else None

            def seen(event: Any) -> None:
                started.add(event.name)
                view(event)
                if copy:
                    copy(event)  # in AWS: the stage's output into the build log

            runner = Runner(
                store,
                profile,
                work_root=root,
                progress=seen,
                notify=publisher(os.environ),
                notify_platform=publisher(os.environ, audience="platform"),
                rules=rules,
                deadline=deadline,
                max_wait=max_wait,
                retry=retry,
            )
            restore = install_signal_handlers(runner)
            try:
                reports = run_all(runner, claimed, jobs)
            finally:
                restore()
    except BaseException:
        # a claim whose run never began goes back as it was: it must not wait to be
        # reaped as a failure that never happened
        if not preclaimed:
            for job in claimed:
                if job.entry.name not in started:
                    with contextlib.suppress(Exception):
                        release(store, job.record)
        raise
    # a quarantined entry's failure (or block) is shown, and kept out of the exit status
    held = {
        id(r): q
        for r in reports
        if r.stored
        and outcome_kind(r.outcome) in ("fail", "blocked")
        and (q := quarantine.in_force(entry_for(r.record, catalog), clock.now())) is not None
    }
    rows = []
    for report in reports:
        q = held.get(id(report))
        rows.append(
            [
                report.record.deploymentConfig,
                (shown_outcome(report.outcome) if report.stored else "error (not stored)")
                + (f" (quarantined until {q.until})" if q else ""),
                clock.duration(report.outcome.durationSeconds),
            ]
        )
        for note in report.notes:
            click.echo(f"note: {report.record.deploymentConfig}: {note}", err=True)
    click.echo(tabulate(rows, headers=["Config", "Status", "Duration"]))
    failures = first_failures(reports, shutil.get_terminal_size((100, 24)).columns)
    if failures:
        click.echo("\nFirst failure of each failed run:")
        click.echo("\n".join(failures))
    counted = tally([r for r in reports if id(r) not in held])
    kept_out = f", {len(held)} quarantined (not counted)" if held else ""
    click.echo(f"{counted.counts()}{kept_out} (profile {profile.name}; logs in {root})")
    unstored = [r for r in reports if not r.stored]
    if unstored:
        click.echo(f"{len(unstored)} result(s) could not be stored; see the notes above", err=True)
    _prune(root, store, {r.record.runId or "" for r in reports if not r.stored})
    return counted.exit_status


def first_failures(reports: list[Any], width: int) -> list[str]:
    """Each failed run's first failure, whole and wrapped, with where its log is."""
    from mlcc_ci import logs as core
    from mlcc_ci.safetext import printable

    lines: list[str] = []
    for report in reports:
        message = report.outcome.errorMessage
        if report.status == "pass" or not message:
            continue
        name = report.record.deploymentConfig
        results = report.outcome.stageResults
        _, detail = core.first_failure(results)
        where = core.failed_place(name, results)
        lines += core.failure_lines(name, printable(message), where, width, printable(detail))
    return lines


# In a CodeBuild build, a retry's backoff longer than this is left to the scanner.
BUILD_MAX_RETRY_WAIT = 120


def retry_limits(env: Mapping[str, str]) -> tuple[float | None, float | None]:
    """How far retries within a run may go. In the executor (CodeBuild) the buildspec names
    the run's budget (MLCC_CI_RUN_SECONDS): a retry must fit in it, and a long backoff is
    not slept in a build but left to the scanner's re-queue. Locally: the rules' own."""
    from mlcc_ci.constants import RUN_SECONDS_ENV

    seconds = env.get(RUN_SECONDS_ENV, "")
    in_build = bool(env.get("CODEBUILD_BUILD_ID"))
    deadline = time.monotonic() + float(seconds) if seconds.isdigit() else None
    return deadline, BUILD_MAX_RETRY_WAIT if in_build else None


def _prune(root: Path, store: Any, keep_ids: set[str]) -> None:
    """Keep the newest `keep-runs` run folders of each configuration of this store (and
    every folder holding a result the store refused); a run still going, in any process,
    holds its folder and it stays. Another store's run folders are never this run's to
    prune (workdirs)."""
    from mlcc_ci.settings import value_of
    from mlcc_ci.workdirs import owner_of, remove, surplus

    keep = max(0, int(value_of("keep-runs")))
    remove(surplus(root, keep, owner_of(store), running=keep_ids))
