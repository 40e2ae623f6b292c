"""``lamina dev --debug``'s endpoints: a function's debug session (``lamina/debug``).

    PUT    /lamina/v1/functions/{name}/debug   {"Wait": bool, "Port": int}  -> the session
    GET    /lamina/v1/functions/{name}/debug   -> the session, or 404
    DELETE /lamina/v1/functions/{name}/debug   -> 204, or 404

A session: {"FunctionName", "Language": "python"|"nodejs", "Port", "Wait", "Attached"}. Refused
(403 AccessDeniedException, saying why) by a server that listens beyond loopback or has access
keys configured: a debugger runs any code in the function's environment.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import json_body, json_response, services
from lamina.debug.service import Debugging
from lamina.errors import InvalidParameterValue, ResourceNotFound

routes = web.RouteTableDef()
PATH = "/lamina/v1/functions/{name}/debug"


def _debugging(request: web.Request) -> Debugging:
    debugging = services(request).debugging
    if debugging is None:
        raise ResourceNotFound("This server does not debug functions")
    return debugging


@routes.put(PATH)
async def start(request: web.Request) -> web.Response:
    body = await json_body(request)
    wait, port = body.get("Wait", False), body.get("Port")
    if not isinstance(wait, bool):
        raise InvalidParameterValue("Wait must be true or false")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise InvalidParameterValue("Port must be an integer")
    return json_response(await _debugging(request).start(request.match_info["name"], wait=wait, port=port))


@routes.get(PATH)
async def describe(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    session = _debugging(request).describe(name)
    if session is None:
        raise ResourceNotFound(f"Function {name} is not being debugged")
    return json_response(session)


@routes.delete(PATH)
async def stop(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not await _debugging(request).stop(name):
        raise ResourceNotFound(f"Function {name} is not being debugged")
    return web.Response(status=204)
