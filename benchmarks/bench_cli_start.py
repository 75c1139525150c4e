"""Wall time of `mlcc-ci --help` against `python -c "import click"`, as a ratio.

Run: .venv/bin/python benchmarks/bench_cli_start.py [runs]
"""

import statistics
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 15


def timed(cmd: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    baseline = timed([sys.executable, "-c", "import click"])
    help_time = timed([sys.executable, "-m", "mlcc_ci", "--help"])
    validate = timed([sys.executable, "-m", "mlcc_ci", "catalog", "validate"])
    print(f"python -c 'import click'   {baseline * 1000:7.1f} ms (median of {RUNS})")
    print(
        f"mlcc-ci --help             {help_time * 1000:7.1f} ms  ratio {help_time / baseline:.2f}x"
    )
    print(f"mlcc-ci catalog validate   {validate * 1000:7.1f} ms  ratio {validate / baseline:.2f}x")


if __name__ == "__main__":
    main()
