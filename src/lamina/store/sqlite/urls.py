"""Function URLs in SQLite (``UrlStore``)."""

from __future__ import annotations

import sqlite3

from lamina.model import FunctionUrlConfig
from lamina.store import queries
from lamina.store.codec import decode_url, encode_url
from lamina.store.errors import FUNCTION_URL, Conflict, NotFound
from lamina.store.sqlite.engine import SqliteEngine, owned
from lamina.store.statements import UrlsStatements


SQL = queries.load(UrlsStatements, "sqlite", "urls")


class SqliteUrls(SqliteEngine):
    async def create_function_url(self, url: FunctionUrlConfig) -> None:
        def insert(conn: sqlite3.Connection) -> None:
            try:
                with owned(url.function):
                    conn.execute(SQL.insert_url, (url.function, url.qualifier, url.url_id, encode_url(url)))
            except sqlite3.IntegrityError as exc:
                raise Conflict(FUNCTION_URL, url.function, url.qualifier) from exc

        await self._write(insert)

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        def update(conn: sqlite3.Connection) -> None:
            if not conn.execute(SQL.update_url, (encode_url(url), url.function, url.qualifier)).rowcount:
                raise NotFound(FUNCTION_URL, url.function, url.qualifier)

        await self._write(update)

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_url, (function, qualifier))

        await self._write(delete)

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        def select(conn: sqlite3.Connection) -> list[FunctionUrlConfig]:
            return [decode_url(*row) for row in conn.execute(SQL.list_urls).fetchall()]

        return await self._run(select)
