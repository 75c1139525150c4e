"""Safe, bounded YAML loading that remembers where every value came from.

Refuses what a catalog file has no business containing: aliases (so an alias bomb is
refused before anything is expanded), non-UTF-8 bytes, tabs in indentation, huge files,
nesting deeper than any catalog needs, and anything that is not a regular file (a symlink
to /dev/zero, a FIFO): it reads a bounded number of bytes and never blocks.
Errors name the file and line and never echo a long value.
"""

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32

Line = dict[tuple[str | int, ...], int]


@dataclass(frozen=True)
class Loaded:
    data: Any
    lines: Line  # JSON path (as a tuple of keys) -> 1-based line


class YamlProblem(Exception):
    pass


class _Loader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YamlProblem(
                f"{event.start_mark.line + 1}: YAML aliases are not allowed "
                f"(found *{_short(event.anchor)}); write the value out"
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            line = self.peek_event().start_mark.line + 1
            raise YamlProblem(f"{line}: nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# A date stays the text that was written (`until: 2026-12-31`, a price table's date): the
# schemas want strings, and `2026-02-30` must be a problem named at its line, not the
# constructor's ValueError.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _short(text: object, limit: int = 40) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


MERGE = "tag:yaml.org,2002:merge"


def _merged(values: list[yaml.Node]) -> list[tuple[yaml.Node, yaml.Node]]:
    """The (key, value) pairs merge keys (`<<: {...}`, `<<: [{...}, ...]`) bring into a
    mapping, in the order the constructor adds them: where a key comes twice, the last wins."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for value in values:
        for mapping in value.value if isinstance(value, yaml.SequenceNode) else [value]:
            if isinstance(mapping, yaml.MappingNode):
                inner = [v for k, v in mapping.value if k.tag == MERGE]
                pairs += _merged(inner) + [(k, v) for k, v in mapping.value if k.tag != MERGE]
    return pairs


def _walk(node: yaml.Node, path: tuple[str | int, ...], lines: Line) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        merges = [value for key, value in node.value if key.tag == MERGE]
        # a merged value is where it was written, under the key it lands on; a key the
        # mapping names itself wins over it (walked after, as the constructor does)
        for key_node, value_node in _merged(merges):
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        for key_node, value_node in node.value:
            if key_node.tag == MERGE:
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise YamlProblem(
                    f"{line}: duplicate key {_short(key)!r} (first on line {seen[key]})"
                )
            seen[key] = line
            _walk(value_node, (*path, key), lines)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)


def load_text(text: str) -> Loaded:
    """Parse one YAML document. Raises YamlProblem('<line>: message')."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise YamlProblem(f"{number}: tab character in indentation; indent with spaces")
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses NUL and other control characters
        position = getattr(exc, "position", 0) or 0
        at = text.count("\n", 0, position) + 1
        problem = getattr(exc, "reason", None) or "syntax error"
        character = getattr(exc, "character", None)
        shown = f" (#x{character:04x})" if isinstance(character, int) else ""
        raise YamlProblem(f"{at}: invalid YAML: {_short(problem, 80)}{shown}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlProblem("1: empty file; expected a mapping")
        lines: Line = {}
        _walk(node, (), lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = mark.line + 1 if mark else 1
        problem = _short(exc.problem or exc.context or "syntax error", 80)
        raise YamlProblem(f"{at}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"1: invalid YAML: {_short(exc, 80)}") from None
    finally:
        loader.dispose()
    return Loaded(data, lines)


def load_file(path: Path) -> Loaded:
    """Read and parse a file; problems come back as YamlProblem('<line>: message')."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise YamlProblem("1: a symbolic link; only regular files are read") from None
        raise YamlProblem(f"1: cannot read file: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise YamlProblem("1: not a regular file (a device, FIFO or socket); refusing to read")
        if info.st_size > MAX_BYTES:
            raise YamlProblem(f"1: file too large ({info.st_size} bytes; the limit is {MAX_BYTES})")
        raw = os.read(fd, MAX_BYTES + 1)
        while len(raw) <= MAX_BYTES and (more := os.read(fd, MAX_BYTES + 1 - len(raw))):
            raw += more
    except OSError as exc:
        raise YamlProblem(f"1: cannot read file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise YamlProblem(f"1: file too large (over {MAX_BYTES} bytes, the limit)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            f"{line_no}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise YamlProblem("1: empty file; expected a mapping")
    return load_text(text)
