"""Log limits: their settings, how often expiry runs, and the recorder keeping a store within them."""

from __future__ import annotations

import asyncio
import time

from lamina.metering.recorder import Recorder, prune_every
from lamina.settings import MB, LogLimits, Settings
from lamina.store.base import LogRecord
from lamina.store.memory import MemoryStore


def test_log_limits_come_from_the_environment() -> None:
    assert Settings.from_env({}).logs == LogLimits(10 * MB, 100 * MB, 30 * 86_400)
    logs = Settings.from_env({
        "LAMINA_LOG_INVOCATION_MB": "0.5", "LAMINA_LOG_FUNCTION_MB": "2", "LAMINA_LOG_RETENTION_DAYS": "0.5",
    }).logs  # fmt: skip
    assert logs == LogLimits(invocation_bytes=MB // 2, function_bytes=2 * MB, retention_seconds=43_200)
    assert Settings.from_env({"LAMINA_LOG_FUNCTION_MB": "0"}).logs.function_bytes == 1


def test_expiry_runs_at_a_tenth_of_the_retention_within_bounds() -> None:
    assert prune_every(30 * 86_400, 0.1) == 60
    assert prune_every(100, 0.1) == 10
    assert prune_every(0.5, 0.1) == 0.1


def test_the_recorder_keeps_the_store_within_the_limits() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        now_ms = int(time.time() * 1000)
        old, recent = now_ms - 3_600_000, now_ms - 1000
        for when, letter in [(old, "x")] + [(recent, "y")] * 5:  # a chunk each: trims remove whole chunks
            await store.append_logs([LogRecord("f", "s", when, letter * 74)])
        recorder = Recorder(store, LogLimits(function_bytes=350, retention_seconds=60))
        await recorder.prune(trim=True)  # what it does first when it starts
        assert [e.message[0] for e in await store.read_logs("f", 0, 10)] == ["y", "y", "y"]  # 300 bytes
        for _ in range(2):
            recorder.log(LogRecord("f", "s", now_ms, "z" * 74))
        await recorder.flush()
        assert [e.message[0] for e in await store.read_logs("f", 0, 10)] == ["y", "z", "z"]
        await store.append_logs([LogRecord("g", "s", old, "old")])
        await recorder.prune()
        assert await store.read_logs("g", 0, 10) == []
        await recorder.close()

    asyncio.run(scenario())
