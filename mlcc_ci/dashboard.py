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


def make_handler(store: ResultsStore, entries: Iterable[Entry]) -> type[BaseHTTPRequestHandler]:
    catalog = list(entries)

    class Handler(BaseHTTPRequestHandler):
        server_version = "mlcc-ci-dashboard"

        def _send(self, code: int, body: str, content_type: str) -> None:
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
            self.wfile.write(data)

        def do_GET(self) -> None:
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
                self._send(404, json.dumps({"error": f"no such page: {path}"}), "application/json")
                return
            try:
                body, content_type = route()
            except MlccError as exc:
                self._send(503, json.dumps({"error": str(exc)}), "application/json")
                return
            self._send(200, body, content_type)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def serve(
    store: ResultsStore, entries: Iterable[Entry], host: str, port: int
) -> ThreadingHTTPServer:
    """Bind the dashboard; raise a one-line error when the port is taken."""
    try:
        server = ThreadingHTTPServer((host, port), make_handler(store, entries))
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise UsageError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
