"""API Gateway's ``apigatewayv2`` API for HTTP APIs (rest-json, paths under ``/v2/``): APIs,
routes, integrations, authorizers, stages, deployments and tags, over ``lamina.gateway.http.control``
(authorizers: ``authorizer_control``).
Serving the APIs themselves is ``lamina.gateway.http.serving``."""

from __future__ import annotations

import asyncio
from typing import Callable, Mapping, Sequence, TypeVar

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.gateway.http import authorizer_control as authorizers
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.state import ApiState
from lamina.gateway.http.errors import BadRequest
from lamina.gateway.openapi import http_import
from lamina.gateway.openapi.http_plan import HttpDefinition, Place

routes = web.RouteTableDef()
T = TypeVar("T")
API = "/v2/apis/{apiId}"


def _apis(request: web.Request) -> HttpApis:
    return services(request).http_apis


def _api_id(request: web.Request) -> str:
    return request.match_info["apiId"]


def _api_shape(request: web.Request, state: ApiState) -> dict[str, object]:
    return state.api.wire(_apis(request).endpoint(state.api.api_id))


def _items(page: tuple[Sequence[T], str | None], shape: Callable[[T], Mapping[str, object]]) -> web.Response:
    items, token = page
    doc: dict[str, object] = {"items": [shape(i) for i in items]}
    if token is not None:
        doc["nextToken"] = token
    return json_response(doc)


def _no_content() -> web.Response:
    return web.Response(status=204)


@routes.post("/v2/apis")
async def create_api(request: web.Request) -> web.Response:
    state = await _apis(request).create_api(await json_body(request))
    return json_response(_api_shape(request, state), status=201)


@routes.get("/v2/apis")
async def get_apis(request: web.Request) -> web.Response:
    apis = _apis(request)
    return _items(apis.apis(request.query), lambda a: a.wire(apis.endpoint(a.api_id)))


@routes.get(API)
async def get_api(request: web.Request) -> web.Response:
    return json_response(_api_shape(request, _apis(request).state(_api_id(request))))


@routes.patch(API)
async def update_api(request: web.Request) -> web.Response:
    state = await _apis(request).update_api(_api_id(request), await json_body(request))
    return json_response(_api_shape(request, state))


@routes.delete(API)
async def delete_api(request: web.Request) -> web.Response:
    await _apis(request).delete_api(_api_id(request))
    return _no_content()


# -- OpenAPI definitions (gateway/openapi/) -------------------------------------------------------


async def _definition(request: web.Request) -> HttpDefinition:
    body = (await json_body(request)).get("body")
    if not isinstance(body, str):
        raise BadRequest("Invalid input: Body (the OpenAPI definition, as text) is required")
    settings = services(request).settings
    basepath, fail_on_warnings = http_import.flags(request.query)
    return await asyncio.to_thread(http_import.definition, body, Place(settings.account_id, settings.region), basepath,
                                   fail_on_warnings)  # fmt: skip


def _imported(request: web.Request, state: ApiState, found: HttpDefinition) -> web.Response:
    shape = _api_shape(request, state)
    if found.warnings:
        shape["warnings"] = list(found.warnings)
    return json_response(shape, status=201)


@routes.put("/v2/apis")
async def import_api(request: web.Request) -> web.Response:
    found = await _definition(request)
    return _imported(request, await http_import.import_api(_apis(request), found), found)


@routes.put(API)
async def reimport_api(request: web.Request) -> web.Response:
    apis, api_id = _apis(request), _api_id(request)
    apis.state(api_id)
    found = await _definition(request)
    return _imported(request, await http_import.reimport_api(apis, api_id, found), found)


@routes.get(API + "/exports/{specification}")
async def export_api(request: web.Request) -> web.Response:
    apis, api_id = _apis(request), _api_id(request)
    state = apis.state(api_id)
    if request.match_info["specification"] != "OAS30":
        raise BadRequest("Invalid specification: OAS30 is the one supported")
    output = request.query.get("outputType", "")
    if output not in ("JSON", "YAML"):
        raise BadRequest("Invalid outputType: JSON or YAML")
    extensions = request.query.get("includeExtensions", "true").lower() != "false"
    body = http_import.export(state, apis.endpoint(api_id), request.query.get("stageName"), extensions, output)
    return web.Response(body=body, content_type="application/json" if output == "JSON" else "application/yaml")


@routes.delete(API + "/cors")
async def delete_cors_configuration(request: web.Request) -> web.Response:
    await _apis(request).delete_cors(_api_id(request))
    return _no_content()


# -- routes ---------------------------------------------------------------------------------------


@routes.post(API + "/routes")
async def create_route(request: web.Request) -> web.Response:
    route = await _apis(request).create_route(_api_id(request), await json_body(request))
    return json_response(route.wire(), status=201)


@routes.get(API + "/routes")
async def get_routes(request: web.Request) -> web.Response:
    return _items(_apis(request).routes(_api_id(request), request.query), lambda r: r.wire())


@routes.get(API + "/routes/{routeId}")
async def get_route(request: web.Request) -> web.Response:
    return json_response(_apis(request).route(_api_id(request), request.match_info["routeId"]).wire())


@routes.patch(API + "/routes/{routeId}")
async def update_route(request: web.Request) -> web.Response:
    route = await _apis(request).update_route(_api_id(request), request.match_info["routeId"], await json_body(request))
    return json_response(route.wire())


@routes.delete(API + "/routes/{routeId}")
async def delete_route(request: web.Request) -> web.Response:
    await _apis(request).delete_route(_api_id(request), request.match_info["routeId"])
    return _no_content()


# -- integrations ---------------------------------------------------------------------------------


@routes.post(API + "/integrations")
async def create_integration(request: web.Request) -> web.Response:
    integration = await _apis(request).create_integration(_api_id(request), await json_body(request))
    return json_response(integration.wire(), status=201)


@routes.get(API + "/integrations")
async def get_integrations(request: web.Request) -> web.Response:
    return _items(_apis(request).integrations(_api_id(request), request.query), lambda i: i.wire())


@routes.get(API + "/integrations/{integrationId}")
async def get_integration(request: web.Request) -> web.Response:
    return json_response(_apis(request).integration(_api_id(request), request.match_info["integrationId"]).wire())


@routes.patch(API + "/integrations/{integrationId}")
async def update_integration(request: web.Request) -> web.Response:
    integration = await _apis(request).update_integration(
        _api_id(request), request.match_info["integrationId"], await json_body(request))  # fmt: skip
    return json_response(integration.wire())


@routes.delete(API + "/integrations/{integrationId}")
async def delete_integration(request: web.Request) -> web.Response:
    await _apis(request).delete_integration(_api_id(request), request.match_info["integrationId"])
    return _no_content()


# -- authorizers ----------------------------------------------------------------------------------


@routes.post(API + "/authorizers")
async def create_authorizer(request: web.Request) -> web.Response:
    authorizer = await authorizers.create(_apis(request), _api_id(request), await json_body(request))
    return json_response(authorizer.wire(), status=201)


@routes.get(API + "/authorizers")
async def get_authorizers(request: web.Request) -> web.Response:
    return _items(authorizers.list_(_apis(request), _api_id(request), request.query), lambda a: a.wire())


@routes.get(API + "/authorizers/{authorizerId}")
async def get_authorizer(request: web.Request) -> web.Response:
    return json_response(authorizers.get(_apis(request), _api_id(request), request.match_info["authorizerId"]).wire())


@routes.patch(API + "/authorizers/{authorizerId}")
async def update_authorizer(request: web.Request) -> web.Response:
    authorizer = await authorizers.update(_apis(request), _api_id(request), request.match_info["authorizerId"],
                                          await json_body(request))  # fmt: skip
    return json_response(authorizer.wire())


@routes.delete(API + "/authorizers/{authorizerId}")
async def delete_authorizer(request: web.Request) -> web.Response:
    await authorizers.delete(_apis(request), _api_id(request), request.match_info["authorizerId"])
    return _no_content()


# -- stages and deployments -----------------------------------------------------------------------


@routes.post(API + "/stages")
async def create_stage(request: web.Request) -> web.Response:
    stage = await _apis(request).create_stage(_api_id(request), await json_body(request))
    return json_response(stage.wire(), status=201)


@routes.get(API + "/stages")
async def get_stages(request: web.Request) -> web.Response:
    return _items(_apis(request).stages(_api_id(request), request.query), lambda s: s.wire())


@routes.get(API + "/stages/{stageName}")
async def get_stage(request: web.Request) -> web.Response:
    return json_response(_apis(request).stage(_api_id(request), request.match_info["stageName"]).wire())


@routes.patch(API + "/stages/{stageName}")
async def update_stage(request: web.Request) -> web.Response:
    stage = await _apis(request).update_stage(_api_id(request), request.match_info["stageName"], await json_body(request))
    return json_response(stage.wire())


@routes.delete(API + "/stages/{stageName}")
async def delete_stage(request: web.Request) -> web.Response:
    await _apis(request).delete_stage(_api_id(request), request.match_info["stageName"])
    return _no_content()


@routes.post(API + "/deployments")
async def create_deployment(request: web.Request) -> web.Response:
    deployment = await _apis(request).create_deployment(_api_id(request), await json_body(request))
    return json_response(deployment.wire(), status=201)


@routes.get(API + "/deployments")
async def get_deployments(request: web.Request) -> web.Response:
    return _items(_apis(request).deployments(_api_id(request), request.query), lambda d: d.wire())


@routes.get(API + "/deployments/{deploymentId}")
async def get_deployment(request: web.Request) -> web.Response:
    return json_response(_apis(request).deployment(_api_id(request), request.match_info["deploymentId"]).wire())


@routes.delete(API + "/deployments/{deploymentId}")
async def delete_deployment(request: web.Request) -> web.Response:
    await _apis(request).delete_deployment(_api_id(request), request.match_info["deploymentId"])
    return _no_content()


# -- tags (the ARN is one path parameter: botocore sends it with its slashes percent-encoded) ----

TAGS = "/v2/tags/{arn:.+}"


def _arn(request: web.Request) -> str:
    return request.match_info["arn"]


@routes.get(TAGS)
async def get_tags(request: web.Request) -> web.Response:
    return json_response({"tags": dict(_apis(request).tags(_arn(request)))})


@routes.post(TAGS)
async def tag_resource(request: web.Request) -> web.Response:
    body = await json_body(request)
    tags = body.get("tags")
    if not isinstance(tags, dict):
        raise BadRequest("Invalid input: tags must be a map of strings")
    await _apis(request).change_tags(_arn(request), {str(k): str(v) for k, v in tags.items()})
    return json_response({}, status=201)


@routes.delete(TAGS)
async def untag_resource(request: web.Request) -> web.Response:
    await _apis(request).change_tags(_arn(request), {}, request.query.getall("tagKeys", []))
    return _no_content()
