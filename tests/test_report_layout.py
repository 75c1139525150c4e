"""The report package keeps its shape (issue 33, item 3): one module per format, render.py
only dispatching, Markdown laid out by a shipped jinja2 template as HTML is, and no module
of report/ importing one that imports it back (not even for type checking)."""

import ast
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from mlcc_ci.resources import data_path

REPO = Path(__file__).resolve().parent.parent
REPORT = REPO / "mlcc_ci" / "report"


def _imports(path: Path) -> set[str]:
    """The mlcc_ci.report modules `path` imports anywhere in it (in functions, under
    TYPE_CHECKING, `from mlcc_ci.report import x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m.removeprefix("mlcc_ci.report.") for m in found if m.startswith("mlcc_ci.report.")}


def test_no_report_module_imports_one_that_imports_it_back():
    modules = {p.stem for p in REPORT.glob("*.py") if p.stem != "__init__"}
    graph = {m: _imports(REPORT / f"{m}.py") & modules for m in modules}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or reaches(n, goal, seen | {n}) for n in graph[start] - seen)

    # the two that imported each other: model imports classes, classes not model
    assert "classes" in graph["model"] and "model" not in graph["classes"]
    assert sorted(m for m in modules if reaches(m, m, set())) == []


def test_render_only_dispatches_and_each_format_has_a_module():
    tree = ast.parse((REPORT / "render.py").read_text())
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["render", "view"]  # a report; one configuration (`report NAME`)
    for module in ("text", "jsondoc", "markdown", "page", "junit", "allure", "onetext"):
        assert (REPORT / f"{module}.py").is_file(), module
    sizes = {p.name: len(p.read_text().splitlines()) for p in REPORT.glob("*.py")}
    assert max(sizes.values()) < 500, sizes


def test_the_markdown_template_ships_beside_the_html_one():
    """Both are read from data_path("reports"), which the wheel carries whole."""
    assert (data_path("reports") / "report.md.j2").is_file()
    assert (data_path("reports") / "report.html.j2").is_file()
    hatch = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert hatch["targets"]["wheel"]["force-include"]["reports"] == "mlcc_ci/_data/reports"
    assert "reports" in hatch["targets"]["sdist"]["include"]


@pytest.mark.functional
def test_markdown_caps_each_name_and_its_reason_apart(tmp_path):
    """In `Not caused by this change`, a blocked configuration's name is capped as a cell
    and its reason apart: one cap over both would cut the reason off a long name."""
    from datetime import UTC, datetime

    from mlcc_ci.catalog import load_valid_catalog
    from mlcc_ci.report.data import load_report
    from mlcc_ci.report.markdown import MD_CELL_CHARS, markdown
    from mlcc_ci.stores.sqlite import SqliteStore
    from tests.reporting import classes_scenario

    store = SqliteStore(tmp_path / "c.db")
    names = ("http-flask", "http-fastapi", "triton-fil", "triton-python", "transformers-vllm")
    classes_scenario(store, names)
    report = load_report(store, load_valid_catalog(), datetime(2026, 2, 6, tzinfo=UTC))
    store.close()
    long = "triton-fil-" + "z" * 200
    configs = [
        replace(c, name=long) if c.name == "triton-fil" else c for c in report.configurations
    ]
    out = markdown(replace(report, configurations=configs))
    line = next(x for x in out.splitlines() if x.startswith("- **capacity**"))
    shown = long[: MD_CELL_CHARS - 1] + "…"
    assert f": {shown} (blocked since 2026-02-03 00:00 UTC, 1 run in a row)" in line
