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


_catalog: Path | None = None  # a team's own catalog (--catalog, MLCC_CI_CATALOG)


def use_catalog(path: Path | None) -> None:
    global _catalog
    _catalog = path


def catalog_dir() -> Path:
    """The catalog commands read: a team's own if one was named, else the shipped one."""
    return _catalog or data_path("catalog")


@cache
def load_schema(name: str) -> dict[str, Any]:
    with (data_path("schema") / name).open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema
