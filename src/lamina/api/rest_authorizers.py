"""API Gateway's authorizer operations for REST APIs (``/restapis/{api}/authorizers``), and the
flush of a stage's kept authorizer answers. The control plane is ``gateway.rest.authorizer_control``."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.api.rest_apis import _limit, _page, _str, _strs
from lamina.gateway.rest.authorizer_control import RestAuthorizers
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.patches import parse_patches

routes = web.RouteTableDef()
AUTHORIZERS = "/restapis/{api}/authorizers"
AUTHORIZER = AUTHORIZERS + "/{authorizer}"


def _authorizers(request: web.Request) -> RestAuthorizers:
    return RestAuthorizers(services(request).rest_apis)


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["api"], request.match_info["authorizer"]


@routes.post(AUTHORIZERS)
async def create_authorizer(request: web.Request) -> web.Response:
    body = await json_body(request)
    name, type_ = _str(body, "name"), _str(body, "type")
    if not name or not type_:
        raise BadRequest("Authorizer name and type must be specified")
    ttl = body.get("authorizerResultTtlInSeconds")
    if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool)):
        raise BadRequest("Invalid value for authorizerResultTtlInSeconds")
    extra = {k: v for k in ("authType", "authorizerCredentials") if isinstance(v := body.get(k), str)}
    authorizer = await _authorizers(request).create(
        request.match_info["api"], name, type_, _str(body, "authorizerUri"), _str(body, "identitySource"),
        _str(body, "identityValidationExpression"), ttl, _strs(body, "providerARNs"), extra,
    )  # fmt: skip
    return json_response(authorizer.doc(), 201)


@routes.get(AUTHORIZERS)
async def get_authorizers(request: web.Request) -> web.Response:
    items, position = _authorizers(request).list(request.match_info["api"], request.query.get("position"), _limit(request))
    return _page([a.doc() for a in items], position)


@routes.get(AUTHORIZER)
async def get_authorizer(request: web.Request) -> web.Response:
    return json_response(_authorizers(request).get(*_ids(request)).doc())


@routes.patch(AUTHORIZER)
async def update_authorizer(request: web.Request) -> web.Response:
    body = await json_body(request)
    authorizer = await _authorizers(request).update(*_ids(request), parse_patches(body.get("patchOperations")))
    return json_response(authorizer.doc())


@routes.delete(AUTHORIZER)
async def delete_authorizer(request: web.Request) -> web.Response:
    await _authorizers(request).delete(*_ids(request))
    return web.Response(status=202)


@routes.delete("/restapis/{api}/stages/{stage}/cache/authorizers")
async def flush_stage_authorizers_cache(request: web.Request) -> web.Response:
    api_id, stage = request.match_info["api"], request.match_info["stage"]
    svc = services(request)
    svc.rest_apis.stage(api_id, stage)  # NotFound for an unknown API or stage
    svc.rest_apis.authorizer_answers.forget((api_id, stage))
    return web.Response(status=202)
