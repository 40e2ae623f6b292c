"""Execution environments on this machine: sandboxed processes forked by the fork servers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable, Mapping

from lamina.errors import ApiError

from lamina.model import FunctionConfig
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.sandbox.environment import Environment, EnvironmentContext


class LocalProvider:
    """``provider.EnvironmentProvider`` for this machine; owns the fork servers (``ctx.spawner``)."""

    def __init__(
        self, ctx: EnvironmentContext, runtimes: RuntimeRegistry, files: Callable[[FunctionConfig], tuple[Path, Path | None]]
    ) -> None:
        self._ctx = ctx
        self._runtimes = runtimes
        self._files = files  # a function's code directory and merged layers (or None)

    def create(self, fn: FunctionConfig, *, provisioned: bool = False) -> Environment:
        task_root, opt = self._files(fn)
        runtime = self._runtimes.get(fn.runtime)
        return Environment(uuid.uuid4().hex, fn, runtime, task_root, opt, self._ctx, provisioned=provisioned)

    # A function hook (control/functions.py): a new function's fork server is started as it is
    # created, so that its first invocation (or first burst of them) does not wait for it.

    def check_create(self, body: Mapping[str, object]) -> None:
        pass

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None:
        try:
            runtime = self._runtimes.get(fn.runtime)  # creating the function resolved it already
        except ApiError:
            return
        self._ctx.spawner.warm(runtime.zygote_python)

    async def close(self) -> None:
        await self._ctx.spawner.close()
