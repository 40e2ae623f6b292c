"""Resources and object records in memory (``ResourceStore``, ``ObjectRecordStore``)."""

from __future__ import annotations

import json
from typing import Sequence

from lamina.store.base import ObjectRecord, OutboxMessage, Resource
from lamina.store.memory.state import MemoryState


class MemoryResources(MemoryState):
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



class MemoryObjectRecords(MemoryState):
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
        self._put_outbox(messages)
