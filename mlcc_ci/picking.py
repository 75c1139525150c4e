"""Which catalog entries a `run` or `plan` picks: `--tag`, `-k EXPR` and `--last-failed`,
each narrowing what NAME ..., `--all` or `--due` chose.

`-k` reads as pytest's does: a case-insensitive substring of the entry's name, combined
with `and`, `or`, `not` and parentheses. It is parsed here, never evaluated as Python.
`--last-failed` takes the entries whose last run under the profile in use did not pass: a
failure of the product, a run the infrastructure blocked, or an error of mlcc-ci itself (an
interrupted run is not a failure: it stays due as it was).
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mlcc_ci.catalog import Catalog, Entry
from mlcc_ci.constants import ERROR, FAIL_STATUSES
from mlcc_ci.errors import NotFound, UsageError
from mlcc_ci.models import Record, Run
from mlcc_ci.selection import Plan
from mlcc_ci.stores.base import ResultsStore

Match = Callable[[str], bool]

# nesting deeper than this is no one's filter; it would only exhaust the parser's stack
MAX_DEPTH = 50
_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[^\s()]+))")
_NAME = re.compile(r"[\w:+.\[\]\\/-]+")
_KEYWORDS = ("and", "or", "not")


class KeywordError(ValueError):
    """An expression `-k` cannot read; the message names the column."""


def _tokens(text: str) -> list[tuple[str, int]]:
    found, at = [], 0
    while (m := _TOKEN.match(text, at)) and m.end() > at:
        token = m.group("paren") or m.group("word")
        column = m.start("paren" if m.group("paren") else "word") + 1
        if not (token in "()" or _NAME.fullmatch(token)):
            raise KeywordError(f"column {column}: {token!r} is not a name")
        found.append((token, column))
        at = m.end()
    return found


class _Parser:
    """expr: and ('or' and)* · and: not ('and' not)* · not: 'not' not | '(' expr ')' | NAME"""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.end = len(text) + 1

    def _peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def _fail(self, wanted: str) -> KeywordError:
        if self.at < len(self.tokens):
            token, column = self.tokens[self.at]
            return KeywordError(f"column {column}: expected {wanted}, got {token!r}")
        return KeywordError(f"column {self.end}: expected {wanted}, got the end")

    def parse(self) -> Match:
        if not self.tokens:  # as pytest: an empty expression keeps everything
            return lambda name: True
        match = self._or(0)
        if self._peek() is not None:
            raise self._fail("'and', 'or' or the end")
        return match

    def _or(self, depth: int) -> Match:
        parts = [self._and(depth)]
        while self._peek() == "or":
            self.at += 1
            parts.append(self._and(depth))
        return parts[0] if len(parts) == 1 else lambda name: any(p(name) for p in parts)

    def _and(self, depth: int) -> Match:
        parts = [self._not(depth)]
        while self._peek() == "and":
            self.at += 1
            parts.append(self._not(depth))
        return parts[0] if len(parts) == 1 else lambda name: all(p(name) for p in parts)

    def _not(self, depth: int) -> Match:
        if depth > MAX_DEPTH:
            column = self.tokens[self.at][1] if self.at < len(self.tokens) else self.end
            raise KeywordError(f"column {column}: more than {MAX_DEPTH} levels of nesting")
        token = self._peek()
        if token == "not":
            self.at += 1
            inner = self._not(depth + 1)
            return lambda name: not inner(name)
        if token == "(":
            self.at += 1
            inner = self._or(depth + 1)
            if self._peek() != ")":
                raise self._fail("')'")
            self.at += 1
            return inner
        if token is None or token == ")" or token in _KEYWORDS:
            raise self._fail("a name, 'not' or '('")
        self.at += 1
        word = token.lower()
        return lambda name: word in name.lower()


def keyword(text: str) -> Match:
    """`-k TEXT` as a test of a name; KeywordError when it does not read."""
    return _Parser(text).parse()


@dataclass(frozen=True)
class Filters:
    tags: tuple[str, ...] = ()
    keyword: str | None = None
    last_failed: bool = False

    @property
    def active(self) -> bool:
        return bool(self.tags or self.keyword is not None or self.last_failed)

    def described(self) -> str:
        said = [f"--tag {t}" for t in self.tags]
        said += [f"-k {self.keyword!r}"] if self.keyword is not None else []
        return ", ".join(said + (["--last-failed"] if self.last_failed else []))


def tags_of(entry: Entry) -> tuple[str, ...]:
    return tuple(str(t) for t in entry.data.get("tags") or ())


def known_tags(catalog: Catalog) -> list[str]:
    return sorted({t for e in catalog.entries for t in tags_of(e)})


def _shows(filters: Filters, name_test: Match, entry: Entry) -> bool:
    tags = filters.tags
    return (not tags or bool(set(tags) & set(tags_of(entry)))) and name_test(entry.name)


def check(filters: Filters, catalog: Catalog) -> Match:
    """The name test of `-k`. UsageError for a tag no entry carries, an expression that
    does not read, or --tag and -k that together keep no entry of the catalog."""
    known = known_tags(catalog)
    for tag in filters.tags:
        if tag not in known:
            listed = ", ".join(known) if known else "none: no entry has tags"
            raise UsageError(f"no catalog entry is tagged {tag!r} (known tags: {listed})")
    name_test: Match = lambda name: True  # noqa: E731
    if filters.keyword is not None:
        try:
            name_test = keyword(filters.keyword)
        except KeywordError as exc:
            raise UsageError(f"-k {filters.keyword!r}: {exc}") from None
    narrowing = Filters(filters.tags, filters.keyword)
    if narrowing.active and not any(_shows(filters, name_test, e) for e in catalog.entries):
        raise UsageError(f"no catalog entry matches {narrowing.described()}")
    return name_test


def failed_last(record: Record, runs: Sequence[Run], profile: str) -> bool:
    """Whether the last run of `record` under `profile` did not pass (`runs`: its history,
    newest first). A record with no history at all (another tool wrote it) answers by its
    status, when no other profile wrote it."""
    mine = next((run for run in runs if run.profile == profile), None)
    if mine is not None:
        return mine.status in FAIL_STATUSES or mine.status == ERROR
    return not runs and record.profile in (None, profile) and record.failing


class Picker:
    """What the filters keep, over entries and over stored records."""

    def __init__(
        self, filters: Filters, catalog: Catalog, store: ResultsStore, profile: str
    ) -> None:
        self.filters = filters
        self.catalog = catalog
        self.store = store
        self.profile = profile
        self.name_test = check(filters, catalog)

    def shown(self, entry: Entry) -> bool:
        """Kept by --tag and -k (what needs no store)."""
        return _shows(self.filters, self.name_test, entry)

    def failed(self, record: Record | None) -> bool:
        if record is None:
            return False
        runs: Sequence[Run] = record.recentRuns
        if not any(run.profile == self.profile for run in runs):
            runs = self.store.history(record.configId) or runs
        return failed_last(record, runs, self.profile)

    def entries(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries kept, in their order."""
        kept = [e for e in entries if self.shown(e)]
        if self.filters.last_failed:
            kept = [e for e in kept if self.failed(self.store.get(e.config_id))]
        return kept

    def entry_of(self, record: Record) -> Entry | None:
        try:
            return self.catalog.get(record.deploymentConfig)
        except NotFound:  # a configuration a project registered: its name, no tags
            return None

    def keeps(self, record: Record) -> bool:
        """A stored record kept: its entry's tags and name (a project's registration: its
        own name, no tags), and its last run when --last-failed."""
        entry = self.entry_of(record)
        if entry is not None and not self.shown(entry):
            return False
        if entry is None and (self.filters.tags or not self.name_test(record.deploymentConfig)):
            return False
        return not self.filters.last_failed or self.failed(record)

    def keeps_name(self, name: str) -> bool:
        try:
            entry = self.catalog.get(name)
        except NotFound:
            return False
        return self.shown(entry) and (
            not self.filters.last_failed or self.failed(self.store.get(entry.config_id))
        )

    def plan(self, plan: Plan) -> Plan:
        """`plan` with only what is kept (selection ran over the kept records and every
        running one, which MaxConcurrency counts)."""
        return Plan(
            due=[d for d in plan.due if self.keeps(d.record)],
            reap=[d for d in plan.reap if self.keeps(d.record)],
            skipped=[d for d in plan.skipped if self.keeps(d.record)],
            unregistered=[n for n in plan.unregistered if self.keeps_name(n)],
        )


def nothing_failed(profile: str, filters: Filters) -> str:
    """What `--last-failed` says when nothing it may take failed (as pytest's "no previously
    failed tests")."""
    rest = Filters(filters.tags, filters.keyword).described()
    among = f" among {rest}" if rest else ""
    return f"no previously failed configurations{among} (profile {profile}); nothing to run"
