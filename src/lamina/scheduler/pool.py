"""Warm pools of execution environments, and the actor that owns them.

``Scheduler.acquire`` hands out an idle environment of the function's current generation or
starts a new one (a cold start); ``release`` returns it. Environments of an older generation
(the code or configuration changed) and those idle past the keep-alive are stopped. Decisions
are made by ``decisions``; this module only acts on them.

Every version of a function is a warm pool of its own, keyed by (function, version): an
environment runs one version's code and configuration and reports that version, so ``$LATEST``
and version 1 never share one, even when their code is the same. Scale-up is counted per function.
"""

from __future__ import annotations

import asyncio
import math
import logging
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Callable

from lamina.errors import TooManyRequests
from lamina.model import FunctionConfig
from lamina.runtime.api import RuntimeResult
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.sandbox.environment import EnvironmentContext, Environment, EnvState
from lamina.scheduler import decisions
from lamina.scheduler.decisions import IdleView

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self,
        ctx: EnvironmentContext,
        runtimes: RuntimeRegistry,
        files: Callable[[FunctionConfig], tuple[Path, Path | None]],
        *,
        keep_alive: float,
        concurrency_limit: int,
        scale_up_limit: int = 1000,
        scale_window: float = 10.0,
    ) -> None:
        self._ctx = ctx
        self._runtimes = runtimes
        self._files = files  # a function's code directory and merged layers (or None)
        self._keep_alive = keep_alive
        self._limit = concurrency_limit
        self._scale_up_limit = scale_up_limit
        self._scale_window = scale_window
        self._starts: dict[str, deque[float]] = {}  # function name -> recent environment start times
        # (function, version) -> its idle environments, least recently used first: the warmest is last.
        self._idle: dict[tuple[str, str], list[Environment]] = {}
        self._in_use = 0
        self._all: dict[str, Environment] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None

    @property
    def in_use(self) -> int:
        return self._in_use

    def environments(self) -> list[Environment]:
        return list(self._all.values())

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="lamina-reaper")

    async def acquire(self, fn: FunctionConfig) -> tuple[Environment, RuntimeResult | None]:
        """An environment ready to invoke ``fn``, or a new one whose init failed (and the failure).

        Raises ``TooManyRequests`` when the account's concurrency limit is reached.
        """
        if not decisions.admit(self._in_use, self._limit):
            raise TooManyRequests("Rate Exceeded.", reason="ConcurrentInvocationLimitExceeded")
        idle = self._idle.get((fn.name, fn.version))
        while idle:
            # The most recently used: the others stay idle long enough to be reaped when load drops.
            env = idle.pop()
            if env.fn.generation == fn.generation and env.state is EnvState.IDLE:
                self._in_use += 1
                return env, None
            self._stop(env)  # of older code or configuration, or crashed while idle
        self._admit_new_environment(fn.name)
        self._in_use += 1
        try:
            task_root, opt = self._files(fn)
            env = Environment(uuid.uuid4().hex, fn, self._runtimes.get(fn.runtime), task_root, opt, self._ctx)
            self._all[env.id] = env
            await env.start()
            failure = await env.wait_ready()
        except BaseException:
            self._in_use -= 1
            raise
        if failure is not None:
            self._all.pop(env.id, None)
        return env, failure

    def _admit_new_environment(self, name: str) -> None:
        """Record a cold start of ``name``, or refuse it: functions scale up at a bounded rate."""
        now = time.monotonic()
        starts = self._starts.setdefault(name, deque())
        while starts and now - starts[0] >= self._scale_window:
            starts.popleft()
        wait = decisions.scale_up_wait(starts, now, self._scale_up_limit, self._scale_window)
        if wait > 0:
            raise TooManyRequests(
                "Rate Exceeded.", reason="FunctionInvocationRateLimitExceeded", retry_after_seconds=math.ceil(wait)
            )
        starts.append(now)

    def release(self, env: Environment, current_generation: str | None) -> None:
        """Give ``env`` back after an invocation; it is stopped unless it can serve the function again."""
        self._in_use -= 1
        if env.state is EnvState.IDLE and env.fn.generation == current_generation:
            env.last_used = time.monotonic()
            self._idle.setdefault((env.fn.name, env.fn.version), []).append(env)
        else:
            self._stop(env)

    def retire(self, function_name: str, version: str | None = None) -> None:
        """Stop the idle environments of a function version (``None``: of every version) whose code or
        configuration changed, or that was deleted.

        Busy ones finish their invocation and are stopped on release (their generation is stale).
        """
        for key in [key for key in self._idle if key[0] == function_name and version in (None, key[1])]:
            for env in self._idle.pop(key):
                self._stop(env)

    def _stop(self, env: Environment) -> None:
        self._all.pop(env.id, None)
        task = asyncio.create_task(env.stop(), name=f"lamina-stop-{env.id}")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _reap_forever(self) -> None:
        interval = max(0.05, min(self._keep_alive / 4, 5.0))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for key, idle in list(self._idle.items()):
                views = [IdleView(e.id, e.last_used) for e in idle]
                expired = set(decisions.expired(views, now, self._keep_alive))
                for env in idle:
                    if env.id in expired or env.state is EnvState.DEAD:  # idle too long, or crashed while idle
                        self._stop(env)
                idle[:] = [e for e in idle if e.id not in expired and e.state is not EnvState.DEAD]
                if not idle:
                    del self._idle[key]

    async def close(self) -> None:
        """Stop the reaper and every environment, busy or idle; waits for them to be gone."""
        if self._reaper is not None:
            self._reaper.cancel()
            try:
                await self._reaper
            except asyncio.CancelledError:
                pass
            self._reaper = None
        for env in list(self._all.values()):
            self._stop(env)
        self._idle.clear()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
