"""The Source seam: what a poller needs of whatever it reads from.

SQS (``sqs.py``) is the first implementation; Kafka and RabbitMQ sources implement the same
protocol. The contract, failure behaviour included:

- ``fetch`` returns the next batch (``BatchLimits``: up to ``max_records``, within the batching
  window and the payload limit), possibly empty after waiting a while for records; it may be
  cancelled while it waits, and then takes nothing (or leaves what it took to come back as the
  source redelivers). It raises ``SourceUnavailable`` when the source cannot be read (gone,
  unreachable): the poller reports it and backs off.
- ``acknowledge`` is called only after a record is done (the function succeeded with it, or a
  filter dropped it): the source never hands it out again (SQS deletes, Kafka commits past it,
  RabbitMQ acks). A record acknowledged twice, or after its lease ran out, is ignored.
- ``fail`` gives back records the function failed: the source delivers them again, as its own
  redelivery rules say (SQS: after the visibility timeout, counted toward the redrive policy's
  maxReceiveCount, so a poison message ends in the dead-letter queue).
- ``release`` gives back records that were fetched but not attempted (beyond the payload limit,
  or the poller stopping): available again at once.
- ``event`` is the payload the function gets for records, as AWS shapes it for this source.
- ``lag`` reports how far behind the mapping is, for ``lamina mappings``; it does no waiting.
- A source that holds a connection (Kafka, RabbitMQ) is also ``Closing``: the poller closes it when it stops.
- A source that tells failed batches from batches that never reached the function (table streams)
  is also ``Unreached``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from lamina.errors import LaminaError
from lamina.mappings.batching import BatchLimits


class SourceUnavailable(LaminaError):
    """The source cannot be read now: the message says why, as LastProcessingResult shows it."""


@dataclass(slots=True)  # not frozen: a frozen dataclass takes three times as long to make, per record
class Record:
    id: str  # what batchItemFailures' itemIdentifier names (SQS: messageId)
    token: str  # what acknowledges it (SQS: its receipt handle)
    record: Mapping[str, object]  # the record as it appears in the event (JSON-ready)
    view: Mapping[str, object]  # the record as filters see it
    size: int  # bytes of ``record`` serialised
    group: str | None = None  # the ordering group (FIFO message group, Kafka partition)
    encoded: str | None = None  # ``record`` as JSON text, where the source wrote it already (Kafka)


T = TypeVar("T")


class Lazy(Mapping[str, object], Generic[T]):
    """A record's mapping (the record, its filter view) made on first use by ``make(arg)``: a
    mapping reads records far faster than it looks into them, and most are never looked into."""

    __slots__ = ("_make", "_arg", "_made")

    def __init__(self, make: Callable[[T], Mapping[str, object]], arg: T) -> None:
        self._make = make
        self._arg = arg
        self._made: Mapping[str, object] | None = None

    def _get(self) -> Mapping[str, object]:
        if self._made is None:
            self._made = self._make(self._arg)
        return self._made

    def __getitem__(self, key: str) -> object:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


@dataclass(frozen=True, slots=True)
class Lag:
    backlog: int | None  # records waiting (SQS: visible messages)
    oldest_age_seconds: float | None  # age of the oldest waiting record


class Source(Protocol):
    @property
    def ordered(self) -> bool:
        """Whether records of one group must be processed in order (a failure holds the rest back)."""
        ...

    async def fetch(self, limits: BatchLimits) -> Sequence[Record]: ...

    async def acknowledge(self, records: Sequence[Record]) -> None: ...

    async def fail(self, records: Sequence[Record]) -> None: ...

    async def release(self, records: Sequence[Record]) -> None: ...

    def event(self, records: Sequence[Record]) -> bytes: ...

    def lag(self) -> Lag: ...


@runtime_checkable
class Closing(Protocol):
    async def close(self) -> None: ...


@runtime_checkable
class Unreached(Protocol):
    """A source for which a batch that never reached the function (its function, version or alias is
    gone) is not a failure of the batch: streams count failures toward MaximumRetryAttempts only when
    the function got the records, as Lambda does. Other sources get ``fail``."""

    async def unreached(self, records: Sequence[Record]) -> None: ...
