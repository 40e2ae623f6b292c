"""The reader's connection to PostgreSQL, and psycopg's errors as ``ChangesUnavailable``.

One asyncio connection (``psycopg.AsyncConnection``) in autocommit mode, whose session prints
values the way ``values.py`` reads them. Errors are translated here, once: the message names the
database by its URL without the password, and never repeats the password, whatever psycopg or
the server put in their text.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import conninfo
from psycopg.rows import TupleRow

from lamina.redact import without_password
from lamina.streams.change import ChangesUnavailable, DatabaseUnreachable

Connection = psycopg.AsyncConnection[TupleRow]

CONNECT_TIMEOUT_SECONDS = 10

# How the session prints what the reader decodes (values.py): hex bytea, ISO dates, UTC times.
_SESSION = (
    "SET bytea_output = 'hex'",
    "SET DateStyle = 'ISO, MDY'",
    "SET TimeZone = 'UTC'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
)


@dataclass(frozen=True, slots=True)
class Database:
    """Where the reader connects: the URL as the mapping names it, shown only without its password."""

    url: str

    @property
    def shown(self) -> str:
        return without_password(self.url)

    def scrub(self, text: str) -> str:
        """``text`` with the URL's password (in any spelling psycopg may echo) replaced."""
        text = without_password(text)
        try:
            password = conninfo.conninfo_to_dict(self.url).get("password")
        except psycopg.Error:
            password = None
        if isinstance(password, str) and password:
            text = text.replace(password, "***")
        return text

    def unavailable(self, doing: str, error: BaseException, *,
                    kind: type[ChangesUnavailable] = ChangesUnavailable) -> ChangesUnavailable:  # fmt: skip
        """``error`` as the ChangesUnavailable a reader raises: what it was doing, and why it failed."""
        reason = " ".join(str(error).split()) or type(error).__name__
        return kind(self.scrub(f"{doing} ({self.shown}): {reason}"))

    async def connect(self) -> Connection:
        try:
            options = conninfo.conninfo_to_dict(self.url)
        except psycopg.Error as exc:
            raise self.unavailable("Not a PostgreSQL connection URL", exc) from None
        timeout = options.get("connect_timeout") or CONNECT_TIMEOUT_SECONDS
        try:
            conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=timeout)
        except (psycopg.Error, OSError) as exc:
            raise self.unavailable("Cannot connect to PostgreSQL", exc, kind=DatabaseUnreachable) from None
        try:
            for statement in _SESSION:
                await conn.execute(statement)
        except psycopg.Error as exc:
            await conn.close()
            raise self.unavailable("Cannot set up the PostgreSQL session", exc) from None
        return conn
