"""pgoutput's binary messages decoded (pure).

The format is PostgreSQL's "Logical Replication Message Formats" (protocol version 1, the one
the reader asks for): one message per row of ``pg_logical_slot_peek_binary_changes``. Integers
are big-endian; a String is NUL-terminated (in the database's encoding: UTF-8 assumed, anything
else decoded with replacement). Tuple columns come as text, as the column's type prints it, or
as ``n`` (NULL) or ``u`` (an unchanged TOASTed value the server did not send).

``decode(data)`` returns one of the dataclasses below, or raises ``MalformedMessage``. Messages
that the reader has no use for but may meet (Origin, Type, logical decoding messages) are decoded
too, so an unknown tag is the only thing refused.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

# PostgreSQL's epoch (2000-01-01T00:00:00Z) in Unix microseconds: timestamps here count from it.
POSTGRES_EPOCH_US = 946_684_800_000_000


class MalformedMessage(ValueError):
    """The bytes are not a pgoutput message this decoder knows."""


class Cell(str, Enum):
    """How a tuple's column arrived."""

    NULL = "n"
    UNCHANGED_TOAST = "u"
    TEXT = "t"
    BINARY = "b"


class Column(NamedTuple):  # a tuple, not a dataclass: one is made per column of every row
    kind: Cell
    data: bytes | None  # the value's bytes for TEXT and BINARY, else None


Tuple = tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class RelationColumn:
    name: str
    type_oid: int
    type_modifier: int
    key: bool  # part of the replica identity (every column is, under REPLICA IDENTITY FULL)


@dataclass(frozen=True, slots=True)
class Begin:
    final_lsn: int  # where the transaction's commit record starts
    commit_time_us: int  # microseconds since PostgreSQL's epoch
    xid: int


@dataclass(frozen=True, slots=True)
class Commit:
    flags: int
    commit_lsn: int
    end_lsn: int  # just past the commit record: where the slot advances to once it is done
    commit_time_us: int


@dataclass(frozen=True, slots=True)
class Origin:
    lsn: int
    name: str


@dataclass(frozen=True, slots=True)
class Relation:
    oid: int
    namespace: str
    name: str
    replica_identity: str  # d (default: the primary key), n (nothing), f (full), i (an index)
    columns: tuple[RelationColumn, ...]


@dataclass(frozen=True, slots=True)
class Type:
    oid: int
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Insert:
    relation: int
    new: Tuple


@dataclass(frozen=True, slots=True)
class Update:
    relation: int
    old: Tuple | None  # the replica identity's columns before, when the key changed (or all, FULL)
    old_is_key: bool  # ``old`` holds only the key's columns ('K'), the rest NULL
    new: Tuple


@dataclass(frozen=True, slots=True)
class Delete:
    relation: int
    old: Tuple
    old_is_key: bool


@dataclass(frozen=True, slots=True)
class Truncate:
    relations: tuple[int, ...]
    cascade: bool
    restart_identity: bool


@dataclass(frozen=True, slots=True)
class LogicalMessage:
    transactional: bool
    lsn: int
    prefix: str
    content: bytes


Message = Begin | Commit | Origin | Relation | Type | Insert | Update | Delete | Truncate | LogicalMessage


class _Cursor:
    """Reads big-endian fields from ``data``; running past its end is a MalformedMessage."""

    __slots__ = ("data", "at")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        end = self.at + n
        if n < 0 or end > len(self.data):
            raise MalformedMessage(f"message ends at byte {len(self.data)}, {n} more expected at {self.at}")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        values: tuple[int, ...] = fmt.unpack(self.take(fmt.size))
        return values

    def int8(self) -> int:
        return self.take(1)[0]

    def int16(self) -> int:
        return int(self.unpack(_INT16)[0])

    def int32(self) -> int:
        return int(self.unpack(_INT32)[0])

    def uint32(self) -> int:
        return int(self.unpack(_UINT32)[0])

    def int64(self) -> int:
        return int(self.unpack(_INT64)[0])

    def uint64(self) -> int:
        return int(self.unpack(_UINT64)[0])

    def string(self) -> str:
        end = self.data.find(b"\0", self.at)
        if end < 0:
            raise MalformedMessage(f"string at byte {self.at} has no terminating NUL")
        raw = self.data[self.at : end]
        self.at = end + 1
        return raw.decode("utf-8", errors="replace")

    def done(self) -> None:
        if self.at != len(self.data):
            raise MalformedMessage(f"{len(self.data) - self.at} bytes left over after the message")


_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT64 = struct.Struct(">q")
_UINT64 = struct.Struct(">Q")


def _tuple(c: _Cursor) -> Tuple:
    # The hot path (every row of every change): offsets and unpack_from rather than the cursor's
    # methods; reading past the end raises struct.error or IndexError, which decode() reports.
    data = c.data
    at = c.at
    (count,) = _INT16.unpack_from(data, at)
    at += 2
    if count < 0:
        raise MalformedMessage(f"tuple with {count} columns")
    columns: list[Column] = []
    append = columns.append
    for _ in range(count):
        tag = data[at]
        at += 1
        if tag == _T:
            (length,) = _INT32.unpack_from(data, at)
            at += 4
            end = at + length
            if length < 0 or end > len(data):
                raise MalformedMessage(f"column value of {length} bytes runs past the message")
            append(Column(_TEXT, data[at:end]))
            at = end
        elif tag == _N:
            append(_NULL)
        elif tag == _U:
            append(_UNCHANGED)
        elif tag == _B:
            (length,) = _INT32.unpack_from(data, at)
            at += 4
            end = at + length
            if length < 0 or end > len(data):
                raise MalformedMessage(f"column value of {length} bytes runs past the message")
            append(Column(_BINARY, data[at:end]))
            at = end
        else:
            raise MalformedMessage(f"unknown tuple column kind {chr(tag)!r}")
    c.at = at
    return tuple(columns)


_T, _N, _U, _B = b"tnub"
_TEXT, _BINARY = Cell.TEXT, Cell.BINARY
_NULL = Column(Cell.NULL, None)
_UNCHANGED = Column(Cell.UNCHANGED_TOAST, None)


def _tuple_after(c: _Cursor, expected: str) -> Tuple:
    tag = chr(c.int8())
    if tag != expected:
        raise MalformedMessage(f"expected tuple tag {expected!r}, got {tag!r}")
    return _tuple(c)


def _relation(c: _Cursor) -> Relation:
    oid = c.uint32()
    namespace = c.string()
    name = c.string()
    identity = chr(c.int8())
    count = c.int16()
    columns = []
    for _ in range(count):
        flags = c.int8()
        column_name = c.string()
        type_oid = c.uint32()
        modifier = c.int32()
        columns.append(RelationColumn(column_name, type_oid, modifier, bool(flags & 1)))
    return Relation(oid, namespace, name, identity, tuple(columns))


def _update(c: _Cursor) -> Update:
    relation = c.uint32()
    tag = chr(c.int8())
    old: Tuple | None = None
    old_is_key = False
    if tag in ("K", "O"):
        old = _tuple(c)
        old_is_key = tag == "K"
        tag = chr(c.int8())
    if tag != "N":
        raise MalformedMessage(f"update without its new tuple (tag {tag!r})")
    return Update(relation, old, old_is_key, _tuple(c))


def _delete(c: _Cursor) -> Delete:
    relation = c.uint32()
    tag = chr(c.int8())
    if tag not in ("K", "O"):
        raise MalformedMessage(f"delete without its old tuple (tag {tag!r})")
    return Delete(relation, _tuple(c), tag == "K")


def _truncate(c: _Cursor) -> Truncate:
    count = c.int32()
    options = c.int8()
    relations = tuple(c.uint32() for _ in range(max(count, 0)))
    return Truncate(relations, bool(options & 1), bool(options & 2))


def _message(c: _Cursor) -> LogicalMessage:
    flags = c.int8()
    lsn = c.uint64()
    prefix = c.string()
    length = c.int32()
    return LogicalMessage(bool(flags & 1), lsn, prefix, c.take(length))


def decode(data: bytes) -> Message:
    """One pgoutput message (protocol version 1; a Type's or Relation's streamed-transaction xid,
    which only version 2's streaming sends, is not expected)."""
    if not data:
        raise MalformedMessage("empty message")
    try:
        return _decode(_Cursor(bytes(data)))
    except (struct.error, IndexError) as exc:
        raise MalformedMessage(f"message cut short: {exc}") from None


# The tags of the messages that carry a row change, as pgoutput's first byte.
ROW_CHANGE_TAGS = frozenset(b"IUD")


def _decode(c: _Cursor) -> Message:
    tag = chr(c.int8())
    message: Message
    if tag == "B":
        message = Begin(c.uint64(), c.int64(), c.uint32())
    elif tag == "C":
        message = Commit(c.int8(), c.uint64(), c.uint64(), c.int64())
    elif tag == "O":
        message = Origin(c.uint64(), c.string())
    elif tag == "R":
        message = _relation(c)
    elif tag == "Y":
        message = Type(c.uint32(), c.string(), c.string())
    elif tag == "I":
        relation = c.uint32()
        message = Insert(relation, _tuple_after(c, "N"))
    elif tag == "U":
        message = _update(c)
    elif tag == "D":
        message = _delete(c)
    elif tag == "T":
        message = _truncate(c)
    elif tag == "M":
        message = _message(c)
    else:
        raise MalformedMessage(f"unknown message tag {tag!r}")
    c.done()
    return message
