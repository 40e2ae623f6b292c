"""The Runtime API's HTTP/1.1 protocol, over real loopback sockets with hand-written requests."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from lamina.runtime.http11 import Channel, Connection


@dataclass
class Recorder:
    """A Handler that records requests and answers each with its body's length (or 413 if refused)."""

    allow: bool = True
    requests: list[tuple[str, str, dict[str, str], bytes | None]] = field(default_factory=list)
    closed: int = 0

    def connection_allowed(self, conn: Channel) -> bool:
        return self.allow

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        self.requests.append((method, path, headers, body))
        if body is None:
            conn.respond_json(413, {"error": "too large"})
        else:
            conn.respond(200, {"X-Length": str(len(body))}, b"ok")

    def connection_closed(self, conn: Channel) -> None:
        self.closed += 1


async def exchange(handler: Recorder, raw: bytes, *, max_body: int = 1024, until: int = 1) -> bytes:
    """Send ``raw`` and read until ``until`` responses (or the connection closes)."""
    server = await asyncio.get_running_loop().create_server(lambda: Connection(handler, max_body), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    received = b""
    try:
        while received.count(b"HTTP/1.1 ") < until:
            chunk = await asyncio.wait_for(reader.read(65536), 5)
            if not chunk:
                break
            received += chunk
    finally:
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    return received


def test_content_length_keep_alive_and_pipelining() -> None:
    handler = Recorder()
    raw = (b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
           b"GET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")  # fmt: skip
    received = asyncio.run(exchange(handler, raw, until=2))
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert [(m, p, b) for m, p, _, b in handler.requests] == [("POST", "/a", b"hello"), ("GET", "/b", b"")]
    assert handler.requests[0][2]["content-length"] == "5"  # header names are lower-cased


def test_chunked_body_and_100_continue() -> None:
    handler = Recorder()
    raw = (b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
           b"3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n")  # fmt: skip
    received = asyncio.run(exchange(handler, raw, until=2))
    assert received.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert b"X-Length: 7" in received
    assert handler.requests[0][3] == b"abcdefg"


def test_oversized_body_is_refused_and_dropped() -> None:
    handler = Recorder()
    big = b"x" * 5000
    raw = b"POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + big + b"GET /next HTTP/1.1\r\n\r\n"
    received = asyncio.run(exchange(handler, raw, max_body=1024, until=2))
    assert b"HTTP/1.1 413" in received and b"HTTP/1.1 200 OK" in received
    assert handler.requests[0][3] is None and handler.requests[1][1] == "/next"


def test_malformed_request_gets_400_and_a_closed_connection() -> None:
    handler = Recorder()
    received = asyncio.run(exchange(handler, b"NONSENSE\r\n\r\n"))
    assert received.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in received
    assert handler.requests == []


def test_a_head_over_64_kib_is_refused_whether_or_not_it_arrived_whole() -> None:
    """However the bytes are read (all at once, with the blank line, or in pieces), a request head
    over 64 KiB is never taken as a request: a runtime cannot post a result with it."""
    big = b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n"
    for raw in (big, big[: 66 * 1024]):
        handler = Recorder()
        received = asyncio.run(exchange(handler, raw))
        assert received.startswith(b"HTTP/1.1 400 "), received[:80]
        assert handler.requests == []


def test_refused_connection_gets_403() -> None:
    handler = Recorder(allow=False)
    received = asyncio.run(exchange(handler, b"GET /x HTTP/1.1\r\n\r\n"))
    assert received.startswith(b"HTTP/1.1 403")
    assert handler.requests == []


async def dribble(handler: Recorder, pieces: list[bytes], *, gap: float, head_timeout: float = 30,
                  body_timeout: float = 30, max_body: int = 1024) -> tuple[bytes, bool]:  # fmt: skip
    """Send ``pieces`` ``gap`` seconds apart, and stop sending when the server answers: (what it
    answered within a second of the last piece, whether it closed the connection)."""
    factory = lambda: Connection(handler, max_body, head_timeout=head_timeout, body_timeout=body_timeout)  # noqa: E731
    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received, closed = b"", False
    waits = [gap] * (len(pieces) - 1) + [1.0]
    try:
        for piece, wait in zip(pieces, waits):
            writer.write(piece)
            try:
                chunk = await asyncio.wait_for(reader.read(65536), wait)
            except TimeoutError:
                continue
            received += chunk
            break
        while received:  # the server began to answer: the rest of it, and whether it closes
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 1)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
    return received, closed


def test_slow_head_is_answered_408_and_closed() -> None:
    handler = Recorder()
    head = b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"
    received, closed = asyncio.run(dribble(handler, [bytes([b]) for b in head], gap=0.05, head_timeout=0.5))
    assert received.startswith(b"HTTP/1.1 408 Request Timeout")
    assert closed
    assert handler.requests == []


def test_slow_body_is_answered_408_and_closed() -> None:
    handler = Recorder()
    head = b"POST /r HTTP/1.1\r\nContent-Length: 100\r\n\r\n"
    pieces = [head] + [b"x"] * 60  # the head at once, then the body a byte at a time
    received, closed = asyncio.run(dribble(handler, pieces, gap=0.05, head_timeout=0.5, body_timeout=1))
    assert received.startswith(b"HTTP/1.1 408")
    assert closed
    assert handler.requests == []


def test_no_deadline_between_requests_or_while_answering() -> None:
    """A runtime's connection waits for its next event (a long poll), and idles while its function
    runs: neither is a slow request."""

    @dataclass
    class LongPoll(Recorder):
        def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str],
                           body: bytes | None) -> None:  # fmt: skip
            self.requests.append((method, path, headers, body))
            asyncio.get_running_loop().call_later(0.5, conn.respond, 200, {}, b"event")

    async def two_requests_apart() -> list[bytes]:
        factory = lambda: Connection(handler, 1024, head_timeout=0.2, body_timeout=0.2)  # noqa: E731
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        answers = []
        try:
            for _ in range(2):
                writer.write(b"GET /next HTTP/1.1\r\n\r\n")
                answers.append(await asyncio.wait_for(reader.readuntil(b"event"), 5))
                await asyncio.sleep(0.5)  # idle, as while a function runs
        finally:
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()
        return answers

    handler = LongPoll()
    answers = asyncio.run(two_requests_apart())
    assert [a.split(b"\r\n")[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 2
    assert len(handler.requests) == 2


def test_an_oversized_body_dropped_slowly_has_the_body_deadline_and_no_more() -> None:
    """The rest of a refused body is read and dropped under the body's deadline; once it is over,
    the connection is idle and keeps no deadline."""

    async def refused_then_idle() -> bytes:
        factory = lambda: Connection(Recorder(), 10, head_timeout=0.3, body_timeout=0.3)  # noqa: E731
        server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        try:
            writer.write(b"POST /big HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789")
            answer = await asyncio.wait_for(reader.readuntil(b"too large\"}"), 5)
            writer.write(b"0123456789")  # the rest of the refused body, within its deadline
            await asyncio.sleep(0.6)  # idle for longer than either deadline
            writer.write(b"GET /after HTTP/1.1\r\n\r\n")
            answer += await asyncio.wait_for(reader.readuntil(b"ok"), 5)
        finally:
            writer.close()
            await writer.wait_closed()
            server.close()
            await server.wait_closed()
        return answer

    answer = asyncio.run(refused_then_idle())
    assert answer.startswith(b"HTTP/1.1 413") and b"HTTP/1.1 200 OK" in answer  # not timed out while idle


# -- lending to the native data plane ------------------------------------------------------------


@dataclass
class Holder:
    """A Handler that answers nothing (as a runtime's ``next`` waits), keeping what it was handed."""

    held: list[tuple[str, str]] = field(default_factory=list)

    def connection_allowed(self, conn: Channel) -> bool:
        return True

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        self.held.append((method, path))

    def connection_closed(self, conn: Channel) -> None:
        pass


async def held_after(raw: bytes, *, initial: bytes = b"") -> tuple[bool, list[tuple[str, str]]]:
    """Whether the server's end is between requests once ``raw`` arrived (and what it was handed)."""
    handler = Holder()
    made: list[Connection] = []

    def protocol() -> Connection:
        made.append(Connection(handler, 1024, initial=initial))
        return made[-1]

    server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    writer.write(raw)
    await writer.drain()
    for _ in range(500):  # until it was handed a request (raw arrives in one read: all of it is read then)
        if made and handler.held:
            break
        await asyncio.sleep(0.01)
    between = made[0].between_requests
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    return between, handler.held


def test_a_connection_is_lendable_only_between_requests_kept_alive() -> None:
    nxt = b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"
    assert asyncio.run(held_after(nxt)) == (True, [("GET", "/next")])
    assert asyncio.run(held_after(nxt + b"POST /x HTTP/1.1\r\n")) == (False, [("GET", "/next")])  # the next one begun
    assert asyncio.run(held_after(b"GET /next HTTP/1.1\r\nConnection: close\r\n\r\n")) == (False, [("GET", "/next")])
    assert asyncio.run(held_after(b"GET /next HTTP/1.0\r\n\r\n")) == (False, [("GET", "/next")])


def test_a_connection_given_back_reads_what_was_read_of_it_first() -> None:
    between, held = asyncio.run(held_after(b"", initial=b"GET /next HTTP/1.1\r\n\r\n"))
    assert (between, held) == (True, [("GET", "/next")])
