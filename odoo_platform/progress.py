"""Progress of a long run, on one line of a terminal's stderr.

The engine, the planners and the CLI report to `current()` unconditionally: it is a quiet
reporter unless a command runs inside `reporting()` with stderr on a terminal. Progress
never reaches a pipe, a file or a CI log, and never stdout, so what commands print (and
what scripts read) is the same with or without it.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

CLEAR_LINE = "\r\x1b[K"  # back to the start of the line, erase to its end
INTERVAL = 0.1  # seconds between redraws: at most ~10 a second, however fast resources register


class Progress:
    """The quiet reporter: what everything reports to when progress is not shown."""

    def step(self, text: str) -> None:
        """What the command does now (e.g. "planning dev"); the counts start again from zero."""

    def registered(self, count: int = 1) -> None:
        """`count` more resources registered by the program under plan."""

    def stack_planned(self, name: str, done: int, total: int) -> None:
        """Stack `name` is planned, the `done`th of `total`."""

    def clear(self) -> None:
        """Erase the progress line, so that what is printed next starts on a clean line."""


class TerminalProgress(Progress):
    """Rewrites one line in place; resources register on the SDK's threads, hence the lock."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        # Reentrant: a Ctrl-C handler clears the line on the main thread, which may be drawing it.
        self._lock = threading.RLock()
        self._step = ""
        self._resources = 0
        self._stacks = ""
        self._drawn_at: float | None = None
        self._shown = False

    def step(self, text: str) -> None:
        with self._lock:
            self._step, self._resources, self._stacks = text, 0, ""
            self._draw(force=True)

    def registered(self, count: int = 1) -> None:
        with self._lock:
            self._resources += count
            self._draw()

    def stack_planned(self, name: str, done: int, total: int) -> None:
        with self._lock:
            self._stacks = f"stacks planned {done}/{total} ({name})"
            self._draw()

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self._write(CLEAR_LINE)
                self._shown = False

    def _draw(self, force: bool = False) -> None:
        now = self._clock()
        if not force and self._drawn_at is not None and now - self._drawn_at < INTERVAL:
            return
        self._drawn_at = now
        resources = self._resources and f"{self._resources:,} resource{'' if self._resources == 1 else 's'} registered"
        counts = [part for part in (self._stacks, resources) if part]
        line = self._step + (": " + ", ".join(counts) if counts else "")
        # A line longer than the terminal wraps, and `\r` then rewrites only its last row.
        self._write(CLEAR_LINE + line[: self._columns() - 1])
        self._shown = True

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # no file descriptor, or not a terminal after all
            return 80
        return columns or 80  # a terminal whose size was never set (a bare pseudo-terminal) says 0

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except RuntimeError:
            # A stop clearing the line while the same thread was writing it: the buffered stream
            # refuses the reentrant call, and the line is cosmetic; the stop must go on.
            pass


_QUIET = Progress()
_current: Progress = _QUIET


def current() -> Progress:
    return _current


@contextmanager
def reporting(stream: TextIO, enabled: bool = True) -> Iterator[Progress]:
    """Show progress on `stream` for the duration, if enabled and `stream` is a terminal; the line
    is cleared when the block ends, normally or by an exception (an error, a stop)."""
    global _current
    shown = TerminalProgress(stream) if enabled and stream.isatty() else _QUIET
    before, _current = _current, shown
    try:
        yield shown
    finally:
        shown.clear()
        _current = before
