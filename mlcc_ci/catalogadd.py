"""Catalog files written for people, never over one of theirs: an entry's own text (`catalog
show --yaml`), a new entry copied from another or started from a skeleton (`catalog add`),
and a team catalog's first files (`catalog init`)."""

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlcc_ci.catalog import Catalog, Entry, display, load_catalog, shown_path
from mlcc_ci.errors import CatalogError, UsageError
from mlcc_ci.files import read_regular
from mlcc_ci.naming import MAX_ENTRY_NAME, entry_name_problem, longest_catalog_name
from mlcc_ci.resources import data_path
from mlcc_ci.safeyaml import MAX_BYTES, YamlProblem, load_text

SCHEMA_COMMENT = "# yaml-language-server: $schema="
ENTRY_SCHEMA = "catalog-entry.schema.json"
# the schema's pattern for an entry's name (and the file it is written to)
NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_NAME_LINE = re.compile(r"name:(\s.*)?")  # the top-level key (a nested one is indented)


def check_name(name: str, defaults: Mapping[str, Any] | None = None) -> None:
    """A name `catalog add` can write, and (given the catalog's `defaults`) one short enough
    for the names its runs take in AWS, with the default prefix and in any region."""
    longest = MAX_ENTRY_NAME if defaults is None else longest_catalog_name(defaults)
    if not NAME.fullmatch(name) or len(name) > 64:
        raise UsageError(
            f"NAME {name!r}: lowercase letters and digits in words joined by '-', "
            f"at most {longest} characters (e.g. qwen-vllm-small)"
        )
    if defaults is not None and (too_long := entry_name_problem(name, defaults)):
        raise UsageError(f"NAME {too_long}")


def own_text(entry: Entry) -> str:
    """The entry's file as written (comments too), without its schema comment, which names
    the schema relative to where that file is: what can be pasted into another entry file."""
    try:
        text = read_regular(entry.path, MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {display(entry.path)}: {exc}") from None
    kept = [ln for ln in text.splitlines(keepends=True) if not ln.startswith(SCHEMA_COMMENT)]
    return "".join(kept)


def schema_comment(folder: Path) -> str:
    """The schema comment for a new file in `folder`: the schema beside it (`catalog init`
    copies one into .schema/), else the source checkout's; none to a packaged copy, which a
    clone of the team's repository would not have."""
    for candidate in (folder / ".schema", folder.parent / "schema"):
        if (candidate / ENTRY_SCHEMA).is_file():
            relative = os.path.relpath(candidate / ENTRY_SCHEMA, folder)
            return f"{SCHEMA_COMMENT}{Path(relative).as_posix()}\n"
    return ""


def copy_text(source: Entry, name: str, folder: Path) -> str:
    """`source`'s file as written, renamed `name`; where `name` is not the generator's name
    for the configuration, `generatorName` says which one it is a variant of."""
    lines = own_text(source).splitlines(keepends=True)
    at = next((i for i, ln in enumerate(lines) if _NAME_LINE.fullmatch(ln.rstrip("\r\n"))), None)
    if at is None:
        raise UsageError(f"{display(source.path)}: no top-level `name:` line to rename")
    lines[at] = f"name: {name}\n"
    generator_name = source.generator_name
    if name != generator_name and not source.data.get("generatorName"):
        lines.insert(
            at + 1,
            f"generatorName: {generator_name}  # the generator's configuration it varies\n",
        )
    text = schema_comment(folder) + "".join(lines)
    try:
        written = load_text(text).data
    except YamlProblem:
        written = None
    if not isinstance(written, dict) or written.get("name") != name:
        raise UsageError(f"{display(source.path)}: cannot rename its entry to {name}")
    if (written.get("generatorName") or name) != generator_name:
        raise UsageError(f"{display(source.path)}: cannot set generatorName in its copy")
    return text


SKELETON = """\
# A new entry (mlcc-ci catalog add). Say what it deploys, then set support.state to
# supported: until then it is validated and listed, never run. Fields left out are
# inherited from _defaults.yaml (mlcc-ci catalog show-defaults prints them).
name: {name}
# The generator's configuration this entry deploys, where it is not `name` (a smaller model
# of transformers-vllm is still transformers-vllm); once the entry is supported,
# `mlcc-ci catalog validate` names the ones the generator offers:
# generatorName: transformers-vllm
architecture: http  # transformers, http, triton, diffusors or marketplace
backend: flask  # the model server, e.g. vllm, sglang, tensorrt-llm, flask, fastapi
support:
  state: unsupported  # supported, once the fields below say what to deploy
  reason: a new entry, not filled in yet
baseImage: null  # the image the container starts from, e.g. python:3.12-slim
modelName: null  # the model it serves, e.g. openai/gpt-oss-20b; null for none
instanceType: ml.m5.large  # the SageMaker instance type it is deployed on
# What the smoke test sends the endpoint, and the path in its JSON answer that must be set:
# smokeTest:
#   payload: {{"instances": [[1.0, 2.0, 3.0, 4.0]]}}
#   expect: {{"path": "predictions"}}
tags: []
"""


def skeleton_text(name: str, folder: Path) -> str:
    return schema_comment(folder) + SKELETON.format(name=name)


@dataclass(frozen=True)
class Added:
    path: Path
    entry: Entry
    same_as: Entry | None  # an entry of the catalog it deploys the same thing as


def find_source(name: str, catalogs: Iterable[Catalog]) -> Entry:
    """The entry `name` names in the first catalog that has it by its own name (the team's
    before the shipped one), else the one entry whose generatorName it is."""
    entries: list[Entry] = []
    for catalog in catalogs:
        entries.extend(e for e in catalog.entries if e.name not in {x.name for x in entries})
    return Catalog(defaults={}, entries=entries).get(name)


def add_entry(folder: Path, name: str, text: str, catalog: Catalog) -> Added:
    """Write `text` as `folder`/`name`.yaml: checked first as `catalog validate` checks one
    file (schema, rules, the folder's defaults), written to a temporary file and linked into
    place, so nothing is ever overwritten or left half-written."""
    target = folder / f"{name}.yaml"
    refused = UsageError(f"{shown_path(target)} exists; catalog add overwrites nothing")
    if os.path.lexists(target):
        raise refused
    if os.path.lexists(target.with_suffix(".yml")):
        raise UsageError(
            f"{shown_path(target.with_suffix('.yml'))} exists; catalog add overwrites nothing"
        )
    same_name = next((e for e in catalog.entries if e.name == name), None)
    if same_name is not None:
        line = same_name.lines.get(("name",), 1)
        raise UsageError(
            f"{shown_path(same_name.path)}:{line}: the catalog has an entry named {name} already"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.yaml.", suffix=".tmp", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        defaults = [folder / "_defaults.yaml"] if (folder / "_defaults.yaml").is_file() else []
        checked = load_catalog([*defaults, tmp])
        if checked.problems or not checked.entries:
            named = [p.replace(display(tmp), display(target)) for p in checked.problems]
            raise CatalogError(named or [f"{display(target)}: not an entry"])
        try:
            os.link(tmp, target)  # fails, rather than replaces, where a file appeared since
        except FileExistsError:
            raise refused from None
        except OSError:  # a file system without hard links
            if os.path.lexists(target):
                raise refused from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    written = checked.entries[0]
    identity = written.generator_identity
    twin = next((e for e in catalog.entries if e.generator_identity == identity), None)
    return Added(path=target, entry=written, same_as=twin)


# -- catalog init --------------------------------------------------------------------------

# what the files of a catalog folder name in their schema comments
CATALOG_SCHEMAS = (
    "catalog-defaults.schema.json",
    "catalog-entry.schema.json",
    "failure-rules.schema.json",
)
TEAM_DEFAULTS = """\
# yaml-language-server: $schema=.schema/catalog-defaults.schema.json
# This catalog's defaults. `extends: mlcc-ci` starts from the defaults the installed mlcc-ci
# ships (the pinned generator, stage commands and timeouts, prices, rules and profiles):
# name here only what differs. Maps merge key by key; a list or a single value replaces.
# `mlcc-ci catalog show-defaults` prints the result and where each value comes from.
extends: mlcc-ci
owner: {owner}
"""


# What a YAML 1.2 reader (core schema, and the extensions of js-yaml and Go's yaml.v3:
# underscores, 0b) or a YAML 1.1 one (y/n/on/off) takes for no string, where PyYAML (1.1,
# and stricter about floats) reads a string: `1e3`, `1.0e3`, `0o17`, `y`
_NOT_A_STRING = re.compile(
    r"""[-+]?(?: [0-9][0-9_]* | 0o[0-7_]+ | 0x[0-9a-fA-F_]+ | 0b[01_]+ )
      | [-+]?(?: \.[0-9][0-9_]* | [0-9][0-9_]*(?:\.[0-9_]*)? )(?:[eE][-+]?[0-9]+)?
      | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
      | null|Null|NULL|~ | true|True|TRUE|false|False|FALSE
      | [yYnN] | yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF""",
    re.VERBOSE,
)


def yaml_string(text: str) -> str:
    """`text` as YAML reads it back as that string: plain where it already is one (`team-a`),
    else quoted (`'1234'`, `'true'`, `'null'`, `'-'`, `'1e3'`), as the schema wants owners
    strings, to YAML 1.1 readers (PyYAML, ours) and 1.2 ones (editors, js-yaml) alike."""
    import yaml

    try:
        plain = yaml.safe_load(text) == text and "\n" not in text
    except yaml.YAMLError:
        plain = False
    if plain and _NOT_A_STRING.fullmatch(text):
        plain = False
    return text if plain else "'" + text.replace("'", "''") + "'"


def init_files(directory: Path, entries: Iterable[Entry], owner: str) -> dict[Path, bytes]:
    """What `catalog init` writes: the schemas, a _defaults.yaml that extends the shipped
    one, and the entries, their schema comments pointing at the copies in .schema/."""
    files: dict[Path, bytes] = {}
    for name in CATALOG_SCHEMAS:
        files[directory / ".schema" / name] = (data_path("schema") / name).read_bytes()
    files[directory / "_defaults.yaml"] = TEAM_DEFAULTS.format(owner=yaml_string(owner)).encode()
    for entry in entries:
        text = entry.path.read_text(encoding="utf-8").replace("$schema=../schema/", "$schema=")
        text = text.replace("$schema=catalog-", "$schema=.schema/catalog-", 1)
        files[directory / entry.path.name] = text.encode("utf-8")
    return files


def init_conflicts(directory: Path, files: dict[Path, bytes]) -> tuple[list[Path], list[Path]]:
    """(the paths in `directory` where a different file, a link or a folder already is; the
    paths that already hold exactly what init would write)."""
    conflicts: list[Path] = []
    same: list[Path] = []
    for path, data in files.items():
        for inner in reversed(path.relative_to(directory).parents[:-1]):
            folder = directory / inner
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                conflicts.append(folder)
                break
        else:
            if not os.path.lexists(path):
                continue
            if path.is_symlink() or not path.is_file():
                conflicts.append(path)
            else:
                try:
                    (same if read_regular(path, len(data) + 1) == data else conflicts).append(path)
                except OSError:
                    conflicts.append(path)
    return list(dict.fromkeys(conflicts)), same
