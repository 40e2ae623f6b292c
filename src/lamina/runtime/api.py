"""The Lambda Runtime API for one execution environment, served on its own loopback port.

Each environment gets a private endpoint (``AWS_LAMBDA_RUNTIME_API``), so a runtime can only ever
receive its own environment's events. The endpoint is a small state machine:

    GET  next              -> marks the environment ready (init done) and long-polls for the
                              invocation handed over by ``deliver``
    POST {id}/response     -> the invocation's result      (202; 413 when over the size limit)
    POST {id}/error        -> the invocation's error       (202)
    POST init/error        -> the environment failed to initialise (202)

The Extensions API (``/2020-01-01/extension/...``), the Telemetry API (``/2022-07-01/telemetry``)
and the Logs API (``/2020-08-15/logs``) are served on the same listener by ``runtime/extensions.py``,
made on their first request.

Lamina's own runtimes speak the same calls as frames (runtime/frames.py), on connections that
begin with its preface; there, only ``next`` is answered (with the event), and the other answers
are not written.

Results resolve the ``Invocation.result`` future; ``before_result`` runs first, so the owner can
collect the output the runtime wrote before posting. ``on_fetch`` is told when the runtime takes
an event: from then on, what it prints belongs to that invocation.

Who may connect is decided by where the endpoint listens, never by asking who a peer is: a
sandboxed environment's endpoint is a socket inside that environment's own network namespace
(``start_on``, at 127.0.0.1:9001 as on Lambda), which nothing else can reach.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass, field
from typing import Callable

from lamina import jsonbody
from lamina.runtime import constants as rc
from lamina.runtime.extensions import Extensions
from lamina.runtime.frames import NEXT_FRAME, FramedConnection
from lamina.runtime.http11 import BODY_TIMEOUT_SECONDS, Channel, Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeResult:
    """What the runtime posted: a response, or an error with its type."""

    body: bytes
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_type is None


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str = ""
    client_context: str | None = None
    cognito_identity: str | None = None
    result: asyncio.Future[RuntimeResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def error_body(error_type: str, message: str, request_id: str = "") -> bytes:
    """An error as a runtime reports one, for a runtime that reported it without a body."""
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}
    ).encode()


def platform_error_body(error_type: str, message: str) -> bytes:
    """An error Lambda itself reports (a timeout, a crash, a response too large): only its message
    and type, as AWS's payloads carry (no ``requestId`` nor ``stackTrace``)."""
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


_ACCEPTED = {"status": "OK"}
_PREFIX = f"/{rc.API_VERSION}/runtime/invocation/"
# A runtime's "next" over HTTP, as the native data plane read it (and gives it back unanswered).
_NEXT_REQUEST = f"GET {rc.PATH_NEXT} HTTP/1.1\r\n\r\n".encode()
# The Extensions, Telemetry and Logs APIs.
_EXTENSIONS_PREFIXES = ("/2020-01-01/extension/", "/2022-07-01/telemetry", "/2020-08-15/logs")


class RuntimeApiEndpoint:
    def __init__(
        self,
        *,
        max_response_bytes: int,
        before_result: Callable[[], None] = lambda: None,
        on_fetch: Callable[[Invocation], None] = lambda inv: None,
        extensions: Callable[[], Extensions] | None = None,
    ) -> None:
        self.max_response_bytes = max_response_bytes
        # The Extensions API (runtime/extensions.py), made on its first request: an environment whose
        # processes never call it keeps the runtime's path as it is.
        self.extensions: Extensions | None = None
        self._make_extensions = extensions
        self._before_result = before_result
        self._on_fetch = on_fetch
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.init_error: asyncio.Future[RuntimeResult] = loop.create_future()
        self._current: Invocation | None = None
        self._delivered = False
        self._waiting: Channel | None = None  # a runtime long-polling on next
        self._asked: asyncio.Future[None] | None = None  # resolved when the runtime next asks for an event
        self._connections: set[Channel] = set()
        self._lent_http = False  # the connection lent to the native data plane speaks HTTP, not frames
        # While lent: asks the data plane for the environment back at once (called once), and the
        # requests that came meanwhile on other connections, handled once it is back.
        self._recall: Callable[[], None] | None = None
        self._lent = False
        self._deferred: list[tuple[Channel, str, str, dict[str, str], bytes | None]] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str) -> int:
        """Listen on an ephemeral port of ``host`` (an environment without a network namespace of its own)."""
        self._server = await asyncio.get_running_loop().create_server(
            lambda: Connection(self, self.max_response_bytes), host, 0, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def start_on(self, listener: socket.socket) -> None:
        """Serve on ``listener``: a listening socket inside the environment's own network namespace."""
        self._server = await asyncio.get_running_loop().create_server(
            lambda: Connection(self, self.max_response_bytes), sock=listener
        )
        self.port = listener.getsockname()[1]

    async def stop(self) -> None:
        """Close the endpoint and its connections; safe to call twice."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self._connections):
            conn.close()
        if self.extensions is not None:
            self.extensions.close()

    def deliver(self, invocation: Invocation) -> None:
        """Hand ``invocation`` to the runtime: now if it is waiting on ``next``, else on its next call."""
        self._current = invocation
        self._delivered = False
        waiting, self._waiting = self._waiting, None
        if waiting is not None and waiting.open:
            self._send_next(waiting)

    def finish(self) -> None:
        """Forget the current invocation (it was answered, timed out, or its environment died)."""
        self._current = None

    def asked_for_next(self) -> asyncio.Future[None]:
        """Resolves once the runtime is waiting for its next event: its previous invocation is over."""
        future = asyncio.get_running_loop().create_future()
        if self._waiting is not None:
            future.set_result(None)
        else:
            self._asked = future
        return future

    @property
    def fetched(self) -> bool:
        """Whether the runtime has fetched the current invocation's event."""
        return self._current is not None and self._delivered

    # -- lending to the native data plane ---------------------------------------------------

    def lendable(self) -> bool:
        """Whether its runtime waits for an event on its one connection (framed, or HTTP/1.1 kept
        alive) and nothing else is going on (no invocation, no extension, nothing of a request or
        frame buffered)."""
        conn = self._waiting
        return (isinstance(conn, (FramedConnection, Connection)) and conn.open and conn.between_requests
                and self._current is None and self.extensions is None and len(self._connections) == 1)  # fmt: skip

    def lend(self, recall: Callable[[], None]) -> tuple[int, bool]:
        """The waiting connection's descriptor (a duplicate: this side of it is closed), and
        whether it speaks HTTP (else frames). Should the runtime open another connection while it
        is lent, ``recall`` is called to have it back at once (``take_back``), and that connection's
        requests wait until then."""
        conn = self._waiting
        assert isinstance(conn, (FramedConnection, Connection))
        self._waiting = None
        self._connections.discard(conn)
        self._lent_http = isinstance(conn, Connection)
        self._lent = True
        self._recall = recall
        return conn.detach(), self._lent_http

    async def take_back(self, sock: socket.socket, data: bytes, *, waiting: bool,
                        current: Invocation | None = None) -> None:  # fmt: skip
        """Serve a connection the native data plane gives back: ``data`` was read from it and not
        used; ``waiting``: its runtime asked for its next event (the plane read that ``N`` or
        ``GET next``, answered here); ``current``: the invocation whose event the runtime was
        handed there."""
        if current is not None:
            self._current = current
            self._delivered = True
        self._lent = False
        self._recall = None
        kind = Connection if self._lent_http else FramedConnection
        initial = ((_NEXT_REQUEST if self._lent_http else NEXT_FRAME) if waiting else b"") + data
        await asyncio.get_running_loop().connect_accepted_socket(
            lambda: kind(self, self.max_response_bytes, body_timeout=BODY_TIMEOUT_SECONDS, initial=initial), sock
        )  # fmt: skip
        deferred, self._deferred = self._deferred, []
        for conn, method, path, headers, body in deferred:
            if conn.open:
                self.handle_request(conn, method, path, headers, body)

    # -- http11.Handler (for both encodings) --------------------------------------------------------------------

    def connection_allowed(self, conn: Channel) -> bool:
        self._connections.add(conn)
        recall, self._recall = self._recall, None
        if recall is not None:
            recall()
        return True

    def connection_closed(self, conn: Channel) -> None:
        self._connections.discard(conn)
        if self._waiting is conn:
            self._waiting = None
        if self.extensions is not None:
            self.extensions.connection_closed(conn)

    def handle_request(self, conn: Channel, method: str, path: str, headers: dict[str, str], body: bytes | None) -> None:
        if self._lent:  # the environment's state is the data plane's until it is back
            self._deferred.append((conn, method, path, headers, body))
            return
        if method == "GET" and path == rc.PATH_NEXT:
            self._next(conn)
        elif method == "POST" and path == rc.PATH_INIT_ERROR:
            self._post_init_error(conn, headers, body)
        elif method == "POST" and path.startswith(_PREFIX):
            request_id, _, kind = path[len(_PREFIX) :].partition("/")
            if kind in ("response", "error"):
                self._post_result(conn, request_id, kind, headers, body)
            else:
                self._unknown(conn, method, path)
        elif path.startswith(_EXTENSIONS_PREFIXES) and self._make_extensions is not None:
            if self.extensions is None:
                self.extensions = self._make_extensions()
            self.extensions.handle(conn, method, path, headers, body)
        else:
            self._unknown(conn, method, path)

    # -- the Runtime API -------------------------------------------------------------------

    def _next(self, conn: Channel) -> None:
        if not self.ready.done():
            self.ready.set_result(None)
        if self._current is None or self._delivered:
            self._waiting = conn  # answered by deliver()
            asked, self._asked = self._asked, None
            if asked is not None and not asked.done():
                asked.set_result(None)
        else:
            self._send_next(conn)

    def _send_next(self, conn: Channel) -> None:
        inv = self._current
        assert inv is not None
        self._delivered = True
        self._on_fetch(inv)
        headers = {
            "Content-Type": "application/json",
            rc.HEADER_REQUEST_ID: inv.request_id,
            rc.HEADER_DEADLINE_MS: str(inv.deadline_ms),
            rc.HEADER_FUNCTION_ARN: inv.function_arn,
            rc.HEADER_TRACE_ID: inv.trace_id,
        }
        if inv.client_context:
            headers[rc.HEADER_CLIENT_CONTEXT] = inv.client_context
        if inv.cognito_identity:
            headers[rc.HEADER_COGNITO_IDENTITY] = inv.cognito_identity
        conn.respond(200, headers, inv.payload)

    def _post_result(self, conn: Channel, request_id: str, kind: str, headers: dict[str, str], body: bytes | None) -> None:
        inv = self._current
        if inv is None or inv.request_id != request_id or inv.result.done():
            log.debug("Runtime API: a %s for request %.80r, not the invocation in progress, ignored", kind, request_id)
            conn.respond_json(400, {"errorMessage": f"Invalid request ID: {request_id}", "errorType": "InvalidRequestID"})
            return
        self._before_result()
        if body is None:
            message = (
                f"Response payload size exceeded maximum allowed payload size ({self.max_response_bytes} bytes)."
            )
            inv.result.set_result(RuntimeResult(platform_error_body(rc.ERROR_RESPONSE_TOO_LARGE, message),
                                                rc.ERROR_RESPONSE_TOO_LARGE))  # fmt: skip
            conn.respond_json(413, {"errorMessage": message, "errorType": "RequestEntityTooLarge"})
            return
        if kind == "response":
            inv.result.set_result(RuntimeResult(body))
        else:
            error_type = headers.get(rc.HEADER_ERROR_TYPE.lower()) or _error_type(body) or rc.ERROR_UNKNOWN
            inv.result.set_result(RuntimeResult(body or error_body(error_type, "", request_id), error_type))
        conn.respond_json(202, _ACCEPTED)

    def _post_init_error(self, conn: Channel, headers: dict[str, str], body: bytes | None) -> None:
        body = body or b""
        self._before_result()
        error_type = headers.get(rc.HEADER_ERROR_TYPE.lower()) or _error_type(body) or rc.ERROR_UNKNOWN
        if not self.init_error.done():
            self.init_error.set_result(RuntimeResult(body or error_body(error_type, "Init error"), error_type))
        conn.respond_json(202, _ACCEPTED)

    @staticmethod
    def _unknown(conn: Channel, method: str, path: str) -> None:
        conn.respond_json(404, {"errorMessage": f"Unknown Runtime API path: {method} {path}", "errorType": "InvalidRequest"})


def _error_type(body: bytes) -> str | None:
    """The ``errorType`` of an error document a runtime posted without the error-type header, or
    None. Never raises: what a function posts is untrusted. Read only when the body is at most
    ``jsonbody.INLINE_BYTES``, as parsing a larger one (up to the response limit) would stall the
    event loop; runtimes name the type in the header, which is read first."""
    if len(body) > jsonbody.INLINE_BYTES:
        return None
    doc = jsonbody.read(body)
    value = doc.get("errorType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None
