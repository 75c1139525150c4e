"""Register 1,000 generated catalog entries into each store.

Prints time per entry and, for DynamoDB (moto, in-process), requests per entry: a
registration is one conditional UpdateItem, whether it creates, changes or leaves alone.
Run: .venv/bin/python benchmarks/bench_register.py [N]
"""

import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.configid import config_id
from mlcc_ci.registration import from_entry

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
NOW = "2026-01-01T00:00:00Z"


def registrations():
    entries = load_valid_catalog().entries
    out = []
    for i in range(N):
        base = from_entry(entries[i % len(entries)])
        model = f"bench/model-{i}"
        cid = config_id(
            base.deploymentConfig, model, "ml.g5.xlarge", "us-east-1", "managed-inference"
        )
        out.append(
            replace(base, configId=cid, configJson=base.configJson[:-1] + f',"m":"{model}"}}')
        )
    return out


def bench(store, regs, label):
    for rnd in ("create", "again"):
        before = getattr(store, "requests", 0)
        start = time.perf_counter()
        outcomes = {store.register(r, NOW) for r in regs}
        elapsed = time.perf_counter() - start
        requests = getattr(store, "requests", None)
        per = (
            f"  {(requests - before) / len(regs):.2f} requests/entry"
            if requests is not None
            else ""
        )
        print(
            f"{label:<22} {rnd:<7} {elapsed / len(regs) * 1e3:7.3f} ms/entry{per}  {sorted(outcomes)}"
        )


def main():
    regs = registrations()
    from mlcc_ci.stores.sqlite import SqliteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "bench.db")
        bench(store, regs, "sqlite")
        store.close()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto import mock_aws

    from mlcc_ci.stores.dynamodb import DynamoStore

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        store = DynamoStore(
            client, table="mlcc-ci-table", runs_table="mlcc-ci-runs", region="us-east-1"
        )
        store.create_tables()
        store.requests = 0
        bench(store, regs, "dynamodb (moto)")


if __name__ == "__main__":
    main()
