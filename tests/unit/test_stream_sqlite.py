"""The SQLite change reader on real files: triggers and change log, reading and confirming while
the user's application writes, names that try SQL, what drop leaves."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from lamina.streams import options as stream_options
from lamina.streams.change import ChangesUnavailable, Operation
from lamina.streams.options import Database
from lamina.streams.sqlite import open_reader


def make_db(path: Path, schema: str, *, wal: bool = False) -> Path:
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(schema)
    conn.close()
    return path


def test_column_names_that_hold_quotes_are_captured_as_they_are(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db", """CREATE TABLE t ("c""q" INTEGER PRIMARY KEY, 'it''s' TEXT, "a b" BLOB)""")

    async def run() -> None:
        reader = await open_reader(str(db), ["main.t"], "q1")
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("INSERT INTO t VALUES (7, 'x', x'01')")
        conn.close()
        (change,) = await reader.read(10, 1)
        assert change.keys == {'c"q': 7} and change.new == {'c"q': 7, "it's": "x", "a b": b"\x01"}
        await reader.drop()

    asyncio.run(run())


def test_reading_confirming_and_dropping(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db", "CREATE TABLE t (k TEXT, v INTEGER, b BLOB, r REAL, PRIMARY KEY (k, v)); "
                                    "CREATE TABLE \"x\"\"y\" (z)")  # fmt: skip

    async def run() -> None:
        reader = await open_reader(str(db), ["main.t"], "m1")
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("INSERT INTO t VALUES ('a', 1, x'00ff', 1e300)")
            conn.execute("INSERT INTO t VALUES ('b', 2, NULL, -0.5)")
        with conn:
            conn.execute("UPDATE t SET r = 2.5 WHERE k = 'a'")
            conn.execute("DELETE FROM t WHERE k = 'b'")
        changes = await reader.read(10, 1)
        assert [(c.operation, dict(c.keys)) for c in changes] == [
            (Operation.INSERT, {"k": "a", "v": 1}), (Operation.INSERT, {"k": "b", "v": 2}),
            (Operation.MODIFY, {"k": "a", "v": 1}), (Operation.REMOVE, {"k": "b", "v": 2}),
        ]  # fmt: skip
        assert changes[0].new == {"k": "a", "v": 1, "b": b"\x00\xff", "r": 1e300}
        assert changes[2].old is not None and changes[2].old["r"] == 1e300 and changes[2].new == {**changes[0].new, "r": 2.5}
        assert changes[3].new is None and changes[3].old == {"k": "b", "v": 2, "b": None, "r": -0.5}
        assert [c.position for c in changes] == sorted(c.position for c in changes)
        assert [c.table for c in changes] == ["main.t"] * 4
        assert [c.position for c in await reader.read(10, 0)] == [c.position for c in changes]  # again: not confirmed
        await reader.confirm(changes[1].position)
        assert [c.position for c in await reader.read(10, 0)] == [c.position for c in changes[2:]]
        assert reader.lag().backlog == 2
        await reader.close()
        again = await open_reader(str(db), ["main.t"], "m1")  # a restart: the log kept what was not confirmed
        assert [c.position for c in await again.read(10, 0)] == [c.position for c in changes[2:]]
        await again.drop()
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'lamina%'")}
        assert names == set()
        with conn:
            conn.execute("INSERT INTO t VALUES ('c', 3, NULL, NULL)")  # the user's table works as before
        conn.close()

    asyncio.run(run())


def test_the_users_writes_go_on_while_the_reader_reads_and_confirms(tmp_path: Path) -> None:
    for wal in (False, True):
        db = make_db(tmp_path / f"w{wal}.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)", wal=wal)
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                conn = sqlite3.connect(db, timeout=10)
                for i in range(300):
                    with conn:
                        conn.execute("INSERT INTO t VALUES (?, 0)", (i,))
                conn.close()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        async def run() -> list[int]:
            reader = await open_reader(str(db), ["main.t"], "c1")
            thread = threading.Thread(target=writer)
            thread.start()
            seen: list[int] = []
            while len(seen) < 300:
                changes = await reader.read(50, 0.2)
                if changes:
                    seen += [int(str(c.keys["id"])) for c in changes]
                    await reader.confirm(changes[-1].position)
            thread.join()
            await reader.close()
            return seen

        assert asyncio.run(run()) == list(range(300)) and errors == []


def test_table_names_that_are_not_plain_are_refused_before_any_sql(tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    for bad in ['main.t"; DROP TABLE t; --', "main.t;", "temp.t", "main.sqlite_master", "main.lamina_changes_x", "t"]:
        with pytest.raises(ChangesUnavailable, match="Invalid table name"):
            asyncio.run(open_reader(str(db), [bad], "n1"))
    with pytest.raises(ChangesUnavailable, match="Invalid reader name"):
        asyncio.run(open_reader(str(db), ["main.t"], "x; DROP"))
    body = {"SelfManagedEventSource": {"Endpoints": {"SQLITE_PATH": [str(db)]}}, "StartingPosition": "LATEST"}
    for bad in ['main.t"; DROP TABLE t; --', "main.1t", "main.t.u", "other.t"]:
        with pytest.raises(Exception, match="Invalid table name"):
            stream_options.parse({**body, "Topics": [bad]}, Database.SQLITE, created=0.0)
    with pytest.raises(Exception, match="absolute path"):
        stream_options.parse({**body, "SelfManagedEventSource": {"Endpoints": {"SQLITE_PATH": ["a.db"]}},
                              "Topics": ["main.t"]}, Database.SQLITE, created=0.0)  # fmt: skip
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


def test_a_path_with_uri_characters_is_the_file_it_names(tmp_path: Path) -> None:
    folder = tmp_path / "50% off?#x"
    folder.mkdir()
    db = make_db(folder / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY)")

    async def run() -> None:
        reader = await open_reader(str(db), ["main.t"], "p1")
        await reader.drop()

    asyncio.run(run())
    assert not (tmp_path / "50").exists()


def test_a_postgresql_urls_password_is_never_shown() -> None:
    body = {"SelfManagedEventSource": {"Endpoints": {"POSTGRESQL_URL": ["postgresql://app:s3cret@db:5432/shop"]}},
            "Topics": ["public.orders"], "StartingPosition": "LATEST"}  # fmt: skip
    options = stream_options.parse(body, Database.POSTGRESQL, created=0.0)
    assert options.endpoint == "postgresql://app:s3cret@db:5432/shop"  # kept, to connect with
    assert "s3cret" not in str(options.document()) and "s3cret" not in options.shown_endpoint
