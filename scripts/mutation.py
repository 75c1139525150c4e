"""make mutation: run mutmut over the core modules and print the mutation score of each.

    python scripts/mutation.py [--max-children N]   # a fresh run, then the table
    python scripts/mutation.py --report             # the table of the last run in mutants/
    python scripts/mutation.py --changed [--since REF]  # only the modules changed since the
                                                    # last release tag (make mutation-changed)
    python scripts/mutation.py --modules mlcc_ci/cost.py ...  # only these modules

Which modules are mutated and which tests run against each mutant is [tool.mutmut] in
pyproject.toml. Mutants a test run does not pass on count as killed: mutmut's "killed" and
"timeout" (a mutant that makes a test hang is caught). "survived" and "no tests" (no test of
the selection reaches the mutated function) count against the score. Mutants that cannot
change behaviour are listed, with the reason, in tests/mutation-equivalent.txt; the table
shows the raw score and the score without them. Exit 1 when a module's score without the
listed equivalents is under TARGET, or a listed mutant no longer survives or no longer
exists (the list would then be stale).
"""

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"
WALL_TIME = MUTANTS / "mutation-wall-time.txt"
SELECTED = MUTANTS / "mutation-modules.txt"  # a run of some modules only: which (for --report)
TARGET = 90.0

# mutmut's exit codes (mutmut.stats.status_by_exit_code), as this report counts them.
KILLED = {1, 3, 37}
TIMEOUT = {36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class Module:
    path: str
    status: dict[str, str] = field(default_factory=dict)  # mutant name -> status

    def count(self, status: str) -> int:
        return sum(1 for s in self.status.values() if s == status)


def status_of(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return f"other ({code})"


def modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["only_mutate"])


# Release tags, as the release workflow takes them (v*) and README's "Releasing" makes them.
RELEASE_TAGS = "v[0-9]*"


def git(root: Path, *args: str) -> str | None:
    """git's output in root, or None when git fails (no such tag, not a repository)."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def last_release_tag(root: Path = ROOT) -> str | None:
    return git(root, "describe", "--tags", "--abbrev=0", "--match", RELEASE_TAGS)


def changed_paths(base: str, root: Path = ROOT) -> list[str]:
    """Files that differ from base: committed since, staged, unstaged, and untracked ones."""
    diff = git(root, "diff", "--name-only", base, "--")
    if diff is None:
        raise SystemExit(f"mutation: git diff against {base!r} failed (no such commit?)")
    untracked = git(root, "ls-files", "--others", "--exclude-standard") or ""
    return [line for line in (diff + "\n" + untracked).splitlines() if line]


def changed_modules(changed: list[str], mutated: list[str]) -> list[str]:
    """The modules of [tool.mutmut] only_mutate (mutated, in its order) that are among the
    changed paths (relative to the repository, as git prints them)."""
    touched = {PurePosixPath(path).as_posix() for path in changed}
    return [module for module in mutated if PurePosixPath(module).as_posix() in touched]


def mutant_patterns(module: str) -> list[str]:
    """What `mutmut run` is given to test only this module's mutants: mutmut names a mutant
    after the module, then x_FUNCTION or xǁCLASSǁMETHOD (a package's __init__ is left out)."""
    dotted = PurePosixPath(module).with_suffix("").as_posix().replace("/", ".")
    dotted = dotted.removesuffix(".__init__")
    return [f"{dotted}.x_*", f"{dotted}.xǁ*"]


def select(args: argparse.Namespace, mutated: list[str], root: Path = ROOT) -> list[str]:
    """The modules to mutate for --modules or --changed, saying why on stdout."""
    if args.modules:
        unknown = [m for m in args.modules if m not in mutated]
        if unknown:
            raise SystemExit(f"mutation: not in [tool.mutmut] only_mutate: {', '.join(unknown)}")
        return list(args.modules)
    base = args.since or last_release_tag(root)
    if base is None:
        print(
            f"mutation-changed: no release tag ({RELEASE_TAGS}) in this repository: every module"
            " of [tool.mutmut] counts as changed (SINCE=REF compares with REF instead)"
        )
        return mutated
    chosen = changed_modules(changed_paths(base, root), mutated)
    print(f"mutation-changed: modules changed since {base}: {', '.join(chosen) or 'none'}")
    return chosen


def load(path: str) -> Module:
    meta = MUTANTS / (path + ".meta")
    module = Module(path)
    if meta.exists():
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        module.status = {name: status_of(code) for name, code in codes.items()}
    return module


def equivalents(path: Path = EQUIVALENT) -> dict[str, str]:
    """Mutant name -> why it cannot change behaviour. One mutant a line: the name, then the
    reason; blank lines and lines starting with '#' are comments."""
    listed = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}:{number}: {name} is listed without a reason")
        listed[name] = reason.strip()
    return listed


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


def report(wall: str | None, only: list[str] | None = None) -> int:
    listed = equivalents()
    if only is not None:  # some modules only: their listed equivalents only
        patterns = [p for module in only for p in mutant_patterns(module)]
        listed = {n: r for n, r in listed.items() if any(fnmatch.fnmatch(n, p) for p in patterns)}
    found = [load(path) for path in (modules() if only is None else only)]
    header = ("module", "mutants", "killed", "timeout", "survived", "no tests", "equiv.")
    header += ("score %", "w/o equiv. %")
    rows, problems = [], []
    totals = [0] * 6
    every = {name: status for m in found for name, status in m.status.items()}
    for name in listed:
        if name not in every:
            problems.append(f"listed as equivalent but no such mutant: {name}")
        elif every[name] != "survived":
            problems.append(f"listed as equivalent but {every[name]}: {name}")
    for m in found:
        total = len(m.status)
        if not total:
            problems.append(f"{m.path}: no results in {MUTANTS.name}/ (run make mutation)")
        unchecked = m.count("not checked")
        if unchecked:
            problems.append(f"{m.path}: {unchecked} mutants not checked (an interrupted run)")
        caught = m.count("killed") + m.count("timeout")
        equiv = sum(1 for n in m.status if n in listed and m.status[n] == "survived")
        not_killed = m.count("survived") + m.count("no tests")
        counts = [total, m.count("killed"), m.count("timeout"), m.count("survived")]
        counts += [m.count("no tests"), equiv]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        rows.append([m.path, *counts, percent(caught, total), percent(caught, total - equiv)])
        if total and 100 * caught / max(total - equiv, 1) < TARGET:
            problems.append(f"{m.path}: {not_killed - equiv} mutants not killed, under {TARGET}%")
    caught = totals[1] + totals[2]
    rows.append(["overall", *totals, percent(caught, totals[0])])
    rows[-1].append(percent(caught, totals[0] - totals[5]))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
    if wall:
        print(f"wall time: {wall}")
    others = sorted(
        n
        for n, s in every.items()
        if s.startswith("other") or (s == "survived" and n not in listed) or s == "no tests"
    )
    if others:
        print("\nnot killed (mutmut show NAME for the diff):")
        for name in others:
            print(f"  {name}: {every[name]}")
    for problem in problems:
        print(f"mutation: {problem}", file=sys.stderr)
    return 1 if problems else 0


def run(max_children: int, only: list[str] | None = None) -> str:
    """A fresh mutmut run: of every module, or of the mutants of only these (mutmut still
    generates every module's mutants, in seconds, and tests only those it is given)."""
    shutil.rmtree(MUTANTS, ignore_errors=True)  # a fresh run: nothing cached from before
    mutmut = Path(sys.executable).with_name("mutmut")
    names = [] if only is None else [p for module in only for p in mutant_patterns(module)]
    start = time.monotonic()
    command = [str(mutmut), "run", "--max-children", str(max_children), *names]
    subprocess.run(command, cwd=ROOT, check=True)
    seconds = round(time.monotonic() - start)
    wall = f"{seconds // 60} min {seconds % 60} s ({max_children} workers)"
    if only is not None:
        wall += f", {len(only)} of {len(modules())} modules"
        SELECTED.write_text("".join(m + "\n" for m in only), encoding="utf-8")
    WALL_TIME.write_text(wall + "\n", encoding="utf-8")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only print the last run's table")
    parser.add_argument("--max-children", type=int, default=2)
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--modules", nargs="+", metavar="PATH", help="only these modules of [tool.mutmut]"
    )
    which.add_argument(
        "--changed",
        action="store_true",
        help="only the modules changed since the last release tag (v*), or --since REF;"
        " every module when there is no such tag",
    )
    parser.add_argument("--since", metavar="REF", help="with --changed: compare with REF")
    args = parser.parse_args()
    if args.since and not args.changed:
        parser.error("--since goes with --changed")
    if args.report:
        wall = WALL_TIME.read_text(encoding="utf-8").strip() if WALL_TIME.exists() else None
        only = SELECTED.read_text(encoding="utf-8").split() if SELECTED.exists() else None
        return report(wall, only)
    only = None
    if args.modules or args.changed:
        only = select(args, modules())
        if not only:
            print("mutation-changed: nothing to mutate")
            return 0
        if only == modules():
            only = None  # every module: the same as make mutation
    return report(run(args.max_children, only), only)


if __name__ == "__main__":
    sys.exit(main())
