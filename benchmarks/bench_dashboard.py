"""The dashboard under load: /api/report at CONFIGS configurations, CLIENTS concurrent clients
on 127.0.0.1, each making REQUESTS requests (a new connection each, as a browser's poll).

Printed: the size of /api/report (budget: 500 KiB at 1,000 configurations; each
configuration's history is at /api/history/<configId>, which the page fetches when a
history is shown) and of one such answer; latency median / p95 / max per request (budget:
median at most 50 ms), how many times the store was read (the cache is rebuilt only when the store changed), and the same
with a writer moving a running stage on every 0.5 s meanwhile.

Run: .venv/bin/python benchmarks/bench_dashboard.py [--configs 1000] [--clients 20]
     [--requests 25]
"""

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_report import populate_sqlite

from mlcc_ci.catalog import load_valid_catalog
from mlcc_ci.dashboard import serve
from mlcc_ci.models import StageResult, claimed, progressed
from mlcc_ci.stores.sqlite import SqliteStore


def load(base: str, clients: int, requests: int, headers: dict | None = None) -> list[float]:
    """The clients run in a process of their own, as browsers do: they do not share the
    dashboard's interpreter lock."""
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(_load, (base, clients, requests, headers))


def _load(base: str, clients: int, requests: int, headers: dict | None) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)

    def client() -> None:
        mine = []
        start_gate.wait()
        for _ in range(requests):
            t0 = time.perf_counter()
            request = urllib.request.Request(base + "/api/report", headers=headers or {})
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
            mine.append(time.perf_counter() - t0)
            assert response.status == 200 and body
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def show(label: str, latencies: list[float], builds: int, seconds: float) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{label:<34} median {statistics.median(ordered) * 1e3:6.1f} ms (budget 50)  "
        f"p95 {p95 * 1e3:6.1f} ms  max {ordered[-1] * 1e3:6.1f} ms  "
        f"{len(ordered) / seconds:6.0f} req/s  store read {builds}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        populate_sqlite(path, args.configs, 20)
        store = SqliteStore(path)
        server = serve(store, load_valid_catalog(), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        cache = server.RequestHandlerClass.report_cache  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        with urllib.request.urlopen(base + "/api/report", timeout=60) as response:
            size = len(response.read())
        print(
            f"{args.configs:,} configurations; /api/report is {size / 2**10:.0f} KiB "
            f"(budget 500); first answer (reads the store) "
            f"{(time.perf_counter() - t0) * 1e3:.0f} ms"
        )
        config_id = json.loads(urllib.request.urlopen(base + "/api/report", timeout=60).read())
        config_id = next(c for c in config_id["configurations"].values() if c.get("runs"))
        config_id = config_id["configId"]
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{base}/api/history/{config_id}", timeout=60) as response:
            one = len(response.read())
        print(
            f"/api/history/<configId> (one configuration's history and the rest) is "
            f"{one / 2**10:.1f} KiB, {(time.perf_counter() - t0) * 1e3:.1f} ms"
        )

        before = cache.builds
        t0 = time.perf_counter()
        latencies = load(base, args.clients, args.requests)
        show(
            f"{args.clients} clients, store unchanged",
            latencies,
            cache.builds - before,
            time.perf_counter() - t0,
        )

        before = cache.builds
        t0 = time.perf_counter()
        latencies = load(base, args.clients, args.requests, {"Accept-Encoding": "gzip"})
        show(
            f"{args.clients} clients asking for gzip",
            latencies,
            cache.builds - before,
            time.perf_counter() - t0,
        )

        # a run moving through its stages meanwhile, written by another connection
        writer = SqliteStore(path)
        record = next(iter(writer.records()))
        record = claimed(record, "bench", "2026-03-01T00:00:00.000Z")
        writer.replace(record, expect_version=record.version - 1, expect_run_id=None)
        stop = threading.Event()

        def write() -> None:
            nonlocal record
            stages = ("generate", "validate", "build", "deploy_test", "register", "teardown")
            n = 0
            while not stop.wait(0.5):
                stage = stages[n % len(stages)]
                done = {s: StageResult("pass", 1.0) for s in stages[: n % len(stages)]}
                moved = progressed(record, stage, "2026-03-01T00:00:01.000Z", done)
                writer.replace(moved, expect_version=record.version, expect_run_id=record.runId)
                record, n = moved, n + 1

        thread = threading.Thread(target=write)
        before = cache.builds
        thread.start()
        t0 = time.perf_counter()
        latencies = load(base, args.clients, args.requests)
        stop.set()
        thread.join()
        show(
            f"{args.clients} clients, a write every 0.5 s",
            latencies,
            cache.builds - before,
            time.perf_counter() - t0,
        )
        live = json.loads(urllib.request.urlopen(base + "/api/live", timeout=30).read())
        print(f"/api/live after the writes: {len(live['running'])} running")
        server.shutdown()
        server.server_close()
        writer.close()
        store.close()


if __name__ == "__main__":
    main()
