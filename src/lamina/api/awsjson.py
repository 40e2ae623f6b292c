"""AWS's json-1.1 protocol: ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>`` and a JSON body,
routed to the handler a service registered for that operation.

Errors are rendered here in json-1.1's shape, not the Lambda API's (api/errors.py): the status, and
the body ``{"__type": "<Code>", "message": "..."}`` (botocore reads the code from ``__type``). A target
no service knows is ``UnknownOperationException``; a body that is not a JSON object is
``SerializationException``, as AWS answers them.
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
OPERATIONS = web.AppKey("awsjson_operations", dict)  # target prefix -> {operation name: Operation}


class UnknownOperation(ApiError):
    code = "UnknownOperationException"
    status = 400


class Serialization(ApiError):
    code = "SerializationException"
    status = 400


def register(app: web.Application, prefix: str, operations: Mapping[str, Operation]) -> None:
    """Serve ``operations`` for ``X-Amz-Target: <prefix>.<name>`` (the route is added once)."""
    if OPERATIONS not in app:
        app[OPERATIONS] = {}
        app.router.add_post("/", dispatch)
    app[OPERATIONS][prefix] = dict(operations)


def render_error(error: ApiError, request_id: str) -> web.Response:
    body = {"__type": error.code, "message": error.message}
    return web.Response(status=error.status, body=json.dumps(body).encode(), content_type=CONTENT_TYPE,
                        headers={"x-amzn-RequestId": request_id})  # fmt: skip


async def dispatch(request: web.Request) -> web.Response:
    request_id = str(request.get(REQUEST_ID, ""))
    try:
        operation = _operation(request)
        raw = await read_body(request)
        try:
            body = await jsonbody.parse(raw) if raw.strip() else {}
        except ApiError:
            raise Serialization("Start of structure or map found where not expected.") from None
        if not isinstance(body, dict):
            raise Serialization("Start of structure or map found where not expected.")
        result = await operation(services(request), body)
    except ApiError as exc:
        return render_error(exc, request_id)
    return web.Response(body=json.dumps(result).encode(), content_type=CONTENT_TYPE,
                        headers={"x-amzn-RequestId": request_id})  # fmt: skip


def _operation(request: web.Request) -> Operation:
    target = request.headers.get("X-Amz-Target", "")
    prefix, _, name = target.partition(".")
    found = request.app[OPERATIONS].get(prefix, {}).get(name)
    if found is None:
        raise UnknownOperation(f"Unknown operation {target or 'POST /'}")
    return found  # type: ignore[no-any-return]
