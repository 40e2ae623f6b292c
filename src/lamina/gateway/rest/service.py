"""The REST API control plane: every API's resources, methods, deployments and stages, in memory,
written through ``Store.change_resources`` (kinds ``apigateway/*``, keys prefixed by the API id) and
loaded at start. Each change is validated against memory, stored, then applied, under one lock.

A stage serves its deployment's snapshot (``Deployment.routes``): what the API's methods and
integrations were when the deployment was created, as on AWS.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from lamina.gateway.addresses import new_api_id
from lamina.gateway.authorizers.cache import AnswerCache
from lamina.gateway.rest import paths
from lamina.gateway.rest.errors import (
    INVALID_DEPLOYMENT, INVALID_METHOD, INVALID_RESOURCE, INVALID_RESPONSE, INVALID_STAGE, NO_INTEGRATION, BadRequest, Conflict,
    NotFound, api_not_found,
)  # fmt: skip
from lamina.gateway.rest.authorizers import Authorizer, check_method
from lamina.gateway.rest.integrations import function_of, validate_integration
from lamina.gateway.rest.model import Deployment, Integration, Method, Resource, RestApi, Route, Stage
from lamina.gateway.rest.pages import new_id, page
from lamina.gateway.rest.patches import Patch, patch_api, patch_integration, patch_method, patch_stage
from lamina.settings import Settings
from lamina.store.base import Resource as Stored
from lamina.store.aggregates import ResourceStore

API, RESOURCE, METHOD, DEPLOYMENT, STAGE, AUTHORIZER = (
    f"apigateway/{k}" for k in ("restapi", "resource", "method", "deployment", "stage", "authorizer")
)
MAX_KEPT_ANSWERS = 10_000  # Lambda authorizers' answers kept for their TTL, in all
AUTHORIZATION_TYPES = frozenset({"NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"})
_STAGE_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_VARIABLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_VARIABLE_VALUE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]+$")
# What a MOCK integration answers with (gateway/rest/mock.py), kept in a deployment's routes.
MOCK_MEMBERS = ("requestTemplates", "passthroughBehavior", "integrationResponses")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})


@dataclass
class ApiState:
    api: RestApi
    resources: dict[str, Resource] = field(default_factory=dict)
    methods: dict[tuple[str, str], Method] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)  # authorizer_control.py changes them
    trees: dict[str, paths.Tree[dict[str, Route]]] = field(default_factory=dict)  # by deployment id

    def tree(self, deployment: Deployment) -> paths.Tree[dict[str, Route]]:
        tree = self.trees.get(deployment.id)
        if tree is None:
            by_path: dict[str, dict[str, Route]] = {}
            for route in deployment.routes:
                by_path.setdefault(route.path, {})[route.http_method] = route
            tree = self.trees[deployment.id] = paths.Tree(by_path.items())
        return tree


class RestApiService:
    def __init__(self, store: ResourceStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings
        self._apis: dict[str, ApiState] = {}
        self._lock = asyncio.Lock()
        # Kept by the data plane (authorizing.py), forgotten by FlushStageAuthorizersCache.
        self.authorizer_answers: AnswerCache[Mapping[str, object]] = AnswerCache(MAX_KEPT_ANSWERS)

    async def load(self) -> None:
        for row in await self._store.list_resources(API):
            api = RestApi.from_doc(row.doc)
            self._apis[api.id] = ApiState(api)
        for kind in (RESOURCE, METHOD, DEPLOYMENT, STAGE, AUTHORIZER):
            for row in await self._store.list_resources(kind):
                state = self._apis.get(row.key.partition("/")[0])
                if state is None:
                    continue
                if kind == RESOURCE:
                    r = Resource.from_doc(row.doc)
                    state.resources[r.id] = r
                elif kind == METHOD:
                    m = Method.from_doc(row.doc)
                    state.methods[(m.resource_id, m.http_method)] = m
                elif kind == DEPLOYMENT:
                    d = Deployment.from_doc(row.doc)
                    state.deployments[d.id] = d
                elif kind == AUTHORIZER:
                    a = Authorizer.from_doc(row.doc)
                    state.authorizers[a.id] = a
                else:
                    s = Stage.from_doc(row.doc)
                    state.stages[s.name] = s

    @property
    def lock(self) -> asyncio.Lock:
        """Held by every change (this module's and authorizer_control.py's)."""
        return self._lock

    @property
    def store(self) -> ResourceStore:
        return self._store

    # -- lookups (no I/O) ---------------------------------------------------------------------

    def find(self, api_id: str) -> ApiState | None:
        return self._apis.get(api_id)

    def state(self, api_id: str) -> ApiState:
        state = self._apis.get(api_id)
        if state is None:
            raise api_not_found(self._settings.account_id, api_id)
        return state

    def api(self, api_id: str) -> RestApi:
        return self.state(api_id).api

    def apis(self, position: str | None, limit: int) -> tuple[list[RestApi], str | None]:
        return page([s.api for s in self._apis.values()], position, limit, lambda a: a.id)

    def resource(self, api_id: str, resource_id: str) -> Resource:
        found = self.state(api_id).resources.get(resource_id)
        if found is None:
            raise NotFound(INVALID_RESOURCE)
        return found

    def resources(self, api_id: str, position: str | None, limit: int) -> tuple[list[Resource], str | None]:
        return page(list(self.state(api_id).resources.values()), position, limit, lambda r: r.id)

    def methods_of(self, api_id: str, resource_id: str) -> list[Method]:
        state = self.state(api_id)
        return [m for (rid, _), m in sorted(state.methods.items()) if rid == resource_id]

    def method(self, api_id: str, resource_id: str, http_method: str) -> Method:
        self.resource(api_id, resource_id)
        found = self.state(api_id).methods.get((resource_id, http_method.upper()))
        if found is None:
            raise NotFound(INVALID_METHOD)
        return found

    def integration(self, api_id: str, resource_id: str, http_method: str) -> Integration:
        found = self.method(api_id, resource_id, http_method).integration
        if found is None:
            raise NotFound(NO_INTEGRATION)
        return found

    def deployment(self, api_id: str, deployment_id: str) -> Deployment:
        found = self.state(api_id).deployments.get(deployment_id)
        if found is None:
            raise NotFound(INVALID_DEPLOYMENT)
        return found

    def deployments(self, api_id: str, position: str | None, limit: int) -> tuple[list[Deployment], str | None]:
        return page(list(self.state(api_id).deployments.values()), position, limit, lambda d: d.id)

    def stage(self, api_id: str, name: str) -> Stage:
        found = self.state(api_id).stages.get(name)
        if found is None:
            raise NotFound(INVALID_STAGE)
        return found

    def stages(self, api_id: str, deployment_id: str | None) -> list[Stage]:
        stages = sorted(self.state(api_id).stages.values(), key=lambda s: s.name)
        return [s for s in stages if deployment_id is None or s.deployment_id == deployment_id]

    # -- REST APIs ----------------------------------------------------------------------------

    async def create_api(self, name: str, description: str | None, binary_media_types: Sequence[str],
                         endpoint_types: Sequence[str], tags: Mapping[str, str], extra: Mapping[str, object]) -> RestApi:  # fmt: skip
        async with self._lock:
            api_id = new_api_id()
            while api_id in self._apis:
                api_id = new_api_id()
            root = Resource(new_id(10), "/")
            api = RestApi(api_id, name, time.time(), root.id, description, tuple(binary_media_types),
                          tuple(endpoint_types) or ("EDGE",), dict(tags), dict(extra))  # fmt: skip
            await self._store.change_resources(puts=[Stored(API, api_id, api.doc()), self._stored_resource(api_id, root)])
            self._apis[api_id] = ApiState(api, {root.id: root})
            return api

    async def update_api(self, api_id: str, patches: Sequence[Patch]) -> RestApi:
        async with self._lock:
            state = self.state(api_id)
            api = state.api
            for patch in patches:
                api = patch_api(api, patch)
            await self._store.change_resources(puts=[Stored(API, api_id, api.doc())])
            state.api = api
            return api

    def tags(self, api_id: str, stage_name: str | None) -> Mapping[str, str]:
        return self.stage(api_id, stage_name).tags if stage_name is not None else self.api(api_id).tags

    async def set_tags(self, api_id: str, stage_name: str | None, tags: Mapping[str, str] | None = None,
                       remove: Sequence[str] = ()) -> None:  # fmt: skip
        """Tag (or untag) the API, or one of its stages."""
        async with self._lock:
            state = self.state(api_id)
            current = self.tags(api_id, stage_name)
            merged = {k: v for k, v in {**current, **(tags or {})}.items() if k not in remove}
            if stage_name is None:
                api = replace(state.api, tags=merged)
                await self._store.change_resources(puts=[Stored(API, api_id, api.doc())])
                state.api = api
            else:
                stage = replace(self.stage(api_id, stage_name), tags=merged)
                await self._store.change_resources(puts=[Stored(STAGE, f"{api_id}/{stage_name}", stage.doc())])
                state.stages[stage_name] = stage

    async def delete_api(self, api_id: str) -> None:
        async with self._lock:
            self.state(api_id)
            prefix = f"{api_id}/"
            await self._store.change_resources(
                deletes=[(API, api_id)], delete_prefixes=[(k, prefix) for k in (RESOURCE, METHOD, DEPLOYMENT, STAGE, AUTHORIZER)]
            )
            del self._apis[api_id]

    # -- resources ----------------------------------------------------------------------------

    def _stored_resource(self, api_id: str, r: Resource) -> Stored:
        return Stored(RESOURCE, f"{api_id}/{r.id}", r.doc())

    async def create_resource(self, api_id: str, parent_id: str, path_part: str) -> Resource:
        async with self._lock:
            state = self.state(api_id)
            parent = state.resources.get(parent_id)
            if parent is None:
                raise NotFound(INVALID_RESOURCE)
            error = paths.path_part_error(path_part)
            if error is not None:
                raise BadRequest(error)
            if parent.path_part is not None and paths.is_greedy(parent.path_part):
                raise BadRequest(f"Cannot create a child of a resource with a greedy path variable: {parent.path_part}")
            for sibling in state.resources.values():
                if sibling.parent_id != parent_id or sibling.path_part is None:
                    continue
                if sibling.path_part == path_part:
                    raise Conflict(f"Another resource with the same parent already has this name: {path_part}")
                if paths.is_variable(path_part) and paths.is_variable(sibling.path_part):
                    raise BadRequest(f"A sibling ({sibling.path_part}) of this resource already has a variable "
                                     "path part -- only one is allowed")  # fmt: skip
            resource_id = new_id(6)
            while resource_id in state.resources:
                resource_id = new_id(6)
            resource = Resource(resource_id, paths.join(parent.path, path_part), parent_id, path_part)
            await self._store.change_resources(puts=[self._stored_resource(api_id, resource)])
            state.resources[resource_id] = resource
            return resource

    async def delete_resource(self, api_id: str, resource_id: str) -> None:
        async with self._lock:
            state = self.state(api_id)
            resource = state.resources.get(resource_id)
            if resource is None:
                raise NotFound(INVALID_RESOURCE)
            if resource.parent_id is None:
                raise BadRequest("Cannot delete root resource")
            doomed = {resource_id}
            grew = True
            while grew:
                more = {r.id for r in state.resources.values() if r.parent_id in doomed} - doomed
                doomed |= more
                grew = bool(more)
            methods = [key for key in state.methods if key[0] in doomed]
            await self._store.change_resources(deletes=[(RESOURCE, f"{api_id}/{r}") for r in doomed]
                                               + [(METHOD, f"{api_id}/{r}/{m}") for r, m in methods])  # fmt: skip
            for r in doomed:
                del state.resources[r]
            for key in methods:
                del state.methods[key]

    # -- methods and integrations -------------------------------------------------------------

    async def _put_method(self, api_id: str, method: Method) -> Method:
        key = f"{api_id}/{method.resource_id}/{method.http_method}"
        await self._store.change_resources(puts=[Stored(METHOD, key, method.stored())])
        self.state(api_id).methods[(method.resource_id, method.http_method)] = method
        return method

    async def put_method(self, api_id: str, resource_id: str, http_method: str, authorization_type: str,
                         api_key_required: bool, extra: Mapping[str, object]) -> Method:  # fmt: skip
        async with self._lock:
            self.resource(api_id, resource_id)
            verb = http_method.upper()
            if verb not in HTTP_METHODS:
                raise BadRequest("Invalid HttpMethod specified. Valid options are GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY")
            if authorization_type not in AUTHORIZATION_TYPES:
                raise BadRequest("Invalid authorization type specified")
            if (resource_id, verb) in self.state(api_id).methods:
                raise Conflict("Method already exists for this resource")
            check_method(authorization_type, extra.get("authorizerId"), self.state(api_id).authorizers)
            return await self._put_method(api_id, Method(resource_id, verb, authorization_type, api_key_required,
                                                         None, dict(extra)))  # fmt: skip

    async def delete_method(self, api_id: str, resource_id: str, http_method: str) -> None:
        async with self._lock:
            method = self.method(api_id, resource_id, http_method)
            await self._store.change_resources(deletes=[(METHOD, f"{api_id}/{resource_id}/{method.http_method}")])
            del self.state(api_id).methods[(resource_id, method.http_method)]

    async def set_method_response(self, api_id: str, resource_id: str, http_method: str, status: str,
                                  doc: Mapping[str, object] | None) -> Mapping[str, object] | None:  # fmt: skip
        """Store (or, with ``doc`` None, delete) a method response; it is kept, not acted on."""
        async with self._lock:
            method = self.method(api_id, resource_id, http_method)
            responses = _set_response(method.extra.get("methodResponses"), status, doc)
            await self._put_method(api_id, method.with_extra("methodResponses", responses))
            return responses.get(status)

    async def put_integration(self, api_id: str, resource_id: str, http_method: str, type_: str, uri: str | None,
                              integration_http_method: str | None, timeout_ms: int | None,
                              extra: Mapping[str, object]) -> Integration:  # fmt: skip
        async with self._lock:
            method = self.method(api_id, resource_id, http_method)
            validate_integration(type_, uri, integration_http_method, timeout_ms)
            integration = Integration(type_, uri, integration_http_method, timeout_ms or 29_000, dict(extra))
            await self._put_method(api_id, replace(method, integration=integration))
            return integration

    async def update_method(self, api_id: str, resource_id: str, http_method: str, patches: Sequence[Patch]) -> Method:
        async with self._lock:
            method = self.method(api_id, resource_id, http_method)
            for patch in patches:
                method = patch_method(method, patch)
            if method.authorization_type not in AUTHORIZATION_TYPES:
                raise BadRequest("Invalid authorization type specified")
            check_method(method.authorization_type, method.extra.get("authorizerId"), self.state(api_id).authorizers)
            return await self._put_method(api_id, method)

    async def update_integration(self, api_id: str, resource_id: str, http_method: str,
                                 patches: Sequence[Patch]) -> Integration:  # fmt: skip
        async with self._lock:
            integration = self.integration(api_id, resource_id, http_method)
            for patch in patches:
                integration = patch_integration(integration, patch)
            validate_integration(integration.type, integration.uri, integration.http_method, integration.timeout_ms)
            method = self.method(api_id, resource_id, http_method)
            await self._put_method(api_id, replace(method, integration=integration))
            return integration

    async def delete_integration(self, api_id: str, resource_id: str, http_method: str) -> None:
        async with self._lock:
            self.integration(api_id, resource_id, http_method)
            method = self.method(api_id, resource_id, http_method)
            await self._put_method(api_id, replace(method, integration=None))

    async def set_integration_response(self, api_id: str, resource_id: str, http_method: str, status: str,
                                       doc: Mapping[str, object] | None) -> Mapping[str, object] | None:  # fmt: skip
        """Store (or, with ``doc`` None, delete) an integration response; kept, not acted on (proxy
        integrations have none)."""
        async with self._lock:
            integration = self.integration(api_id, resource_id, http_method)
            method = self.method(api_id, resource_id, http_method)
            responses = _set_response(integration.extra.get("integrationResponses"), status, doc)
            updated = replace(integration, extra={**integration.extra, "integrationResponses": responses})
            await self._put_method(api_id, replace(method, integration=updated))
            return responses.get(status)

    # -- deployments and stages ---------------------------------------------------------------

    async def create_deployment(self, api_id: str, description: str | None, stage_name: str | None,
                                stage_description: str | None, variables: Mapping[str, str]) -> Deployment:  # fmt: skip
        async with self._lock:
            state = self.state(api_id)
            if stage_name:
                _check_stage(stage_name, variables)
            if not state.methods:
                raise BadRequest("The REST API doesn't contain any methods")
            routes, authorizers = [], {}
            for (resource_id, verb), method in sorted(state.methods.items()):
                if method.integration is None:
                    raise BadRequest(NO_INTEGRATION)
                function = lambda_function(method.integration)
                authorizer = state.authorizers.get(str(method.extra.get("authorizerId")))
                if method.authorization_type not in ("CUSTOM", "COGNITO_USER_POOLS"):
                    authorizer = None
                elif authorizer is not None:
                    authorizers[authorizer.id] = authorizer
                integration = method.integration
                mock = {k: v for k, v in integration.extra.items() if k in MOCK_MEMBERS} \
                    if integration.type == "MOCK" else None  # fmt: skip
                routes.append(Route(resource_id, state.resources[resource_id].path, verb, integration.type,
                                    function, integration.timeout_ms, method.authorization_type,
                                    authorizer.id if authorizer else None, method.api_key_required, mock))  # fmt: skip
            deployment_id = new_id(6)
            while deployment_id in state.deployments:
                deployment_id = new_id(6)
            now = time.time()
            deployment = Deployment(deployment_id, now, description, tuple(routes), authorizers)
            puts = [Stored(DEPLOYMENT, f"{api_id}/{deployment_id}", deployment.stored())]
            stage: Stage | None = None
            if stage_name:
                old = state.stages.get(stage_name)
                if old is None:
                    stage = Stage(stage_name, deployment_id, now, now, stage_description, dict(variables))
                else:
                    stage = replace(old, deployment_id=deployment_id, last_updated=now,
                                    variables={**old.variables, **variables})  # fmt: skip
                puts.append(Stored(STAGE, f"{api_id}/{stage_name}", stage.doc()))
            await self._store.change_resources(puts=puts)
            state.deployments[deployment_id] = deployment
            if stage is not None:
                state.stages[stage.name] = stage
            return deployment

    async def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        async with self._lock:
            self.deployment(api_id, deployment_id)
            state = self.state(api_id)
            if any(s.deployment_id == deployment_id for s in state.stages.values()):
                raise BadRequest("Active stages pointing to this deployment must be moved or deleted")
            await self._store.change_resources(deletes=[(DEPLOYMENT, f"{api_id}/{deployment_id}")])
            del state.deployments[deployment_id]
            state.trees.pop(deployment_id, None)

    async def create_stage(self, api_id: str, name: str, deployment_id: str, description: str | None,
                           variables: Mapping[str, str], tags: Mapping[str, str], tracing: bool) -> Stage:  # fmt: skip
        async with self._lock:
            state = self.state(api_id)
            _check_stage(name, variables)
            self.deployment(api_id, deployment_id)
            if name in state.stages:
                raise Conflict("Stage already exists")
            now = time.time()
            stage = Stage(name, deployment_id, now, now, description, dict(variables), dict(tags), tracing)
            await self._store.change_resources(puts=[Stored(STAGE, f"{api_id}/{name}", stage.doc())])
            state.stages[name] = stage
            return stage

    async def update_stage(self, api_id: str, name: str, patches: Sequence[Patch]) -> Stage:
        async with self._lock:
            stage = self.stage(api_id, name)
            for patch in patches:
                stage = patch_stage(stage, patch)
            self.deployment(api_id, stage.deployment_id)
            _check_stage(name, stage.variables)
            stage = replace(stage, last_updated=time.time())
            await self._store.change_resources(puts=[Stored(STAGE, f"{api_id}/{name}", stage.doc())])
            self.state(api_id).stages[name] = stage
            return stage

    async def delete_stage(self, api_id: str, name: str) -> None:
        async with self._lock:
            self.stage(api_id, name)
            await self._store.change_resources(deletes=[(STAGE, f"{api_id}/{name}")])
            del self.state(api_id).stages[name]


def lambda_function(integration: Integration) -> str | None:
    return function_of(integration.type, integration.uri)


def _set_response(current: object, status: str, doc: Mapping[str, object] | None) -> dict[str, Mapping[str, object]]:
    responses: dict[str, Mapping[str, object]] = (
        {str(k): v for k, v in current.items() if isinstance(v, dict)} if isinstance(current, dict) else {}
    )
    if doc is not None:
        responses[status] = {"statusCode": status, **doc}
    elif responses.pop(status, None) is None:
        raise NotFound(INVALID_RESPONSE)
    return responses


def response_of(current: object, status: str) -> Mapping[str, object]:
    """A stored method or integration response, by status code."""
    found = current.get(status) if isinstance(current, dict) else None
    if not isinstance(found, dict):
        raise NotFound(INVALID_RESPONSE)
    return found


def _check_stage(name: str, variables: Mapping[str, str]) -> None:
    if not _STAGE_NAME.match(name):
        raise BadRequest("Stage name only allows a-zA-Z0-9_-")
    for key, value in variables.items():
        if not _VARIABLE_NAME.match(key):
            raise BadRequest("Stage variable names may only contain alphanumeric characters and underscores")
        if not _VARIABLE_VALUE.match(value):
            raise BadRequest("Stage variable values must match the regular expression [A-Za-z0-9-._~:/?#&=,]+")
