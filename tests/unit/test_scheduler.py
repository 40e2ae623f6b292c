"""The scheduler's warm pools, admission and provisioning, on environments of the fake provider."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from lamina.errors import TooManyRequests
from lamina.model import Code, FunctionConfig
from lamina.runtime.api import Invocation
from lamina.sandbox.fake import FakeEnvironment, FakeProvider
from lamina.sandbox.provider import EnvState
from lamina.scheduler.decisions import FunctionLimits
from lamina.scheduler.pool import Scheduler

FN = FunctionConfig("f", "python3.11", "app.handler", "role", Code("d", "s", 1), revision_id="r1")


def run(coro_fn):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_fn())


def scheduler(provider: FakeProvider, **kwargs: object) -> Scheduler:
    return Scheduler(provider, keep_alive=300, concurrency_limit=10, **kwargs)  # type: ignore[arg-type]


async def call(env: FakeEnvironment, payload: bytes) -> bytes:
    inv = Invocation("req", payload, 0, "arn")
    return (await env.invoke(inv, timeout_s=3)).result.body


def test_a_released_environment_is_reused_warm() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        env, failure = await sched.acquire(FN)
        assert failure is None and await call(env, b"1") == b"1"  # type: ignore[arg-type]
        sched.release(env, FN.generation)
        again, _ = await sched.acquire(FN)
        assert again is env and len(provider.created) == 1
        sched.release(again, FN.generation)
        await sched.close()
        assert env.stopped  # type: ignore[attr-defined]

    run(go)


def test_concurrent_invocations_get_environments_of_their_own() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        first, _ = await sched.acquire(FN)
        second, _ = await sched.acquire(FN)
        assert first is not second and sched.in_use == 2
        sched.release(first, FN.generation)
        sched.release(second, FN.generation)
        assert sched.in_use == 0
        await sched.close()

    run(go)


def test_new_code_retires_old_environments() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        env, _ = await sched.acquire(FN)
        sched.release(env, FN.generation)
        updated = replace(FN, revision_id="r2")
        fresh, _ = await sched.acquire(updated)
        assert fresh is not env and fresh.fn.generation == "r2"
        await asyncio.sleep(0.01)  # stopping is a task of the scheduler's
        assert env.stopped  # type: ignore[attr-defined]
        sched.release(fresh, updated.generation)
        await sched.close()

    run(go)


def test_an_environment_that_died_while_idle_is_not_handed_out() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        env, _ = await sched.acquire(FN)
        sched.release(env, FN.generation)
        env.crash()  # type: ignore[attr-defined]
        other, _ = await sched.acquire(FN)
        assert other is not env and other.state is EnvState.IDLE
        sched.release(other, FN.generation)
        await sched.close()

    run(go)


def test_init_failure_is_returned_and_not_pooled() -> None:
    async def go() -> None:
        provider = FakeProvider()
        provider.init_errors["f"] = "Runtime.ImportModuleError"
        sched = scheduler(provider)
        env, failure = await sched.acquire(FN)
        assert failure is not None and failure.error_type == "Runtime.ImportModuleError"
        sched.release(env, FN.generation)
        assert sched.in_use == 0 and env.state is EnvState.DEAD
        await sched.close()

    run(go)


def test_reserved_concurrency_caps_the_function() -> None:
    async def go() -> None:
        sched = scheduler(FakeProvider(), limits=lambda name: FunctionLimits(1, 0, 10))
        env, _ = await sched.acquire(FN)
        with pytest.raises(TooManyRequests) as refused:
            await sched.acquire(FN)
        assert refused.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
        sched.release(env, FN.generation)
        again, _ = await sched.acquire(FN)  # the slot came back
        sched.release(again, FN.generation)
        await sched.close()

    run(go)


def test_scale_up_rate_throttles_cold_starts() -> None:
    async def go() -> None:
        sched = scheduler(FakeProvider(), scale_up_limit=2, scale_window=60.0)
        held = [(await sched.acquire(FN))[0] for _ in range(2)]
        with pytest.raises(TooManyRequests) as refused:
            await sched.acquire(FN)
        assert refused.value.reason == "FunctionInvocationRateLimitExceeded"
        for env in held:
            sched.release(env, FN.generation)
        warm, _ = await sched.acquire(FN)  # a warm one needs no new environment
        sched.release(warm, FN.generation)
        await sched.close()

    run(go)


def test_provisioned_environments_are_started_ahead_and_taken_first() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        version = replace(FN, version="1")
        changed = asyncio.Event()
        sched.on_provisioned_change(changed.set)
        sched.provision({("f", "1"): (version, 2)})
        while sched.provisioned_state("f", "1").ready < 2:
            await changed.wait()
            changed.clear()
        assert all(env.provisioned for env in provider.created)
        env, failure = await sched.acquire(version)
        assert failure is None and env.provisioned and len(provider.created) == 2
        sched.release(env, version.generation)
        sched.provision({})  # no longer wanted: they stop
        await asyncio.sleep(0.01)
        assert all(env.stopped for env in provider.created)
        await sched.close()

    run(go)
