"""make mutation: run mutmut over the core modules and print the mutation score of each.

    python scripts/mutation.py [--max-children N]   # a fresh run, then the table
    python scripts/mutation.py --report             # the table of the last run in mutants/

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
import json
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"
WALL_TIME = MUTANTS / "mutation-wall-time.txt"
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


def report(wall: str | None) -> int:
    listed = equivalents()
    found = [load(path) for path in modules()]
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


def run(max_children: int) -> str:
    shutil.rmtree(MUTANTS, ignore_errors=True)  # a fresh run: nothing cached from before
    mutmut = Path(sys.executable).with_name("mutmut")
    start = time.monotonic()
    subprocess.run([str(mutmut), "run", "--max-children", str(max_children)], cwd=ROOT, check=True)
    seconds = round(time.monotonic() - start)
    wall = f"{seconds // 60} min {seconds % 60} s ({max_children} workers)"
    WALL_TIME.write_text(wall + "\n", encoding="utf-8")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="only print the last run's table")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    if args.report:
        wall = WALL_TIME.read_text(encoding="utf-8").strip() if WALL_TIME.exists() else None
    else:
        wall = run(args.max_children)
    return report(wall)


if __name__ == "__main__":
    sys.exit(main())
