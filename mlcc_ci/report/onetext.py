"""One configuration and its history as text (`report NAME`, `status NAME`): its facts,
what blocks or fails it, each failed stage with its log, then its runs, newest first."""

import textwrap
from collections.abc import Sequence

from mlcc_ci import clock
from mlcc_ci.constants import FAILABLE_STAGES, RUNNING
from mlcc_ci.models import Run
from mlcc_ci.report.classes import run_status
from mlcc_ci.report.identities import EarlierIdentity
from mlcc_ci.report.model import ConfigReport
from mlcc_ci.report.one import One, failed_stage
from mlcc_ci.report.sections import blocked_text, error_text
from mlcc_ci.safetext import printable

WIDTH = 100


def excerpt(run: Run, width: int) -> str:
    """The run's error on one line, cut at a word: its message, else its failed stage's."""
    stage = failed_stage(run)
    text = run.errorMessage or (run.stageResults[stage].errorSummary if stage else "")
    line = " ".join(printable(text).split())
    return textwrap.shorten(line, width, placeholder=" …") if line else "-"


def text(one: One) -> str:
    from mlcc_ci.report.cells import log_link, quarantine_text, removed_text
    from mlcc_ci.report.cells import rate_text as rate
    from mlcc_ci.report.cells import status_text as status

    c = one.config
    records = f" ({c.recordCount} records)" if c.recordCount > 1 else ""
    support = c.supportState + (f": {c.supportReason}" if c.supportReason else "")
    last = (
        f"{clock.display(c.lastTest)}, {clock.duration(c.duration)}, profile {c.profile or '-'}"
        if c.lastTest
        else "never"
    )
    lines = [
        f"{c.name}: {status(c)}",
        f"  configId:   {c.configId or '-'}{records}",
        f"  project:    {c.project or '-'}",
        f"  support:    {support}",
        f"  owner:      {c.owner}; {c.architecture}, {c.instanceType} in {c.region}",
        f"  last test:  {last}",
        f"  last pass:  {clock.display(c.lastPass)}",
        f"  pass rate:  {rate(c)}{'; flaky' if c.flaky else ''}{'; fixed' if c.fixed else ''}",
        f"  stages:     {_stages(c)}",
    ]
    if c.blocked is not None and c.status != RUNNING:
        lines += _wrap(blocked_text(c), "  BLOCKED:    ")
        if c.blocked.rule:
            lines += _wrap(f"{c.blocked.rule}: {c.blocked.capture or '-'}", "  blocked by: ")
        if c.suspect is not None:  # the rule may hide a product failure (suspects.py)
            lines += _wrap(c.suspect.text(c.name), "  SUSPECT:    ")
    if c.quarantine is not None:
        lines += _wrap(quarantine_text(c), "  QUARANTINE: ")
    if c.removed:
        lines += _wrap(removed_text(c), "  REMOVED:    ")
    if c.lastError is not None:
        lines += _wrap(error_text(c), "  ERROR:      ")
    if c.failing:
        f = c.failure
        cause = f" ({f.rule}: {f.capture or '-'})" if f is not None and f.rule else ""
        lines += _wrap(f"{f.cls if f else 'unclassified'}{cause}", "  class:      ")
    if c.regression:
        said = (
            f"failing since {clock.display(c.regression.since)}; last pass "
            f"{clock.display(c.regression.lastPass)} (run {c.regression.lastPassRunId})"
        )
        lines += _wrap(said, "  REGRESSION: ")
    for stage, result in c.stageResults.items():
        if result.status != "fail":
            continue
        said = " ".join(printable(result.errorSummary).split()) or "no error output"
        lines += _wrap(said, f"  {stage} failed: ")
        pointer = result.logPointer
        if pointer:  # a local log is best named by its path here, a CloudWatch one by its link
            link = log_link(pointer, c.region) if _remote(pointer) else None
            lines.append(f"    log: {printable(link or pointer)}")
    # their runs are theirs, never this identity's: after its own history, apart
    earlier = identity_lines(c.earlier, "not counted above")
    if earlier:
        earlier.insert(0, "")
    if not one.runs:
        lines += ["", "History: no finished runs", *earlier]
        return "\n".join(lines) + "\n"
    n = len(one.runs)
    lines += [
        "",
        f"History (newest first, {n} run{'' if n == 1 else 's'}; the error under each failure):",
    ]
    statuses = [run_status(run) for run in one.runs]
    status_width = max(len("Status"), *(len(shown) for shown in statuses))
    lines.append(f"  {'Finished':<20}  {'Status':<{status_width}}  {'Duration':<8}  Failed stage")
    for run, shown in zip(one.runs, statuses, strict=True):
        failed = failed_stage(run)
        lines.append(
            f"  {clock.display(run.finishedAt):<20}  {shown:<{status_width}}  "
            f"{clock.duration(run.durationSeconds):<8}  {failed or '-'}"
        )
        if failed or run.errorMessage:
            lines.append(f"{'':<24}{excerpt(run, WIDTH - 24)}")
    return "\n".join([*lines, *earlier]) + "\n"


def identity_lines(earlier: Sequence[EarlierIdentity], said: str) -> list[str]:
    """`Earlier identities (N), SAID:` and one wrapped line for each; none for none."""
    if not earlier:
        return []
    lines = [part for e in earlier for part in _wrap(e.text, "  ")]
    return [f"Earlier identities ({len(earlier)}), {said}:", *lines]


def _wrap(text: str, first: str) -> list[str]:
    """Whole, wrapped at words (a name or a path is never split)."""
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _stages(c: ConfigReport) -> str:
    """Each stage with its mark, in lifecycle order: of the run under way while one runs."""
    from mlcc_ci.report.cells import MARK

    running = c.status == RUNNING
    results = c.runStages if running else c.stageResults
    if not results and not running:
        return "none run"
    marks = []
    for stage in FAILABLE_STAGES:
        result = results.get(stage)
        mark = "▶" if running and stage == c.currentStage else "-"
        marks.append(f"{stage} {MARK.get(result.status, '?') if result else mark}")
    return "  ".join(marks)  # ✓ pass ✗ fail · skip ▶ running - not run


def _remote(pointer: str) -> bool:
    return pointer.startswith("cloudwatch:")
