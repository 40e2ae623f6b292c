"""lamina/tasks.py: waiting on an event never swallows a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from lamina.tasks import wait_set


def test_wait_set_says_whether_the_event_was_set() -> None:
    async def scenario() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_set(event, 0.01)
        event.set()
        return timed_out, await wait_set(event, 10)

    assert asyncio.run(scenario()) == (False, True)


def test_a_loop_on_wait_set_ends_when_cancelled_as_its_event_is_set() -> None:
    """The race that hung a server's shutdown with ``asyncio.wait_for`` on Python 3.11: the event
    is set and the task cancelled in the same turn of the loop."""

    async def scenario() -> int:
        event = asyncio.Event()
        rounds = 0

        async def loop_forever() -> None:
            nonlocal rounds
            while True:
                await wait_set(event, 60)
                event.clear()
                rounds += 1

        task = asyncio.create_task(loop_forever())
        await asyncio.sleep(0)  # the task is parked on the event
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        return rounds

    assert asyncio.run(scenario()) == 0
