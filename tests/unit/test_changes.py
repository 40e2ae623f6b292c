"""The change stream: every subscriber follows every change, in order, before ``publish`` returns."""

from __future__ import annotations

import asyncio

from lamina.control.changes import AliasChanged, Change, Changes, ConcurrencyChanged, FunctionDeleted
from lamina.scheduler.decisions import FunctionLimits


def test_subscribers_follow_each_change_in_order_synchronous_and_asynchronous_alike() -> None:
    seen: list[tuple[str, Change]] = []

    def first(change: Change) -> None:
        seen.append(("first", change))

    async def second(change: Change) -> None:
        await asyncio.sleep(0)  # a subscriber that writes to the store, say
        seen.append(("second", change))

    async def go() -> None:
        changes = Changes()
        changes.subscribe(first)
        changes.subscribe(second)
        deleted, moved = FunctionDeleted("f"), AliasChanged("f", "live", "2")
        await changes.publish(deleted)
        assert seen == [("first", deleted), ("second", deleted)]  # followed before publish returned
        await changes.publish(moved)
        assert seen[2:] == [("first", moved), ("second", moved)]

    asyncio.run(go())


def test_concurrency_changed_names_every_functions_limits() -> None:
    shared = FunctionLimits(None, 0, 900)
    change = ConcurrencyChanged(shared, {"reserved": FunctionLimits(100, 10, 900)})
    assert change.of("reserved") == FunctionLimits(100, 10, 900)
    assert change.of("anyone-else") is shared
