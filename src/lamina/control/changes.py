"""What the control plane changed, as one typed stream the data plane and other caches follow.

The control planes (``control/functions.py``, ``aliases.py``, ``concurrency.py``) publish a change
once it is stored, or, when invocations could see it in memory earlier (a function's new
generation), as soon as they can, and again, undone, should the store refuse it. Each subscriber
keeps whatever it derives from that state (the scheduler's warm pools, the resolver's limits, the
configurations kept per function) in step with it. Nothing on the invocation path calls back up
into a control plane: it reads what it was told.

Changes are delivered in the order they are published, to subscribers in the order they
subscribed, before ``publish`` returns: a request that changed something answers once everyone
has followed. A subscriber may be a coroutine function (it may write to the store, as removing a
deleted alias's provisioned concurrency does); synchronous ones cost no task or await.

    FunctionUpdated     $LATEST or a version has a new generation (created, new code or
                        configuration, published): environments of an older one are retired
    FunctionDeleted     a function and everything of it (its versions, aliases) is gone
    VersionDeleted      one published version is gone
    AliasChanged        an alias was created, moved or re-weighted (``version``), or deleted (None)
    ConcurrencyChanged  reserved or provisioned concurrency changed: every function's limits now
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Union

from lamina.scheduler.decisions import FunctionLimits


@dataclass(frozen=True, slots=True)
class FunctionUpdated:
    name: str
    version: str  # "$LATEST" or a published version
    generation: str  # environments of any other generation no longer serve this version


@dataclass(frozen=True, slots=True)
class FunctionDeleted:
    name: str


@dataclass(frozen=True, slots=True)
class VersionDeleted:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class AliasChanged:
    name: str
    alias: str
    version: str | None  # the version it points to now; None: deleted


@dataclass(frozen=True, slots=True)
class ConcurrencyChanged:
    """Every function's limits, whole: ``limits`` for those with a reservation or provisioned
    concurrency, ``default`` for the others (no reservation, nothing provisioned)."""

    default: FunctionLimits
    limits: Mapping[str, FunctionLimits] = field(default_factory=dict)

    def of(self, name: str) -> FunctionLimits:
        return self.limits.get(name, self.default)


Change = Union[FunctionUpdated, FunctionDeleted, VersionDeleted, AliasChanged, ConcurrencyChanged]
Subscriber = Callable[[Change], Union[Awaitable[None], None]]


class Changes:
    """The stream: ``subscribe`` once, at assembly; ``publish`` from the control planes."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, change: Change) -> None:
        for subscriber in self._subscribers:
            followed = subscriber(change)
            if followed is not None:
                await followed
