"""The catalog checked against the pinned generator: each supported entry's config against
the generator's parameters and, when it is installed, its required-parameter rules
(`catalog_problems`), and what the two disagree on (`drift`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mlcc_ci.generator import Parameters, check_config
from mlcc_ci.generator_required import missing_required


def _missing_path(entry: Any, key: str | None) -> tuple[str, ...]:
    """Where an entry would say a missing parameter: its own field, else generatorOptions."""
    from mlcc_ci.catalog import entry_path
    from mlcc_ci.resources import load_schema
    from mlcc_ci.schema import ENTRY_SCHEMA

    if key is None:
        return ()
    where = entry_path(entry, (key,))
    if where == (key,) and key not in load_schema(ENTRY_SCHEMA)["properties"]:
        return ("generatorOptions", key)
    return where


def catalog_problems(entries: Iterable[Any], params: Parameters) -> list[str]:
    """Each supported entry's generator config checked against the generator's parameters
    and, when it is installed, its required-parameter rules, as FILE:LINE: ENTRY JSON-PATH:
    MESSAGE lines sorted by file and line."""
    from mlcc_ci.catalog import display, entry_path, line_of, problem_order
    from mlcc_ci.schema import json_path

    supported = [e for e in entries if e.supported]
    offered = set(params.deployment_configs)
    missing = {}
    if params.installed is not None:  # an entry the generator does not offer is told so below
        checkable = [e for e in supported if e.config["deploymentConfig"] in offered]
        missing = missing_required(params.installed, {e.name: e.config for e in checkable})
    out = []
    for entry in supported:
        for path, message in check_config(entry.config, params):
            where = entry_path(entry, path)
            if where == ("name",):  # a renamed copy: its generatorName is the fix
                message += _variant_hint(entry, params.deployment_configs)
            text = f"{entry.name} {json_path(where)}: {message}"
            out.append(f"{display(entry.path)}:{line_of(entry.lines, where)}: {text}")
        for key, said in missing.get(entry.name, ()):
            where = _missing_path(entry, key)
            line = entry.lines.get(where[:1]) or entry.lines.get(("name",), 1)
            text = f"{entry.name} {json_path(where)}: generator {params.version} says: {said}"
            out.append(f"{display(entry.path)}:{line}: {text}")
    return sorted(out, key=problem_order)


def _variant_hint(entry: Any, offered: tuple[str, ...]) -> str:
    """For an entry whose name the generator does not offer: the configuration it is likely
    a variant of (its architecture and backend, else the closest name), to name it by."""
    import difflib

    guess = f"{entry.data.get('architecture')}-{entry.data.get('backend')}"
    if guess not in offered:
        guess = next(iter(difflib.get_close_matches(entry.name, offered, n=1)), "")
    if not guess:
        return "; if this entry is a variant of one of them, add `generatorName:` naming it"
    return f"; if this entry is a variant of '{guess}', add `generatorName: {guess}`"


@dataclass(frozen=True)
class Drift:
    """What a generator version has that the catalog does not say, and the reverse."""

    missing: list[str]  # the generator's configurations no entry names
    dropped: list[str]  # supported entries whose configuration the generator no longer has
    available: list[str]  # unsupported entries whose configuration the generator now has
    problems: list[str]  # supported entries' parameters the generator would refuse or ignore

    @property
    def breaking(self) -> bool:
        return bool(self.dropped or self.problems)


def drift(entries: list[Any], params: Parameters) -> Drift:
    offered = params.deployment_configs
    named = {e.generator_name for e in entries}
    return Drift(
        missing=[c for c in offered if c not in named],
        dropped=[e.name for e in entries if e.supported and e.generator_name not in offered],
        available=[e.name for e in entries if not e.supported and e.generator_name in offered],
        problems=catalog_problems(entries, params),
    )
