"""Classify a failed stage by its log: the ordered rules of the catalog's `_failures.yaml`.

The first rule (in file order, a team catalog's rules before the shipped ones) whose pattern
matches the last 64 KB of the log wins; its capture group is the part failures are grouped
by. A log no rule matches is `unclassified`, never silently `product`. Patterns are RE2's
(mlcc_ci.patterns: linear time), and one failed run's classification has a time limit
(CLASSIFY_SECONDS) past which it is `unclassified` too, saying so.
"""

import os
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlcc_ci import schema
from mlcc_ci.catalogpaths import PACKED_TEAM_RULES, RULES_FILE
from mlcc_ci.constants import FAILABLE_STAGES
from mlcc_ci.errors import CatalogError, UsageError
from mlcc_ci.patterns import Pattern, PatternError, compile_pattern
from mlcc_ci.resources import catalog_dir, data_path
from mlcc_ci.safeyaml import Loaded, YamlProblem, load_file

SCHEMA = "failure-rules.schema.json"
CLASSES = ("product", "infra", "capacity", "quota", "credentials", "harness")
UNCLASSIFIED = "unclassified"
# Failures that are not the configuration's block it (its status stays what its product last
# proved) rather than fail it: models.BLOCKING.
# ... of which these pass with time, so their rule's policy retries them.
RETRIED = ("infra", "capacity", "quota")
# mlcc-ci's own failure: recorded as an `error`, never counted against the configuration.
HARNESS = "harness"
ANY_STAGE = "any"
TAIL_BYTES = 64 * 1024
_CAPTURE_LIMIT = 200
_LINE_LIMIT = 500
# All the rules together, for one failed run: a search RE2 has started runs to its end (in
# linear time), but the classification does not wait for it past this.
CLASSIFY_SECONDS = 2
# Colour codes a tool wrote into its log would split the words a pattern looks for.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class Retry:
    count: int
    backoff_seconds: int


NO_RETRY = Retry(0, 0)


@dataclass(frozen=True)
class Rule:
    name: str
    cls: str
    stages: tuple[str, ...]
    pattern: Pattern  # RE2's
    retry: Retry
    hint: str
    file: Path  # where the rule is written
    line: int

    @property
    def source(self) -> str:
        """FILE:LINE for people, the same from any folder (see `rule_path`)."""
        return f"{rule_path(self.file)}:{self.line}"

    def applies(self, stage: str | None) -> bool:
        return stage is None or ANY_STAGE in self.stages or stage in self.stages


@dataclass(frozen=True)
class Classification:
    cls: str
    rule: str = ""
    capture: str = ""
    hint: str = ""
    retry: Retry = NO_RETRY
    line: str = ""  # the log line the pattern matched


_UNMATCHED = Classification(UNCLASSIFIED, hint="no rule matched: read the log")


def rule_path(path: Path) -> str:
    """Where a rule file is, whatever the working directory: `(shipped) FILE` for mlcc-ci's
    packaged rules, relative to the catalog in use when it is in it (`_failures.yaml`),
    else the file's own absolute path."""
    full = Path(os.path.abspath(path))
    shipped = Path(os.path.abspath(data_path("catalog")))
    if shipped.parent.name == "_data" and full.is_relative_to(shipped):
        return f"(shipped) {full.relative_to(shipped).as_posix()}"
    try:
        catalog = Path(os.path.abspath(catalog_dir()))
    except UsageError:  # the catalog named is gone: the file's own path says it all
        return str(full)
    return full.relative_to(catalog).as_posix() if full.is_relative_to(catalog) else str(full)


def _display(path: Path) -> str:
    from mlcc_ci.catalog import display

    return display(path)


def _parse(path: Path, problems: list[str]) -> list[Rule]:
    """The rules of one file; every problem, as FILE:LINE: RULE JSON-PATH: MESSAGE, goes to
    `problems` (a file with any problem gives no rules)."""
    where = _display(path)
    try:
        loaded = load_file(path)
    except YamlProblem as exc:
        line_no, _, message = str(exc).partition(": ")
        problems.append(f"{where}:{line_no}: {message}")
        return []
    found = len(problems)
    for p in schema.problems(loaded.data, schema.FAILURES_SCHEMA):
        label = _label(loaded.data, p.path)
        problems.append(f"{where}:{_line(loaded, p.path)}: {label}: {p.message}")
    if len(problems) > found:
        return []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(loaded.data["rules"]):
        at = ("rules", i)
        label = f"{raw['name']} {schema.json_path((*at, 'pattern'))}"
        try:
            pattern = compile_pattern(raw["pattern"])
        except PatternError as exc:
            problems.append(f"{where}:{_line(loaded, (*at, 'pattern'))}: {label}: {exc}")
            continue
        if pattern.groups != 1:
            at_line = _line(loaded, (*at, "pattern"))
            problems.append(
                f"{where}:{at_line}: {label}: has {pattern.groups} capture groups; exactly one "
                "is needed, the groupable part (write (?:...) for the others)"
            )
            continue
        name_line = _line(loaded, (*at, "name"))
        if raw["name"] in seen:
            problems.append(
                f"{where}:{name_line}: {raw['name']} {schema.json_path((*at, 'name'))}: "
                f"duplicate name (first on line {seen[raw['name']]})"
            )
            continue
        seen[raw["name"]] = name_line
        rules.append(
            Rule(
                name=raw["name"],
                cls=raw["class"],
                stages=tuple(raw["stages"]),
                pattern=pattern,
                retry=Retry(raw["retry"]["count"], raw["retry"]["backoffSeconds"]),
                hint=raw["hint"],
                file=path,
                line=name_line,
            )
        )
    return [] if len(problems) > found else rules


def _line(loaded: Loaded, path: tuple[str | int, ...]) -> int:
    from mlcc_ci.catalog import line_of

    return line_of(loaded.lines, path)


def _label(data: Any, path: tuple[str | int, ...]) -> str:
    """The rule's name when the problem is inside a named rule, else the file's."""
    name = "failure rules"
    if len(path) >= 2 and isinstance(data, dict) and isinstance(data.get("rules"), list):
        index = path[1]
        rules = data["rules"]
        if isinstance(index, int) and index < len(rules) and isinstance(rules[index], dict):
            given = rules[index].get("name")
            name = given if isinstance(given, str) else name
    return f"{name} {schema.json_path(path)}"


def _stamp(path: Path) -> tuple[str, int, int] | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    return (str(path), info.st_mtime_ns, info.st_size)


def rule_files(folder: Path | None = None) -> list[Path]:
    """The rule files that apply, the team catalog's first (when it has one)."""
    shipped = data_path("catalog") / RULES_FILE
    team = (folder or catalog_dir()) / RULES_FILE
    own = team.resolve() != shipped.resolve() and (team.is_file() or team.is_symlink())
    if not own and folder is None and (packed := shipped.parent / PACKED_TEAM_RULES).is_file():
        return [packed, shipped]  # a Lambda's copy of the stack's team catalog's rules
    return [team, shipped] if own else [shipped]


def load_rules(folder: Path | None = None) -> tuple[Rule, ...]:
    """The effective rules: a team catalog's first, then the shipped ones it does not replace
    by name. Cached until a file changes. Raises CatalogError naming every problem."""
    files = rule_files(folder)
    return _load(tuple((f, _stamp(f)) for f in files))


@lru_cache(maxsize=8)
def _load(files: tuple[tuple[Path, Any], ...]) -> tuple[Rule, ...]:
    problems: list[str] = []
    rules: list[Rule] = []
    for path, _ in files:
        names = {r.name for r in rules}
        rules.extend(r for r in _parse(path, problems) if r.name not in names)
    if problems:
        raise CatalogError(problems)
    return tuple(rules)


def _capture(match: Any) -> str:
    text = " ".join((match.group(1) or b"").decode("utf-8", "replace").split())
    return text if len(text) <= _CAPTURE_LIMIT else text[: _CAPTURE_LIMIT - 3] + "..."


def _line_of(data: bytes, match: Any) -> str:
    """The line holding the capture (a pattern may span lines)."""
    at = match.start(1) if match.start(1) >= 0 else match.start()
    start = data.rfind(b"\n", 0, at) + 1
    end = data.find(b"\n", at)
    line = data[start : end if end >= 0 else len(data)].decode("utf-8", "replace").strip()
    return line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 3] + "..."


def _out_of_time(seconds: float, rule: Rule) -> Classification:
    return Classification(
        UNCLASSIFIED,
        hint=f"the failure rules ran out of time ({seconds:g} s for one failed run) at rule "
        f"{rule.name} ({rule.source}): read the log; a rule that slow needs a simpler pattern",
    )


def _first_match(
    rules: list[Rule], data: bytes, deadline: float, at: list[Rule | None]
) -> Classification | None:
    """The class the first rule that matches `data` gives, from its match nearest the end;
    None when no rule matches (`at` then ends with None), or past `deadline` (`at` ends with
    the rule being tried)."""
    for rule in rules:
        at.append(rule)
        last = None
        for last in rule.pattern.finditer(data):  # noqa: B007 - the last one is wanted
            if time.monotonic() > deadline:  # many matches, each a search of what is left
                return None
        if time.monotonic() > deadline:
            return None
        if last is not None:
            return Classification(
                rule.cls, rule.name, _capture(last), rule.hint, rule.retry, _line_of(data, last)
            )
    at.append(None)
    return None


def classify(stage: str | None, text: str, rules: tuple[Rule, ...] | None = None) -> Classification:
    """The class of a failed `stage` (None: any stage) whose log ends with `text`; only the
    last 64 KB of `text` is read. The match nearest the end gives the capture and line.
    Past CLASSIFY_SECONDS, `unclassified`, naming the rule being tried: the rules search in
    a thread of their own, so that this returns, and Ctrl-C and SIGTERM are handled, however
    long one search in RE2 (which holds no lock of Python's) takes."""
    if stage is not None and stage not in FAILABLE_STAGES:
        raise ValueError(f"unknown stage {stage!r} (one of: {', '.join(FAILABLE_STAGES)})")
    text = text[-TAIL_BYTES:]
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    data = text.encode("utf-8", "replace")  # a lone surrogate becomes "?"
    applicable = [r for r in (load_rules() if rules is None else rules) if r.applies(stage)]
    if not applicable:
        return _UNMATCHED
    seconds = CLASSIFY_SECONDS
    deadline = time.monotonic() + seconds
    at: list[Rule | None] = [applicable[0]]
    found: list[Classification | None] = []
    failed: list[BaseException] = []

    def search() -> None:
        try:
            found.append(_first_match(applicable, data, deadline, at))
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    # daemon: a search past the limit is left to end on its own (RE2: in linear time)
    worker = threading.Thread(target=search, name="mlcc-ci-classify", daemon=True)
    if seconds > 0:
        worker.start()
        worker.join(seconds)
    if failed:
        raise failed[0]
    if found and found[0] is not None:
        return found[0]
    if (current := at[-1]) is not None:
        return _out_of_time(seconds, current)  # still searching, or stopped at the deadline
    return _UNMATCHED


def classify_log(
    stage: str | None, path: Path, rules: tuple[Rule, ...] | None = None
) -> Classification:
    """`classify` over the last 64 KB of the log file `path` (never followed if a link).
    Raises OSError (NotARegularFile for a link, a FIFO or a folder)."""
    from mlcc_ci.files import read_tail

    data, cut = read_tail(path, TAIL_BYTES)
    if cut:  # the first line is likely a part of one: leave it out
        data = data[data.find(b"\n") + 1 :]
    return classify(stage, data.decode("utf-8", errors="replace"), rules)


def classify_stage(
    stage: str, log: Path | None, summary: str, rules: tuple[Rule, ...] | None = None
) -> Classification:
    """The class of a failed stage from what it left: the last of its log (stdout, then the
    stderr beside it, TAIL_BYTES in all) and then its error summary, which holds what the
    harness said of it (a timeout, an internal error) and so is read last, nearest the end."""
    from mlcc_ci.files import read_tail

    parts = []
    if log is not None:
        for path in (log, log.with_suffix(".stderr.log")):
            try:
                data, cut = read_tail(path, TAIL_BYTES // 2)
            except OSError:
                continue
            if cut:
                data = data[data.find(b"\n") + 1 :]
            parts.append(data.decode("utf-8", errors="replace"))
    parts.append(summary)
    return classify(stage if stage in FAILABLE_STAGES else None, "\n".join(parts), rules)
