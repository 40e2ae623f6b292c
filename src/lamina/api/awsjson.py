"""AWS's JSON protocols (json-1.1, and json-1.0 for SQS): ``POST /`` with ``X-Amz-Target:
<Prefix>.<Operation>`` and a JSON body, routed to the handler a service registered for that
operation. Each prefix answers with its own content type; an error adds its own headers
(``ApiError.headers``: SQS's ``x-amzn-query-error``, for instance).

Errors are rendered here in json-1.1's shape, not the Lambda API's (api/errors.py): the status, and
the body ``{"__type": "<Code>", "message": "..."}`` (botocore reads the code from ``__type``). A target
no service knows is ``UnknownOperationException``; a body that is not a JSON object is
``SerializationException``, as AWS answers them.

An operation whose answer is a stream (CloudWatch Logs' StartLiveTail: an event stream) is
registered with ``register_streaming``: it is given the request and writes its own answer; an
``ApiError`` it raises before it starts writing is rendered as any other.
"""

from __future__ import annotations

import json
from typing import Awaitable, Callable, Mapping

from aiohttp import web

from lamina import jsonbody
from lamina.api.context import Services, read_body, services
from lamina.api.errors import REQUEST_ID
from lamina.errors import ApiError

CONTENT_TYPE = "application/x-amz-json-1.1"

# An operation: the services and the request's members -> the response's members.
Operation = Callable[[Services, Mapping[str, object]], Awaitable[Mapping[str, object]]]
# One that needs the request itself (its Host: SQS answers with queue URLs on it).
RequestOperation = Callable[[web.Request, Mapping[str, object]], Awaitable[Mapping[str, object]]]
OPERATIONS = web.AppKey("awsjson_operations", dict)  # target prefix -> {operation name: Operation}
CONTENT_TYPES = web.AppKey("awsjson_content_types", dict)  # target prefix -> its content type
WITH_REQUEST = web.AppKey("awsjson_with_request", set)  # target prefixes whose operations take the request
# One that writes its own answer (a stream): the request and its members -> the response it wrote.
StreamingOperation = Callable[[web.Request, Mapping[str, object]], Awaitable[web.StreamResponse]]
STREAMING = web.AppKey("awsjson_streaming", dict)  # "<prefix>.<name>" -> StreamingOperation


class UnknownOperation(ApiError):
    code = "UnknownOperationException"
    status = 400


class Serialization(ApiError):
    code = "SerializationException"
    status = 400


def register(app: web.Application, prefix: str, operations: Mapping[str, Operation],
             content_type: str = CONTENT_TYPE) -> None:  # fmt: skip
    """Serve ``operations`` for ``X-Amz-Target: <prefix>.<name>`` (the route is added once)."""
    _add(app, prefix, operations, content_type)


def register_with_request(app: web.Application, prefix: str, operations: Mapping[str, RequestOperation],
                          content_type: str = CONTENT_TYPE) -> None:  # fmt: skip
    """As ``register``, for operations that are given the request rather than the services."""
    _add(app, prefix, operations, content_type)
    app[WITH_REQUEST].add(prefix)


def register_streaming(app: web.Application, prefix: str, operations: Mapping[str, StreamingOperation]) -> None:
    """Serve ``operations``, which write their own answers, for ``X-Amz-Target: <prefix>.<name>``
    (beside ``prefix``'s operations registered with ``register``)."""
    _setup(app)
    app[STREAMING].update({f"{prefix}.{name}": operation for name, operation in operations.items()})


def _setup(app: web.Application) -> None:
    """The route and the tables, once."""
    if OPERATIONS not in app:
        app[OPERATIONS] = {}
        app[CONTENT_TYPES] = {}
        app[WITH_REQUEST] = set()
        app[STREAMING] = {}
        app.router.add_post("/", dispatch)


def _add(app: web.Application, prefix: str, operations: Mapping[str, object], content_type: str) -> None:
    _setup(app)
    app[OPERATIONS][prefix] = dict(operations)
    app[CONTENT_TYPES][prefix] = content_type


def render_error(error: ApiError, request_id: str, content_type: str = CONTENT_TYPE) -> web.Response:
    body = {"__type": error.code, "message": error.message}
    return web.Response(status=error.status, body=json.dumps(body).encode(), content_type=content_type,
                        headers={"x-amzn-RequestId": request_id, **error.headers()})  # fmt: skip


async def dispatch(request: web.Request) -> web.StreamResponse:
    request_id = str(request.get(REQUEST_ID, ""))
    prefix = request.headers.get("X-Amz-Target", "").partition(".")[0]
    content_type = request.app[CONTENT_TYPES].get(prefix, CONTENT_TYPE)
    streaming: StreamingOperation | None = request.app[STREAMING].get(request.headers.get("X-Amz-Target", ""))
    try:
        operation = _operation(request) if streaming is None else None
        raw = await read_body(request)
        try:
            body = await jsonbody.parse(raw) if raw.strip() else {}
        except ApiError:
            raise Serialization("Start of structure or map found where not expected.") from None
        if not isinstance(body, dict):
            raise Serialization("Start of structure or map found where not expected.")
        if streaming is not None:
            return await streaming(request, body)
        assert operation is not None
        if prefix in request.app[WITH_REQUEST]:
            result = await operation(request, body)  # type: ignore[arg-type]
        else:
            result = await operation(services(request), body)
    except ApiError as exc:
        return render_error(exc, request_id, content_type)
    return web.Response(body=json.dumps(result).encode(), content_type=content_type,
                        headers={"x-amzn-RequestId": request_id})  # fmt: skip


def _operation(request: web.Request) -> Operation:
    target = request.headers.get("X-Amz-Target", "")
    prefix, _, name = target.partition(".")
    found = request.app[OPERATIONS].get(prefix, {}).get(name)
    if found is None:
        raise UnknownOperation(f"Unknown operation {target or 'POST /'}")
    return found  # type: ignore[no-any-return]
