"""The scheduler's warm pools, admission and provisioning, on environments of the fake provider."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from lamina.control.changes import FunctionDeleted, FunctionUpdated, VersionDeleted
from lamina.errors import TooManyRequests
from lamina.invoke.target import Target
from lamina.model import Code, FunctionConfig
from lamina.sandbox.fake import FakeEnvironment, FakeProvider
from lamina.sandbox.provider import EnvState
from lamina.scheduler.decisions import FunctionLimits
from lamina.scheduler.pool import Scheduler

FN = FunctionConfig("f", "python3.11", "app.handler", "role", Code("d", "s", 1), revision_id="r1")


def run(coro_fn):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_fn())


def scheduler(provider: FakeProvider, **kwargs: object) -> Scheduler:
    return Scheduler(provider, keep_alive=300, **kwargs)  # type: ignore[arg-type]


def target(fn: FunctionConfig, limits: FunctionLimits = FunctionLimits(None, 0, 10)) -> Target:
    return Target(fn, None, f"arn:{fn.name}", limits)


async def call(env: FakeEnvironment, payload: bytes) -> bytes:
    return (await env.invoke("req", payload, function_arn="arn", timeout_s=3)).result.body


def test_a_released_environment_is_reused_warm() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        env, failure = await sched.acquire(target(FN))
        assert failure is None and await call(env, b"1") == b"1"  # type: ignore[arg-type]
        sched.release(env)
        again, _ = await sched.acquire(target(FN))
        assert again is env and len(provider.created) == 1
        sched.release(again)
        await sched.close()
        assert env.stopped  # type: ignore[attr-defined]

    run(go)


def test_concurrent_invocations_get_environments_of_their_own() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        first, _ = await sched.acquire(target(FN))
        second, _ = await sched.acquire(target(FN))
        assert first is not second and sched.in_use == 2
        sched.release(first)
        sched.release(second)
        assert sched.in_use == 0
        await sched.close()

    run(go)


def test_new_code_retires_old_environments() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        idle, _ = await sched.acquire(target(FN))
        busy, _ = await sched.acquire(target(FN))
        sched.release(idle)
        updated = replace(FN, revision_id="r2")
        sched.follow(FunctionUpdated("f", "$LATEST", updated.generation))
        await asyncio.sleep(0.01)  # stopping is a task of the scheduler's
        assert idle.stopped and not busy.stopped  # type: ignore[attr-defined]
        sched.release(busy)  # of the old generation: stopped, not pooled
        await asyncio.sleep(0.01)
        assert busy.stopped  # type: ignore[attr-defined]
        fresh, _ = await sched.acquire(target(updated))
        assert fresh not in (idle, busy) and fresh.fn.generation == "r2"
        sched.release(fresh)
        again, _ = await sched.acquire(target(updated))
        assert again is fresh  # the new generation is pooled
        sched.release(again)
        await sched.close()

    run(go)


def test_a_deleted_function_or_version_takes_its_environments() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        version = replace(FN, version="1")
        latest, _ = await sched.acquire(target(FN))
        one, _ = await sched.acquire(target(version))
        sched.release(latest)
        sched.follow(VersionDeleted("f", "1"))
        sched.release(one)  # busy when its version was deleted: stopped once released
        await asyncio.sleep(0.01)
        assert one.stopped and not latest.stopped  # type: ignore[attr-defined]
        sched.follow(FunctionDeleted("f"))
        await asyncio.sleep(0.01)
        assert latest.stopped  # type: ignore[attr-defined]
        await sched.close()

    run(go)


def test_an_environment_that_died_while_idle_is_not_handed_out() -> None:
    async def go() -> None:
        provider = FakeProvider()
        sched = scheduler(provider)
        env, _ = await sched.acquire(target(FN))
        sched.release(env)
        env.crash()  # type: ignore[attr-defined]
        other, _ = await sched.acquire(target(FN))
        assert other is not env and other.state is EnvState.IDLE
        sched.release(other)
        await sched.close()

    run(go)


def test_init_failure_is_returned_and_not_pooled() -> None:
    async def go() -> None:
        provider = FakeProvider()
        provider.init_errors["f"] = "Runtime.ImportModuleError"
        sched = scheduler(provider)
        env, failure = await sched.acquire(target(FN))
        assert failure is not None and failure.error_type == "Runtime.ImportModuleError"
        sched.release(env)
        assert sched.in_use == 0 and env.state is EnvState.DEAD
        await sched.close()

    run(go)


def test_reserved_concurrency_caps_the_function() -> None:
    async def go() -> None:
        sched = scheduler(FakeProvider())
        reserved = target(FN, FunctionLimits(1, 0, 10))
        env, _ = await sched.acquire(reserved)
        with pytest.raises(TooManyRequests) as refused:
            await sched.acquire(reserved)
        assert refused.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
        sched.release(env)
        again, _ = await sched.acquire(reserved)  # the slot came back
        sched.release(again)
        await sched.close()

    run(go)


def test_scale_up_rate_throttles_cold_starts() -> None:
    async def go() -> None:
        sched = scheduler(FakeProvider(), scale_up_limit=2, scale_window=60.0)
        held = [(await sched.acquire(target(FN)))[0] for _ in range(2)]
        with pytest.raises(TooManyRequests) as refused:
            await sched.acquire(target(FN))
        assert refused.value.reason == "FunctionInvocationRateLimitExceeded"
        for env in held:
            sched.release(env)
        warm, _ = await sched.acquire(target(FN))  # a warm one needs no new environment
        sched.release(warm)
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
        env, failure = await sched.acquire(target(version))
        assert failure is None and env.provisioned and len(provider.created) == 2
        sched.release(env)
        sched.provision({})  # no longer wanted: they stop
        await asyncio.sleep(0.01)
        assert all(env.stopped for env in provider.created)
        await sched.close()

    run(go)
