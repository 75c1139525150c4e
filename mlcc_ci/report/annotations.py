"""GitHub workflow commands: `::error file=…,line=…,title=…::message`, which a job's log
turns into an annotation on that file and line of the pull request's diff.

Catalog problems become them (`catalog validate --format github`), and so do configurations
that fail (`report --format github`): on the entry's catalog file, at the line of its name,
or of its instance type when the infrastructure had no capacity or quota for it. A failure
the configuration's is an error; mlcc-ci's own error and a configuration the infrastructure
blocked are warnings, never blamed on the change. Text is escaped as GitHub's toolkit does:
`%`, CR and LF everywhere, and `:` and `,` in properties as well."""

import os
from collections.abc import Sequence
from pathlib import Path

from mlcc_ci.report.cases import ERROR, FAILED, SKIPPED, Case
from mlcc_ci.safetext import capped

MESSAGE_CHARS = 2000


def data(text: str) -> str:
    """A command's message, escaped."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def prop(text: str) -> str:
    """A command's property value (file, title), escaped."""
    return data(text).replace(":", "%3A").replace(",", "%2C")


def log_line(text: str) -> str:
    """A line of plain text for a workflow's log that the runner takes for no command: one
    line (escaped as a message is), and never starting with `::` (the runner looks for
    commands at the start of each line, spaces aside)."""
    text = data(text)
    stripped = text.lstrip()
    if stripped.startswith("::"):
        text = text[: len(text) - len(stripped)] + "%3A" + stripped[1:]
    return text


def command(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    """`::error file=catalog/x.yaml,line=3,title=…::message`."""
    props = []
    if file:
        props.append(f"file={prop(file)}")
        if line:
            props.append(f"line={int(line)}")
    if title:
        props.append(f"title={prop(title)}")
    return (
        f"::{level} {','.join(props)}::{data(message)}" if props else f"::{level}::{data(message)}"
    )


def place(case: Case, cwd: Path) -> tuple[str | None, int | None]:
    """The entry's file, from `cwd` (the repository's root in a job), and the line: of its
    instance type when capacity or quota blocked it, else of its name. None for a
    configuration the catalog does not have, or a file outside `cwd` (the shipped catalog
    of an installed mlcc-ci): GitHub can put those on no line of the diff."""
    entry = case.entry
    if entry is None:
        return None, None
    try:
        relative = os.path.relpath(entry.path, cwd)
    except ValueError:  # another drive
        return None, None
    if relative.startswith(".."):
        return None, None
    lines = entry.lines
    field = ("instanceType",) if case.cls in ("capacity", "quota") else ("name",)
    line = lines.get(field) or lines.get(("name",)) or 1
    return Path(relative).as_posix(), line


def annotation(case: Case, cwd: Path) -> str | None:
    """The command for one case; None for one that passed, or was not run or is running."""
    if case.outcome == FAILED:
        level = "error"
    elif case.outcome == ERROR or (case.outcome == SKIPPED and case.cls):  # harness, blocked
        level = "warning"
    else:
        return None
    file, line = place(case, cwd)
    text = "\n".join(
        part
        for part in (
            case.message,
            *_not_said(case.detail, case.message),
            f"log: mlcc-ci logs {case.name}" + (f" --stage {case.stage}" if case.stage else ""),
        )
        if part
    )
    return command(
        level,
        capped(text, MESSAGE_CHARS),
        file=file,
        line=line,
        title=f"mlcc-ci {case.profile}: {case.name} {case.status}",
    )


def _not_said(detail: str, message: str) -> list[str]:
    """The detail's lines the message does not already say: a failure's message is its
    stage's summary on one line, which the detail holds again over lines (a JUnit failure
    carries both, as its message attribute and its body; an annotation says it once).
    A line the message only says in part (cut short) stays."""
    said = " ".join(message.split())
    return [line for line in detail.splitlines() if " ".join(line.split()) not in said]


def annotations(cases: Sequence[Case], cwd: Path) -> list[str]:
    """One command per configuration that failed, errored or was blocked."""
    return [a for case in cases if (a := annotation(case, cwd)) is not None]
