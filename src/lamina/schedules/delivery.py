"""Delivering a schedule's firing to its target, with the target's RetryPolicy and DeadLetterConfig.

A firing is handed to the durable asynchronous queue (``Invoker.invoke`` with ``Event``): from there
the function's own retries and destinations apply, as behind AWS's Scheduler. What this module
retries is the hand-over itself failing (the function is gone, the account is throttled, the queue
is full): again after ``retry_delay(attempts)``, until ``MaximumRetryAttempts`` retries or
``MaximumEventAgeInSeconds`` since the firing, whichever comes first; then, when the target has a
DeadLetterConfig, the input goes to the store's outbox for that SQS queue with the message
attributes Scheduler gives its dead letters. Retries wait on ``Timers`` and are kept in memory: a
restart drops the ones pending (the schedule's next firing still happens).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Sequence

from lamina.errors import ApiError
from lamina.schedules.firing import Timers
from lamina.schedules.model import Target
from lamina.store.base import DEAD_LETTER, OutboxMessage

log = logging.getLogger(__name__)

# Hands a payload to a function (name or ARN): raises ApiError when it cannot.
Invoke = Callable[[str, bytes], Awaitable[None]]
Outbox = Callable[[Sequence[OutboxMessage]], Awaitable[None]]  # Store.add_outbox

MAX_RETRY_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class Firing:
    schedule_arn: str
    target: Target
    nominal: datetime  # the schedule's time for it
    execution_id: str
    attempts: int = 0  # failed hand-overs so far


@dataclass(frozen=True)
class Once:
    """A one-off time, as a recurrence for ``Timers``."""

    at: datetime

    def next_after(self, t: datetime) -> datetime | None:
        return self.at if self.at > t else None


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after ``attempts`` failures: 1 s, 2 s, 4 s ... at most five minutes."""
    return min(MAX_RETRY_DELAY, timedelta(seconds=2 ** min(attempts - 1, 20)))


def exhausted(firing: Firing, now: datetime) -> str | None:
    """Which retry condition has run out for a firing that just failed (None: retry it)."""
    if firing.attempts > firing.target.max_retries:
        return "MaximumRetryAttempts"
    if now + retry_delay(firing.attempts) - firing.nominal > timedelta(seconds=firing.target.max_age_seconds):
        return "MaximumEventAgeInSeconds"
    return None


def dead_letter_attributes(firing: Firing, error: ApiError, condition: str) -> dict[str, dict[str, str]]:
    values = {
        "ERROR_CODE": error.code, "ERROR_MESSAGE": error.message, "EXECUTION_ID": firing.execution_id,
        "EXHAUSTED_RETRY_CONDITION": condition, "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": str(firing.attempts - 1), "SCHEDULED_TIME": firing.nominal.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SCHEDULE_ARN": firing.schedule_arn, "TARGET_ARN": firing.target.arn,
    }  # fmt: skip
    return {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}


class Delivery:
    """Hand-overs run on tasks of their own, owned here: one can wait (a function still Pending is
    waited for, up to a minute, by the invoker) without holding up the timers' task. ``close``
    lets those in progress finish for a while, then cancels them."""

    def __init__(self, invoke: Invoke, outbox: Outbox, timers: Timers) -> None:
        self._invoke = invoke
        self._outbox = outbox
        self._timers = timers
        self._running: set[asyncio.Task[None]] = set()

    def fire(self, schedule_arn: str, target: Target, nominal: datetime) -> None:
        """Start handing the firing over; returns at once."""
        self._start(Firing(schedule_arn, target, nominal, str(uuid.uuid4())))

    def _start(self, firing: Firing) -> None:
        task = asyncio.create_task(self._attempt(firing), name=f"lamina-schedule-delivery-{firing.execution_id}")
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a schedule's delivery failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until no hand-over is in progress."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def close(self, timeout: float) -> None:
        if self._running:
            await asyncio.wait(list(self._running), timeout=timeout)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _attempt(self, firing: Firing) -> None:
        try:
            await self._invoke(firing.target.arn, firing.target.payload)
            return
        except ApiError as exc:
            error = exc
        firing = replace(firing, attempts=firing.attempts + 1)
        now = self._timers.clock.now()
        condition = exhausted(firing, now)
        key = f"scheduler/retry/{firing.execution_id}"
        if condition is None:
            log.info("schedule %s: %s (%s); retrying", firing.schedule_arn, error.code, error.message)

            async def again(_: datetime) -> None:
                self._start(firing)

            self._timers.set(key, Once(now + retry_delay(firing.attempts)), again, after=now)
            return
        log.warning("schedule %s: giving up after %d attempts: %s (%s)", firing.schedule_arn, firing.attempts,
                    error.code, error.message)  # fmt: skip
        if firing.target.dead_letter_arn is not None:
            function = firing.target.arn.split(":")[6]
            await self._outbox([OutboxMessage(
                firing.target.dead_letter_arn, DEAD_LETTER, function, firing.execution_id, firing.target.payload,
                dead_letter_attributes(firing, error, condition), int(now.timestamp() * 1000),
            )])  # fmt: skip
