"""The control plane of REST APIs' authorizers: created, read, patched and deleted as AWS does.

Each API's authorizers live in its ``ApiState`` beside its methods, stored as kind
``apigateway/authorizer`` under ``<api-id>/<authorizer-id>``; changes hold the API service's lock.
A deployment keeps the authorizers its methods use as they were (``Deployment.authorizers``), so a
changed authorizer is served once the API is deployed again, as on AWS. An authorizer a method uses
cannot be deleted (``ConflictException``, AWS's message).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from lamina.gateway.rest.authorizers import INVALID_AUTHORIZER, Authorizer, check_method, patch_authorizer, validate
from lamina.gateway.rest.errors import Conflict, NotFound
from lamina.gateway.rest.patches import Patch
from lamina.gateway.rest.pages import new_id, page
from lamina.gateway.rest.service import AUTHORIZER, RestApiService
from lamina.store.base import Resource as Stored


class RestAuthorizers:
    def __init__(self, apis: RestApiService) -> None:
        self._apis = apis

    def get(self, api_id: str, authorizer_id: str) -> Authorizer:
        found = self._apis.state(api_id).authorizers.get(authorizer_id)
        if found is None:
            raise NotFound(INVALID_AUTHORIZER)
        return found

    def list(self, api_id: str, position: str | None, limit: int) -> tuple[list[Authorizer], str | None]:
        return page(list(self._apis.state(api_id).authorizers.values()), position, limit, lambda a: a.id)

    async def _put(self, api_id: str, authorizer: Authorizer) -> Authorizer:
        validate(authorizer)
        await self._apis.store.change_resources(puts=[Stored(AUTHORIZER, f"{api_id}/{authorizer.id}", authorizer.doc())])
        self._apis.state(api_id).authorizers[authorizer.id] = authorizer
        return authorizer

    async def create(self, api_id: str, name: str, type_: str, uri: str | None, identity_source: str | None,
                     validation_expression: str | None, ttl: int | None, provider_arns: Sequence[str],
                     extra: Mapping[str, object]) -> Authorizer:  # fmt: skip
        async with self._apis.lock:
            state = self._apis.state(api_id)
            authorizer_id = new_id(6)
            while authorizer_id in state.authorizers:
                authorizer_id = new_id(6)
            authorizer = Authorizer(authorizer_id, name, type_, uri, identity_source, validation_expression,
                                    300 if ttl is None else ttl, tuple(provider_arns), dict(extra))  # fmt: skip
            return await self._put(api_id, authorizer)

    async def update(self, api_id: str, authorizer_id: str, patches: Sequence[Patch]) -> Authorizer:
        async with self._apis.lock:
            authorizer = self.get(api_id, authorizer_id)
            for patch in patches:
                authorizer = patch_authorizer(authorizer, patch)
            authorizer = replace(authorizer, id=authorizer_id)
            # The methods that use it must still find an authorizer of their kind (CUSTOM: a Lambda one).
            state = self._apis.state(api_id)
            changed = {**state.authorizers, authorizer_id: authorizer}
            for method in state.methods.values():
                if method.extra.get("authorizerId") == authorizer_id:
                    check_method(method.authorization_type, authorizer_id, changed)
            return await self._put(api_id, authorizer)

    async def delete(self, api_id: str, authorizer_id: str) -> None:
        async with self._apis.lock:
            authorizer = self.get(api_id, authorizer_id)
            state = self._apis.state(api_id)
            for (resource_id, verb), method in sorted(state.methods.items()):
                if method.extra.get("authorizerId") == authorizer_id:
                    path = state.resources[resource_id].path
                    raise Conflict(f"Cannot delete authorizer '{authorizer.name}', is referenced in method: {verb}/{path}")
            await self._apis.store.change_resources(deletes=[(AUTHORIZER, f"{api_id}/{authorizer_id}")])
            del state.authorizers[authorizer_id]
