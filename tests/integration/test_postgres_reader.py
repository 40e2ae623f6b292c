"""The PostgreSQL change reader against a real PostgreSQL (tests/postgres.py) through real psycopg:
what it reads, what confirming does to the slot, a restart, a large transaction, and the ways a
database can be unusable. No timing assertions: reads wait with deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import TypeVar

import psycopg
import pytest

from lamina.streams.change import Change, ChangesUnavailable, Operation
from lamina.streams.postgres import PostgresReader, open_reader
from tests.postgres import LOGICAL, PASSWORD, Postgres, postgres_db, postgres_server  # noqa: F401
from tests.postgres import scalar, sql, start_postgres

T = TypeVar("T")


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


async def read_until(reader: PostgresReader, count: int, limit: int = 100, confirm: bool = True) -> list[Change]:
    """Reads (and confirms, batch by batch) until ``count`` changes came; fails on an empty wait."""
    got: list[Change] = []
    while len(got) < count:
        batch = await reader.read(limit, 10)
        assert batch, f"no more changes after {len(got)} of {count}"
        got.extend(batch)
        if confirm:
            await reader.confirm(batch[-1].position)
    return got


@pytest.fixture
def url(postgres_server: Postgres, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)


@pytest.fixture
def orders(url: str) -> Iterator[str]:
    sql(url, "CREATE TABLE orders (id int PRIMARY KEY, item text, price numeric, tags jsonb, paid bool)",
        "ALTER TABLE orders REPLICA IDENTITY FULL")  # fmt: skip
    yield url


def slot_lsn(url: str, name: str) -> int:
    value = scalar(url, f"SELECT (confirmed_flush_lsn - '0/0')::text FROM pg_replication_slots "
                        f"WHERE slot_name = 'lamina_{name}'")  # fmt: skip
    assert isinstance(value, str)
    return int(value)


def test_changes_come_in_commit_order_with_keys_and_images(orders: str) -> None:
    async def scenario() -> list[Change]:
        reader = await open_reader(orders, ["public.orders"], "m1")
        assert reader.warnings == ()  # REPLICA IDENTITY FULL: old images come
        sql(orders,
            "INSERT INTO orders VALUES (1, 'book', 12.50, '{\"color\": \"red\", \"n\": 1.5}', false)",
            "BEGIN; UPDATE orders SET paid = true WHERE id = 1; INSERT INTO orders (id, item) VALUES (2, 'pen'); COMMIT",
            "DELETE FROM orders WHERE id = 1")  # fmt: skip
        changes = await read_until(reader, 4, confirm=False)
        await reader.close()
        return changes

    changes = run(scenario)
    assert [(c.operation, dict(c.keys)) for c in changes] == [
        (Operation.INSERT, {"id": 1}), (Operation.MODIFY, {"id": 1}),
        (Operation.INSERT, {"id": 2}), (Operation.REMOVE, {"id": 1}),
    ]  # fmt: skip
    inserted = {"id": 1, "item": "book", "price": Decimal("12.50"), "tags": {"color": "red", "n": Decimal("1.5")},
                "paid": False}  # fmt: skip
    assert changes[0].new == inserted and changes[0].old is None
    assert changes[1].old == inserted and changes[1].new == {**inserted, "paid": True}
    assert changes[3].new is None and changes[3].old == {**inserted, "paid": True}
    assert all(c.table == "public.orders" for c in changes)
    assert [c.position for c in changes] == sorted({c.position for c in changes})
    assert changes[1].committed_ms == changes[2].committed_ms  # one transaction


def test_reading_again_without_confirming_gives_the_same_and_confirming_gives_the_rest(orders: str) -> None:
    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m2")
        for i in range(5):
            sql(orders, f"INSERT INTO orders (id) VALUES ({i})")
        first = await reader.read(3, 10)
        assert [c.keys["id"] for c in first] == [0, 1, 2]
        assert await reader.read(3, 10) == first
        await reader.confirm(first[1].position)
        rest = await reader.read(10, 10)
        assert [c.keys["id"] for c in rest] == [2, 3, 4]
        await reader.confirm(rest[-1].position)
        assert await reader.read(10, 0.2) == []
        await reader.close()

    run(scenario)


def test_a_new_reader_resumes_after_the_last_wholly_confirmed_transaction(orders: str) -> None:
    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m3")
        sql(orders, "INSERT INTO orders (id) VALUES (1)",
            "BEGIN; INSERT INTO orders (id) VALUES (2); INSERT INTO orders (id) VALUES (3); COMMIT",
            "INSERT INTO orders (id) VALUES (4)")  # fmt: skip
        changes = await reader.read(10, 10)
        assert [c.keys["id"] for c in changes] == [1, 2, 3, 4]
        await reader.confirm(changes[1].position)  # the first transaction, and half the second
        assert [c.keys["id"] for c in await reader.read(10, 10)] == [3, 4]  # not again in this run
        await reader.close()  # Lamina stops

        again = await open_reader(orders, ["public.orders"], "m3")
        resumed = await again.read(10, 10)
        # The partly confirmed transaction comes again whole (at least once); the first does not.
        assert [c.keys["id"] for c in resumed] == [2, 3, 4]
        assert [c.position for c in resumed] == [c.position for c in changes[1:]]
        await again.confirm(resumed[-1].position)
        await again.close()

        third = await open_reader(orders, ["public.orders"], "m3")
        assert await third.read(10, 0.2) == []
        await third.drop()

    run(scenario)


def test_100000_row_changes_of_one_statement_are_read_completely_in_order(orders: str) -> None:
    async def scenario() -> list[Change]:
        reader = await open_reader(orders, ["public.orders"], "m4")
        sql(orders, "INSERT INTO orders (id, item) SELECT g, 'item ' || g FROM generate_series(1, 100000) AS g")
        changes = await read_until(reader, 100_000, limit=1000)
        assert await reader.read(10, 0.2) == []
        await reader.drop()
        return changes

    changes = run(scenario)
    assert len(changes) == 100_000
    assert [c.keys["id"] for c in changes] == list(range(1, 100_001))
    assert changes[-1].new == {"id": 100_000, "item": "item 100000", "price": None, "tags": None, "paid": None}
    assert all(a.position < b.position for a, b in zip(changes, changes[1:]))


def test_a_large_transaction_read_partly_comes_again_after_a_restart(orders: str) -> None:
    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m5")
        sql(orders, "INSERT INTO orders (id) SELECT g FROM generate_series(1, 45000) AS g",
            "INSERT INTO orders (id) VALUES (0)")  # fmt: skip
        first = await read_until(reader, 25_000, limit=5_000)  # past the reader's buffer of 20,000
        assert [c.keys["id"] for c in first] == list(range(1, len(first) + 1))
        await reader.close()
        again = await open_reader(orders, ["public.orders"], "m5")
        resumed = await read_until(again, 45_001, limit=5_000)
        assert [c.keys["id"] for c in resumed] == [*range(1, 45_001), 0]
        await again.drop()

    run(scenario)


def test_changes_of_other_tables_and_truncates_let_the_slot_advance(orders: str) -> None:
    sql(orders, "CREATE TABLE other (id int PRIMARY KEY)")

    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m6")
        start = slot_lsn(orders, "m6")
        sql(orders, "INSERT INTO other SELECT g FROM generate_series(1, 1000) AS g", "TRUNCATE orders")
        assert await reader.read(10, 0) == []
        assert slot_lsn(orders, "m6") > start  # PostgreSQL need not keep that WAL for the slot
        sql(orders, "INSERT INTO orders (id) VALUES (7)")
        assert [c.keys["id"] for c in await reader.read(10, 10)] == [7]
        await reader.drop()

    run(scenario)


def test_topics_changed_sets_the_publications_tables(orders: str) -> None:
    sql(orders, 'CREATE TABLE "Lines" (order_id int, n int, PRIMARY KEY (order_id, n))')

    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m7")
        await reader.close()
        reader = await open_reader(orders, ["Lines"], "m7")  # a plain name, taken exactly
        assert reader.warnings == ('Table public.Lines does not have REPLICA IDENTITY FULL, so its changes carry '
                                   'no old images (ALTER TABLE "public"."Lines" REPLICA IDENTITY FULL to get them)',)
        sql(orders, "INSERT INTO orders (id) VALUES (1)", 'INSERT INTO "Lines" VALUES (1, 2)')
        changes = await reader.read(10, 10)
        assert [(c.table, dict(c.keys)) for c in changes] == [("Lines", {"order_id": 1, "n": 2})]
        await reader.confirm(changes[-1].position)
        sql(orders, 'DELETE FROM "Lines"')
        deleted = await reader.read(10, 10)
        assert [(c.operation, dict(c.keys), c.old) for c in deleted] == [(Operation.REMOVE, {"order_id": 1, "n": 2}, None)]
        await reader.drop()

    run(scenario)
    assert scalar(orders, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'lamina_m7'") == 0


def test_drop_removes_the_slot_and_the_publication(orders: str) -> None:
    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m8")
        assert scalar(orders, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lamina_m8'") == 1
        assert scalar(orders, "SELECT count(*) FROM pg_publication WHERE pubname = 'lamina_m8'") == 1
        await reader.drop()

    run(scenario)
    assert scalar(orders, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lamina_m8'") == 0
    assert scalar(orders, "SELECT count(*) FROM pg_publication WHERE pubname = 'lamina_m8'") == 0


def unavailable(url: str, tables: list[str], name: str = "bad") -> str:
    async def scenario() -> str:
        with pytest.raises(ChangesUnavailable) as caught:
            await open_reader(url, tables, name)
        return str(caught.value)

    return run(scenario)


def test_missing_tables_and_tables_without_a_key_are_named(url: str) -> None:
    sql(url, "CREATE TABLE logbook (at timestamptz, line text)", "CREATE TABLE nothing (id int PRIMARY KEY)",
        "ALTER TABLE nothing REPLICA IDENTITY NOTHING")  # fmt: skip
    assert "Table public.absent does not exist" in unavailable(url, ["public.absent"])
    message = unavailable(url, ["logbook"])
    assert "public.logbook has no primary key" in message and "REPLICA IDENTITY FULL" in message
    assert "REPLICA IDENTITY NOTHING" in unavailable(url, ["nothing"])
    # Nothing was made for a mapping that could not start.
    assert scalar(url, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lamina_bad'") == 0
    # A table without a primary key but with REPLICA IDENTITY FULL is read, the whole row as its key.
    sql(url, "ALTER TABLE logbook REPLICA IDENTITY FULL")

    async def scenario() -> None:
        reader = await open_reader(url, ["logbook"], "full")
        sql(url, "INSERT INTO logbook VALUES ('2024-05-06 07:08:09+02', 'hello')")
        [change] = await reader.read(10, 10)
        assert change.keys == {"at": "2024-05-06 05:08:09+00", "line": "hello"}
        await reader.drop()

    run(scenario)


def test_hostile_table_names_are_refused_before_any_sql(url: str) -> None:
    sql(url, 'CREATE TABLE "x; DROP TABLE victim" (id int PRIMARY KEY)', "CREATE TABLE victim (id int PRIMARY KEY)")
    for topic in ["public.x; DROP TABLE victim", 'public."victim"', "public.victim--", "pg_catalog.pg_class.x",
                  "public.victim WHERE true"]:  # fmt: skip
        assert "not a plain schema.table name" in unavailable(url, [topic])
    assert scalar(url, "SELECT count(*) FROM pg_publication") == 0
    assert scalar(url, "SELECT count(*) FROM victim") == 0


def test_a_bad_password_is_reported_without_the_password(postgres_server: Postgres, url: str) -> None:
    wrong = postgres_server.url(url.rsplit("/", 1)[1], password="Wr0ngPassw0rd")
    message = unavailable(wrong, ["public.orders"])
    assert "password authentication failed" in message
    assert "Wr0ngPassw0rd" not in message and ":***@" in message
    message = unavailable(postgres_server.url("no_such_db"), ["public.orders"])
    assert 'database "no_such_db" does not exist' in message and PASSWORD not in message


def test_a_role_without_replication_is_told_what_it_needs(postgres_server: Postgres, url: str) -> None:
    sql(url, "CREATE ROLE reader_role LOGIN PASSWORD 'rolepw'", "CREATE TABLE t (id int PRIMARY KEY)",
        "ALTER TABLE t OWNER TO reader_role")  # fmt: skip
    message = unavailable(postgres_server.url(url.rsplit("/", 1)[1], user="reader_role", password="rolepw"), ["t"])
    assert "reader_role" in message and "REPLICATION" in message and "rolepw" not in message
    sql(url, "DROP TABLE t", "DROP ROLE reader_role")


def test_wal_level_other_than_logical_is_reported() -> None:
    server = start_postgres({**LOGICAL, "wal_level": "replica"})
    try:
        server.psql("CREATE TABLE orders (id int PRIMARY KEY)")
        message = unavailable(server.url(), ["public.orders"])
        assert "wal_level is 'replica'" in message and "wal_level = logical" in message
        assert "restart" in message and "REPLICATION" in message and "superuser" in message
    finally:
        server.remove()


def test_a_database_that_goes_away_is_unavailable_then_read_again() -> None:
    server = start_postgres()
    try:
        server.psql("CREATE TABLE orders (id int PRIMARY KEY)")
        url = server.url()

        async def scenario() -> None:
            reader = await open_reader(url, ["public.orders"], "away")
            sql(url, "INSERT INTO orders VALUES (1)")
            first = await reader.read(10, 10)
            server.stop()
            with pytest.raises(ChangesUnavailable) as caught:
                await reader.confirm(first[0].position)
            assert "Cannot advance the replication slot lamina_away" in str(caught.value)
            assert PASSWORD not in str(caught.value)
            with pytest.raises(ChangesUnavailable, match="Cannot connect to PostgreSQL"):
                await reader.read(10, 0)
            server.start()
            sql(url, "INSERT INTO orders VALUES (2)")
            # The confirmed change is not read again; the slot's advance happens on the next read.
            assert [c.keys["id"] for c in await reader.read(10, 10)] == [2]
            await reader.drop()

        run(scenario)
    finally:
        server.remove()


def test_interleaved_transactions_come_in_commit_order(orders: str) -> None:
    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders"], "m9")
        with psycopg.connect(orders) as slow, psycopg.connect(orders) as quick:
            slow.execute("INSERT INTO orders (id) VALUES (1)")  # its transaction stays open
            quick.execute("INSERT INTO orders (id) VALUES (2)")
            quick.commit()
            slow.execute("INSERT INTO orders (id) VALUES (3)")
            slow.commit()
        changes = await read_until(reader, 3, confirm=False)
        # The first change written is delivered second: its transaction committed later.
        assert [c.keys["id"] for c in changes] == [2, 1, 3]
        assert changes[0].position < changes[1].position < changes[2].position
        await reader.drop()

    run(scenario)


def test_several_tables_in_one_reader(orders: str) -> None:
    sql(orders, "CREATE SCHEMA shop", "CREATE TABLE shop.stock (sku text PRIMARY KEY, n int)")

    async def scenario() -> None:
        reader = await open_reader(orders, ["public.orders", "shop.stock"], "m10")
        sql(orders, "BEGIN; INSERT INTO shop.stock VALUES ('a-1', 5); INSERT INTO orders (id) VALUES (1); COMMIT")
        changes = await read_until(reader, 2)
        assert [(c.table, dict(c.keys)) for c in changes] == [("shop.stock", {"sku": "a-1"}), ("public.orders", {"id": 1})]
        await reader.drop()

    run(scenario)


def test_a_large_value_left_unchanged_by_an_update(url: str) -> None:
    # STORAGE EXTERNAL: kept out of line (TOAST) uncompressed, so PostgreSQL leaves it out of an
    # update's change when it did not change.
    sql(url, "CREATE TABLE docs (id int PRIMARY KEY, body text, n int)",
        "ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL",
        "CREATE TABLE full_docs (LIKE docs INCLUDING ALL)", "ALTER TABLE full_docs REPLICA IDENTITY FULL")  # fmt: skip
    body = "x" * 10_000

    async def scenario() -> None:
        reader = await open_reader(url, ["docs", "full_docs"], "toast")
        for table in ("docs", "full_docs"):
            sql(url, f"INSERT INTO {table} VALUES (1, '{body}', 0)", f"UPDATE {table} SET n = 1")
        changes = await read_until(reader, 4)
        inserted, updated, full_inserted, full_updated = changes
        assert inserted.new == {"id": 1, "body": body, "n": 0}
        assert updated.new == {"id": 1, "n": 1}  # the unchanged large value is not in the change
        assert full_inserted.new == {"id": 1, "body": body, "n": 0}
        assert full_updated.new == {"id": 1, "body": body, "n": 1}  # taken from the old row
        assert full_updated.old == {"id": 1, "body": body, "n": 0}
        await reader.drop()

    run(scenario)
