"""What every format says of a blocked configuration and of a harness error, and how a
failure group is tagged: the words are made here once; each format (text.py, markdown.py,
page.py) escapes them its own way."""

from mlcc_ci import clock
from mlcc_ci.report.classes import FailureGroup, failure_class
from mlcc_ci.report.model import ConfigReport


def in_a_row(n: int) -> str:
    return f"{n} run{'' if n == 1 else 's'} in a row"


def blocked_text(c: ConfigReport) -> str:
    """`capacity at deploy_test since 2026-02-04 00:00 UTC, 2 runs in a row; next try after
    2026-02-05 00:00 UTC; last product result: pass`."""
    b = c.blocked
    assert b is not None
    cls = failure_class(c)
    last = f"{c.status} [{cls}]" if cls else c.status
    return (
        f"{b.cls} at {b.stage} since {clock.display(b.since)}, {in_a_row(b.rounds)}; "
        f"next try after {clock.display(b.retryAfter)}; last product result: {last}"
    )


def error_text(c: ConfigReport) -> str:
    """`harness error at generate on 2026-02-05 01:00 UTC (harness-internal-error:
    KeyError): mlcc-ci's own, not counted against the configuration`."""
    run = c.lastError
    assert run is not None
    failure = run.failure
    stage = failure.stage if failure and failure.stage else "-"
    cause = f" ({failure.rule}: {failure.capture})" if failure and failure.rule else ""
    return (
        f"harness error at {stage} on {clock.display(run.finishedAt)}{cause}: "
        "mlcc-ci's own, not counted against the configuration"
    )


def tag(g: FailureGroup) -> str:
    """`product, cuda-out-of-memory: CUDA out of memory`, or the class alone."""
    return f"{g.cls}, {g.cause}" if g.cause else g.cls
