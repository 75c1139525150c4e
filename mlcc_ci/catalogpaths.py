"""How catalog files and folders are named to people, and what a catalog folder must hold."""

import difflib
import os
from pathlib import Path

# A catalog folder's failure rules (failures.py reads them), and the team catalog's rules as
# they are packed beside the shipped ones in the stack's Lambda asset
RULES_FILE = "_failures.yaml"
PACKED_TEAM_RULES = "_team_failures.yaml"


def display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def near(path: Path) -> str:
    """A did-you-mean for a mistyped catalog file or folder next to real ones."""
    try:
        siblings = [p for p in path.parent.iterdir() if p.is_dir() or p.suffix in (".yaml", ".yml")]
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, [p.name for p in siblings], n=1)
    return f" (did you mean '{display(path.parent / close[0])}'?)" if close else ""


def not_a_catalog(
    folder: Path, defaults: str, found: list[Path], in_use: bool, shown: str
) -> str | None:
    """Why `folder` (its YAML files `found`; `shown` to people) is not a catalog, or None:
    it holds no `defaults` file and no entry files (an empty or wrong folder, the home
    folder). A folder of failure rules alone is checked when named (`catalog validate DIR`),
    but is no catalog to use (`in_use`: no entries, no profiles). Entries without defaults
    are a catalog, as before: they say everything themselves."""
    if (folder / defaults).is_file() or any(not f.name.startswith("_") for f in found):
        return None
    if found and not in_use:
        return None
    return (
        f"not a catalog: it holds no {defaults} and no entry files (NAME.yaml): start one "
        f"with `mlcc-ci catalog init {shown}`"
    )
