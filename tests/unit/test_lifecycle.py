"""Parts stop in the reverse of the order they started in, and one that fails to stop stops none of the others."""

from __future__ import annotations

import asyncio

import pytest

from lamina.lifecycle import Parts


def test_parts_stop_last_started_first_and_a_failure_skips_nothing(caplog: pytest.LogCaptureFixture) -> None:
    stopped: list[str] = []

    def part(name: str, fails: bool = False):  # type: ignore[no-untyped-def]
        async def close() -> None:
            stopped.append(name)
            if fails:
                raise RuntimeError(f"{name} would not stop")

        return close

    async def scenario() -> Parts:
        parts = Parts()
        parts.started("store", part("store"))
        parts.started("queue", part("queue", fails=True))
        parts.started("timers", part("timers"))
        await parts.close()
        await parts.close()  # twice: nothing left to do
        return parts

    parts = asyncio.run(scenario())
    assert stopped == ["timers", "queue", "store"]
    assert parts.failed == ["queue"] and len(parts) == 0
    assert "stopping queue failed" in caplog.text and "queue would not stop" in caplog.text


def test_a_part_cancelled_while_stopping_does_not_stop_the_rest_early() -> None:
    """A part cancelled as it stops is cancelled itself; the parts below it are still stopped."""
    stopped: list[str] = []

    async def scenario() -> None:
        parts = Parts()

        async def store() -> None:
            stopped.append("store")

        async def slow() -> None:
            raise asyncio.CancelledError

        parts.started("store", store)
        parts.started("slow", slow)
        with pytest.raises(asyncio.CancelledError):
            await parts.close()
        await parts.close()  # what a caller does after a cancellation: the rest still stops

    asyncio.run(scenario())
    assert stopped == ["store"]
