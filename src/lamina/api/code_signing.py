"""Lambda API: code signing configurations (Create, Get, Update, Delete, ListCodeSigningConfigs,
ListFunctionsByCodeSigningConfig) and functions' (Put, Get, DeleteFunctionCodeSigningConfig)."""

from __future__ import annotations

from typing import Sequence, TypeVar

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.tags import check_tags
from lamina.control.targets import identify
from lamina.control.validation import NAMESPACED
from lamina.control.validation import constraint
from lamina.errors import ResourceNotFound
from lamina.model import LATEST

routes = web.RouteTableDef()
CONFIGS = "/2020-04-22/code-signing-configs"
CONFIG = CONFIGS + "/{CodeSigningConfigArn}"
FUNCTION = "/2020-06-30/functions/{FunctionName}/code-signing-config"
T = TypeVar("T")


def page(request: web.Request, items: Sequence[T]) -> tuple[Sequence[T], str | None]:
    """Marker/MaxItems (1-10,000, default 50) over ``items``; the marker is the next item's position."""
    raw, marker = request.query.get("MaxItems", "50"), request.query.get("Marker", "0")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise constraint(raw, "maxItems", "Member must have value less than or equal to 10000, "
                         "Member must have value greater than or equal to 1")  # fmt: skip
    start = int(marker) if marker.isdigit() else 0
    end = start + int(raw)
    return items[start:end], (str(end) if end < len(items) else None)


def _function(request: web.Request) -> str:
    """The function a request names (a name or ARN, unqualified or ``$LATEST``), which must exist."""
    svc = services(request)
    name, qualifier = identify(request.match_info["FunctionName"], None, region=services(request).settings.region,
                               shape=NAMESPACED)
    if qualifier not in (None, LATEST):
        raise ResourceNotFound(f"Function not found: {svc.settings.function_arn(name, qualifier)}")
    return svc.functions.get(name).name


@routes.post(CONFIGS)
async def create_code_signing_config(request: web.Request) -> web.Response:
    svc = services(request)
    body = await json_body(request)
    tags = check_tags(body["Tags"]) if body.get("Tags") is not None else {}
    config = await svc.code_signing.create(body, tags)
    return json_response({"CodeSigningConfig": config.shape()}, status=201)


@routes.get(CONFIGS)
@routes.get(CONFIGS + "/")
async def list_code_signing_configs(request: web.Request) -> web.Response:
    configs, marker = page(request, services(request).code_signing.configs())
    doc: dict[str, object] = {"CodeSigningConfigs": [config.shape() for config in configs]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)


@routes.get(CONFIG)
async def get_code_signing_config(request: web.Request) -> web.Response:
    config = services(request).code_signing.get(request.match_info["CodeSigningConfigArn"])
    return json_response({"CodeSigningConfig": config.shape()})


@routes.put(CONFIG)
async def update_code_signing_config(request: web.Request) -> web.Response:
    svc = services(request)
    config = await svc.code_signing.update(request.match_info["CodeSigningConfigArn"], await json_body(request))
    return json_response({"CodeSigningConfig": config.shape()})


@routes.delete(CONFIG)
async def delete_code_signing_config(request: web.Request) -> web.Response:
    await services(request).code_signing.delete(request.match_info["CodeSigningConfigArn"])
    return web.Response(status=204)


@routes.get(CONFIG + "/functions")
async def list_functions_by_code_signing_config(request: web.Request) -> web.Response:
    svc = services(request)
    names, marker = page(request, svc.code_signing.functions_of(request.match_info["CodeSigningConfigArn"]))
    doc: dict[str, object] = {"FunctionArns": [svc.settings.function_arn(name) for name in names]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)


@routes.put(FUNCTION)
async def put_function_code_signing_config(request: web.Request) -> web.Response:
    svc = services(request)
    name = _function(request)
    body = await json_body(request)
    if body.get("CodeSigningConfigArn") is None:
        raise constraint(None, "codeSigningConfigArn", "Member must not be null")
    arn = await svc.code_signing.put_function(name, body["CodeSigningConfigArn"])
    return json_response({"CodeSigningConfigArn": arn, "FunctionName": name})


@routes.get(FUNCTION)
async def get_function_code_signing_config(request: web.Request) -> web.Response:
    """A function without a configuration answers an empty CodeSigningConfigArn, as AWS does."""
    name = _function(request)
    arn = services(request).code_signing.of_function(name) or ""
    return json_response({"CodeSigningConfigArn": arn, "FunctionName": name})


@routes.delete(FUNCTION)
async def delete_function_code_signing_config(request: web.Request) -> web.Response:
    await services(request).code_signing.delete_function(_function(request))
    return web.Response(status=204)
