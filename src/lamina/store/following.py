"""What a server reads again when other servers on its database change resources (``KindRereads``,
for ``ChangeFeed.follow_resources``): by kind, each kind's reader, or for one key its key's reader
if the kind has one; after the feed was interrupted, every kind's reader once."""

from __future__ import annotations

from typing import Awaitable, Callable, Mapping


class KindRereads:
    def __init__(self, by_kind: Mapping[str, Callable[[], Awaitable[None]]],
                 by_key: Mapping[str, Callable[[str], Awaitable[None]]] | None = None) -> None:  # fmt: skip
        self._by_kind = dict(by_kind)
        self._by_key = dict(by_key or {})

    async def reread(self, subject: str) -> None:
        """Read the resources ``subject`` names again: ``<kind>``, or ``<kind> <key>`` (a kind no
        reader follows is nothing to read)."""
        kind, _, key = subject.partition(" ")
        one = self._by_key.get(kind)
        if key and one is not None:
            await one(key)
            return
        found = self._by_kind.get(kind)
        if found is not None:
            await found()

    async def reread_all(self) -> None:
        done: list[Callable[[], Awaitable[None]]] = []  # a reader of several kinds reads once
        for read in self._by_kind.values():
            if read not in done:
                done.append(read)
                await read()
