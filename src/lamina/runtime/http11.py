"""A small HTTP/1.1 server protocol for the Runtime API: one request at a time per connection.

The Runtime API sits on every invocation's path twice (the event out, the result back), so it
gets a lean server of its own instead of a web framework: requests are parsed from the byte
stream (Content-Length or chunked bodies, ``Expect: 100-continue``, keep-alive, pipelining by
buffering) and handed to ``Handler.handle_request``; the handler answers with ``respond`` now or
later (a long poll). Bodies larger than ``max_body`` are read and dropped, and the request is
handed over with ``body=None`` so the handler can refuse it.

Slow senders: a request's head must arrive within ``head_timeout`` of its first byte, and its body
within ``body_timeout`` of its head (a runtime may stream a response for a whole invocation, so
that is Lambda's longest timeout); else it is answered 408 and the connection closed. A connection
with no request in progress (between invocations, or waiting for an answer) has no deadline: the
environment it belongs to ends it. A deadline is a timer only while a request is incomplete, so a
request that arrives whole costs none.

Contract of ``Handler``: ``connection_allowed`` is asked once when a connection opens (False
closes it after a 403); ``handle_request`` gets each request in order; ``connection_closed`` is
told when the connection ends, whatever the reason.

A connection whose first bytes are ``frames.PREFACE`` speaks the Runtime API's framed encoding
instead (Lamina's own runtimes): it is handed to a ``frames.FramedConnection``, which drives the
same ``Handler``. To the handler that is one connection closing and another opening; both are
``Channel``s.
"""

from __future__ import annotations

import asyncio
import json
from typing import Protocol

from lamina.runtime import frames

_REASONS = {200: b"OK", 202: b"Accepted", 400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found",
            408: b"Request Timeout", 413: b"Request Entity Too Large", 500: b"Internal Server Error"}  # fmt: skip
_MAX_HEAD = 64 * 1024
HEAD_TIMEOUT_SECONDS = 30.0
BODY_TIMEOUT_SECONDS = 900.0


class Channel(Protocol):
    """One connection as the handler sees it, whichever encoding it speaks."""

    @property
    def open(self) -> bool: ...

    def respond(self, status: int, headers: dict[str, str], body: bytes = b"") -> None: ...

    def respond_json(self, status: int, doc: object) -> None: ...

    def close(self) -> None: ...


class Handler(Protocol):
    def connection_allowed(self, conn: Channel) -> bool: ...

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None: ...

    def connection_closed(self, conn: Channel) -> None: ...


class Connection(asyncio.Protocol):
    def __init__(
        self, handler: Handler, max_body: int, *,
        head_timeout: float = HEAD_TIMEOUT_SECONDS, body_timeout: float = BODY_TIMEOUT_SECONDS, initial: bytes = b"",
    ) -> None:  # fmt: skip
        self._handler = handler
        self._initial = initial  # read before anything else (a connection the native data plane gave back)
        self._max_body = max_body
        self._head_timeout = head_timeout
        self._body_timeout = body_timeout
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False  # a request was handed over and is not answered yet
        self._close_after = False
        self._continued = False  # "100 Continue" was sent for the request being read
        self._skip = 0  # bytes still to drop of an oversized body
        self._in_body = False  # the request being read has its head: its body is arriving
        self._deadline: asyncio.TimerHandle | None = None  # of the request being read, if incomplete
        self._deadline_for_body = False
        self._sniffing = True  # no byte has arrived yet: it may be a framed connection's preface

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._handler.connection_allowed(self):
            self._close_after = True
            self._write(403, {"Content-Type": "application/json"},
                        b'{"errorMessage":"This Runtime API belongs to another environment.","errorType":"Forbidden"}')  # fmt: skip
            transport.close()
        elif self._initial:
            initial, self._initial = self._initial, b""
            self.data_received(initial)

    def data_received(self, data: bytes) -> None:
        if self._sniffing:
            self._buffer += data
            if not self._sniff():
                return
            data = bytes(self._buffer)
            self._buffer.clear()
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
            if not self._skip and self._deadline is not None:
                self._disarm()  # the oversized body is over; what follows is a new request
        self._buffer += data
        self._process()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._disarm()
        self._handler.connection_closed(self)

    # -- for the handler -------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def respond(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        """Answer the request in hand; then the next buffered request, if any, is handled."""
        self._busy = False
        if self._transport is None:
            return
        self._write(status, headers, body)
        if self._close_after:
            self._transport.close()
        elif self._buffer or self._skip:
            self._process()

    def respond_json(self, status: int, doc: object) -> None:
        self.respond(status, {"Content-Type": "application/json"}, json.dumps(doc).encode())

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # -- lending to the native data plane --------------------------------------------------

    @property
    def between_requests(self) -> bool:
        """Nothing of a request is buffered, being dropped or timed, and the connection stays open
        after the request in hand (HTTP/1.1, kept alive)."""
        return (not self._sniffing and not self._buffer and not self._skip and not self._in_body
                and not self._continued and not self._close_after and self._deadline is None)  # fmt: skip

    def detach(self) -> int:
        """A duplicate of the connection's descriptor, for the native data plane (``frames.detach``)."""
        assert self._transport is not None
        return frames.detach(self._transport)

    # -- internals -------------------------------------------------------------------------

    def _sniff(self) -> bool:
        """Whether the connection is HTTP, now that its first bytes are buffered; hands it to a
        framed connection if they are the preface. False: wait for more (or it was handed over)."""
        buf = self._buffer
        if len(buf) < len(frames.PREFACE) and frames.PREFACE.startswith(buf):
            self._arm()  # as a request's head: it must arrive in time
            return False
        self._sniffing = False
        if not buf.startswith(frames.PREFACE):
            return True
        transport = self._transport
        rest = bytes(buf[len(frames.PREFACE) :])
        buf.clear()
        self._disarm()
        self._transport = None  # this object is done with the connection
        if transport is None or transport.is_closing():
            return False
        self._handler.connection_closed(self)
        framed = frames.FramedConnection(self._handler, self._max_body, body_timeout=self._body_timeout)
        transport.set_protocol(framed)
        framed.connection_made(transport)
        if rest:
            framed.data_received(rest)
        return False

    def _write(self, status: int, headers: dict[str, str], body: bytes) -> None:
        assert self._transport is not None
        lines = [b"HTTP/1.1 %d %s" % (status, _REASONS.get(status, b"Unknown"))]
        lines += [f"{name}: {value}".encode("latin-1", "replace") for name, value in headers.items()]
        lines.append(b"Content-Length: %d" % len(body))
        if self._close_after:
            lines.append(b"Connection: close")
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        if len(body) < 16384:
            self._transport.write(head + body)
        else:
            self._transport.writelines([head, body])

    def _process(self) -> None:
        while not self._busy and self._transport is not None:
            request = self._parse()
            if request is None:
                if self._buffer or self._skip:  # part of a request is here: it gets a deadline
                    self._arm()
                return
            self._busy = True
            if self._deadline is not None:
                self._disarm()
            self._handler.handle_request(self, *request)

    def _arm(self) -> None:
        """The deadline of the request being read: its head's from its first byte, then its
        body's from the end of its head."""
        in_body = self._in_body or self._skip > 0
        if self._deadline is not None:
            if self._deadline_for_body or not in_body:
                return  # this part's deadline runs already
            self._deadline.cancel()
        self._deadline_for_body = in_body
        timeout = self._body_timeout if in_body else self._head_timeout
        self._deadline = asyncio.get_running_loop().call_later(timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self._busy:
            self._fail(408, "request not received in time")

    def _parse(self) -> tuple[str, str, dict[str, str], bytes | None] | None:
        """One complete request from the buffer (removed from it), or None if more bytes are needed."""
        buf = self._buffer
        end = buf.find(b"\r\n\r\n")
        if end > _MAX_HEAD or (end < 0 and len(buf) > _MAX_HEAD):  # whole or not, as it arrived
            self._fail(400, "request head too large")
            return None
        if end < 0:
            return None
        try:
            head = bytes(buf[:end]).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            method, target, version = request_line.split(" ")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        except ValueError:
            self._fail(400, "malformed request")
            return None
        start = end + 4
        if not self._continued and headers.get("expect", "").lower() == "100-continue":
            self._continued = True
            assert self._transport is not None
            self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parsed = self._chunked(start)
            if parsed is None:
                self._in_body = True
                return None
            body, consumed = parsed
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._fail(400, "bad Content-Length")
                return None
            if length > self._max_body:  # refuse it now; drop the body as it arrives
                available = len(buf) - start
                self._skip = max(0, length - available)
                body, consumed = None, start + min(length, available)
            elif len(buf) - start < length:
                self._in_body = True
                return None
            else:
                body, consumed = bytes(buf[start : start + length]), start + length
        del buf[:consumed]
        self._continued = False
        self._in_body = False
        if version == "HTTP/1.0" or headers.get("connection", "").lower() == "close":
            self._close_after = True
        return method, target.split("?", 1)[0], headers, body

    def _chunked(self, start: int) -> tuple[bytes | None, int] | None:
        buf = self._buffer
        chunks: list[bytes] = []
        size_total = 0
        pos = start
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            try:
                size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
            except ValueError:
                self._fail(400, "bad chunk size")
                return None
            pos = line_end + 2
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", pos - 2)
                if trailer_end < 0:
                    return None
                body = b"".join(chunks) if size_total <= self._max_body else None
                return body, trailer_end + 4
            if len(buf) < pos + size + 2:
                if len(buf) - start > self._max_body + _MAX_HEAD:
                    self._fail(413, "request body too large")
                return None
            size_total += size
            if size_total <= self._max_body:
                chunks.append(bytes(buf[pos : pos + size]))
            pos += size + 2

    def _fail(self, status: int, message: str) -> None:
        self._close_after = True
        self._buffer.clear()
        if self._transport is not None:
            self._write(status, {"Content-Type": "application/json"},
                        json.dumps({"errorMessage": message, "errorType": "InvalidRequest"}).encode())  # fmt: skip
            self._transport.close()
