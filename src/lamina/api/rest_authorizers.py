"""API Gateway's authorizer operations for REST APIs (``/restapis/{api}/authorizers``), the flush
of a stage's kept authorizer answers, and TestInvokeAuthorizer. The control plane is
``gateway.rest.authorizer_control``; test invocations ask the authorizer as the data plane does
(``gateway.rest.authorizing``), about a GET of ``pathWithQueryString`` in the stage
``test-invoke-stage``, and keep nothing."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timezone

from aiohttp import web

from lamina import ids
from lamina.api.context import json_body, json_response, services
from lamina.api.rest_apis import _limit, _page, _str, _str_map, _strs
from lamina.gateway.addresses import domain_name
from lamina.gateway.rest.authorizer_control import RestAuthorizers
from lamina.gateway.rest.authorizing import Authorizing
from lamina.gateway.rest.events import RestContext, RestRequest
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


@routes.post(AUTHORIZER)
async def test_invoke_authorizer(request: web.Request) -> web.Response:
    body = await json_body(request)
    api_id, authorizer_id = _ids(request)
    svc = services(request)
    authorizer = _authorizers(request).get(api_id, authorizer_id)
    headers = list(_str_map(body, "headers").items())
    multi = body.get("multiValueHeaders")
    if isinstance(multi, dict):
        headers += [(str(k), str(v)) for k, values in multi.items() if isinstance(values, list) for v in values]
    path, _, query = (_str(body, "pathWithQueryString") or "/").partition("?")
    req = RestRequest("GET", path if path.startswith("/") else "/" + path, query, tuple(headers),
                      (_str(body, "body") or "").encode(), "test-invoke-source-ip")  # fmt: skip
    ctx = RestContext(
        api_id=api_id, account_id=svc.settings.account_id, stage="test-invoke-stage", resource_id="test-invoke-resource",
        resource_path=req.path, path_parameters={}, stage_variables=_str_map(body, "stageVariables"),
        binary_media_types=(), domain_name=domain_name(api_id), request_id=ids.request_id(),
        extended_request_id=base64.b64encode(secrets.token_bytes(10)).decode(), trace_id=f"Root={ids.trace_root()}",
        now=datetime.now(timezone.utc), forwarded_port=svc.settings.port,
    )  # fmt: skip
    tested = await Authorizing(svc.invoker, svc.settings.region, svc.rest_apis.authorizer_answers).test_invoke(
        authorizer, req, ctx)
    doc: dict[str, object] = {"clientStatus": tested.status, "log": "", "latency": tested.latency_ms}
    if tested.answer is not None:
        principal, policy = tested.answer.get("principalId"), tested.answer.get("policyDocument")
        if isinstance(principal, str):
            doc["principalId"] = principal
        if policy is not None:
            doc["policy"] = json.dumps(policy)
    return json_response(doc)
