"""``lamina dev --debug``'s forwarder (debug/forwarder.py) over real sockets, attacked: a second
debugger, an environment that dies under one, oversized and garbage requests, a close while
forwarding; and the rules it is held to (debug/session.py, sandbox/debug_port.py), with plain values."""

from __future__ import annotations

import asyncio
import socket
from typing import Awaitable, Callable

import pytest

from lamina.debug.forwarder import HEAD_BYTES, Forwarder
from lamina.debug.session import DebugSpec, is_discovery, is_loopback, refusal, runtime_variables
from lamina.sandbox.debug_port import DebuggerClock


class Adapter:
    """A real listener in the debug adapter's place: it echoes what it receives. ``Debuggee``'s
    protocol over it, and what the forwarder told it (``attachments``)."""

    id = "adapter"

    def __init__(self) -> None:
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.attachments: list[bool] = []
        self.connections = 0
        self.closed = 0  # connections the forwarder closed on the adapter's side
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._echo, "127.0.0.1", 0)

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        self.closed += 1
        writer.close()

    async def debugger_socket(self) -> socket.socket:
        assert self.server is not None
        if self.exited.done():
            raise OSError("the environment has exited")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        await asyncio.get_running_loop().sock_connect(sock, self.server.sockets[0].getsockname())
        return sock

    def debugger(self, attached: bool) -> None:
        self.attachments.append(attached)

    async def gone(self) -> None:
        await asyncio.shield(self.exited)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


Scenario = Callable[[Forwarder, Adapter], Awaitable[None]]


def run(scenario: Scenario, discovery: Callable[[bytes], bool] | None = None) -> None:
    async def main() -> None:
        before = asyncio.all_tasks()
        adapter = Adapter()
        await adapter.start()

        async def locate() -> Adapter:
            return adapter

        forwarder = Forwarder(0, locate, discovery)
        await forwarder.start()
        try:
            await scenario(forwarder, adapter)
        finally:
            await forwarder.close()
            await adapter.close()
        # Every connection the forwarder made to the adapter is closed, and no task of its is left.
        await until(lambda: adapter.closed == adapter.connections)
        assert not forwarder.attached
        leaked = {t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()}
        assert not leaked, leaked

    asyncio.run(main())


async def connect(forwarder: Forwarder) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", forwarder.port)


async def echoed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> bytes:
    writer.write(data)
    await writer.drain()
    return await reader.readexactly(len(data))


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not check():
            await asyncio.sleep(0.01)


def test_a_debugger_is_forwarded_and_holds_the_timeouts_until_it_detaches() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, b"Content-Length: 2\r\n\r\n{}") == b"Content-Length: 2\r\n\r\n{}"
        assert forwarder.attached and adapter.attachments == [True]
        big = bytes(range(256)) * 4096  # a megabyte, both ways, drained as it goes
        assert await echoed(reader, writer, big) == big
        writer.close()
        await until(lambda: not forwarder.attached)
        assert adapter.attachments == [True, False]
        await until(lambda: adapter.closed == 1)

    run(scenario)


def test_a_second_debugger_is_refused_and_the_first_goes_on() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, b"first") == b"first"
        second_reader, second_writer = await connect(forwarder)
        assert await second_reader.read() == b""  # closed at once, never forwarded
        second_writer.close()
        assert await echoed(reader, writer, b"still here") == b"still here"
        assert adapter.connections == 1 and adapter.attachments == [True]
        writer.close()
        await until(lambda: not forwarder.attached)
        # Once it detached, the next debugger is welcome.
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, b"next") == b"next"
        writer.close()

    run(scenario)


def test_the_environment_dying_under_a_debugger_closes_both_sides() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, b"ping") == b"ping"
        adapter.exited.set_result(137)
        assert await reader.read() == b""  # the debugger sees its connection end
        writer.close()
        assert not forwarder.attached and adapter.attachments == [True, False]
        await until(lambda: adapter.closed == 1)  # and the adapter's side is closed too
        # A debugger that comes now finds no environment to reach: closed, not attached.
        reader, writer = await connect(forwarder)
        assert await reader.read() == b""
        writer.close()
        assert adapter.attachments == [True, False]

    run(scenario)


def test_closing_the_forwarder_ends_the_connection_it_forwards() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, b"ping") == b"ping"
        await forwarder.close()
        assert await reader.read() == b""
        writer.close()
        assert adapter.attachments == [True, False]
        with pytest.raises(OSError):
            await connect(forwarder)  # no longer listening

    run(scenario)


def test_a_failing_lookup_closes_the_connection_without_attaching() -> None:
    async def main() -> None:
        async def locate() -> Adapter:
            raise RuntimeError("the function failed to initialise")

        forwarder = Forwarder(0, locate)
        await forwarder.start()
        reader, writer = await connect(forwarder)
        assert await reader.read() == b""
        writer.close()
        assert not forwarder.attached
        await forwarder.close()

    asyncio.run(main())


LOOKUP = b"GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
WEBSOCKET = b"GET /9d1d HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"


def test_node_lookups_are_forwarded_beside_the_debugger_and_bad_requests_are_refused() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        assert await echoed(reader, writer, WEBSOCKET) == WEBSOCKET
        assert await echoed(reader, writer, b"\x81\x05hello") == b"\x81\x05hello"  # a frame after the upgrade
        assert forwarder.attached and adapter.attachments == [True]
        # A lookup while the debugger is attached is forwarded, and is no debugger.
        lookup_reader, lookup_writer = await connect(forwarder)
        assert await echoed(lookup_reader, lookup_writer, LOOKUP) == LOOKUP
        lookup_writer.close()
        assert adapter.attachments == [True]
        # A second WebSocket is a second debugger: refused.
        second_reader, second_writer = await connect(forwarder)
        second_writer.write(WEBSOCKET)
        assert await second_reader.read() == b""
        second_writer.close()
        # A head larger than HEAD_BYTES, and bytes that are no HTTP request, are refused unforwarded.
        for attack in (b"GET /json/list HTTP/1.1\r\nX: " + b"a" * HEAD_BYTES + b"\r\n\r\n", b"\x00\xff" * 10):
            bad_reader, bad_writer = await connect(forwarder)
            bad_writer.write(attack)
            if len(attack) < HEAD_BYTES:
                bad_writer.write_eof()
            assert await bad_reader.read() == b""
            bad_writer.close()
        assert adapter.connections == 2  # the debugger's and the lookup's, nothing else
        writer.close()

    run(scenario, discovery=is_discovery)


def test_closing_ends_a_connection_still_sending_its_request() -> None:
    async def scenario(forwarder: Forwarder, adapter: Adapter) -> None:
        reader, writer = await connect(forwarder)
        writer.write(b"GET /json/li")  # and nothing more: the forwarder waits for the rest
        await writer.drain()
        await forwarder.close()  # run() checks that no task of its is left
        async with asyncio.timeout(10):  # the connection ends: closed, or reset (its request unread)
            try:
                assert await reader.read() == b""
            except ConnectionResetError:
                pass
        writer.close()
        assert adapter.connections == 0

    run(scenario, discovery=is_discovery)


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.7", False), ("192.168.1.2", False), ("0.0.0.0", False), ("::", False), ("::ffff:10.0.0.1", False),
    ("fe80::1%eth0", False), ("localhost", False), ("", False), ("127.0.0.1; rm -rf /", False),
])  # fmt: skip
def test_only_this_machines_loopback_is_loopback(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_only_a_development_server_on_loopback_debugs() -> None:
    assert refusal("127.0.0.1", True) is None
    assert refusal("localhost", True) is None
    assert refusal("::1", True) is None
    outside = refusal("0.0.0.0", True)
    assert outside is not None and "loopback" in outside and "0.0.0.0" in outside
    keyed = refusal("127.0.0.1", False)
    assert keyed is not None and "LAMINA_ACCESS_KEYS" in keyed


def test_node_lookups_are_told_from_websockets() -> None:
    assert is_discovery(LOOKUP)
    assert is_discovery(b"GET /json/version HTTP/1.1\r\n\r\n")
    assert not is_discovery(WEBSOCKET)
    assert not is_discovery(b"GET /json/list HTTP/1.1\r\nupgrade: WebSocket\r\n\r\n")
    assert not is_discovery(b"POST /json/list HTTP/1.1\r\n\r\n")


def test_what_the_runtimes_are_told() -> None:
    python = DebugSpec("fn", "python", wait=True, port=5678)
    assert runtime_variables(python, 5678, "/var/runtime") == {
        "_LAMINA_DEBUG": "127.0.0.1:5678", "_LAMINA_DEBUG_WAIT": "1", "_LAMINA_DEBUGPY": "/var/runtime"}
    assert runtime_variables(DebugSpec("fn", "python", wait=False, port=0), 41000, None) == {
        "_LAMINA_DEBUG": "127.0.0.1:41000"}
    node = DebugSpec("fn", "nodejs", wait=False, port=9300)
    assert node.inner_port == 9229  # inside its own namespace: the usual port, whatever the host's
    assert runtime_variables(node, 9229, None) == {"_LAMINA_NODE_INSPECT": "--inspect=127.0.0.1:9229"}
    assert runtime_variables(DebugSpec("fn", "nodejs", wait=True, port=9229), 9229, None) == {
        "_LAMINA_NODE_INSPECT": "--inspect-brk=127.0.0.1:9229"}


def test_a_debugger_attached_holds_the_timeout_and_a_detach_restarts_it() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        clock = DebuggerClock()
        result: asyncio.Future[None] = loop.create_future()
        await clock.wait([result], 0.01)  # nobody attached: the timeout runs out
        assert not result.done()
        clock.set(True)
        waiting = asyncio.ensure_future(clock.wait([result], 0.01))
        await asyncio.sleep(0.2)  # twenty timeouts' worth: still waiting
        assert not waiting.done()
        clock.set(False)  # detached: the timeout runs again, from then
        await waiting
        clock.set(True)
        waiting = asyncio.ensure_future(clock.wait([result], 0.01))
        result.set_result(None)  # the invocation ended while attached
        await waiting

    asyncio.run(main())
