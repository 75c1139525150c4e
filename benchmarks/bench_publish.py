"""The published site at scale: CONFIGS configurations, each record carrying its last RUNS
runs (a pass in four, a blocked run now and then), on SQLite. Printed:
  assess       every configuration's confidence read from the store as `mlcc-ci publish`
               reads it (assessing.assess_store: the records, their history only where
               blocked runs crowd the window)
  publish      the site written (publish.site.publish_site): time, files, bytes
  index.html   its size against the budget (5 MiB at 10,000 configurations; issue 34): one
               lean row per configuration, the runs on each configuration's own page;
               gzip'd as a static host would serve it
  a page       a configuration's page, on average
Exits 1 when the index is over its budget.

Run: .venv/bin/python benchmarks/bench_publish.py [--configs 10000] [--runs 20]
"""

import argparse
import gzip
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench_report import populate_sqlite

from mlcc_ci import clock
from mlcc_ci.assessing import assess_store
from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.models import Record, Run, StageResult
from mlcc_ci.publish.site import publish_site
from mlcc_ci.stores.sqlite import SqliteStore

INDEX_BUDGET = 5 * 2**20
ARCHITECTURES = ("transformers-vllm", "triton-onnx", "http-flask", "diffusors-sglang")


def record_item(c: int, runs: int, now) -> tuple[dict, list[dict]]:
    """A configuration's record item, carrying its runs, and its history items."""
    cid = f"{c:016x}"
    name = f"team-{c % 7}-{ARCHITECTURES[c % 4]}-g6-{c:05d}"
    history = []
    for r in range(runs):
        started = now - timedelta(days=runs - r, hours=c % 24)
        status = "fail-deploy_test" if (r + c) % 4 == 0 else "pass"
        history.append(
            Run(
                configId=cid,
                startedAt=clock.iso(started),
                runId=f"{c}-{r}",
                finishedAt=clock.iso(started + timedelta(minutes=30)),
                status=status,
                durationSeconds=1646.0,
                deploymentConfig=name,
                stageResults={"deploy_test": StageResult("pass", 900.0)},
                generatorVersion=f"1.{6 + r // 10}.0",
                provenImage=f"public.ecr.aws/x/vllm@sha256:{(c * 3 + r // 10):064x}",
            )
        )
    newest = history[::-1]
    record = Record(
        configId=cid,
        configJson=json.dumps({"projectName": f"p{c}", "deploymentConfig": name}),
        deploymentConfig=name,
        buildStrategy="codebuild-submit",
        projectName=f"p{c}",
        createdAt="2025-12-01T00:00:00Z",
        source="project",
        version=runs * 2 + 1,
        testStatus=newest[0].status,
        lastTestTimestamp=newest[0].finishedAt,
        recentRuns=tuple(r.summary() for r in newest[:20]),
    )
    return record.to_item(), [r.to_item() for r in history]


def populate(path: Path, configs: int, runs: int, now) -> None:
    populate_sqlite(path, configs, runs, lambda c, n: record_item(c, n, now))


def size(n: float) -> str:
    return f"{n / 2**20:6.2f} MiB" if n >= 2**20 else f"{n / 1024:6.1f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    now = clock.now()
    catalog = load_valid_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        populate(db, args.configs, args.runs, now)
        print(
            f"publish: {args.configs:,} configurations x {args.runs} runs "
            f"(populated in {time.perf_counter() - t0:.0f} s)"
        )
        store = SqliteStore(db)
        t0 = time.perf_counter()
        assessed = assess_store(store, catalog, now)
        assessing = time.perf_counter() - t0
        store.close()
        print(f"  assess       {assessing * 1e3:8.0f} ms  {len(assessed):,} configurations")
        out = Path(tmp) / "site"
        t0 = time.perf_counter()
        published = publish_site(assessed, out, now)
        writing = time.perf_counter() - t0
        print(
            f"  publish      {writing * 1e3:8.0f} ms  {published.files:,} files, "
            f"{size(published.bytes)}"
        )
        index = (out / "index.html").read_bytes()
        verdict = "within" if len(index) <= INDEX_BUDGET else "OVER"
        print(
            f"  index.html   {size(len(index))}  ({verdict} the budget of "
            f"{size(INDEX_BUDGET).strip()}); gzip'd {size(len(gzip.compress(index))).strip()}"
        )
        pages = list((out / "configs").iterdir())
        average = sum(p.stat().st_size for p in pages) / len(pages)
        badges = list((out / "badges").iterdir())
        badge = sum(p.stat().st_size for p in badges) / len(badges)
        doc = (out / "confidence.json").stat().st_size
        print(f"  a page       {size(average)} on average; a badge {size(badge)}")
        print(f"  confidence.json {size(doc)}")
    return 0 if len(index) <= INDEX_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
