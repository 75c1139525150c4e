"""`mlcc-ci report` and `mlcc-ci dashboard`."""

from pathlib import Path
from typing import Any

import click

from mlcc_ci.cli.opening import open_for
from mlcc_ci.cli.options import profile_option, store_options

EXPORTED = ("junit", "github")  # formats for other tools, from the report's test cases


@click.command()
@click.argument("name", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "html", *EXPORTED]),
    default="text",
    show_default=True,
    help="junit: JUnit XML (one testsuite per profile, one testcase per configuration); "
    "github: a workflow annotation (::error file=…,line=…) per failing configuration.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to FILE (a new or regular file, replaced whole; never a link, FIFO or "
    "device) instead of standard output; - is standard output.",
)
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Exit 1 when any configuration regressed, or a suspect rule blocks one (blocked "
    "more than suspect-rounds rounds in a row); a block alone never fails it, nor passes.",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="REPORT.json",
    help="A saved `report --format json`: also show what newly fails, newly passes, and is new.",
)
@click.option(
    "--allure-dir",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="DIR",
    help="Also write Allure results (a result file per configuration, categories.json) to DIR.",
)
@profile_option
@store_options
def report(
    name: str | None,
    fmt: str,
    as_json: bool,
    output: Path | None,
    fail_on_regression: bool,
    baseline: Path | None,
    allure_dir: Path | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Coverage across every catalog configuration, with history, regressions and flakiness.

    With NAME: that configuration alone, with its runs (time, status, duration, failed
    stage, error), as text or JSON.
    """
    from mlcc_ci import clock
    from mlcc_ci.errors import UsageError
    from mlcc_ci.report import render
    from mlcc_ci.report.data import collector_paused, load_report

    fmt = "json" if as_json else fmt
    output = None if output == Path("-") else output  # `-o -`: standard output
    if name is not None and fmt not in ("text", "json"):
        raise UsageError(f"report NAME is shown as text or json, not {fmt}")
    if name is not None and (baseline or fail_on_regression or output or allure_dir):
        raise UsageError("report NAME takes --format (text or json) and --json only")
    catalog, profile, store = open_for(profile_name, store_url, table)
    if name is not None:
        from mlcc_ci.report.render import view

        click.echo(
            view(load_report(store, catalog, clock.now()), catalog, store, name, fmt), nl=False
        )
        return
    statuses = _baseline_statuses(baseline) if baseline else None
    # one pause of the cyclic collector for the read and the render: turned back on in
    # between, it would walk everything the read built (see collector_paused)
    with collector_paused():
        result = load_report(store, catalog, clock.now())
        if statuses is not None:
            from dataclasses import replace

            from mlcc_ci.report.model import changes

            result = replace(result, changes=changes(result, statuses))
        # the Allure results are written on the way
        exported = _exported(result, catalog, profile.name, fmt, allure_dir)
        body = exported if fmt in EXPORTED else render.render(result, fmt, **report_layout(output))
    if output:
        from mlcc_ci.files import write_output

        try:  # a regular file or none: never a link, FIFO or device (files.write_output)
            write_output(output, body.encode("utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output} ({len(body.encode())} bytes)", err=True)
    else:
        click.echo(body, nl=False)
    # a block proves nothing: alone it fails no pull request, but a rule that keeps
    # blocking one configuration may hide a product failure (suspects.py)
    suspect = [c for c in result.suspects if c.suspect and c.quarantine is None]
    if fail_on_regression and (result.regressions or suspect):
        if result.regressions:
            names = ", ".join(c.name for c in result.regressions)
            click.echo(f"regression: {names}", err=True)
        for c in suspect:
            assert c.suspect is not None
            click.echo(f"suspect block: {c.name} ({c.suspect.text(c.name)})", err=True)
        raise SystemExit(1)


def _exported(result: Any, catalog: Any, profile: str, fmt: str, allure_dir: Path | None) -> str:
    """The report as JUnit XML or GitHub annotations (`fmt`; else ""), and as Allure
    results in `allure_dir` when given."""
    if fmt not in EXPORTED and not allure_dir:
        return ""
    import os

    from mlcc_ci.errors import UsageError
    from mlcc_ci.redact import secret_values
    from mlcc_ci.report.cases import cases_of, local_logs

    secrets = secret_values(os.environ)
    cases = cases_of(result, catalog.entries, profile, secrets)
    logs = local_logs(secrets)
    if allure_dir:
        from mlcc_ci.report.allure import allure_results, write

        files = allure_results(cases, generated_at=result.generatedAt, logs=logs)
        try:
            write(allure_dir, files)
        except OSError as exc:
            where = exc.filename or allure_dir  # the file, when one is to blame
            raise UsageError(f"cannot write {where}: {exc.strerror or exc}") from None
        click.echo(f"wrote {len(cases)} Allure results to {allure_dir}", err=True)
    if fmt == "junit":
        from mlcc_ci.report.junit import junit

        return junit(cases, generated_at=result.generatedAt, scopes=result.scopes, logs=logs)
    if fmt == "github":
        from mlcc_ci.report.annotations import annotations

        return "".join(f"{line}\n" for line in annotations(cases, Path.cwd()))
    return ""


def _baseline_statuses(path: Path) -> dict[str, str]:
    """Configuration -> status from a saved JSON report; a file that is not one is an error."""
    from mlcc_ci.errors import UsageError
    from mlcc_ci.files import load_json

    try:  # a regular file (a FIFO never hangs us), of bounded size and depth
        doc = load_json(path, 64 * 1024 * 1024)
        return {str(k): str(v["status"]) for k, v in doc["configurations"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f" ({exc})" if isinstance(exc, ValueError) and "JSON" not in str(exc) else ""
        raise UsageError(f"{path}: not a saved `mlcc-ci report --format json`{why}") from None


@click.command()
@click.option("--port", type=click.IntRange(0, 65535), default=3939, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind; loopback unless you say otherwise.",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where local runs keep their folders, whose stage logs it serves "
    "(default: the `work` setting, as `mlcc-ci config` shows it).",
)
@profile_option
@store_options
def dashboard(
    port: int,
    host: str,
    work_dir: Path | None,
    profile_name: str | None,
    store_url: str | None,
    table: str | None,
) -> None:
    """Serve the live dashboard, and as JSON /api/report (a summary of each configuration),
    /api/history/<configId> (one in full) and /api/records. The page asks for what is running
    every 2 s: running stages move without a reload; a run that starts or ends reloads it."""
    from mlcc_ci.dashboard import is_loopback, serve
    from mlcc_ci.settings import work_root

    catalog, _, store = open_for(profile_name, store_url, table)
    if not is_loopback(host):
        click.echo(
            f"warning: serving on {host}, not loopback: anyone who can reach this machine on "
            f"port {port} can read every record (the dashboard has no login)",
            err=True,
        )
    server = serve(store, catalog, host, port, work_dir or work_root())
    bound_host, bound_port = str(server.server_address[0]), server.server_address[1]
    click.echo(f"mlcc-ci dashboard on http://{bound_host}:{bound_port}/ (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def report_layout(output: Path | None) -> dict[str, Any]:
    """How `report` lays out what it renders: failures wrapped to the terminal (100 columns
    in a file), and local logs linked relative to the report file (or the working folder)."""
    import shutil

    from mlcc_ci.loglinks import relative_href

    width = 100 if output else shutil.get_terminal_size((100, 24)).columns
    base = output.absolute().parent if output else Path.cwd()
    return {"width": width, "log_href": relative_href(base)}


COMMANDS = [report, dashboard]
