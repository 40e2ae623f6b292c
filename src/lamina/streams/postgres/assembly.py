"""pgoutput's messages, in the order one peek returns them, made into ``Change`` values (pure).

A peek returns whole transactions in commit order, each as Begin, then Relation (and Type)
messages before a table's first change in the peek, then its Insert, Update, Delete and Truncate
messages, then Commit. Each row change gets a position (``positions.py``) from its transaction's
commit LSN and its index among the transaction's row changes, so the same change has the same
position in every peek of the same slot.

What a change carries:
- keys: the table's key columns (``TableInfo.keys``) taken from the new row, or from the old one
  for a delete;
- new: the row after (None for REMOVE); old: the whole row before, which PostgreSQL sends only
  under REPLICA IDENTITY FULL (otherwise None: a delete or a key-changing update then carries the
  key's columns alone, which are in ``keys``).

Truncate has no DynamoDB equivalent: it is counted in ``truncated`` (for a logged warning) and
delivers nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lamina.streams.change import Change, Operation, Value
from lamina.streams.postgres import pgoutput, positions, values
from lamina.streams.postgres.pgoutput import POSTGRES_EPOCH_US
from lamina.streams.postgres.positions import Transaction


@dataclass(frozen=True, slots=True)
class TableInfo:
    topic: str  # "schema.table" as the mapping names it: Change.table
    keys: tuple[str, ...]  # the primary key's columns (else the replica identity's)


class UnexpectedMessage(ValueError):
    """A message out of place (a change outside a transaction, for a relation never described)."""


@dataclass
class Assembler:
    """Fed one peek's messages in order; ``feed`` returns the row change a message is, if any."""

    tables: Mapping[tuple[str, str], TableInfo]  # by (schema, table)
    skip_through: int = -1  # changes at or before this position are counted, not made (confirmed)
    relations: dict[int, pgoutput.Relation] = field(default_factory=dict)
    _rows: dict[int, values.RowReader] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)  # those whose Commit was seen
    truncated: list[tuple[int, str]] = field(default_factory=list)  # (commit LSN, table) of skipped TRUNCATEs
    _begin: pgoutput.Begin | None = None
    _index: int = 0

    @property
    def in_transaction(self) -> bool:
        return self._begin is not None

    def feed_bytes(self, data: bytes) -> Change | None:
        """``feed`` of the message ``data`` encodes; a row change at or before ``skip_through`` is
        only counted, not decoded (a large transaction read again skips its confirmed part fast)."""
        if data and data[0] in pgoutput.ROW_CHANGE_TAGS and self._begin is not None:
            if positions.position(self._begin.final_lsn, self._index) <= self.skip_through:
                self._index += 1
                return None
        return self.feed(pgoutput.decode(data))

    def feed(self, message: pgoutput.Message) -> Change | None:
        if isinstance(message, pgoutput.Begin):
            self._begin = message
            self._index = 0
            return None
        if isinstance(message, pgoutput.Commit):
            begin = self._current()
            self.transactions.append(Transaction(begin.final_lsn, message.end_lsn, self._index))
            self._begin = None
            return None
        if isinstance(message, pgoutput.Relation):
            self.relations[message.oid] = message
            self._rows[message.oid] = values.RowReader(message.columns)
            return None
        if isinstance(message, (pgoutput.Insert, pgoutput.Update, pgoutput.Delete)):
            return self._change(message)
        if isinstance(message, pgoutput.Truncate):
            begin = self._current()
            for oid in message.relations:
                relation = self.relations.get(oid)
                name = f"{relation.namespace}.{relation.name}" if relation else f"relation {oid}"
                self.truncated.append((begin.final_lsn, name))
            return None
        return None  # Origin, Type, logical decoding messages: nothing to deliver

    def _current(self) -> pgoutput.Begin:
        if self._begin is None:
            raise UnexpectedMessage("a transaction's message came outside Begin ... Commit")
        return self._begin

    def _change(self, message: pgoutput.Insert | pgoutput.Update | pgoutput.Delete) -> Change | None:
        begin = self._current()
        relation = self.relations.get(message.relation)
        if relation is None:
            raise UnexpectedMessage(f"a change for relation {message.relation}, which no Relation message described")
        index = self._index
        self._index += 1
        table = self.tables.get((relation.namespace, relation.name))
        if table is None:
            return None  # not one of the mapping's tables (the publication names only those)
        row = self._rows[message.relation]
        old: dict[str, Value] | None = None
        if isinstance(message, pgoutput.Insert):
            operation = Operation.INSERT
            key_source = row(message.new)
            new: dict[str, Value] | None = key_source
        elif isinstance(message, pgoutput.Update):
            operation = Operation.MODIFY
            if message.old is not None and not message.old_is_key:
                old = row(message.old)
            key_source = row(message.new, fallback=old)
            new = key_source
        else:
            operation = Operation.REMOVE
            key_row = row(message.old)
            if not message.old_is_key:
                old = key_row
            new = None
            key_source = key_row
        keys = {name: key_source.get(name) for name in table.keys}
        return Change(
            table=table.topic,
            operation=operation,
            keys=keys,
            new=new,
            old=old,
            position=positions.position(begin.final_lsn, index),
            committed_ms=(begin.commit_time_us + POSTGRES_EPOCH_US) // 1000,
        )
