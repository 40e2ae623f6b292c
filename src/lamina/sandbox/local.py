"""Execution environments on this machine: sandboxed processes forked by the fork servers."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Callable, Mapping

from lamina.errors import ApiError

from lamina.model import FunctionConfig
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.sandbox.environment import Environment, EnvironmentContext

log = logging.getLogger(__name__)


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
        # The runtime found, if its files are still there (else looked for again, or AWS's
        # InvalidRuntimeException naming what went missing and how to install it).
        runtime = self._runtimes.get(fn.runtime, invoking=True)
        return Environment(uuid.uuid4().hex, fn, runtime, task_root, opt, self._ctx, provisioned=provisioned)

    # A function hook (control/functions.py): a new function's fork server is started as it is
    # created (the first of a runtime found while Lamina runs included), so that its first
    # invocation (or first burst of them) does not wait for it; and a runtime whose version is not
    # AWS's for its name is said once more, for this function.

    def check_create(self, body: Mapping[str, object]) -> None:
        pass

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None:
        try:
            runtime = self._runtimes.get(fn.runtime, invoking=True)  # creating the function resolved it already
        except ApiError:
            return
        if runtime.mismatch:
            log.warning("function %s: %s", fn.name, runtime.mismatch)
        self._ctx.spawner.warm(runtime.zygote_python)

    async def close(self) -> None:
        await self._ctx.spawner.close()
