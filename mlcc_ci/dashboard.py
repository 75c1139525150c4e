"""The live dashboard: the HTML report, the report and the records as JSON, and what is
running right now (`/api/live`, which the page polls to move running stages along).

Binds to loopback unless told otherwise. Every answer comes from one cache, read again in
the background when the store changed (SQLite: its commit counter; a store that cannot
tell cheaply: every TTL seconds), so twenty browsers cost one read of the store, not
twenty, and none of them waits for it.
"""

import gzip
import ipaddress
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from mlcc_ci import clock, loglinks, logs
from mlcc_ci.catalog import Catalog
from mlcc_ci.errors import MlccError, UsageError
from mlcc_ci.report import pagedata, render
from mlcc_ci.report.data import collector_paused, load_report
from mlcc_ci.report.model import Report
from mlcc_ci.stores.base import ResultsStore

TTL_SECONDS = 5.0  # for stores with no cheap change token (DynamoDB)


@dataclass
class _Built:
    token: object
    at: float  # time.monotonic() when the read began
    report: Report
    bodies: dict[str, bytes]  # answer name -> body, UTF-8
    gzipped: dict[str, bytes] = field(default_factory=dict)  # answer name -> body, gzip


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

    def answer(self, name: str, make: Callable[[Report], str], *, gzipped: bool = False) -> bytes:
        """The answer `name` (UTF-8, or gzip-compressed), rendered once per read."""
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
                body = built.bodies[name] = make(built.report).encode("utf-8")
        if not gzipped:
            return body
        packed = built.gzipped.get(name)
        if packed is None:  # compressed once, on the first request that accepts it
            packed = built.gzipped[name] = gzip.compress(body, compresslevel=5, mtime=0)
        return packed

    def report(self) -> Report:
        """The report the answers are rendered from (read first if none was yet)."""
        self.answer("live", _live_json)
        built = self._built
        assert built is not None
        return built.report

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
            bodies = {name: make(report).encode("utf-8") for name, make in asked.items()}
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


def _live_json(report: Report) -> str:
    return json.dumps(live(report))


# What /api/report keeps of each configuration: what a summary table shows (the schema's
# required keys always, the others unless null, false or empty); the rest is at
# /api/history/<configId>.
_REQUIRED = ("status", "project", "lastTest", "duration", "recordCount")
_SUMMARY = frozenset(
    (
        *_REQUIRED,
        "shownStatus",
        "configId",
        "supportState",
        "profile",
        "owner",
        "architecture",
        "lastPass",
        "passRate",
        "runs",
        "stale",
        "removed",
        "fixed",
        "flaky",
        "regression",
        "quarantine",
        "failure",
        "blocked",
        "lastError",
        "running",
    )
)


def _says_something(value: Any) -> bool:
    return value is not None and value is not False and value != [] and value != {}


def report_json(report: Report) -> str:
    """`/api/report`: the JSON report with a summary of each configuration (_SUMMARY): at
    1,000 configurations a few hundred KB, not megabytes. Its history, stage results, cost
    and the rest: `/api/history/<configId>`."""
    doc = render.as_dict(report)
    doc["configurations"] = {
        name: {
            k: v
            for k, v in config.items()
            if k in _SUMMARY and (k in _REQUIRED or _says_something(v))
        }
        for name, config in doc["configurations"].items()
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n"


def history_json(
    report: Report, config_id: str, log_href: Callable[[str], str | None]
) -> str | None:
    """`/api/history/<configId>`: the configuration as the JSON report has it (its stage
    results and history with the rest), its `name`, and as `view` what the page draws of
    its history; None for a configId the report does not show."""
    found = next((c for c in report.configurations if c.configId == config_id), None)
    if found is None:
        return None
    doc = render.as_dict(replace(report, configurations=[found]))["configurations"][found.name]
    answer = {"name": found.name, **doc, "view": pagedata.history(found, log_href)}
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False)


def _records(store: ResultsStore) -> list[dict[str, Any]]:
    """Every readable record as stored (secrets in foreign configJson already masked)."""
    return [r.to_item() for r in store.records()]


LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
IDLE_SECONDS = 30


def is_loopback(host: str) -> bool:
    """A loopback name or IP literal, parsed: never a name that merely starts like one
    (`127.attacker.example` and `127.0.0.1.nip.io` are names anyone can point anywhere)."""
    if host in LOOPBACK_NAMES:
        return True
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(literal).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a Host header, without its port."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or `*`, and not with q=0)."""
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() not in ("gzip", "*"):
            continue
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        return weight > 0
    return False


LOG_BYTES = 2 * 1024 * 1024  # of each stage file, the dashboard shows the last
_LOG_PATH = re.compile(r"/logs/([^/]+)/([a-z_]+)\.log")


def make_handler(
    store: ResultsStore,
    catalog: Catalog,
    *,
    any_host: bool = False,
    work_root: Path | None = None,
) -> type[BaseHTTPRequestHandler]:
    """`any_host`: answer whatever Host a request names (only when the user bound a
    non-loopback address on purpose). Otherwise a request naming another host — a DNS
    rebinding page in the user's browser — is refused. `work_root`: where local runs keep
    their folders; their stage logs are served from /logs/<run folder>/<stage>.log."""
    cache = ReportCache(store, catalog)

    def log_href(pointer: str) -> str | None:
        return loglinks.log_url(pointer, work_root) if work_root else None

    # path -> (cache name, how to render it, content type): the answers built from a report
    answers: dict[str, tuple[str, Callable[[Report], str], str]] = {
        "/": (
            "html",
            lambda r: render.html(r, live=True, log_href=log_href),
            "text/html; charset=utf-8",
        ),
        "/api/report": ("json", report_json, "application/json"),
        "/api/live": ("live", _live_json, "application/json"),
    }
    policy = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{render.script_hash()}'; connect-src 'self'"
    )

    class Handler(BaseHTTPRequestHandler):
        server_version = "mlcc-ci-dashboard"
        report_cache = cache
        timeout = IDLE_SECONDS  # an idle or half-open connection does not hold a thread

        def _send(
            self,
            code: int,
            body: str | bytes,
            content_type: str,
            head: bool = False,
            gzipped: bool = False,
        ) -> None:
            data = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Vary", "Accept-Encoding")
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
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
            try:
                if path in answers:
                    name, make, content_type = answers[path]
                    packed = accepts_gzip(self.headers.get("Accept-Encoding", ""))
                    body = cache.answer(name, make, gzipped=packed)
                    self._send(200, body, content_type, head, gzipped=packed)
                elif path == "/api/records":
                    records = json.dumps(_records(store), indent=2)
                    self._send(200, records, "application/json", head)
                elif path.startswith("/api/history/"):
                    config_id = unquote(path.removeprefix("/api/history/"))
                    found = history_json(cache.report(), config_id, log_href)
                    if found is None:
                        error = json.dumps({"error": f"no configuration {config_id[:64]!r}"})
                        self._send(404, error, "application/json", head)
                    else:
                        self._send(200, found, "application/json", head)
                elif path.startswith("/logs/"):
                    self._log(path, head)
                else:
                    error = json.dumps({"error": f"no such page: {path}"})
                    self._send(404, error, "application/json", head)
            except MlccError as exc:
                self._send(503, json.dumps({"error": str(exc)}), "application/json", head)

        def _log(self, path: str, head: bool) -> None:
            """A local stage log, confined to the work root, masked, as plain text."""
            match = _LOG_PATH.fullmatch(path)
            log = None
            if match and work_root is not None:
                log = loglinks.confined_log(work_root, unquote(match[1]), match[2])
            body = None
            if log is not None:
                try:
                    if os.path.lexists(log) or os.path.lexists(logs.stderr_of(log)):
                        body = loglinks.page(log, logs.Cleaner(), LOG_BYTES)
                except OSError:  # a link, a FIFO, a folder: not a log we serve
                    body = None
            if body is None:
                error = json.dumps({"error": f"no such log: {path}"})
                self._send(404, error, "application/json", head)
                return
            self._send(200, body, "text/plain; charset=utf-8", head)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    # Browsers and pollers open many connections at once: the default backlog of 5 makes
    # the rest wait a second for a SYN retry.
    request_queue_size = 128
    daemon_threads = True


def serve(
    store: ResultsStore,
    catalog: Catalog,
    host: str,
    port: int,
    work_root: Path | None = None,
) -> ThreadingHTTPServer:
    """Bind the dashboard; raise a one-line error when the port is taken."""
    try:
        handler = make_handler(store, catalog, any_host=not is_loopback(host), work_root=work_root)
        server = _Server((host, port), handler)
    except OSError as exc:
        if exc.errno in (98, 48):  # EADDRINUSE on Linux, macOS
            raise UsageError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    return server
