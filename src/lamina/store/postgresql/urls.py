"""Function URLs in PostgreSQL (``UrlStore``)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from lamina.model import FunctionUrlConfig
from lamina.store import queries
from lamina.store.codec import decode_url, encode_url
from lamina.store.errors import FUNCTION_URL, Conflict, NotFound
from lamina.store.postgresql.engine import PostgresEngine, owned
from lamina.store.statements import UrlsStatements


@dataclass(frozen=True)
class _Sql(UrlsStatements):
    notify_change: str


SQL = queries.load(_Sql, "postgresql", "urls")


class PostgresUrls(PostgresEngine):
    async def create_function_url(self, url: FunctionUrlConfig) -> None:
        try:
            with owned(url.function):
                async with self._transaction() as conn:
                    await conn.execute(SQL.insert_url, (url.function, url.qualifier, url.url_id, encode_url(url)))
                    await conn.execute(SQL.notify_change, (self.notice(url.function),))
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(FUNCTION_URL, url.function, url.qualifier) from exc

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        async with self._transaction() as conn:
            cur = await conn.execute(SQL.update_url, (encode_url(url), url.function, url.qualifier))
            if not cur.rowcount:
                raise NotFound(FUNCTION_URL, url.function, url.qualifier)
            await conn.execute(SQL.notify_change, (self.notice(url.function),))

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_url, (function, qualifier))
            await conn.execute(SQL.notify_change, (self.notice(function),))

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_urls)).fetchall()
        return [decode_url(*row) for row in rows]
