"""Lambda API: aliases (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases).

Invoking an alias (``name:alias``, an ARN with the alias, or ``Qualifier=alias``) and reading the
configuration it points to (GetFunction with a Qualifier) are the function resource's operations.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.api.shapes import alias_configuration
from lamina.api.versions import function_name, max_items
from lamina.control.aliases import alias_name

routes = web.RouteTableDef()
ALIASES = "/2015-03-31/functions/{FunctionName}/aliases"
ALIAS = ALIASES + "/{Name}"


@routes.post(ALIASES)
async def create_alias(request: web.Request) -> web.Response:
    svc = services(request)
    fn = svc.functions.get(function_name(request))
    alias = await svc.functions.aliases.create(fn.name, await json_body(request))
    return json_response(alias_configuration(alias, svc.settings), status=201)


@routes.get(ALIAS)
async def get_alias(request: web.Request) -> web.Response:
    svc = services(request)
    fn = svc.functions.get(function_name(request))
    alias = svc.functions.aliases.get(fn.name, alias_name(request.match_info["Name"]))
    return json_response(alias_configuration(alias, svc.settings))


@routes.put(ALIAS)
async def update_alias(request: web.Request) -> web.Response:
    svc = services(request)
    fn = svc.functions.get(function_name(request))
    alias = await svc.functions.aliases.update(fn.name, request.match_info["Name"], await json_body(request))
    return json_response(alias_configuration(alias, svc.settings))


@routes.delete(ALIAS)
async def delete_alias(request: web.Request) -> web.Response:
    svc = services(request)
    fn = svc.functions.get(function_name(request))
    await svc.functions.aliases.delete(fn.name, request.match_info["Name"])
    return web.Response(status=204)


@routes.get(ALIASES)
async def list_aliases(request: web.Request) -> web.Response:
    svc = services(request)
    fn = svc.functions.get(function_name(request))
    size = max_items(request)
    aliases = svc.functions.aliases.list_for(fn.name, request.query.get("FunctionVersion") or None)
    if marker := request.query.get("Marker"):
        aliases = [alias for alias in aliases if alias.name > marker]
    page = aliases[:size]
    doc: dict[str, object] = {"Aliases": [alias_configuration(alias, svc.settings) for alias in page]}
    if len(aliases) > size:
        doc["NextMarker"] = page[-1].name
    return json_response(doc)
