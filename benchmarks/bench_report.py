"""Reports at scale: CONFIGS configurations x RUNS runs of history, on SQLite and DynamoDB.

A record carries its last 20 runs (stage timings and cost), so a report reads the records
and nothing else. Printed, SQLite:
  raw rows      SELECT of the stored items, not decoded (what the disk gives)
  bare read     the rows the report shows, read as the report reads them (report.data.read:
                the records, decoded, the runs they carry apart and not yet decoded; the
                cyclic collector paused, as there); its ratio to the raw rows (budget 3x)
  report FMT    read + model + render, per format (the carried runs decoded as the model
                asks); the ratio to the bare read, and its size (budget for HTML: 5 MiB at
                10,000 configurations: rows beyond the first screen and histories as data)
  legacy        records that carry no runs (written before, or by another tool): their
                history read in batches, against one query per record as before
DynamoDB (moto, in-process): the same report's requests per configuration, and the legacy
path's (one Query per record: DynamoDB has no query across partitions), the latter over
500 configurations, as moto's Query walks the whole table.

Run: .venv/bin/python benchmarks/bench_report.py [--configs 10000] [--runs 50]
     [--moto-configs 10000] [--moto-runs 50]
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlcc_ci import clock
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import RECENT_RUNS, Cost, Record, Run, StageResult
from mlcc_ci.report import render
from mlcc_ci.report.data import collector_paused, load_report, read
from mlcc_ci.report.model import HISTORY_STRIP
from mlcc_ci.stores import decodedform
from mlcc_ci.stores.sqlite import SqliteStore, item_text

REPEAT = 3
TIMINGS = {
    "generate": 20.0,
    "validate": 5.0,
    "build": 600.0,
    "deploy_test": 900.0,
    "register": 1.0,
    "teardown": 120.0,
}


def timed(fn, repeat=REPEAT):
    """Median seconds of `repeat` calls, each counted until its result is let go (so a
    bare read and a report pay alike for freeing what they built); then one more call,
    not timed, for the result."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # its result is dropped here, inside the measurement
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), fn()


def items(c: int, runs: int) -> tuple[dict, list[dict]]:
    """One configuration's record item (carrying its last runs) and its history items."""
    cid = f"{c:016x}"
    name = f"config-{c:05d}"
    history = []
    for r in range(runs):
        failed = (r + c) % 5 == 0
        stages = {
            k: StageResult(
                "fail" if failed and k == "deploy_test" else "pass",
                v,
                f"/work/{name}/{k}.log",
                "endpoint never InService after " + "x" * 400
                if failed and k == "deploy_test"
                else "",
            )
            for k, v in TIMINGS.items()
        }
        history.append(
            Run(
                configId=cid,
                startedAt=f"2026-01-{1 + r // 24:02d}T{r % 24:02d}:00:00.000Z",
                runId=f"{c}-{r}",
                finishedAt=f"2026-01-{1 + r // 24:02d}T{r % 24:02d}:30:00Z",
                status="fail-deploy_test" if failed else "pass",
                durationSeconds=1646.0,
                deploymentConfig=name,
                stageResults=stages,
                errorMessage="deploy_test failed" if failed else "",
                estimatedCost=Cost(1.97, "30 min BUILD_GENERAL1_LARGE, 0.25 h ml.g6.12xlarge"),
            )
        )
    newest = history[::-1]
    last = newest[0]
    record = Record(
        configId=cid,
        configJson=json.dumps(
            {
                "projectName": f"p{c}",
                "deploymentConfig": name,
                "architecture": ("transformers", "triton", "http")[c % 3],
                "instanceType": "ml.g6.12xlarge",
                "awsRegion": "us-east-1",
            }
        ),
        deploymentConfig=name,
        buildStrategy="codebuild-submit",
        projectName=f"p{c}",
        createdAt="2025-12-01T00:00:00Z",
        source="catalog",
        version=runs * 2 + 1,
        testStatus=last.status,
        lastTestTimestamp=last.finishedAt,
        lastTestDuration=1646,
        stageResults=last.stageResults,
        errorMessage=last.errorMessage or None,
        lastPassTimestamp=next((r.finishedAt for r in newest if r.passed), None),
        previousStatus=newest[1].status if runs > 1 else "untested",
        profile="default",
        estimatedCost=last.estimatedCost,
        recentRuns=tuple(r.summary() for r in newest[:RECENT_RUNS]),
    )
    return record.to_item(), [r.to_item() for r in history]


def report(store, catalog, fmt: str) -> str:
    """What `mlcc-ci report --format FMT` does once the store is open."""
    with collector_paused():
        return render.render(load_report(store, catalog, clock.now()), fmt)


def populate_sqlite(path: Path, configs: int, runs: int, made=None) -> None:
    """`configs` records of `runs` runs each, written as the store writes them; `made(c,
    runs)` gives configuration c's record and history items (default: items)."""
    store = SqliteStore(path)
    store.create_tables()
    conn = store._connect()
    conn.execute("BEGIN")
    for c in range(configs):
        record, history = (made or items)(c, runs)
        text = item_text(record)  # as the store writes it, with the record as read beside it
        conn.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
            (
                record["configId"],
                record["testStatus"],
                record["lastTestTimestamp"],
                record["version"],
                None,
                text,
            ),
        )
        decodedform.keep(conn, record["configId"], text)
        conn.executemany(
            "INSERT INTO runs VALUES (?, ?, ?)",
            [(h["configId"], h["startedAt"], json.dumps(h)) for h in history],
        )
    conn.execute("COMMIT")
    store.close()


def sqlite_figures(configs: int, runs: int) -> None:
    catalog = load_valid_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        populate_sqlite(path, configs, runs)
        print(
            f"SQLite: {configs:,} configurations x {runs} runs "
            f"(populated in {time.perf_counter() - t0:.0f} s)"
        )
        store = SqliteStore(path)
        conn = store._connect()
        raw, rows = timed(lambda: conn.execute("SELECT item FROM records").fetchall())
        bare, (records, carried, _) = timed(lambda: read(store))
        count = len(records)
        shown = sum(len(carried.get(r.configId) or r.recentRuns) for r in records)
        del records, carried  # each measurement holds only what it reads
        print(f"  raw rows         {raw * 1e3:8.0f} ms  {len(rows):,} records")
        print(
            f"  bare read        {bare * 1e3:8.0f} ms  {bare / raw:5.2f}x the raw rows (budget 3x)  "
            f"{count:,} records carrying {shown:,} runs"
        )
        for fmt in ("html", "json", "markdown", "text"):
            spent, body = timed(lambda fmt=fmt: report(store, catalog, fmt))
            budget = "  (budget 5 MiB)" if fmt == "html" else ""
            print(
                f"  report {fmt:<9} {spent * 1e3:8.0f} ms  {spent / bare:5.2f}x the bare read  "
                f"{spent / raw:5.2f}x the raw rows  {len(body.encode()) / 2**20:6.1f} MiB{budget}"
            )
        store.close()

        # the legacy path: the same store, records stripped of the runs they carry
        legacy_path = Path(tmp) / "legacy.db"
        shutil.copy(path, legacy_path)
        legacy = SqliteStore(legacy_path)
        with legacy._write() as c:
            c.execute("UPDATE records SET item = json_remove(item, '$.recentRuns')")
        batched, (_, history, _) = timed(lambda: read(legacy), repeat=1)
        ids = list(history)

        def one_by_one():
            return {i: legacy.history(i, limit=HISTORY_STRIP) for i in ids}

        per_record, _ = timed(one_by_one, repeat=1)
        print(
            f"  legacy read      {batched * 1e3:8.0f} ms  records + history in batches of "
            f"500; one query per record: {per_record * 1e3:.0f} ms "
            f"({per_record / batched:.2f}x)"
        )
        legacy.close()


def moto_figures(configs: int, runs: int, *, legacy: bool = False) -> None:
    """The report's DynamoDB requests per configuration; `legacy`: records that carry no
    runs of their own, so their history is read (one Query each)."""
    import boto3
    from boto3.dynamodb.types import TypeSerializer
    from moto import mock_aws

    from mlcc_ci.stores.dynamodb import DynamoStore

    serialize = TypeSerializer().serialize
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoStore(
            client, table="mlcc-ci-table", runs_table="mlcc-ci-runs", region="us-east-1"
        )
        store.create_tables()
        t0 = time.perf_counter()
        batches: dict[str, list] = {store.table: [], store.runs_table: []}

        def put(table: str, item: dict) -> None:
            plain = json.loads(json.dumps(item), parse_float=__import__("decimal").Decimal)
            batches[table].append(
                {"PutRequest": {"Item": {k: serialize(v) for k, v in plain.items()}}}
            )
            if len(batches[table]) == 25:  # DynamoDB's limit (moto would take 26)
                client.batch_write_item(RequestItems={table: batches[table]})
                batches[table] = []

        for c in range(configs):
            record, history = items(c, runs)
            if legacy:
                del record["recentRuns"]
            put(store.table, record)
            for h in history:
                put(store.runs_table, h)
        for table, left in batches.items():
            if left:
                client.batch_write_item(RequestItems={table: left})
        kind = "records without their runs" if legacy else "records carrying their runs"
        print(
            f"DynamoDB (moto, in-process): {configs:,} configurations x {runs} runs, {kind} "
            f"(populated in {time.perf_counter() - t0:.0f} s)"
        )
        store.requests = 0
        start = time.perf_counter()
        render.html(load_report(store, load_valid_catalog(), clock.now()))
        spent = time.perf_counter() - start
        print(
            f"  report html      {spent * 1e3:8.0f} ms  {store.requests} requests: "
            f"{store.requests / configs:.4f} per configuration"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--moto-configs", type=int, default=10_000)
    parser.add_argument("--moto-runs", type=int, default=50)
    args = parser.parse_args()
    if args.configs:
        sqlite_figures(args.configs, args.runs)
        sys.stdout.flush()
    if args.moto_configs:
        moto_figures(args.moto_configs, args.moto_runs)
        # moto's Query walks every item of the table: one per record over 500,000 items
        # would not finish. Requests per configuration do not depend on the size.
        moto_figures(min(args.moto_configs, 500), min(args.moto_runs, 10), legacy=True)


if __name__ == "__main__":
    main()
