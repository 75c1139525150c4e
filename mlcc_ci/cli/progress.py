"""Live progress on a terminal (one redrawn line that fits its width), plain lines otherwise.

Lines go to standard output, so a non-interactive run (the AWS executor) logs there: one
line when a stage starts and one when it ends, so a long build is never silent. Colour only
on a terminal, and never with NO_COLOR or --no-color. Verbosity: 0 (-q) prints nothing but
the summary, 1 the default, 2 (-v) every stage line on a terminal too. Once the reader of
the stream has gone (`| head`), nothing more is written and nothing is raised (pipes.py).
"""

import shutil
import sys
import threading
import time
from typing import TextIO

import click

from mlcc_ci import clock
from mlcc_ci.cli.pipes import guard
from mlcc_ci.lifecycle import Progress


class ProgressView:
    def __init__(
        self,
        stream: TextIO | None = None,
        live: bool | None = None,
        *,
        color: bool = True,
        verbosity: int = 1,
    ) -> None:
        # the reader may leave (`| head`): then the view goes quiet, the runs go on
        self.stream = guard(stream or sys.stdout)
        tty = self.stream.isatty() if live is None else live
        self.live = tty and verbosity > 0
        self.color = color and tty
        self.verbosity = verbosity
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
                if self._stage_lines():
                    self._line(f"{event.name:<26} {event.stage:<12} started")
                return
            if event.state == "retry":  # an infrastructure failure, tried again
                if self.verbosity >= 1:
                    text = f"{event.name:<26} {event.stage:<12} "
                    text += click.style(f"{event.status:<16}", fg="yellow")
                    self._line(text + f" retry in {event.elapsed:g}s")
                return
            if event.stage == "update":
                self.active.pop(event.name, None)
            elif not self._stage_lines():
                return  # on a terminal the live line shows stages; one line per run
            if self.verbosity < 1:
                return
            status = event.status or "-"
            colour = "green" if status == "pass" else "yellow" if status == "skip" else "red"
            label = "finished" if event.stage == "update" else event.stage
            line = f"{event.name:<26} {label:<12} " + click.style(f"{status:<16}", fg=colour)
            if event.stage != "update":
                line += f" {event.elapsed:7.2f}s"
            self._line(line)

    def _stage_lines(self) -> bool:
        return (not self.live and self.verbosity >= 1) or self.verbosity >= 2

    def _line(self, text: str) -> None:
        if self.live:
            self._clear()
        click.echo(text, file=self.stream, color=self.color)

    def _clear(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _redraw_loop(self) -> None:
        while not self._stop.wait(0.2):
            width = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
            with self.lock:
                now = time.monotonic()
                parts = [
                    f"{n}: {s} {clock.duration(now - t)}"
                    for n, (s, t) in sorted(self.active.items())
                ]
                if parts:
                    line = " | ".join(parts)
                    if len(line) > width:
                        line = line[: width - 1] + "…"
                    self.stream.write("\r\033[K" + line)
                    self.stream.flush()
