"""A barrier that holds invocations inside their handlers, so that many environments are busy at once.

Handlers connect to it on loopback and wait for their connection to close. ``arrived`` counts
them and ``on_arrival`` is called for each; ``release`` closes every held connection, so the
handlers return. Use as an async context manager: leaving it releases whoever is still held and
stops listening, whatever happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Barrier:
    def __init__(self, on_arrival: Callable[[], None] = lambda: None) -> None:
        self.arrived = 0
        self._on_arrival = on_arrival
        self._held: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return host, port

    async def __aenter__(self) -> Barrier:
        self._server = await asyncio.start_server(self._arrive, "127.0.0.1", 0, backlog=4096)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _arrive(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._held.append(writer)
        self.arrived += 1
        self._on_arrival()

    def release(self) -> None:
        held, self._held = self._held, []
        for writer in held:
            writer.close()
