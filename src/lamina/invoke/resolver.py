"""One resolver turns an invocation's function name (or ARN) and qualifier into its ``Target``.

It reads functions, versions and aliases from the function control plane's memory, and concurrency
limits from what the change stream last published (``control/changes.py``: ``ConcurrencyChanged``);
it never calls back up for them. An alias with routing draws its version here, once per invocation,
with the resolver's random source (injectable: seeded in tests).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from lamina.control.changes import Change, ConcurrencyChanged
from lamina.control.functions import FunctionService
from lamina.control.targets import identify
from lamina.control.validation import NAMESPACED
from lamina.errors import ResourceConflict, ResourceNotFound
from lamina.invoke.target import Target
from lamina.model import FunctionConfig, State, UpdateStatus
from lamina.scheduler.decisions import FunctionLimits
from lamina.settings import Settings

# How long an invocation waits for a function whose code is still being prepared.
SETTLE_WAIT_SECONDS = 60


class Resolver:
    """Builds ``Target``s; follows ``ConcurrencyChanged`` on the change stream for the limits."""

    def __init__(self, functions: FunctionService, settings: Settings, rng: random.Random | None = None) -> None:
        self._functions = functions
        self._settings = settings
        self._random = rng or random.Random()  # draws for aliases' weighted routing
        # Until the concurrency control plane publishes: no reservations, the account's concurrency unreserved.
        self._default = FunctionLimits(None, 0, settings.limits.account_concurrency)
        self._limits: Mapping[str, FunctionLimits] = {}

    def follow(self, change: Change) -> None:
        if isinstance(change, ConcurrencyChanged):
            self._default, self._limits = change.default, change.limits

    def limits(self, function: str) -> FunctionLimits:
        """What bounds ``function``'s on-demand invocations now."""
        return self._limits.get(function, self._default)

    async def resolve(self, identifier: str, qualifier: str | None, *, wait_pending: bool = True) -> Target:
        """The target of one invocation; raises ``ResourceNotFound`` (no such function, version or
        alias) or ``ResourceConflict`` (not Active, after waiting for its code to be prepared).

        A caller's own Invoke passes ``wait_pending=False``: a ``$LATEST`` still Pending (being
        created) is refused at once, as Lambda refuses it (a client waits with function_active_v2).
        An update in progress is waited for (Lambda would run the previous configuration meanwhile;
        Lamina's settle in milliseconds), and so are versions being prepared."""
        # An ARN of another account is never this account's function of the same name: whoever
        # reaches another account's function does so through that account's cell (cells/crossings.py).
        name, qualifier = identify(identifier, qualifier, region=self._settings.region, account=self._settings.account_id,
                                   shape=NAMESPACED)  # fmt: skip
        fn = self._functions.resolve(name, qualifier, draw=self._random.random())
        if fn.state is State.PENDING and fn.is_latest and not wait_pending:
            raise ResourceConflict(
                "The operation cannot be performed at this time. The function is currently in the following state: "
                "Pending"
            )
        if fn.state is not State.ACTIVE or fn.update_status is not UpdateStatus.SUCCESSFUL:
            fn = await self._settled(fn)
        limits = self._limits.get(name, self._default)
        alias = self._functions.aliases.find(name, qualifier) if qualifier is not None else None
        weighted = alias is not None and bool(alias.weights)
        return Target(fn, qualifier, self._settings.function_arn(name, qualifier), limits, weighted)

    def configuration(self, name: str, qualifier: str | None) -> FunctionConfig | None:
        """What ``qualifier`` names now (an alias: its own version), or None if it is gone."""
        try:
            return self._functions.resolve(name, qualifier)
        except ResourceNotFound:
            return None

    async def _settled(self, fn: FunctionConfig) -> FunctionConfig:
        if fn.state is State.PENDING or fn.update_status is UpdateStatus.IN_PROGRESS:
            fn = await self._functions.wait_settled(fn.name, SETTLE_WAIT_SECONDS, fn.version)
        if fn.state is not State.ACTIVE:
            raise ResourceConflict(
                f"The operation cannot be performed at this time. The function is currently in the following state: "
                f"{fn.state.value}. {fn.state_reason}".strip()
            )
        return fn
