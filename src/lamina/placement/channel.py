"""A server's connection to one node's worker: requests multiplexed by id over one TCP connection.

``request`` sends a frame and waits for the frame answering its id; ``send`` sends one that needs
no answer. Frames the worker sends on its own (log lines, usage records, an environment's invoke
phase finished) go to ``on_frame``. When the connection ends, every request waiting fails with
``ChannelLost`` and ``on_lost`` is told once: the node's environments are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from typing import Any, Callable

from lamina.placement import frames
from lamina.placement.frames import Frame, FrameError
from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0


class ChannelLost(Exception):
    """The worker's connection ended: what was asked of it has no answer."""


class WorkerChannel:
    def __init__(self, node_id: str, on_frame: Callable[[Frame], None], on_lost: Callable[[str], None]) -> None:
        self.node_id = node_id
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Frame]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self.closed = False

    async def connect(self, host: str, port: int, hello: dict[str, Any]) -> None:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                CONNECT_TIMEOUT_S)  # fmt: skip
        self._writer = writer
        writer.write(frames.encode({"op": "hello", **hello}))
        welcome = await asyncio.wait_for(frames.read(reader), CONNECT_TIMEOUT_S)
        if welcome.op != "welcome":
            writer.close()
            raise ChannelLost(f"the worker of node {self.node_id} did not welcome this server")
        self._reading = asyncio.create_task(self._read(reader), name=f"lamina-ray-channel-{self.node_id[:8]}")

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        if self.closed or self._writer is None:
            raise ChannelLost(self.node_id)
        self._writer.write(frames.encode(header, body))

    async def request(self, header: dict[str, Any], body: bytes = b"") -> Frame:
        rid = next(self._ids)
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = future
        try:
            self.send({**header, "id": rid}, body)
            return await future
        finally:
            self._waiting.pop(rid, None)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                frame = await frames.read(reader)
                waiting = self._waiting.get(frame.id) if frame.id else None
                if waiting is not None:
                    if not waiting.done():
                        waiting.set_result(frame)
                else:
                    self._on_frame(frame)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, FrameError) as exc:
            log.warning("ray: the channel to node %s ended (%s)", self.node_id, type(exc).__name__)
        finally:
            self._lost()

    def _lost(self, *, closing: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ChannelLost(self.node_id))
        if self._writer is not None:
            self._writer.close()
        if not closing:
            self._on_lost(self.node_id)

    async def close(self) -> None:
        """Close the connection (this server stops): the worker stops the environments it started."""
        self._lost(closing=True)
        if self._reading is not None:
            await cancel_and_wait(self._reading)
        if self._writer is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
