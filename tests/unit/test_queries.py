"""Named SQL statements: how a file is read, what is refused, and that every dialect's files bind."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
from dataclasses import dataclass
from importlib import resources

import pytest

import lamina.store.sqlite
from lamina.store import queries
from lamina.store.queries import QueryFileError
from lamina.store.sqlite.engine import migrate


@dataclass(frozen=True)
class Pair:
    get_thing: str
    put_thing: str


GOOD = """-- Things: a header of comments is allowed.

-- name: get_thing
SELECT doc FROM things
WHERE id = ?

-- name: put_thing
-- a comment inside a block stays with it
INSERT INTO things (id, doc) VALUES (?, ?)
"""


def test_blocks_are_read_by_name() -> None:
    statements = queries.parse(GOOD, "things.sql")
    assert statements == {
        "get_thing": "SELECT doc FROM things\nWHERE id = ?",
        "put_thing": "-- a comment inside a block stays with it\nINSERT INTO things (id, doc) VALUES (?, ?)",
    }
    bound = queries.bind(Pair, statements, "things.sql")
    assert bound.get_thing.startswith("SELECT doc") and bound.put_thing.endswith("VALUES (?, ?)")


def test_a_name_the_dataclass_wants_and_the_file_lacks_is_refused() -> None:
    text = GOOD.split("-- name: put_thing")[0]
    with pytest.raises(QueryFileError, match="no statement named put_thing"):
        queries.bind(Pair, queries.parse(text, "things.sql"), "things.sql")


def test_a_name_the_dataclass_does_not_know_is_refused() -> None:
    text = GOOD + "\n-- name: drop_everything\nDROP TABLE things\n"
    with pytest.raises(QueryFileError, match="drop_everything not named by Pair"):
        queries.bind(Pair, queries.parse(text, "things.sql"), "things.sql")


def test_a_name_given_twice_is_refused() -> None:
    text = GOOD + "\n-- name: get_thing\nSELECT 1\n"
    with pytest.raises(QueryFileError, match=r"things.sql:\d+: 'get_thing' is named twice"):
        queries.parse(text, "things.sql")


@pytest.mark.parametrize("text, problem", [
    ("SELECT 1\n-- name: get_thing\nSELECT 2\n", "a statement before any '-- name:' line"),
    ("-- name: get_thing\n-- only a comment\n\n-- name: put_thing\nSELECT 1\n", "'get_thing' is empty"),
    ("-- name: get_thing\n", "'get_thing' is empty"),
    ("-- name: ../../etc/passwd\nSELECT 1\n", "is not a statement name"),
    ("-- name: get thing\nSELECT 1\n", "is not a statement name"),
    ("-- name: \nSELECT 1\n", "is not a statement name"),
    ("-- name: GetThing\nSELECT 1\n", "is not a statement name"),
    ("-- name: " + "a" * 65 + "\nSELECT 1\n", "is not a statement name"),
    ("-- name: get_thing\nSELECT '\x00'\n", "NUL"),
    ("-- name: get_thing\nSELECT '" + "x" * queries.MAX_FILE_BYTES + "'\n", "larger than"),
])  # fmt: skip
def test_hostile_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(QueryFileError, match=problem):
        queries.parse(text, "hostile.sql")


@pytest.mark.parametrize("dialect, aggregate", [("sqlite", "../sqlite/functions"), ("..", "functions"),
                                                ("sqlite", "functions.sql"), ("sqlite/../sqlite", "functions"),
                                                ("", "functions")])  # fmt: skip
def test_a_file_is_named_by_dialect_and_aggregate_only(dialect: str, aggregate: str) -> None:
    with pytest.raises(QueryFileError, match="not a statement file"):
        queries.load(Pair, dialect, aggregate)


def test_a_file_that_is_not_there_fails_to_load() -> None:
    with pytest.raises(FileNotFoundError):
        queries.load(Pair, "sqlite", "nothing_here")


LOG_READ_FRAGMENTS = {"chunks_of_streams", "chunks_from", "chunks_before", "chunks_in_order"}


def test_every_sqlite_statement_compiles_against_the_schema() -> None:
    """Each aggregate's statements bound at import; each is one statement SQLite can prepare on the
    migrated schema (a statement naming a missing table or column fails here, not in a request)."""
    conn = sqlite3.connect(":memory:")
    migrate(conn)
    files = {entry.name for entry in (resources.files("lamina.store") / "sql" / "sqlite").iterdir()
             if entry.name.endswith(".sql")}  # fmt: skip
    loaded = set()
    for module in pkgutil.iter_modules(lamina.store.sqlite.__path__):
        sql = getattr(importlib.import_module(f"lamina.store.sqlite.{module.name}"), "SQL", None)
        if sql is None:
            continue
        loaded.add(f"{module.name}.sql")
        for name, statement in vars(sql).items():
            if name in LOG_READ_FRAGMENTS:
                continue  # prepared below, as the read that joins them
            conn.execute(f"EXPLAIN {statement}", [None] * statement.count("?"))
    assert loaded == files  # no file left without the module that binds it
    logs = importlib.import_module("lamina.store.sqlite.logs").SQL
    read = "\n".join([logs.read_chunks, logs.chunks_of_streams, logs.chunks_from, logs.chunks_before,
                      logs.chunks_in_order])  # fmt: skip
    conn.execute(f"EXPLAIN {read}", [None] * read.count("?"))
