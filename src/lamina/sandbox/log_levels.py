"""Lambda's log-level filtering of a function's application logs (LoggingConfig ``JSON`` with an
``ApplicationLogLevel``), applied to every line the function writes, whatever its runtime.

As AWS documents it: a line that is a JSON object with a ``"level"`` key has that level; a line
without one, or with a level Lambda does not know, is INFO; lines below the configured level
(INFO when none is given) are not sent to the log. Runtimes with their own JSON logging (Python,
Node.js, Java, .NET, Ruby) already leave out what is below the level; this is what filters the
rest: custom runtimes, Go, and plain prints (INFO, so dropped under WARN and above). Levels are
read case-insensitively, with the names .NET's and Java's loggers use for some of them
(``Information``, ``Warning``, ``Critical``). Pure.
"""

from __future__ import annotations

import json
from typing import Callable

from lamina.model import LoggingSettings

RANKS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "ERROR": 4, "FATAL": 5}
_NAMES = {**RANKS, "WARNING": RANKS["WARN"], "INFORMATION": RANKS["INFO"], "CRITICAL": RANKS["FATAL"]}
_INFO = RANKS["INFO"]


def application_filter(logging: LoggingSettings) -> Callable[[str], bool] | None:
    """Whether a line of the function's output is kept, or None: every line is (text logs, or a
    level that keeps everything)."""
    if logging.log_format != "JSON":
        return None
    least = RANKS.get(logging.application_level or "INFO", _INFO)
    if least == RANKS["TRACE"]:
        return None

    def keep(line: str) -> bool:
        return level_of(line) >= least

    return keep


def level_of(line: str) -> int:
    """The rank of a line's level: its JSON object's ``"level"``, else INFO's."""
    if not line.startswith("{"):
        return _INFO
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return _INFO
    level = doc.get("level") if isinstance(doc, dict) else None
    if not isinstance(level, str):
        return _INFO
    return _NAMES.get(level.strip().upper(), _INFO)
