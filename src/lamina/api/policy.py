"""Lambda API: a function's resource-based policy (AddPermission, RemovePermission, GetPolicy)."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.policy import PolicyService
from lamina.control.targets import identify
from lamina.control.validation import NAMESPACED

routes = web.RouteTableDef()
POLICY = "/2015-03-31/functions/{FunctionName}/policy"


def _target(request: web.Request) -> tuple[str, str | None]:
    return identify(request.match_info["FunctionName"], request.query.get("Qualifier"),
                    region=services(request).settings.region, shape=NAMESPACED)


@routes.post(POLICY)
async def add_permission(request: web.Request) -> web.Response:
    name, qualifier = _target(request)
    statement = await services(request).policies.add(name, qualifier, await json_body(request))
    return json_response({"Statement": PolicyService.render_statement(statement)}, status=201)


@routes.delete(POLICY + "/{StatementId}")
async def remove_permission(request: web.Request) -> web.Response:
    name, qualifier = _target(request)
    sid = request.match_info["StatementId"]
    await services(request).policies.remove(name, qualifier, sid, request.query.get("RevisionId"))
    return web.Response(status=204)


@routes.get(POLICY)
async def get_policy(request: web.Request) -> web.Response:
    name, qualifier = _target(request)
    policy = await services(request).policies.get(name, qualifier)
    return json_response({"Policy": PolicyService.render_policy(policy), "RevisionId": policy.revision_id})
