"""The HTTP API control plane: APIs, routes, integrations, stages, deployments and tags
(authorizers: ``authorizer_control.py``, through ``HttpApis.change``).

State is kept in memory, one immutable ``ApiState`` per API, and written through to the store
(``Store.change_resources``, kinds ``apigatewayv2/*``, child keys ``<api-id>/<id>``). An operation
builds the API's next state, writes the difference in one transaction, and only then makes it
current: a failed write leaves nothing half-created, and a request being served sees one state or
the next, never a mixture. Operations run one at a time (a lock), as their writes must not
interleave.

Stages serve deployments: a deployment freezes the API's routes, integrations and authorizers; a stage with
AutoDeploy gets a new one whenever they change (as AWS deploys such stages), a stage without it
serves the deployment it was last given (CreateDeployment with its name, or UpdateStage).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Iterable, Mapping, TypeVar

from lamina.gateway import addresses
from lamina.gateway.http import integrations as uris
from lamina.gateway.http.authorizers import route_authorization
from lamina.gateway.http.errors import BadRequest, Conflict, NotFound
from lamina.gateway.http.inputs import iso, new_id, page, string, string_map
from lamina.gateway.http.model import DEFAULT_STAGE, DEFAULT_TIMEOUT_MS, Api, Authorizer, Deployment, Integration
from lamina.gateway.http.model import Route, Stage
from lamina.gateway.http.model import cors_from
from lamina.gateway.http.routing import InvalidRouteKey, RouteKey, parse_route_key
from lamina.gateway.http.state import ApiState, with_tables
from lamina.model import UrlCors
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

KIND_API, KIND_ROUTE, KIND_INTEGRATION = "apigatewayv2/api", "apigatewayv2/route", "apigatewayv2/integration"
KIND_STAGE, KIND_DEPLOYMENT = "apigatewayv2/stage", "apigatewayv2/deployment"
KIND_AUTHORIZER = "apigatewayv2/authorizer"
CHILD_KINDS = (KIND_ROUTE, KIND_INTEGRATION, KIND_STAGE, KIND_DEPLOYMENT, KIND_AUTHORIZER)
_STAGE_NAME = re.compile(r"^(\$default|[a-zA-Z0-9_\-]{1,128})$")
_TAGS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]*::/apis/(?P<api>[a-z0-9]+)(/stages/(?P<stage>[^/]+))?$")
T = TypeVar("T")


class HttpApis:
    """Every HTTP API, in memory, written through to ``store``."""

    def __init__(self, store: ResourceStore, *, region: str, account_id: str, port: int,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:  # fmt: skip
        self._store = store
        self._region = region
        self._account = account_id
        self._port = port
        self._now = now
        self._apis: dict[str, ApiState] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        apis = {r.key: ApiState(Api.from_doc(r.doc)) for r in await self._store.list_resources(KIND_API)}
        children: dict[str, dict[str, dict[str, Mapping[str, object]]]] = {kind: {} for kind in CHILD_KINDS}
        for kind in CHILD_KINDS:
            for r in await self._store.list_resources(kind):
                api_id, _, child = r.key.partition("/")
                if api_id in apis:
                    children[kind].setdefault(api_id, {})[child] = r.doc
        for api_id, state in apis.items():
            self._apis[api_id] = with_tables(replace(
                state,
                routes={k: Route.from_doc(d) for k, d in children[KIND_ROUTE].get(api_id, {}).items()},
                integrations={k: Integration.from_doc(d) for k, d in children[KIND_INTEGRATION].get(api_id, {}).items()},
                stages={k: Stage.from_doc(d) for k, d in children[KIND_STAGE].get(api_id, {}).items()},
                deployments={k: Deployment.from_doc(d) for k, d in children[KIND_DEPLOYMENT].get(api_id, {}).items()},
                authorizers={k: Authorizer.from_doc(d) for k, d in children[KIND_AUTHORIZER].get(api_id, {}).items()},
            ))  # fmt: skip

    # -- reading (no I/O) -------------------------------------------------------------------------

    def find(self, api_id: str) -> ApiState | None:
        """The API's current state (the data plane reads it for every request)."""
        return self._apis.get(api_id)

    def endpoint(self, api_id: str) -> str:
        return addresses.api_endpoint(api_id, self._port)

    def arn(self, api_id: str, stage: str | None = None) -> str:
        return f"arn:aws:apigateway:{self._region}::/apis/{api_id}" + (f"/stages/{stage}" if stage else "")

    def state(self, api_id: str) -> ApiState:
        state = self._apis.get(api_id)
        if state is None:
            raise NotFound(f"Invalid API identifier specified {self._account}:{api_id}", "API")
        return state

    def apis(self, query: Mapping[str, str]) -> tuple[list[Api], str | None]:
        return page([s.api for s in self._apis.values()], lambda a: a.api_id, query)

    def routes(self, api_id: str, query: Mapping[str, str]) -> tuple[list[Route], str | None]:
        return page(list(self.state(api_id).routes.values()), lambda r: r.route_id, query)

    def integrations(self, api_id: str, query: Mapping[str, str]) -> tuple[list[Integration], str | None]:
        return page(list(self.state(api_id).integrations.values()), lambda i: i.integration_id, query)

    def stages(self, api_id: str, query: Mapping[str, str]) -> tuple[list[Stage], str | None]:
        return page(list(self.state(api_id).stages.values()), lambda s: s.name, query)

    def deployments(self, api_id: str, query: Mapping[str, str]) -> tuple[list[Deployment], str | None]:
        return page(list(self.state(api_id).deployments.values()), lambda d: d.deployment_id, query)

    def route(self, api_id: str, route_id: str) -> Route:
        found = self.state(api_id).routes.get(route_id)
        if found is None:
            raise NotFound(f"Invalid Route identifier specified {route_id}", "Route")
        return found

    def integration(self, api_id: str, integration_id: str) -> Integration:
        found = self.state(api_id).integrations.get(integration_id)
        if found is None:
            raise NotFound(f"Invalid Integration identifier specified {integration_id}", "Integration")
        return found

    def stage(self, api_id: str, name: str) -> Stage:
        found = self.state(api_id).stages.get(name)
        if found is None:
            raise NotFound(f"Invalid stage identifier specified {name}", "Stage")
        return found

    def deployment(self, api_id: str, deployment_id: str) -> Deployment:
        found = self.state(api_id).deployments.get(deployment_id)
        if found is None:
            raise NotFound(f"Invalid Deployment identifier specified {deployment_id}", "Deployment")
        return found

    # -- APIs -------------------------------------------------------------------------------------

    async def create_api(self, body: Mapping[str, object]) -> ApiState:
        name = string(body, "name", required=True, max_len=128)
        assert name is not None
        if body.get("protocolType") != "HTTP":
            raise BadRequest("Lamina serves HTTP APIs here: ProtocolType must be HTTP (WEBSOCKET is not supported)")
        async with self._lock:
            api_id = addresses.new_api_id()
            while api_id in self._apis:
                api_id = addresses.new_api_id()
            created = iso(self._now())
            api = Api(api_id, name, created, string(body, "description"), string(body, "version", max_len=64),
                      self._cors(body), body.get("disableExecuteApiEndpoint") is True,
                      string_map(body, "tags") or {})  # fmt: skip
            state = ApiState(api)
            target = string(body, "target", max_len=2048)
            route_key = string(body, "routeKey", max_len=1024)
            if target is not None:
                state = self._quick_create(state, target, route_key or "$default", created)
            elif route_key is not None:
                raise BadRequest("RouteKey can only be specified with Target (quick create)")
            await self._commit(None, state)
            return self._apis[api_id]

    def _quick_create(self, state: ApiState, target: str, route_key: str, created: str) -> ApiState:
        """Quick create: an AWS_PROXY integration with ``target``, a route to it and an auto-deployed ``$default`` stage."""
        function = uris.function_arn(target)
        if function is None:
            raise BadRequest(f"Invalid target specified: {target}. Lamina's quick create takes a Lambda function ARN.")
        self._route_key(route_key)
        integration = Integration(new_id(), target, function, "2.0", DEFAULT_TIMEOUT_MS, managed=True)
        route = Route(new_id(), route_key, f"integrations/{integration.integration_id}", managed=True)
        stage = Stage(DEFAULT_STAGE, created, created, auto_deploy=True, managed=True)
        state = replace(state, routes={route.route_id: route}, integrations={integration.integration_id: integration},
                        stages={stage.name: stage})  # fmt: skip
        return self._auto_deploy(state)

    async def update_api(self, api_id: str, body: Mapping[str, object]) -> ApiState:
        async with self._lock:
            old = self.state(api_id)
            api = old.api
            changes: dict[str, object] = {}
            if "name" in body:
                changes["name"] = string(body, "name", required=True, max_len=128)
            for member in ("description", "version"):
                if member in body:
                    changes[member] = string(body, member)
            if "corsConfiguration" in body:
                changes["cors"] = self._cors(body)
            if "disableExecuteApiEndpoint" in body:
                changes["disable_execute_api_endpoint"] = body.get("disableExecuteApiEndpoint") is True
            new = replace(old, api=replace(api, **changes))  # type: ignore[arg-type]
            await self._commit(old, new)
            return self._apis[api_id]

    async def delete_cors(self, api_id: str) -> None:
        async with self._lock:
            old = self.state(api_id)
            await self._commit(old, replace(old, api=replace(old.api, cors=None)))

    async def delete_api(self, api_id: str) -> None:
        async with self._lock:
            self.state(api_id)
            prefix = f"{api_id}/"
            await self._store.change_resources(deletes=[(KIND_API, api_id)],
                                               delete_prefixes=[(kind, prefix) for kind in CHILD_KINDS])  # fmt: skip
            del self._apis[api_id]

    @staticmethod
    def _cors(body: Mapping[str, object]) -> UrlCors | None:
        value = body.get("corsConfiguration")
        if value is None:
            return None
        if not isinstance(value, dict):
            raise BadRequest("Invalid input: CorsConfiguration must be an object")
        max_age = value.get("maxAge")
        if max_age is not None and (not isinstance(max_age, int) or not -1 <= max_age <= 86400):
            raise BadRequest("Invalid input: MaxAge must be between -1 and 86400")
        return cors_from(value)

    # -- routes -----------------------------------------------------------------------------------

    def _route_key(self, key: str) -> RouteKey:
        try:
            return parse_route_key(key)
        except InvalidRouteKey as exc:
            raise BadRequest(str(exc)) from None

    def _target(self, state: ApiState, body: Mapping[str, object]) -> str | None:
        target = string(body, "target", max_len=128)
        if target is None:
            return None
        integration_id = target.removeprefix("integrations/")
        if not target.startswith("integrations/") or integration_id not in state.integrations:
            raise BadRequest(f"Invalid target specified: {target}. Targets must be of the form "
                             "integrations/<integration-id> and name an integration of this API.")  # fmt: skip
        return target

    async def create_route(self, api_id: str, body: Mapping[str, object]) -> Route:
        async with self._lock:
            old = self.state(api_id)
            key = string(body, "routeKey", required=True)
            assert key is not None
            self._route_key(key)
            if any(r.route_key == key for r in old.routes.values()):
                raise Conflict(f"Unable to create route {key}. Route already exists for this API.")
            route = Route(new_id(), key, self._target(old, body), operation_name=string(body, "operationName", max_len=64))
            route = route_authorization(route, body, old.authorizers)
            await self._commit(old, self._auto_deploy(replace(old, routes={**old.routes, route.route_id: route})))
            return route

    async def update_route(self, api_id: str, route_id: str, body: Mapping[str, object]) -> Route:
        async with self._lock:
            old = self.state(api_id)
            route = route_authorization(self.route(api_id, route_id), body, old.authorizers)
            if "routeKey" in body:
                key = string(body, "routeKey", required=True)
                assert key is not None
                self._route_key(key)
                if any(r.route_key == key and r.route_id != route_id for r in old.routes.values()):
                    raise Conflict(f"Unable to update route to {key}. Route already exists for this API.")
                route = replace(route, route_key=key)
            if "target" in body:
                route = replace(route, target=self._target(old, body))
            if "operationName" in body:
                route = replace(route, operation_name=string(body, "operationName", max_len=64))
            await self._commit(old, self._auto_deploy(replace(old, routes={**old.routes, route_id: route})))
            return route

    async def delete_route(self, api_id: str, route_id: str) -> None:
        async with self._lock:
            old = self.state(api_id)
            self.route(api_id, route_id)
            routes = {k: v for k, v in old.routes.items() if k != route_id}
            await self._commit(old, self._auto_deploy(replace(old, routes=routes)))

    # -- integrations -----------------------------------------------------------------------------

    async def create_integration(self, api_id: str, body: Mapping[str, object]) -> Integration:
        async with self._lock:
            old = self.state(api_id)
            integration = uris.integration_from(None, body)
            new = replace(old, integrations={**old.integrations, integration.integration_id: integration})
            await self._commit(old, self._auto_deploy(new))
            return integration

    async def update_integration(self, api_id: str, integration_id: str, body: Mapping[str, object]) -> Integration:
        async with self._lock:
            old = self.state(api_id)
            integration = uris.integration_from(self.integration(api_id, integration_id), body)
            new = replace(old, integrations={**old.integrations, integration_id: integration})
            await self._commit(old, self._auto_deploy(new))
            return integration

    async def delete_integration(self, api_id: str, integration_id: str) -> None:
        async with self._lock:
            old = self.state(api_id)
            self.integration(api_id, integration_id)
            users = sorted(r.route_key for r in old.routes.values() if r.integration_id == integration_id)
            if users:
                raise Conflict(f"Unable to delete integration {integration_id}: routes {', '.join(users)} target it")
            integrations = {k: v for k, v in old.integrations.items() if k != integration_id}
            await self._commit(old, self._auto_deploy(replace(old, integrations=integrations)))

    # -- stages and deployments -------------------------------------------------------------------

    def _snapshot(self, state: ApiState, auto: bool, description: str | None = None) -> Deployment:
        return Deployment(new_id(), iso(self._now()), auto, description, tuple(state.routes.values()),
                          tuple(state.integrations.values()), tuple(state.authorizers.values()))  # fmt: skip

    def _auto_deploy(self, state: ApiState, only: Iterable[str] | None = None) -> ApiState:
        """``state`` with a new deployment for each AutoDeploy stage (of ``only``, if given)."""
        names = set(only) if only is not None else None
        stages = dict(state.stages)
        deployments = dict(state.deployments)
        for name, stage in state.stages.items():
            if stage.auto_deploy and (names is None or name in names):
                deployment = self._snapshot(state, True)
                deployments[deployment.deployment_id] = deployment
                stages[name] = replace(stage, deployment_id=deployment.deployment_id, updated=deployment.created)
        # An automatic deployment no stage serves any more is dropped: they would pile up, one a change.
        served = {s.deployment_id for s in stages.values()}
        deployments = {k: d for k, d in deployments.items() if not d.auto_deployed or k in served}
        return replace(state, stages=stages, deployments=deployments)

    async def create_stage(self, api_id: str, body: Mapping[str, object]) -> Stage:
        async with self._lock:
            old = self.state(api_id)
            name = string(body, "stageName", required=True, max_len=128)
            assert name is not None
            if not _STAGE_NAME.match(name):
                raise BadRequest(f"Stage name {name} is invalid: use letters, digits, '-' and '_' (or $default)")
            if name in old.stages:
                raise Conflict(f"Stage {name} already exists")
            deployment_id = string(body, "deploymentId", max_len=64)
            if deployment_id is not None:
                self.deployment(api_id, deployment_id)
            created = iso(self._now())
            stage = Stage(name, created, created, body.get("autoDeploy") is True, deployment_id,
                          string(body, "description"), string_map(body, "stageVariables") or {},
                          tags=string_map(body, "tags") or {})  # fmt: skip
            new = self._auto_deploy(replace(old, stages={**old.stages, name: stage}), only=[name])
            await self._commit(old, new)
            return self._apis[api_id].stages[name]

    async def update_stage(self, api_id: str, name: str, body: Mapping[str, object]) -> Stage:
        async with self._lock:
            old = self.state(api_id)
            stage = self.stage(api_id, name)
            if "deploymentId" in body:
                deployment_id = string(body, "deploymentId", max_len=64)
                if deployment_id is not None:
                    self.deployment(api_id, deployment_id)
                stage = replace(stage, deployment_id=deployment_id)
            if "description" in body:
                stage = replace(stage, description=string(body, "description"))
            if "stageVariables" in body:
                variables = {**stage.stage_variables, **(string_map(body, "stageVariables") or {})}
                stage = replace(stage, stage_variables={k: v for k, v in variables.items() if v != ""})
            turned_on = "autoDeploy" in body and body.get("autoDeploy") is True and not stage.auto_deploy
            if "autoDeploy" in body:
                stage = replace(stage, auto_deploy=body.get("autoDeploy") is True)
            stage = replace(stage, updated=iso(self._now()))
            new = replace(old, stages={**old.stages, name: stage})
            if turned_on:
                new = self._auto_deploy(new, only=[name])
            await self._commit(old, new)
            return self._apis[api_id].stages[name]

    async def delete_stage(self, api_id: str, name: str) -> None:
        async with self._lock:
            old = self.state(api_id)
            self.stage(api_id, name)
            await self._commit(old, replace(old, stages={k: v for k, v in old.stages.items() if k != name}))

    async def create_deployment(self, api_id: str, body: Mapping[str, object]) -> Deployment:
        async with self._lock:
            old = self.state(api_id)
            stage_name = string(body, "stageName", max_len=128)
            stages = dict(old.stages)
            deployment = self._snapshot(old, False, string(body, "description"))
            if stage_name is not None:
                stage = self.stage(api_id, stage_name)
                if stage.auto_deploy:
                    raise BadRequest(f"Stage {stage_name} has AutoDeploy enabled: it is deployed on every change")
                stages[stage_name] = replace(stage, deployment_id=deployment.deployment_id, updated=deployment.created)
            new = replace(old, stages=stages, deployments={**old.deployments, deployment.deployment_id: deployment})
            await self._commit(old, new)
            return deployment

    async def delete_deployment(self, api_id: str, deployment_id: str) -> None:
        async with self._lock:
            old = self.state(api_id)
            self.deployment(api_id, deployment_id)
            if any(s.deployment_id == deployment_id for s in old.stages.values()):
                raise BadRequest("Active stages pointing to this deployment must be moved or deleted")
            deployments = {k: v for k, v in old.deployments.items() if k != deployment_id}
            await self._commit(old, replace(old, deployments=deployments))

    # -- tags -------------------------------------------------------------------------------------

    def _tagged(self, arn: str) -> tuple[str, str | None]:
        match = _TAGS_ARN.match(arn)
        if match is None or match["api"] not in self._apis:
            raise NotFound(f"Invalid resource ARN specified {arn}")
        if match["stage"] is not None:
            self.stage(match["api"], match["stage"])
        return match["api"], match["stage"]

    def tags(self, arn: str) -> Mapping[str, str]:
        api_id, stage = self._tagged(arn)
        state = self.state(api_id)
        return state.stages[stage].tags if stage is not None else state.api.tags

    async def change_tags(self, arn: str, add: Mapping[str, str], remove: Iterable[str] = ()) -> None:
        async with self._lock:
            api_id, stage_name = self._tagged(arn)
            old = self.state(api_id)
            current = old.stages[stage_name].tags if stage_name is not None else old.api.tags
            tags = {k: v for k, v in {**current, **add}.items() if k not in set(remove)}
            if stage_name is not None:
                new = replace(old, stages={**old.stages, stage_name: replace(old.stages[stage_name], tags=tags)})
            else:
                new = replace(old, api=replace(old.api, tags=tags))
            await self._commit(old, new)

    # -- writing ----------------------------------------------------------------------------------

    async def change(self, api_id: str, change: Callable[[ApiState], ApiState]) -> ApiState:
        """The API's state changed by ``change`` (pure; it may raise to refuse), auto-deployed to
        the stages that ask for it, written and made current; as every operation here, one at a time."""
        async with self._lock:
            old = self.state(api_id)
            await self._commit(old, self._auto_deploy(change(old)))
            return self._apis[api_id]

    async def _commit(self, old: ApiState | None, new: ApiState) -> None:
        """Write what changed between ``old`` and ``new`` in one transaction, then make ``new`` current."""
        api_id = new.api.api_id
        puts: list[Resource] = []
        deletes: list[tuple[str, str]] = []
        if old is None or old.api != new.api:
            puts.append(Resource(KIND_API, api_id, new.api.doc()))
        for kind, before, after, doc in (
            (KIND_ROUTE, old.routes if old else {}, new.routes, Route.wire),
            (KIND_INTEGRATION, old.integrations if old else {}, new.integrations, Integration.doc),
            (KIND_STAGE, old.stages if old else {}, new.stages, Stage.wire),
            (KIND_DEPLOYMENT, old.deployments if old else {}, new.deployments, Deployment.doc),
            (KIND_AUTHORIZER, old.authorizers if old else {}, new.authorizers, Authorizer.doc),
        ):
            _diff(kind, api_id, before, after, doc, puts, deletes)  # type: ignore[arg-type]
        if puts or deletes:
            await self._store.change_resources(puts, deletes)
        self._apis[api_id] = with_tables(new)


def _diff(kind: str, api_id: str, before: Mapping[str, T], after: Mapping[str, T],
          doc: Callable[[T], dict[str, object]], puts: list[Resource], deletes: list[tuple[str, str]]) -> None:  # fmt: skip
    for key, value in after.items():
        if before.get(key) != value:
            puts.append(Resource(kind, f"{api_id}/{key}", doc(value)))
    deletes.extend((kind, f"{api_id}/{key}") for key in before if key not in after)
