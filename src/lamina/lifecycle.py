"""The server's parts stopped in one owned order: the reverse of the order they started in.

``Parts.started(name, close)`` records a part as soon as it has started; ``close()`` stops every
recorded part, last started first. A part whose ``close`` fails is reported (logged with its
name) and the others are stopped all the same: one failed part never skips the rest of the
shutdown. A start that fails half-way closes what had started, the same way (``Server.start``).
``close`` is safe to call twice; the second call has nothing left to do.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

log = logging.getLogger(__name__)

Close = Callable[[], Awaitable[object]]


class Parts:
    def __init__(self) -> None:
        self._started: list[tuple[str, Close]] = []
        self.failed: list[str] = []  # the names of the parts whose close failed, in the order they failed

    def started(self, name: str, close: Close) -> None:
        self._started.append((name, close))

    def __len__(self) -> int:
        return len(self._started)

    async def close(self) -> None:
        while self._started:
            name, close = self._started.pop()
            try:
                await close()
            except Exception:
                log.exception("stopping %s failed; stopping the other parts all the same", name)
                self.failed.append(name)
