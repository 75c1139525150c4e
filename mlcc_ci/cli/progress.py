"""Live progress on a terminal (one redrawn line), plain lines otherwise.

Lines go to standard output, so a non-interactive run (the AWS executor) logs there.
"""

import sys
import threading
import time
from typing import TextIO

import click

from mlcc_ci.lifecycle import Progress


class ProgressView:
    def __init__(self, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.active: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "ProgressView":
        if self.live:
            self._thread = threading.Thread(target=self._redraw_loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
            self._clear()

    def __call__(self, event: Progress) -> None:
        with self.lock:
            if event.state == "start":
                self.active[event.name] = (event.stage, time.monotonic())
                return
            if event.stage == "update":
                self.active.pop(event.name, None)
            elif self.live:
                return  # on a terminal the live line shows stages; print one line per run
            if self.live:
                self._clear()
            status = event.status or "-"
            colour = "green" if status == "pass" else "yellow" if status == "skip" else "red"
            label = "finished" if event.stage == "update" else event.stage
            line = f"{event.name:<26} {label:<12} " + click.style(f"{status:<16}", fg=colour)
            if event.stage != "update":
                line += f" {event.elapsed:7.2f}s"
            click.echo(line, file=self.stream, color=self.live)

    def _clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _redraw_loop(self) -> None:
        while not self._stop.wait(0.2):
            with self.lock:
                now = time.monotonic()
                parts = [f"{n}: {s} {now - t:.0f}s" for n, (s, t) in sorted(self.active.items())]
                if parts:
                    self.stream.write("\r\033[K" + " | ".join(parts)[:200])
                    self.stream.flush()
