"""What the table stream tests share: a SQLite file the test writes, a stream mapping over it, and
the records functions print."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.functions import wait_for_logs

# Prints each event it gets on one line: "EVENT <json>".
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"


def make_db(path: Path, schema: str = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)",
            *, wal: bool = False) -> Path:  # fmt: skip
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(schema)
    conn.close()
    return path


def write(path: Path, *statements: str | tuple[str, Any]) -> None:
    """Run statements in one transaction of the test's own connection (the user's application)."""
    conn = sqlite3.connect(path, timeout=30)
    with conn:
        for statement in statements:
            if isinstance(statement, tuple):
                conn.execute(statement[0], statement[1])
            else:
                conn.execute(statement)
    conn.close()


def stream_mapping(client: Any, function: str, path: Path, tables: list[str] | None = None,
                   **extra: Any) -> dict[str, Any]:  # fmt: skip
    endpoints: dict[str, list[str]] = {"SQLITE_PATH": [str(path)]}
    if "view" in extra:
        endpoints["STREAM_VIEW_TYPE"] = [extra.pop("view")]
    params: dict[str, Any] = {
        "FunctionName": function, "Topics": tables or ["main.items"], "StartingPosition": "TRIM_HORIZON",
        "SelfManagedEventSource": {"Endpoints": endpoints}, **extra,
    }  # fmt: skip
    return dict(client.create_event_source_mapping(**params))


def events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]


def records_of(lines: list[str]) -> list[dict[str, Any]]:
    return [r for e in events(lines) for r in e["Records"]]


def printed(endpoint: str, name: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The records the function printed, once there are at least ``count``."""
    return records_of(wait_for_logs(endpoint, name, lambda lines: len(records_of(lines)) >= count, timeout=timeout))


def log_table_rows(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'lamina%'")]
    finally:
        conn.close()
