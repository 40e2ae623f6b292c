"""Lambda API: reserved concurrency (PutFunctionConcurrency, GetFunctionConcurrency,
DeleteFunctionConcurrency) and provisioned concurrency (PutProvisionedConcurrencyConfig,
GetProvisionedConcurrencyConfig, ListProvisionedConcurrencyConfigs, DeleteProvisionedConcurrencyConfig).

The reserved concurrency a function has is also in GetFunction (``Concurrency``), and the account's
figures in GetAccountSettings, both in ``api/functions.py``.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.control.concurrency import ConcurrencyService, listing_order
from lamina.control.targets import identify
from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue, ResourceNotFound
from lamina.model import LATEST, ProvisionedConcurrencyConfig

routes = web.RouteTableDef()
RESERVED_PUT = "/2017-10-31/functions/{FunctionName}/concurrency"
RESERVED_GET = "/2019-09-30/functions/{FunctionName}/concurrency"
PROVISIONED = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"


def _function(request: web.Request) -> str:
    """The function a reserved-concurrency operation names: concurrency is the whole function's, so a
    qualifier other than $LATEST names nothing."""
    name, qualifier = identify(request.match_info["FunctionName"], None, region=services(request).settings.region)
    if qualifier not in (None, LATEST):
        raise ResourceNotFound(f"Function not found: {services(request).settings.function_arn(name, qualifier)}")
    return name


def _target(request: web.Request) -> tuple[str, str | None]:
    return identify(request.match_info["FunctionName"], request.query.get("Qualifier"), region=services(request).settings.region)


def _document(concurrency: ConcurrencyService, config: ProvisionedConcurrencyConfig) -> dict[str, object]:
    status = concurrency.status(config)
    doc: dict[str, object] = {
        "RequestedProvisionedConcurrentExecutions": status.requested,
        "AvailableProvisionedConcurrentExecutions": status.available,
        "AllocatedProvisionedConcurrentExecutions": status.allocated,
        "Status": status.status,
        "LastModified": config.last_modified,
    }
    if status.reason is not None:
        doc["StatusReason"] = status.reason
    return doc


@routes.put(RESERVED_PUT)
async def put_function_concurrency(request: web.Request) -> web.Response:
    svc = services(request)
    reserved = await svc.concurrency.put_reserved(_function(request), await json_body(request))
    return json_response({"ReservedConcurrentExecutions": reserved})


@routes.get(RESERVED_GET)
async def get_function_concurrency(request: web.Request) -> web.Response:
    reserved = services(request).concurrency.reserved(_function(request))
    return json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})


@routes.delete(RESERVED_PUT)
async def delete_function_concurrency(request: web.Request) -> web.Response:
    await services(request).concurrency.delete_reserved(_function(request))
    return web.Response(status=204)


@routes.put(PROVISIONED)
async def put_provisioned_concurrency_config(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _target(request)
    config = await svc.concurrency.put_provisioned(name, qualifier, await json_body(request))
    return json_response(_document(svc.concurrency, config), status=202)


@routes.get(PROVISIONED)
async def get_or_list_provisioned_concurrency_configs(request: web.Request) -> web.Response:
    """GetProvisionedConcurrencyConfig, or with ``List=ALL`` ListProvisionedConcurrencyConfigs."""
    svc = services(request)
    if request.query.get("List") != "ALL":
        name, qualifier = _target(request)
        return json_response(_document(svc.concurrency, svc.concurrency.get_provisioned(name, qualifier)))
    name, _ = identify(request.match_info["FunctionName"], None, region=services(request).settings.region)
    configs = svc.concurrency.list_provisioned(name)
    raw = request.query.get("MaxItems", "50")
    if not raw.isascii() or not raw.lstrip("-").isdigit():
        raise InvalidParameterValue(f"MaxItems must be an integer, got {raw!r}")
    if int(raw) < 1:
        raise constraint(raw, "maxItems", "Member must have value greater than or equal to 1")
    if int(raw) > 50:
        raise constraint(raw, "maxItems", "Member must have value less than or equal to 50")
    if marker := request.query.get("Marker"):  # the last qualifier of the previous page
        configs = [config for config in configs if listing_order(config.qualifier) > listing_order(marker)]
    page = configs[: int(raw)]
    doc: dict[str, object] = {
        "ProvisionedConcurrencyConfigs": [
            {"FunctionArn": svc.settings.function_arn(name, config.qualifier), **_document(svc.concurrency, config)}
            for config in page
        ]
    }
    if len(configs) > len(page):
        doc["NextMarker"] = page[-1].qualifier
    return json_response(doc)


@routes.delete(PROVISIONED)
async def delete_provisioned_concurrency_config(request: web.Request) -> web.Response:
    name, qualifier = _target(request)
    await services(request).concurrency.delete_provisioned(name, qualifier)
    return web.Response(status=204)
