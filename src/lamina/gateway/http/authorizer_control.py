"""HTTP APIs' authorizers: CreateAuthorizer, GetAuthorizer(s), UpdateAuthorizer, DeleteAuthorizer.

Each API's authorizers live in its ``ApiState`` beside its routes, stored as kind
``apigatewayv2/authorizer`` under ``<api-id>/<authorizer-id>``, and changed through
``HttpApis.change`` (one transaction, under the control plane's lock). Deployments freeze the
authorizers with the routes, so an AutoDeploy stage serves a changed authorizer at once and any
other stage once it is deployed again, as on AWS. An authorizer a route uses cannot be deleted
(``ConflictException``, AWS's message) nor changed to a type its routes do not ask for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from lamina.gateway.http.authorizers import authorizer_from, check_users, users
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.state import ApiState
from lamina.gateway.http.errors import Conflict, NotFound
from lamina.gateway.http.inputs import new_id, page
from lamina.gateway.http.model import Authorizer


def _find(state: ApiState, authorizer_id: str) -> Authorizer:
    found = state.authorizers.get(authorizer_id)
    if found is None:
        raise NotFound(f"Invalid Authorizer identifier specified {authorizer_id}", "Authorizer")
    return found


def get(apis: HttpApis, api_id: str, authorizer_id: str) -> Authorizer:
    return _find(apis.state(api_id), authorizer_id)


def list_(apis: HttpApis, api_id: str, query: Mapping[str, str]) -> tuple[list[Authorizer], str | None]:
    return page(list(apis.state(api_id).authorizers.values()), lambda a: a.authorizer_id, query)


async def create(apis: HttpApis, api_id: str, body: Mapping[str, object]) -> Authorizer:
    made: list[Authorizer] = []

    def add(state: ApiState) -> ApiState:
        authorizer_id = new_id()[:6]
        while authorizer_id in state.authorizers:
            authorizer_id = new_id()[:6]
        made.append(authorizer_from(None, body, authorizer_id))
        return replace(state, authorizers={**state.authorizers, authorizer_id: made[0]})

    await apis.change(api_id, add)
    return made[0]


async def update(apis: HttpApis, api_id: str, authorizer_id: str, body: Mapping[str, object]) -> Authorizer:
    def change(state: ApiState) -> ApiState:
        authorizer = authorizer_from(_find(state, authorizer_id), body, authorizer_id)
        check_users(state.routes.values(), authorizer)
        return replace(state, authorizers={**state.authorizers, authorizer_id: authorizer})

    return (await apis.change(api_id, change)).authorizers[authorizer_id]


async def delete(apis: HttpApis, api_id: str, authorizer_id: str) -> None:
    def remove(state: ApiState) -> ApiState:
        authorizer = _find(state, authorizer_id)
        using = users(state.routes.values(), authorizer_id)
        if using:
            raise Conflict(f"Cannot delete authorizer '{authorizer.name}', is referenced in route: {using[0].route_key}")
        return replace(state, authorizers={k: v for k, v in state.authorizers.items() if k != authorizer_id})

    await apis.change(api_id, remove)
