"""Standard output and error that outlive their reader.

`mlcc-ci run … | head -2` closes the pipe after two lines. A write after that raises
BrokenPipeError (Python ignores SIGPIPE). Raised inside a run, it used to fail the run as an
"internal error in the harness". A reader that leaves says nothing about the product, so
`main` wraps both streams: the first broken-pipe write points the file descriptor at
os.devnull (Python's recommended pattern, so the interpreter's own flush at exit is quiet
too) and every later write is dropped. The command carries on to its end: runs finish,
teardown runs, results are stored, and the exit status is the command's own verdict.

Any other output error (a closed standard output, `>/dev/full`) is dropped the same way, so
the command still ends as it would, but it is remembered: `main` then says it in one line on
standard error and exits non-zero (`failure`, `usable_descriptors`).
"""

import io
import os
import threading
from typing import TextIO


class Guarded(io.TextIOBase):
    """A text stream that becomes a null sink when its reader goes away."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self.stream = stream  # None: the descriptor was closed when mlcc-ci started
        self.gone = False
        self.failure: str | None = None  # why a write failed, other than a reader leaving
        self._lock = threading.Lock()

    # click keeps a stream as it is when its encoding and errors fit; with no `buffer`
    # attribute it never goes around the guard to the binary stream.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding if self.stream is not None else "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors if self.stream is not None else "strict"

    def isatty(self) -> bool:
        return not self.gone and self.stream is not None and self.stream.isatty()

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("the stream was closed")
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.stream is None:
            if text and self.failure is None:
                self.failure = "it is closed"
        elif not self.gone:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self._leave()
            except OSError as exc:
                self._fail(exc)
        return len(text)

    def flush(self) -> None:
        if self.stream is not None and not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._leave()
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        """Output that cannot be written (a full disk, /dev/full): dropped from here on,
        as for a reader that left, and remembered for `main` to say."""
        self.failure = self.failure or exc.strerror or str(exc)
        self._leave()

    def _leave(self) -> None:
        """The reader is gone: what is still buffered, and all that follows, goes nowhere."""
        with self._lock:
            if self.gone or self.stream is None:
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


def guard(stream: TextIO | None) -> TextIO:
    return stream if isinstance(stream, Guarded) else Guarded(stream)  # type: ignore[return-value]


def failure(stream: object) -> str | None:
    """Why `stream` (a guarded one) could not be written to, if it could not."""
    return stream.failure if isinstance(stream, Guarded) else None


def usable_descriptors() -> None:
    """Standard input, output and error that were closed (`mlcc-ci … >&-`) are opened on
    os.devnull: a file mlcc-ci opens later (the store) never takes their number, where a
    stage's command, which inherits them, would write into it."""
    for fd, flags in ((0, os.O_RDONLY), (1, os.O_WRONLY), (2, os.O_WRONLY)):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, flags)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
