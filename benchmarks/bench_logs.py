"""Cost of `mlcc-ci logs` on a log of one long line: 10, 20, 40 and 80 MB without a newline,
as a progress bar that redraws itself with CR writes it, and as one plain line. Each goes
through what the command runs: the stage's lines (`logs.stage_lines`, or `logs.follow` for
`logs -f`), each made safe to print (`Cleaner.line`). The time should grow with the size,
not with its square (issue 31: 0.7 / 2.8 / 11 / 42 s before).

Run: .venv/bin/python benchmarks/bench_logs.py [MB ...]   (target: linear, under 1 s at 80 MB)
"""

import sys
import tempfile
import time
from pathlib import Path

from mlcc_ci import logs

SIZES = [int(a) for a in sys.argv[1:]] or [10, 20, 40, 80]
MB = 1024 * 1024


def progress(size: int) -> bytes:
    """`size` bytes of a progress bar redrawn with CR, no newline."""
    step = b"downloading model.safetensors %8d of 99999999\r"
    return step * (size // len(step))


def plain(size: int) -> bytes:
    return b"x" * size


def timed(path: Path, follow: bool) -> tuple[float, int]:
    cleaner = logs.Cleaner()
    started = time.perf_counter()
    lines = logs.follow(path, lambda: False) if follow else logs.stage_lines(path)
    shown = sum(len(cleaner.line(line)) for line in lines)
    return time.perf_counter() - started, shown


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "logs" / "build.log"
        path.parent.mkdir()
        for label, make in (("CR progress", progress), ("plain line", plain)):
            for mode in ("logs", "logs -f"):
                first = None
                for size in SIZES:
                    path.write_bytes(make(size * MB))
                    elapsed, shown = timed(path, mode == "logs -f")
                    first = first or elapsed / size
                    print(
                        f"{label:11} {mode:7} {size:3d} MB: {elapsed:7.3f} s  "
                        f"({elapsed / size / first:4.1f}x the first's time per MB, "
                        f"{shown} characters shown)"
                    )


if __name__ == "__main__":
    main()
