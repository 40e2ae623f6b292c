"""The seam between the execute-api listener and the kinds of API it serves.

``api/execute_api.py`` finds which API a request is for (``gateway.addresses``) and asks each
``Endpoints`` registered in the ``Directory`` for it, in order; the first that knows the id serves
the request. HTTP APIs and REST APIs each register one ``Endpoints``. Contract:

- ``endpoint(api_id)`` is a lookup in memory (it runs for every request): no I/O, never raises.
- ``Endpoint.serve`` answers every request itself, errors included, in API Gateway's shapes (a
  missing route is ``404 {"message": "Not Found"}``, never a Lambda API error).
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class Endpoint(Protocol):
    async def serve(self, request: web.Request, path: str) -> web.StreamResponse:
        """Answer ``request``, whose path within the API (stage included, for REST APIs) is ``path``."""
        ...


class Endpoints(Protocol):
    def endpoint(self, api_id: str) -> Endpoint | None:
        """The API ``api_id`` if this kind of API has one by that id."""
        ...


class Directory:
    """Every kind of API Lamina serves at execute-api addresses."""

    def __init__(self) -> None:
        self._kinds: list[Endpoints] = []

    def add(self, kind: Endpoints) -> None:
        self._kinds.append(kind)

    def endpoint(self, api_id: str) -> Endpoint | None:
        for kind in self._kinds:
            found = kind.endpoint(api_id)
            if found is not None:
                return found
        return None
