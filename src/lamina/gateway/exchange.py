"""A request to an API and its answer as plain values, whoever owns the connection.

HTTP APIs are served from two places: the front door (``lamina.dataplane``), which reads a plain
request itself, and aiohttp's ``execute_api`` middleware, for the connections aiohttp owns. Both
describe the request as an ``ApiRequest`` and write the ``ApiAnswer`` they get back
(``aiohttp_exchange`` does so for aiohttp). An answer that must go out before the serving code
has finished (an integration's timeout, while the invocation runs on) is given to ``Early``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol, runtime_checkable

from multidict import CIMultiDict, CIMultiDictProxy

from lamina.identity.principals import KeyRing


@dataclass(slots=True)
class ApiRequest:
    """What serving reads of a request. ``read`` is its body, once all of it has arrived
    (``RequestTimeout`` if that takes too long; ``RequestTooLarge`` past the server's limit)."""

    method: str
    raw_query: str  # as sent, after the "?"
    headers: CIMultiDictProxy[str] | CIMultiDict[str]  # names as sent, repeats kept, in order
    remote: str  # the peer's address
    protocol: str  # "HTTP/1.1"
    local_port: int | None  # the listener's port the request came in on
    content_length: int | None
    read: Callable[[], Awaitable[bytes]]
    # What signatures are verified against (AWS_IAM routes): the application's ring, for the
    # connections aiohttp owns (inside environments' namespaces, never the development pair);
    # None: the server's (the front door's requests).
    ring: KeyRing | None = None
    secure: bool = False  # whether it came over TLS (Lamina's HTTPS listener)


@dataclass(slots=True)
class ApiAnswer:
    """An answer: its headers in order, repeats (Set-Cookie) kept; ``close``: close the connection
    once it is written."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    close: bool = False


Early = Callable[[ApiAnswer], None]


@runtime_checkable
class PlainEndpoints(Protocol):
    """A kind of API (``gateway.endpoint.Endpoints``) that also serves plain requests."""

    async def answer(self, request: ApiRequest, api_id: str, path: str, early: Early) -> ApiAnswer:
        """The answer to ``request`` for API ``api_id`` (``path``: within the API). When it must be
        sent before this returns, it is given to ``early`` first; what this returns then is the
        same answer, and the connection is closed once it returns."""
        ...

    def body_timed_out(self, request: ApiRequest, api_id: str) -> ApiAnswer:
        """The answer to ``request`` (its body unread) whose body did not arrive in time."""
        ...
