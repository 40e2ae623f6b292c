"""Subscription filters' control plane: PutSubscriptionFilter, DescribeSubscriptionFilters and
DeleteSubscriptionFilter, kept in memory and written through the store's resources (kinds
``logs/subscription-filter`` and ``logs/subscription-checkpoint``: subscriptions.py), with each
filter's checkpoint, which delivery.py advances.

A destination is a function of this server (its account and region), which must exist (its version
or alias too) and whose resource-based policy must allow ``logs.amazonaws.com`` (iam/triggers.py:
lenient in the development mode); otherwise CloudWatch Logs' InvalidParameterException. A filter on
the destination's own log group is refused: it would deliver the function's lines to itself.

Writes are serialised (one lock), so a checkpoint written by the delivery never outlives its
filter's deletion.
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

from lamina.control.functions import FunctionService
from lamina.control.targets import parse_function_arn
from lamina.errors import AccessDenied, ResourceNotFound
from lamina.invoke.service import InvokeSource
from lamina.logs import groups as g
from lamina.logs import subscriptions as sub
from lamina.logs.patterns import FilterPatternError, compile_pattern
from lamina.logs.subscriptions import Checkpoint, InvalidFilter, SubscriptionFilter
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import Store

LOGS_PRINCIPAL = "logs.amazonaws.com"

CheckSource = Callable[[str, "str | None", InvokeSource], Awaitable[None]]


class NoSuchGroup(LookupError):
    pass


class NoSuchFilter(LookupError):
    pass


class TooManyFilters(Exception):
    pass


class Subscriptions:
    def __init__(self, store: Store, functions: FunctionService, settings: Settings,
                 check_source: CheckSource | None = None) -> None:  # fmt: skip
        self._store = store
        self._functions = functions
        self._settings = settings
        self._check_source = check_source
        self._filters: dict[str, SubscriptionFilter] = {}
        self._checkpoints: dict[str, Checkpoint] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        for r in await self._store.list_resources(sub.FILTER_KIND):
            self._filters[r.key] = sub.from_doc(r.doc)
        for r in await self._store.list_resources(sub.CHECKPOINT_KIND):
            self._checkpoints[r.key] = sub.checkpoint_from_doc(r.doc)

    def filters(self) -> list[SubscriptionFilter]:
        return [self._filters[k] for k in sorted(self._filters)]

    def checkpoint(self, key: str) -> Checkpoint:
        found = self._checkpoints.get(key)
        return found if found is not None else Checkpoint(self._filters[key].created_ms, {})

    def source(self, group: str) -> InvokeSource:
        """CloudWatch Logs invoking for a filter of ``group``: what the function's policy must allow."""
        s = self._settings
        return InvokeSource(LOGS_PRINCIPAL, g.group_arn(s.region, s.account_id, group) + ":*", s.account_id)

    async def groups(self) -> dict[str, list[str]]:
        """Every log group with its functions (logs/groups.py)."""
        functions, _ = self._functions.list(None, 1_000_000)
        return g.groups(functions, [name for name, _ in await self._store.logged_functions()])

    async def _existing_group(self, group: str) -> list[str]:
        names = (await self.groups()).get(group)
        if names is None:
            raise NoSuchGroup(group)
        return names

    async def put(self, group: str, name: str, pattern: str, destination: str, role: str | None,
                  distribution: str | None) -> None:  # fmt: skip
        sub.check_names(group, name)
        sub.check_pattern_size(pattern)
        sub.check_distribution(distribution or "ByLogStream")
        try:
            compile_pattern(pattern)
        except FilterPatternError as exc:
            raise InvalidFilter(f"Invalid filter pattern: {exc}") from exc
        await self._existing_group(group)
        service = sub.destination_service(destination)
        if service != "lambda":
            raise InvalidFilter(sub.other_destination_message(service))
        await self._check_destination(group, destination)
        key = sub.key_of(group, name)
        async with self._lock:
            if len([f for f in self._filters.values() if f.group == group and f.key != key]) >= sub.MAX_FILTERS:
                raise TooManyFilters(group)
            replaced = self._filters.get(key)
            # An update goes on from where its delivery was; a new filter takes lines from now on,
            # its checkpoint stored with it, so that a restart starts from the same point.
            created_ms = replaced.created_ms if replaced is not None else int(time.time() * 1000)
            made = SubscriptionFilter(group, name, pattern, destination, role, distribution or "ByLogStream",
                                      created_ms)  # fmt: skip
            puts = [Resource(sub.FILTER_KIND, key, made.to_doc())]
            checkpoint = self._checkpoints.get(key) if replaced is not None else None
            if checkpoint is None:
                checkpoint = Checkpoint(created_ms, {})
                puts.append(Resource(sub.CHECKPOINT_KIND, key, checkpoint.to_doc()))
            await self._store.change_resources(puts=puts)
            self._filters[key] = made
            self._checkpoints[key] = checkpoint

    async def _check_destination(self, group: str, destination: str) -> None:
        arn = parse_function_arn(destination)
        if arn is None or not arn.is_local(self._settings):
            raise InvalidFilter(sub.PERMISSION_MESSAGE)
        try:
            config = self._functions.resolve(arn.name, arn.qualifier)
        except ResourceNotFound:
            raise InvalidFilter(sub.PERMISSION_MESSAGE) from None
        if g.group_of(config) == group or g.group_of(self._functions.get(arn.name)) == group:
            raise InvalidFilter(sub.SELF_MESSAGE)
        if self._check_source is not None:
            try:
                await self._check_source(arn.name, arn.qualifier, self.source(group))
            except AccessDenied:
                raise InvalidFilter(sub.PERMISSION_MESSAGE) from None

    async def describe(self, group: str, prefix: str, after: str | None) -> list[SubscriptionFilter]:
        """The group's filters whose name starts with ``prefix``, after ``after``, by name."""
        await self._existing_group(group)
        return [f for f in self.filters() if f.group == group and f.name.startswith(prefix)
                and (after is None or f.name > after)]  # fmt: skip

    async def delete(self, group: str, name: str) -> None:
        await self._existing_group(group)
        key = sub.key_of(group, name)
        async with self._lock:
            if key not in self._filters:
                raise NoSuchFilter(key)
            await self._store.change_resources(deletes=[(sub.FILTER_KIND, key), (sub.CHECKPOINT_KIND, key)])
            del self._filters[key]
            self._checkpoints.pop(key, None)

    async def advance(self, made: SubscriptionFilter, checkpoint: Checkpoint) -> None:
        """Store ``checkpoint`` as ``made``'s, unless the filter has been deleted (or made anew) since."""
        async with self._lock:
            current = self._filters.get(made.key)
            if current is None or current.created_ms != made.created_ms:
                return
            await self._store.change_resources(puts=[Resource(sub.CHECKPOINT_KIND, made.key, checkpoint.to_doc())])
            self._checkpoints[made.key] = checkpoint
