"""``GET /lamina/v1/runtimes``: every runtime Lambda has, as this server runs it (its interpreter's
path and version, a warning when that version is not AWS's) or why it cannot (what is missing and
the command that installs it), so that ``lamina runtimes`` shows the server's view rather than the
client machine's. Signed and authorized like every request.

    -> {"runtimes": [{"runtime", "available", "family", "interpreter", "version", "warning"}
                     | {"runtime", "available": false, "missing", "found", "install"}]}
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from lamina.api.context import json_response, services

routes = web.RouteTableDef()


@routes.get("/lamina/v1/runtimes")
async def list_runtimes(request: web.Request) -> web.Response:
    registry = services(request).runtimes
    # Looking for a runtime may probe interpreters (and build .NET's): off the event loop.
    reports = await asyncio.to_thread(registry.report) if registry is not None else []
    return json_response({"runtimes": reports})
