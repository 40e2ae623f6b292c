"""What execution environments may ask of Lamina's own API: to invoke functions, nothing else.

Functions share the host's loopback with Lamina, so a function could otherwise read another
function's configuration (its environment variables), download its code or read its logs.
Until requests are signed and checked, a connection whose socket belongs to an environment's
uid may only invoke (function chaining works as on Lambda); every other operation is refused
with ``AccessDeniedException``. The kernel names the socket's owner once per connection.
"""

from __future__ import annotations

import logging
import weakref
from typing import Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from lamina.api.errors import Handler
from lamina.errors import AccessDenied
from lamina.sandbox.peers import tcp_peer_uid

log = logging.getLogger(__name__)

_INVOKE_SUFFIXES = ("/invocations", "/invoke-async")


def environment_guard(is_environment_uid: Callable[[int | None], bool]) -> Middleware:
    from_environment: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()

    def check(request: web.Request) -> bool:
        transport = request.transport
        if transport is None:
            return False
        known = from_environment.get(transport)
        if known is None:
            peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
            try:
                uid = tcp_peer_uid(local[:2], peer[:2]) if peer and local else None
            except (OSError, ValueError) as exc:
                log.debug("cannot tell who is connecting: %s", exc)
                uid = None
            known = from_environment[transport] = is_environment_uid(uid)
        return known

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if check(request) and not (request.method == "POST" and request.path.endswith(_INVOKE_SUFFIXES)):
            raise AccessDenied(
                "Execution environments may only invoke functions through Lamina's API; "
                f"{request.method} {request.path} is refused."
            )
        return await handler(request)

    return guard
