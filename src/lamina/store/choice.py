"""Which store a cell opens: SQLite in its data directory (the default), or PostgreSQL when
``LAMINA_DATABASE_URL`` names a database, which replicas of Lamina then share (each cell's tables in
a schema of its own). Pure but for ``open_store``, which imports PostgreSQL's driver only when it
is asked for, so the embedded default starts as it always has."""

from __future__ import annotations

import re
from pathlib import Path

from lamina.errors import LaminaError
from lamina.store.aggregates import Store

DATABASE_URL_VARIABLE = "LAMINA_DATABASE_URL"
DEFAULT_SCHEMA = "lamina"  # the default cell's
_REGION = re.compile(r"^[a-z0-9-]{1,30}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


class DatabaseUnavailable(LaminaError):
    """The database LAMINA_DATABASE_URL names cannot be used; the message says why and what to fix."""


def database_url(value: str) -> str | None:
    """``LAMINA_DATABASE_URL`` checked for its form (empty: none, SQLite); ``DatabaseUnavailable`` if
    it is not a PostgreSQL URL. Whether the server answers is found at start."""
    value = value.strip()
    if not value:
        return None
    if not value.startswith(("postgresql://", "postgres://")):
        raise DatabaseUnavailable(f"{DATABASE_URL_VARIABLE} must be a postgresql:// URL "
                                  "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE)")  # fmt: skip
    return value


def cell_schema(account_id: str, region: str, *, default: bool) -> str:
    """The PostgreSQL schema of a cell's tables: ``lamina`` for the default cell, else one named by
    its account and region."""
    if default:
        return DEFAULT_SCHEMA
    if not _ACCOUNT.match(account_id) or not _REGION.match(region):
        raise ValueError(f"not a cell: {account_id} {region}")
    return f"cell_{account_id}_{region.replace('-', '_')}"


def open_store(url: str | None, data: Path, schema: str, *, claim_seconds: float = 30.0) -> Store:
    """The store of a cell whose data directory is ``data`` (not opened yet); ``claim_seconds``: how
    long PostgreSQL's claims on queued events last (``EventClaims``)."""
    if url is None:
        from lamina.store.sqlite import SqliteStore

        return SqliteStore(data / "lamina.db")
    from lamina.store.postgresql import PostgresStore

    return PostgresStore(url, schema, claim_seconds=claim_seconds)
