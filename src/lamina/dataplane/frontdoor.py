"""The public listener's front door: synchronous Invokes answered here, everything else by aiohttp.

``FrontDoor`` is the listener's protocol factory (``loop.create_server(door, ...)``); each
connection gets a ``Connection``. A plain synchronous Invoke (``head.route``) is read here,
``Invoker.invoke`` called as api/invoke.py does, and the answer aiohttp would have written
written here (wire.py; errors rendered by api/errors.py). A request it does not take is lent to
aiohttp (``lending``): a protocol made by aiohttp's factory (``web.Server``) is given that request
alone, on a stand-in for the transport, and once its answer is written the connection is the
front door's again. So a connection that alternates (a client's pool: CreateFunction, Invoke,
GetFunction, Invoke) has its Invokes answered here. A request whose extent is not plain
(``head.plain``: chunked, Expect, Upgrade, HTTP/1.0, anything odd), or whose answer closes the
connection or comes before its body has all arrived, leaves the connection aiohttp's for good: the
transport is given to that protocol (``set_protocol``) with every byte after it, so from then on
asyncio calls aiohttp directly, as if the front door had never been there.

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
import os
import time
from datetime import datetime, timezone
from typing import Awaitable, Callable, Mapping

from aiohttp.tcp_helpers import tcp_keepalive
from multidict import CIMultiDict

from lamina import ids
from lamina.api.cells import INVOKE, invoke_cell
from lamina.api.context import CellLookup, Services
from lamina.api.errors import RequestTimeout, error_parts
from lamina.api.invoke import result_headers
from lamina.api.scopes import LAMBDA
from lamina.api.url_serving import UrlServing
from lamina.dataplane import head, wire
from lamina.dataplane.counts import Counts
from lamina.dataplane.lending import LentTransport
from lamina.dataplane.permits import Grant
from lamina.errors import ApiError, ServiceError
from lamina.iam.context import transport_keys
from lamina.identity.keys import Keys
from lamina.identity.principals import Caller, KeyRing
from lamina.identity.refusals import Protocol, refused
from lamina.identity.sigv4 import Refusal, SignedRequest, verify
from lamina.gateway.exchange import ApiAnswer, ApiRequest, PlainEndpoints
from lamina.invoke.service import InvokeRequest
from lamina.settings import Settings

log = logging.getLogger(__name__)

_PIPELINE_BYTES = 256 * 1024  # buffered beyond the request being answered before reading pauses
_LINGER_SECONDS = 10.0  # after a 408, what the client still sends is read and dropped this long (aiohttp's lingering)


# What aiohttp answers when serving failed unexpectedly.
_INTERNAL_ERROR = ApiAnswer(500, [("Content-Type", "text/plain; charset=utf-8")],
                            b"500 Internal Server Error\n\nServer got itself in trouble", close=True)  # fmt: skip


# The function's cell, a verified caller, the function and qualifier it invokes, and the condition
# keys of the connection it came on -> why it may not (None: it may; api/authorization.py's invoke_refusal).
Authorize = Callable[[Services, Caller, str, "str | None", Mapping[str, str]], Awaitable["ApiError | None"]]


class FrontDoor:
    """The listener's protocol factory, and the registry of the connections it serves itself."""

    def __init__(self, aiohttp_factory: Callable[[], asyncio.Protocol], cells: CellLookup, settings: Settings,
                 urls: UrlServing | None = None, counts: Counts | None = None,
                 authorize: Authorize | None = None) -> None:  # fmt: skip
        self.authorize = authorize  # IAM's decision for a verified caller's Invoke (api/authorization.py)
        self.aiohttp_factory = aiohttp_factory
        self.cells = cells  # whose invoker an Invoke goes to: its caller's cell's (api/cells.py)
        self.apis: CellLookup | None = cells  # the execute-api addresses' kinds of API, of every cell
        self.settings = settings
        self.ring: KeyRing = urls.ring if urls is not None else Keys(())  # what Invokes' signatures are verified against
        self.urls = urls  # function URLs' serving (None: aiohttp serves them)
        self.payload_limit = settings.limits.sync_payload_bytes
        self.header_timeout = settings.header_timeout_seconds
        self.body_timeout = settings.body_timeout_seconds
        self.clock = wire.Clock()
        self.counts = counts or Counts()
        self.connections: set[Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        # Where a connection the native data plane handed over goes back to once it is idle (its
        # descriptor, duplicated): the plane's ``adopt`` (dataplane/native.py).
        self.give_back: Callable[[int], None] | None = None

    def __call__(self) -> Connection:
        return Connection(self)

    def adopted(self, data: bytes, keep_for: int = 1) -> Connection:
        """A connection the native data plane hands over, with what it read of it, given back once
        idle after ``keep_for`` answered requests (dataplane/handovers.py)."""
        return Connection(self, initial=data, adopted=True, keep_for=keep_for)

    def caller(self, request: head.FastInvoke, body: bytes) -> Caller | ApiError | None:
        """Who signed an Invoke, or why its signature is refused (the Lambda API's error), as
        api/authentication.py decides it for the requests aiohttp answers (None: not verified,
        LAMINA_VERIFY_SIGNATURES=off). IAM then decides the Invoke (``authorize``)."""
        s = self.settings
        if not s.verify_signatures:
            return None
        path, _, query = request.target.partition("?")
        verdict = verify(SignedRequest("POST", path, query, request.headers, body), self.ring,
                         region=self.cells.regions, accounts=None, now=datetime.now(timezone.utc),
                         service=LAMBDA)  # fmt: skip
        if isinstance(verdict, Refusal):
            log.info("refused POST %s: %s", path, verdict.detail)
            return refused(Protocol.REST_JSON, verdict)
        return verdict

    async def cell(self, request: head.FastInvoke, caller: Caller | None) -> Services:
        """The services an Invoke goes to: its caller's cell's, or another account's it may invoke
        (api/cells.py); the default cell's when signatures are not verified."""
        s, cells = self.settings, self.cells
        if caller is None:
            return cells.started(s.account_id, s.region) or await cells.open(s.account_id, s.region)
        home = cells.started(caller.account_id, caller.region) or await cells.open(caller.account_id, caller.region)
        if ":" not in request.function:
            return home
        return await invoke_cell(cells, home, caller, request.function, INVOKE, request.qualifier)

    async def answer(self, request: head.FastInvoke, body: bytes, *, close: Callable[[], bool], secure: bool,
                     peer: str, grant: Grant | None = None) -> bytes:  # fmt: skip
        """A plain Invoke's answer, as bytes: verified, authorized by IAM and invoked, as api/invoke.py
        does (``close``, asked once the answer is made: whether it closes the connection; ``secure``
        and ``peer``: over TLS or not, from which address, for IAM's conditions). ``grant`` is told
        of a caller allowed to invoke (the native data plane's permits: dataplane/native.py)."""
        request_id = ids.request_id()  # the request's id is the invocation's (as api/invoke.py)
        epoch = grant.epoch() if grant is not None else 0  # read before anything is decided
        caller = self.caller(request, body)
        if isinstance(caller, ApiError):
            return self._error(caller, request_id, close())
        try:
            svc = await self.cell(request, caller)
            if caller is not None and self.authorize is not None:  # IAM decides, as api/authorization.py
                denied = await self.authorize(svc, caller, request.function, request.qualifier,
                                              transport_keys(secure, peer))  # fmt: skip
                if denied is not None:
                    return self._error(denied, request_id, close())
            result = await svc.invoker.invoke(InvokeRequest(
                function=request.function, payload=body, qualifier=request.qualifier,
                client_context=request.client_context, request_id=request_id, refuse_pending=True,
            ))  # fmt: skip
        except ApiError as exc:
            return self._error(exc, request_id, close())
        except Exception:
            log.exception("unexpected error in POST /2015-03-31/functions/%s/invocations", request.function)
            failed = ServiceError("An internal error occurred; see the Lamina server log.")
            return self._error(failed, request_id, close())
        if grant is not None:
            grant.allowed(request, caller, epoch, peer)
        content_type = "application/json" if result.status == 200 else "application/octet-stream"
        return wire.response(result.status, result_headers(result).items(), content_type, result.payload,
                             date=self.date(), close=close())  # fmt: skip

    def _error(self, error: ApiError, request_id: str, close: bool) -> bytes:
        status, headers, body = error_parts(error, request_id)
        return wire.response(status, headers.items(), "application/json", body, date=self.date(), close=close)

    def date(self) -> bytes:
        return self.clock.date(time.time())

    async def close(self) -> None:
        """Close the connections it serves: idle ones now, others once their answer is written.
        (Connections handed to aiohttp are closed by aiohttp's own shutdown.)"""
        self.closing = True
        for conn in list(self.connections):
            conn.shutdown()


class Connection(asyncio.Protocol):
    def __init__(self, door: FrontDoor, initial: bytes = b"", *, adopted: bool = False, keep_for: int = 1) -> None:
        self._door = door
        self._initial = initial  # read before anything else (a connection the native data plane handed over)
        self._adopted = adopted  # handed over by the native data plane: it goes back there when idle
        self._keep_for = keep_for  # ... once it has answered this many requests
        self._answered = 0
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._pending: head.FastInvoke | head.ApiCall | head.UrlCall | None = None  # the request whose body is arriving
        self._kind: PlainEndpoints | None = None  # the pending API call's kind of API
        self._remote = ""
        self._secure = False  # whether it came through the TLS listener
        self._local_port: int | None = None
        self._busy = False  # a request is being answered
        self._close_after = False
        self._write_paused = False
        self._read_paused = False
        self._lingering = False
        self._deadline = math.inf  # when the connection fails if its state has not moved on
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        # The request lent to aiohttp: its protocol, the transport it writes to, its body still to come.
        self._lent: LentTransport | None = None
        self._lent_protocol: asyncio.Protocol | None = None
        self._lent_left = 0
        self._lent_paused = False  # aiohttp paused reading

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
        self._secure = transport.get_extra_info("sslcontext") is not None  # the TLS listener's
        sockname = transport.get_extra_info("sockname")
        self._local_port = int(sockname[1]) if isinstance(sockname, tuple) else None
        self._door.connections.add(self)
        self._set_deadline(self._loop.time() + self._door.header_timeout)
        if self._initial:
            initial, self._initial = self._initial, b""
            self.data_received(initial)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._lent_left:  # the lent request's body: aiohttp's
            assert self._lent_protocol is not None
            taken = data[: self._lent_left]
            self._lent_left -= len(taken)
            self._lent_protocol.data_received(taken)
            data = data[len(taken) :]
            if not data:
                return
        self._buffer += data
        if not self._busy and not self._write_paused:
            self._process()
        elif len(self._buffer) > _PIPELINE_BYTES and not self._read_paused:
            self._read_paused = True
            self._reading()

    def eof_received(self) -> bool | None:
        return None  # the transport closes, as it does under aiohttp

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._lent_protocol is not None:
            self._lent_protocol.connection_lost(exc)
            self._lent = self._lent_protocol = None
        self._pending = None
        self._buffer.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._door.connections.discard(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        if self._lent_protocol is not None:
            self._lent_protocol.pause_writing()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._lent_protocol is not None:
            self._lent_protocol.resume_writing()
            return
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
        """Take the buffer's next request, if it is all here (or lend it, or hand the connection over)."""
        if self._read_paused and not self._busy and not self._write_paused:
            self._read_paused = False  # a body may be what is still to come
            self._reading()
        while self._transport is not None and not self._busy and not self._write_paused:
            decision = self._pending
            if decision is None:
                if not self._buffer:
                    break
                routed = head.route(self._buffer, self._door.payload_limit)
                if routed is head.Route.NEED_MORE:
                    return  # the idle deadline runs: a head that never ends is closed as aiohttp closes it
                if routed is head.Route.AIOHTTP:
                    self._lend(head.plain(self._buffer))
                    return
                if isinstance(routed, head.ApiCall):
                    apis = self._door.apis
                    self._kind = apis.plain(routed.api_id) if apis is not None else None
                    theirs = self._kind is None  # an id no API owns, a REST API's: aiohttp's middleware serves it
                else:
                    theirs = isinstance(routed, head.UrlCall) and self._door.urls is None
                if theirs:
                    self._lend(head.Plain(routed.head_length, routed.content_length, routed.close))
                    return
                decision = routed
            end = decision.head_length + decision.content_length
            if len(self._buffer) < end:
                if self._pending is None:
                    self._pending = decision
                    self._set_deadline(self._loop.time() + self._door.body_timeout)
                return
            if decision.close and len(self._buffer) > end:
                self._give()  # bytes after "Connection: close": aiohttp refuses the lot
                return
            body = bytes(self._buffer[decision.head_length : end])
            del self._buffer[:end]
            self._pending = None
            self._start(decision, body)

    def _lend(self, request: head.Plain | None) -> None:
        """Give aiohttp the buffer's request alone (``lending``); one not plain, or followed by more
        after "Connection: close", it gets with the whole connection."""
        transport = self._transport
        assert transport is not None
        end = 0 if request is None else request.head_length + request.content_length
        if request is None or (request.close and len(self._buffer) > end):
            self._give()
            return
        self._door.counts.lent += 1
        self._busy = True
        self._deadline = math.inf  # aiohttp's own deadlines hold meanwhile
        self._lent = LentTransport(self, transport)
        protocol = self._lent_protocol = self._door.aiohttp_factory()
        protocol.connection_made(self._lent)
        taken = bytes(self._buffer[:end])
        del self._buffer[:end]
        self._lent_left = end - len(taken)
        protocol.data_received(taken)

    def returned(self, lent: LentTransport, keep_alive: bool) -> None:
        """aiohttp has written its answer to the lent request: the connection is the front door's
        again, unless aiohttp is to close it or read the rest of a body it answered early."""
        protocol = self._lent_protocol
        if lent is not self._lent or protocol is None or self._transport is None:
            return
        self._lent = self._lent_protocol = None
        if not keep_alive or self._lent_left or self._transport.is_closing():
            lent.keep()
            self._hand_over(protocol, self._transport, paused=self._lent_paused)
            return
        lent.detach()
        protocol.connection_lost(None)  # it has nothing left to do: its handler task ends
        self._lent_paused = False
        self._reading()
        self._respond(b"")

    def lent_reading(self, paused: bool) -> None:
        self._lent_paused = paused
        self._reading()

    def _reading(self) -> None:
        """Read, unless the front door or aiohttp wants reading paused."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            if self._read_paused or self._lent_paused:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _give(self) -> None:
        """The connection, from the buffer's request on, to a protocol of aiohttp's, for good."""
        transport = self._transport
        assert transport is not None
        protocol = self._door.aiohttp_factory()
        protocol.connection_made(transport)
        self._hand_over(protocol, transport, paused=False)

    def _hand_over(self, protocol: asyncio.Protocol, transport: asyncio.Transport, *, paused: bool) -> None:
        """From now on the connection is ``protocol``'s (aiohttp's, told of its transport already),
        starting with the buffered bytes; reading is paused if it paused it."""
        self._door.counts.handed_over += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._door.connections.discard(self)
        transport.set_protocol(protocol)
        self._transport = None
        if self._read_paused and not paused and not transport.is_closing():
            transport.resume_reading()
        data = bytes(self._buffer)
        self._buffer.clear()
        if data:
            protocol.data_received(data)

    # -- answering -------------------------------------------------------------------------

    def _start(self, request: head.FastInvoke | head.ApiCall | head.UrlCall, body: bytes) -> None:
        self._door.counts.served += 1
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
        self._respond(await self._door.answer(request, body, close=lambda: self._close_after, secure=self._secure,
                                              peer=self._remote))  # fmt: skip

    def _api_request(self, call: head.ApiCall | head.UrlCall, body: bytes) -> ApiRequest:
        async def read() -> bytes:
            return body

        return ApiRequest(call.method, call.raw_query, CIMultiDict(call.headers), self._remote, "HTTP/1.1",
                          self._local_port, call.content_length, read, secure=self._secure)  # fmt: skip

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

    def _date(self) -> bytes:
        return self._door.date()

    def _respond(self, data: bytes) -> None:
        self._busy = False
        self._answered += 1
        transport = self._transport
        if transport is None:
            return  # the client has gone
        transport.write(data)
        if self._close_after:
            transport.close()
            return
        self._set_deadline(self._loop.time() + self._door.header_timeout)
        self._process()
        self._give_back()

    def _give_back(self) -> None:
        """An idle connection the native data plane handed over goes back to it: nothing buffered
        either way, no request pending or lent, its answer all written."""
        transport, give_back = self._transport, self._door.give_back
        if (give_back is None or not self._adopted or self._answered < self._keep_for or transport is None
                or self._busy or self._buffer
                or self._pending is not None or self._lent is not None or self._lingering or self._write_paused
                or self._read_paused or self._door.closing or transport.is_closing()
                or transport.get_write_buffer_size()):  # fmt: skip
            return
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        fd = os.dup(sock.fileno())
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._door.connections.discard(self)
        transport.abort()  # this descriptor only: the duplicate keeps the connection open
        give_back(fd)

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
