"""A report as JUnit XML, the format pytest's --junitxml writes and GitHub test reporters,
GitLab, Jenkins and Buildkite Test Engine read (it validates against the Jenkins xUnit
plugin's junit-10.xsd).

One <testsuite> per profile the results came from (the runs of the matrix under that
profile; a configuration never run is in the report's own profile's), one <testcase> per
configuration: classname `mlcc-ci.<profile>`, name the catalog entry's. A failure's type is
its class and its message the first failed stage and what it said; mlcc-ci's own errors are
<error>; blocked, running, unsupported and never-run configurations are <skipped>. The
stages, and the log of the stage that failed (its tail, masked), are the <system-out>.
Written with ElementTree, which escapes; characters XML 1.0 cannot carry are taken out."""

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from mlcc_ci.report.cases import ERROR, FAILED, SKIPPED, Case, LogReader

SUITE_PREFIX = "mlcc-ci"
# What XML 1.0 has no way to say (not even as a character reference)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("?", text)


def seconds(value: float) -> str:
    """`12.345`: the schema's SUREFIRE_TIME allows at most three decimals."""
    return f"{max(value, 0.0):.3f}"


def _stage_lines(case: Case) -> list[str]:
    lines = []
    for stage, result in case.stages:
        said = f" ({result.note})" if result.note else ""
        lines.append(f"{stage}: {result.status} {seconds(result.durationSeconds)} s{said}")
    return lines


def system_out(case: Case, logs: LogReader | None) -> str:
    """The run's stages, then the failed stage's log."""
    parts = []
    head = f"{case.name}: {case.status}" + (f" (run {case.runId})" if case.runId else "")
    parts.append(head)
    parts += _stage_lines(case)
    result = dict(case.stages).get(case.stage) if case.stage else None
    if logs is not None and result is not None:
        text = logs(case.name, case.stage, result)
        if text:
            parts += ["", f"==> {case.stage} log (its last lines) <==", text]
    return "\n".join(parts) + "\n"


def _testcase(suite: ET.Element, case: Case, logs: LogReader | None) -> None:
    element = ET.SubElement(
        suite,
        "testcase",
        classname=xml_text(f"{SUITE_PREFIX}.{case.profile}"),
        name=xml_text(case.name),
        time=seconds(case.seconds),
    )
    if case.outcome in (FAILED, ERROR):
        tag = "failure" if case.outcome == FAILED else "error"
        ET.SubElement(
            element, tag, type=xml_text(case.cls), message=xml_text(case.message)
        ).text = xml_text(case.detail)
    elif case.outcome == SKIPPED:
        ET.SubElement(element, "skipped", message=xml_text(case.message))
    if case.stages:  # a configuration never run has nothing to say there
        ET.SubElement(element, "system-out").text = xml_text(system_out(case, logs))


def suites(cases: Sequence[Case]) -> dict[str, list[Case]]:
    """Cases by profile, profiles in the order their first case comes."""
    grouped: dict[str, list[Case]] = {}
    for case in cases:
        grouped.setdefault(case.profile, []).append(case)
    return grouped


def junit(
    cases: Sequence[Case],
    *,
    generated_at: str,
    scopes: Mapping[str, str] | None = None,
    logs: LogReader | None = None,
) -> str:
    """The JUnit XML document; `scopes`: profile -> what its runs prove (a property)."""
    root = ET.Element("testsuites", name=SUITE_PREFIX)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for profile, members in suites(cases).items():
        count = {o: sum(c.outcome == o for c in members) for o in (FAILED, ERROR, SKIPPED)}
        time = sum(c.seconds for c in members)
        starts = sorted(c.startedAt for c in members if c.startedAt)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=xml_text(f"{SUITE_PREFIX} {profile}"),
            tests=str(len(members)),
            failures=str(count[FAILED]),
            errors=str(count[ERROR]),
            skipped=str(count[SKIPPED]),
            time=seconds(time),
            timestamp=xml_text(starts[0] if starts else generated_at),
        )
        properties = ET.SubElement(suite, "properties")
        said = {"profile": profile, "generatedAt": generated_at}
        if scopes and profile in scopes:
            said["scope"] = scopes[profile]
        for key, value in said.items():
            ET.SubElement(properties, "property", name=key, value=xml_text(value))
        for case in members:
            _testcase(suite, case, logs)
        totals["tests"] += len(members)
        totals["failures"] += count[FAILED]
        totals["errors"] += count[ERROR]
        total_time += time
    for name, total in totals.items():
        root.set(name, str(total))
    root.set("time", seconds(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
