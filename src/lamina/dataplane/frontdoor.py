"""The public listener's front door: synchronous Invokes answered here, everything else by aiohttp.

``FrontDoor`` is the listener's protocol factory (``loop.create_server(door, ...)``); each
connection gets a ``Connection``. While a connection carries only plain synchronous Invokes
(``head.route``), the front door reads them, calls ``Invoker.invoke`` as api/invoke.py does, and
writes the answer aiohttp would have written (wire.py; errors rendered by api/errors.py). The
first request it does not take is handed, with every byte after it, to a protocol made by
aiohttp's factory (``web.Server``), and the connection is aiohttp's for good: the transport is
given to that protocol (``set_protocol``) and told ``connection_made``, so from then on asyncio
calls aiohttp directly, as if the front door had never been there. A connection that alternates
(a client's pool: CreateFunction, Invoke, GetFunction, Invoke) therefore has its first
requests answered here and the rest by aiohttp; one that only invokes stays here.

What aiohttp protects against is kept: an idle connection, or one whose head is still arriving,
is closed after ``header_timeout_seconds`` (aiohttp's keep-alive timeout, counted as it counts
it); a body that has not all arrived after ``body_timeout_seconds`` is answered 408 and the
connection closed; requests sent before the last is answered (pipelining) wait in the buffer
(reading paused past ``_PIPELINE_BYTES``); ``Connection: close`` is honoured; HTTP/1.0, an
oversized payload, and anything malformed or ambiguous go to aiohttp, which refuses them as now.
An Invoke whose client goes away is not cancelled (nor is it by aiohttp: handler_cancellation
is off); its answer is dropped.

Requests for execute-api addresses (``head.ApiCall``) whose API's kind serves plain requests
(``Directory.plain``: HTTP APIs) are served here too, by the same code aiohttp's middleware calls
(``gateway.exchange``): the body is read first, then the answer written as aiohttp writes it
(``wire.api_response``). An answer sent early (an integration's timeout) is written at once and
the connection closed when the serving code returns, as under aiohttp; a body that does not arrive
in time is answered with the API's 408.

Requests for function URLs (``head.UrlCall``) are served here the same way, by the code
aiohttp's ``function_urls`` middleware calls (``api.url_serving.UrlServing``); a body that does
not arrive in time gets what that middleware answers without reading one (an unknown URL's 403, a
preflight's answer), else its 408, and the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Callable

from aiohttp.tcp_helpers import tcp_keepalive
from multidict import CIMultiDict

from lamina import ids
from lamina.api.errors import RequestTimeout, error_parts
from lamina.api.invoke import result_headers
from lamina.api.url_serving import UrlServing
from lamina.dataplane import head, wire
from lamina.errors import ApiError, ServiceError
from lamina.gateway.endpoint import Directory
from lamina.gateway.exchange import ApiAnswer, ApiRequest, PlainEndpoints
from lamina.invoke.service import InvokeRequest, Invoker
from lamina.settings import Settings

log = logging.getLogger(__name__)

_PIPELINE_BYTES = 256 * 1024  # buffered beyond the request being answered before reading pauses
_LINGER_SECONDS = 10.0  # after a 408, what the client still sends is read and dropped this long (aiohttp's lingering)


# What aiohttp answers when serving failed unexpectedly.
_INTERNAL_ERROR = ApiAnswer(500, [("Content-Type", "text/plain; charset=utf-8")],
                            b"500 Internal Server Error\n\nServer got itself in trouble", close=True)  # fmt: skip


class FrontDoor:
    """The listener's protocol factory, and the registry of the connections it serves itself."""

    def __init__(self, aiohttp_factory: Callable[[], asyncio.Protocol], invoker: Invoker, settings: Settings,
                 apis: Directory | None = None, urls: UrlServing | None = None) -> None:  # fmt: skip
        self.aiohttp_factory = aiohttp_factory
        self.invoker = invoker
        self.apis = apis  # the execute-api addresses' kinds of API (None: none served here)
        self.urls = urls  # function URLs' serving (None: aiohttp serves them)
        self.payload_limit = settings.limits.sync_payload_bytes
        self.header_timeout = settings.header_timeout_seconds
        self.body_timeout = settings.body_timeout_seconds
        self.clock = wire.Clock()
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    def __call__(self) -> Connection:
        return Connection(self)

    async def close(self) -> None:
        """Close the connections it serves: idle ones now, others once their answer is written.
        (Connections handed to aiohttp are closed by aiohttp's own shutdown.)"""
        self.closing = True
        for conn in list(self.connections):
            conn.shutdown()


class Connection(asyncio.Protocol):
    def __init__(self, door: FrontDoor) -> None:
        self._door = door
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: head.FastInvoke | head.ApiCall | head.UrlCall | None = None  # the request whose body is arriving
        self._kind: PlainEndpoints | None = None  # the pending API call's kind of API
        self._remote = ""
        self._local_port: int | None = None
        self._busy = False  # a request is being answered
        self._close_after = False
        self._write_paused = False
        self._read_paused = False
        self._lingering = False
        self._deadline = math.inf  # when the connection fails if its state has not moved on
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._door.closing:
            transport.close()
            return
        tcp_keepalive(transport)
        peer = transport.get_extra_info("peername")
        self._remote = peer[0] if isinstance(peer, tuple) else ""
        sockname = transport.get_extra_info("sockname")
        self._local_port = int(sockname[1]) if isinstance(sockname, tuple) else None
        self._door.connections.add(self)
        self._set_deadline(self._loop.time() + self._door.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        self._buffer += data
        if not self._busy and not self._write_paused:
            self._process()
        elif len(self._buffer) > _PIPELINE_BYTES and not self._read_paused and self._transport is not None:
            self._read_paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        return None  # the transport closes, as it does under aiohttp

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._pending = None
        self._buffer.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._door.connections.discard(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if not self._busy and not self._lingering and self._transport is not None:
            # Idle from now, as aiohttp counts it: its answer is written once it has drained.
            self._set_deadline(self._loop.time() + self._door.header_timeout)
            self._process()

    # -- for the door ----------------------------------------------------------------------

    def shutdown(self) -> None:
        if self._busy:
            self._close_after = True
        elif self._transport is not None:
            self._transport.close()

    # -- reading ---------------------------------------------------------------------------

    def _process(self) -> None:
        """Take the buffer's next request, if it is all here (or hand the connection over)."""
        if self._read_paused and not self._busy and not self._write_paused and self._transport is not None:
            self._read_paused = False  # a body may be what is still to come
            self._transport.resume_reading()
        while self._transport is not None and not self._busy and not self._write_paused:
            decision = self._pending
            if decision is None:
                if not self._buffer:
                    break
                routed = head.route(self._buffer, self._door.payload_limit)
                if routed is head.Route.NEED_MORE:
                    return  # the idle deadline runs: a head that never ends is closed as aiohttp closes it
                if routed is head.Route.AIOHTTP:
                    self._hand_over()
                    return
                if isinstance(routed, head.ApiCall):
                    apis = self._door.apis
                    self._kind = apis.plain(routed.api_id) if apis is not None else None
                    if self._kind is None:
                        self._hand_over()  # an id no API owns, a REST API's: aiohttp's middleware serves it
                        return
                elif isinstance(routed, head.UrlCall) and self._door.urls is None:
                    self._hand_over()
                    return
                decision = routed
            end = decision.head_length + decision.content_length
            if len(self._buffer) < end:
                if self._pending is None:
                    self._pending = decision
                    self._set_deadline(self._loop.time() + self._door.body_timeout)
                return
            if decision.close and len(self._buffer) > end:
                self._hand_over()  # bytes after "Connection: close": aiohttp refuses the lot
                return
            body = bytes(self._buffer[decision.head_length : end])
            del self._buffer[:end]
            self._pending = None
            self._start(decision, body)

    def _hand_over(self) -> None:
        """From now on the connection is aiohttp's, starting with the buffered bytes."""
        transport = self._transport
        assert transport is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._door.connections.discard(self)
        protocol = self._door.aiohttp_factory()
        transport.set_protocol(protocol)
        self._transport = None
        protocol.connection_made(transport)
        if self._read_paused:
            transport.resume_reading()
        data = bytes(self._buffer)
        self._buffer.clear()
        if data:
            protocol.data_received(data)

    # -- answering -------------------------------------------------------------------------

    def _start(self, request: head.FastInvoke | head.ApiCall | head.UrlCall, body: bytes) -> None:
        self._busy = True
        self._deadline = math.inf  # no deadline while the function runs (nor under aiohttp)
        if request.close:
            self._close_after = True
        if isinstance(request, head.ApiCall):
            kind, self._kind = self._kind, None
            assert kind is not None
            task = self._loop.create_task(self._serve(request, body, kind))
        elif isinstance(request, head.UrlCall):
            task = self._loop.create_task(self._serve_url(request, body))
        else:
            task = self._loop.create_task(self._invoke(request, body))
        self._door.tasks.add(task)
        task.add_done_callback(self._door.tasks.discard)

    async def _invoke(self, request: head.FastInvoke, body: bytes) -> None:
        request_id = ids.request_id()  # the request's id is the invocation's (as api/invoke.py)
        try:
            result = await self._door.invoker.invoke(InvokeRequest(
                function=request.function, payload=body, qualifier=request.qualifier,
                client_context=request.client_context, request_id=request_id,
            ))  # fmt: skip
        except ApiError as exc:
            self._respond_error(exc, request_id)
            return
        except Exception:
            log.exception("unexpected error in POST /2015-03-31/functions/%s/invocations", request.function)
            self._respond_error(ServiceError("An internal error occurred; see the Lamina server log."), request_id)
            return
        content_type = "application/json" if result.status == 200 else "application/octet-stream"
        self._respond(wire.response(result.status, result_headers(result).items(), content_type, result.payload,
                                    date=self._date(), close=self._close_after))  # fmt: skip

    def _api_request(self, call: head.ApiCall | head.UrlCall, body: bytes) -> ApiRequest:
        async def read() -> bytes:
            return body

        return ApiRequest(call.method, call.raw_query, CIMultiDict(call.headers), self._remote, "HTTP/1.1",
                          self._local_port, call.content_length, read)  # fmt: skip

    async def _serve(self, call: head.ApiCall, body: bytes, kind: PlainEndpoints) -> None:
        sent_early = False

        def early(answer: ApiAnswer) -> None:
            nonlocal sent_early
            sent_early = True
            self._close_after = True
            if self._transport is not None:
                self._transport.write(self._api_bytes(answer))

        try:
            answer = await kind.answer(self._api_request(call, body), call.api_id, call.path, early)
        except Exception:
            log.exception("unexpected error serving API %s", call.api_id)
            answer = _INTERNAL_ERROR
        if sent_early:
            self._respond(b"")  # closes: the answer is out
            return
        if answer.close or not wire.safe(answer.headers):
            self._close_after = True
        # A header aiohttp cannot write (a CR or LF in it): the connection is closed unanswered, as there.
        self._respond(self._api_bytes(answer) if wire.safe(answer.headers) else b"")

    async def _serve_url(self, call: head.UrlCall, body: bytes) -> None:
        urls = self._door.urls
        assert urls is not None
        try:
            answer = await urls.answer(self._api_request(call, body), self._located(call), self._address(call))
        except Exception:
            log.exception("unexpected error serving function URL %s", call.target)
            answer = _INTERNAL_ERROR
        if answer.close or not wire.safe(answer.headers):
            self._close_after = True
        # A header aiohttp cannot write (a CR or LF in it): the connection is closed unanswered, as there.
        self._respond(self._api_bytes(answer) if wire.safe(answer.headers) else b"")

    def _located(self, call: head.UrlCall) -> tuple[str, str]:
        urls = self._door.urls
        located = urls.locate(call.host, call.target.partition("?")[0]) if urls is not None else None
        assert located is not None  # head.route read it as a function URL's with the same addresses
        return located

    def _address(self, call: head.UrlCall) -> str:
        return f"http://{call.host}{call.target}"  # what aiohttp's request.scheme, .host and .raw_path say

    def _api_bytes(self, answer: ApiAnswer) -> bytes:
        return wire.api_response(answer.status, answer.headers, answer.body, date=self._date(),
                                 close=self._close_after or answer.close)  # fmt: skip

    def _respond_error(self, error: ApiError, request_id: str) -> None:
        status, headers, body = error_parts(error, request_id)
        self._respond(wire.response(status, headers.items(), "application/json", body, date=self._date(),
                                    close=self._close_after))  # fmt: skip

    def _date(self) -> bytes:
        return self._door.clock.date(time.time())

    def _respond(self, data: bytes) -> None:
        self._busy = False
        transport = self._transport
        if transport is None:
            return  # the client has gone
        transport.write(data)
        if self._close_after:
            transport.close()
            return
        self._set_deadline(self._loop.time() + self._door.header_timeout)
        self._process()

    # -- deadlines -------------------------------------------------------------------------

    def _set_deadline(self, at: float) -> None:
        """One timer a connection, moved only when a deadline comes sooner than it fires."""
        self._deadline = at
        if self._timer is None or at < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = at
            self._timer = self._loop.call_at(at, self._expired)

    def _expired(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        transport = self._transport
        if transport is None or self._busy or self._write_paused:
            return  # answering, or the answer's draining, re-arms it
        if self._loop.time() < self._deadline:
            self._set_deadline(self._deadline)
            return
        if self._pending is None:
            transport.close()  # idle, or a head never finished: closed without an answer, as aiohttp does
            return
        # A body that did not arrive in time: 408, as api/context.read_body answers it. The client
        # may still be sending: what it sends is read and dropped for a while, so that closing does
        # not reset the connection before the answer is read (aiohttp's lingering close).
        pending, self._pending = self._pending, None
        kind, self._kind = self._kind, None
        self._buffer.clear()
        self._lingering = True
        if isinstance(pending, head.ApiCall) and kind is not None:
            answer = kind.body_timed_out(self._api_request(pending, b""), pending.api_id)
            self._close_after = True
            transport.write(self._api_bytes(answer))
        elif isinstance(pending, head.UrlCall) and self._door.urls is not None:
            # What aiohttp's middleware answers without the body (an unknown URL, a preflight) is
            # written as it writes it; otherwise a 408 that closes.
            answer = self._door.urls.body_timed_out(self._api_request(pending, b""), self._located(pending))
            self._close_after = pending.close
            transport.write(self._api_bytes(answer))
            self._close_after = True
        else:
            late = RequestTimeout("The request body did not arrive in time.")
            status, headers, body = error_parts(late, ids.request_id())
            transport.write(wire.response(status, headers.items(), "application/json", body, date=self._date(),
                                          close=True))  # fmt: skip
        if transport.can_write_eof():
            transport.write_eof()
        self._timer = self._loop.call_later(_LINGER_SECONDS, transport.close)
