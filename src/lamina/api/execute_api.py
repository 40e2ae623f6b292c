"""Serving API Gateway APIs on Lamina's own port, ahead of the Lambda API.

A request for an execute-api address (``lamina.gateway.addresses``: the Host header or the
``/_aws/execute-api/<api-id>/`` prefix) never reaches the Lambda API's routes, errors or guard:
the API that owns the id answers it (``lamina.gateway.endpoint``). An id no API owns gets API
Gateway's own answer to an unknown host, ``403 {"message": "Forbidden"}``.
"""

from __future__ import annotations

import json

from aiohttp import web

from lamina.api.context import CELLS
from lamina.api.errors import Handler
from lamina.gateway import addresses

FORBIDDEN = json.dumps({"message": "Forbidden"}).encode()


def _target(request: web.Request) -> tuple[str, str] | None:
    """(api-id, the API's raw path) if the request is for an execute-api address."""
    api_id = addresses.parse_host(request.headers.get("Host", ""))
    if api_id is not None:
        return api_id, request.raw_path.partition("?")[0]
    return addresses.split_path_form(request.raw_path.partition("?")[0])


@web.middleware
async def execute_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    target = _target(request)
    if target is None:
        return await handler(request)
    api_id, path = target
    kind = request.app[CELLS].kind(api_id)  # whichever cell has the API (lamina.cells)
    if kind is None:
        return web.Response(status=403, body=FORBIDDEN, content_type="application/json",
                            headers={"x-amzn-ErrorType": "ForbiddenException"})  # fmt: skip
    return await kind.serve(request, api_id, path)
