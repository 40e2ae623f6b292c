"""One output pipe of an environment, read into log lines without letting its writer hold up the server.

An environment has one pipe for its runtime's stdout and stderr and, with external extensions, a
second one for theirs (extension_processes.py). Each ``OutputPipe`` reads its pipe as the event loop
finds it readable, splits what it reads into lines within a budget of its own (``output.OutputLines``),
and hands the lines to its owner. A writer flooding one pipe therefore costs the server at most
``READ_PER_CALL`` bytes or ``LINES_PER_CALL`` lines each time the event loop turns, and cannot use
up the other pipe's budget.

``drain`` reads what the pipe holds now (the owner calls it where an invocation's output must be
complete: before a result is taken, when the runtime asks for its next event); ``close`` is safe to
call twice.

While its environment is lent to the native data plane (``lend``), the plane reads the pipe
(through a duplicate of its descriptor) and hands what it read to ``feed``; the pipe is not read
here until ``resume``.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import os
import termios
from typing import Callable

from lamina.sandbox.output import Dropped, OutputLines

MB = 1024 * 1024
# What the reader handles at most each time the event loop calls it (it is called again while
# output waits), so that a process printing as fast as it can takes turns with everything else: 1 MB,
# or about 4,096 lines (a line costs a microsecond or two; a byte of a line too long to keep, a
# nanosecond). It reads 8 KB at a time, so that no one read brings many more lines.
READ_CHUNK = 8192
READ_PER_CALL = MB
LINES_PER_CALL = 4096


class OutputPipe:
    """The read end ``fd`` of a pipe (owned from now on), its lines admitted within ``budget`` bytes
    an invocation and handed to ``on_lines``."""

    def __init__(self, fd: int, budget: int, on_lines: Callable[[list[bytes]], None]) -> None:
        self._fd = fd
        self._lines = OutputLines(budget)
        self._on_lines = on_lines
        self._fionread = array.array("i", [0])  # what FIONREAD writes: the bytes waiting in the pipe
        self._lent = False  # the native data plane reads it meanwhile
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self._read_some)

    def lend(self) -> int:
        """Stop reading the pipe (the native data plane reads it now); its descriptor, still owned here."""
        self._lent = True
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
        return self._fd

    def resume(self) -> None:
        """Read the pipe here again."""
        if self._lent and self._fd >= 0:
            asyncio.get_running_loop().add_reader(self._fd, self._read_some)
        self._lent = False

    def feed(self, data: bytes) -> None:
        """What the native data plane read of the pipe, as if read here."""
        if data:
            complete = self._lines.feed(data)
            if complete:
                self._on_lines(complete)

    @property
    def budget(self) -> int:
        return self._lines.budget

    def _read_some(self) -> None:
        self._read(READ_PER_CALL, LINES_PER_CALL)

    def _read(self, limit: int, lines: int | None = None) -> None:
        """Read up to ``limit`` bytes (and stop after ``lines`` lines), as far as there is some
        without waiting."""
        while self._fd >= 0 and limit > 0 and (lines is None or lines > 0):
            try:
                chunk = os.read(self._fd, min(READ_CHUNK, limit))
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                asyncio.get_running_loop().remove_reader(self._fd)
                return
            limit -= len(chunk)
            complete = self._lines.feed(chunk)
            if lines is not None:
                lines -= len(complete)
            if complete:
                self._on_lines(complete)

    def drain(self) -> None:
        """Read all output already written. That is what the pipe holds now (at most its capacity,
        however fast its writers go on): a writer waits while the pipe is full, so what it wrote
        earlier has been read already."""
        if self._fd >= 0 and not self._lent:
            pending = _pending_bytes(self._fd, self._fionread)
            if pending:
                self._read(pending)

    def flush_partial(self) -> None:
        """The unfinished line, as a line of its own."""
        complete = self._lines.finish()
        if complete:
            self._on_lines(complete)

    def renew(self) -> Dropped | None:
        """Start the next budget (the next invocation's); what the last one could not keep, if anything."""
        return self._lines.renew()

    def close(self) -> None:
        """Read what is left, and close the pipe; safe to call twice."""
        if self._fd < 0:
            return
        self.resume()
        self.drain()
        self.flush_partial()
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1


def _pending_bytes(fd: int, buffer: array.array[int]) -> int:
    """How many bytes wait in pipe ``fd`` (should the kernel not say, as many as one read call takes);
    ``buffer``: one int the kernel writes the count into (kept, not made per call)."""
    try:
        fcntl.ioctl(fd, termios.FIONREAD, buffer, True)
    except OSError:
        return READ_PER_CALL
    return buffer[0]
