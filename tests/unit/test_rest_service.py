"""The REST API control plane against the in-memory store: what it writes is what it loads, deletes
cascade, deployments are snapshots, pages resume after a deleted item."""

from __future__ import annotations

import asyncio

import pytest

from lamina.gateway.rest.errors import BadRequest, Conflict, NotFound
from lamina.gateway.rest.patches import Patch
from lamina.gateway.rest.service import RestApiService
from lamina.settings import Settings
from lamina.store.memory import MemoryStore

FN = "arn:aws:lambda:us-east-1:000000000000:function:f"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"


async def _build(store: MemoryStore) -> tuple[RestApiService, str, str]:
    svc = RestApiService(store, Settings())
    api = await svc.create_api("a", None, ["image/png"], [], {"t": "1"}, {})
    users = await svc.create_resource(api.id, api.root_resource_id, "users")
    user = await svc.create_resource(api.id, users.id, "{id}")
    await svc.put_method(api.id, user.id, "get", "NONE", False, {})
    await svc.put_integration(api.id, user.id, "GET", "AWS_PROXY", URI, "POST", None, {})
    await svc.create_deployment(api.id, None, "prod", None, {"v": "1"})
    return svc, api.id, users.id


def test_what_is_written_is_loaded() -> None:
    async def run() -> None:
        store = MemoryStore()
        svc, api_id, _ = await _build(store)
        again = RestApiService(store, Settings())
        await again.load()
        assert again.api(api_id) == svc.api(api_id)
        old, new = svc.state(api_id), again.state(api_id)
        assert (new.resources, new.methods, new.deployments, new.stages) == (
            old.resources, old.methods, old.deployments, old.stages)
        await svc.delete_api(api_id)
        emptied = RestApiService(store, Settings())
        await emptied.load()
        assert emptied.find(api_id) is None
        for kind in ("restapi", "resource", "method", "deployment", "stage"):
            assert await store.list_resources(f"apigateway/{kind}") == [], kind

    asyncio.run(run())


def test_deployments_are_snapshots_and_deletes_cascade() -> None:
    async def run() -> None:
        svc, api_id, users_id = await _build(MemoryStore())
        state = svc.state(api_id)
        deployment = state.deployments[state.stages["prod"].deployment_id]
        await svc.delete_resource(api_id, users_id)
        assert [r.path for r in state.resources.values()] == ["/"] and not state.methods
        found = state.tree(deployment).match("/users/7")
        assert found is not None and found.value["GET"].function == FN and found.path_parameters == {"id": "7"}
        with pytest.raises(BadRequest, match="The REST API doesn't contain any methods"):
            await svc.create_deployment(api_id, None, "prod", None, {})
        with pytest.raises(BadRequest, match="Active stages"):
            await svc.delete_deployment(api_id, deployment.id)

    asyncio.run(run())


def test_control_plane_refusals() -> None:
    async def run() -> None:
        svc, api_id, users_id = await _build(MemoryStore())
        root = svc.api(api_id).root_resource_id
        with pytest.raises(Conflict):
            await svc.create_resource(api_id, root, "users")
        greedy = await svc.create_resource(api_id, root, "{proxy+}")
        with pytest.raises(BadRequest, match="greedy path variable: {proxy\\+}"):
            await svc.create_resource(api_id, greedy.id, "x")
        with pytest.raises(BadRequest, match="A sibling \\({proxy\\+}\\)"):
            await svc.create_resource(api_id, root, "{other}")
        with pytest.raises(BadRequest, match="Cannot delete root resource"):
            await svc.delete_resource(api_id, root)
        with pytest.raises(NotFound, match="Invalid API identifier specified 000000000000:nope"):
            svc.api("nope")
        with pytest.raises(BadRequest, match="Stage variable names"):
            await svc.update_stage(api_id, "prod", [Patch("replace", "/variables/bad-name", "x")])
        with pytest.raises(BadRequest, match="Invalid patch path  '/nope'"):
            await svc.update_api(api_id, [Patch("replace", "/nope", "x")])

    asyncio.run(run())


def test_pages_resume_after_a_deleted_item() -> None:
    async def run() -> None:
        svc = RestApiService(MemoryStore(), Settings())
        ids = sorted([(await svc.create_api(f"a{i}", None, [], [], {}, {})).id for i in range(5)])
        first, position = svc.apis(None, 2)
        assert [a.id for a in first] == ids[:2] and position == ids[1]
        await svc.delete_api(ids[1])
        rest, position = svc.apis(position, 10)
        assert [a.id for a in rest] == ids[2:] and position is None

    asyncio.run(run())
