"""What a function has beside its configuration, in SQLite (``ConfigStore``): tags, resource
policies, asynchronous-invocation configurations, reserved and provisioned concurrency."""

from __future__ import annotations

import sqlite3
from typing import Mapping

from lamina.model import EventInvokeConfig, FunctionPolicy, ProvisionedConcurrencyConfig
from lamina.store import queries
from lamina.store.codec import decode_event_invoke_config, decode_policy, encode_event_invoke_config
from lamina.store.codec import encode_statements
from lamina.store.errors import POLICY, StaleRevision
from lamina.store.sqlite.engine import SqliteEngine, owned
from lamina.store.statements import ConfigsStatements


SQL = queries.load(ConfigsStatements, "sqlite", "configs")


class SqliteConfigs(SqliteEngine):
    async def get_tags(self, function: str) -> dict[str, str]:
        def select(conn: sqlite3.Connection) -> dict[str, str]:
            return dict(conn.execute(SQL.get_tags, (function,)).fetchall())

        return await self._run(select)

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            with owned(function):
                conn.execute(SQL.delete_tags, (function,))
                conn.executemany(SQL.insert_tag, [(function, key, value) for key, value in tags.items()])

        await self._write(replace)

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None:
        def select(conn: sqlite3.Connection) -> FunctionPolicy | None:
            row = conn.execute(SQL.get_policy, (function, qualifier)).fetchone()
            return decode_policy(function, qualifier, row[0], row[1]) if row else None

        return await self._run(select)

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            key = (policy.function, policy.qualifier)
            with owned(policy.function):
                row = conn.execute(SQL.policy_revision, key).fetchone()
                if (row[0] if row else None) != expected_revision:
                    raise StaleRevision(POLICY, *key)
                if not policy.statements:
                    conn.execute(SQL.delete_policy, key)
                    return
                conn.execute(SQL.upsert_policy, (*key, policy.revision_id, encode_statements(policy.statements)))

        await self._write(replace)

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None:
        def replace(conn: sqlite3.Connection) -> None:
            with owned(config.function):
                conn.execute(SQL.upsert_event_invoke_config,
                             (config.function, config.qualifier, encode_event_invoke_config(config)))  # fmt: skip

        await self._write(replace)

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_event_invoke_config, (function, qualifier))

        await self._write(delete)

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        def select(conn: sqlite3.Connection) -> list[EventInvokeConfig]:
            if function is None:
                rows = conn.execute(SQL.all_event_invoke_configs).fetchall()
            else:
                rows = conn.execute(SQL.event_invoke_configs, (function,)).fetchall()
            return [decode_event_invoke_config(*row) for row in rows]

        return await self._run(select)

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with owned(function):
                if reserved is None:
                    conn.execute(SQL.delete_reserved_concurrency, (function,))
                    return
                conn.execute(SQL.upsert_reserved_concurrency, (function, reserved))

        await self._write(write)

    async def list_reserved_concurrency(self) -> dict[str, int]:
        def select(conn: sqlite3.Connection) -> dict[str, int]:
            rows = conn.execute(SQL.list_reserved_concurrency).fetchall()
            return {name: int(reserved) for name, reserved in rows}

        return await self._run(select)

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        def upsert(conn: sqlite3.Connection) -> None:
            with owned(config.function):
                conn.execute(SQL.upsert_provisioned_concurrency,
                             (config.function, config.qualifier, config.requested, config.last_modified))  # fmt: skip

        await self._write(upsert)

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(SQL.delete_provisioned_concurrency, (function, qualifier))

        await self._write(delete)

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        def select(conn: sqlite3.Connection) -> list[ProvisionedConcurrencyConfig]:
            return [ProvisionedConcurrencyConfig(*row) for row in conn.execute(SQL.list_provisioned_concurrency)]

        return await self._run(select)
