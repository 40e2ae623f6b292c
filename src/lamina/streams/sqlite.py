"""Row changes of tables in a SQLite database file, captured by triggers into a change log.

``open_reader(path, tables, name)`` installs, in the user's database, a change log table
``lamina_changes_<name>`` (id INTEGER PRIMARY KEY AUTOINCREMENT, so ids only grow and follow commit
order: SQLite has one writer at a time) and, on each named table, AFTER INSERT / UPDATE / DELETE
triggers ``lamina_<name>_<table>_<op>`` that write each row change into it: the table, the
operation, the key's and the row's columns as JSON (``json_object``), the time. The triggers are
replaced in one transaction at each open (a column added since is captured from then on). Changes
made while Lamina is down wait in the log; ``read`` takes rows after the confirmed id through a
read-only connection, ``confirm`` deletes rows up to an id, ``drop`` removes triggers and log.

The key is the table's primary key; a table without one is keyed by its rowid, with a warning. An
UPDATE that changes the key is captured as the REMOVE of the old key and the INSERT of the new one,
so each key's changes stay in order. Values keep SQLite's own type (``typeof``): integers and texts
as they are, reals with 17 significant digits (exact as a float), blobs in hex, so the stream maps
them to N, S, B and NULL exactly.

The user's application writes the same file: every connection has a busy timeout, the reader holds
no transaction between calls, and each write Lamina does (installing, confirming, dropping) is one
short transaction. WAL mode or not is the user's choice; both work. The path is the operator's:
Lamina opens what the mapping names, as the user Lamina runs as, and never creates the file. Table
names are plain identifiers (checked by the mapping, again here) and every name is quoted. The
triggers use SQLite's JSON functions, built into SQLite since 3.38 (and into most builds before).

Blocking sqlite3 calls run on a thread of the reader's own, which holds its connections.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lamina.streams.change import Change, ChangesUnavailable, Operation, ReaderLag, Value

BUSY_TIMEOUT_S = 5.0
POLL_S = 0.05  # how often a waiting read looks at the log again
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_NAME = re.compile(r"^[A-Za-z0-9_]{1,40}$")
_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True, slots=True)
class _Table:
    topic: str  # "main.<name>"
    name: str
    keys: tuple[str, ...]  # the primary key's columns, or ("rowid",)
    columns: tuple[str, ...]


def log_table(name: str) -> str:
    return f"lamina_changes_{name}"


def _row_json(row: str, columns: Sequence[str]) -> str:
    """A json_object of the row's columns, each as [typeof, value] (blobs in hex, reals exact)."""
    parts = []
    for column in columns:
        ref = f"{row}.{_ident(column)}" if column != "rowid" else f"{row}.rowid"
        value = (f"CASE typeof({ref}) WHEN 'blob' THEN hex({ref}) WHEN 'real' THEN printf('%!.17g', {ref}) "
                 f"ELSE {ref} END")  # fmt: skip
        parts.append(f"{_literal(column)}, json_array(typeof({ref}), {value})")
    return f"json_object({', '.join(parts)})"


def trigger_names(name: str, table: str) -> tuple[str, ...]:
    return tuple(f"lamina_{name}_{table}_{op}" for op in ("insert", "update", "modify", "delete"))


def trigger_sql(name: str, table: _Table) -> list[str]:
    """The statements that (re)create ``table``'s triggers."""
    log, target = _ident(log_table(name)), f"main.{_ident(table.name)}"
    insert, update_key, modify, delete = (_ident(t) for t in trigger_names(name, table.name))
    columns = "(\"table\", operation, keys, new, old, committed_ms)"
    topic = _literal(table.topic)

    def row(op: str, keys: str, new: str, old: str) -> str:
        return f"INSERT INTO {log} {columns} VALUES ({topic}, '{op}', {keys}, {new}, {old}, {_NOW_MS});"

    new_keys, old_keys = _row_json("NEW", table.keys), _row_json("OLD", table.keys)
    new_row, old_row = _row_json("NEW", table.columns), _row_json("OLD", table.columns)
    same_key = " AND ".join(f"OLD.{_ident(k) if k != 'rowid' else 'rowid'} IS NEW.{_ident(k) if k != 'rowid' else 'rowid'}"
                            for k in table.keys)  # fmt: skip
    return [
        f"CREATE TRIGGER {insert} AFTER INSERT ON {target} BEGIN {row('INSERT', new_keys, new_row, 'NULL')} END",
        f"CREATE TRIGGER {modify} AFTER UPDATE ON {target} WHEN {same_key} BEGIN "
        f"{row('MODIFY', new_keys, new_row, old_row)} END",
        f"CREATE TRIGGER {update_key} AFTER UPDATE ON {target} WHEN NOT ({same_key}) BEGIN "
        f"{row('REMOVE', old_keys, 'NULL', old_row)} {row('INSERT', new_keys, new_row, 'NULL')} END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON {target} BEGIN {row('REMOVE', old_keys, 'NULL', old_row)} END",
    ]


def _decode(text: str | None) -> dict[str, Value] | None:
    if text is None:
        return None
    out: dict[str, Value] = {}
    for column, (kind, value) in json.loads(text).items():
        if kind == "blob":
            out[column] = bytes.fromhex(value)
        elif kind == "real":
            out[column] = float(value)
        else:
            out[column] = value  # integer, text, null
    return out


class SqliteReader:
    def __init__(self, path: str, tables: Sequence[_Table], name: str, executor: ThreadPoolExecutor) -> None:
        self._path = path
        self._tables = tuple(tables)
        self._name = name
        self._executor = executor
        self._read_conn: sqlite3.Connection | None = None  # used on the executor's thread only
        self._write_conn: sqlite3.Connection | None = None
        self._confirmed = 0
        self._backlog: int | None = None
        self._oldest_ms: int | None = None
        self._warnings = tuple(
            f"Table {t.topic} has no primary key: its rowid is used as the key (a VACUUM may change rowids)."
            for t in tables if t.keys == ("rowid",)
        )  # fmt: skip

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    async def _call(self, fn: object, *args: object) -> object:
        assert callable(fn)
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _unavailable(self, exc: sqlite3.Error) -> ChangesUnavailable:
        return ChangesUnavailable(f"The SQLite database {self._path} cannot be used: {exc}")

    # -- on the executor's thread ----------------------------------------------------------------

    def _writer(self) -> sqlite3.Connection:
        if self._write_conn is None:
            self._write_conn = _connect(self._path, "rw")
            # Its writes are confirmations: one lost to a power cut is delivered again, never missed,
            # so they need not wait for the disk (in WAL mode; a rollback journal syncs as before).
            self._write_conn.execute("PRAGMA synchronous = NORMAL")
        return self._write_conn

    def _reader(self) -> sqlite3.Connection:
        if self._read_conn is None:
            self._read_conn = _connect(self._path, "ro")
        return self._read_conn

    def _select(self, limit: int) -> list[tuple[int, str, str, str, str | None, str | None, int]]:
        rows = self._reader().execute(
            f'SELECT id, "table", operation, keys, new, old, committed_ms FROM {_ident(log_table(self._name))} '
            "WHERE id > ? ORDER BY id LIMIT ?", (self._confirmed, limit),
        ).fetchall()  # fmt: skip
        if len(rows) < limit:
            self._backlog = len(rows)
        else:
            (top,) = self._reader().execute(f"SELECT max(id) FROM {_ident(log_table(self._name))}").fetchone()
            self._backlog = int(top) - self._confirmed
        self._oldest_ms = int(rows[0][6]) if rows else None
        return rows

    def _delete(self, position: int) -> None:
        _transaction(self._writer(), [(f"DELETE FROM {_ident(log_table(self._name))} WHERE id <= ?", (position,))])

    def _drop(self) -> None:
        statements: list[tuple[str, tuple[object, ...]]] = [
            (f"DROP TRIGGER IF EXISTS {_ident(trigger)}", ())
            for table in self._tables for trigger in trigger_names(self._name, table.name)
        ]  # fmt: skip
        statements.append((f"DROP TABLE IF EXISTS {_ident(log_table(self._name))}", ()))
        _transaction(self._writer(), statements)

    def _close(self) -> None:
        for conn in (self._read_conn, self._write_conn):
            if conn is not None:
                conn.close()
        self._read_conn = self._write_conn = None

    # -- the ChangeReader ----------------------------------------------------------------------

    async def read(self, limit: int, wait_seconds: float) -> list[Change]:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                rows = await self._call(self._select, limit)
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            assert isinstance(rows, list)
            if rows or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))
        return [
            Change(table=table, operation=Operation(op), keys=_decode(keys) or {}, new=_decode(new), old=_decode(old),
                   position=int(ident), committed_ms=int(ms))
            for ident, table, op, keys, new, old, ms in rows
        ]  # fmt: skip

    async def confirm(self, position: int) -> None:
        try:
            await self._call(self._delete, position)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        self._confirmed = max(self._confirmed, position)

    def lag(self) -> ReaderLag:
        age = None if self._oldest_ms is None else max(0.0, time.time() - self._oldest_ms / 1000)
        return ReaderLag(backlog=self._backlog, oldest_age_seconds=age)

    async def close(self) -> None:
        try:
            await self._call(self._close)
        finally:
            self._executor.shutdown(wait=False)

    async def drop(self) -> None:
        try:
            await self._call(self._drop)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        finally:
            await self.close()


def _connect(path: str, mode: str) -> sqlite3.Connection:
    uri = "file:" + path.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + f"?mode={mode}"
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=True)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _transaction(conn: sqlite3.Connection, statements: Sequence[tuple[str, tuple[object, ...]]]) -> None:
    """One short write transaction, its lock taken at once (BEGIN IMMEDIATE waits out the user's
    writers for the busy timeout rather than failing when a read would have to become a write)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _install(path: str, topics: Sequence[str], name: str) -> list[_Table]:
    try:
        conn = _connect(path, "rw")
    except sqlite3.Error as exc:
        raise ChangesUnavailable(f"The SQLite database {path} cannot be opened: {exc}") from exc
    try:
        tables: list[_Table] = []
        for topic in topics:
            table = topic.split(".", 1)[1]
            found = conn.execute("SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
            if found is None:
                raise ChangesUnavailable(f"Table {topic} does not exist in the SQLite database {path}.")
            info = conn.execute(f"PRAGMA main.table_info({_ident(table)})").fetchall()
            columns = tuple(str(c[1]) for c in info)
            keys = tuple(str(c[1]) for c in sorted((c for c in info if c[5]), key=lambda c: int(c[5])))
            tables.append(_Table(topic, table, keys or ("rowid",), columns))
        statements: list[tuple[str, tuple[object, ...]]] = [(
            f"CREATE TABLE IF NOT EXISTS main.{_ident(log_table(name))} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            '"table" TEXT NOT NULL, operation TEXT NOT NULL, keys TEXT NOT NULL, new TEXT, old TEXT, '
            "committed_ms INTEGER NOT NULL)", (),
        )]  # fmt: skip
        for table_ in tables:
            statements += [(f"DROP TRIGGER IF EXISTS main.{_ident(t)}", ()) for t in trigger_names(name, table_.name)]
            statements += [(sql, ()) for sql in trigger_sql(name, table_)]
        _transaction(conn, statements)  # atomic: no change slips between the old triggers and the new
        return tables
    except sqlite3.Error as exc:
        raise ChangesUnavailable(f"The SQLite database {path} cannot be used: {exc}") from exc
    finally:
        conn.close()


async def open_reader(path: str, tables: Sequence[str], name: str) -> SqliteReader:
    """A reader of ``tables`` ("main.<table>") of the SQLite file at ``path``; its triggers and change log
    installed (or brought up to date). ``ChangesUnavailable`` names what is missing or unreadable."""
    if not _NAME.match(name):
        raise ChangesUnavailable(f"Invalid reader name {name!r}: letters, digits and underscores only.")
    for topic in tables:
        schema, _, table = topic.partition(".")
        if schema != "main" or not _PLAIN.match(table) or table.startswith(("lamina_changes_", "sqlite_")):
            raise ChangesUnavailable(f"Invalid table name {topic!r}: name a table of your own as main.<table>, "
                                     "a plain identifier.")  # fmt: skip
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lamina-sqlite-{name[:8]}")
    try:
        found = await asyncio.get_running_loop().run_in_executor(executor, _install, path, list(tables), name)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return SqliteReader(path, found, name, executor)
