"""What a function prints, as log lines: split and truncated as Lambda does, within a budget.

Pure (bytes in, lines out): ``sandbox/environment.py`` reads the environment's pipe and feeds
what it reads to an ``OutputLines``, which

- splits it on newlines, as Lambda splits stdout and stderr into log events (each event keeps its
  line's newline, as CloudWatch Logs stores them: ``environment.py`` adds it back);
- truncates a line longer than ``MAX_LINE_BYTES``: a CloudWatch Logs event holds at most 262,144
  bytes, 26 of them its overhead and one the newline. Lambda's documentation says nothing of what
  happens to a longer line; Lamina keeps its first 262,117 bytes (cut at a character boundary) and
  drops the rest;
- keeps a line's bytes only up to that limit, however long the line runs, so a function printing
  without newlines costs memory once and time linear in what it prints;
- admits lines to the log while the current budget lasts (each costs its bytes, its newline
  included, plus the event overhead, as CloudWatch counts it). The first line that does not fit
  ends the budget: it and everything after it are counted, not kept, until ``renew`` starts the next budget (the next
  invocation), so what is kept is always a prefix of what was printed.

``Tail`` keeps the last 4 KB of an invocation's log for ``X-Amz-Log-Result``, from a character's start.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from lamina.store.base import LOG_EVENT_OVERHEAD

MAX_EVENT_BYTES = 262_144  # CloudWatch Logs' maximum event size, overhead included
MAX_LINE_BYTES = MAX_EVENT_BYTES - LOG_EVENT_OVERHEAD - 1  # the line without its newline
TAIL_BYTES = 4096


@dataclass(frozen=True)
class Dropped:
    """What was printed beyond a budget: how many lines, and their bytes (newlines included)."""

    lines: int
    bytes: int

    def notice(self, budget: int, whose: str = "output") -> str:
        """The log line that takes their place (``whose``: what was printed, "output" by default)."""
        return (
            f"Lamina: {self.bytes} bytes of {whose} ({self.lines} lines) were not kept: "
            f"the log of one invocation is limited to {budget} bytes"
        )


class OutputLines:
    """Splits a byte stream into log lines and admits them within a budget of bytes (see the module)."""

    def __init__(self, budget: int, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self.budget = budget
        self._max = max_line_bytes
        self._pieces: list[bytes] = []  # the unfinished line's first bytes (at most max + 3)
        self._kept = 0  # how many bytes _pieces hold
        self._length = 0  # the unfinished line's length so far, however much of it is kept
        self._used = 0
        self._over = False  # the budget is spent: lines are counted, not kept
        self._dropped_lines = 0
        self._dropped_bytes = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines ``chunk`` completes that fit the budget, without their newlines."""
        if self._over:
            self._skip(chunk)
            return []
        *complete, rest = chunk.split(b"\n")
        admitted: list[bytes] = []
        for i, part in enumerate(complete):
            if i == 0:
                self._extend(part)
                line, length = self._take()
            else:
                line, length = part, len(part)
            stored = _cut(line, self._max) if length > self._max else line
            if not self._admit(len(stored)):
                later = complete[i + 1 :]  # everything after it waits for the next budget
                self._dropped_lines += 1 + len(later)
                self._dropped_bytes += length + 1 + sum(map(len, later)) + len(later) + len(rest)
                self._length = len(rest)
                return admitted
            admitted.append(stored)
        self._extend(rest)
        return admitted

    def finish(self) -> list[bytes]:
        """The unfinished line, as a line of its own if it fits (``[]`` if there is none)."""
        if self._over:
            if self._length:
                self._dropped_lines += 1
            self._length = 0
            return []
        if not self._length:
            return []
        line, length = self._take()
        stored = _cut(line, self._max) if length > self._max else line
        if self._admit(len(stored)):
            return [stored]
        self._dropped_lines += 1
        self._dropped_bytes += length
        return []

    def renew(self) -> Dropped | None:
        """Start the next budget; what the last one could not keep, if anything."""
        dropped = Dropped(self._dropped_lines, self._dropped_bytes) if self._dropped_bytes else None
        if self._over:
            # The unfinished line's start was not kept: what follows of it is a line of its own.
            self._length = 0
        self._used, self._over, self._dropped_lines, self._dropped_bytes = 0, False, 0, 0
        return dropped

    def _admit(self, size: int) -> bool:
        cost = size + 1 + LOG_EVENT_OVERHEAD  # its newline is the event's
        if self._used + cost > self.budget:
            self._over = True
            return False
        self._used += cost
        return True

    def _extend(self, data: bytes) -> None:
        self._length += len(data)
        room = self._max + 3 - self._kept  # 3 more: enough to find the character the cut falls in
        if room > 0 and data:
            piece = data[:room]
            self._pieces.append(piece)
            self._kept += len(piece)

    def _take(self) -> tuple[bytes, int]:
        line = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        length = self._length
        self._pieces, self._kept, self._length = [], 0, 0
        return line, length

    def _skip(self, data: bytes) -> None:
        newlines = data.count(b"\n")
        self._dropped_bytes += len(data)
        self._dropped_lines += newlines
        self._length = len(data) - data.rfind(b"\n") - 1 if newlines else self._length + len(data)


def _cut(line: bytes, limit: int) -> bytes:
    """``line``'s first ``limit`` bytes at most, not ending inside a UTF-8 character."""
    end = limit
    # A continuation byte at the cut means the character it belongs to started before: cut there.
    while end > 0 and limit - end < 3 and line[end] & 0xC0 == 0x80:
        end -= 1
    return line[:end]


def decode(line: bytes, max_bytes: int = MAX_LINE_BYTES) -> str:
    """A line as text; bytes that are not UTF-8 become U+FFFD, and the result still fits ``max_bytes``."""
    text = line.decode("utf-8", "replace")
    if len(line) * 3 > max_bytes:  # only then could replacements make it too long
        encoded = text.encode()
        if len(encoded) > max_bytes:
            text = _cut(encoded, max_bytes).decode("utf-8", "replace")
    return text


class Tail:
    """The last ``TAIL_BYTES`` of a log (each line and its newline). It keeps the last lines as they
    come (4,096 of them cover 4 KB, each being at least its newline) and encodes only when asked."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=TAIL_BYTES)

    def append(self, line: str) -> None:
        self._lines.append(line)

    def extend(self, other: Tail) -> None:
        self._lines.extend(other._lines)

    def value(self) -> bytes:
        """The last 4 KB, less the end of a character the cut falls in (so that it decodes as UTF-8)."""
        parts: list[bytes] = []
        size = 0
        for line in reversed(self._lines):
            parts.append(line.encode() + b"\n")
            size += len(parts[-1])
            if size >= TAIL_BYTES:
                break
        data = b"".join(reversed(parts))[-TAIL_BYTES:]
        start = 0
        while start < min(3, len(data)) and data[start] & 0xC0 == 0x80:
            start += 1
        return data[start:]
