"""The object store's service on the in-memory store and a real folder: each change commits the
notifications it owes with it (the Notifier seam), sequencers grow per key, a failed commit leaves
no object and no body, and load() sweeps bodies no record names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from lamina.objects.change import ObjectChange
from lamina.objects.errors import BucketNotEmpty, NoSuchBucket, NoSuchKey
from lamina.objects.files import Bodies, Incoming
from lamina.objects.model import Attributes, Bucket, StoredObject
from lamina.objects.service import Caller, ObjectStore
from lamina.store.base import OutboxMessage
from lamina.store.memory import MemoryStore

CALLER = Caller("REQ1", "127.0.0.1", "000000000000")


class Recording:
    """A notifier that owes one message per change (the change, as JSON), or fails when told to."""

    def __init__(self) -> None:
        self.fail = False
        self.deleted: list[str] = []

    async def bucket_deleted(self, name: str) -> None:
        self.deleted.append(name)

    def messages(self, change: ObjectChange) -> list[OutboxMessage]:
        if self.fail:
            raise RuntimeError("no notifications today")
        body = json.dumps({"event": change.event, "key": change.key, "sequencer": change.sequencer,
                           "size": change.size, "etag": change.etag}).encode()  # fmt: skip
        return [OutboxMessage("arn:aws:sqs:us-east-1:000000000000:q", "notification", "", change.request_id, body, {},
                              change.time_ms)]  # fmt: skip


def obj(store: ObjectStore, key: str, data: bytes) -> tuple[StoredObject, Incoming]:
    body = store.bodies.start()
    body.write(data)
    return StoredObject("bkt", key, body.name, len(data), "e", 1, Attributes(), ""), body


def test_changes_commit_their_notifications(tmp_path: Path) -> None:
    async def scenario() -> None:
        memory, notifier = MemoryStore(), Recording()
        store = ObjectStore(memory, Bodies(tmp_path / "objects"), notifier)
        await store.load()
        store.on_bucket_deleted(notifier.bucket_deleted)
        assert not store.exists("bkt")
        with pytest.raises(NoSuchBucket):
            store.get("bkt", "k")
        await store.create_bucket(Bucket("bkt", "us-east-1", "000000000000", 1))
        assert store.exists("bkt")
        for data in (b"one", b"two"):
            o, body = obj(store, "k", data)
            await store.put(o, body, CALLER, "ObjectCreated:Put")
        await store.delete("bkt", ["k", "absent"], CALLER)
        notes = [json.loads(m.body) for m in await memory.list_outbox(None, 0, 100)]
        assert [(n["event"], n["key"], n["size"]) for n in notes] == [
            ("ObjectCreated:Put", "k", 3), ("ObjectCreated:Put", "k", 3), ("ObjectRemoved:Delete", "k", 0),
            ("ObjectRemoved:Delete", "absent", 0)]  # fmt: skip
        sequencers = [n["sequencer"] for n in notes if n["key"] == "k"]
        assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3
        assert all(len(s) >= 16 and s == s.upper() for s in sequencers)
        with pytest.raises(NoSuchKey):
            store.get("bkt", "k")
        assert list((tmp_path / "objects" / "bodies").iterdir()) == []  # replaced and deleted bodies are gone

        # A change whose notifications cannot be made is not committed: no object, no body.
        notifier.fail = True
        o, body = obj(store, "k2", b"x")
        with pytest.raises(RuntimeError):
            await store.put(o, body, CALLER, "ObjectCreated:Put")
        with pytest.raises(NoSuchKey):
            store.get("bkt", "k2")
        assert list((tmp_path / "objects" / "bodies").iterdir()) == []
        notifier.fail = False

        o, body = obj(store, "kept", b"x")
        await store.put(o, body, CALLER, "ObjectCreated:Put")
        with pytest.raises(BucketNotEmpty):
            await store.delete_bucket("bkt")
        (tmp_path / "objects" / "bodies" / "orphan").write_bytes(b"left by a crash")
        again = ObjectStore(memory, Bodies(tmp_path / "objects"), notifier)
        await again.load()
        assert again.get("bkt", "kept").size == 1
        assert [p.name for p in (tmp_path / "objects" / "bodies").iterdir()] == [again.get("bkt", "kept").file]
        await again.delete("bkt", ["kept"], CALLER)
        again.on_bucket_deleted(notifier.bucket_deleted)
        await again.delete_bucket("bkt")
        assert notifier.deleted == ["bkt"] and not again.exists("bkt")

    asyncio.run(scenario())


def test_of_two_conditional_writes_of_a_key_exactly_one_wins(tmp_path: Path) -> None:
    from lamina.objects.errors import PreconditionFailed

    def if_none_match(stored: StoredObject | None) -> None:
        if stored is not None:
            raise PreconditionFailed("At least one of the pre-conditions you specified did not hold")

    async def scenario() -> None:
        store = ObjectStore(MemoryStore(), Bodies(tmp_path / "objects"), Recording())
        await store.load()
        await store.create_bucket(Bucket("bkt", "us-east-1", "000000000000", 1))
        writes = [obj(store, "k", data) for data in (b"a", b"b", b"c")]
        outcomes = await asyncio.gather(
            *(store.put(o, body, CALLER, "ObjectCreated:Put", condition=if_none_match) for o, body in writes),
            return_exceptions=True,
        )
        assert sum(not isinstance(r, BaseException) for r in outcomes) == 1
        assert sum(isinstance(r, PreconditionFailed) for r in outcomes) == 2
        assert len(list((tmp_path / "objects" / "bodies").iterdir())) == 1  # the losers' bodies are gone

    asyncio.run(scenario())


def test_a_put_racing_a_bucket_deletion_leaves_no_stray_object(tmp_path: Path) -> None:
    async def scenario() -> None:
        memory = MemoryStore()
        store = ObjectStore(memory, Bodies(tmp_path / "objects"), Recording())
        await store.load()
        await store.create_bucket(Bucket("bkt", "us-east-1", "000000000000", 1))
        o, body = obj(store, "k", b"x")
        put = asyncio.create_task(store.put(o, body, CALLER, "ObjectCreated:Put"))
        await asyncio.sleep(0)  # the put is making its body durable
        delete = asyncio.create_task(store.delete_bucket("bkt"))
        outcomes = await asyncio.gather(put, delete, return_exceptions=True)
        assert [type(r).__name__ for r in outcomes] in (["NoSuchBucket", "NoneType"], ["StoredObject", "BucketNotEmpty"])
        records = await memory.list_object_records("object")
        assert [r.bucket for r in records] == (["bkt"] if store.exists("bkt") else [])
        assert len(list((tmp_path / "objects" / "bodies").iterdir())) == len(records)

    asyncio.run(scenario())


def test_an_upload_without_parts_takes_parts_after_a_restart(tmp_path: Path) -> None:
    from lamina.objects.model import Part, Upload

    async def scenario() -> None:
        memory = MemoryStore()
        store = ObjectStore(memory, Bodies(tmp_path / "objects"), Recording())
        await store.load()
        await store.create_bucket(Bucket("bkt", "us-east-1", "000000000000", 1))
        await store.create_upload(Upload("bkt", "k", "u1", 1, Attributes()))
        again = ObjectStore(memory, Bodies(tmp_path / "objects"), Recording())
        await again.load()
        body = again.bodies.start()
        body.write(b"part")
        await again.put_part(Part("bkt", "u1", 1, body.name, 4, "e", 1), body)
        assert [p.number for p in again.parts("u1")] == [1]
        assert [p.name for p in (tmp_path / "objects" / "bodies").iterdir()] == [body.name]

    asyncio.run(scenario())
