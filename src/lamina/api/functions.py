"""Lambda API: the function resource (create, read, list, update, delete) and account settings."""

from __future__ import annotations

import re

from aiohttp import web

from lamina.api.authentication import code_locator
from lamina.api.context import json_body, json_response, services
from lamina.api.shapes import function_configuration
from lamina.control.targets import identify
from lamina.control.validation import FUNCTION_NAME, NAMESPACED, NameShape, constraint
from lamina.model import LATEST, FunctionConfig
from lamina.errors import InvalidParameterValue, ResourceNotFound

routes = web.RouteTableDef()
FUNCTION = "/2015-03-31/functions/{FunctionName}"
_MASTER_REGION = re.compile(r"^(ALL|(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})$")


def _reference(request: web.Request, shape: NameShape = FUNCTION_NAME) -> tuple[str, str | None]:
    """(name, qualifier or None) from the FunctionName path (a name or ARN, maybe qualified) and Qualifier,
    checked against the operation's model (``shape``)."""
    return identify(request.match_info["FunctionName"], request.query.get("Qualifier") or None,
                    region=services(request).settings.region, shape=shape)


def _name(request: web.Request) -> str:
    """The function an operation on ``$LATEST`` only names (a qualifier other than $LATEST is not found)."""
    name, qualifier = _reference(request)
    if qualifier not in (None, LATEST):
        arn = services(request).settings.function_arn(name, qualifier)
        raise ResourceNotFound(f"Function not found: {arn}")
    return name


@routes.post("/2015-03-31/functions")
async def create_function(request: web.Request) -> web.Response:
    svc = services(request)
    fn = await svc.functions.create(await json_body(request))
    return json_response(function_configuration(fn, svc.settings), status=201)


@routes.get("/2015-03-31/functions")
@routes.get("/2015-03-31/functions/")
async def list_functions(request: web.Request) -> web.Response:
    svc = services(request)
    raw = request.query.get("MaxItems", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise InvalidParameterValue("MaxItems must be an integer between 1 and 10000")
    every = listing_versions(request.query.get("FunctionVersion"), request.query.get("MasterRegion"))
    if every is None:  # MasterRegion: Lambda@Edge replicas, which Lamina has none of
        page: list[FunctionConfig] = []
        next_marker: str | None = None
    elif every:
        page, next_marker = svc.functions.list_all(request.query.get("Marker"), int(raw))
    else:
        page, next_marker = svc.functions.list(request.query.get("Marker"), int(raw))
    # With FunctionVersion=ALL every ARN is qualified, $LATEST's too, as on AWS.
    doc: dict[str, object] = {
        "Functions": [function_configuration(fn, svc.settings, fn.version if every else None) for fn in page]
    }
    if next_marker:
        doc["NextMarker"] = next_marker
    return json_response(doc)


def listing_versions(function_version: str | None, master_region: str | None) -> bool | None:
    """What ListFunctions lists: every version (True), $LATEST only (False), or Lambda@Edge
    replicas (None: MasterRegion given, with FunctionVersion=ALL as AWS requires)."""
    if function_version is not None and function_version != "ALL":
        raise constraint(function_version, "functionVersion", "Member must satisfy enum value set: [ALL]")
    if master_region is None:
        return function_version is not None
    if len(master_region) > 50 or not _MASTER_REGION.match(master_region):
        raise constraint(master_region, "masterRegion", "Member must satisfy regular expression pattern: "
                         "ALL|(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}")  # fmt: skip
    if function_version is None:
        raise InvalidParameterValue("FunctionVersion must be ALL when MasterRegion is specified.")
    return None


@routes.get(FUNCTION)
async def get_function(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _reference(request, NAMESPACED)
    fn = svc.functions.resolve(name, qualifier)
    doc: dict[str, object] = {
        "Configuration": function_configuration(fn, svc.settings, qualifier),
        "Code": {"RepositoryType": "S3", "Location": code_locator(request)(fn.code.digest)},
    }
    if tags := await svc.tags.of_function(fn.name):
        doc["Tags"] = tags
    if (reserved := svc.concurrency.reserved(fn.name)) is not None:
        doc["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
    return json_response(doc)


@routes.get(FUNCTION + "/configuration")
async def get_function_configuration(request: web.Request) -> web.Response:
    svc = services(request)
    name, qualifier = _reference(request, NAMESPACED)
    return json_response(function_configuration(svc.functions.resolve(name, qualifier), svc.settings, qualifier))


@routes.put(FUNCTION + "/code")
async def update_function_code(request: web.Request) -> web.Response:
    svc = services(request)
    fn = await svc.functions.update_code(lambda: _name(request), await json_body(request))
    # With Publish, the version published: its ARN is qualified.
    return json_response(function_configuration(fn, svc.settings, None if fn.is_latest else fn.version))


@routes.put(FUNCTION + "/configuration")
async def update_function_configuration(request: web.Request) -> web.Response:
    svc = services(request)
    fn = await svc.functions.update_configuration(lambda: _name(request), await json_body(request))
    return json_response(function_configuration(fn, svc.settings))


@routes.delete(FUNCTION)
async def delete_function(request: web.Request) -> web.Response:
    """The function, with its versions and aliases; with a Qualifier, one version."""
    name, qualifier = _reference(request, NAMESPACED)
    if qualifier is None:
        await services(request).functions.delete(name)
    else:
        await services(request).functions.delete_version(name, qualifier)
    return web.Response(status=204)


@routes.get("/2016-08-19/account-settings")
@routes.get("/2016-08-19/account-settings/")
async def get_account_settings(request: web.Request) -> web.Response:
    """The account's limits and what it uses: code of every function version and layer version, as AWS
    counts it; the concurrency left unreserved by reservations and provisioned concurrency."""
    svc = services(request)
    functions, _ = svc.functions.list(None, 1_000_000)
    limits = svc.settings.limits
    total = sum(fn.code.size for fn in functions)
    total += sum(version.code.size for fn in functions for version in svc.functions.versions.list_for(fn.name))
    total += sum(layer.code.size for layer in await svc.layers.versions(None))
    return json_response({
        "AccountLimit": {
            "TotalCodeSize": 80 * 1024**3,
            "CodeSizeUnzipped": limits.unzipped_code_bytes,
            "CodeSizeZipped": limits.zipped_code_bytes,
            "ConcurrentExecutions": limits.account_concurrency,
            "UnreservedConcurrentExecutions": svc.concurrency.unreserved(),
        },
        "AccountUsage": {"TotalCodeSize": total, "FunctionCount": len(functions)},
    })  # fmt: skip
