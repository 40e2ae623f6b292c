"""The Store contract, for the real SQLite store and the in-memory fake alike."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from lamina.errors import PreconditionFailed, ResourceConflict, ResourceNotFound
from lamina.model import Code, FunctionConfig, State
from lamina.store.base import InvocationRecord, LogRecord, Store
from lamina.store.memory import MemoryStore
from lamina.store.sqlite import SqliteStore, migrate


def function(name: str, revision: str = "r1") -> FunctionConfig:
    return FunctionConfig(
        name=name, runtime="python3.11", handler="app.handler", role="arn:aws:iam::000000000000:role/x",
        code=Code("ab" * 32, "q83v", 10), environment={"K": "v"}, revision_id=revision, state=State.ACTIVE,
    )  # fmt: skip


StoreFactory = Callable[[Path], Store]
FACTORIES: dict[str, StoreFactory] = {
    "sqlite": lambda tmp: SqliteStore(tmp / "db" / "lamina.db"),
    "memory": lambda tmp: MemoryStore(),
}


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return FACTORIES[request.param](tmp_path)


def test_function_lifecycle(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.create_function(function("b"))
            await store.create_function(function("a"))
            with pytest.raises(ResourceConflict):
                await store.create_function(function("a"))
            assert await store.get_function("a") == function("a")
            assert [f.name for f in await store.list_functions(None, 10)] == ["a", "b"]
            assert [f.name for f in await store.list_functions("a", 10)] == ["b"]
            assert [f.name for f in await store.list_functions(None, 1)] == ["a"]

            await store.put_function(dataclasses.replace(function("a"), revision_id="r2"), expected_revision="r1")
            with pytest.raises(PreconditionFailed):
                await store.put_function(function("a", "r3"), expected_revision="r1")
            with pytest.raises(ResourceNotFound):
                await store.put_function(function("zzz"))
            assert (await store.get_function("a")).revision_id == "r2"  # type: ignore[union-attr]

            assert await store.code_in_use() == {"ab" * 32}
            assert (await store.delete_function("a")) is not None
            assert await store.delete_function("a") is None
            assert await store.get_function("a") is None
        finally:
            await store.close()
            await store.close()  # safe twice

    asyncio.run(scenario())


def test_logs_and_invocations(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.append_logs([LogRecord("f", "s", 1, "one"), LogRecord("g", "s", 2, "other"),
                                     LogRecord("f", "s", 3, "two")])  # fmt: skip
            events = await store.read_logs("f", 0, 10)
            assert [e.message for e in events] == ["one", "two"]
            assert [e.message for e in await store.read_logs("f", events[0].cursor, 10)] == ["two"]
            record = InvocationRecord("id", "f", "$LATEST", 5, 1.5, 2, 128, 30, None, "success")
            await store.record_invocations([record])
            assert await store.list_invocations("f") == [record]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    async def write() -> None:
        store = SqliteStore(tmp_path / "lamina.db")
        await store.open()
        await store.create_function(function("kept"))
        await store.close()

    async def read() -> FunctionConfig | None:
        store = SqliteStore(tmp_path / "lamina.db")
        await store.open()
        try:
            return await store.get_function("kept")
        finally:
            await store.close()

    asyncio.run(write())
    assert asyncio.run(read()) == function("kept")


def test_migrations_are_applied_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        version = migrate(conn)
        assert version >= 1
        assert migrate(conn) == version
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"functions", "log_events", "invocations"} <= tables
    finally:
        conn.close()
