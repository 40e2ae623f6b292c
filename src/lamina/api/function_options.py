"""Lambda API: Get/PutFunctionRecursionConfig and Get/PutRuntimeManagementConfig (control/function_options.py)."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.function_options import RuntimeManagement
from lamina.control.targets import identify
from lamina.control.validation import NAMESPACED, UNQUALIFIED
from lamina.errors import ResourceNotFound
from lamina.model import LATEST

routes = web.RouteTableDef()
RECURSION = "/2024-08-31/functions/{FunctionName}/recursion-config"
RUNTIME = "/2021-07-20/functions/{FunctionName}/runtime-management-config"


def _unqualified(request: web.Request) -> str:
    svc = services(request)
    name, qualifier = identify(request.match_info["FunctionName"], None, region=svc.settings.region, shape=UNQUALIFIED)
    if qualifier is not None:
        raise ResourceNotFound(f"Function not found: {svc.settings.function_arn(name, qualifier)}")
    return svc.functions.get(name).name


def _qualified(request: web.Request) -> tuple[str, str | None]:
    """The function and qualifier (None: $LATEST) a runtime management request names, which exist."""
    name, qualifier = identify(request.match_info["FunctionName"], request.query.get("Qualifier") or None,
                               region=services(request).settings.region, shape=NAMESPACED)
    services(request).functions.resolve(name, qualifier)
    return name, None if qualifier == LATEST else qualifier


def _runtime_shape(request: web.Request, name: str, qualifier: str | None, config: RuntimeManagement) -> web.Response:
    doc: dict[str, object] = {
        "UpdateRuntimeOn": config.update_runtime_on,
        "FunctionArn": services(request).settings.function_arn(name, qualifier),
    }
    if config.runtime_version_arn is not None:
        doc["RuntimeVersionArn"] = config.runtime_version_arn
    return json_response(doc)


@routes.get(RECURSION)
async def get_function_recursion_config(request: web.Request) -> web.Response:
    return json_response({"RecursiveLoop": services(request).function_options.recursion(_unqualified(request))})


@routes.put(RECURSION)
async def put_function_recursion_config(request: web.Request) -> web.Response:
    name = _unqualified(request)
    body = await json_body(request)
    loop = await services(request).function_options.put_recursion(name, body.get("RecursiveLoop"))
    return json_response({"RecursiveLoop": loop})


@routes.get(RUNTIME)
async def get_runtime_management_config(request: web.Request) -> web.Response:
    name, qualifier = _qualified(request)
    return _runtime_shape(request, name, qualifier, services(request).function_options.runtime(name, qualifier))


@routes.put(RUNTIME)
async def put_runtime_management_config(request: web.Request) -> web.Response:
    name, qualifier = _qualified(request)
    config = await services(request).function_options.put_runtime(name, qualifier, await json_body(request))
    return _runtime_shape(request, name, qualifier, config)
