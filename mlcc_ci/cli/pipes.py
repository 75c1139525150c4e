"""Standard output and error that outlive their reader.

`mlcc-ci run … | head -2` closes the pipe after two lines. A write after that raises
BrokenPipeError (Python ignores SIGPIPE). Raised inside a run, it used to fail the run as an
"internal error in the harness". A reader that leaves says nothing about the product, so
`main` wraps both streams: the first broken-pipe write points the file descriptor at
os.devnull (Python's recommended pattern, so the interpreter's own flush at exit is quiet
too) and every later write is dropped. The command carries on to its end: runs finish,
teardown runs, results are stored, and the exit status is the command's own verdict.
"""

import io
import os
import threading
from typing import TextIO


class Guarded(io.TextIOBase):
    """A text stream that becomes a null sink when its reader goes away."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.gone = False
        self._lock = threading.Lock()

    # click keeps a stream as it is when its encoding and errors fit; with no `buffer`
    # attribute it never goes around the guard to the binary stream.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors

    def isatty(self) -> bool:
        return not self.gone and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        """The reader is gone: what is still buffered, and all that follows, goes nowhere."""
        with self._lock:
            if self.gone:
                return
            self.gone = True
            try:
                fd = self.stream.fileno()
            except (OSError, ValueError):
                return
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)


def guard(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, Guarded) else Guarded(stream)  # type: ignore[return-value]
