"""Lambda API: function URLs (CreateFunctionUrlConfig, GetFunctionUrlConfig, UpdateFunctionUrlConfig,
DeleteFunctionUrlConfig, ListFunctionUrlConfigs). Serving the URLs themselves is api/url_serving.py.

``FunctionUrl`` names the port the API was reached on (the Host header's, else the socket's): the
URL is served on the same port as the API.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.api.shapes import function_url_config
from lamina.model import FunctionUrlConfig
from lamina.urls.addresses import function_url

routes = web.RouteTableDef()
URL = "/2021-10-31/functions/{FunctionName}/url"


def _port(request: web.Request) -> int:
    _, colon, port = request.host.rpartition(":")
    if colon and port.isdigit():
        return int(port)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if sockname else services(request).settings.port


def _shape(request: web.Request, url: FunctionUrlConfig) -> dict[str, object]:
    svc = services(request)
    address = function_url(url.url_id, svc.settings.region, _port(request))
    return function_url_config(url, svc.urls.function_arn(url), address)


def _target(request: web.Request) -> tuple[str, str | None]:
    return request.match_info["FunctionName"], request.query.get("Qualifier")


@routes.post(URL)
async def create_function_url_config(request: web.Request) -> web.Response:
    body = await json_body(request)
    url = await services(request).urls.create(*_target(request), body)
    doc = _shape(request, url)
    del doc["LastModifiedTime"]  # CreateFunctionUrlConfig's output has none
    if "InvokeMode" not in body:
        del doc["InvokeMode"]  # AWS echoes InvokeMode only when the request set it
    return json_response(doc, status=201)


@routes.get(URL)
async def get_function_url_config(request: web.Request) -> web.Response:
    return json_response(_shape(request, services(request).urls.get(*_target(request))))


@routes.put(URL)
async def update_function_url_config(request: web.Request) -> web.Response:
    url = await services(request).urls.update(*_target(request), await json_body(request))
    return json_response(_shape(request, url))


@routes.delete(URL)
async def delete_function_url_config(request: web.Request) -> web.Response:
    await services(request).urls.delete(*_target(request))
    return web.Response(status=204)


@routes.get("/2021-10-31/functions/{FunctionName}/urls")
async def list_function_url_configs(request: web.Request) -> web.Response:
    svc = services(request)
    page, marker = svc.urls.list(
        request.match_info["FunctionName"], request.query.get("Marker"), request.query.get("MaxItems")
    )
    doc: dict[str, object] = {"FunctionUrlConfigs": [_shape(request, url) for url in page]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)
