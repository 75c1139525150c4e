"""Load, merge and validate the catalog; build each entry's configId and configJson."""

import copy
import datetime
import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcc_ci import naming, schema
from mlcc_ci.catalogpaths import PACKED_TEAM_RULES, RULES_FILE, display, near, not_a_catalog
from mlcc_ci.configid import config_id
from mlcc_ci.constants import RESOURCE_PREFIX
from mlcc_ci.doconfig import is_secret
from mlcc_ci.errors import CatalogError, NotFound
from mlcc_ci.resources import catalog_dir, data_path
from mlcc_ci.safetext import printable
from mlcc_ci.safeyaml import Loaded, YamlProblem, load_file

DEFAULTS_FILE = "_defaults.yaml"
# the files of a catalog folder that are mlcc-ci's own, not entries (and, in the stack's
# packed copy of a team's catalog only, the team's failure rules)
OWN_FILES = (DEFAULTS_FILE, RULES_FILE)
_PACKED = (PACKED_TEAM_RULES,)
GPU_FAMILIES = ("ml.g", "ml.p", "ml.inf", "ml.trn")
ARCHITECTURE_ORDER = ("transformers", "http", "triton", "diffusors")


# The path of the entry a registered project runs as: it has no catalog file
REGISTERED_PROJECT = Path("<registered project>")


@dataclass(frozen=True)
class Entry:
    """One merged catalog entry."""

    name: str
    data: Mapping[str, Any]
    path: Path
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict, compare=False)

    @property
    def generator_name(self) -> str:
        return str(self.data.get("generatorName") or self.name)

    @property
    def supported(self) -> bool:
        return bool(self.data["support"]["state"] == "supported")

    @property
    def support_reason(self) -> str:
        return str(self.data["support"].get("reason", ""))

    @property
    def model_name(self) -> str | None:
        return self.data.get("modelName") or None

    @property
    def config_id(self) -> str:
        d = self.data
        return config_id(
            self.name, self.model_name, d["instanceType"], d["region"], d["deploymentTarget"]
        )

    @property
    def generator_identity(self) -> str:
        """The configId the generator's own name would give: equal means the same project."""
        d = self.data
        return config_id(
            self.generator_name,
            self.model_name,
            d["instanceType"],
            d["region"],
            d["deploymentTarget"],
        )

    @property
    def config(self) -> dict[str, Any]:
        return generator_config(self.data)

    @property
    def config_json(self) -> str:
        return compact_json(self.config)


@dataclass
class Catalog:
    defaults: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # the defaults' files, the team's first: where each value of `defaults` was written
    defaults_files: list[tuple[Path, Loaded]] = field(default_factory=list)

    def get(self, name: str) -> Entry:
        """The entry named `name`; else the one entry whose generatorName it is. An entry's
        own name always wins over another's alias (a team's `qwen-vllm-small` with
        `generatorName: transformers-vllm` never answers for `transformers-vllm`), and an
        alias two entries share names neither."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        aliased = [e for e in self.entries if e.data.get("generatorName") == name]
        if len(aliased) == 1:
            return aliased[0]
        if aliased:
            raise NotFound(
                f"no catalog entry named '{name}'; it is the generatorName of "
                f"{', '.join(e.name for e in aliased)}: name one of them"
            )
        names = [e.name for e in self.entries]
        aliases = [e.generator_name for e in self.entries if e.generator_name != e.name]
        known = names + aliases
        lowered = {k.lower(): k for k in known}  # names are lower case: `Triton-ONNX` is one
        close = [lowered[name.lower()]] if name.lower() in lowered else []
        close = close or difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(names)}"
        raise NotFound(f"no catalog entry named '{name}' ({hint})")


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def generator_config(data: Mapping[str, Any]) -> dict[str, Any]:
    """The configJson: what `ml-container-creator --config FILE` is handed, in its own keys."""
    name = data["name"]
    config: dict[str, Any] = {
        "projectName": data.get("projectName") or f"{RESOURCE_PREFIX}-{name}",
        "deploymentConfig": data.get("generatorName") or name,
        "architecture": data.get("architecture"),
        "backend": data.get("backend"),
        "instanceType": data["instanceType"],
        "awsRegion": data["region"],
        "deploymentTarget": data["deploymentTarget"],
        "buildTarget": data.get("buildTarget"),
        "baseImage": data.get("baseImage"),
        "buildStrategy": data.get("buildStrategy"),
    }
    if data.get("modelName"):
        config["modelName"] = data["modelName"]
    for optional in ("endpointConfig", "icConfig", "parameters"):
        if data.get(optional):
            config[optional] = data[optional]
    for key, value in (data.get("generatorOptions") or {}).items():
        config.setdefault(key, value)
    return {k: v for k, v in config.items() if v is not None}


# Where each key of the generator config comes from in a catalog entry.
_CONFIG_SOURCE = {"awsRegion": ("region",), "projectName": ("name",)}


def entry_path(entry: Entry, config_path: tuple[str, ...]) -> tuple[str, ...]:
    """The entry's own path for a path into its generator config (for line numbers)."""
    head = config_path[0]
    if head == "deploymentConfig":
        return ("generatorName",) if entry.data.get("generatorName") else ("name",)
    if head in _CONFIG_SOURCE:
        return _CONFIG_SOURCE[head]
    if head in (entry.data.get("generatorOptions") or {}) and head not in entry.data:
        return ("generatorOptions", *config_path)
    return config_path


def line_of(lines: Mapping[tuple[str | int, ...], int], path: tuple[str | int, ...]) -> int:
    """The line of `path`, or of the nearest enclosing key that has one."""
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge mappings; anything else in `override` replaces what `base` had."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_ENTRY_FROM_DEFAULTS = (
    "region",
    "deploymentTarget",
    "buildStrategy",
    "buildTarget",
    "smokeTest",
    "stages",
    "endpointConfig",
    "parameters",
    "generatorOptions",
    "tags",
    "owner",
)


def inherited(defaults: Mapping[str, Any]) -> dict[str, Any]:
    """What every entry takes from the defaults file."""
    return {k: v for k, v in defaults.items() if k in _ENTRY_FROM_DEFAULTS}


def shown_path(path: Path) -> str:
    """Where a file is, for people: `(shipped) NAME` for one packaged with mlcc-ci, else
    relative to the working directory when inside it, else absolute (never `../../.venv/…`)."""
    full = Path(os.path.abspath(path))
    shipped = Path(os.path.abspath(data_path("catalog")))
    if shipped.parent.name == "_data" and full.is_relative_to(shipped):
        return f"(shipped) {full.relative_to(shipped).as_posix()}"
    try:
        return str(full.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(full)


class _Collector:
    def __init__(self) -> None:
        self.problems: list[tuple[str, int, str]] = []

    def add(self, path: Path, line: int, text: str) -> None:
        self.problems.append((printable(display(path)), line, printable(text)))

    def located(
        self, sources: "list[tuple[Path, Loaded]]", label: str, found: Iterable[schema.Problem]
    ) -> None:
        """Problems of a merged document, each at the file and line its value came from."""
        for p in found:
            path, line = locate(sources, p.path)
            self.add(path, line, f"{label} {schema.json_path(p.path)}: {p.message}")

    def sorted(self) -> list[str]:
        ordered = sorted(self.problems, key=lambda p: p[:2])  # stable: same line, found order
        return [f"{f}:{n}: {text}" if n else f"{f}: {text}" for f, n, text in ordered]


_PLACE = re.compile(r"(?P<file>.*?):(?:(?P<line>\d+):)? ")


def problem_order(problem: str) -> tuple[str, int]:
    """Sort key of a FILE:LINE: MESSAGE (or FILE: MESSAGE) line: by file, then line number."""
    found = _PLACE.match(problem)
    return (found["file"], int(found["line"] or 0)) if found else (problem, 0)


def locate(sources: list[tuple[Path, Loaded]], path: tuple[str | int, ...]) -> tuple[Path, int]:
    """Where the value at `path` of a merged document was written: the source (first wins a
    tie) that names the longest part of the path."""
    best, depth = sources[0], -1
    for source in sources:
        known = len(path)
        while known and path[:known] not in source[1].lines:
            known -= 1
        if known > depth:
            best, depth = source, known
    return best[0], line_of(best[1].lines, path)


SHIPPED = "mlcc-ci"  # `extends: mlcc-ci`: the defaults of the installed mlcc-ci


def _defaults(
    path: Path, out: _Collector
) -> tuple[dict[str, Any] | None, list[tuple[Path, Loaded]]]:
    """The defaults (None when broken) and where their values were written: a team's file
    that `extends: mlcc-ci` is merged over the shipped one, overriding only what it names."""
    loaded = _load_mapping(path, out)
    if loaded is None:
        return None, []
    sources = [(path, loaded)]
    data = loaded.data
    parent = data.get("extends")
    if parent is not None:
        if parent != SHIPPED:
            line = loaded.lines.get(("extends",), 1)
            out.add(path, line, f"defaults $.extends: can only be '{SHIPPED}', not {parent!r}")
            return None, sources
        shipped_path = data_path("catalog") / DEFAULTS_FILE
        shipped = _load_mapping(shipped_path, out)
        if shipped is None:
            return None, sources
        sources.append((shipped_path, shipped))
        data = merge(shipped.data, {k: v for k, v in data.items() if k != "extends"})
    found = schema.problems(data, schema.DEFAULTS_SCHEMA)
    out.located(sources, "defaults", found)
    return (None if found else data), sources


def _load_mapping(path: Path, out: _Collector) -> Loaded | None:
    try:
        loaded = load_file(path)
    except YamlProblem as exc:
        line, _, message = str(exc).partition(": ")
        out.add(path, int(line), message)
        return None
    if not isinstance(loaded.data, dict):
        out.add(path, 1, f"expected a mapping at the top level, got {_kind(loaded.data)}")
        return None
    return loaded


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def _own_file_problem(path: Path, out: _Collector) -> None:
    """A `_`-file of a catalog folder that mlcc-ci does not read: a misspelt own file is
    otherwise silently ignored (and so are the rules or defaults it was meant to hold)."""
    if path.name in OWN_FILES + _PACKED:
        return
    close = difflib.get_close_matches(path.name, OWN_FILES, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"its own are {', '.join(OWN_FILES)}"
    out.add(path, 0, f"not a file mlcc-ci reads ({hint}); entries never begin with _")


def _files(paths: Iterable[Path], out: _Collector, in_use: bool = False) -> tuple[list[Path], Path]:
    """The entry files of `paths` and the defaults file they take. `in_use`: `paths` is the
    catalog commands read, which needs a _defaults.yaml or entries (rules alone are none)."""
    files: list[Path] = []
    defaults = catalog_dir() / DEFAULTS_FILE
    for path in paths:
        if path.is_dir():
            if (path / DEFAULTS_FILE).is_file():
                defaults = path / DEFAULTS_FILE
            # `_`-files are the catalog's own (_defaults.yaml, _failures.yaml), not entries
            found_files = sorted(path.glob("*.y*ml"))
            for found in found_files:
                if found.name.startswith("_"):
                    _own_file_problem(found, out)
                else:
                    files.append(found)
            if problem := not_a_catalog(path, DEFAULTS_FILE, found_files, in_use, shown_path(path)):
                out.add(path, 0, problem)
        elif path.is_file():
            if path.name == DEFAULTS_FILE:
                defaults = path
            elif path.name.startswith("_"):
                _own_file_problem(path, out)
            else:
                if (path.parent / DEFAULTS_FILE).is_file():
                    defaults = path.parent / DEFAULTS_FILE
                files.append(path)
        else:
            out.add(path, 0, f"no such file or folder{near(path)}")
    return files, defaults


def load_catalog(paths: Iterable[Path] | None = None) -> Catalog:
    """Load every entry, collecting every problem instead of stopping at the first."""
    out = _Collector()
    in_use = not paths
    files, defaults_path = _files(list(paths) if paths else [catalog_dir()], out, in_use)
    defaults: dict[str, Any] = {}
    defaults_ok = not defaults_path.is_file()  # no defaults file: entries must say everything
    sources: list[tuple[Path, Loaded]] = []
    if not defaults_ok:
        merged_defaults, sources = _defaults(defaults_path, out)
        if merged_defaults is not None:
            defaults, defaults_ok = merged_defaults, True
    base = inherited(defaults)

    catalog = Catalog(defaults=defaults, defaults_files=sources)
    seen: dict[str, tuple[Path, int]] = {}
    ids: dict[str, Entry] = {}
    for path in files:
        loaded = _load_mapping(path, out)
        if loaded is None:
            continue
        raw = loaded.data
        label = raw["name"] if isinstance(raw.get("name"), str) else path.stem
        found = schema.problems(raw, schema.ENTRY_SCHEMA)
        if not found and not defaults_ok:
            continue  # what it would inherit is broken: that problem is the one to show
        if not found:
            merged = merge(base, raw)
            found = schema.problems(merged, schema.ENTRY_SCHEMA, "/$defs/resolvedEntry")
        if found:
            # an inherited value's problem is shown where the defaults wrote it
            out.located([(path, loaded), *sources], label, found)
            continue
        entry = Entry(name=raw["name"], data=merged, path=path, lines=loaded.lines)
        name_line = loaded.lines.get(("name",), 1)
        if entry.name in seen:
            other, other_line = seen[entry.name]
            out.add(
                path,
                name_line,
                f"{label} $.name: duplicate name '{entry.name}' "
                f"(also in {display(other)}:{other_line})",
            )
            continue
        seen[entry.name] = (path, name_line)
        identity = entry.generator_identity
        if identity in ids:  # said on both files: either may be the one to change
            twin = ids[identity]
            for one, two in ((entry, twin), (twin, entry)):
                out.add(
                    one.path,
                    one.lines.get(("name",), 1),
                    f"{one.name} $: deploys the same thing as '{two.name}' "
                    f"({display(two.path)}): generator name, model, instance type, region "
                    "and target are all equal",
                )
            continue
        ids[identity] = entry
        found_rules = list(rule_problems(entry, defaults.get("rules", {})))
        # a supported entry is deployed: its names in AWS must fit (the stack's included)
        if entry.supported and (too_long := naming.entry_name_problem(entry.name, defaults)):
            found_rules.insert(0, (("name",), too_long))
        for rule_path, message in found_rules:
            where = f"{label} {schema.json_path(rule_path)}"
            # an inherited value breaks the rule where the defaults wrote it
            place, line = locate([(path, loaded), *sources], rule_path)
            out.add(place, line, f"{where}: {message}")
        catalog.entries.append(entry)
    catalog.problems = out.sorted()
    rank = {a: i for i, a in enumerate(ARCHITECTURE_ORDER)}
    catalog.entries.sort(key=lambda e: rank.get(e.data["architecture"], len(rank)))
    return catalog


def rule_problems(
    entry: Entry, rules: Mapping[str, Any]
) -> Iterable[tuple[tuple[str | int, ...], str]]:
    from mlcc_ci import instancetypes

    data = entry.data
    if unknown := instancetypes.problem(data["instanceType"], data["deploymentTarget"]):
        yield (("instanceType",), unknown)
    regions = rules.get("regions")
    if regions and data["region"] not in regions:
        yield (
            ("region",),
            (f"region '{data['region']}' is not one the defaults allow ({', '.join(regions)})"),
        )
    limit = rules.get("maxStageTimeoutSeconds")
    if limit:
        for stage, spec in data.get("stages", {}).items():
            timeout = spec.get("timeoutSeconds", 0)
            if timeout > limit:
                yield (
                    ("stages", stage, "timeoutSeconds"),
                    (f"{timeout}s exceeds the defaults' maxStageTimeoutSeconds {limit}"),
                )
    for key in data.get("parameters", {}):
        if is_secret(key):
            yield (
                ("parameters", key),
                (
                    f"{key} looks like a secret; secrets never go in the catalog (or the results "
                    "store): give them to the executor's environment instead"
                ),
            )
    until = (data.get("quarantine") or {}).get("until")
    if until:
        try:
            datetime.date.fromisoformat(until)
        except ValueError:
            yield (("quarantine", "until"), f"{until!r} is not a day of the calendar (YYYY-MM-DD)")
    gpu = rules.get("gpuArchitectures", ())
    needs_gpu = entry.supported and data["architecture"] in gpu
    if needs_gpu and not data["instanceType"].startswith(GPU_FAMILIES):
        yield (
            ("instanceType",),
            (
                f"{data['architecture']} entries need a GPU instance "
                f"({', '.join(f + '*' for f in GPU_FAMILIES)}), not '{data['instanceType']}'"
            ),
        )


def load_valid_catalog(paths: Iterable[Path] | None = None) -> Catalog:
    catalog = load_catalog(paths)
    if catalog.problems:
        raise CatalogError(catalog.problems)
    return catalog
