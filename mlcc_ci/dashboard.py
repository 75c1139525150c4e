"""The live dashboard: the HTML report (refreshing itself) and the records as JSON.

Binds to loopback unless told otherwise; reads the store once per request.
"""

import json
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlcc_ci import clock
from mlcc_ci.catalog import Entry
from mlcc_ci.errors import MlccError, UsageError
from mlcc_ci.report import render
from mlcc_ci.report.data import load_report
from mlcc_ci.stores.base import ResultsStore

REFRESH_SECONDS = 60


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
    store: ResultsStore, entries: Iterable[Entry], *, any_host: bool = False
) -> type[BaseHTTPRequestHandler]:
    """`any_host`: answer whatever Host a request names (only when the user bound a
    non-loopback address on purpose). Otherwise a request naming another host — a DNS
    rebinding page in the user's browser — is refused."""
    catalog = list(entries)

    class Handler(BaseHTTPRequestHandler):
        server_version = "mlcc-ci-dashboard"
        timeout = IDLE_SECONDS  # an idle or half-open connection does not hold a thread

        def _send(self, code: int, body: str, content_type: str, head: bool = False) -> None:
            data = body.encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header(
                "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"
            )
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
                    render.html(load_report(store, catalog, clock.now()), refresh=REFRESH_SECONDS),
                    "text/html; charset=utf-8",
                ),
                "/api/records": lambda: (json.dumps(_records(store), indent=2), "application/json"),
                "/api/report": lambda: (
                    render.as_json(load_report(store, catalog, clock.now())),
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


def serve(
    store: ResultsStore, entries: Iterable[Entry], host: str, port: int
) -> ThreadingHTTPServer:
    """Bind the dashboard; raise a one-line error when the port is taken."""
    try:
        handler = make_handler(store, entries, any_host=not is_loopback(host))
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise UsageError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
