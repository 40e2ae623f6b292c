"""The Store contract, for the real SQLite and PostgreSQL stores and the in-memory fake alike (PostgreSQL's
runs on tests/postgres.py's server, a database a test, and is skipped where PostgreSQL is not installed)."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from lamina.model import Code, FunctionConfig, State
from lamina.store.base import LOG_EVENT_OVERHEAD, InvocationRecord, LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.base import MetricCount, Resource
from lamina.store.aggregates import Store
from lamina.store.errors import ALIAS, FUNCTION, Conflict, NotFound, StaleRevision
from lamina.store.memory import MemoryStore
from lamina.store.sqlite import SqliteStore, migrate
from lamina.store.sqlite.engine import _migrations
from lamina.store.postgresql import PostgresStore
from tests.postgres import Postgres, postgres_db, postgres_server  # noqa: F401


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


@pytest.fixture(params=[*sorted(FACTORIES), "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "postgresql":  # a database of the test's own on the session's server
        server: Postgres = request.getfixturevalue("postgres_server")
        return PostgresStore(server.url(request.getfixturevalue("postgres_db")))
    return FACTORIES[request.param](tmp_path)


def test_function_lifecycle(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.create_function(function("b"))
            await store.create_function(function("a"))
            with pytest.raises(Conflict):
                await store.create_function(function("a"))
            assert await store.get_function("a") == function("a")
            assert [f.name for f in await store.list_functions(None, 10)] == ["a", "b"]
            assert [f.name for f in await store.list_functions("a", 10)] == ["b"]
            assert [f.name for f in await store.list_functions(None, 1)] == ["a"]

            await store.put_function(dataclasses.replace(function("a"), revision_id="r2"), expected_revision="r1")
            with pytest.raises(StaleRevision):
                await store.put_function(function("a", "r3"), expected_revision="r1")
            with pytest.raises(NotFound) as missing:
                await store.put_function(function("zzz"))
            assert (missing.value.kind, missing.value.function, missing.value.qualifier) == (FUNCTION, "zzz", None)
            assert (await store.get_function("a")).revision_id == "r2"  # type: ignore[union-attr]

            assert await store.code_in_use() == {"ab" * 32}
            assert (await store.delete_function("a")) is not None
            assert await store.delete_function("a") is None
            assert await store.get_function("a") is None
        finally:
            await store.close()
            await store.close()  # safe twice

    asyncio.run(scenario())


def test_resources_change_together_by_kind_and_key(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            api, route = Resource("api", "a1", {"Name": "one"}), Resource("route", "a1/r1", {"k": [1]})
            other = Resource("route", "a10/r", {})
            await store.change_resources([api, route, other, Resource("route", "a1/r2", {})])
            assert await store.list_resources("api") == [api]
            assert [r.key for r in await store.list_resources("route")] == ["a1/r1", "a1/r2", "a10/r"]
            renamed = Resource("api", "a1", {"Name": "two"})
            await store.change_resources([renamed], deletes=[("route", "a1/r2"), ("route", "absent")])
            assert await store.list_resources("api") == [renamed]
            # A prefix is literal: "a1/" neither matches "a10/..." nor treats % or _ as wildcards.
            await store.change_resources([Resource("route", "a_%/x", {})])
            await store.change_resources(delete_prefixes=[("route", "a1/"), ("route", "a_")])
            assert [r.key for r in await store.list_resources("route")] == ["a10/r"]
            with pytest.raises(TypeError):  # not JSON: nothing of the change is applied
                await store.change_resources([Resource("api", "b", {"x": object()})], deletes=[("api", "a1")])
            assert await store.list_resources("api") == [renamed]
        finally:
            await store.close()

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
            through_alias = InvocationRecord("id2", "f", "3", 6, 2.5, 3, 256, 40, 120.5, "ValueError", qualifier="live")
            await store.record_invocations([record, through_alias])
            assert await store.list_invocations("f") == [record, through_alias]
            assert await store.list_invocations("f", since_ms=6) == [through_alias]
            assert await store.list_invocations("f", since_ms=7) == []
        finally:
            await store.close()

    asyncio.run(scenario())


def test_invocations_by_time_and_metric_counts(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            early = InvocationRecord("a", "f", "$LATEST", 1_000, 1.0, 1, 128, 30, None, "success")
            late = InvocationRecord("b", "g", "2", 61_000, 1.0, 1, 128, 30, None, "success", qualifier="live")
            await store.record_invocations([late, early])
            assert await store.read_invocations(0, 61_000) == [early]  # the end is exclusive
            assert await store.read_invocations(1_000, 70_000) == [early, late]
            assert await store.read_invocations(0, 70_000, "g") == [late]
            assert sorted(await store.invocation_series(0), key=str) == [("f", None, "$LATEST"), ("g", "live", "2")]
            assert await store.invocation_series(2_000) == [("g", "live", "2")]
            # Counts of one (function, qualifier, metric, minute) add up, across batches.
            await store.add_metric_counts([MetricCount("f", "", "Throttles", 0, 2), MetricCount("f", "live", "Throttles", 0, 1)])
            await store.add_metric_counts([MetricCount("f", "", "Throttles", 0, 3), MetricCount("f", "", "Throttles", 60_000, 1)])
            assert sorted(await store.read_metric_counts(0, 60_000), key=lambda c: c.qualifier) == [
                MetricCount("f", "", "Throttles", 0, 5), MetricCount("f", "live", "Throttles", 0, 1)]
            assert await store.read_metric_counts(60_000, 120_000) == [MetricCount("f", "", "Throttles", 60_000, 1)]
        finally:
            await store.close()

    asyncio.run(scenario())


def line(function: str, timestamp_ms: int, size: int = 100) -> LogRecord:
    """A log line that counts for ``size`` bytes (its event overhead included)."""
    return LogRecord(function, "s", timestamp_ms, "x" * (size - LOG_EVENT_OVERHEAD))


def test_logs_are_read_by_stream_and_time_and_summarized_by_stream(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.append_logs([LogRecord("f", "a", 10, "a10"), LogRecord("f", "b", 20, "b20"),
                                     LogRecord("g", "a", 25, "g25"), LogRecord("f", "a", 30, "a30")])  # fmt: skip
            await store.append_logs([LogRecord("f", "b", 40, "b40"), LogRecord("f", "a", 50, "a50")])
            read = store.read_logs
            assert [e.message for e in await read("f", 0, 10, LogWindow(frozenset({"a"})))] == ["a10", "a30", "a50"]
            # By cursor: in the order the lines were appended, whatever their streams.
            assert [e.message for e in await read("f", 0, 10, LogWindow(start_ms=20, end_ms=50))] == ["b20", "a30",
                                                                                                     "b40"]  # fmt: skip
            assert [e.message for e in await read("f", 0, 2, LogWindow(frozenset({"b", "x"}), start_ms=0))] == [
                "b20", "b40"]  # fmt: skip
            assert await read("f", 0, 10, LogWindow(frozenset())) == []
            assert await read("f", 0, 10, LogWindow(start_ms=51)) == []
            first = await read("f", 0, 1, LogWindow(frozenset({"a"}), start_ms=20))
            assert [e.message for e in first] == ["a30"]
            rest = await read("f", first[0].cursor, 10, LogWindow(frozenset({"a"}), start_ms=20))
            assert [e.message for e in rest] == ["a50"]  # goes on after the cursor
            assert await store.log_streams("f") == [LogStreamSummary("a", 10, 50, 3 * (LOG_EVENT_OVERHEAD + 3)),
                                                    LogStreamSummary("b", 20, 40, 2 * (LOG_EVENT_OVERHEAD + 3))]  # fmt: skip
            assert await store.log_streams("nobody") == []
            assert await store.logged_functions() == [("f", 5 * (LOG_EVENT_OVERHEAD + 3)), ("g", LOG_EVENT_OVERHEAD + 3)]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_logs_are_kept_within_a_size_per_function(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            for t in range(10):
                await store.append_logs([line("f", t)])  # a chunk each
            assert await store.log_bytes("f") == 1000
            first = await store.read_logs("f", 0, 100)
            # One more line of f and one of g, kept to 550 bytes a function: f's six oldest go.
            await store.append_logs([line("f", 10), LogRecord("g", "s", 10, "é" * 10)], max_function_bytes=550)
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [6, 7, 8, 9, 10]
            assert await store.log_bytes("f") == 500
            assert await store.log_bytes("g") == 20 + LOG_EVENT_OVERHEAD  # UTF-8 bytes, not characters
            # Cursors do not move: a reader goes on from where it was.
            assert [e.timestamp_ms for e in await store.read_logs("f", first[7].cursor, 100)] == [8, 9, 10]

            assert await store.trim_logs(200) == 3  # f's three oldest; g is within the limit
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [9, 10]
            assert await store.log_bytes("f") == 200
            assert await store.trim_logs(200) == 0
            assert await store.log_bytes("nobody") == 0
            await store.append_logs([line("f", 11, size=300)], max_function_bytes=200)
            assert await store.read_logs("f", 0, 100) == []  # a line larger than the limit is not kept either
            assert await store.log_bytes("f") == 0
        finally:
            await store.close()

    asyncio.run(scenario())


def test_trims_remove_whole_chunks_and_readers_go_on(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.append_logs([line("f", t) for t in range(5)])  # one chunk: 500 bytes
            await store.append_logs([line("f", t) for t in range(5, 8)] + [line("g", 1)])  # f's second: 300
            before = await store.read_logs("f", 0, 100)
            assert [e.timestamp_ms for e in before] == list(range(8))
            # 900 bytes kept to 450: the first chunk goes whole, leaving the log under its limit.
            await store.append_logs([line("f", 8)], max_function_bytes=450)
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [5, 6, 7, 8]
            assert await store.log_bytes("f") == 400
            # A cursor from inside the removed chunk goes on from the oldest line kept ...
            assert [e.timestamp_ms for e in await store.read_logs("f", before[2].cursor, 100)] == [5, 6, 7, 8]
            # ... and one from inside a kept chunk from the line after it.
            assert [e.timestamp_ms for e in await store.read_logs("f", before[6].cursor, 100)] == [7, 8]
            assert [e.cursor for e in await store.read_logs("f", 0, 100)] == [e.cursor for e in before[5:]] + [
                (await store.read_logs("f", before[7].cursor, 1))[0].cursor
            ]
            assert await store.trim_logs(350) == 3  # the chunk of 5, 6 and 7
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [8]
            assert [e.timestamp_ms for e in await store.read_logs("g", 0, 100)] == [1]  # within its limit
            assert (await store.log_bytes("f"), await store.log_bytes("g")) == (100, 100)
            # A batch larger than the limit is written in chunks within it: its newest lines stay.
            await store.append_logs([line("h", t) for t in range(10)], max_function_bytes=250)
            assert [e.timestamp_ms for e in await store.read_logs("h", 0, 100)] == [8, 9]
            await store.append_logs([line("h", 10, size=300), line("h", 11)], max_function_bytes=250)
            assert [e.timestamp_ms for e in await store.read_logs("h", 0, 100)] == [11]  # a line alone
        finally:
            await store.close()

    asyncio.run(scenario())


def test_old_logs_expire_a_chunk_at_a_time(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            await store.append_logs([line("f", t) for t in (1, 2, 3)])
            await store.append_logs([line("f", 4), line("g", 2)])
            await store.append_logs([line("f", 4), line("f", 6)])  # one line old, one not: the chunk is kept
            await store.append_logs([line("g", 8)])
            last = (await store.read_logs("g", 0, 100))[-1].cursor
            assert await store.expire_logs(before_ms=5, limit=2) == 3  # f's first chunk, whole
            assert await store.expire_logs(before_ms=5, limit=2) == 2  # f's 4, then g's 2
            assert await store.expire_logs(before_ms=5, limit=2) == 0
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [4, 6]
            assert [e.timestamp_ms for e in await store.read_logs("g", 0, 100)] == [8]
            assert (await store.log_bytes("f"), await store.log_bytes("g")) == (200, 100)
            assert await store.expire_logs(before_ms=100, limit=10) == 3
            assert (await store.log_bytes("f"), await store.log_bytes("g")) == (0, 0)
            await store.append_logs([line("f", 1)])  # cursors are never reused
            assert [e.timestamp_ms for e in await store.read_logs("f", 0, 100)] == [1]
            assert (await store.read_logs("f", 0, 100))[0].cursor > last
        finally:
            await store.close()

    asyncio.run(scenario())


def test_reads_return_exactly_the_limit_across_chunks(store: Store) -> None:
    async def scenario() -> None:
        await store.open()
        try:
            # A batch of two streams interleaved (a chunk per run: five of one line), then more: a chunk
            # of one line, then one of four.
            await store.append_logs([LogRecord("f", "a" if t % 2 else "b", t, str(t)) for t in range(5)]
                                    + [LogRecord("g", "a", 0, "other")])  # fmt: skip
            await store.append_logs([LogRecord("f", "a", 5, "5")])
            await store.append_logs([LogRecord("f", "b", t, str(t)) for t in range(6, 10)])
            every = await store.read_logs("f", 0, 100)
            # In the order they were appended, whatever their streams.
            assert [(e.stream, e.message) for e in every] == [("b", "0"), ("a", "1"), ("b", "2"), ("a", "3"),
                ("b", "4"), ("a", "5"), ("b", "6"), ("b", "7"), ("b", "8"), ("b", "9")]  # fmt: skip
            cursors = [e.cursor for e in every]
            assert cursors == sorted(set(cursors))
            for limit in range(1, 12):
                paged: list[LogEvent] = []
                since = 0
                while page := await store.read_logs("f", since, limit):
                    assert len(page) == min(limit, len(every) - len(paged))  # exactly the limit while there are more
                    paged += page
                    since = page[-1].cursor
                assert paged == every
            for i, event in enumerate(every):
                assert await store.read_logs("f", event.cursor, 3) == every[i + 1 : i + 4]
            assert await store.read_logs("f", cursors[-1] + 1, 10) == []
            assert await store.read_logs("f", 2**62, 10) == []
            assert await store.read_logs("f", -5, 2) == every[:2]
            assert await store.read_logs("f", 0, 0) == []
        finally:
            await store.close()

    asyncio.run(scenario())


def test_lines_keep_any_text_and_huge_ones_fit(store: Store) -> None:
    from lamina.store.base import log_event_size
    from lamina.store.log_chunks import CHUNK_BYTES

    odd = ["", "\x00", "a\x00b\n", "\n\n", "\r\n", "\ufffd bytes that were not UTF-8 \ufffd", "é" * 3, "🎉",
           "\x00" * 13, "x" * (3 * CHUNK_BYTES), "y"]  # fmt: skip

    async def scenario() -> None:
        await store.open()
        try:
            await store.append_logs([LogRecord("f", "s", -t if t % 2 else 2**60, m) for t, m in enumerate(odd)])
            got = await store.read_logs("f", 0, 100)
            assert [e.message for e in got] == odd
            assert [e.timestamp_ms for e in got] == [-t if t % 2 else 2**60 for t in range(len(odd))]
            assert await store.log_bytes("f") == sum(log_event_size(m) for m in odd)
            per_chunk = CHUNK_BYTES // (LOG_EVENT_OVERHEAD + 10)
            many = [LogRecord("g", "s", t, f"line {t:04}\n") for t in range(2 * per_chunk + 5)]  # three chunks
            await store.append_logs(many)
            read = await store.read_logs("g", 0, len(many) + 1)
            assert [e.message for e in read] == [r.message for r in many]
            assert [e.cursor for e in read] == sorted({e.cursor for e in read})
            assert await store.read_logs("g", read[per_chunk - 1].cursor, 2) == read[per_chunk : per_chunk + 2]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_log_limits_migration_counts_the_lines_already_stored(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    try:
        for number, sql in _migrations():
            if number < 9:
                conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {number}; COMMIT;")
        conn.executemany(
            "INSERT INTO log_events (function, stream, timestamp_ms, message) VALUES (?, 's', 1, ?)",
            [("f", "abc"), ("f", "é"), ("g", "")],
        )
        assert migrate(conn) >= 9
        assert dict(conn.execute("SELECT function, bytes FROM log_usage").fetchall()) == {"f": 3 + 2 + 52, "g": 26}
    finally:
        conn.close()


def test_the_chunks_migration_moves_every_line_in_order(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "lamina.db", isolation_level=None)
    try:
        for number, sql in _migrations():
            if number < 16:
                conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {number}; COMMIT;")
        # Lines of two functions and three streams interleaved, more than one chunk's worth of
        # cursors, any text; cursors that start high (a database that has seen many lines).
        lines = [(3_000_000 + i, "fg"[i % 7 == 0], f"s{i % 3}", 1000 + i, f"{i}\x00é\n" * (i % 4)) for i in range(700)]
        conn.executemany(
            "INSERT INTO log_events (cursor, function, stream, timestamp_ms, message, size) VALUES (?, ?, ?, ?, ?, ?)",
            [(*row, len(row[4].encode()) + LOG_EVENT_OVERHEAD) for row in lines],
        )
        conn.execute("DELETE FROM log_events WHERE cursor = ?", (3_000_699,))  # its cursor was handed out
        del lines[-1]
        conn.execute("INSERT INTO log_usage SELECT function, SUM(size) FROM log_events GROUP BY function")
        usage = dict(conn.execute("SELECT function, bytes FROM log_usage").fetchall())
        assert migrate(conn) >= 16
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "log_chunks" in tables and "log_events" not in tables
        assert dict(conn.execute("SELECT function, bytes FROM log_usage").fetchall()) == usage
        assert conn.execute("SELECT MAX(lines) FROM log_chunks").fetchone()[0] <= 256
    finally:
        conn.close()

    async def read() -> dict[str, list[LogEvent]]:
        store = SqliteStore(tmp_path / "lamina.db")
        await store.open()
        try:
            return {f: await store.read_logs(f, 0, 1000) for f in "fg"}
        finally:
            await store.close()

    moved = asyncio.run(read())
    for function in "fg":
        cursors = [e.cursor for e in moved[function]]
        assert cursors == sorted(set(cursors))
        for stream in ("s0", "s1", "s2"):
            assert [(e.timestamp_ms, e.message) for e in moved[function] if e.stream == stream] == [
                (t, m) for _, f, s, t, m in lines if (f, s) == (function, stream)
            ]
        assert min(e.cursor for e in moved[function]) > 3_000_699  # beyond every cursor handed out


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
        assert {"functions", "log_chunks", "invocations"} <= tables
    finally:
        conn.close()


def test_tags_policies_and_event_invoke_configs_belong_to_their_function(store: Store) -> None:
    from lamina.model import EventInvokeConfig, FunctionPolicy, PolicyStatement

    statement = PolicyStatement("s", {"Service": "s3.amazonaws.com"}, "lambda:InvokeFunction", "arn:f",
                                {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}})  # fmt: skip
    config = EventInvokeConfig("f", "$LATEST", 1, None, None, "arn:aws:sqs:us-east-1:000000000000:q", 12.5)

    async def scenario() -> None:
        await store.open()
        try:
            await store.create_function(function("f"))
            await store.put_tags("f", {"b": "2", "a": "1"})
            assert await store.get_tags("f") == {"a": "1", "b": "2"}
            await store.put_tags("f", {"c": "3"})  # replaces the set
            assert await store.get_tags("f") == {"c": "3"}

            policy = FunctionPolicy("f", "$LATEST", (statement,), "p1")
            await store.put_policy(policy, expected_revision=None)
            assert await store.get_policy("f", "$LATEST") == policy
            assert await store.get_policy("f", "1") is None
            with pytest.raises(StaleRevision):
                await store.put_policy(FunctionPolicy("f", "$LATEST", (), "p2"), expected_revision="stale")
            with pytest.raises(StaleRevision):  # one exists: None is stale too
                await store.put_policy(FunctionPolicy("f", "$LATEST", (), "p2"), expected_revision=None)
            await store.put_policy(FunctionPolicy("f", "$LATEST", (), "p2"), expected_revision="p1")
            assert await store.get_policy("f", "$LATEST") is None  # no statements left: gone
            await store.put_policy(policy, expected_revision=None)

            await store.put_event_invoke_config(config)
            await store.put_event_invoke_config(dataclasses.replace(config, qualifier="live"))
            assert await store.list_event_invoke_configs("f") == [config, dataclasses.replace(config, qualifier="live")]
            await store.delete_event_invoke_config("f", "live")
            await store.delete_event_invoke_config("f", "live")  # not there: not an error
            assert await store.list_event_invoke_configs(None) == [config]

            for write in (store.put_tags("gone", {"a": "1"}),
                          store.put_policy(dataclasses.replace(policy, function="gone"), expected_revision=None),
                          store.put_event_invoke_config(dataclasses.replace(config, function="gone"))):  # fmt: skip
                with pytest.raises(NotFound):
                    await write

            await store.put_function(dataclasses.replace(function("f"), revision_id="r2"))  # an update keeps them
            assert await store.get_tags("f") == {"c": "3"}
            await store.delete_function("f")
            await store.create_function(function("f"))  # the same name again starts with nothing
            assert await store.get_tags("f") == {}
            assert await store.get_policy("f", "$LATEST") is None
            assert await store.list_event_invoke_configs("f") == []
        finally:
            await store.close()

    asyncio.run(scenario())


def test_function_urls_belong_to_their_function(store: Store, tmp_path: Path) -> None:
    from lamina.model import FunctionUrlConfig, InvokeMode, UrlAuthType, UrlCors

    cors = UrlCors(allow_origins=("https://a.example",), allow_methods=("GET",), max_age=5, allow_credentials=True)
    url = FunctionUrlConfig("f", "$LATEST", "a" * 32, UrlAuthType.NONE, cors=cors, created="t0", last_modified="t0")

    async def scenario() -> None:
        await store.open()
        try:
            with pytest.raises(NotFound):
                await store.create_function_url(url)  # no such function
            await store.create_function(function("f"))
            await store.create_function(function("g"))
            await store.create_function_url(url)
            with pytest.raises(Conflict):
                await store.create_function_url(dataclasses.replace(url, url_id="b" * 32))
            with pytest.raises(Conflict):  # url-ids are unique
                await store.create_function_url(dataclasses.replace(url, function="g"))
            other = FunctionUrlConfig("g", "$LATEST", "c" * 32, UrlAuthType.AWS_IAM, InvokeMode.RESPONSE_STREAM)
            await store.create_function_url(other)
            assert await store.list_function_urls() == [url, other]

            changed = dataclasses.replace(url, auth_type=UrlAuthType.AWS_IAM, cors=None, last_modified="t1")
            await store.put_function_url(changed)
            with pytest.raises(NotFound):
                await store.put_function_url(dataclasses.replace(url, qualifier="live"))
            assert await store.list_function_urls() == [changed, other]

            await store.delete_function("f")  # its URL goes with it
            assert await store.list_function_urls() == [other]
            await store.delete_function_url("g", "$LATEST")
            await store.delete_function_url("g", "$LATEST")  # not an error
            assert await store.list_function_urls() == []
        finally:
            await store.close()

    asyncio.run(scenario())


def test_versions_and_aliases_belong_to_their_function(store: Store) -> None:
    from lamina.model import Alias

    async def scenario() -> None:
        await store.open()
        try:
            await store.create_function(function("f"))
            one = dataclasses.replace(function("f"), version="1", revision_id="v1",
                                      code=Code("cd" * 32, "zzzz", 10))  # fmt: skip
            two = dataclasses.replace(function("f"), version="2", revision_id="v2", state=State.PENDING)
            await store.put_version(two)
            await store.put_version(one)
            assert await store.list_versions("f") == [one, two]
            assert await store.last_version("f") == 2
            await store.put_version(dataclasses.replace(two, state=State.ACTIVE))  # replaced in place
            assert [v.state for v in await store.list_versions("f")] == [State.ACTIVE, State.ACTIVE]
            assert await store.code_in_use() == {"ab" * 32, "cd" * 32}  # a version's code is in use
            await store.delete_version("f", "2")
            await store.delete_version("f", "2")  # not an error
            assert [v.version for v in await store.list_versions("f")] == ["1"]
            assert await store.last_version("f") == 2  # numbers are never handed out again
            with pytest.raises(NotFound):
                await store.put_version(dataclasses.replace(one, name="nope"))

            live = Alias("f", "live", "1", "production", {"2": 0.25}, "a1")
            await store.create_alias(live)
            await store.create_alias(Alias("f", "beta", "$LATEST", revision_id="b1"))
            with pytest.raises(Conflict):
                await store.create_alias(live)
            with pytest.raises(NotFound):
                await store.create_alias(Alias("nope", "live", "1", revision_id="x"))
            assert [a.name for a in await store.list_aliases("f")] == ["beta", "live"]
            assert (await store.list_aliases("f"))[1] == live
            moved = dataclasses.replace(live, function_version="$LATEST", weights={}, revision_id="a2")
            with pytest.raises(StaleRevision):
                await store.put_alias(moved, expected_revision="stale")
            await store.put_alias(moved, expected_revision="a1")
            assert (await store.list_aliases("f"))[1] == moved
            with pytest.raises(NotFound) as gone:
                await store.put_alias(Alias("f", "gone", "1", revision_id="g"), expected_revision="g")
            assert (gone.value.kind, gone.value.function, gone.value.qualifier) == (ALIAS, "f", "gone")
            await store.delete_alias("f", "beta")
            await store.delete_alias("f", "beta")  # not an error
            assert [a.name for a in await store.list_aliases("f")] == ["live"]

            await store.delete_function("f")
            await store.create_function(function("f"))
            assert await store.list_versions("f") == [] and await store.list_aliases("f") == []
            assert await store.last_version("f") == 0  # a new function starts again at 1
            assert await store.code_in_use() == {"ab" * 32}
        finally:
            await store.close()

    asyncio.run(scenario())


def test_concurrency_belongs_to_its_function(store: Store) -> None:
    from lamina.model import ProvisionedConcurrencyConfig

    async def scenario() -> None:
        await store.open()
        try:
            await store.create_function(function("f"))
            await store.create_function(function("g"))
            await store.put_reserved_concurrency("g", 5)
            await store.put_reserved_concurrency("f", 0)  # zero is a reservation: throttled entirely
            await store.put_reserved_concurrency("f", 3)  # replaced
            assert await store.list_reserved_concurrency() == {"f": 3, "g": 5}
            await store.put_reserved_concurrency("g", None)
            await store.put_reserved_concurrency("g", None)  # not an error
            assert await store.list_reserved_concurrency() == {"f": 3}
            with pytest.raises(NotFound):
                await store.put_reserved_concurrency("nope", 1)

            live = ProvisionedConcurrencyConfig("f", "live", 2, "2024-01-01T00:00:00+0000")
            one = ProvisionedConcurrencyConfig("f", "1", 1, "2024-01-01T00:00:00+0000")
            await store.put_provisioned_concurrency(live)
            await store.put_provisioned_concurrency(one)
            other = ProvisionedConcurrencyConfig("g", "1", 4, "x")
            await store.put_provisioned_concurrency(other)
            assert await store.list_provisioned_concurrency() == [one, live, other]
            more = dataclasses.replace(live, requested=3, last_modified="2024-01-02T00:00:00+0000")
            await store.put_provisioned_concurrency(more)  # replaced in place
            assert (await store.list_provisioned_concurrency())[1] == more
            await store.delete_provisioned_concurrency("g", "1")
            await store.delete_provisioned_concurrency("g", "1")  # not an error
            assert await store.list_provisioned_concurrency() == [one, more]
            with pytest.raises(NotFound):
                await store.put_provisioned_concurrency(ProvisionedConcurrencyConfig("nope", "1", 1, "x"))

            await store.delete_function("f")
            await store.create_function(function("f"))
            assert await store.list_reserved_concurrency() == {}
            assert await store.list_provisioned_concurrency() == []
        finally:
            await store.close()

    asyncio.run(scenario())


def test_async_queue(store: Store) -> None:
    from lamina.store.base import DEAD_LETTER, DESTINATION, EventContent, OutboxMessage, QueuedEvent

    async def scenario() -> None:
        await store.open()
        try:
            a, a_content = QueuedEvent("r-a", "f", None, enqueued_ms=1000, next_ms=1000), EventContent(b'{"a": 1}')
            b = QueuedEvent("r-b", "g", "live", enqueued_ms=1001, next_ms=1001)
            b_content = EventContent(b"{}", '{"custom": {"\u00e9": 1}}')
            seq_a = await store.enqueue_event(a, a_content)
            seq_b = await store.enqueue_event(b, b_content)
            assert seq_b > seq_a
            # Listed without their content, with its size in bytes (the client context's UTF-8 included).
            assert await store.list_queued_events() == [
                dataclasses.replace(a, seq=seq_a, size=8), dataclasses.replace(b, seq=seq_b, size=2 + 21)
            ]
            assert await store.read_event_content(seq_a) == a_content
            assert await store.read_event_content(seq_b) == b_content
            await store.reschedule_event(seq_a, 1, 5000)
            (first, _) = await store.list_queued_events()
            assert (first.attempts, first.next_ms, first.size) == (1, 5000, 8)
            assert await store.read_event_content(seq_a) == a_content
            record = QueuedEvent("r-c", "dest", None, enqueued_ms=6000, next_ms=6000)
            record_content = EventContent(b'{"version": "1.0"}')
            dead = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:dlq", DEAD_LETTER, "f", "r-a", b'{"a": 1}',
                                 {"RequestID": {"DataType": "String", "StringValue": "r-a"}}, 6000)  # fmt: skip
            (seq_c,) = await store.finish_event(seq_a, [(record, record_content)], [dead])
            assert seq_c > seq_b
            assert await store.read_event_content(seq_a) is None  # its content went with it
            assert await store.read_event_content(seq_c) == record_content
            assert await store.finish_event(seq_a, [(record, record_content)], [dead]) == []  # nothing twice
            assert [e.request_id for e in await store.list_queued_events()] == ["r-b", "r-c"]
            assert await store.finish_event(seq_b) == []
            assert [e.seq for e in await store.list_queued_events()] == [seq_c]
            assert await store.read_event_content(seq_b) is None
            assert await store.read_event_content(9999) is None
            # Reads at once (SQLite's share trips to its thread): each gets its own event's content.
            many = [EventContent(f'{{"i": {i}}}'.encode()) for i in range(50)]
            seqs = await asyncio.gather(*(store.enqueue_event(dataclasses.replace(a, request_id=f"m-{i}"), c)
                                          for i, c in enumerate(many)))  # fmt: skip
            assert await asyncio.gather(*(store.read_event_content(q) for q in [*seqs, 9999])) == [*many, None]
            for q in seqs:
                await store.finish_event(q)

            sns = dataclasses.replace(dead, target="arn:aws:sns:us-east-1:000000000000:t", kind=DESTINATION)
            seq_d = await store.enqueue_event(dataclasses.replace(b, request_id="r-d"), b_content)
            await store.finish_event(seq_d, (), [sns])
            (first_message, second_message) = await store.list_outbox(None, 0, 10)
            assert dataclasses.replace(first_message, id=0) == dead and first_message.id < second_message.id
            assert await store.list_outbox(dead.target, 0, 10) == [first_message]
            assert await store.list_outbox(None, first_message.id, 10) == [second_message]
            assert await store.list_outbox(None, 0, 1) == [first_message]
            assert await store.delete_outbox([first_message.id, 999]) == 1
            assert await store.list_outbox(None, 0, 10) == [second_message]
            # Messages no queued event leaves behind (a schedule's dead letters) are added alone.
            scheduled = dataclasses.replace(dead, request_id="execution-1")
            await store.add_outbox([scheduled])
            (_, added) = await store.list_outbox(None, 0, 10)
            assert added.id > second_message.id and dataclasses.replace(added, id=0) == scheduled
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_keeps_queued_payloads_out_of_the_events_table(tmp_path: Path) -> None:
    """Migration 0010 moves the content of events queued before it to async_payloads, sizes them, and
    keeps seq counting from where it was."""
    from lamina.store.base import EventContent

    path = tmp_path / "lamina.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA user_version = 8")  # the schema as it was before 0010
        for number, sql in _migrations():
            if number <= 8:
                conn.executescript(f"BEGIN; {sql}; COMMIT;")
        for i, (payload, context) in enumerate([(b'{"old": 1}', None), (b"{}", '{"c": 1}'), (b'{"gone": 1}', None)]):
            conn.execute(
                "INSERT INTO async_events (request_id, function, qualifier, payload, client_context, attempts, "
                "enqueued_ms, next_ms) VALUES (?, 'f', NULL, ?, ?, ?, 10, 20)", (f"r-{i}", payload, context, i)
            )
        conn.execute("DELETE FROM async_events WHERE request_id = 'r-2'")  # the highest seq so far, finished
        assert migrate(conn) >= 10
        columns = {row[1] for row in conn.execute("PRAGMA table_info(async_events)")}
        assert "payload" not in columns and "client_context" not in columns
    finally:
        conn.close()

    async def scenario() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            (old, with_context) = await store.list_queued_events()
            assert (old.request_id, old.attempts, old.enqueued_ms, old.next_ms, old.size) == ("r-0", 0, 10, 20, 10)
            assert with_context.size == 2 + 8
            assert await store.read_event_content(old.seq) == EventContent(b'{"old": 1}')
            assert await store.read_event_content(with_context.seq) == EventContent(b"{}", '{"c": 1}')
            assert await store.enqueue_event(old, EventContent(b"{}")) == with_context.seq + 2  # not 3's again
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_group_commit_keeps_each_write_whole(tmp_path: Path) -> None:
    """Writes arriving together share commits, yet one that fails halfway leaves nothing behind and
    does not take the others with it; every caller is answered after its data is committed."""
    from lamina.store.base import EventContent, QueuedEvent

    path = tmp_path / "lamina.db"
    commits: list[str] = []

    async def scenario() -> None:
        store = SqliteStore(path)
        await store.open()

        def trace(conn: sqlite3.Connection) -> None:
            conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)

        await store._run(trace)

        def half_then_fail(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO functions (name, revision_id, config) VALUES ('half', 'r', '{}')")
            raise RuntimeError("failed after the first statement")

        events = [QueuedEvent(f"r-{i}", "f", None, i, i) for i in range(300)]
        content = EventContent(b"{}")
        try:
            seqs = await asyncio.gather(*(store.enqueue_event(e, content) for e in events[:200]))
            assert len(set(seqs)) == 200
            assert len(commits) < 20, f"{len(commits)} commits for 200 writes arriving together"
            results = await asyncio.gather(
                *(store.enqueue_event(e, content) for e in events[200:250]),
                store._write(half_then_fail),
                *(store.enqueue_event(e, content) for e in events[250:]),
                return_exceptions=True,
            )
            assert isinstance(results[50], RuntimeError)
            assert all(isinstance(seq, int) for seq in results[:50] + results[51:])
        finally:
            await store.close()

    asyncio.run(scenario())
    conn = sqlite3.connect(path)  # what a new process finds
    try:
        assert conn.execute("SELECT count(*) FROM async_events").fetchone() == (300,)
        assert conn.execute("SELECT count(*) FROM async_payloads").fetchone() == (300,)
        assert conn.execute("SELECT count(*) FROM functions WHERE name = 'half'").fetchone() == (0,)
    finally:
        conn.close()


def test_bus_events_are_stored_settled_and_forwarded_in_one_transaction(store: Store) -> None:
    from lamina.store.base import DEAD_LETTER, DESTINATION, BusEvent, Delivery, EventContent, OutboxMessage, QueuedEvent

    async def scenario() -> None:
        await store.open()
        try:
            record = OutboxMessage("arn:aws:events:us-east-1:000000000000:event-bus/default", DESTINATION, "f",
                                   "r-1", b'{"version": "1.0"}', {}, 1000)  # fmt: skip
            other = dataclasses.replace(record, target="arn:aws:sqs:us-east-1:000000000000:q")
            seq_r = await store.enqueue_event(
                QueuedEvent("r-1", "f", None, 0, 0), EventContent(b"{}")
            )
            await store.finish_event(seq_r, (), [record, other])
            (kept_record, kept_other) = await store.list_outbox(None, 0, 10)

            owed = (Delivery("default/r1", "t1"), Delivery("default/r1", "t2", attempts=1, next_ms=5000))
            a = BusEvent("default", b'{"id": "a"}', owed, 2000)
            b = BusEvent("orders", b'{"id": "b"}', (Delivery("orders/r2", "t"),), 3000, hops=1)
            seq_a, seq_b = await store.add_bus_events([a, b], consumed_outbox=[kept_record.id])
            assert seq_a < seq_b
            assert await store.list_outbox(None, 0, 10) == [kept_other]  # consumed with the write
            assert await store.list_bus_events() == [dataclasses.replace(a, seq=seq_a, envelope=b""),
                                                     dataclasses.replace(b, seq=seq_b, envelope=b"")]  # fmt: skip
            assert await store.read_bus_envelope(seq_b) == b'{"id": "b"}'

            # One delivery done, one still owed; a forward to another bus and a dead letter, together.
            forward = BusEvent("audit", b'{"id": "a"}', (Delivery("audit/r3", "t"),), 4000, hops=1)
            dead = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:dlq", DEAD_LETTER, "", "a", b'{"id": "a"}',
                                 {"RULE_ARN": {"DataType": "String", "StringValue": "x"}}, 4000)  # fmt: skip
            (seq_f,) = await store.settle_bus_event(seq_a, owed[1:], [forward], [dead])
            assert seq_f > seq_b
            stored = {e.seq: e for e in await store.list_bus_events()}
            assert stored[seq_a].deliveries == owed[1:]
            assert stored[seq_f] == dataclasses.replace(forward, seq=seq_f, envelope=b"")
            assert await store.read_bus_envelope(seq_f) == forward.envelope
            assert [dataclasses.replace(m, id=0) for m in await store.list_outbox(None, kept_other.id, 10)] == [dead]

            assert await store.settle_bus_event(seq_a, ()) == []  # nothing owed: removed
            assert await store.settle_bus_event(seq_a, (), [forward], [dead]) == []  # gone: nothing written
            assert await store.read_bus_envelope(seq_a) is None
            assert [e.seq for e in await store.list_bus_events()] == [seq_b, seq_f]
            assert len(await store.list_outbox(None, 0, 10)) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_keeps_bus_events_across_a_reopen(tmp_path: Path) -> None:
    from lamina.store.base import BusEvent, Delivery

    async def scenario() -> None:
        first = SqliteStore(tmp_path / "lamina.db")
        await first.open()
        event = BusEvent("default", b'{"id": "x"}', (Delivery("default/r", "t", 2, 99),), 7, hops=3)
        (seq,) = await first.add_bus_events([event])
        await first.close()
        second = SqliteStore(tmp_path / "lamina.db")
        await second.open()
        try:
            assert await second.list_bus_events() == [dataclasses.replace(event, seq=seq, envelope=b"")]
            assert await second.read_bus_envelope(seq) == event.envelope
        finally:
            await second.close()

    asyncio.run(scenario())


def test_queue_messages_are_added_received_moved_and_purged_in_one_transaction(store: Store) -> None:
    from lamina.store.base import DEAD_LETTER, MessageState, OutboxMessage, QueueMessage

    async def scenario() -> None:
        await store.open()
        try:
            letter = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:q", DEAD_LETTER, "f", "r-1", b"{}", {}, 5)
            await store.add_outbox([letter])
            (stored_letter,) = await store.list_outbox(None, 0, 10)
            a = QueueMessage("q", "m-a", "body a", "{}", 10, 10)
            b = QueueMessage("q", "m-b", "body b", '{"k": 1}', 11, 20, group_id="g", dedup_id="d")
            seq_a, seq_b = await store.change_queue_messages([a, b], consumed_outbox=[stored_letter.id])
            assert seq_a < seq_b
            assert await store.list_outbox(None, 0, 10) == []  # consumed with the write
            assert await store.list_queue_messages() == [dataclasses.replace(a, seq=seq_a),
                                                         dataclasses.replace(b, seq=seq_b)]  # fmt: skip

            # A receive, and a move to a dead-letter queue (removed here, added there), together.
            moved = dataclasses.replace(a, queue="dlq", seq=0)
            (seq_m,) = await store.change_queue_messages(
                [moved], updates=[MessageState(seq_b, 500, 1, 30), MessageState(999, 1, 1, 1)], deletes=[seq_a]
            )
            listed = await store.list_queue_messages()
            assert listed == [dataclasses.replace(b, seq=seq_b, visible_ms=500, receive_count=1, first_receive_ms=30),
                              dataclasses.replace(moved, seq=seq_m)]  # fmt: skip
            assert await store.change_queue_messages(deletes=[seq_a]) == []  # gone already: not an error

            (seq_c,) = await store.change_queue_messages([dataclasses.replace(b, dedup_id=None)])
            assert await store.purge_queue_messages("q", through_seq=seq_b) == 1
            assert [m.seq for m in await store.list_queue_messages()] == [seq_m, seq_c]
            assert await store.purge_queue_messages("q") == 1
            assert await store.purge_queue_messages("q") == 0
            assert [m.queue for m in await store.list_queue_messages()] == ["dlq"]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_sqlite_keeps_queue_messages_across_a_reopen(tmp_path: Path) -> None:
    from lamina.store.base import QueueMessage

    async def scenario() -> None:
        first = SqliteStore(tmp_path / "lamina.db")
        await first.open()
        message = QueueMessage("q.fifo", "m", "héllo", "{}", 7, 9, 2, 8, "g", "d")
        (seq,) = await first.change_queue_messages([message])
        await first.close()
        second = SqliteStore(tmp_path / "lamina.db")
        await second.open()
        try:
            assert await second.list_queue_messages() == [dataclasses.replace(message, seq=seq)]
        finally:
            await second.close()

    asyncio.run(scenario())


def test_object_records_change_with_their_notifications_in_one_transaction(store: Store) -> None:
    from lamina.store.base import ObjectRecord, OutboxMessage

    async def scenario() -> None:
        await store.open()
        try:
            bucket = ObjectRecord("bucket", "b1", "", {"region": "us-east-1"})
            obj = ObjectRecord("object", "b1", "a/ü", {"size": 3})
            parts = [ObjectRecord("part", "b1", f"u1/{n:05d}", {"n": n}) for n in (1, 2)]
            note = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:q", "notification", "", "r1", b"{}", {}, 1)
            await store.change_object_records([bucket, obj, *parts, ObjectRecord("part", "b1", "u10/1", {})],
                                              messages=[note])  # fmt: skip
            assert await store.list_object_records("bucket") == [bucket]
            assert await store.list_object_records("object") == [obj]
            assert [m.request_id for m in await store.list_outbox(None, 0, 10)] == ["r1"]
            # A prefix is literal and scoped to its bucket: "u1/" does not match "u10/...".
            await store.change_object_records(delete_prefixes=[("part", "b1", "u1/")], deletes=[("object", "b1", "a/ü")])
            assert [r.key for r in await store.list_object_records("part")] == ["u10/1"]
            assert await store.list_object_records("object") == []
            with pytest.raises(TypeError):  # not JSON: nothing of the change is applied, no message either
                await store.change_object_records([ObjectRecord("object", "b1", "x", {"x": object()})],
                                                  deletes=[("bucket", "b1", "")], messages=[note])  # fmt: skip
            assert await store.list_object_records("bucket") == [bucket]
            assert len(await store.list_outbox(None, 0, 10)) == 1
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_ledger_by_time_and_provisioned_allocations(store: Store) -> None:
    from lamina.store.base import ProvisionedAllocation

    async def scenario() -> None:
        await store.open()
        try:
            assert await store.begin_metering(1) is None  # nothing before
            records = [InvocationRecord(f"r{t}", "f" if t % 2 else "g", "$LATEST", t, 1.5, 2, 128, 30, None, "success",
                                        None, "arm64", 1024, t == 30) for t in (10, 20, 30)]  # fmt: skip
            await store.record_invocations(records)
            assert await store.list_ledger(15, 31) == records[1:]
            assert (await store.list_ledger(0, 100))[2].provisioned is True
            live = ProvisionedAllocation("f", "live", "1", 256, "x86_64", 2, 40)
            await store.record_allocations([live])
            assert await store.list_allocations(40) == []
            assert await store.list_allocations(41) == [live]
            await store.end_metering(50)  # a graceful stop ends what was allocated
            assert await store.list_allocations(100) == [live, dataclasses.replace(live, environments=0, at_ms=50)]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_killed_run_is_found_at_the_next_start(tmp_path: Path) -> None:
    from lamina.store.base import MeterRun, ProvisionedAllocation

    path = tmp_path / "lamina.db"

    async def first_run() -> None:
        store = SqliteStore(path)
        await store.open()
        await store.begin_metering(1000)
        await store.record_allocations([ProvisionedAllocation("f", "live", "1", 256, "x86_64", 2, 1500)])
        await store.record_invocations([InvocationRecord("r", "f", "1", 2000, 99.2, 100, 256, 30, None, "success")])
        await store.close()  # no end_metering: as if killed

    async def second_run() -> tuple[MeterRun | None, list[ProvisionedAllocation], MeterRun | None]:
        store = SqliteStore(path)
        await store.open()
        found = await store.begin_metering(9000)
        allocations = await store.list_allocations(10_000)
        await store.end_metering(9500)
        await store.close()
        store = SqliteStore(path)
        await store.open()
        again = await store.begin_metering(10_000)
        await store.close()
        return found, allocations, again

    asyncio.run(first_run())
    found, allocations, again = asyncio.run(second_run())
    assert found == MeterRun(killed=True, last_write_ms=2100, closed=1)  # the batch's end: 2000 + 100 ms
    assert [(a.environments, a.at_ms) for a in allocations] == [(2, 1500), (0, 2100)]
    assert again is not None and not again.killed


def test_sqlite_long_reads_do_not_hold_up_writes(tmp_path: Path) -> None:
    """A read of the ledger or the logs runs beside the store's writes, not before them: writes
    commit while a long read is still going (held open here), and reads see what committed."""
    folder = tmp_path / "a dir?#with odd%20chars"

    async def run() -> list[LogEvent]:
        store = SqliteStore(folder / "lamina.db")
        await store.open()
        try:
            held, release = asyncio.Event(), asyncio.Event()
            loop = asyncio.get_running_loop()

            def long_read(conn: sqlite3.Connection) -> int:
                loop.call_soon_threadsafe(held.set)
                asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)
                return int(conn.execute("SELECT COUNT(*) FROM log_chunks").fetchone()[0])

            reading = asyncio.ensure_future(store._read_apart(long_read))
            await held.wait()
            await asyncio.wait_for(store.append_logs([LogRecord("f", "s", 1, "written meanwhile")]), timeout=10)
            await asyncio.wait_for(store.create_function(function("meanwhile")), timeout=10)
            release.set()
            assert await reading == 1
            return await store.read_logs("f", 0, 10)
        finally:
            await store.close()

    assert [e.message for e in asyncio.run(run())] == ["written meanwhile"]
