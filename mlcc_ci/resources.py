"""Find the data that ships with the package: catalog, schemas, report templates, examples.

In a wheel they live in ``mlcc_ci/_data``; in a source checkout, beside the package.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    if installed.exists():
        return installed
    return _PACKAGE.parent / name


_catalog: Path | None = None  # a team's own catalog (--catalog, MLCC_CI_CATALOG, settings)
_catalog_source = ""


def use_catalog(path: Path | None, source: str = "") -> None:
    global _catalog, _catalog_source
    _catalog, _catalog_source = path, source


def catalog_dir() -> Path:
    """The catalog commands read: a team's own if one was named, else the shipped one."""
    if _catalog is None:
        return data_path("catalog")
    if not _catalog.is_dir():
        from mlcc_ci.errors import UsageError

        raise UsageError(
            f"catalog folder {_catalog}{_catalog_source} does not exist: "
            f"start one with `mlcc-ci catalog init {_catalog}`"
        )
    return _catalog


@cache
def load_schema(name: str) -> dict[str, Any]:
    with (data_path("schema") / name).open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema
