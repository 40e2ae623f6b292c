"""The invocation path (resolve, validate, acquire, run, release) with the real control plane on the
in-memory store and environments of the fake provider: no process, no HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lamina.control.changes import Changes, ConcurrencyChanged
from lamina.control.functions import FunctionService
from lamina.control.layers import LayerService
from lamina.errors import InvalidRequestContent, ResourceNotFound, TooManyRequests
from lamina.invoke.queue import AsyncQueue
from lamina.invoke.resolver import Resolver
from lamina.invoke.service import InvokeRequest, Invoker
from lamina.model import EventInvokeConfig, FunctionConfig
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.sandbox.fake import FakeProvider
from lamina.sandbox.provider import EnvState
from lamina.scheduler.decisions import FunctionLimits
from lamina.scheduler.pool import Scheduler
from lamina.settings import Settings
from lamina.store.code import CodeStore
from lamina.store.memory import MemoryStore
from lamina.store.overlay import LayerOverlays
from tests.conftest import ROLE, make_zip


@asynccontextmanager
async def lamina(tmp_path: Path, handler: Callable[[FunctionConfig, bytes], bytes],
                 limits: FunctionLimits | None = None,
                 settings: Settings | None = None,
                 ) -> AsyncIterator[tuple[Invoker, FakeProvider, FunctionService]]:  # fmt: skip
    settings = settings or Settings(data_dir=tmp_path)
    store = MemoryStore()
    code = CodeStore(tmp_path / "code", settings.limits)
    provider = FakeProvider(handler)
    scheduler = Scheduler(provider, keep_alive=300)
    changes = Changes()
    functions = FunctionService(store, code, RuntimeRegistry({}), settings, changes,
                                LayerService(store, settings), LayerOverlays(tmp_path / "merged", code))  # fmt: skip
    resolver = Resolver(functions, settings)
    changes.subscribe(scheduler.follow)
    changes.subscribe(resolver.follow)
    if limits is not None:
        await changes.publish(ConcurrencyChanged(limits))
    await functions.create({
        "FunctionName": "f", "Runtime": "python3.11", "Handler": "app.handler", "Role": ROLE,
        "Code": {"ZipFile": base64.b64encode(make_zip({"app.py": "def handler(e, c): pass"})).decode()},
    })  # fmt: skip
    await functions.wait_settled("f", timeout=10)
    invoker = Invoker(resolver, scheduler, settings)
    queue = AsyncQueue(store, invoker, NoConfigs(), settings)
    invoker.attach(queue)
    await queue.start()
    try:
        yield invoker, provider, functions
    finally:
        await queue.close()
        await scheduler.close()
        await functions.close()


class NoConfigs:
    """No function has an event-invoke configuration: AWS's defaults apply."""

    def event_invoke_config(self, function: str, qualifier: str = "$LATEST") -> EventInvokeConfig | None:
        return None


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_an_invocation_runs_in_an_environment_and_reuses_it(tmp_path: Path) -> None:
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: b'{"got": ' + event + b"}") as (invoker, provider, _):
            for n in range(3):
                result = await invoker.invoke(InvokeRequest("f", json.dumps(n).encode()))
                assert (result.status, json.loads(result.payload)) == (200, {"got": n})
                assert result.executed_version == "$LATEST" and result.function_error is None
            assert len(provider.created) == 1 and provider.created[0].invocations == 3

    run(go())


def test_an_answered_invocation_keeps_its_environment_until_its_invoke_phase_ends(tmp_path: Path) -> None:
    # As with extensions still at work after the runtime's result: the caller has the answer, the
    # environment is neither leased again nor counted free, and a drain waits for it.
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: event) as (invoker, provider, _):
            done = asyncio.Event()
            provider.lingering = done
            first = await invoker.invoke(InvokeRequest("f", b"1"))
            assert (first.status, first.payload) == (200, b"1")
            env = provider.created[0]
            assert env.state is EnvState.BUSY and not await invoker.drain(time.monotonic())
            assert (await invoker.invoke(InvokeRequest("f", b"2"))).payload == b"2"
            assert len(provider.created) == 2 and env.invocations == 1  # another environment ran it
            done.set()
            assert await invoker.drain(time.monotonic() + 5)
            assert env.state is EnvState.IDLE
            await invoker.invoke(InvokeRequest("f", b"3"))  # an idle one takes it: no third environment
            assert len(provider.created) == 2 and sum(e.invocations for e in provider.created) == 3

    run(go())


def test_new_configuration_runs_in_new_environments_and_the_old_ones_retire(tmp_path: Path) -> None:
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: str(fn.timeout_s).encode()) as (invoker, provider, functions):
            assert (await invoker.invoke(InvokeRequest("f", b"{}"))).payload == b"3"
            await functions.update_configuration("f", {"Timeout": 5})  # published: FunctionUpdated
            await asyncio.sleep(0.01)  # stopping is a task of the scheduler's
            old = provider.created[0]
            assert old.stopped
            assert (await invoker.invoke(InvokeRequest("f", b"{}"))).payload == b"5"
            assert (await invoker.invoke(InvokeRequest("f", b"{}"))).payload == b"5"
            assert len(provider.created) == 2 and provider.created[1].invocations == 2
            await functions.delete("f")  # published: FunctionDeleted
            await asyncio.sleep(0.01)
            assert provider.created[1].stopped

    run(go())


def test_a_function_error_is_a_result_not_an_exception(tmp_path: Path) -> None:
    def fail(fn: FunctionConfig, event: bytes) -> bytes:
        raise ValueError("bad input")

    async def go() -> None:
        async with lamina(tmp_path, fail) as (invoker, _, _):
            result = await invoker.invoke(InvokeRequest("f", b"{}"))
            assert result.status == 200 and result.function_error == "Unhandled"
            assert json.loads(result.payload)["errorMessage"] == "bad input"

    run(go())


def test_bad_requests_are_refused_before_an_environment_is_taken(tmp_path: Path) -> None:
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: event) as (invoker, provider, _):
            with pytest.raises(InvalidRequestContent):
                await invoker.invoke(InvokeRequest("f", b"{not json"))
            with pytest.raises(ResourceNotFound):
                await invoker.invoke(InvokeRequest("nobody", b"{}"))
            assert provider.created == []

    run(go())


def test_a_throttled_invocation_runs_nothing(tmp_path: Path) -> None:
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: event, limits=FunctionLimits(0, 0, 10)) as (
            invoker, provider, _,
        ):  # fmt: skip
            with pytest.raises(TooManyRequests):
                await invoker.invoke(InvokeRequest("f", b"{}"))
            assert provider.created == []

    run(go())


def test_an_event_is_delivered_and_a_failing_one_retried(tmp_path: Path) -> None:
    seen: list[bytes] = []
    delivered = asyncio.Event()

    def handler(fn: FunctionConfig, event: bytes) -> bytes:
        seen.append(event)
        if len(seen) == 4:  # the good event once, the bad one three times (two retries, as on Lambda)
            delivered.set()
        if event == b'"bad"':
            raise RuntimeError("bad event")
        return b"null"

    async def go() -> None:
        settings = Settings(data_dir=tmp_path, async_retry_delays=(0.01,))
        async with lamina(tmp_path, handler, settings=settings) as (invoker, provider, _):
            for payload in (b'"good"', b'"bad"'):
                result = await invoker.invoke(InvokeRequest("f", payload, invocation_type="Event"))
                assert result.status == 202
            await asyncio.wait_for(delivered.wait(), 10)
            assert sorted(seen) == [b'"bad"'] * 3 + [b'"good"']

    run(go())


def test_an_arn_of_another_account_or_region_is_never_the_local_function(tmp_path: Path) -> None:
    async def go() -> None:
        async with lamina(tmp_path, lambda fn, event: b'"ran"') as (invoker, provider, _):
            own = Settings(data_dir=tmp_path).function_arn("f")
            assert (await invoker.invoke(InvokeRequest(own, b"{}"))).payload == b'"ran"'
            assert (await invoker.invoke(InvokeRequest(own.split(":", 4)[4], b"{}"))).payload == b'"ran"'  # partial
            for foreign in (own.replace(":000000000000:", ":999999999999:"), "999999999999:function:f",
                            "999999999999:function:f:$LATEST", own.replace("us-east-1", "eu-west-1")):  # fmt: skip
                with pytest.raises(ResourceNotFound):
                    await invoker.invoke(InvokeRequest(foreign, b"{}"))
            assert sum(env.invocations for env in provider.created) == 2

    run(go())
