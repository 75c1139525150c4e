"""Cost of the failure rules that hung a run with Python's `re` (issue 31, item 3), now that
RE2 matches them: each rule alone, as a team's `_failures.yaml` would hold it, classifying a
64 KB log of its near misses with one matching line at the end, through
`failures.classify` (the median of 5). The baseline is the same search with Python's `re`
(finditer to the last match, as the classification did), in a subprocess killed after 5 s.

Run: .venv/bin/python benchmarks/bench_rules.py   (target: under 100 ms each)
"""

import statistics
import subprocess
import sys
import time
from dataclasses import replace

from mlcc_ci import failures
from mlcc_ci.patterns import compile_pattern

SIZE = 64 * 1024
BASELINE_SECONDS = 5.0
TEN = "error:" + "[a-z ]{0,200}" * 10 + "(failed)"
# the same without a literal to start from: no prefix to skip to, every byte a possible start
TEN_BARE = "([a-z ]{0,200})" + "[a-z ]{0,200}" * 9 + "failed"


def _filled(line: str, last: str) -> str:
    return (line * (SIZE // len(line) + 1))[: SIZE - len(last) - 1] + "\n" + last + "\n"


# name: pattern, the 64 KB log it classifies
CASES = {
    "(x+x+)+y": ("(x+x+)+y", _filled("x" * 55 + "\n", "xxxxy")),
    "((?:[a-z]+ ?)+)failed": (
        "((?:[a-z]+ ?)+)failed",
        _filled("the quick brown fox jumps over the lazy\n", "the build failed"),
    ),
    "ten {0,200}": (TEN, _filled("error: " + "a b c d e " * 12 + "\n", "error: the deploy failed")),
    # one 64 KB line (a progress bar redrawn with \\r is one): the DFA's worst case
    "ten {0,200}, no literal": (TEN_BARE, _filled("step ok " * 12, "the deploy failed")),
}

BASELINE = """
import re, sys
pattern, text = sys.argv[1], sys.stdin.read()
last = None
for last in re.compile(pattern).finditer(text):
    pass
"""


def with_re2(pattern: str, text: str) -> tuple[float, failures.Classification]:
    shipped = failures.load_rules()[0]
    rule = replace(shipped, name="team-rule", pattern=compile_pattern(pattern))
    times = []
    for _ in range(5):
        started = time.perf_counter()
        found = failures.classify(None, text, (rule,))
        times.append(time.perf_counter() - started)
    return statistics.median(times), found


def with_python_re(pattern: str, text: str) -> float | None:
    """Seconds, or None past BASELINE_SECONDS (the subprocess is killed)."""
    started = time.perf_counter()
    try:
        subprocess.run(
            [sys.executable, "-c", BASELINE, pattern],
            input=text,
            text=True,
            check=True,
            timeout=BASELINE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - started


def main() -> None:
    print(f"one rule, a {SIZE // 1024} KB log of near misses ending in a match")
    for name, (pattern, text) in CASES.items():
        seconds, found = with_re2(pattern, text)
        baseline = with_python_re(pattern, text)
        if baseline is None:
            versus = f"Python re: >{BASELINE_SECONDS:g} s (killed)"
        else:
            versus = f"Python re: {baseline * 1000:.1f} ms, {baseline / seconds:.0f}x"
        print(
            f"  {name:24} RE2: {seconds * 1000:7.3f} ms  (target < 100 ms; capture "
            f"{found.capture!r})  {versus}"
        )


if __name__ == "__main__":
    main()
