"""Progress of long operations (an upload's bytes, the wait for Active), on stderr.

Shown only where a person watches: when stderr is a terminal, or when asked (``--progress``).
It never touches stdout, so ``--json`` output stays one parseable document. On a terminal one
line is redrawn in place (``\\r``); elsewhere each report is a line of its own, and reports are
thinned out (``MIN_INTERVAL_SECONDS``) so a log file does not fill with them.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from lamina.cli.output import format_size

MIN_INTERVAL_SECONDS = 0.25


def upload_line(sent: int, total: int) -> str:
    """``Uploading 12.0 MB of 50.0 MB (24%)``."""
    percent = 100 * sent // total if total else 100
    return f"Uploading {format_size(sent)} of {format_size(total)} ({percent}%)"


def wait_line(what: str, state: str, seconds: float) -> str:
    """``Waiting for hello to be Active: Pending (1.2 s)``."""
    return f"Waiting for {what}: {state} ({seconds:.1f} s)"


class Progress:
    """Reports that overwrite each other on a terminal; ``done`` ends the current one."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty()
        self.enabled = self._tty if enabled is None else enabled
        self._clock = clock
        self._last = float("-inf")
        self._width = 0

    def report(self, text: str, *, final: bool = False) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not final and now - self._last < MIN_INTERVAL_SECONDS:
            return
        self._last = now
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def done(self) -> None:
        """Clear the redrawn line, so what comes next starts on a clean one."""
        if self.enabled and self._tty and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
        self._width = 0
        self._last = float("-inf")

    def upload(self, sent: int, total: int) -> None:
        self.report(upload_line(sent, total), final=sent >= total)


QUIET = Progress(enabled=False)
