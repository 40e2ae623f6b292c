"""API Gateway's ``apigateway`` API (REST APIs) as boto3 and the AWS CLI call it: rest-json under
``/restapis``, and tags under ``/tags/{arn}`` (api/tagging.py). The control plane is ``lamina.gateway.rest.service``."""

from __future__ import annotations

import asyncio
from typing import Mapping

from aiohttp import web

from lamina.api.context import json_body, json_response, read_body, services
from lamina.gateway.openapi import rest_import
from lamina.gateway.openapi.http_plan import Place
from lamina.gateway.openapi.rest_plan import RestDefinition
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.model import Method, Resource, RestApi
from lamina.gateway.rest.patches import parse_patches
from lamina.gateway.rest.service import RestApiService, response_of

routes = web.RouteTableDef()
API = "/restapis/{api}"
RESOURCE = API + "/resources/{resource}"
METHOD = RESOURCE + "/methods/{verb}"
INTEGRATION = METHOD + "/integration"


def _svc(request: web.Request) -> RestApiService:
    return services(request).rest_apis


def _str(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"Invalid value for {key}")
    return value


def _str_map(body: Mapping[str, object], key: str) -> dict[str, str]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid value for {key}")
    return {str(k): str(v) for k, v in value.items()}


def _strs(body: Mapping[str, object], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"Invalid value for {key}")
    return list(value)


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "25")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest("Invalid limit specified: must be between 1 and 500")
    return int(raw)


def _page(items: list[dict[str, object]], position: str | None) -> web.Response:
    doc: dict[str, object] = {"item": items}
    if position is not None:
        doc["position"] = position
    return json_response(doc)


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["api"], request.match_info["resource"]


# -- REST APIs ---------------------------------------------------------------------------------


async def _definition(request: web.Request) -> tuple[RestDefinition, list[str]]:
    parameters, fail_on_warnings, types = rest_import.options(request.query)
    settings = services(request).settings
    body = await read_body(request)
    found = await asyncio.to_thread(rest_import.definition, body, Place(settings.account_id, settings.region),
                                    parameters, fail_on_warnings)  # fmt: skip
    return found, types


def _imported(api: RestApi, found: RestDefinition, status: int) -> web.Response:
    doc = api.doc()
    if found.warnings:
        doc["warnings"] = list(found.warnings)
    return json_response(doc, status)


@routes.post("/restapis")
async def create_rest_api(request: web.Request) -> web.Response:
    if request.query.get("mode") == "import":  # ImportRestApi: the body is the definition
        found, types = await _definition(request)
        return _imported(await rest_import.import_rest_api(_svc(request), found, types), found, 201)
    body = await json_body(request)
    name = _str(body, "name")
    if not name:
        raise BadRequest("Invalid REST API name specified")
    endpoint = body.get("endpointConfiguration")
    types = _strs(endpoint, "types") if isinstance(endpoint, dict) else []
    extra = {k: body[k] for k in ("version", "apiKeySource", "minimumCompressionSize", "policy") if body.get(k) is not None}
    api = await _svc(request).create_api(name, _str(body, "description"), _strs(body, "binaryMediaTypes"), types,
                                         _str_map(body, "tags"), extra)  # fmt: skip
    return json_response(api.doc(), 201)


@routes.get("/restapis")
async def get_rest_apis(request: web.Request) -> web.Response:
    apis, position = _svc(request).apis(request.query.get("position"), _limit(request))
    return _page([a.doc() for a in apis], position)


@routes.get(API)
async def get_rest_api(request: web.Request) -> web.Response:
    return json_response(_svc(request).api(request.match_info["api"]).doc())


@routes.patch(API)
async def update_rest_api(request: web.Request) -> web.Response:
    body = await json_body(request)
    api = await _svc(request).update_api(request.match_info["api"], parse_patches(body.get("patchOperations")))
    return json_response(api.doc())


@routes.put(API)
async def put_rest_api(request: web.Request) -> web.Response:
    svc, api_id = _svc(request), request.match_info["api"]
    svc.state(api_id)
    found, _ = await _definition(request)
    api = await rest_import.put_rest_api(svc, api_id, found, request.query.get("mode", "merge"))
    return _imported(api, found, 200)


@routes.delete(API)
async def delete_rest_api(request: web.Request) -> web.Response:
    await _svc(request).delete_api(request.match_info["api"])
    return web.Response(status=202)


# -- resources ---------------------------------------------------------------------------------


def _resource_doc(svc: RestApiService, api_id: str, resource: Resource, embed: bool) -> dict[str, object]:
    doc = resource.doc()
    methods = svc.methods_of(api_id, resource.id)
    if methods:
        doc["resourceMethods"] = {m.http_method: (m.doc() if embed else {}) for m in methods}
    return doc


def _embeds_methods(request: web.Request) -> bool:
    return "methods" in request.query.getall("embed", [])


@routes.get(API + "/resources")
async def get_resources(request: web.Request) -> web.Response:
    svc, api_id = _svc(request), request.match_info["api"]
    items, position = svc.resources(api_id, request.query.get("position"), _limit(request))
    return _page([_resource_doc(svc, api_id, r, _embeds_methods(request)) for r in items], position)


@routes.get(RESOURCE)
async def get_resource(request: web.Request) -> web.Response:
    svc, (api_id, resource_id) = _svc(request), _ids(request)
    return json_response(_resource_doc(svc, api_id, svc.resource(api_id, resource_id), _embeds_methods(request)))


@routes.post(RESOURCE)
async def create_resource(request: web.Request) -> web.Response:
    body = await json_body(request)
    api_id, parent_id = _ids(request)
    part = _str(body, "pathPart")
    if not part:
        raise BadRequest("Resource's path part must be specified")
    return json_response((await _svc(request).create_resource(api_id, parent_id, part)).doc(), 201)


@routes.delete(RESOURCE)
async def delete_resource(request: web.Request) -> web.Response:
    await _svc(request).delete_resource(*_ids(request))
    return web.Response(status=202)


# -- methods and integrations ------------------------------------------------------------------


@routes.put(METHOD)
async def put_method(request: web.Request) -> web.Response:
    body = await json_body(request)
    auth = _str(body, "authorizationType")
    if not auth:
        raise BadRequest("Invalid authorization type specified")
    extra = {k: body[k] for k in ("authorizerId", "operationName", "requestParameters", "requestModels",
                                  "requestValidatorId", "authorizationScopes") if body.get(k) is not None}  # fmt: skip
    method = await _svc(request).put_method(*_ids(request), request.match_info["verb"], auth,
                                            body.get("apiKeyRequired") is True, extra)  # fmt: skip
    return json_response(method.doc(), 201)


@routes.get(METHOD)
async def get_method(request: web.Request) -> web.Response:
    method: Method = _svc(request).method(*_ids(request), request.match_info["verb"])
    return json_response(method.doc())


@routes.patch(METHOD)
async def update_method(request: web.Request) -> web.Response:
    body = await json_body(request)
    method = await _svc(request).update_method(*_ids(request), request.match_info["verb"],
                                               parse_patches(body.get("patchOperations")))  # fmt: skip
    return json_response(method.doc())


@routes.delete(METHOD)
async def delete_method(request: web.Request) -> web.Response:
    await _svc(request).delete_method(*_ids(request), request.match_info["verb"])
    return web.Response(status=204)


METHOD_RESPONSE = METHOD + "/responses/{status}"
INTEGRATION_RESPONSE = INTEGRATION + "/responses/{status}"


def _response_target(request: web.Request) -> tuple[str, str, str, str]:
    api_id, resource_id = _ids(request)
    return api_id, resource_id, request.match_info["verb"], request.match_info["status"]


@routes.put(METHOD_RESPONSE)
async def put_method_response(request: web.Request) -> web.Response:
    body = await json_body(request)
    doc = {k: v for k, v in body.items() if k in ("responseParameters", "responseModels")}
    return json_response(await _svc(request).set_method_response(*_response_target(request), doc), 201)


@routes.get(METHOD_RESPONSE)
async def get_method_response(request: web.Request) -> web.Response:
    api_id, resource_id, verb, status = _response_target(request)
    method = _svc(request).method(api_id, resource_id, verb)
    return json_response(response_of(method.extra.get("methodResponses"), status))


@routes.delete(METHOD_RESPONSE)
async def delete_method_response(request: web.Request) -> web.Response:
    await _svc(request).set_method_response(*_response_target(request), None)
    return web.Response(status=204)


@routes.put(INTEGRATION)
async def put_integration(request: web.Request) -> web.Response:
    body = await json_body(request)
    type_ = _str(body, "type") or ""
    timeout = body.get("timeoutInMillis")
    if timeout is not None and (not isinstance(timeout, int) or isinstance(timeout, bool)):
        raise BadRequest("Invalid value for timeoutInMillis")
    extra = {k: body[k] for k in ("credentials", "requestParameters", "requestTemplates", "passthroughBehavior",
                                  "cacheNamespace", "cacheKeyParameters", "contentHandling", "connectionType",
                                  "connectionId", "tlsConfig") if body.get(k) is not None}  # fmt: skip
    integration = await _svc(request).put_integration(
        *_ids(request), request.match_info["verb"], type_, _str(body, "uri"), _str(body, "httpMethod"), timeout, extra
    )
    return json_response(integration.doc(), 201)


@routes.get(INTEGRATION)
async def get_integration(request: web.Request) -> web.Response:
    return json_response(_svc(request).integration(*_ids(request), request.match_info["verb"]).doc())


@routes.patch(INTEGRATION)
async def update_integration(request: web.Request) -> web.Response:
    body = await json_body(request)
    integration = await _svc(request).update_integration(*_ids(request), request.match_info["verb"],
                                                         parse_patches(body.get("patchOperations")))  # fmt: skip
    return json_response(integration.doc())


@routes.delete(INTEGRATION)
async def delete_integration(request: web.Request) -> web.Response:
    await _svc(request).delete_integration(*_ids(request), request.match_info["verb"])
    return web.Response(status=204)


@routes.put(INTEGRATION_RESPONSE)
async def put_integration_response(request: web.Request) -> web.Response:
    body = await json_body(request)
    doc = {k: v for k, v in body.items() if k in ("selectionPattern", "responseParameters", "responseTemplates",
                                                  "contentHandling")}  # fmt: skip
    return json_response(await _svc(request).set_integration_response(*_response_target(request), doc), 201)


@routes.get(INTEGRATION_RESPONSE)
async def get_integration_response(request: web.Request) -> web.Response:
    api_id, resource_id, verb, status = _response_target(request)
    integration = _svc(request).integration(api_id, resource_id, verb)
    return json_response(response_of(integration.extra.get("integrationResponses"), status))


@routes.delete(INTEGRATION_RESPONSE)
async def delete_integration_response(request: web.Request) -> web.Response:
    await _svc(request).set_integration_response(*_response_target(request), None)
    return web.Response(status=204)


# -- deployments -------------------------------------------------------------------------------


@routes.post(API + "/deployments")
async def create_deployment(request: web.Request) -> web.Response:
    body = await json_body(request)
    deployment = await _svc(request).create_deployment(
        request.match_info["api"], _str(body, "description"), _str(body, "stageName"),
        _str(body, "stageDescription"), _str_map(body, "variables"),
    )  # fmt: skip
    return json_response(deployment.doc(), 201)


@routes.get(API + "/deployments")
async def get_deployments(request: web.Request) -> web.Response:
    items, position = _svc(request).deployments(request.match_info["api"], request.query.get("position"), _limit(request))
    return _page([d.doc() for d in items], position)


@routes.get(API + "/deployments/{deployment}")
async def get_deployment(request: web.Request) -> web.Response:
    return json_response(_svc(request).deployment(request.match_info["api"], request.match_info["deployment"]).doc())


@routes.delete(API + "/deployments/{deployment}")
async def delete_deployment(request: web.Request) -> web.Response:
    await _svc(request).delete_deployment(request.match_info["api"], request.match_info["deployment"])
    return web.Response(status=202)


# -- stages ------------------------------------------------------------------------------------


@routes.post(API + "/stages")
async def create_stage(request: web.Request) -> web.Response:
    body = await json_body(request)
    name, deployment_id = _str(body, "stageName"), _str(body, "deploymentId")
    if not name or not deployment_id:
        raise BadRequest("Stage name and deployment id must be specified")
    stage = await _svc(request).create_stage(
        request.match_info["api"], name, deployment_id, _str(body, "description"), _str_map(body, "variables"),
        _str_map(body, "tags"), body.get("tracingEnabled") is True,
    )  # fmt: skip
    return json_response(stage.doc(), 201)


@routes.get(API + "/stages")
async def get_stages(request: web.Request) -> web.Response:
    stages = _svc(request).stages(request.match_info["api"], request.query.get("deploymentId"))
    return json_response({"item": [s.doc() for s in stages]})


@routes.get(API + "/stages/{stage}")
async def get_stage(request: web.Request) -> web.Response:
    return json_response(_svc(request).stage(request.match_info["api"], request.match_info["stage"]).doc())


@routes.patch(API + "/stages/{stage}")
async def update_stage(request: web.Request) -> web.Response:
    body = await json_body(request)
    stage = await _svc(request).update_stage(request.match_info["api"], request.match_info["stage"],
                                             parse_patches(body.get("patchOperations")))  # fmt: skip
    return json_response(stage.doc())


@routes.delete(API + "/stages/{stage}")
async def delete_stage(request: web.Request) -> web.Response:
    await _svc(request).delete_stage(request.match_info["api"], request.match_info["stage"])
    return web.Response(status=202)


# -- tags (served at /tags/{arn} through api/tagging.py, which EventBridge Scheduler shares) ------


def _tagged(request: web.Request) -> tuple[str, str | None]:
    """(api id, stage name or None) of a tag operation's ARN:
    ``arn:aws:apigateway:<region>::/restapis/<id>`` or ``.../restapis/<id>/stages/<name>``."""
    arn = request.match_info["arn"]
    prefix, _, rest = arn.partition("::/restapis/")
    api_id, _, stage_path = rest.partition("/")
    stage_name = stage_path[len("stages/") :] if stage_path.startswith("stages/") else None
    if not prefix.startswith("arn:aws:apigateway:") or not api_id or (stage_path and not stage_name) or (
        stage_name is not None and "/" in stage_name
    ):
        raise BadRequest(f"Invalid ARN specified in the request: {arn}")
    _svc(request).tags(api_id, stage_name)  # NotFound for an unknown API or stage
    return api_id, stage_name


async def tag_resource(request: web.Request) -> web.Response:
    body = await json_body(request)
    await _svc(request).set_tags(*_tagged(request), _str_map(body, "tags"))
    return web.Response(status=204)


async def untag_resource(request: web.Request) -> web.Response:
    await _svc(request).set_tags(*_tagged(request), remove=request.query.getall("tagKeys", []))
    return web.Response(status=204)


async def get_tags(request: web.Request) -> web.Response:
    return json_response({"tags": dict(_svc(request).tags(*_tagged(request)))})
