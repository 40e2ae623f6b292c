"""The HTTP API control plane over the in-memory store: write-through, reload, automatic
deployments, and nothing half-made when the store refuses a write."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, Sequence

import pytest

from lamina.gateway.http.control import KIND_DEPLOYMENT, HttpApis
from lamina.gateway.http.errors import BadRequest, Conflict, NotFound
from lamina.store.base import Resource
from lamina.store.memory import MemoryStore

FN = "arn:aws:lambda:us-east-1:000000000000:function:hello"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def apis(store: MemoryStore) -> HttpApis:
    return HttpApis(store, region="us-east-1", account_id="000000000000", port=9000, now=lambda: NOW)


class FailingStore(MemoryStore):
    fail = False

    async def change_resources(self, puts: Sequence[Resource] = (), deletes: Sequence[tuple[str, str]] = (),
                               delete_prefixes: Sequence[tuple[str, str]] = ()) -> None:  # fmt: skip
        if self.fail:
            raise OSError("disk full")
        await super().change_resources(puts, deletes, delete_prefixes)


def test_quick_create_is_stored_and_reloaded() -> None:
    async def go() -> None:
        store = MemoryStore()
        first = apis(store)
        state = await first.create_api({"name": "a", "protocolType": "HTTP", "target": FN, "routeKey": "GET /x"})
        api_id = state.api.api_id
        assert first.endpoint(api_id) == f"http://{api_id}.execute-api.localhost:9000"
        assert state.api.created == "2026-01-02T03:04:05Z"
        [route] = state.routes.values()
        assert route.route_key == "GET /x" and route.managed
        assert state.tables["$default"].targets["GET /x"].function_arn == FN
        second = apis(store)
        await second.load()
        again = second.find(api_id)
        assert again is not None and again == state
        await second.delete_api(api_id)
        for kind in ("apigatewayv2/api", "apigatewayv2/route", "apigatewayv2/integration", "apigatewayv2/stage",
                     KIND_DEPLOYMENT):  # fmt: skip
            assert await store.list_resources(kind) == []

    run(go())


def test_automatic_deployments_do_not_pile_up_and_manual_ones_stay() -> None:
    async def go() -> None:
        store = MemoryStore()
        control = apis(store)
        api_id = (await control.create_api({"name": "a", "protocolType": "HTTP", "target": FN})).api.api_id
        for i in range(5):
            await control.create_route(api_id, {"routeKey": f"GET /r{i}"})
        state = control.state(api_id)
        assert len(state.deployments) == 1 and len(await store.list_resources(KIND_DEPLOYMENT)) == 1
        await control.create_stage(api_id, {"stageName": "prod"})
        manual = await control.create_deployment(api_id, {"stageName": "prod"})
        await control.create_route(api_id, {"routeKey": "GET /later"})
        state = control.state(api_id)
        assert manual.deployment_id in state.deployments and len(state.deployments) == 2
        assert "GET /later" not in {r.key for r in state.tables["prod"].routes}
        assert "GET /later" in {r.key for r in state.tables["$default"].routes}

    run(go())


def test_a_refused_write_changes_nothing() -> None:
    async def go() -> None:
        store = FailingStore()
        control = apis(store)
        api_id = (await control.create_api({"name": "a", "protocolType": "HTTP", "target": FN})).api.api_id
        before = control.state(api_id)
        store.fail = True
        with pytest.raises(OSError):
            await control.create_route(api_id, {"routeKey": "GET /x"})
        with pytest.raises(OSError):
            await control.create_api({"name": "b", "protocolType": "HTTP"})
        assert control.state(api_id) is before
        assert [a.api_id for a in control.apis({})[0]] == [api_id]

    run(go())


def test_errors_are_aws_shaped() -> None:
    async def go() -> None:
        control = apis(MemoryStore())
        with pytest.raises(NotFound, match="Invalid API identifier specified 000000000000:nope"):
            control.state("nope")
        with pytest.raises(BadRequest):
            await control.create_api({"name": "a", "protocolType": "WEBSOCKET"})
        with pytest.raises(BadRequest):
            await control.create_api({"protocolType": "HTTP"})
        api_id = (await control.create_api({"name": "a", "protocolType": "HTTP"})).api.api_id
        await control.create_route(api_id, {"routeKey": "ANY /{proxy+}"})
        with pytest.raises(Conflict):
            await control.create_route(api_id, {"routeKey": "ANY /{proxy+}"})
        with pytest.raises(BadRequest):
            await control.create_route(api_id, {"routeKey": "GET /x", "authorizationType": "JWT"})
        with pytest.raises(BadRequest):
            control.apis({"maxResults": "0"})

    run(go())


def test_paging_is_by_id_with_a_token() -> None:
    async def go() -> None:
        control = apis(MemoryStore())
        ids = sorted([(await control.create_api({"name": f"a{i}", "protocolType": "HTTP"})).api.api_id
                      for i in range(5)])  # fmt: skip
        page, token = control.apis({"maxResults": "2"})
        assert [a.api_id for a in page] == ids[:2] and token == ids[1]
        page, token = control.apis({"maxResults": "2", "nextToken": token})
        assert [a.api_id for a in page] == ids[2:4]
        page, token = control.apis({"nextToken": ids[3]})
        assert [a.api_id for a in page] == ids[4:] and token is None

    run(go())
