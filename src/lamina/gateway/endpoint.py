"""The seam between the execute-api listener and the kinds of API it serves.

``api/execute_api.py`` finds which API a request is for (``gateway.addresses``) and asks the
``Directory`` which registered kind of API serves that id, in order of registration; that kind
serves the request. HTTP APIs and REST APIs each register one ``Endpoints``; one that is also a
``gateway.exchange.PlainEndpoints`` (HTTP APIs) is served by the front door too (``plain``). Contract:

- ``serves(api_id)`` is a lookup in memory (it runs for every request): no I/O, never raises.
- ``serve`` answers every request itself, errors included, in API Gateway's shapes (a missing
  route is ``404 {"message": "Not Found"}``, never a Lambda API error).
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from lamina.gateway.exchange import PlainEndpoints


class Endpoints(Protocol):
    def serves(self, api_id: str) -> bool:
        """Whether this kind of API has one by that id, served at its execute-api addresses."""
        ...

    async def serve(self, request: web.Request, api_id: str, path: str) -> web.StreamResponse:
        """Answer ``request`` for API ``api_id``, whose path within the API (stage included, for
        REST APIs) is ``path``."""
        ...


class Directory:
    """Every kind of API Lamina serves at execute-api addresses."""

    def __init__(self) -> None:
        self._kinds: list[Endpoints] = []
        self._plain: dict[int, PlainEndpoints] = {}  # by id(): the kinds the front door may serve

    def add(self, kind: Endpoints) -> None:
        self._kinds.append(kind)
        if isinstance(kind, PlainEndpoints):
            self._plain[id(kind)] = kind

    def kind(self, api_id: str) -> Endpoints | None:
        """The kind of API that serves ``api_id``, if any does."""
        for kind in self._kinds:
            if kind.serves(api_id):
                return kind
        return None

    def plain(self, api_id: str) -> PlainEndpoints | None:
        """The kind that serves ``api_id``, if it also serves plain requests (the front door's)."""
        kind = self.kind(api_id)
        return None if kind is None else self._plain.get(id(kind))
