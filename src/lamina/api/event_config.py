"""Lambda API: asynchronous-invocation configuration (Put, Get, Update, Delete and
ListFunctionEventInvokeConfigs)."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.targets import identify
from lamina.control.validation import NAMESPACED
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue

routes = web.RouteTableDef()
CONFIG = "/2019-09-25/functions/{FunctionName}/event-invoke-config"


def _target(request: web.Request) -> tuple[str, str | None]:
    return identify(request.match_info["FunctionName"], request.query.get("Qualifier"),
                    region=services(request).settings.region, shape=NAMESPACED)


@routes.put(CONFIG)
async def put_function_event_invoke_config(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _target(request)
    config = await svc.event_configs.put(name, qualifier, await json_body(request))
    return json_response(svc.event_configs.document(config))


@routes.post(CONFIG)
async def update_function_event_invoke_config(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _target(request)
    config = await svc.event_configs.update(name, qualifier, await json_body(request))
    return json_response(svc.event_configs.document(config))


@routes.get(CONFIG)
async def get_function_event_invoke_config(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _target(request)
    return json_response(svc.event_configs.document(svc.event_configs.get(name, qualifier)))


@routes.delete(CONFIG)
async def delete_function_event_invoke_config(request: web.Request) -> web.Response:
    name, qualifier = _target(request)
    await services(request).event_configs.delete(name, qualifier)
    return web.Response(status=204)


@routes.get(CONFIG + "/list")
async def list_function_event_invoke_configs(request: web.Request) -> web.Response:
    svc = services(request)
    name, _ = identify(request.match_info["FunctionName"], None, region=services(request).settings.region,
                    shape=NAMESPACED)
    raw = request.query.get("MaxItems", "50")
    try:
        max_items = int(raw)
    except ValueError:
        raise InvalidParameterValue(f"MaxItems must be an integer, got {raw!r}") from None
    if max_items < 1:
        raise constraint(max_items, "maxItems", "Member must have value greater than or equal to 1")
    if max_items > 50:
        raise constraint(max_items, "maxItems", "Member must have value less than or equal to 50")
    page, marker = svc.event_configs.list_configs(name, request.query.get("Marker"), max_items)
    doc: dict[str, object] = {"FunctionEventInvokeConfigs": [svc.event_configs.document(c) for c in page]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)
