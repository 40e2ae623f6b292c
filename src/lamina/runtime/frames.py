"""The Runtime API's framed encoding, which Lamina's own runtimes speak (CHANNEL.md in short).

A runtime opens a connection with ``PREFACE``; ``http11.Connection`` recognises it and hands the
connection to a ``FramedConnection``. From then on both directions are frames::

    length (4 bytes, unsigned big-endian: the bytes that follow) | kind (1 byte) | body

Runtime -> server: ``N`` next (empty body); ``R`` response (``<request-id>\\n<payload>``); ``X`` error
(``<request-id>\\n<error-type>\\n<error document>``, an empty error-type meaning "read it from the
document"); ``I`` init error (``<error-type>\\n<error document>``). Server -> runtime: ``E`` event
(``Name: value\\r\\n`` lines of the next-response headers, ``\\r\\n``, then the payload).

Each frame drives the same ``Handler`` as an HTTP request would (N = GET next, R = POST
{id}/response, X = POST {id}/error, I = POST init/error), so one state machine serves both
encodings. The server answers nothing but ``E`` frames: what HTTP answers with a 202 or an error
status is answered with silence (``respond`` writes only a 200, which only ``next`` gets). An
event costs one ``transport.write``; a result and the next ``N`` usually arrive in one read and
are parsed in place, without copying into a buffer.

Limits: a frame is buffered only up to the response limit plus ``LINES_ROOM`` (the request id and
error type). A result larger than that is handed over as soon as its id is known, with
``body=None`` (the handler refuses it as over HTTP), and its rest is dropped as it arrives; so is
a frame of an unknown kind. A body without the newline it needs, or a zero length, closes the
connection. Once a frame has begun, the rest of it must arrive within ``body_timeout``, else the
connection is closed; a connection between frames has no deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from typing import TYPE_CHECKING

from lamina.runtime import constants as rc

if TYPE_CHECKING:
    from lamina.runtime.http11 import Handler

log = logging.getLogger(__name__)

PREFACE = b"LAMINA1\n"
LINES_ROOM = 64 * 1024
HEAD = struct.Struct(">IB")  # length, kind

NEXT, RESPONSE, ERROR, INIT_ERROR, EVENT = b"NRXIE"
# How many newline-ended fields come before the payload, by kind; a kind not here is unknown.
_FIELDS = {NEXT: 0, RESPONSE: 1, ERROR: 2, INIT_ERROR: 1}
_INVOCATION = f"/{rc.API_VERSION}/runtime/invocation/"
_ERROR_TYPE = rc.HEADER_ERROR_TYPE.lower()
_LARGE = 16384  # payloads from this size are written without being copied next to the head


NEXT_FRAME = HEAD.pack(1, NEXT)  # a runtime's "next"


def event_frame(headers: dict[str, str], payload: bytes) -> list[bytes]:
    """The ``E`` frame of an event, as the parts to write."""
    head = "".join([f"{name}: {value}\r\n" for name, value in headers.items()]).encode("latin-1", "replace")
    return [HEAD.pack(len(head) + 3 + len(payload), EVENT), head, b"\r\n", payload]


class FramedConnection(asyncio.Protocol):
    """A Runtime API connection speaking frames (its preface already read), for ``handler``."""

    def __init__(self, handler: Handler, max_body: int, *, body_timeout: float, initial: bytes = b"") -> None:
        self._handler = handler
        self._initial = initial  # read before anything else (a connection the native data plane gave back)
        self._max_body = max_body
        self._cap = max_body + LINES_ROOM  # the largest frame body ever buffered
        self._body_timeout = body_timeout
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()  # the start of a frame whose rest has not arrived
        self._skip = 0  # bytes still to drop of a frame that is not kept
        self._deadline: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if not self._handler.connection_allowed(self):
            transport.close()
        elif self._initial:
            initial, self._initial = self._initial, b""
            self.data_received(initial)

    def data_received(self, data: bytes) -> None:
        began = False  # a frame began after a dropped one ended
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                if not self._skip:
                    self._disarm()
                return
            data = data[self._skip :]
            self._skip = 0
            began = True
        buf = self._buffer
        if buf:
            buf += data
            used = self._parse(buf)
            del buf[:used]
        else:
            used = self._parse(data)
            if used < len(data):
                buf += memoryview(data)[used:]
        if buf or self._skip:
            if self._deadline is None or used or began:  # a frame began since the deadline was set: its own
                self._disarm()
                self._deadline = asyncio.get_running_loop().call_later(self._body_timeout, self._expired)
        elif self._deadline is not None:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._disarm()
        self._handler.connection_closed(self)

    # -- http11.Channel --------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def respond(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        """Only an event (the 200 answer to ``next``) is written: frames have no other answers."""
        if status != 200 or self._transport is None:
            return
        parts = event_frame(headers, body)
        if len(body) < _LARGE:
            self._transport.write(b"".join(parts))
        else:
            self._transport.writelines(parts)

    def respond_json(self, status: int, doc: object) -> None:
        """Nothing: the handler's 202s and refusals have no framed form."""

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    @property
    def between_requests(self) -> bool:
        """Nothing of a frame is buffered or being dropped."""
        return not self._buffer and not self._skip

    def detach(self) -> int:
        """A duplicate of the connection's descriptor, for the native data plane (``detach``)."""
        assert self._transport is not None
        return detach(self._transport)

    # -- internals -------------------------------------------------------------------------

    def _parse(self, data: bytes | bytearray) -> int:
        """Hand over every complete frame at the start of ``data``; returns how many bytes were
        used (a frame being dropped is used whole: ``_skip`` is what is still to come of it)."""
        end = len(data)
        pos = 0
        while end - pos >= 5:
            transport = self._transport
            if transport is None or transport.is_closing():
                return end
            length, kind = HEAD.unpack_from(data, pos)
            if length == 0:
                return self._malformed("a frame without a kind")
            start = pos + 5
            size = length - 1
            fields = _FIELDS.get(kind)
            if fields is None:  # an unknown kind: dropped
                log.debug("Runtime API frame of unknown kind %d dropped", kind)
                kept = min(size, end - start)
                self._skip = size - kept
                pos = start + kept
            elif size <= self._cap:
                if end - start < size:
                    return pos  # wait for the rest
                if not self._dispatch(kind, data, start, start + size, whole=True):
                    return end
                pos = start + size
            else:  # too large to keep: hand it over once its fields are here, then drop it
                window = min(end, start + LINES_ROOM)
                at = start
                for _ in range(fields):
                    newline = data.find(b"\n", at, window)
                    if newline < 0:
                        if window - start >= LINES_ROOM:
                            return self._malformed("a frame's fields are too long")
                        return pos  # wait for more of its fields
                    at = newline + 1
                if not self._dispatch(kind, data, start, at, whole=False):
                    return end
                kept = min(size, end - start)
                self._skip = size - kept
                pos = start + kept
        return pos

    def _dispatch(self, kind: int, data: bytes | bytearray, start: int, stop: int, *, whole: bool) -> bool:
        """Hand the frame whose body is ``data[start:stop]`` to the handler (``whole``: the body is
        all there, else only its fields are: its payload is too large). False if it was malformed."""
        handler = self._handler
        if kind == NEXT:
            handler.handle_request(self, "GET", rc.PATH_NEXT, {}, b"")
            return True
        newline = data.find(b"\n", start, stop)
        if newline < 0:
            self._malformed("a frame without its newline")
            return False
        first = data[start:newline].decode("latin-1")
        if kind == RESPONSE:
            payload = _payload(data, newline + 1, stop, self._max_body) if whole else None
            handler.handle_request(self, "POST", _INVOCATION + first + "/response", {}, payload)
            return True
        if kind == ERROR:
            type_end = data.find(b"\n", newline + 1, stop)
            if type_end < 0:
                self._malformed("an error frame without its error type")
                return False
            error_type = data[newline + 1 : type_end].decode("utf-8", "replace")
            headers = {_ERROR_TYPE: error_type} if error_type else {}
            payload = _payload(data, type_end + 1, stop, self._max_body) if whole else None
            handler.handle_request(self, "POST", _INVOCATION + first + "/error", headers, payload)
            return True
        # INIT_ERROR: the first field is the error type
        headers = {_ERROR_TYPE: first} if first else {}
        payload = _payload(data, newline + 1, stop, self._max_body) if whole else None
        handler.handle_request(self, "POST", rc.PATH_INIT_ERROR, headers, payload)
        return True

    def _malformed(self, why: str) -> int:
        log.info("Runtime API connection closed: %s", why)
        self._buffer.clear()
        self._skip = 0
        if self._transport is not None:
            self._transport.close()
        return 1 << 62  # more than any buffer: all of it is used

    def _expired(self) -> None:
        self._deadline = None
        log.info("Runtime API connection closed: a frame was not received in time")
        self._buffer.clear()
        self._skip = 0
        if self._transport is not None:
            self._transport.close()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def detach(transport: asyncio.Transport) -> int:
    """A duplicate of ``transport``'s descriptor, for the native data plane; this side of it is
    closed (the connection goes on through the duplicate)."""
    transport.pause_reading()
    sock = transport.get_extra_info("socket")
    fd = os.dup(sock.fileno())
    transport.abort()  # closes this descriptor only: the duplicate keeps the connection open
    return fd


def _payload(data: bytes | bytearray, start: int, stop: int, limit: int) -> bytes | None:
    """``data[start:stop]`` as bytes (copied once), or None if it is over ``limit``."""
    if stop - start > limit:
        return None
    if type(data) is bytes:
        return data[start:stop]
    with memoryview(data) as view:
        return bytes(view[start:stop])
