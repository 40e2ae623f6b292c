"""The seam between a database's change reader and the stream that delivers its changes.

A ``ChangeReader`` reads one database's committed row changes (PostgreSQL by logical replication,
SQLite from a change log its triggers fill) without consuming them: the same changes come again
until ``confirm`` says they are done. Changes come in commit order; within a table, changes of
one key never overtake each other.

Each database's module offers ``async def open_reader(endpoint: str, tables: Sequence[str],
name: str) -> ChangeReader``: ``endpoint`` as the mapping names it (a PostgreSQL URL, a SQLite
file's path), ``tables`` as "schema.table", ``name`` stable for the mapping (it names what the
reader keeps in the database: a replication slot, triggers). It raises ``ChangesUnavailable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from lamina.errors import LaminaError

# A column's value as a reader gives it: None, bool, int, float, decimal.Decimal, str, bytes, or
# lists and string-keyed dicts of these (JSON columns). ``streams`` turns them into DynamoDB's
# typed JSON.
Value = object


class Operation(str, Enum):
    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


@dataclass(frozen=True, slots=True)
class Change:
    table: str  # "schema.table" as the mapping's Topics name it
    operation: Operation
    keys: Mapping[str, Value]  # the primary key's columns
    new: Mapping[str, Value] | None  # the row after (None for REMOVE)
    old: Mapping[str, Value] | None  # the row before, where the database gives it (None for INSERT)
    position: int  # the reader's own order: greater for later changes; what ``confirm`` takes
    committed_ms: int  # the transaction's commit time, epoch milliseconds


@dataclass(frozen=True, slots=True)
class ReaderLag:
    backlog: int | None  # changes not confirmed yet, where the reader can count them cheaply
    oldest_age_seconds: float | None


class ChangesUnavailable(LaminaError):
    """The database cannot be read now (unreachable, not configured for it, a table gone): the
    message says why and what to do, as the mapping's LastProcessingResult shows it."""


class DatabaseUnreachable(ChangesUnavailable):
    """The database could not be reached (or refused the connection): nothing said the mapping is
    wrong, so it is created all the same and starts reading once the database answers, as a
    mapping to a Kafka broker that is down does."""


class ChangeReader(Protocol):
    async def read(self, limit: int, wait_seconds: float) -> list[Change]:
        """Up to ``limit`` changes after the last confirmed one, oldest first; waits at most
        ``wait_seconds`` for the first. Reading again without ``confirm`` gives them again."""
        ...

    async def confirm(self, position: int) -> None:
        """Every change up to and including ``position`` is done: never read again, even after a
        restart (PostgreSQL: the replication slot advances)."""
        ...

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the user should fix but the reader works without (e.g. no old images because a
        table's REPLICA IDENTITY is not FULL), as the mapping reports it."""
        ...

    def lag(self) -> ReaderLag: ...

    async def close(self) -> None:
        """Let go of the database; what it keeps there stays (the mapping may be started again)."""
        ...

    async def drop(self) -> None:
        """Remove what the reader keeps in the database (slot and publication, triggers and change
        log): the mapping was deleted. Then close."""
        ...
