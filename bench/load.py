"""The load generator: keep-alive HTTP/1.1 connections driven by callbacks, and a one-request client.

``LoadGenerator`` opens ``concurrency`` connections to one endpoint and keeps exactly one request
in flight on each: a connection sends the next request from the callback that completes the last
response, with no task switch in between, so the client's own cost per request is a parse and a
write. ``run`` measures for a fixed time or a fixed number of requests and can be called again
on the same connections (warm-up, then measurement). The generator's ceiling is visible in every
run: the suite drives the in-process floor server with it, and reports the client's CPU time.

Failure behaviour: a connection the server closes stops taking part and is counted in ``errors``
(it is not reopened); a run that does not finish within its duration plus ``grace_s`` raises
``LoadError``. ``close`` is safe to call twice.

``HttpConnection`` is the plain client for everything that is not load: one request at a time
on one keep-alive connection, the whole response returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit


class LoadError(Exception):
    """The load generator or a request could not complete (the message says why)."""


@dataclass(frozen=True)
class Endpoint:
    """One URL to send the same request to, again and again."""

    base_url: str  # http://host:port
    path: str
    body: bytes = b"{}"
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)
    # Sent every tenth time on each of wrk's threads, this one the other nine (wrk only).
    alternate: Endpoint | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.base_url).port or 80

    def request_bytes(self) -> bytes:
        return encode_request(self.method, self.path, self.host, self.port, self.body, self.headers)


def encode_request(method: str, path: str, host: str, port: int, body: bytes,
                   headers: Mapping[str, str] | None = None) -> bytes:  # fmt: skip
    """The request's bytes, signed as it is encoded (``signature``): a load generator encodes its
    request once and replays it, within the five minutes a signature is good for."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += [f"{k}: {v}" for k, v in signature(method, f"http://{host}:{port}{path}", body, headers).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signature(method: str, url: str, body: bytes, headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers that sign a request to Lamina with the development pair (test/test, Lamina's on
    loopback); the floor and the peer ignore them. Only ``headers`` are signed (with the Host)."""
    from lamina.identity.signing import Credentials, sign

    return sign(method, url, dict(headers or {}), body, Credentials("test", "test"), region="us-east-1")


def signed(endpoint: Endpoint) -> Endpoint:
    """``endpoint`` with a signature made now (and its alternate's): what wrk replays for one run."""
    url = endpoint.base_url + endpoint.path
    headers = {**endpoint.headers, **signature(endpoint.method, url, endpoint.body, endpoint.headers)}
    alternate = signed(endpoint.alternate) if endpoint.alternate is not None else None
    return replace(endpoint, headers=headers, alternate=alternate)


@dataclass(frozen=True)
class Head:
    status: int
    length: int | None  # None: chunked
    close: bool
    headers: dict[str, str]


def parse_head(raw: bytes) -> Head:
    """The status and the framing of a response, from its head (without the blank line)."""
    lines = raw.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise LoadError(f"not an HTTP response: {lines[0][:80]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    length = None if chunked else int(headers.get("content-length", "0"))
    return Head(status, length, headers.get("connection", "").lower() == "close", headers)


def chunked_end(buf: bytes, start: int) -> int:
    """Where the chunked body starting at ``start`` ends in ``buf``; -1 if it is not all there yet."""
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size = int(buf[pos:eol].split(b";", 1)[0], 16)
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)  # optional trailers, then a blank line
            return -1 if end < 0 else end + 4
        pos = eol + 2 + size + 2
        if pos > len(buf):
            return -1


def chunked_body(buf: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        eol = buf.index(b"\r\n", pos)
        size = int(buf[pos:eol].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(buf[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2


# -- the load generator ------------------------------------------------------------------------


@dataclass
class LoadResult:
    """One measured run: latencies (seconds) of the 200 answers, and every status seen."""

    concurrency: int
    elapsed_s: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: int
    client_cpu_s: float

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def client_cpu_share(self) -> float:
        """The client's CPU time over the run's wall time (1.0 = one core busy)."""
        return self.client_cpu_s / self.elapsed_s if self.elapsed_s > 0 else 0.0


class _Run:
    def __init__(self, deadline: float | None, count: int | None, conns: int) -> None:
        self.deadline = deadline
        self.remaining = count
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.active = conns
        self.last = time.perf_counter()
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def more(self) -> bool:
        if self.remaining is not None:
            self.remaining -= 1
            return self.remaining >= 0
        assert self.deadline is not None
        return time.perf_counter() < self.deadline

    def record(self, status: int, latency: float, now: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200:
            self.latencies.append(latency)
        self.last = now

    def finished(self) -> None:
        self.active -= 1
        if self.active <= 0 and not self.done.done():
            self.done.set_result(None)


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes) -> None:
        self._request = request
        self._transport: asyncio.Transport | None = None
        self._buf = b""
        self._head: Head | None = None
        self._body_start = 0
        self._sent = 0.0
        self._run: _Run | None = None
        self.alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def start(self, run: _Run) -> None:
        self._run = run
        if self.alive and run.more():
            self._send()
        else:
            self._run = None
            run.finished()

    def _send(self) -> None:
        assert self._transport is not None
        self._sent = time.perf_counter()
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        while True:
            if self._head is None:
                head_end = buf.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                self._head = parse_head(buf[:head_end])
                self._body_start = head_end + 4
            if self._head.length is not None:
                end = self._body_start + self._head.length
                if len(buf) < end:
                    break
            else:
                end = chunked_end(buf, self._body_start)
                if end < 0:
                    break
            now = time.perf_counter()
            status, buf, self._head = self._head.status, buf[end:], None
            run = self._run
            if run is None:
                continue  # an answer after the run gave up on this connection
            run.record(status, now - self._sent, now)
            if run.more():
                self._send()
            else:
                self._run = None
                run.finished()
        self._buf = buf

    def connection_lost(self, exc: Exception | None) -> None:
        self.alive = False
        if self._run is not None:
            self._run.errors += 1
            run, self._run = self._run, None
            run.finished()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class LoadGenerator:
    """``concurrency`` keep-alive connections to ``endpoint``; use as an async context manager."""

    def __init__(self, endpoint: Endpoint, concurrency: int) -> None:
        self.endpoint = endpoint
        self.concurrency = concurrency
        self._conns: list[_Connection] = []

    async def __aenter__(self) -> LoadGenerator:
        loop = asyncio.get_running_loop()
        request = self.endpoint.request_bytes()
        try:
            for _ in range(self.concurrency):
                _, proto = await loop.create_connection(lambda: _Connection(request), self.endpoint.host,
                                                        self.endpoint.port)  # fmt: skip
                self._conns.append(proto)
        except OSError as exc:
            self.close()
            raise LoadError(f"cannot connect to {self.endpoint.base_url}: {exc}") from exc
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for conn in self._conns:
            conn.close()
        self._conns.clear()

    async def run(self, *, duration_s: float | None = None, requests: int | None = None,
                  grace_s: float = 60.0) -> LoadResult:  # fmt: skip
        """Measure for ``duration_s`` seconds, or until ``requests`` answers; one of the two."""
        assert (duration_s is None) != (requests is None), "give a duration or a number of requests"
        live = [c for c in self._conns if c.alive]
        if not live:
            raise LoadError(f"every connection to {self.endpoint.base_url} is closed")
        cpu0, start = time.process_time(), time.perf_counter()
        deadline = start + duration_s if duration_s is not None else None
        run = _Run(deadline, requests, len(live))
        for conn in live:
            conn.start(run)
        limit = (duration_s or 0) + grace_s
        try:
            await asyncio.wait_for(asyncio.shield(run.done), limit)
        except TimeoutError as exc:
            raise LoadError(f"{self.endpoint.base_url}: the run did not finish within {limit:.0f} s") from exc
        return LoadResult(self.concurrency, run.last - start, run.latencies, run.statuses, run.errors,
                          time.process_time() - cpu0)  # fmt: skip


# -- one request at a time ---------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float


class HttpConnection:
    """One keep-alive connection; ``request`` sends one request and returns the whole response.

    A connection the server closed is reopened on the next request. Not for concurrent use: one
    request at a time (open one connection per concurrent request).
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> HttpConnection:
        if self._writer is None:
            try:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
            except OSError as exc:
                raise LoadError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        return self

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def request(self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None,
                      *, timeout: float = 120.0) -> Response:  # fmt: skip
        await self.open()
        assert self._reader is not None and self._writer is not None
        reader, writer = self._reader, self._writer
        start = time.perf_counter()
        try:
            writer.write(encode_request(method, path, self.host, self.port, body, headers))
            async with asyncio.timeout(timeout):
                head = parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
                if head.length is not None:
                    payload = await reader.readexactly(head.length)
                else:
                    raw = b""
                    while (end := chunked_end(raw, 0)) < 0:
                        raw += await reader.readuntil(b"\r\n")
                    payload = chunked_body(raw[:end])
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            await self.close()
            raise LoadError(f"{method} {path} on {self.host}:{self.port} failed: {exc!r}") from exc
        elapsed = time.perf_counter() - start
        if head.close:
            await self.close()
        return Response(head.status, head.headers, payload, elapsed)


async def fetch(base_url: str, method: str, path: str, body: bytes = b"",
                headers: Mapping[str, str] | None = None, *, timeout: float = 120.0) -> Response:  # fmt: skip
    """One request on a connection of its own."""
    conn = HttpConnection(base_url)
    try:
        return await conn.request(method, path, body, headers, timeout=timeout)
    finally:
        await conn.close()
