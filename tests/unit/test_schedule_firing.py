"""The firing loop with a fake clock and a fake hand-over: timers, schedules firing into their
targets, the missed-firings policy at start, retries and dead letters."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from lamina.errors import ResourceNotFound, TooManyRequests
from lamina.schedules.clock import FakeClock
from lamina.schedules.delivery import Delivery, Firing, exhausted, retry_delay
from lamina.schedules.expressions import parse
from lamina.schedules.firing import Timers, flexible_offset, resume_after
from lamina.schedules.model import SCHEDULE_KIND, Target
from lamina.schedules.service import SchedulerService
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.memory import MemoryStore

UTC = timezone.utc
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FN = "arn:aws:lambda:us-east-1:000000000000:function:tick"
ROLE = "arn:aws:iam::000000000000:role/scheduler"
DLQ = "arn:aws:sqs:us-east-1:000000000000:schedule-dlq"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 20))


class Recorder:
    """A fake hand-over: records what it is given, or fails as told."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[datetime, str, Any]] = []
        self.fail_with: Exception | None = None

    async def __call__(self, function: str, payload: bytes) -> None:
        if self.fail_with is not None:
            self.calls.append((self.clock.now(), function, "failed"))
            raise self.fail_with
        self.calls.append((self.clock.now(), function, json.loads(payload)))


async def step(clock: FakeClock, timers: Timers, until: datetime, by: timedelta = timedelta(seconds=10),
               svc: SchedulerService | None = None) -> None:  # fmt: skip
    """Move the fake clock to ``until`` in steps, letting the timers' task (and the service's
    hand-overs) catch up at each."""

    async def settle() -> None:
        await timers.idle()
        if svc is not None:
            await svc.idle()
            await timers.idle()

    await settle()
    while clock.now() < until:
        clock.set(min(until, clock.now() + by))
        await settle()


def body(expression: str, **extra: Any) -> dict[str, Any]:
    target = {"Arn": FN, "RoleArn": ROLE, **extra.pop("target", {})}
    return {"ScheduleExpression": expression, "Target": target, "FlexibleTimeWindow": {"Mode": "OFF"}, **extra}


async def service(store: MemoryStore, clock: FakeClock) -> tuple[SchedulerService, Timers, Recorder]:
    timers = Timers(clock)
    recorder = Recorder(clock)
    svc = SchedulerService(store, Settings(), timers, Delivery(recorder, store.add_outbox, timers))
    await svc.load()
    await timers.start()
    return svc, timers, recorder


def test_timers_fire_in_order_and_stop_when_cancelled() -> None:
    async def scenario() -> None:
        clock = FakeClock(T0)
        timers = Timers(clock)
        fired: list[tuple[str, datetime]] = []

        def note(name: str) -> Callable[[datetime], Awaitable[None]]:
            async def callback(nominal: datetime) -> None:
                fired.append((name, nominal))
            return callback

        await timers.start()
        timers.set("a", parse("rate(2 minutes)", start=T0 + timedelta(minutes=1)), note("a"))
        timers.set("b", parse("cron(0/3 * * * ? *)"), note("b"))
        await step(clock, timers, T0 + timedelta(minutes=6))
        timers.cancel("a")
        await step(clock, timers, T0 + timedelta(minutes=10))
        await timers.close()
        minute = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
        assert [t for _, t in fired] == sorted(t for _, t in fired)
        assert sorted(fired, key=lambda f: (f[1], f[0])) == [
            ("a", minute(1)), ("a", minute(3)), ("b", minute(3)), ("a", minute(5)), ("b", minute(6)), ("b", minute(9))]

    run(scenario)


def test_a_late_timer_fires_once_not_a_burst() -> None:
    async def scenario() -> None:
        clock = FakeClock(T0)
        timers = Timers(clock)
        fired: list[datetime] = []

        async def callback(nominal: datetime) -> None:
            fired.append(nominal)

        timers.set("a", parse("rate(1 minute)", start=T0), callback, after=T0 - timedelta(seconds=1))
        clock.set(T0 + timedelta(hours=1, seconds=30))  # the host slept for an hour
        await timers.start()
        await timers.idle()
        assert fired == [T0]
        assert timers.next_firing("a") == T0 + timedelta(hours=1, minutes=1)
        await timers.close()

    run(scenario)


def test_flexible_offset_is_within_the_window_and_deterministic() -> None:
    window = timedelta(minutes=15)
    offsets = {flexible_offset("k", T0 + timedelta(minutes=i), window) for i in range(50)}
    assert all(timedelta(0) <= o < window for o in offsets)
    assert len(offsets) > 10  # spread, not one value
    assert flexible_offset("k", T0, window) == flexible_offset("k", T0, window)
    assert flexible_offset("k", T0, timedelta(0)) == timedelta(0)


def test_resume_after_keeps_the_grace_period_only() -> None:
    grace = timedelta(minutes=5)
    assert resume_after(T0, T0 + timedelta(minutes=3), grace) == T0
    assert resume_after(T0, T0 + timedelta(hours=3), grace) == T0 + timedelta(hours=3) - grace


def test_a_schedule_fires_its_input_verbatim_and_records_the_firing() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, recorder = await service(store, clock)
        await svc.create("with-input", body("rate(1 minute)", StartDate=(T0 + timedelta(seconds=30)).timestamp(),
                                           target={"Input": '{"n": 1, "s": "x"}'}))  # fmt: skip
        await svc.create("without", body("cron(0/2 * * * ? *)"))
        await step(clock, timers, T0 + timedelta(minutes=2, seconds=40), svc=svc)
        await timers.close()
        assert [(t - T0, p) for t, _, p in recorder.calls] == [
            (timedelta(seconds=30), {"n": 1, "s": "x"}), (timedelta(seconds=90), {"n": 1, "s": "x"}),
            (timedelta(minutes=2), {}), (timedelta(seconds=150), {"n": 1, "s": "x"}),
        ]  # fmt: skip
        stored = {r.key: r.doc for r in await store.list_resources(SCHEDULE_KIND)}
        assert stored["default/with-input"]["LastFiring"] == (T0 + timedelta(seconds=150)).timestamp()
        assert stored["default/without"]["LastFiring"] == (T0 + timedelta(minutes=2)).timestamp()

    run(scenario)


def test_disabled_and_ended_schedules_do_not_fire() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, recorder = await service(store, clock)
        await svc.create("off", body("rate(1 minute)", State="DISABLED"))
        await svc.create("ends", body("rate(1 minute)", StartDate=T0.timestamp(),
                                      EndDate=(T0 + timedelta(minutes=2)).timestamp()))  # fmt: skip
        await step(clock, timers, T0 + timedelta(minutes=5), svc=svc)
        await timers.close()
        assert [t - T0 for t, _, _ in recorder.calls] == [timedelta(0), timedelta(minutes=1)]

    run(scenario)


def test_a_one_time_schedule_deleted_after_completion() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, recorder = await service(store, clock)
        await svc.create("once", body("at(2026-06-01T08:05:00)", ScheduleExpressionTimezone="America/New_York",
                                      ActionAfterCompletion="DELETE"))  # fmt: skip
        await svc.create("kept", body("at(2026-06-01T12:05:00)"))
        await step(clock, timers, T0 + timedelta(minutes=10), svc=svc)
        await timers.close()
        assert [t - T0 for t, _, _ in recorder.calls] == [timedelta(minutes=5), timedelta(minutes=5)]
        assert [r.name for r in svc.list(None, None, None)] == ["kept"]
        assert [r.key for r in await store.list_resources(SCHEDULE_KIND)] == ["default/kept"]

    run(scenario)


def test_restart_fires_a_recently_missed_firing_once_and_skips_old_ones() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        clock = FakeClock(T0)
        svc, timers, recorder = await service(store, clock)
        await svc.create("every-minute", body("rate(1 minute)", StartDate=T0.timestamp()))
        await svc.create("hourly", body("cron(0 * * * ? *)"))
        await step(clock, timers, T0 + timedelta(seconds=30), svc=svc)
        await timers.close()
        assert len(recorder.calls) == 1  # every-minute, at T0

        # Down for three minutes: every-minute missed three firings; one fires at start, not three.
        clock = FakeClock(T0 + timedelta(minutes=3, seconds=30))
        svc, timers, recorder = await service(store, clock)
        await timers.idle()
        await svc.idle()
        assert [(t, p) for t, _, p in recorder.calls] == [(clock.now(), {})]
        assert svc.next_firing(svc.get("every-minute", None)) == T0 + timedelta(minutes=4)
        await timers.close()

        # Down for two hours: hourly's missed firings are past the grace and none fires now;
        # every-minute missed some within the grace, and fires once.
        clock = FakeClock(T0 + timedelta(hours=2, minutes=30))
        svc, timers, recorder = await service(store, clock)
        await timers.idle()
        await svc.idle()
        assert [t for t, _, _ in recorder.calls] == [clock.now()]
        assert svc.get("every-minute", None).last_firing == T0 + timedelta(hours=2, minutes=26)
        assert svc.next_firing(svc.get("hourly", None)) == T0 + timedelta(hours=3)
        await timers.close()

    run(scenario)


def test_restart_does_not_repeat_a_firing_taken() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        clock = FakeClock(T0)
        svc, timers, recorder = await service(store, clock)
        await svc.create("hourly", body("cron(0 * * * ? *)"))
        await step(clock, timers, T0 + timedelta(hours=1, seconds=20), svc=svc)
        await timers.close()
        assert len(recorder.calls) == 1
        svc, timers, recorder = await service(store, FakeClock(T0 + timedelta(hours=1, seconds=40)))
        await timers.idle()
        await svc.idle()
        assert recorder.calls == []
        await timers.close()

    run(scenario)


def test_a_failed_hand_over_is_retried_then_dead_lettered() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, recorder = await service(store, clock)
        recorder.fail_with = ResourceNotFound("Function not found: " + FN)
        await svc.create("doomed", body("at(2026-06-01T12:01:00)", target={
            "Input": '{"k": "v"}', "RetryPolicy": {"MaximumRetryAttempts": 2}, "DeadLetterConfig": {"Arn": DLQ}}))
        await step(clock, timers, T0 + timedelta(minutes=5), by=timedelta(seconds=1), svc=svc)
        await timers.close()
        assert [t - T0 for t, _, _ in recorder.calls] == [
            timedelta(minutes=1), timedelta(minutes=1, seconds=1), timedelta(minutes=1, seconds=3)]  # fmt: skip
        (letter,) = await store.list_outbox(DLQ, 0, 10)
        assert letter.body == b'{"k": "v"}' and letter.kind == "dead-letter" and letter.function == "tick"
        attributes = {k: v["StringValue"] for k, v in letter.attributes.items()}
        assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
        assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
        assert attributes["RETRY_ATTEMPTS"] == "2"
        assert attributes["SCHEDULE_ARN"] == "arn:aws:scheduler:us-east-1:000000000000:schedule/default/doomed"
        assert attributes["TARGET_ARN"] == FN and attributes["SCHEDULED_TIME"] == "2026-06-01T12:01:00Z"

    run(scenario)


def test_a_throttled_hand_over_succeeds_on_retry() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, recorder = await service(store, clock)
        recorder.fail_with = TooManyRequests("Rate exceeded", reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        await svc.create("busy", body("at(2026-06-01T12:00:30)"))
        await step(clock, timers, T0 + timedelta(seconds=30), by=timedelta(seconds=1), svc=svc)
        recorder.fail_with = None
        await step(clock, timers, T0 + timedelta(minutes=1), by=timedelta(seconds=1), svc=svc)
        await timers.close()
        assert [p for _, _, p in recorder.calls] == ["failed", {}]
        assert await store.list_outbox(None, 0, 10) == []

    run(scenario)


def test_retry_policy_decisions() -> None:
    target = Target(FN, ROLE, max_retries=3, max_age_seconds=60)
    firing = Firing("arn", target, T0, "id", attempts=1)
    assert exhausted(firing, T0) is None
    assert exhausted(Firing("arn", target, T0, "id", attempts=4), T0) == "MaximumRetryAttempts"
    assert exhausted(firing, T0 + timedelta(seconds=58)) is None
    assert exhausted(firing, T0 + timedelta(seconds=60)) == "MaximumEventAgeInSeconds"
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 10, 100)] == [1, 2, 4, 300, 300]


def test_a_stored_schedule_that_no_longer_parses_is_skipped_not_fatal() -> None:
    async def scenario() -> None:
        clock, store = FakeClock(T0), MemoryStore()
        svc, timers, _ = await service(store, clock)
        await svc.create("good", body("rate(1 hour)"))
        await svc.create("zoned", body("rate(1 hour)", ScheduleExpressionTimezone="Europe/Paris"))
        await timers.close()
        (_, zoned) = sorted(await store.list_resources(SCHEDULE_KIND), key=lambda r: r.key)
        await store.change_resources([Resource(SCHEDULE_KIND, zoned.key, {**zoned.doc,
                                                                          "ScheduleExpressionTimezone": "Gone/Zone"})])
        svc, timers, _ = await service(store, clock)
        assert [r.name for r in svc.list(None, None, None)] == ["good"]
        await timers.close()

    run(scenario)
