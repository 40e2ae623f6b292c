"""Permits' lifetime and their revocation: what keeps the native data plane no more lenient than Python.

Python is the only authority on who may invoke what. Once it has verified and authorized a plain
Invoke that the native data plane sent it (a miss), it grants the plane a permit for that key, lane
and client address (dataplane/native.py: IAM's decision may depend on the address, aws:SourceIp;
the plane's listener is plain HTTP, so aws:SecureTransport is false for all it serves): for ``PERMIT_SECONDS`` at most, and only in the epoch its decision
began in. Anything that could change a later decision revokes every permit at once (a new epoch):
``Revocations.revoke``, called by every write of the API (``middleware``: any request but GET,
HEAD and OPTIONS, once answered: IAM users, keys, roles and policies, functions' resource
policies, deletions, concurrency) and by IAM's own writes wherever they come from
(``IamService.on_change``: stacks, for one). The few seconds bound what no write announces: the
passing of time (a session key's expiry is the permit's own bound too), as IAM's own changes take
a few seconds to propagate on AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from lamina.identity.principals import Caller

if TYPE_CHECKING:
    from lamina.dataplane.head import FastInvoke

PERMIT_SECONDS = 5.0
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class Grant(Protocol):
    """Who learns of callers the front door allowed to invoke (the native data plane's permits)."""

    def epoch(self) -> int:
        """The epoch a decision begins in."""
        ...

    def allowed(self, request: FastInvoke, caller: Caller | None, epoch: int, peer: str) -> None:
        """``caller`` (None: signatures not verified) was allowed ``request`` from the address
        ``peer``, decided in ``epoch`` (a decision may depend on the address: aws:SourceIp)."""
        ...


class Revocations:
    """Who is told when permits must go (the native data plane, once it runs)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def revoke(self) -> None:
        for listener in self._listeners:
            listener()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]



def middleware(revocations: Revocations) -> Middleware:
    """Revoke every permit once a request that may have written anything is handled."""

    @web.middleware
    async def revoking(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _READS:
            return await handler(request)
        try:
            return await handler(request)
        finally:
            revocations.revoke()

    return revoking
