"""What the control plane keeps of one HTTP API (``ApiState``, immutable: a request being served
sees one state or the next) and what each of its stages serves (``Table``, derived from the
stage's deployment when the state is made)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from lamina.gateway.http.authorizers import Guard, guards
from lamina.gateway.http.model import Api, Authorizer, Deployment, Integration, Route, Stage
from lamina.gateway.http.routing import RouteKey, parse_route_key


@dataclass(frozen=True)
class Table:
    """What one stage serves: its deployment's routes, parsed, and their integrations."""

    routes: tuple[RouteKey, ...]
    targets: Mapping[str, Integration]  # by route key, for routes that have an integration
    stage: Stage
    resources: Mapping[str, str]  # each route key's path ("/pets/{id}", "$default")
    guards: Mapping[str, Guard] = field(default_factory=dict)  # by route key, for routes with authorization


@dataclass(frozen=True)
class ApiState:
    api: Api
    routes: Mapping[str, Route] = field(default_factory=dict)
    integrations: Mapping[str, Integration] = field(default_factory=dict)
    stages: Mapping[str, Stage] = field(default_factory=dict)
    deployments: Mapping[str, Deployment] = field(default_factory=dict)
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)
    tables: Mapping[str, Table] = field(default_factory=dict)  # by stage name, derived


def table(state: ApiState, stage: Stage) -> Table | None:
    deployment = state.deployments.get(stage.deployment_id or "")
    if deployment is None:
        return None
    by_id = {i.integration_id: i for i in deployment.integrations}
    keys = tuple(parse_route_key(r.route_key) for r in deployment.routes)
    targets = {r.route_key: by_id[r.integration_id] for r in deployment.routes if r.integration_id in by_id}
    return Table(keys, targets, stage, {k.key: k.resource for k in keys},
                 guards(deployment.routes, deployment.authorizers))  # fmt: skip


def with_tables(state: ApiState) -> ApiState:
    tables = {name: t for name, stage in state.stages.items() if (t := table(state, stage)) is not None}
    return replace(state, tables=tables)
