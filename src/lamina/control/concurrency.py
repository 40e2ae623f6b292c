"""Concurrency: each function's reserved concurrency, and provisioned concurrency per version or alias.

Lambda's rules, which the pure checks below apply to plain counts:

- Reserved concurrency is a floor and a cap: the function never runs more than that many at once, and
  that many are kept for it. Every reservation comes out of the account's concurrency, which must keep
  ``MINIMUM_UNRESERVED`` (100) unreserved; functions without one share what is left.
- Provisioned concurrency is configured on a published version or an alias of one (not ``$LATEST``, not
  an alias with routing weights), one configuration per version. It counts against the function's
  reservation when it has one (their sum may not pass it), and otherwise against the account's
  unreserved concurrency (which must still keep 100).

``ConcurrencyService`` keeps both in memory and writes through to the store before it answers; once a
change is stored it publishes every function's limits (``ConcurrencyChanged`` on the change stream,
``control/changes.py``), which the invocation path reads from there. It follows the stream too: a
deleted function, version or alias takes its configurations with it, and a moved alias its
provisioned environments. Its task ``lamina-provisioner`` keeps
the scheduler's provisioned environments as configured: it resolves each configuration's qualifier
(an alias can be moved to another version), tells the scheduler how many environments each version
needs, and drops configurations whose version or alias is gone. It runs once a second, and at once
when something changes (a configuration, an alias, an environment lost or ready).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.tasks import cancel_and_wait, wait_set
from lamina.control.changes import AliasChanged, Change, Changes, ConcurrencyChanged, FunctionDeleted, VersionDeleted
from lamina.control.functions import FunctionService
from lamina.control.validation import constraint
from lamina.control.versions import is_version_number
from lamina.errors import (
    InvalidParameterValue,
    ProvisionedConcurrencyConfigNotFound,
    ResourceConflict,
    ResourceNotFound,
    ValidationError,
)
from lamina.model import LATEST, FunctionConfig, ProvisionedConcurrencyConfig, State
from lamina.scheduler.decisions import FunctionLimits, unreserved_concurrency
from lamina.scheduler.pool import Scheduler
from lamina.settings import Settings
from lamina.metering.provisioned import AllocationMeter
from lamina.store.aggregates import Store

log = logging.getLogger(__name__)

Body = Mapping[str, object]
MINIMUM_UNRESERVED = 100
RECONCILE_SECONDS = 1.0
READY, IN_PROGRESS, FAILED = "READY", "IN_PROGRESS", "FAILED"

UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
NOT_A_VERSION = "The function resource provided must be an alias or a published version."
WEIGHTED_ALIAS = "Alias with weights can not be used with Provisioned Concurrency"
ALREADY_PROVISIONED = "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version"
POINTED_BY_ALIAS = "Version is pointed by a Provisioned Concurrency alias"
NO_CONFIG = "No Provisioned Concurrency Config found for this function"
OVER_RESERVED = (
    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function"
)
BELOW_MINIMUM = (
    "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its "
    f"minimum value of [{MINIMUM_UNRESERVED}]."
)


# -- pure checks -----------------------------------------------------------------------------


def reservation_error(requested: int, provisioned: int, unreserved_now: int, unreserved_after: int) -> str | None:
    """Why a function may not reserve ``requested`` (``None``: it may), when its versions and aliases
    have ``provisioned`` in total and the account's unreserved concurrency would go from
    ``unreserved_now`` to ``unreserved_after``. (Lowering the account's concurrency below what is
    reserved leaves it below the minimum: changes that do not make that worse are allowed.)"""
    if requested < provisioned:
        return (
            f"ReservedConcurrentExecutions {requested} should not be lower than function's total provisioned "
            f"concurrency [{provisioned}]."
        )
    if unreserved_after < MINIMUM_UNRESERVED and unreserved_after < unreserved_now:
        return BELOW_MINIMUM
    return None


def provisioned_error(
    requested: int, other_provisioned: int, reserved: int | None, unreserved_now: int, unreserved_after: int
) -> str | None:
    """Why a version or alias may not have ``requested`` provisioned (``None``: it may), when the
    function's other versions and aliases have ``other_provisioned``, it reserves ``reserved`` (or
    nothing), and the account's unreserved concurrency would go from ``unreserved_now`` to
    ``unreserved_after``."""
    if reserved is not None:
        return OVER_RESERVED if other_provisioned + requested > reserved else None
    if unreserved_after < MINIMUM_UNRESERVED and unreserved_after < unreserved_now:
        return BELOW_MINIMUM
    return None


@dataclass(frozen=True)
class ProvisionedStatus:
    """A provisioned-concurrency configuration's state, as GetProvisionedConcurrencyConfig shows it."""

    requested: int
    allocated: int
    available: int
    status: str  # READY | IN_PROGRESS | FAILED
    reason: str | None


def provisioned_status(requested: int, ready: int, failure: str | None) -> ProvisionedStatus:
    """The state of a configuration of ``requested`` whose version has ``ready`` initialised
    environments, and the reason the last one failed to initialise (if one did)."""
    allocated = min(ready, requested)
    if allocated >= requested:
        return ProvisionedStatus(requested, allocated, allocated, READY, None)
    if failure is not None:
        return ProvisionedStatus(requested, allocated, allocated, FAILED, failure)
    return ProvisionedStatus(requested, allocated, allocated, IN_PROGRESS, None)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + "+0000"


def _count(body: Body, key: str, field: str, low: int) -> int:
    value = body.get(key)
    if value is None:
        raise ValidationError(f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: "
                              "Member must not be null")  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValue(f"{key} must be an integer, got {value!r}")
    if value < low:
        raise constraint(value, field, f"Member must have value greater than or equal to {low}")
    return value


def listing_order(qualifier: str) -> tuple[int, int, str]:
    """Configurations are listed versions first (by number), then aliases (by name)."""
    return (0, int(qualifier), "") if is_version_number(qualifier) else (1, 0, qualifier)


class ConcurrencyService:
    def __init__(
        self, store: Store, functions: FunctionService, scheduler: Scheduler, settings: Settings, changes: Changes
    ) -> None:
        self._store = store
        self._changes = changes
        self._functions = functions
        self._scheduler = scheduler
        self._settings = settings
        self._reserved: dict[str, int] = {}  # function -> its reserved concurrency
        self._configs: dict[str, dict[str, ProvisionedConcurrencyConfig]] = {}  # function -> qualifier -> config
        self._unreserved = settings.limits.account_concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._allocations = AllocationMeter(store)  # the usage ledger's record of what is provisioned
        self._writes = 0  # writes through to the store finished (``reread``)

    async def load(self) -> None:
        await self._allocations.load()
        self._reserved = await self._store.list_reserved_concurrency()
        for config in await self._store.list_provisioned_concurrency():
            self._configs.setdefault(config.function, {})[config.qualifier] = config
        self._unreserved = self._unreserved_with(self._reserved, self._configs)
        await self._announce()

    async def reread(self) -> None:
        """Read every reservation and provisioned-concurrency configuration again: another server
        changed one (their environments follow at the provisioner's next round)."""
        while True:
            writes = self._writes
            reserved = await self._store.list_reserved_concurrency()
            configs: dict[str, dict[str, ProvisionedConcurrencyConfig]] = {}
            for config in await self._store.list_provisioned_concurrency():
                configs.setdefault(config.function, {})[config.qualifier] = config
            if writes == self._writes:  # else a write of this server's ended meanwhile: it may be missing
                break
        self._reserved, self._configs = reserved, configs
        self._unreserved = self._unreserved_with(self._reserved, self._configs)
        self.wake()
        await self._announce()

    async def _write(self, write: Awaitable[None]) -> None:
        try:
            await write
        finally:
            self._writes += 1

    async def start(self) -> None:
        """Start the provisioned environments configured (their first ones begin before this returns),
        then keep them as configured in ``lamina-provisioner``."""
        self._scheduler.on_provisioned_change(self.wake)
        await self.reconcile()
        self._task = asyncio.create_task(self._provision_forever(), name="lamina-provisioner")

    async def close(self) -> None:
        """Stop ``lamina-provisioner``; the scheduler stops the environments."""
        await cancel_and_wait(self._task)
        self._task = None

    def wake(self) -> None:
        """Have the provisioned environments checked against the configurations now."""
        self._wake.set()

    # -- following the change stream ---------------------------------------------------------

    async def follow(self, change: Change) -> None:
        """A deleted function, version or alias takes its configurations with it (its provisioned
        environments stop); a moved alias's provisioned environments follow it to its version."""
        if isinstance(change, FunctionDeleted):
            self._reserved.pop(change.name, None)
            self._configs.pop(change.name, None)
            self._unreserved = self._unreserved_with(self._reserved, self._configs)
            self.wake()
            await self._announce()
        elif isinstance(change, VersionDeleted):
            await self.forget(change.name, change.version)
        elif isinstance(change, AliasChanged):
            if change.version is None:
                await self.forget(change.name, change.alias)
            else:
                self.wake()

    def limits(self) -> ConcurrencyChanged:
        """Every function's limits now, as ``ConcurrencyChanged`` publishes them."""
        default = FunctionLimits(None, 0, self._unreserved)
        named = {name: FunctionLimits(self._reserved.get(name), 0, self._unreserved) for name in self._reserved}
        for name, configs in self._configs.items():
            provisioned = sum(c.requested for c in configs.values())
            named[name] = FunctionLimits(self._reserved.get(name), provisioned, self._unreserved)
        return ConcurrencyChanged(default, named)

    async def _announce(self) -> None:
        await self._changes.publish(self.limits())

    # -- reading ---------------------------------------------------------------------------

    def unreserved(self) -> int:
        """The account's unreserved concurrency (GetAccountSettings' UnreservedConcurrentExecutions)."""
        return self._unreserved

    def reserved(self, name: str) -> int | None:
        self._functions.get(name)
        return self._reserved.get(name)

    # -- reserved concurrency --------------------------------------------------------------

    async def put_reserved(self, name: str, body: Body) -> int:
        """PutFunctionConcurrency: reserve concurrency for ``name`` (replacing its reservation)."""
        requested = _count(body, "ReservedConcurrentExecutions", "reservedConcurrentExecutions", 0)
        self._functions.get(name)
        after = {**self._reserved, name: requested}
        provisioned = sum(c.requested for c in self._configs.get(name, {}).values())
        error = reservation_error(requested, provisioned, self._unreserved, self._unreserved_with(after, self._configs))
        if error is not None:
            raise InvalidParameterValue(error)
        # Counted at once, so that a request checked while this one is stored sees it; undone on failure.
        previous = self._reserved.get(name)
        self._reserved[name] = requested
        self._unreserved = self._unreserved_with(self._reserved, self._configs)
        try:
            await self._write(self._store.put_reserved_concurrency(name, requested))
        except BaseException:
            if self._reserved.get(name) == requested:
                if previous is None:
                    del self._reserved[name]
                else:
                    self._reserved[name] = previous
                self._unreserved = self._unreserved_with(self._reserved, self._configs)
            raise
        await self._announce()
        return requested

    async def delete_reserved(self, name: str) -> None:
        """DeleteFunctionConcurrency: the function shares the unreserved concurrency again."""
        self._functions.get(name)
        await self._write(self._store.put_reserved_concurrency(name, None))
        self._reserved.pop(name, None)
        self._unreserved = self._unreserved_with(self._reserved, self._configs)
        await self._announce()

    # -- provisioned concurrency -----------------------------------------------------------

    async def put_provisioned(self, name: str, qualifier: str | None, body: Body) -> ProvisionedConcurrencyConfig:
        """PutProvisionedConcurrencyConfig: create or replace the configuration of a version or alias."""
        requested = _count(body, "ProvisionedConcurrentExecutions", "provisionedConcurrentExecutions", 1)
        qualifier = self._qualifier(qualifier, UNPUBLISHED)
        version = self._target(name, qualifier)
        alias = self._functions.aliases.find(name, qualifier)
        if alias is not None and alias.weights:
            raise InvalidParameterValue(WEIGHTED_ALIAS)
        if version == LATEST:  # an alias of $LATEST
            raise InvalidParameterValue(UNPUBLISHED)
        self._check_one_per_version(name, qualifier, version)
        configs = self._configs.get(name, {})
        other = sum(c.requested for q, c in configs.items() if q != qualifier)
        config = ProvisionedConcurrencyConfig(name, qualifier, requested, _now())
        after = {**self._configs, name: {**configs, qualifier: config}}
        error = provisioned_error(requested, other, self._reserved.get(name), self._unreserved,
                                  self._unreserved_with(self._reserved, after))  # fmt: skip
        if error is not None:
            raise InvalidParameterValue(error)
        # Counted at once, so that a request checked while this one is stored sees it; undone on failure.
        kept = self._configs.setdefault(name, {})
        previous = kept.get(qualifier)
        kept[qualifier] = config
        self._unreserved = self._unreserved_with(self._reserved, self._configs)
        try:
            await self._write(self._store.put_provisioned_concurrency(config))
        except BaseException:
            if kept.get(qualifier) is config:
                if previous is None:
                    del kept[qualifier]
                else:
                    kept[qualifier] = previous
                self._unreserved = self._unreserved_with(self._reserved, self._configs)
            raise
        self._scheduler.retry_provisioning(name, version)  # put again after FAILED: try again
        self.wake()
        await self._announce()
        return config

    def get_provisioned(self, name: str, qualifier: str | None) -> ProvisionedConcurrencyConfig:
        qualifier = self._qualifier(qualifier, NOT_A_VERSION)
        self._target(name, qualifier)
        config = self._configs.get(name, {}).get(qualifier)
        if config is None:
            raise ProvisionedConcurrencyConfigNotFound(NO_CONFIG)
        return config

    def list_provisioned(self, name: str) -> list[ProvisionedConcurrencyConfig]:
        """A function's configurations: versions by number, then aliases by name."""
        self._functions.get(name)
        return sorted(self._configs.get(name, {}).values(), key=lambda c: listing_order(c.qualifier))

    async def delete_provisioned(self, name: str, qualifier: str | None) -> None:
        """DeleteProvisionedConcurrencyConfig; deleting one that does not exist is not an error."""
        qualifier = self._qualifier(qualifier, NOT_A_VERSION)
        self._target(name, qualifier)
        await self.forget(name, qualifier)

    async def forget(self, name: str, qualifier: str) -> None:
        """Drop the configuration of ``qualifier`` (deleted, or its version or alias was): its
        environments stop."""
        await self._write(self._store.delete_provisioned_concurrency(name, qualifier))
        configs = self._configs.get(name, {})
        if configs.pop(qualifier, None) is not None:
            self._unreserved = self._unreserved_with(self._reserved, self._configs)
            self.wake()
        if not configs:
            self._configs.pop(name, None)
        await self._announce()

    def status(self, config: ProvisionedConcurrencyConfig) -> ProvisionedStatus:
        version = self._version_of(config.function, config.qualifier) or LATEST
        state = self._scheduler.provisioned_state(config.function, version)
        return provisioned_status(config.requested, state.ready, state.failure)

    # -- the provisioner -------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Tell the scheduler how many environments each provisioned version needs; drop the
        configurations whose version or alias no longer exists."""
        wanted: dict[tuple[str, str], tuple[FunctionConfig, int]] = {}
        allocated: dict[tuple[str, str], tuple[str, int, str, int]] = {}
        gone = []
        for name, configs in self._configs.items():
            for qualifier, config in configs.items():
                version = self._version_of(name, qualifier)
                if version is None:
                    gone.append(config)
                    continue
                fn = self._functions.resolve(name, version)
                if fn.is_latest or fn.state is not State.ACTIVE:
                    continue  # an alias moved to $LATEST, or code still being prepared
                _, count = wanted.get((name, version), (fn, 0))
                wanted[(name, version)] = (fn, count + config.requested)
                allocated[(name, qualifier)] = (version, fn.memory_mb, fn.architectures[0], config.requested)
        self._scheduler.provision(wanted)
        await self._allocations.observe(allocated)
        for config in gone:
            log.info("provisioned concurrency of %s:%s removed: the version or alias is gone", config.function,
                     config.qualifier)  # fmt: skip
            await self.forget(config.function, config.qualifier)

    async def _provision_forever(self) -> None:
        while True:
            await wait_set(self._wake, RECONCILE_SECONDS)
            self._wake.clear()
            try:
                await self.reconcile()
            except Exception:
                log.exception("could not keep the provisioned environments as configured")

    # -- internals -------------------------------------------------------------------------

    def _unreserved_with(
        self, reserved: Mapping[str, int], configs: Mapping[str, Mapping[str, ProvisionedConcurrencyConfig]]
    ) -> int:
        """The account's unreserved concurrency, were these the reservations and configurations."""
        unreserved_provisioned = sum(
            config.requested for name, kept in configs.items() if name not in reserved for config in kept.values()
        )
        return unreserved_concurrency(self._settings.limits.account_concurrency, reserved.values(),
                                      unreserved_provisioned)  # fmt: skip

    @staticmethod
    def _qualifier(qualifier: str | None, latest_message: str) -> str:
        if qualifier is None:
            raise ValidationError("1 validation error detected: Value null at 'qualifier' failed to satisfy "
                                  "constraint: Member must not be null")  # fmt: skip
        if qualifier == LATEST:
            raise InvalidParameterValue(latest_message)
        return qualifier

    def _target(self, name: str, qualifier: str) -> str:
        """The version ``qualifier`` (a version number or an alias of ``name``) names; raises
        ``ResourceNotFound`` if the function, the version or the alias does not exist."""
        self._functions.get(name)
        if is_version_number(qualifier):
            if self._functions.versions.get(name, qualifier) is None:
                raise ResourceNotFound(f"Function not found: {self._settings.function_arn(name, qualifier)}")
            return qualifier
        alias = self._functions.aliases.find(name, qualifier)
        if alias is None:
            raise ResourceNotFound(f"Cannot find alias arn: {self._settings.function_arn(name, qualifier)}")
        return alias.function_version

    def _version_of(self, name: str, qualifier: str) -> str | None:
        """The version a configuration's qualifier names now (``None``: the version or alias is gone;
        ``$LATEST`` for an alias moved to it, which no environment is provisioned for)."""
        if is_version_number(qualifier):
            return qualifier if self._functions.versions.get(name, qualifier) is not None else None
        alias = self._functions.aliases.find(name, qualifier)
        return None if alias is None else alias.function_version

    def _check_one_per_version(self, name: str, qualifier: str, version: str) -> None:
        """A version is provisioned once: by its own configuration or by one alias's."""
        for other in self._configs.get(name, {}):
            if other == qualifier or self._version_of(name, other) != version:
                continue
            if is_version_number(qualifier):
                raise ResourceConflict(POINTED_BY_ALIAS)
            raise ResourceConflict(ALREADY_PROVISIONED)
