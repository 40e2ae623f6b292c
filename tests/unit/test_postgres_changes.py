"""The PostgreSQL reader's pure parts: messages assembled into changes, positions, how far the slot
may advance, and the names it accepts and makes."""

from __future__ import annotations

import pytest

from lamina.streams.change import ChangesUnavailable, Operation
from lamina.streams.postgres import names, pgoutput, positions
from lamina.streams.postgres.assembly import Assembler, TableInfo, UnexpectedMessage
from lamina.streams.postgres.connection import Database
from lamina.streams.postgres.pgoutput import Cell, Column, RelationColumn
from lamina.streams.postgres.positions import Progress, Transaction

ORDERS = pgoutput.Relation(
    oid=100, namespace="public", name="orders", replica_identity="d",
    columns=(RelationColumn("id", 23, -1, True), RelationColumn("item", 25, -1, False)),
)  # fmt: skip
TABLES = {("public", "orders"): TableInfo("public.orders", ("id",))}


def text(*cells: str | None) -> tuple[Column, ...]:
    return tuple(Column(Cell.NULL, None) if c is None else Column(Cell.TEXT, c.encode()) for c in cells)


def begin(lsn: int) -> pgoutput.Begin:
    return pgoutput.Begin(final_lsn=lsn, commit_time_us=1_000_000, xid=1)


def commit(lsn: int) -> pgoutput.Commit:
    return pgoutput.Commit(flags=0, commit_lsn=lsn, end_lsn=lsn + 48, commit_time_us=1_000_000)


def test_a_transaction_becomes_changes_with_keys_images_and_positions() -> None:
    a = Assembler(TABLES)
    messages: list[pgoutput.Message] = [
        begin(0x500), ORDERS,
        pgoutput.Insert(100, text("1", "book")),
        pgoutput.Update(100, None, False, text("1", "pen")),
        pgoutput.Update(100, text("1", None), True, text("2", "pen")),  # the key changed
        pgoutput.Delete(100, text("2", None), True),
        commit(0x500),
    ]  # fmt: skip
    changes = [c for c in map(a.feed, messages) if c is not None]
    assert [c.operation for c in changes] == [Operation.INSERT, Operation.MODIFY, Operation.MODIFY, Operation.REMOVE]
    assert [dict(c.keys) for c in changes] == [{"id": 1}, {"id": 1}, {"id": 2}, {"id": 2}]
    assert changes[0].new == {"id": 1, "item": "book"} and changes[0].old is None
    assert changes[3].new is None and changes[3].old is None  # no old image without REPLICA IDENTITY FULL
    assert [c.position for c in changes] == [positions.position(0x500, i) for i in range(4)]
    assert all(c.table == "public.orders" for c in changes)
    assert changes[0].committed_ms == 946_684_801_000  # one second after 2000-01-01
    assert a.transactions == [Transaction(0x500, 0x530, 4)] and not a.in_transaction


def test_full_replica_identity_gives_old_images() -> None:
    a = Assembler(TABLES)
    for m in (begin(0x10), ORDERS):
        a.feed(m)
    update = a.feed(pgoutput.Update(100, text("1", "book"), False, text("1", "pen")))
    delete = a.feed(pgoutput.Delete(100, text("1", "pen"), False))
    assert update is not None and update.old == {"id": 1, "item": "book"} and update.new == {"id": 1, "item": "pen"}
    assert delete is not None and delete.old == {"id": 1, "item": "pen"} and delete.keys == {"id": 1}


def test_truncates_deliver_nothing_and_are_reported() -> None:
    a = Assembler(TABLES)
    for m in (begin(0x10), ORDERS):
        a.feed(m)
    assert a.feed(pgoutput.Truncate((100,), False, False)) is None
    a.feed(commit(0x10))
    assert a.truncated == [(0x10, "public.orders")]
    assert a.transactions == [Transaction(0x10, 0x40, 0)]


def test_messages_out_of_place_are_refused() -> None:
    with pytest.raises(UnexpectedMessage):
        Assembler(TABLES).feed(pgoutput.Insert(100, text("1", "x")))
    a = Assembler(TABLES)
    a.feed(begin(0x10))
    with pytest.raises(UnexpectedMessage):
        a.feed(pgoutput.Insert(100, text("1", "x")))  # no Relation message described it


def test_positions_grow_in_commit_order_whatever_the_changes_own_lsns() -> None:
    # The second transaction committed later, though its changes were written first.
    assert positions.position(0x200, 0) > positions.position(0x100, 5_000_000)
    assert positions.split(positions.position(0x200, 7)) == (0x200, 7)


def test_the_slot_advances_only_past_wholly_confirmed_transactions() -> None:
    progress = Progress(slot_lsn=0x50)
    progress.seen([Transaction(0x100, 0x130, 3), Transaction(0x200, 0x230, 2)])
    assert progress.confirm(positions.position(0x100, 1)) is None  # one change of it is still out
    assert not progress.is_new(positions.position(0x100, 1)) and progress.is_new(positions.position(0x100, 2))
    assert progress.confirmed_in_partial() == 2
    assert progress.confirm(positions.position(0x100, 2)) == 0x130
    progress.advanced(0x130)
    assert progress.confirmed_in_partial() == 0
    # Confirming into the next transaction advances past the ones before it only.
    assert progress.confirm(positions.position(0x200, 0)) is None
    assert progress.confirm(positions.position(0x200, 1)) == 0x230
    progress.advanced(0x230)
    assert progress.confirm(positions.position(0x200, 1)) is None  # nothing further


def test_confirming_a_later_transaction_completes_earlier_ones() -> None:
    progress = Progress(slot_lsn=0)
    progress.seen([Transaction(0x100, 0x130, 3), Transaction(0x200, 0x230, 4)])
    assert progress.confirm(positions.position(0x200, 1)) == 0x130


def test_a_transaction_not_seen_whole_is_not_advanced_past() -> None:
    progress = Progress(slot_lsn=0)  # its Commit was never read: its size is unknown
    assert progress.confirm(positions.position(0x100, 9_999)) is None
    assert progress.confirmed_in_partial() == 10_000


def test_nothing_new_advances_to_what_the_peek_read() -> None:
    progress = Progress(slot_lsn=0x100)
    assert progress.nothing_new(0x100) is None
    assert progress.nothing_new(0x180) == 0x180


@pytest.mark.parametrize(("topic", "schema", "table"), [
    ("public.orders", "public", "orders"), ("orders", "public", "orders"), ("Sales.Order_2", "Sales", "Order_2"),
])  # fmt: skip
def test_plain_table_names(topic: str, schema: str, table: str) -> None:
    parsed = names.parse_table(topic)
    assert (parsed.topic, parsed.schema, parsed.name) == (topic, schema, table)


@pytest.mark.parametrize("topic", [
    'public."orders"', "public.orders; DROP TABLE x", "a.b.c", "", ".orders", "1abc", "public.ord ers",
    "x" * 64, "public.ordérs", "public.orders--",
])  # fmt: skip
def test_names_that_are_not_plain_are_refused(topic: str) -> None:
    with pytest.raises(ChangesUnavailable, match="plain"):
        names.parse_table(topic)


def test_slot_names_are_what_postgresql_accepts() -> None:
    assert names.object_name("3f2a5c1e-0000-4000-8000-00000000abcd") == "lamina_3f2a5c1e_0000_4000_8000_00000000abcd"
    long = names.object_name("M" * 100)
    assert len(long) == 63 and long.startswith("lamina_m") and long != names.object_name("M" * 101)


def test_messages_never_show_the_urls_password() -> None:
    db = Database("postgresql://app:hunter2@db.internal:5432/shop")
    error = db.unavailable("Cannot connect to PostgreSQL", RuntimeError('failed for "app" with hunter2'))
    assert str(error) == 'Cannot connect to PostgreSQL (postgresql://app:***@db.internal:5432/shop): failed for "app" with ***'
    in_query = Database("postgresql://db.internal/shop?user=app&password=s3cr3t")
    assert "s3cr3t" not in str(in_query.unavailable("Cannot connect", RuntimeError("s3cr3t")))
    assert "s3cr3t" not in in_query.scrub(in_query.url)
