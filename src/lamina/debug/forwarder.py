"""A listener on the host's loopback whose connections are forwarded into an environment's namespace.

An environment's debug adapter (debugpy, Node's inspector) listens on the environment's own
loopback, in its network namespace, which nothing on the host reaches. The forwarder listens at
127.0.0.1:PORT on the host; for each connection it finds the environment (``locate``: the debugged
function's, started for it if it has none), makes a socket inside its namespace and connects it to
the adapter, then copies bytes both ways until either side closes or the environment exits.

One debugger at a time: a connection that arrives while another is forwarded is closed at once
(the invocation a debugger pauses is that debugger's), and so is one from a peer that is not this
machine's loopback. Node's inspector is found through HTTP first (``GET /json/list``, then a
WebSocket to the target it names): with ``discovery`` (``session.is_discovery``), a connection whose
request is not the WebSocket's is forwarded without being the debugger (a few at once), so that a
client's lookup never makes its own WebSocket a second debugger. Closing the forwarder ends the
connections it forwards; no task or socket of its own outlives ``close``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Awaitable, Callable, Protocol

from lamina.debug.session import is_loopback

log = logging.getLogger(__name__)

CHUNK = 64 * 1024  # read at most this much at a time; each write is drained before the next read
HEAD_BYTES = 8 * 1024  # an HTTP request's head (``discovery``) larger than this is refused
HEAD_SECONDS = 10.0  # and one that takes longer to arrive
MAX_DISCOVERIES = 4  # discovery connections forwarded at once


class Debuggee(Protocol):
    """An environment a debugger is forwarded to."""

    @property
    def id(self) -> str: ...

    async def debugger_socket(self) -> socket.socket:
        """A socket connected to the debug adapter inside the environment; OSError once it is gone."""
        ...

    def debugger(self, attached: bool) -> None:
        """Told when a debugger attaches and detaches (its timeouts are held meanwhile)."""
        ...

    async def gone(self) -> None:
        """Returns once the environment has exited."""
        ...


class Forwarder:
    """Forwards connections to 127.0.0.1:``port`` to what ``locate`` finds (see the module docstring)."""

    def __init__(self, port: int, locate: Callable[[], Awaitable[Debuggee]],
                 discovery: Callable[[bytes], bool] | None = None) -> None:  # fmt: skip
        self._port = port
        self._locate = locate
        self._discovery = discovery  # whether a request's head is a lookup, not a debugger (see above)
        self._server: asyncio.Server | None = None
        self._current: asyncio.Task[None] | None = None  # forwarding the attached debugger
        self._lookups: set[asyncio.Task[None]] = set()  # forwarding discovery connections
        self._connections: set[asyncio.Task[None]] = set()  # every connection's task, until it ends

    @property
    def port(self) -> int:
        return self._port

    @property
    def attached(self) -> bool:
        """Whether a debugger's connection is being forwarded now."""
        return self._current is not None

    async def start(self) -> None:
        """Listen; OSError if the port cannot be had (another program has it)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self._port, reuse_address=True,
                                                  limit=HEAD_BYTES)  # fmt: skip
        self._port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and end the forwarded connection, if any; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else ""
        if not is_loopback(str(address)):
            log.warning("debug port %d: refused a connection from %s, which is not this machine's loopback", self._port, address)
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        head = b""
        try:
            if self._discovery is not None:
                head = await self._head(reader)
                if not head:
                    return
                if self._discovery(head):
                    if len(self._lookups) >= MAX_DISCOVERIES or self._server is None:
                        return
                    self._lookups.add(task)
                    await self._forward(reader, writer, head, debugger=False)
                    return
            if self._current is not None or self._server is None:
                log.warning("debug port %d: refused a second debugger: one is attached already", self._port)
                return
            self._current = task
            await self._forward(reader, writer, head, debugger=True)
        except asyncio.CancelledError:  # by close(): this task is the connection's own, and ends here
            pass
        except OSError as exc:
            log.warning("debug port %d: the function's environment cannot be reached: %s", self._port, exc)
        except Exception as exc:  # its environment failed to start: the debugger sees the connection close
            log.warning("debug port %d: no environment to debug: %s", self._port, exc)
        finally:
            self._connections.discard(task)
            self._lookups.discard(task)
            if self._current is task:
                self._current = None  # before the close: the debugger may connect again as soon as it sees it
            writer.close()

    async def _head(self, reader: asyncio.StreamReader) -> bytes:
        """The head of the HTTP request a connection starts with; empty (refused) if it is not one,
        is larger than HEAD_BYTES or takes longer than HEAD_SECONDS."""
        try:
            async with asyncio.timeout(HEAD_SECONDS):
                return await reader.readuntil(b"\r\n\r\n")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            log.warning("debug port %d: refused a connection that sent no HTTP request", self._port)
            return b""

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, *,
                       debugger: bool) -> None:  # fmt: skip
        """Forward the connection (``head``: what was read of it already) to the environment; a
        ``debugger`` holds its timeouts meanwhile."""
        env = await self._locate()
        inner_reader, inner_writer = await asyncio.open_connection(sock=await env.debugger_socket())
        inner_writer.write(head)
        if not debugger:
            try:
                await _both_ways(reader, writer, inner_reader, inner_writer, env)
            finally:
                inner_writer.close()
            return
        env.debugger(True)
        log.info("debug port %d: a debugger is attached to environment %s", self._port, env.id)
        try:
            await _both_ways(reader, writer, inner_reader, inner_writer, env)
        finally:
            inner_writer.close()
            env.debugger(False)
            log.info("debug port %d: the debugger of environment %s is detached", self._port, env.id)


async def _both_ways(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, inner_reader: asyncio.StreamReader,
                     inner_writer: asyncio.StreamWriter, env: Debuggee) -> None:  # fmt: skip
    """Copy bytes both ways until either side closes or the environment exits."""
    copies = [asyncio.ensure_future(_copy(reader, inner_writer)), asyncio.ensure_future(_copy(inner_reader, writer)),
              asyncio.ensure_future(env.gone())]  # fmt: skip
    try:
        await asyncio.wait(copies, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in copies:
            task.cancel()
        await asyncio.gather(*copies, return_exceptions=True)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """What ``reader`` receives, written to ``writer``, until it ends (or either side fails)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
