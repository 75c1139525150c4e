"""The live dashboard: the HTML report, the report and the records as JSON, and what is
running right now (`/api/live`, which the page polls to move running stages along).

Binds to loopback unless told otherwise. Every answer comes from one cache, read again in
the background when the store changed (SQLite: its commit counter; a store that cannot
tell cheaply: every TTL seconds), so twenty browsers cost one read of the store, not
twenty, and none of them waits for it.
"""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlcc_ci import clock
from mlcc_ci.catalog import Catalog
from mlcc_ci.errors import MlccError, UsageError
from mlcc_ci.report import render
from mlcc_ci.report.data import collector_paused, load_report
from mlcc_ci.report.model import Report
from mlcc_ci.stores.base import ResultsStore

TTL_SECONDS = 5.0  # for stores with no cheap change token (DynamoDB)


@dataclass
class _Built:
    token: object
    at: float  # time.monotonic() when the read began
    report: Report
    bodies: dict[str, str]  # answer name -> body


class ReportCache:
    """The report and its rendered answers. Requests never wait for the store once there is
    an answer: when the store changed, one background thread reads it again (at most one
    read at a time, at least GAP seconds apart) and swaps the new answers in; until then
    the last ones are served."""

    GAP_SECONDS = 1.0

    def __init__(self, store: ResultsStore, catalog: Catalog, ttl: float = TTL_SECONDS) -> None:
        self.store = store
        self.catalog = catalog
        self.ttl = ttl
        self._lock = threading.Lock()  # guards the fields below
        self._reading = threading.Lock()  # one read of the store at a time
        self._built: _Built | None = None
        self._asked: dict[str, Callable[[Report], str]] = {}  # what to render after a read
        self._refreshing = False
        self.builds = 0  # how often the store was read: for tests and the benchmark
        remember = getattr(store, "remember_decoded", None)
        if remember is not None:  # decode again only what changed between reads
            remember()

    def answer(self, name: str, make: Callable[[Report], str]) -> str:
        with self._lock:
            self._asked.setdefault(name, make)
            built = self._built
        if built is None:  # the first request waits for the first read
            with self._reading:
                if self._built is None:
                    self._build()
            built = self._built
            assert built is not None
        elif not self._fresh(built):
            self._refresh_later()
        body = built.bodies.get(name)
        if body is None:
            with collector_paused():
                body = built.bodies[name] = make(built.report)
        return body

    def _fresh(self, built: _Built) -> bool:
        token = self.store.change_token()
        if token is None:
            return time.monotonic() - built.at < self.ttl
        return bool(token == built.token)

    def _refresh_later(self) -> None:
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._refresh, name="dashboard-refresh", daemon=True).start()

    def _refresh(self) -> None:
        try:
            built = self._built
            if built is not None:  # not more often than every GAP_SECONDS
                time.sleep(max(0.0, built.at + self.GAP_SECONDS - time.monotonic()))
            with self._reading:
                self._build()
        except MlccError:
            pass  # the store cannot be read now: keep serving what was read; retry on change
        finally:
            with self._lock:
                self._refreshing = False

    def _build(self) -> None:
        at = time.monotonic()
        token = self.store.change_token()  # taken before the read: never misses a write
        with self._lock:
            asked = dict(self._asked)
        with collector_paused():  # one pause for the read and the renders
            report = load_report(self.store, self.catalog, clock.now())
            bodies = {name: make(report) for name, make in asked.items()}
        self._built = _Built(token, at, report, bodies)
        self.builds += 1


def live(report: Report) -> dict[str, Any]:
    """What the page needs to follow running configurations: every status (a change means
    a run began or ended), and per running one its stage, since when, and its timeline."""
    return {
        "generatedAt": report.generatedAt,
        "statuses": {c.name: c.status for c in report.configurations},
        "running": {
            c.name: {
                "stage": c.currentStage or "starting",
                "since": c.currentStageStartedAt or c.runStartedAt,
                "runStartedAt": c.runStartedAt,
                "timeline": render.live_timeline(c, report.generatedAt),
            }
            for c in report.running
        },
    }


def _records(store: ResultsStore) -> list[dict[str, Any]]:
    """Every readable record as stored (secrets in foreign configJson already masked)."""
    return [r.to_item() for r in store.records()]


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
IDLE_SECONDS = 30


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.startswith("127.")


def _host_name(header: str) -> str:
    """The name in a Host header, without its port."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def make_handler(
    store: ResultsStore, catalog: Catalog, *, any_host: bool = False
) -> type[BaseHTTPRequestHandler]:
    """`any_host`: answer whatever Host a request names (only when the user bound a
    non-loopback address on purpose). Otherwise a request naming another host — a DNS
    rebinding page in the user's browser — is refused."""
    cache = ReportCache(store, catalog)
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{render.script_hash()}'; connect-src 'self'"
    )

    class Handler(BaseHTTPRequestHandler):
        server_version = "mlcc-ci-dashboard"
        report_cache = cache
        timeout = IDLE_SECONDS  # an idle or half-open connection does not hold a thread

        def _send(self, code: int, body: str, content_type: str, head: bool = False) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def do_HEAD(self) -> None:
            self.do_GET(head=True)

        def do_GET(self, head: bool = False) -> None:
            host = _host_name(self.headers.get("Host", ""))
            if not any_host and not is_loopback(host):
                message = {"error": f"this dashboard answers to loopback names only, not {host!r}"}
                self._send(421, json.dumps(message), "application/json", head)
                return
            path = self.path.split("?", 1)[0]
            routes: dict[str, Callable[[], tuple[str, str]]] = {
                "/": lambda: (
                    cache.answer("html", lambda r: render.html(r, live=True)),
                    "text/html; charset=utf-8",
                ),
                "/api/records": lambda: (json.dumps(_records(store), indent=2), "application/json"),
                "/api/report": lambda: (
                    cache.answer("json", render.as_json),
                    "application/json",
                ),
                "/api/live": lambda: (
                    cache.answer("live", lambda r: json.dumps(live(r))),
                    "application/json",
                ),
            }
            route = routes.get(path)
            if route is None:
                error = json.dumps({"error": f"no such page: {path}"})
                self._send(404, error, "application/json", head)
                return
            try:
                body, content_type = route()
            except MlccError as exc:
                self._send(503, json.dumps({"error": str(exc)}), "application/json", head)
                return
            self._send(200, body, content_type, head)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve(store: ResultsStore, catalog: Catalog, host: str, port: int) -> ThreadingHTTPServer:
    """Bind the dashboard; raise a one-line error when the port is taken."""
    try:
        handler = make_handler(store, catalog, any_host=not is_loopback(host))
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise UsageError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
