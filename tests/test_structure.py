"""The package keeps its shape (STYLE.md; issue 33, item 5): no module under mlcc_ci/ over 500
lines and no class over 350, no circle among its imports (those at module level, inside
functions and under `if TYPE_CHECKING:` alike), and no command module (cli/*_cmd.py) importing another: what two
commands share lives in the layer below them (cli/options.py, cli/opening.py, ...).

A few lines over `ast`, as import-linter would read the imports: `from a.b import c` is an
import of the module a.b.c when there is one, else of a.b; a package's own __init__ is not
counted as imported by its submodules' imports."""

import ast
import functools
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parent.parent / "mlcc_ci"
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 350
COMMAND = re.compile(r"\.cli\.\w+_cmd$")


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under the package (a package by its
    __init__)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def parsed(path: Path) -> tuple[int, ast.Module]:
    """A module's line count and syntax tree, read once while the file stays as it is."""
    stat = path.stat()
    return _parsed(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _parsed(path: Path, mtime: int, size: int) -> tuple[int, ast.Module]:
    text = path.read_text(encoding="utf-8")
    return len(text.splitlines()), ast.parse(text)


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that the module `name` imports, anywhere in it."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(parsed(path)[1]):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package, up level - 1
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:  # import a.b.c of a module a.b: a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(package: Path) -> dict[str, set[str]]:
    found = modules(package)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[str]:
    """A circle through each group of modules that import each other, as a path that ends
    where it starts, and the whole group when the circle does not pass all of it."""
    found = []
    for group in tangles(edges):
        path = _circle(sorted(group)[0], group, edges)
        rest = f" (each of these reaches the others: {', '.join(sorted(group))})"
        found.append(" -> ".join(path) + (rest if len(group) >= len(path) else ""))
    return found


def tangles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other, directly or not (Tarjan's strongly
    connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # the package's graph is shallow enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def _circle(start: str, group: set[str], edges: dict[str, set[str]]) -> list[str]:
    """The shortest path from start back to start within its group (breadth first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError(f"no circle through {start}")  # a group always has one


def long_modules(package: Path) -> list[str]:
    return [
        f"{name}: {lines} lines"
        for name, path in modules(package).items()
        if (lines := parsed(path)[0]) > MAX_MODULE_LINES
    ]


def long_classes(package: Path) -> list[str]:
    found = []
    for name, path in modules(package).items():
        for node in ast.walk(parsed(path)[1]):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = (node.end_lineno or node.lineno) - start + 1
                if lines > MAX_CLASS_LINES:
                    found.append(f"{name}.{node.name}: {lines} lines")
    return found


def command_imports(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{name} imports {target}"
        for name, targets in sorted(edges.items())
        if COMMAND.search(name)
        for target in sorted(targets)
        if COMMAND.search(target)
    ]


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    return graph(PACKAGE)


def test_no_module_is_over_500_lines():
    found = long_modules(PACKAGE)
    assert not found, f"over {MAX_MODULE_LINES} lines:\n" + "\n".join(found)


def test_no_class_is_over_350_lines():
    found = long_classes(PACKAGE)
    assert not found, f"classes over {MAX_CLASS_LINES} lines:\n" + "\n".join(found)


def test_no_modules_import_each_other_in_a_circle(imports):
    found = circles(imports)
    assert not found, "import circles:\n" + "\n".join(found)


def test_no_command_module_imports_another(imports):
    found = command_imports(imports)
    assert not found, "command modules importing command modules:\n" + "\n".join(found)


def test_the_checks_find_what_they_look_for(tmp_path):
    """Each check names an offender in a made-up package: a circle closed by an import inside
    a function and a relative one, a command importing another, a long module and class."""
    pkg = tmp_path / "pkg"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import os\nfrom pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import c\n")
    (pkg / "c.py").write_text("from . import a\n" + "x = 1\n" * MAX_MODULE_LINES)
    (pkg / "d.py").write_text("from pkg.a import thing\nimport pkg.b\n")
    body = "    x = 1\n" * MAX_CLASS_LINES
    (pkg / "cli" / "one_cmd.py").write_text(f"class Big:\n{body}\nclass Small:\n    x = 1\n")
    (pkg / "cli" / "two_cmd.py").write_text("def f():\n    from ..cli.one_cmd import Big\n")
    (pkg / "cli" / "layer.py").write_text("from pkg.cli import one_cmd\n")

    edges = graph(pkg)
    assert edges["pkg.d"] == {"pkg.a", "pkg.b"}
    assert edges["pkg.cli.layer"] == {"pkg.cli.one_cmd"}
    assert circles(edges) == ["pkg.a -> pkg.b -> pkg.c -> pkg.a"]
    edges["pkg.b"].add("pkg.a")  # a shorter circle: the group is named whole
    assert circles(edges) == [
        "pkg.a -> pkg.b -> pkg.a (each of these reaches the others: pkg.a, pkg.b, pkg.c)"
    ]
    assert command_imports(edges) == ["pkg.cli.two_cmd imports pkg.cli.one_cmd"]
    assert long_modules(pkg) == [f"pkg.c: {MAX_MODULE_LINES + 1} lines"]
    assert long_classes(pkg) == [f"pkg.cli.one_cmd.Big: {MAX_CLASS_LINES + 1} lines"]
    (pkg / "c.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    (pkg / "cli" / "one_cmd.py").write_text(f"class Big:\n{body[:-10]}")
    assert circles(graph(pkg)) == [] and long_modules(pkg) == [] and long_classes(pkg) == []
