"""A store of 1,000 configurations × 50 runs: time to read it, and what each format adds.

Read = every record (paginated) and each one's last 50 runs from SQLite.
Render = building the report model from that data plus writing the format.
Run: .venv/bin/python benchmarks/bench_report.py [CONFIGS] [RUNS]
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run, StageResult
from mlcc_ci.report import render
from mlcc_ci.report.data import read
from mlcc_ci.report.model import build_report
from mlcc_ci.stores.sqlite import SqliteStore

CONFIGS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 50
REPEAT = 3


def populate(store: SqliteStore) -> None:
    conn = store._connect()
    conn.execute("BEGIN")
    for c in range(CONFIGS):
        cid = f"{c:016x}"
        status = "pass" if c % 7 else "fail-build"
        stages = {
            "generate": StageResult("pass", 10.0, "/l/g.log"),
            "build": StageResult(
                "pass" if c % 7 else "fail",
                300.0,
                "/l/b.log",
                "" if c % 7 else "error: " + "x" * 480,
            ),
        }
        record = Record(
            configId=cid,
            configJson=json.dumps({"projectName": f"p{c}"}),
            deploymentConfig=f"config-{c:04d}",
            buildStrategy="codebuild-submit",
            projectName=f"p{c}",
            createdAt="2026-01-01T00:00:00Z",
            source="catalog",
            version=RUNS + 1,
            testStatus=status,
            lastTestTimestamp="2026-03-01T00:00:00Z",
            lastTestDuration=900.0,
            stageResults=stages,
            profile="default",
        )
        conn.execute("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)", store._row_values(record))
        for r in range(RUNS):
            run = Run(
                configId=cid,
                startedAt=f"2026-01-01T00:{r // 60:02d}:{r % 60:02d}.000Z",
                runId=f"{c}-{r}",
                finishedAt="2026-01-02T00:00:00Z",
                status="pass" if (r + c) % 5 else "fail-deploy_test",
                durationSeconds=900.0,
                deploymentConfig=f"config-{c:04d}",
                stageResults=stages,
            )
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?)", (cid, run.startedAt, json.dumps(run.to_item()))
            )
    conn.execute("COMMIT")


def timed(fn):  # median of REPEAT
    samples, result = [], None
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> None:
    entries = load_valid_catalog().entries
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db")
        populate(store)
        read_time, (records, history, _) = timed(lambda: read(store))
        now = clock.now()
        model_time, report = timed(lambda: build_report(entries, records, history, now))
        print(f"{CONFIGS} configurations x {RUNS} runs")
        print(f"read (records + history)   {read_time * 1e3:8.1f} ms")
        print(f"build report model         {model_time * 1e3:8.1f} ms")
        for fmt in render.FORMATS:
            fmt_time, body = timed(lambda fmt=fmt: render.render(report, fmt))
            added = (model_time + fmt_time) / read_time * 100
            print(
                f"render {fmt:<9}           {fmt_time * 1e3:8.1f} ms  model+render adds "
                f"{added:5.1f}% to the read (budget 20%)  {len(body.encode()) / 1024:7.0f} KiB"
            )
        store.close()


if __name__ == "__main__":
    main()
