"""pgoutput's binary messages decoded, and column text turned into values: bytes built as
PostgreSQL's "Logical Replication Message Formats" lays them out, and bytes captured from a real
PostgreSQL 15 (tests/postgres.py's server, a table with REPLICA IDENTITY FULL and an enum column)."""

from __future__ import annotations

import struct
from decimal import Decimal

import pytest

from lamina.streams.postgres import pgoutput, values
from lamina.streams.postgres.pgoutput import Cell, Column, RelationColumn


def string(text: str) -> bytes:
    return text.encode() + b"\0"


def tuple_data(*cells: bytes | None | str) -> bytes:
    """``None`` is NULL, ``"u"`` unchanged TOAST, bytes a text value."""
    out = struct.pack(">h", len(cells))
    for cell in cells:
        if cell is None:
            out += b"n"
        elif cell == "u":
            out += b"u"
        else:
            assert isinstance(cell, bytes)
            out += b"t" + struct.pack(">i", len(cell)) + cell
    return out


def test_begin_and_commit_as_the_spec_lays_them_out() -> None:
    begin = b"B" + struct.pack(">QqI", 0x1_0000_0010, 123_456_789, 42)
    assert pgoutput.decode(begin) == pgoutput.Begin(final_lsn=0x1_0000_0010, commit_time_us=123_456_789, xid=42)
    commit = b"C" + struct.pack(">BQQq", 0, 0x10, 0x40, 99)
    assert pgoutput.decode(commit) == pgoutput.Commit(flags=0, commit_lsn=0x10, end_lsn=0x40, commit_time_us=99)


def test_relation_names_its_columns_types_and_key() -> None:
    data = (b"R" + struct.pack(">I", 16385) + string("sales") + string("orders") + b"d" + struct.pack(">h", 2)
            + b"\x01" + string("id") + struct.pack(">Ii", 23, -1)
            + b"\x00" + string("note") + struct.pack(">Ii", 1043, 104))  # fmt: skip
    assert pgoutput.decode(data) == pgoutput.Relation(
        oid=16385, namespace="sales", name="orders", replica_identity="d",
        columns=(RelationColumn("id", 23, -1, True), RelationColumn("note", 1043, 104, False)),
    )  # fmt: skip


def test_insert_update_delete_tuples() -> None:
    insert = b"I" + struct.pack(">I", 7) + b"N" + tuple_data(b"1", None, "u")
    assert pgoutput.decode(insert) == pgoutput.Insert(7, (
        Column(Cell.TEXT, b"1"), Column(Cell.NULL, None), Column(Cell.UNCHANGED_TOAST, None)))  # fmt: skip

    plain_update = b"U" + struct.pack(">I", 7) + b"N" + tuple_data(b"2")
    assert pgoutput.decode(plain_update) == pgoutput.Update(7, None, False, (Column(Cell.TEXT, b"2"),))

    key_update = b"U" + struct.pack(">I", 7) + b"K" + tuple_data(b"1") + b"N" + tuple_data(b"2")
    decoded = pgoutput.decode(key_update)
    assert isinstance(decoded, pgoutput.Update) and decoded.old_is_key
    assert decoded.old == (Column(Cell.TEXT, b"1"),) and decoded.new == (Column(Cell.TEXT, b"2"),)

    full_delete = b"D" + struct.pack(">I", 7) + b"O" + tuple_data(b"1", b"x")
    assert pgoutput.decode(full_delete) == pgoutput.Delete(7, (Column(Cell.TEXT, b"1"), Column(Cell.TEXT, b"x")), False)


def test_truncate_origin_type_and_logical_message() -> None:
    truncate = b"T" + struct.pack(">iB", 2, 3) + struct.pack(">II", 10, 11)
    assert pgoutput.decode(truncate) == pgoutput.Truncate((10, 11), cascade=True, restart_identity=True)
    origin = b"O" + struct.pack(">Q", 5) + string("upstream")
    assert pgoutput.decode(origin) == pgoutput.Origin(5, "upstream")
    type_ = b"Y" + struct.pack(">I", 16400) + string("public") + string("mood")
    assert pgoutput.decode(type_) == pgoutput.Type(16400, "public", "mood")
    message = b"M" + struct.pack(">BQ", 1, 9) + string("app") + struct.pack(">i", 3) + b"abc"
    assert pgoutput.decode(message) == pgoutput.LogicalMessage(True, 9, "app", b"abc")


@pytest.mark.parametrize("data", [
    b"",
    b"Z\x00",  # unknown tag
    b"B" + struct.pack(">Qq", 1, 2),  # cut short
    b"B" + struct.pack(">QqI", 1, 2, 3) + b"!",  # left over
    b"R" + struct.pack(">I", 1) + b"public",  # string without its NUL
    b"I" + struct.pack(">I", 1) + b"X" + tuple_data(b"1"),  # not a new tuple
    b"I" + struct.pack(">I", 1) + b"N" + struct.pack(">h", 1) + b"q",  # unknown column kind
    b"I" + struct.pack(">I", 1) + b"N" + struct.pack(">h", 1) + b"t" + struct.pack(">i", 50) + b"short",
    b"U" + struct.pack(">I", 1) + b"K" + tuple_data(b"1"),  # no new tuple
    b"D" + struct.pack(">I", 1) + b"N" + tuple_data(b"1"),  # no old tuple
])  # fmt: skip
def test_malformed_messages_are_refused(data: bytes) -> None:
    with pytest.raises(pgoutput.MalformedMessage):
        pgoutput.decode(data)


# Captured from PostgreSQL 15: CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE items (id int
# PRIMARY KEY, name text, m mood, big text) with REPLICA IDENTITY FULL; then INSERT (1, 'one',
# 'happy', NULL), UPDATE name = 'uno', DELETE, TRUNCATE, each its own transaction.
CAPTURED = [
    b"B\x00\x00\x00\x00\x01\x92d@\x00\x03\x05\x01\xfc/\x92\x18\x00\x00\x02\xda",
    b"Y\x00\x00@\x02public\x00mood\x00",
    b"R\x00\x00@\x07public\x00items\x00f\x00\x04\x01id\x00\x00\x00\x00\x17\xff\xff\xff\xff\x01name\x00\x00\x00"
    b"\x00\x19\xff\xff\xff\xff\x01m\x00\x00\x00@\x02\xff\xff\xff\xff\x01big\x00\x00\x00\x00\x19\xff\xff\xff\xff",
    b"I\x00\x00@\x07N\x00\x04t\x00\x00\x00\x011t\x00\x00\x00\x03onet\x00\x00\x00\x05happyn",
    b"C\x00\x00\x00\x00\x00\x01\x92d@\x00\x00\x00\x00\x01\x92dp\x00\x03\x05\x01\xfc/\x92\x18",
    b"B\x00\x00\x00\x00\x01\x92d\xd0\x00\x03\x05\x01\xfc/\x94\xfe\x00\x00\x02\xdb",
    b"U\x00\x00@\x07O\x00\x04t\x00\x00\x00\x011t\x00\x00\x00\x03onet\x00\x00\x00\x05happynN\x00\x04t\x00\x00"
    b"\x00\x011t\x00\x00\x00\x03unot\x00\x00\x00\x05happyn",
    b"C\x00\x00\x00\x00\x00\x01\x92d\xd0\x00\x00\x00\x00\x01\x92e\x00\x00\x03\x05\x01\xfc/\x94\xfe",
    b"B\x00\x00\x00\x00\x01\x92eH\x00\x03\x05\x01\xfc/\x96\xd2\x00\x00\x02\xdc",
    b"D\x00\x00@\x07O\x00\x04t\x00\x00\x00\x011t\x00\x00\x00\x03unot\x00\x00\x00\x05happyn",
    b"C\x00\x00\x00\x00\x00\x01\x92eH\x00\x00\x00\x00\x01\x92ex\x00\x03\x05\x01\xfc/\x96\xd2",
    b"B\x00\x00\x00\x00\x01\x92q\x00\x00\x03\x05\x01\xfc/\xa5\xc5\x00\x00\x02\xdd",
    b"T\x00\x00\x00\x01\x00\x00\x00@\x07",
    b"C\x00\x00\x00\x00\x00\x01\x92q\x00\x00\x00\x00\x00\x01\x92rp\x00\x03\x05\x01\xfc/\xa5\xc5",
]


def test_messages_captured_from_postgresql() -> None:
    decoded = [pgoutput.decode(data) for data in CAPTURED]
    assert [type(m).__name__ for m in decoded] == [
        "Begin", "Type", "Relation", "Insert", "Commit", "Begin", "Update", "Commit",
        "Begin", "Delete", "Commit", "Begin", "Truncate", "Commit",
    ]  # fmt: skip
    begin, type_, relation, insert, commit = decoded[:5]
    assert isinstance(begin, pgoutput.Begin) and isinstance(commit, pgoutput.Commit)
    assert begin.final_lsn == commit.commit_lsn == 0x1926440 and commit.end_lsn == 0x1926470
    assert begin.xid == 730
    assert type_ == pgoutput.Type(16386, "public", "mood")
    assert isinstance(relation, pgoutput.Relation) and relation.replica_identity == "f"
    assert [(c.name, c.type_oid, c.key) for c in relation.columns] == [
        ("id", 23, True), ("name", 25, True), ("m", 16386, True), ("big", 25, True)]  # fmt: skip
    assert isinstance(insert, pgoutput.Insert) and insert.relation == relation.oid == 16391
    assert values.row(relation.columns, insert.new) == {"id": 1, "name": "one", "m": "happy", "big": None}
    update = decoded[6]
    assert isinstance(update, pgoutput.Update) and update.old is not None and not update.old_is_key
    assert values.row(relation.columns, update.old)["name"] == "one"
    assert values.row(relation.columns, update.new)["name"] == "uno"
    delete = decoded[9]
    assert isinstance(delete, pgoutput.Delete) and not delete.old_is_key
    assert decoded[12] == pgoutput.Truncate((16391,), cascade=False, restart_identity=False)
    # Commit times are microseconds since 2000-01-01: these were written in December 2026.
    commit_ms = (begin.commit_time_us + pgoutput.POSTGRES_EPOCH_US) // 1000
    assert 1_796_000_000_000 < commit_ms < 1_797_000_000_000


@pytest.mark.parametrize(("oid", "text", "value"), [
    (values.INT2, "-7", -7),
    (values.INT4, "2147483647", 2147483647),
    (values.INT8, "9223372036854775807", 9223372036854775807),
    (values.NUMERIC, "12345678901234567890.000000001", Decimal("12345678901234567890.000000001")),
    (values.FLOAT8, "1.5e+300", 1.5e300),
    (values.FLOAT4, "-0.25", -0.25),
    (values.BOOL, "t", True),
    (values.BOOL, "f", False),
    (values.BYTEA, "\\x00ff10", b"\x00\xff\x10"),
    (values.JSONB, '{"a": [1, 2.50, null, true], "b": "c"}', {"a": [1, Decimal("2.50"), None, True], "b": "c"}),
    (values.JSON, "[]", []),
    (25, "text as is", "text as is"),
    (2950, "5c2a1fa2-3f43-4b5e-9bd1-1a1f0b3e4c5d", "5c2a1fa2-3f43-4b5e-9bd1-1a1f0b3e4c5d"),  # uuid
    (1184, "2024-01-02 03:04:05.123+00", "2024-01-02 03:04:05.123+00"),  # timestamptz
    (1082, "2024-02-29", "2024-02-29"),  # date
    (1007, "{1,2,3}", "{1,2,3}"),  # int4[]: as PostgreSQL prints it
])  # fmt: skip
def test_text_values_become_python_values(oid: int, text: str, value: object) -> None:
    converted = values.convert(oid, text)
    assert converted == value and type(converted) is type(value)


def test_special_numbers() -> None:
    assert values.convert(values.NUMERIC, "NaN").is_nan()  # type: ignore[attr-defined]
    assert values.convert(values.FLOAT8, "-Infinity") == float("-inf")


def test_unchanged_toast_is_left_out_unless_the_old_row_has_it() -> None:
    columns = (RelationColumn("id", values.INT4, -1, True), RelationColumn("doc", 25, -1, False))
    new = (Column(Cell.TEXT, b"1"), Column(Cell.UNCHANGED_TOAST, None))
    assert values.row(columns, new) == {"id": 1}
    assert values.row(columns, new, fallback={"id": 1, "doc": "long"}) == {"id": 1, "doc": "long"}
