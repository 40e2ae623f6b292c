"""What a function has beside its configuration, in PostgreSQL (``ConfigStore``): tags, resource
policies, asynchronous-invocation configurations, reserved and provisioned concurrency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from lamina.model import EventInvokeConfig, FunctionPolicy, ProvisionedConcurrencyConfig
from lamina.store import queries
from lamina.store.codec import decode_event_invoke_config, decode_policy, encode_event_invoke_config
from lamina.store.codec import encode_statements
from lamina.store.errors import FUNCTION, POLICY, NotFound, StaleRevision
from lamina.store.postgresql.engine import PostgresEngine, owned
from lamina.store.statements import ConfigsStatements


@dataclass(frozen=True)
class _Sql(ConfigsStatements):
    notify_change: str


SQL = queries.load(_Sql, "postgresql", "configs")


class PostgresConfigs(PostgresEngine):
    async def get_tags(self, function: str) -> dict[str, str]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.get_tags, (function,))).fetchall()
        return {key: value for key, value in rows}

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        with owned(function):
            async with self._transaction() as conn:
                await conn.execute(SQL.delete_tags, (function,))
                async with conn.cursor() as cur:
                    await cur.executemany(SQL.insert_tag, [(function, key, value) for key, value in tags.items()])

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None:
        async with self._connection() as conn:
            row = await (await conn.execute(SQL.get_policy, (function, qualifier))).fetchone()
        return decode_policy(function, qualifier, row[0], row[1]) if row else None

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        key = (policy.function, policy.qualifier)
        async with self._transaction() as conn:
            row = await (await conn.execute(SQL.policy_revision, (policy.qualifier, policy.function))).fetchone()
            if (row[1] if row else None) != expected_revision:
                raise StaleRevision(POLICY, *key)
            if not policy.statements:
                await conn.execute(SQL.delete_policy, key)
                return
            if row is None:  # as the foreign key would say
                raise NotFound(FUNCTION, policy.function)
            await conn.execute(SQL.upsert_policy, (*key, policy.revision_id, encode_statements(policy.statements)))

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None:
        with owned(config.function):
            async with self._transaction() as conn:
                await conn.execute(SQL.upsert_event_invoke_config,
                                   (config.function, config.qualifier, encode_event_invoke_config(config)))  # fmt: skip
                await conn.execute(SQL.notify_change, (self.notice(config.function),))

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_event_invoke_config, (function, qualifier))
            await conn.execute(SQL.notify_change, (self.notice(function),))

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        async with self._connection() as conn:
            if function is None:
                rows = await (await conn.execute(SQL.all_event_invoke_configs)).fetchall()
            else:
                rows = await (await conn.execute(SQL.event_invoke_configs, (function,))).fetchall()
        return [decode_event_invoke_config(*row) for row in rows]

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        with owned(function):
            async with self._transaction() as conn:
                if reserved is None:
                    await conn.execute(SQL.delete_reserved_concurrency, (function,))
                else:
                    await conn.execute(SQL.upsert_reserved_concurrency, (function, reserved))
                await conn.execute(SQL.notify_change, (self.notice(function),))

    async def list_reserved_concurrency(self) -> dict[str, int]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_reserved_concurrency)).fetchall()
        return {name: int(reserved) for name, reserved in rows}

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        with owned(config.function):
            async with self._transaction() as conn:
                await conn.execute(SQL.upsert_provisioned_concurrency,
                                   (config.function, config.qualifier, config.requested, config.last_modified))  # fmt: skip
                await conn.execute(SQL.notify_change, (self.notice(config.function),))

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(SQL.delete_provisioned_concurrency, (function, qualifier))
            await conn.execute(SQL.notify_change, (self.notice(function),))

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        async with self._connection() as conn:
            rows = await (await conn.execute(SQL.list_provisioned_concurrency)).fetchall()
        return [ProvisionedConcurrencyConfig(*row) for row in rows]
