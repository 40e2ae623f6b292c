"""Lambda API: function versions (PublishVersion, ListVersionsByFunction).

Reading one version (GetFunction with a Qualifier), invoking one and deleting one (DeleteFunction
with a Qualifier) are the function resource's operations, in ``api/functions.py`` and
``api/invoke.py``.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.api.shapes import function_configuration
from lamina.control.targets import identify
from lamina.control.validation import FUNCTION_NAME, NAMESPACED, NameShape
from lamina.control.versions import is_version_number
from lamina.errors import InvalidParameterValue
from lamina.model import LATEST

routes = web.RouteTableDef()
VERSIONS = "/2015-03-31/functions/{FunctionName}/versions"


def function_name(request: web.Request, shape: NameShape = FUNCTION_NAME) -> str:
    """The function a path names (a name or an ARN; a qualifier in it plays no part), checked against the
    operation's model (``shape``)."""
    name, _ = identify(request.match_info["FunctionName"], None, region=services(request).settings.region,
                       shape=shape)
    return name


def max_items(request: web.Request, default: int = 50) -> int:
    raw = request.query.get("MaxItems", str(default))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 10000:
        raise InvalidParameterValue("MaxItems must be an integer between 1 and 10000")
    return int(raw)


def _position(version: str) -> int:
    """Where a version is listed: $LATEST first, then by number."""
    return 0 if version == LATEST else int(version)


@routes.post(VERSIONS)
async def publish_version(request: web.Request) -> web.Response:
    svc = services(request)
    fn = await svc.functions.publish_version(function_name(request), await json_body(request))
    return json_response(function_configuration(fn, svc.settings, fn.version), status=201)


@routes.get(VERSIONS)
async def list_versions_by_function(request: web.Request) -> web.Response:
    svc = services(request)
    name = function_name(request, NAMESPACED)
    size = max_items(request)
    versions = [svc.functions.get(name), *svc.functions.versions.list_for(name)]
    marker = request.query.get("Marker")
    if marker:
        if marker != LATEST and not is_version_number(marker):
            raise InvalidParameterValue(f"Invalid Marker: {marker}; pass the NextMarker a ListVersionsByFunction gave")
        versions = [fn for fn in versions if _position(fn.version) > _position(marker)]
    page = versions[:size]
    doc: dict[str, object] = {"Versions": [function_configuration(fn, svc.settings, fn.version) for fn in page]}
    if len(versions) > size:
        doc["NextMarker"] = page[-1].version
    return json_response(doc)
