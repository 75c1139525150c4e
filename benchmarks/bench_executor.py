"""Local executor: overhead per stage over a bare subprocess, and --jobs 4 against --jobs 1.

Run: .venv/bin/python benchmarks/bench_executor.py
"""

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.executors.local import LocalExecutor
from mlcc_ci.lifecycle import Runner
from mlcc_ci.matrix import claim_all, run_all
from mlcc_ci.profiles import load_profile
from mlcc_ci.registration import from_entry
from mlcc_ci.stores.sqlite import SqliteStore

ROUNDS = 200
SLEEP = 0.3


def overhead(tmp: Path) -> None:
    command = "true"
    bare, harnessed = [], []
    executor = LocalExecutor()
    env = dict(os.environ)
    for i in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(
            ["bash", "-c", command],
            cwd=tmp,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = executor.run(command, cwd=tmp, env=env, timeout=60, log=tmp / f"s{i}.log")
        harnessed.append(time.perf_counter() - start)
        assert result.ok
    b, h = statistics.median(bare) * 1e3, statistics.median(harnessed) * 1e3
    print(f"bare subprocess            {b:7.2f} ms/stage (median of {ROUNDS})")
    print(f"LocalExecutor.run          {h:7.2f} ms/stage  overhead {h - b:+.2f} ms (budget 15 ms)")


def matrix(tmp: Path, jobs: int) -> float:
    catalog = load_valid_catalog()
    profile = load_profile(catalog, "example")
    slow = {name: {"command": f"sleep {SLEEP}"} for name in ("build", "deploy_test")}
    profile = replace(profile, stages={**profile.stages, **slow})
    store = SqliteStore(tmp / f"jobs{jobs}.db")
    entries = [e for e in catalog.entries if e.supported][:8]
    for entry in entries:
        store.register(from_entry(entry), clock.iso(clock.now()))
    claimed, _ = claim_all(store, [store.get(e.config_id) for e in entries], catalog)
    runner = Runner(store, profile, work_root=tmp / f"work{jobs}")
    start = time.perf_counter()
    reports = run_all(runner, claimed, jobs)
    elapsed = time.perf_counter() - start
    assert all(r.status == "pass" for r in reports), [r.status for r in reports]
    store.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        overhead(Path(tmp))
        one = matrix(Path(tmp), 1)
        four = matrix(Path(tmp), 4)
        print(
            f"8 configs, sleep-bound stages: --jobs 1 {one:.2f}s, --jobs 4 {four:.2f}s, "
            f"speed-up {one / four:.2f}x (budget >= 3x)"
        )


if __name__ == "__main__":
    main()
