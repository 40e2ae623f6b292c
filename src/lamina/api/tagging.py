"""``/tags/{arn}``: a path two rest-json services share, told apart by the ARN's service.

EventBridge Scheduler tags with POST, untags with DELETE and lists with GET; API Gateway's REST
APIs tag with PUT, untag with DELETE and list with GET. The ARN (``arn:aws:<service>:...``) says
whose resource it is; a method the service does not define is an unknown operation.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api import rest_apis, scheduler
from lamina.api.errors import Handler, UnknownOperation

routes = web.RouteTableDef()

_OPERATIONS: dict[tuple[str, str], Handler] = {
    ("scheduler", "POST"): scheduler.tag_resource,
    ("scheduler", "DELETE"): scheduler.untag_resource,
    ("scheduler", "GET"): scheduler.list_tags,
    ("apigateway", "PUT"): rest_apis.tag_resource,
    ("apigateway", "DELETE"): rest_apis.untag_resource,
    ("apigateway", "GET"): rest_apis.get_tags,
}


@routes.route("*", "/tags/{arn:.+}")
async def tags(request: web.Request) -> web.StreamResponse:
    parts = request.match_info["arn"].split(":", 3)
    service = parts[2] if len(parts) > 3 and parts[0] == "arn" else ""
    operation = _OPERATIONS.get((service, request.method))
    if operation is None:
        raise UnknownOperation(f"Unknown operation {request.method} {request.path}")
    return await operation(request)
