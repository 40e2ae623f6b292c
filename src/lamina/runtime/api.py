"""The Lambda Runtime API for one execution environment, served on its own loopback port.

Each environment gets a private endpoint (``AWS_LAMBDA_RUNTIME_API``), so a runtime can only ever
receive its own environment's events. The endpoint is a small state machine:

    GET  next              -> marks the environment ready (init done) and long-polls for the
                              invocation handed over by ``deliver``
    POST {id}/response     -> the invocation's result      (202; 413 when over the size limit)
    POST {id}/error        -> the invocation's error       (202)
    POST init/error        -> the environment failed to initialise (202)

Results resolve the ``Invocation.result`` future; ``before_result`` runs first, so the owner can
collect the output the runtime wrote before posting. With ``owner_uid``, a connection is served
only if the kernel says its socket belongs to that uid (the environment's own): another
environment that finds the port gets 403 and a closed connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web
from aiohttp.web_request import BaseRequest

from lamina.runtime import constants as rc
from lamina.sandbox.peers import tcp_peer_uid

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
    return json.dumps(
        {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": []}
    ).encode()


def _json(status: int, body: dict[str, str]) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")


_ACCEPTED = {"status": "OK"}


class RuntimeApiEndpoint:
    def __init__(
        self, *, max_response_bytes: int, before_result: Callable[[], None] = lambda: None, owner_uid: int | None = None
    ) -> None:
        self.max_response_bytes = max_response_bytes
        self._before_result = before_result
        self._owner_uid = owner_uid
        self._trusted: set[object] = set()  # peer addresses of connections already checked
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.init_error: asyncio.Future[RuntimeResult] = loop.create_future()
        self._current: Invocation | None = None
        self._delivered = False
        self._wakeup: asyncio.Future[None] | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str) -> int:
        self._server = await asyncio.get_running_loop().create_server(
            web.Server(self._handle, access_log=None), host, 0, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Close the endpoint; safe to call twice. Pending long-polls end when the process dies."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.cancel()

    def deliver(self, invocation: Invocation) -> None:
        """Hand ``invocation`` to the runtime: now if it is waiting on ``next``, else on its next call."""
        self._current = invocation
        self._delivered = False
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    def finish(self) -> None:
        """Forget the current invocation (it was answered, timed out, or its environment died)."""
        self._current = None

    def _allowed(self, request: BaseRequest) -> bool:
        if self._owner_uid is None:
            return True
        transport = request.transport
        if transport is None:
            return False
        peer = transport.get_extra_info("peername")
        if peer in self._trusted:
            return True
        try:
            uid = tcp_peer_uid(transport.get_extra_info("sockname")[:2], peer[:2])
        except OSError as exc:
            log.warning("cannot check who connects to a Runtime API (%s); allowing it", exc)
            uid = self._owner_uid
        if uid != self._owner_uid:
            log.warning("refused a Runtime API connection from uid %s (expected %s)", uid, self._owner_uid)
            return False
        self._trusted.add(peer)
        return True

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        if not self._allowed(request):
            response = _json(403, {"errorMessage": "This Runtime API belongs to another environment.",
                                   "errorType": "Forbidden"})  # fmt: skip
            response.force_close()
            return response
        path = request.path
        if request.method == "GET" and path == rc.PATH_NEXT:
            return await self._next()
        if request.method == "POST":
            if path == rc.PATH_INIT_ERROR:
                return await self._post_init_error(request)
            prefix = f"/{rc.API_VERSION}/runtime/invocation/"
            if path.startswith(prefix):
                request_id, _, kind = path[len(prefix) :].partition("/")
                if kind in ("response", "error"):
                    return await self._post_result(request, request_id, kind)
        return _json(404, {"errorMessage": f"Unknown Runtime API path: {request.method} {path}", "errorType": "InvalidRequest"})

    async def _next(self) -> web.Response:
        if not self.ready.done():
            self.ready.set_result(None)
        while self._current is None or self._delivered:
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        inv = self._current
        self._delivered = True
        headers = {
            rc.HEADER_REQUEST_ID: inv.request_id,
            rc.HEADER_DEADLINE_MS: str(inv.deadline_ms),
            rc.HEADER_FUNCTION_ARN: inv.function_arn,
            rc.HEADER_TRACE_ID: inv.trace_id,
        }
        if inv.client_context:
            headers[rc.HEADER_CLIENT_CONTEXT] = inv.client_context
        if inv.cognito_identity:
            headers[rc.HEADER_COGNITO_IDENTITY] = inv.cognito_identity
        return web.Response(body=inv.payload, headers=headers, content_type="application/json")

    async def _post_result(self, request: BaseRequest, request_id: str, kind: str) -> web.Response:
        inv = self._current
        if inv is None or inv.request_id != request_id or inv.result.done():
            await request.read()
            return _json(400, {"errorMessage": f"Invalid request ID: {request_id}", "errorType": "InvalidRequestID"})
        body = await self._read_limited(request)
        self._before_result()
        if body is None:
            message = (
                f"Response payload size exceeded maximum allowed payload size ({self.max_response_bytes} bytes)."
            )
            inv.result.set_result(RuntimeResult(error_body(rc.ERROR_RESPONSE_TOO_LARGE, message, request_id),
                                                rc.ERROR_RESPONSE_TOO_LARGE))  # fmt: skip
            return _json(413, {"errorMessage": message, "errorType": "RequestEntityTooLarge"})
        if kind == "response":
            inv.result.set_result(RuntimeResult(body))
        else:
            error_type = request.headers.get(rc.HEADER_ERROR_TYPE) or _error_type(body) or rc.ERROR_UNKNOWN
            inv.result.set_result(RuntimeResult(body or error_body(error_type, "", request_id), error_type))
        return _json(202, _ACCEPTED)

    async def _post_init_error(self, request: BaseRequest) -> web.Response:
        body = await self._read_limited(request) or b""
        self._before_result()
        error_type = request.headers.get(rc.HEADER_ERROR_TYPE) or _error_type(body) or rc.ERROR_UNKNOWN
        if not self.init_error.done():
            self.init_error.set_result(RuntimeResult(body or error_body(error_type, "Init error"), error_type))
        return _json(202, _ACCEPTED)

    async def _read_limited(self, request: BaseRequest) -> bytes | None:
        """The body, or None when it is larger than the response limit (the rest is drained)."""
        length = request.content_length
        if length is not None and length <= self.max_response_bytes:
            return await request.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size <= self.max_response_bytes:
                chunks.append(chunk)
        return b"".join(chunks) if size <= self.max_response_bytes else None


def _error_type(body: bytes) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    value = doc.get("errorType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and value else None
