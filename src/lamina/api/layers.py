"""Lambda API: layers (PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayers,
ListLayerVersions, DeleteLayerVersion) and their permissions (AddLayerVersionPermission,
GetLayerVersionPolicy, RemoveLayerVersionPermission). GetLayerVersion and GetLayerVersionByArn
read another account's layer version when its policy allows this account (control/layers.py)."""

from __future__ import annotations

import json
from typing import Callable

from aiohttp import web

from lamina.api.authentication import code_locator
from lamina.api.context import json_body, json_response, services
from lamina.api.shapes import layer_version
from lamina.control.layer_policy import statement
from lamina.control.layers import check_content, layer_name, layer_owner, parse_full_arn
from lamina.errors import InvalidParameterValue
from lamina.model import LayerVersion

routes = web.RouteTableDef()
LAYERS = "/2018-10-31/layers"
VERSIONS = LAYERS + "/{LayerName}/versions"


def _version(request: web.Request) -> int:
    raw = request.match_info["VersionNumber"]
    if not raw.isdigit():
        raise InvalidParameterValue(f"Invalid layer version number: {raw}")
    return int(raw)


def _page(request: web.Request, items: list[LayerVersion]) -> tuple[list[LayerVersion], str | None]:
    """Marker/MaxItems pagination over ``items``; the marker is the next item's position."""
    raw = request.query.get("MaxItems", "50")
    marker = request.query.get("Marker", "0")
    if not raw.isdigit() or not 1 <= int(raw) <= 50 or not marker.isdigit():
        raise InvalidParameterValue("MaxItems must be an integer between 1 and 50, and Marker one a List call gave")
    start, size = int(marker), int(raw)
    more = start + size < len(items)
    return items[start : start + size], str(start + size) if more else None


def _matching(request: web.Request, layers: list[LayerVersion]) -> list[LayerVersion]:
    runtime = request.query.get("CompatibleRuntime")
    arch = request.query.get("CompatibleArchitecture")
    return [
        layer for layer in layers
        if (runtime is None or runtime in layer.compatible_runtimes)
        and (arch is None or arch in layer.compatible_architectures)
    ]  # fmt: skip


@routes.post(VERSIONS)
async def publish_layer_version(request: web.Request) -> web.Response:
    svc = services(request)
    name = layer_name(request.match_info["LayerName"])
    body = await json_body(request)
    check_content(body)
    code = await svc.functions.put_code(body.get("Content"))
    layer = await svc.layers.publish(name, body, code)
    return json_response(layer_version(layer, svc.layers.layer_arn(name), code_locator(request)), status=201)


@routes.get(VERSIONS + "/{VersionNumber}")
async def get_layer_version(request: web.Request) -> web.Response:
    svc = services(request)
    raw = request.match_info["LayerName"]
    name, version = layer_name(raw), _version(request)
    s = svc.settings
    region, account = layer_owner(raw) or (s.region, s.account_id)
    owner, layer = await svc.layers.shared(region, account, name, version)
    return json_response(layer_version(layer, owner.layer_arn(name), code_locator(request)))


@routes.delete(VERSIONS + "/{VersionNumber}")
async def delete_layer_version(request: web.Request) -> web.Response:
    svc = services(request)
    await svc.layers.delete(layer_name(request.match_info["LayerName"]), _version(request))
    return web.Response(status=204)


@routes.get(VERSIONS)
async def list_layer_versions(request: web.Request) -> web.Response:
    svc = services(request)
    name = layer_name(request.match_info["LayerName"])
    page, marker = _page(request, _matching(request, await svc.layers.versions(name)))
    base, arn = code_locator(request), svc.layers.layer_arn(name)
    doc: dict[str, object] = {"LayerVersions": [_summary(layer, arn, base) for layer in page]}
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)


@routes.get(LAYERS)
async def list_layers_or_find(request: web.Request) -> web.Response:
    svc = services(request)
    if request.query.get("find") == "LayerVersion":  # GetLayerVersionByArn
        region, account, name, version = parse_full_arn(request.query.get("Arn"))
        owner, layer = await svc.layers.shared(region, account, name, version)
        return json_response(layer_version(layer, owner.layer_arn(name), code_locator(request)))
    latest: dict[str, LayerVersion] = {}
    for layer in _matching(request, await svc.layers.versions(None)):
        latest.setdefault(layer.name, layer)  # newest first within each name
    page, marker = _page(request, list(latest.values()))
    base = code_locator(request)
    doc: dict[str, object] = {
        "Layers": [
            {"LayerName": layer.name, "LayerArn": svc.layers.layer_arn(layer.name),
             "LatestMatchingVersion": _summary(layer, svc.layers.layer_arn(layer.name), base)}
            for layer in page
        ]
    }  # fmt: skip
    if marker:
        doc["NextMarker"] = marker
    return json_response(doc)


@routes.post(VERSIONS + "/{VersionNumber}/policy")
async def add_layer_version_permission(request: web.Request) -> web.Response:
    svc = services(request)
    name, version = layer_name(request.match_info["LayerName"]), _version(request)
    layer = await svc.layers.get(name, version)
    body = await json_body(request)
    made = statement(body, body.get("StatementId"), svc.layers.version_arn(layer))
    revision = await svc.layers.policies.add(name, version, made, request.query.get("RevisionId"))
    return json_response({"Statement": json.dumps(made, separators=(",", ":")), "RevisionId": revision}, status=201)


@routes.get(VERSIONS + "/{VersionNumber}/policy")
async def get_layer_version_policy(request: web.Request) -> web.Response:
    svc = services(request)
    name, version = layer_name(request.match_info["LayerName"]), _version(request)
    await svc.layers.get(name, version)
    policy, revision = svc.layers.policies.get(name, version)
    return json_response({"Policy": policy, "RevisionId": revision})


@routes.delete(VERSIONS + "/{VersionNumber}/policy/{StatementId}")
async def remove_layer_version_permission(request: web.Request) -> web.Response:
    svc = services(request)
    name, version = layer_name(request.match_info["LayerName"]), _version(request)
    await svc.layers.get(name, version)
    await svc.layers.policies.remove(name, version, request.match_info["StatementId"], request.query.get("RevisionId"))
    return web.Response(status=204)


def _summary(layer: LayerVersion, arn: str, base: Callable[[str], str]) -> dict[str, object]:
    """LayerVersionsListItem: the version's shape without its Content, and without an empty
    Description (AWS's list items omit it)."""
    doc = layer_version(layer, arn, base)
    doc.pop("Content")
    doc.pop("LayerArn")
    if not doc["Description"]:
        del doc["Description"]
    return doc
