"""Pacing of asynchronous attempts: fewer on the event loop while events are being accepted."""

from __future__ import annotations

import asyncio

from lamina.invoke.pacing import ActiveAttempts, Slot


def test_fewer_attempts_are_active_while_events_are_accepted() -> None:
    now = [100.0]

    async def scenario() -> None:
        pacing = ActiveAttempts(while_accepting=2, most=4, quiet_s=0.05, park_after_s=60, clock=lambda: now[0])
        held = [await pacing.acquire() for _ in range(4)]  # nothing accepted lately: up to `most`
        assert pacing.limit() == 4
        waiter = asyncio.create_task(pacing.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()

        pacing.accepted()
        assert pacing.limit() == 2
        for slot in held[:2]:
            slot.release()
        await asyncio.sleep(0)
        assert not waiter.done()  # 2 still active, and 2 is the limit while accepting
        held[2].release()
        held[2].release()  # a slot is given back once
        slot = await asyncio.wait_for(waiter, 1)  # 1 active: room for one more

        now[0] += 0.1  # the flood is over: room up to `most` again
        assert pacing.limit() == 4
        more = [await asyncio.wait_for(pacing.acquire(), 1) for _ in range(2)]
        for s in (held[3], slot, *more):
            s.release()

    asyncio.run(scenario())


def test_an_attempt_that_takes_its_time_stops_counting() -> None:
    async def scenario() -> None:
        pacing = ActiveAttempts(while_accepting=1, most=1, park_after_s=0.05)
        slow: Slot = await pacing.acquire()
        second = await asyncio.wait_for(pacing.acquire(), 2)  # the first parked after 50 ms
        slow.release()  # its end gives nothing back twice
        third = asyncio.create_task(pacing.acquire())
        await asyncio.sleep(0.01)
        assert not third.done()
        second.release()
        (await asyncio.wait_for(third, 1)).release()

    asyncio.run(scenario())
