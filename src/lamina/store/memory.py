"""An in-memory ``Store`` with the same contract as ``SqliteStore``: for tests, nothing durable."""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping, Sequence

from lamina.store.errors import ALIAS, FUNCTION, FUNCTION_URL, POLICY, Conflict, NotFound, StaleRevision
from lamina.model import EventInvokeConfig, FunctionConfig, FunctionPolicy, LayerVersion
from lamina.model import FunctionUrlConfig
from lamina.model import Alias
from lamina.model import ProvisionedConcurrencyConfig
from lamina.store.base import EventContent, InvocationRecord, LogEvent, LogRecord, LogStreamSummary, LogWindow
from lamina.store.base import MeterRun, NewEvent, OutboxMessage, ProvisionedAllocation
from lamina.store.base import open_allocations
from lamina.store.base import BusEvent, Delivery, MessageState, QueuedEvent, QueueMessage, Resource
from lamina.store import log_chunks
from lamina.store.base import MetricCount, ObjectRecord
from lamina.store.log_chunks import Chunk, StoredChunk


class MemoryStore:
    def __init__(self) -> None:
        self._functions: dict[str, FunctionConfig] = {}
        self._chunks: dict[int, Chunk] = {}  # by id, in the order they were added
        self._last_chunk = 0
        self._invocations: list[InvocationRecord] = []
        self._allocations: list[ProvisionedAllocation] = []
        self._metric_counts: dict[tuple[str, str, str, int], int] = {}
        self._layers: dict[tuple[str, int], LayerVersion] = {}
        self._last_layer_version: dict[str, int] = {}
        self._tags: dict[str, dict[str, str]] = {}
        self._policies: dict[tuple[str, str], FunctionPolicy] = {}
        self._event_invoke_configs: dict[tuple[str, str], EventInvokeConfig] = {}
        self._urls: dict[tuple[str, str], FunctionUrlConfig] = {}
        self._object_records: dict[tuple[str, str, str], str] = {}
        self._versions: dict[tuple[str, int], FunctionConfig] = {}
        self._last_version: dict[str, int] = {}
        self._aliases: dict[tuple[str, str], Alias] = {}
        self._reserved: dict[str, int] = {}
        self._provisioned: dict[tuple[str, str], ProvisionedConcurrencyConfig] = {}
        self._events: dict[int, QueuedEvent] = {}
        self._contents: dict[int, EventContent] = {}
        self._last_seq = 0
        self._outbox: dict[int, OutboxMessage] = {}
        self._last_outbox_id = 0
        self._resources: dict[tuple[str, str], str] = {}  # (kind, key) -> the document, as JSON
        self._bus_events: dict[int, BusEvent] = {}
        self._last_bus_seq = 0
        self._queue_messages: dict[int, QueueMessage] = {}
        self._last_message_seq = 0

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def create_function(self, fn: FunctionConfig) -> None:
        if fn.name in self._functions:
            raise Conflict(FUNCTION, fn.name)
        self._functions[fn.name] = fn

    async def get_function(self, name: str) -> FunctionConfig | None:
        return self._functions.get(name)

    async def list_functions(self, after: str | None, limit: int) -> list[FunctionConfig]:
        names = sorted(n for n in self._functions if n > (after or ""))
        return [self._functions[n] for n in names[:limit]]

    async def put_function(self, fn: FunctionConfig, *, expected_revision: str | None = None) -> None:
        current = self._functions.get(fn.name)
        if current is None:
            raise NotFound(FUNCTION, fn.name)
        if expected_revision is not None and current.revision_id != expected_revision:
            raise StaleRevision(FUNCTION, fn.name)
        self._functions[fn.name] = fn

    async def delete_function(self, name: str) -> FunctionConfig | None:
        self._versions = {key: fn for key, fn in self._versions.items() if key[0] != name}
        self._aliases = {key: alias for key, alias in self._aliases.items() if key[0] != name}
        self._last_version.pop(name, None)
        self._reserved.pop(name, None)
        self._provisioned = {key: c for key, c in self._provisioned.items() if key[0] != name}
        for key in [key for key in self._urls if key[0] == name]:
            del self._urls[key]
        self._tags.pop(name, None)
        for key in [key for key in (*self._policies, *self._event_invoke_configs) if key[0] == name]:
            self._policies.pop(key, None)
            self._event_invoke_configs.pop(key, None)
        return self._functions.pop(name, None)

    async def code_in_use(self) -> set[str]:
        used = {fn.code.digest for fn in self._functions.values()}
        used.update(layer.code.digest for fn in self._functions.values() for layer in fn.layers)
        used.update(layer.code.digest for layer in self._layers.values())
        for version in self._versions.values():
            used.add(version.code.digest)
            used.update(layer.code.digest for layer in version.layers)
        return used

    async def publish_layer(self, layer: LayerVersion) -> LayerVersion:
        version = self._last_layer_version.get(layer.name, 0) + 1
        self._last_layer_version[layer.name] = version
        numbered = dataclasses.replace(layer, version=version)
        self._layers[(layer.name, version)] = numbered
        return numbered

    async def get_layer(self, name: str, version: int) -> LayerVersion | None:
        return self._layers.get((name, version))

    async def list_layer_versions(self, name: str | None) -> list[LayerVersion]:
        found = [layer for (n, _), layer in self._layers.items() if name is None or n == name]
        return sorted(found, key=lambda layer: (layer.name, -layer.version))

    async def delete_layer(self, name: str, version: int) -> None:
        self._layers.pop((name, version), None)

    def _owner(self, function: str) -> None:
        if function not in self._functions:
            raise NotFound(FUNCTION, function)

    async def get_tags(self, function: str) -> dict[str, str]:
        return dict(sorted(self._tags.get(function, {}).items()))

    async def put_tags(self, function: str, tags: Mapping[str, str]) -> None:
        self._owner(function)
        self._tags[function] = dict(tags)

    async def get_policy(self, function: str, qualifier: str) -> FunctionPolicy | None:
        return self._policies.get((function, qualifier))

    async def put_policy(self, policy: FunctionPolicy, *, expected_revision: str | None) -> None:
        self._owner(policy.function)
        key = (policy.function, policy.qualifier)
        current = self._policies.get(key)
        if (current.revision_id if current else None) != expected_revision:
            raise StaleRevision(POLICY, *key)
        if policy.statements:
            self._policies[key] = policy
        else:
            self._policies.pop(key, None)

    async def put_event_invoke_config(self, config: EventInvokeConfig) -> None:
        self._owner(config.function)
        self._event_invoke_configs[(config.function, config.qualifier)] = config

    async def delete_event_invoke_config(self, function: str, qualifier: str) -> None:
        self._event_invoke_configs.pop((function, qualifier), None)

    async def list_event_invoke_configs(self, function: str | None) -> list[EventInvokeConfig]:
        return [
            config for key, config in sorted(self._event_invoke_configs.items())
            if function is None or key[0] == function
        ]  # fmt: skip

    async def create_function_url(self, url: FunctionUrlConfig) -> None:
        self._owner(url.function)
        key = (url.function, url.qualifier)
        if key in self._urls or any(u.url_id == url.url_id for u in self._urls.values()):
            raise Conflict(FUNCTION_URL, url.function, url.qualifier)
        self._urls[key] = url

    async def put_function_url(self, url: FunctionUrlConfig) -> None:
        key = (url.function, url.qualifier)
        if key not in self._urls:
            raise NotFound(FUNCTION_URL, url.function, url.qualifier)
        self._urls[key] = url

    async def delete_function_url(self, function: str, qualifier: str) -> None:
        self._urls.pop((function, qualifier), None)

    async def list_function_urls(self) -> list[FunctionUrlConfig]:
        return [url for _, url in sorted(self._urls.items())]

    async def put_version(self, fn: FunctionConfig) -> None:
        self._owner(fn.name)
        number = int(fn.version)
        self._versions[(fn.name, number)] = fn
        self._last_version[fn.name] = max(number, self._last_version.get(fn.name, 0))

    async def list_versions(self, function: str) -> list[FunctionConfig]:
        return [fn for (name, _), fn in sorted(self._versions.items()) if name == function]

    async def last_version(self, function: str) -> int:
        return self._last_version.get(function, 0)

    async def delete_version(self, function: str, version: str) -> None:
        self._versions.pop((function, int(version)), None)

    async def create_alias(self, alias: Alias) -> None:
        self._owner(alias.function)
        if (alias.function, alias.name) in self._aliases:
            raise Conflict(ALIAS, alias.function, alias.name)
        self._aliases[(alias.function, alias.name)] = alias

    async def put_alias(self, alias: Alias, *, expected_revision: str) -> None:
        current = self._aliases.get((alias.function, alias.name))
        if current is None:
            raise NotFound(ALIAS, alias.function, alias.name)
        if current.revision_id != expected_revision:
            raise StaleRevision(ALIAS, alias.function, alias.name)
        self._aliases[(alias.function, alias.name)] = alias

    async def list_aliases(self, function: str) -> list[Alias]:
        return [alias for (name, _), alias in sorted(self._aliases.items()) if name == function]

    async def delete_alias(self, function: str, name: str) -> None:
        self._aliases.pop((function, name), None)

    async def put_reserved_concurrency(self, function: str, reserved: int | None) -> None:
        if reserved is None:
            self._reserved.pop(function, None)
            return
        self._owner(function)
        self._reserved[function] = reserved

    async def list_reserved_concurrency(self) -> dict[str, int]:
        return dict(sorted(self._reserved.items()))

    async def put_provisioned_concurrency(self, config: ProvisionedConcurrencyConfig) -> None:
        self._owner(config.function)
        self._provisioned[(config.function, config.qualifier)] = config

    async def delete_provisioned_concurrency(self, function: str, qualifier: str) -> None:
        self._provisioned.pop((function, qualifier), None)

    async def list_provisioned_concurrency(self) -> list[ProvisionedConcurrencyConfig]:
        return [config for _, config in sorted(self._provisioned.items())]

    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        for chunk in log_chunks.chunks(records, log_chunks.chunk_bytes(max_function_bytes)):
            self._last_chunk += 1
            self._chunks[self._last_chunk] = chunk
        if max_function_bytes is not None:
            for function in {r.function for r in records}:
                self._trim(function, max_function_bytes)

    async def read_logs(self, function: str, since: int, limit: int, window: LogWindow | None = None) -> list[LogEvent]:
        first = log_chunks.first_chunk(since)
        rows = ((i, c.stream, c.data) for i, c in self._chunks.items() if c.function == function and i >= first
                and (window is None or window.holds(c.stream, c.first_ms, c.last_ms)))  # fmt: skip
        return log_chunks.events_after(function, since, limit, rows, window)

    async def log_streams(self, function: str) -> list[LogStreamSummary]:
        found: dict[str, LogStreamSummary] = {}
        for c in self._chunks.values():
            if c.function == function:
                s = found.get(c.stream)
                found[c.stream] = LogStreamSummary(c.stream, c.first_ms, c.last_ms, c.size) if s is None else \
                    LogStreamSummary(c.stream, min(s.first_ms, c.first_ms), max(s.last_ms, c.last_ms),
                                     s.stored_bytes + c.size)  # fmt: skip
        return [found[name] for name in sorted(found)]

    async def logged_functions(self) -> list[tuple[str, int]]:
        sizes: dict[str, int] = {}
        for c in self._chunks.values():
            sizes[c.function] = sizes.get(c.function, 0) + c.size
        return sorted(sizes.items())

    async def log_bytes(self, function: str) -> int:
        return sum(c.size for c in self._chunks.values() if c.function == function)

    async def trim_logs(self, max_function_bytes: int) -> int:
        return sum(self._trim(f, max_function_bytes) for f in {c.function for c in self._chunks.values()})

    async def expire_logs(self, before_ms: int, limit: int) -> int:
        removed = 0
        for function in sorted({c.function for c in self._chunks.values()}):
            expired = sorted((c.last_ms, i) for i, c in self._chunks.items()
                             if c.function == function and c.last_ms < before_ms)  # fmt: skip
            oldest = (StoredChunk(i, self._chunks[i].lines, self._chunks[i].size) for _, i in expired)
            removed += self._remove(log_chunks.expire(limit - removed, oldest))
            if removed >= limit:
                break
        return removed

    def _trim(self, function: str, max_bytes: int) -> int:
        mine = [StoredChunk(i, c.lines, c.size) for i, c in self._chunks.items() if c.function == function]
        return self._remove(log_chunks.trim(sum(c.size for c in mine) - max_bytes, mine))

    def _remove(self, chunks: list[StoredChunk]) -> int:
        for chunk in chunks:
            del self._chunks[chunk.id]
        return sum(chunk.lines for chunk in chunks)

    async def record_invocations(self, records: Sequence[InvocationRecord]) -> None:
        self._invocations.extend(records)

    async def list_invocations(self, function: str, since_ms: int = 0) -> list[InvocationRecord]:
        return sorted((r for r in self._invocations if r.function == function and r.started_ms >= since_ms),
                      key=lambda r: r.started_ms)  # fmt: skip

    async def list_ledger(self, from_ms: int, to_ms: int) -> list[InvocationRecord]:
        return sorted((r for r in self._invocations if from_ms <= r.started_ms < to_ms), key=lambda r: r.started_ms)

    async def record_allocations(self, allocations: Sequence[ProvisionedAllocation]) -> None:
        self._allocations.extend(allocations)

    async def list_allocations(self, before_ms: int) -> list[ProvisionedAllocation]:
        return sorted((a for a in self._allocations if a.at_ms < before_ms), key=lambda a: a.at_ms)

    async def begin_metering(self, now_ms: int) -> MeterRun | None:
        return None  # a memory store outlives no run: there is never a previous one

    async def end_metering(self, now_ms: int) -> None:
        self._allocations.extend(
            dataclasses.replace(a, environments=0, at_ms=max(a.at_ms, now_ms)) for a in open_allocations(self._allocations)
        )

    async def read_invocations(self, since_ms: int, until_ms: int,
                               function: str | None = None) -> list[InvocationRecord]:  # fmt: skip
        return sorted((r for r in self._invocations if since_ms <= r.started_ms < until_ms
                       and function in (None, r.function)), key=lambda r: r.started_ms)  # fmt: skip

    async def invocation_series(self, since_ms: int) -> list[tuple[str, str | None, str]]:
        return sorted({(r.function, r.qualifier, r.version) for r in self._invocations if r.started_ms >= since_ms},
                      key=str)  # fmt: skip

    async def add_metric_counts(self, counts: Sequence[MetricCount]) -> None:
        for c in counts:
            key = (c.function, c.qualifier, c.metric, c.minute_ms)
            self._metric_counts[key] = self._metric_counts.get(key, 0) + c.count

    async def read_metric_counts(self, since_ms: int, until_ms: int) -> list[MetricCount]:
        return sorted((MetricCount(*key, count) for key, count in self._metric_counts.items()
                       if since_ms <= key[3] < until_ms), key=lambda c: c.minute_ms)  # fmt: skip

    async def enqueue_event(self, event: QueuedEvent, content: EventContent) -> int:
        self._last_seq += 1
        self._events[self._last_seq] = dataclasses.replace(event, seq=self._last_seq, size=content.size)
        self._contents[self._last_seq] = content
        return self._last_seq

    async def list_queued_events(self) -> list[QueuedEvent]:
        return [self._events[seq] for seq in sorted(self._events)]

    async def read_event_content(self, seq: int) -> EventContent | None:
        return self._contents.get(seq)

    async def reschedule_event(self, seq: int, attempts: int, next_ms: int) -> None:
        if seq in self._events:
            self._events[seq] = dataclasses.replace(self._events[seq], attempts=attempts, next_ms=next_ms)

    async def finish_event(
        self, seq: int, follow_ups: Sequence[NewEvent] = (), messages: Sequence[OutboxMessage] = ()
    ) -> list[int]:
        if self._events.pop(seq, None) is None:
            return []
        del self._contents[seq]
        await self.add_outbox(messages)
        return [await self.enqueue_event(event, content) for event, content in follow_ups]

    async def add_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        for message in messages:
            self._last_outbox_id += 1
            self._outbox[self._last_outbox_id] = dataclasses.replace(message, id=self._last_outbox_id)

    async def list_outbox(self, target: str | None, after: int, limit: int) -> list[OutboxMessage]:
        found = [m for i, m in sorted(self._outbox.items()) if i > after and target in (None, m.target)]
        return found[:limit]

    async def delete_outbox(self, ids: Sequence[int]) -> int:
        return sum(self._outbox.pop(i, None) is not None for i in ids)

    def _insert_bus_events(self, events: Sequence[BusEvent]) -> list[int]:
        seqs = []
        for event in events:
            self._last_bus_seq += 1
            self._bus_events[self._last_bus_seq] = dataclasses.replace(event, seq=self._last_bus_seq)
            seqs.append(self._last_bus_seq)
        return seqs

    async def add_bus_events(self, events: Sequence[BusEvent], consumed_outbox: Sequence[int] = ()) -> list[int]:
        for i in consumed_outbox:
            self._outbox.pop(i, None)
        return self._insert_bus_events(events)

    async def list_bus_events(self) -> list[BusEvent]:
        return [dataclasses.replace(self._bus_events[seq], envelope=b"") for seq in sorted(self._bus_events)]

    async def read_bus_envelope(self, seq: int) -> bytes | None:
        event = self._bus_events.get(seq)
        return event.envelope if event is not None else None

    async def settle_bus_event(
        self, seq: int, owed: Sequence[Delivery], forwards: Sequence[BusEvent] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> list[int]:  # fmt: skip
        if seq not in self._bus_events:
            return []
        if owed:
            self._bus_events[seq] = dataclasses.replace(self._bus_events[seq], deliveries=tuple(owed))
        else:
            del self._bus_events[seq]
        for message in messages:
            self._last_outbox_id += 1
            self._outbox[self._last_outbox_id] = dataclasses.replace(message, id=self._last_outbox_id)
        return self._insert_bus_events(forwards)

    async def list_resources(self, kind: str) -> list[Resource]:
        return [Resource(k, key, json.loads(doc)) for (k, key), doc in sorted(self._resources.items()) if k == kind]

    async def change_resources(
        self,
        puts: Sequence[Resource] = (),
        deletes: Sequence[tuple[str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str]] = (),
    ) -> None:
        encoded = {(r.kind, r.key): json.dumps(r.doc) for r in puts}  # fails, as SQLite's does, before any change
        for kind, prefix in delete_prefixes:
            for gone in [k for k in self._resources if k[0] == kind and k[1].startswith(prefix)]:
                del self._resources[gone]
        for gone in deletes:
            self._resources.pop(gone, None)
        self._resources.update(encoded)

    async def change_queue_messages(
        self, adds: Sequence[QueueMessage] = (), updates: Sequence[MessageState] = (), deletes: Sequence[int] = (),
        consumed_outbox: Sequence[int] = (),
    ) -> list[int]:  # fmt: skip
        for i in consumed_outbox:
            self._outbox.pop(i, None)
        for seq in deletes:
            self._queue_messages.pop(seq, None)
        for u in updates:
            if u.seq in self._queue_messages:
                self._queue_messages[u.seq] = dataclasses.replace(
                    self._queue_messages[u.seq], visible_ms=u.visible_ms, receive_count=u.receive_count,
                    first_receive_ms=u.first_receive_ms,
                )  # fmt: skip
        seqs = []
        for message in adds:
            self._last_message_seq += 1
            self._queue_messages[self._last_message_seq] = dataclasses.replace(message, seq=self._last_message_seq)
            seqs.append(self._last_message_seq)
        return seqs

    async def list_queue_messages(self) -> list[QueueMessage]:
        return [self._queue_messages[seq] for seq in sorted(self._queue_messages)]

    async def purge_queue_messages(self, queue: str, through_seq: int | None = None) -> int:
        gone = [seq for seq, m in self._queue_messages.items()
                if m.queue == queue and (through_seq is None or seq <= through_seq)]  # fmt: skip
        for seq in gone:
            del self._queue_messages[seq]
        return len(gone)

    async def list_object_records(self, kind: str) -> list[ObjectRecord]:
        return [ObjectRecord(k, b, key, json.loads(doc)) for (k, b, key), doc in sorted(self._object_records.items())
                if k == kind]  # fmt: skip

    async def change_object_records(
        self, puts: Sequence[ObjectRecord] = (), deletes: Sequence[tuple[str, str, str]] = (),
        delete_prefixes: Sequence[tuple[str, str, str]] = (), messages: Sequence[OutboxMessage] = (),
    ) -> None:  # fmt: skip
        encoded = {(r.kind, r.bucket, r.key): json.dumps(r.doc) for r in puts}  # fails before any change
        for kind, bucket, prefix in delete_prefixes:
            for gone in [k for k in self._object_records if k[:2] == (kind, bucket) and k[2].startswith(prefix)]:
                del self._object_records[gone]
        for gone in deletes:
            self._object_records.pop(gone, None)
        self._object_records.update(encoded)
        await self.add_outbox(messages)
