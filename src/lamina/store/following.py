"""What a server reads again when other servers on its database change resources (``KindRereads``,
for ``ChangeFeed.follow_resources``): by kind, each kind's reader; after the feed was interrupted,
every reader once."""

from __future__ import annotations

from typing import Awaitable, Callable, Mapping


class KindRereads:
    def __init__(self, by_kind: Mapping[str, Callable[[], Awaitable[None]]]) -> None:
        self._by_kind = dict(by_kind)

    async def reread(self, kind: str) -> None:
        """Read the resources of ``kind`` again (a kind no reader follows is nothing to read)."""
        found = self._by_kind.get(kind)
        if found is not None:
            await found()

    async def reread_all(self) -> None:
        done: list[Callable[[], Awaitable[None]]] = []  # a reader of several kinds reads once
        for read in self._by_kind.values():
            if read not in done:
                done.append(read)
                await read()
