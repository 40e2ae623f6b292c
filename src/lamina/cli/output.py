"""Where output goes, and how values are shown to a person.

By default each command writes for a person: progress and results on stdout, problems on
stderr. With ``--json`` stdout carries only JSON documents (one per line when streaming), so a
script can parse it; problems still go to stderr, and the exit code tells success from failure.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Sequence, TextIO


class Console:
    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self._out = stdout if stdout is not None else sys.stdout
        self._err = stderr if stderr is not None else sys.stderr
        self._line_open = False  # a progress line waits for its outcome ("Creating... Active.")

    def say(self, text: str = "", *, end: str = "\n") -> None:
        """Text for a person on stdout; nothing in ``--json`` mode."""
        if self.json_mode:
            return
        written = text + end
        self._out.write(written)
        self._out.flush()
        if written:
            self._line_open = not written.endswith("\n")

    def emit(self, value: object, *, compact: bool = False) -> None:
        """A JSON document on stdout, only in ``--json`` mode."""
        if not self.json_mode:
            return
        indent = None if compact else 2
        self._out.write(json.dumps(value, indent=indent, ensure_ascii=False) + "\n")
        self._out.flush()

    def warn(self, text: str) -> None:
        """Text on stderr, in either mode: errors, function failures, log tails."""
        if self._line_open:
            self._out.write("\n")
            self._out.flush()
            self._line_open = False
        self._err.write(text if text.endswith("\n") else text + "\n")
        self._err.flush()


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row)]
    lines = [headers, *rows]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def format_clock(epoch_ms: int) -> str:
    """``HH:MM:SS.mmm`` in local time."""
    moment = datetime.fromtimestamp(epoch_ms / 1000)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def format_last_modified(value: str) -> str:
    """Lambda's ``2024-05-01T12:00:00.000+0000`` as local ``2024-05-01 14:00:00``; else as given."""
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, pattern).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return value


def pretty_body(body: bytes) -> str:
    """A response body for reading: indented JSON when it parses, else the text as it came."""
    text = body.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def json_or_text(body: bytes) -> object:
    """A response body for ``--json`` output: the parsed value, or the text when it is not JSON."""
    text = body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
