"""Opening a mapping's change reader by the database it names, and what the mapping's life does to
what the reader keeps in the database: installed when the mapping is created (so nothing committed
after Create is missed, whenever the poller first reads), removed when it is deleted.

The SQLite reader is ``streams/sqlite.py``; the PostgreSQL reader is ``streams/postgres/``
(``open_reader`` of the same signature), imported only when a mapping names PostgreSQL.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from lamina.redact import without_password
from lamina.streams.change import ChangeReader, ChangesUnavailable
from lamina.streams.options import Database, StreamOptions

log = logging.getLogger(__name__)
POSTGRESQL_MODULE = "lamina.streams.postgres"

OpenReader = Callable[[str, Sequence[str], str], Awaitable[ChangeReader]]


def reader_name(uuid: str) -> str:
    """The name a mapping's reader keeps things under in the database (a slot, triggers): stable,
    plain (letters and digits), unique to the mapping."""
    return uuid.replace("-", "").lower()


def _opener(database: Database) -> OpenReader:
    if database is Database.SQLITE:
        from lamina.streams import sqlite

        return cast(OpenReader, sqlite.open_reader)
    try:
        module = importlib.import_module(POSTGRESQL_MODULE)
    except ImportError as exc:
        raise ChangesUnavailable("This Lamina has no PostgreSQL change reader: it cannot read PostgreSQL tables.") from exc
    return cast(OpenReader, module.open_reader)


async def open_reader(options: StreamOptions, uuid: str) -> ChangeReader:
    """The mapping's reader (``ChangesUnavailable`` says why not)."""
    return await _opener(options.database)(options.endpoint, options.tables, reader_name(uuid))


async def install(options: StreamOptions, uuid: str) -> tuple[str, ...]:
    """Open the reader once (installing its triggers or slot) and let it go; its warnings."""
    reader = await open_reader(options, uuid)
    try:
        return reader.warnings
    finally:
        await reader.close()


async def drop(options: StreamOptions, uuid: str) -> None:
    """Remove what the mapping's reader keeps in the database; logged when it cannot be."""
    try:
        reader = await open_reader(options, uuid)
        await reader.drop()
    except ChangesUnavailable as exc:
        log.warning("stream mapping %s: could not remove what it keeps in %s: %s", uuid,
                    without_password(options.endpoint), exc)  # fmt: skip
