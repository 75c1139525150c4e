"""Cost of classifying one failed run: 10,000 fixture-sized logs (every fixture, the
unmatched one among them) through `failures.classify_stage`, as the runner classifies a failed
stage when it records the run: the stage's stdout log, the stderr log beside it (holding the
fixture) and its error summary; the rules loaded once.

Run: .venv/bin/python benchmarks/bench_failures.py [logs]   (target: at most 5 ms a run)
"""

import sys
import tempfile
import time
from pathlib import Path

from mlcc_ci import failures

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "failures"
LOGS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


# What precedes the error in a long build log: the worst case reads a full 64 KB tail.
NOISE = b"#9 12.34 Downloading nvidia_cudnn_cu12-9.1.0.70-py3-none-manylinux2014_x86_64.whl\n"


def run(label: str, padding: bytes) -> None:
    rules = failures.load_rules()
    fixtures = sorted(FIXTURES.glob("*.log"))
    unmatched = 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(LOGS):  # one stage's logs per run, as each failed run has its own
            path = Path(tmp) / f"{i}.log"
            path.write_bytes(padding)
            stderr = path.with_suffix(".stderr.log")
            stderr.write_bytes(padding + fixtures[i % len(fixtures)].read_bytes())
            paths.append(path)
        sizes = [p.stat().st_size + p.with_suffix(".stderr.log").stat().st_size for p in paths]
        started = time.perf_counter()
        for path in paths:
            found = failures.classify_stage("any", path, "exit code 1", rules)
            unmatched += found.cls == failures.UNCLASSIFIED
        elapsed = time.perf_counter() - started
    print(
        f"{label}: {LOGS} logs ({len(fixtures)} fixtures, {len(rules)} rules, "
        f"{sum(sizes) / len(sizes) / 1024:.1f} KB on average, {unmatched} unclassified)"
    )
    print(f"  classify_stage: {elapsed * 1000 / LOGS:.3f} ms per failed run (target <= 5 ms)")


def main() -> None:
    run("fixture-sized", b"")
    run("64 KB tails", NOISE * (64 * 1024 // len(NOISE)))


if __name__ == "__main__":
    main()
