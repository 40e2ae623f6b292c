"""The Runtime API's framed encoding: a real RuntimeApiEndpoint on a loopback port, and a client
written here with asyncio streams that speaks frames (and HTTP) byte by byte."""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from lamina.runtime import constants as rc
from lamina.runtime.api import Invocation, RuntimeApiEndpoint, RuntimeResult
from lamina.runtime.frames import LINES_ROOM, PREFACE
from lamina.runtime.http11 import Connection

LIMIT = 1000  # the endpoints' response limit here


def frame(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", len(body) + 1) + kind + body


def invocation(request_id: str = "req-1", payload: bytes = b'{"n": 1}') -> Invocation:
    return Invocation(request_id=request_id, payload=payload, deadline_ms=1234,
                      function_arn="arn:aws:lambda:us-east-1:000000000000:function:f", trace_id="Root=1-abc",
                      client_context="e30=")  # fmt: skip


@dataclass
class Event:
    headers: dict[str, str]
    payload: bytes


@dataclass
class Peer:
    """A runtime's connection to the endpoint."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def send(self, *pieces: bytes) -> None:
        """Each piece on its own, and read by the server before the next is sent."""
        for piece in pieces:
            self.writer.write(piece)
            await self.writer.drain()
            await asyncio.sleep(0.002)

    async def event(self) -> Event:
        length, kind = struct.unpack(">IB", await asyncio.wait_for(self.reader.readexactly(5), 5))
        assert kind == ord("E")
        body = await asyncio.wait_for(self.reader.readexactly(length - 1), 5)
        head, _, payload = body.partition(b"\r\n\r\n")
        lines = [line.split(": ", 1) for line in head.decode().split("\r\n")]
        return Event({name: value for name, value in lines}, payload)

    async def closed_by_server(self) -> bool:
        """Whether the server closes the connection (reading nothing else) within a few seconds."""
        try:
            return await asyncio.wait_for(self.reader.read(), 5) == b""
        except (TimeoutError, ConnectionError):
            return False

    async def silent(self) -> bool:
        """Whether the server writes nothing for a moment."""
        try:
            await asyncio.wait_for(self.reader.read(1), 0.2)
        except TimeoutError:
            return True
        return False


@contextlib.asynccontextmanager
async def endpoint(body_timeout: float | None = None) -> AsyncIterator[tuple[RuntimeApiEndpoint, Callable[[], Awaitable[Peer]]]]:
    api = RuntimeApiEndpoint(max_response_bytes=LIMIT)
    server = None
    if body_timeout is None:
        port = await api.start("127.0.0.1")
    else:
        server = await asyncio.get_running_loop().create_server(
            lambda: Connection(api, LIMIT, head_timeout=body_timeout, body_timeout=body_timeout), "127.0.0.1", 0
        )
        port = server.sockets[0].getsockname()[1]
    peers: list[Peer] = []

    async def connect() -> Peer:
        peer = Peer(*await asyncio.open_connection("127.0.0.1", port))
        peers.append(peer)
        return peer

    try:
        yield api, connect
    finally:
        for peer in peers:
            peer.writer.close()
            with contextlib.suppress(ConnectionError):
                await peer.writer.wait_closed()
        await api.stop()
        if server is not None:
            server.close()


async def ready(api: RuntimeApiEndpoint, connect: Callable[[], Awaitable[Peer]]) -> Peer:
    """A framed connection whose runtime has asked for its first event."""
    peer = await connect()
    await peer.send(PREFACE + frame(b"N"))
    await asyncio.wait_for(api.ready, 5)
    return peer


async def delivered(api: RuntimeApiEndpoint, connect: Callable[[], Awaitable[Peer]]) -> tuple[Peer, Invocation]:
    """A framed connection that has taken invocation ``req-1``'s event."""
    peer = await ready(api, connect)
    inv = invocation()
    api.deliver(inv)
    await peer.event()
    return peer, inv


async def result_of(inv: Invocation) -> RuntimeResult:
    return await asyncio.wait_for(inv.result, 5)


def test_event_frame_carries_the_next_response_headers() -> None:
    async def scenario() -> Event:
        async with endpoint() as (api, connect):
            peer = await ready(api, connect)
            api.deliver(invocation())
            return await peer.event()

    event = asyncio.run(scenario())
    assert event.payload == b'{"n": 1}'
    assert event.headers[rc.HEADER_REQUEST_ID] == "req-1"
    assert event.headers[rc.HEADER_DEADLINE_MS] == "1234"
    assert event.headers[rc.HEADER_FUNCTION_ARN] == "arn:aws:lambda:us-east-1:000000000000:function:f"
    assert event.headers[rc.HEADER_TRACE_ID] == "Root=1-abc"
    assert event.headers[rc.HEADER_CLIENT_CONTEXT] == "e30="
    assert rc.HEADER_COGNITO_IDENTITY not in event.headers


def test_frames_split_at_every_byte_boundary() -> None:
    """The opening (preface and N) and a result with the next N, each cut at every byte."""
    opening = PREFACE + frame(b"N")
    answer = frame(b"R", b"req-1\n" + b'{"ok": true}') + frame(b"N")

    async def one(stream: bytes, cut: int, opening_cut: bool) -> None:
        async with endpoint() as (api, connect):
            peer = await connect()
            if opening_cut:
                await peer.send(stream[:cut], stream[cut:])
            else:
                await peer.send(opening)
            await asyncio.wait_for(api.ready, 5)
            inv = invocation()
            api.deliver(inv)
            assert (await peer.event()).headers[rc.HEADER_REQUEST_ID] == "req-1"
            if not opening_cut:
                await peer.send(stream[:cut], stream[cut:])
            else:
                await peer.send(answer)
            assert await result_of(inv) == RuntimeResult(b'{"ok": true}')
            await asyncio.wait_for(api.asked_for_next(), 5)  # the N that followed was read too
            api.finish()
            second = invocation("req-2")
            api.deliver(second)
            assert (await peer.event()).headers[rc.HEADER_REQUEST_ID] == "req-2"

    async def scenario() -> None:
        for cut in range(1, len(opening)):
            await one(opening, cut, True)
        for cut in range(1, len(answer)):
            await one(answer, cut, False)

    asyncio.run(scenario())


def test_every_frame_of_a_read_is_handled() -> None:
    """Several frames in one read: an unknown kind, a result for another request, the result, then N."""

    async def scenario() -> tuple[RuntimeResult, str]:
        async with endpoint() as (api, connect):
            peer, inv = await delivered(api, connect)
            await peer.send(frame(b"Z", b"whatever\n") + frame(b"R", b"made-up\nnope") + frame(b"R", b"req-1\nyes")
                            + frame(b"N"))  # fmt: skip
            result = await result_of(inv)
            await asyncio.wait_for(api.asked_for_next(), 5)
            api.finish()
            api.deliver(invocation("req-2"))
            return result, (await peer.event()).headers[rc.HEADER_REQUEST_ID]

    result, next_id = asyncio.run(scenario())
    assert result == RuntimeResult(b"yes")
    assert next_id == "req-2"


def test_a_result_for_another_request_is_ignored_without_an_answer() -> None:
    async def scenario() -> tuple[bool, bool, RuntimeResult]:
        async with endpoint() as (api, connect):
            peer, inv = await delivered(api, connect)
            await peer.send(frame(b"R", b"made-up\nforged"), frame(b"X", b"req-0\nBoom\n{}"))
            silent, pending = await peer.silent(), not inv.result.done()
            await peer.send(frame(b"R", b"req-1\nreal"))
            return silent, pending, await result_of(inv)

    silent, pending, result = asyncio.run(scenario())
    assert silent and pending
    assert result == RuntimeResult(b"real")


def over_http(payload: bytes) -> bytes:
    return (f"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nContent-Length: {len(payload)}\r\n\r\n"
            .encode() + payload)  # fmt: skip


@pytest.mark.parametrize("size", [LIMIT + 1, LIMIT + LINES_ROOM + 10, 3 * (LIMIT + LINES_ROOM)])
def test_an_oversized_result_fails_as_over_http(size: int) -> None:
    """Whether the frame is kept whole (just over the limit) or dropped as it arrives (beyond the
    limit and the room for its fields), the invocation fails as it does when the result is POSTed
    over HTTP; the connection stays usable."""
    payload = b"x" * size

    async def scenario(framed: bool) -> tuple[RuntimeResult, str]:
        async with endpoint() as (api, connect):
            peer = await connect()
            await peer.send(PREFACE + frame(b"N") if framed else b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
            await asyncio.wait_for(api.ready, 5)
            inv = invocation()
            api.deliver(inv)
            if not framed:
                return await result_of(inv) if await post_http(peer, over_http(payload)) else RuntimeResult(b""), ""
            await peer.event()
            body = frame(b"R", b"req-1\n" + payload) + frame(b"N")
            await peer.send(body[:700], body[700:])  # the id first, then the rest
            result = await result_of(inv)
            await asyncio.wait_for(api.asked_for_next(), 5)
            api.finish()
            api.deliver(invocation("req-2"))
            return result, (await peer.event()).headers[rc.HEADER_REQUEST_ID]

    async def post_http(peer: Peer, request: bytes) -> bool:
        await peer.reader.readuntil(b'{"n": 1}')  # the event, over HTTP
        await peer.send(request)
        return (await asyncio.wait_for(peer.reader.readuntil(b"\r\n"), 5)).startswith(b"HTTP/1.1 413")

    framed, next_id = asyncio.run(scenario(True))
    http, _ = asyncio.run(scenario(False))
    assert framed.error_type == rc.ERROR_RESPONSE_TOO_LARGE
    assert framed == http
    assert next_id == "req-2"


def test_errors_and_init_errors() -> None:
    async def scenario() -> tuple[RuntimeResult, RuntimeResult, RuntimeResult]:
        async with endpoint() as (api, connect):
            peer = await connect()
            await peer.send(PREFACE + frame(b"I", b"Runtime.ImportModuleError\n{}"))
            init_error = await asyncio.wait_for(api.init_error, 5)
            await peer.send(frame(b"N"))
            first, second = invocation(), invocation("req-2")
            api.deliver(first)
            await peer.event()
            await peer.send(frame(b"X", b"req-1\nValueError\n" + b'{"errorType": "ValueError"}') + frame(b"N"))
            named = await result_of(first)
            api.finish()
            api.deliver(second)
            await peer.event()
            doc = json.dumps({"errorType": "FromTheDocument", "errorMessage": "m"}).encode()
            await peer.send(frame(b"X", b"req-2\n\n" + doc))  # no type given: read from the document
            return init_error, named, await result_of(second)

    init_error, named, unnamed = asyncio.run(scenario())
    assert init_error == RuntimeResult(b"{}", "Runtime.ImportModuleError")
    assert named == RuntimeResult(b'{"errorType": "ValueError"}', "ValueError")
    assert unnamed.error_type == "FromTheDocument"


@pytest.mark.parametrize("bad", [frame(b"R", b"no newline"), frame(b"X", b"req-1\nno second newline"),
                                 frame(b"I", b"no newline"), b"\x00\x00\x00\x00", frame(b"R", b"y" * (LIMIT + LINES_ROOM + 1))])  # fmt: skip
def test_a_malformed_frame_closes_the_connection(bad: bytes) -> None:
    async def scenario() -> tuple[bool, bool]:
        async with endpoint() as (api, connect):
            peer, inv = await delivered(api, connect)
            await peer.send(bad + frame(b"R", b"req-1\nafter"))
            return await peer.closed_by_server(), inv.result.done()

    closed, answered = asyncio.run(scenario())
    assert closed
    assert not answered  # nothing after the malformed frame was read


def test_an_unknown_kind_is_dropped_however_long() -> None:
    async def scenario() -> RuntimeResult:
        async with endpoint() as (api, connect):
            peer = await connect()
            big = frame(b"Q", b"q" * (3 * (LIMIT + LINES_ROOM)))
            await peer.send(PREFACE + big[:100], big[100:] + frame(b"N"))
            await asyncio.wait_for(api.ready, 5)
            inv = invocation()
            api.deliver(inv)
            await peer.event()
            await peer.send(frame(b"R", b"req-1\nfine"))
            return await result_of(inv)

    assert asyncio.run(scenario()) == RuntimeResult(b"fine")


def test_a_connection_that_speaks_http_still_works() -> None:
    async def scenario() -> tuple[bytes, bytes, RuntimeResult]:
        async with endpoint() as (api, connect):
            peer = await connect()
            await peer.send(b"GE", b"T /2018-06-01/runtime/invocation/next HTTP/1.1\r\n\r\n")
            await asyncio.wait_for(api.ready, 5)
            inv = invocation()
            api.deliver(inv)
            event = await asyncio.wait_for(peer.reader.readuntil(b'{"n": 1}'), 5)
            await peer.send(over_http(b"done"))
            accepted = await asyncio.wait_for(peer.reader.readuntil(b'"OK"}'), 5)
            return event, accepted, await result_of(inv)

    event, accepted, result = asyncio.run(scenario())
    assert event.startswith(b"HTTP/1.1 200 OK") and b"Lambda-Runtime-Aws-Request-Id: req-1" in event
    assert accepted.startswith(b"HTTP/1.1 202")
    assert result == RuntimeResult(b"done")


def test_both_encodings_at_once() -> None:
    """A framed connection takes the event; the result comes over HTTP on another connection."""

    async def scenario() -> RuntimeResult:
        async with endpoint() as (api, connect):
            framed, http = await connect(), await connect()
            await framed.send(PREFACE + frame(b"N"))
            await asyncio.wait_for(api.ready, 5)
            inv = invocation()
            api.deliver(inv)
            await framed.event()
            await http.send(over_http(b"via http"))
            return await result_of(inv)

    assert asyncio.run(scenario()) == RuntimeResult(b"via http")


def test_a_frame_begun_must_end_in_time_but_idle_connections_have_no_deadline() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        async with endpoint(body_timeout=0.3) as (api, connect):
            idle, slow = await connect(), await connect()
            await idle.send(PREFACE)
            await slow.send(PREFACE, frame(b"R", b"req-1\n" + b"z" * 50)[:20])  # half a frame, then nothing
            slow_closed = await slow.closed_by_server()
            await asyncio.sleep(0.5)  # idle for longer than the deadline
            await idle.send(frame(b"N"))
            await asyncio.wait_for(api.ready, 5)
            api.deliver(invocation())
            event = await idle.event()
            return slow_closed, event.headers[rc.HEADER_REQUEST_ID] == "req-1", not idle.reader.at_eof()

    slow_closed, idle_served, idle_open = asyncio.run(scenario())
    assert slow_closed
    assert idle_served and idle_open


def test_a_preface_split_across_reads() -> None:
    async def scenario() -> str:
        async with endpoint() as (api, connect):
            peer = await connect()
            await peer.send(b"L", b"AMI", b"NA1", b"\n" + frame(b"N"))
            await asyncio.wait_for(api.ready, 5)
            api.deliver(invocation())
            return (await peer.event()).headers[rc.HEADER_REQUEST_ID]

    assert asyncio.run(scenario()) == "req-1"


def test_each_frame_has_its_own_deadline() -> None:
    """Frames that keep arriving, each read ending inside the next frame, are not one slow frame."""
    request = frame(b"R", b"made-up\n" + b"p" * 40)

    async def scenario() -> bool:
        async with endpoint(body_timeout=0.4) as (api, connect):
            peer = await connect()
            await peer.send(PREFACE + request[:10])
            for _ in range(8):  # 0.8 s in all, longer than the deadline; each frame ends well within it
                await asyncio.sleep(0.1)
                await peer.send(request[10:] + request[:10])
            await peer.send(request[10:] + frame(b"N"))
            await asyncio.wait_for(api.ready, 5)
            api.deliver(invocation())
            return (await peer.event()).headers[rc.HEADER_REQUEST_ID] == "req-1"

    assert asyncio.run(scenario())
