"""The object store: buckets, objects and multipart uploads, in memory, written through.

The metadata lives in memory (a sorted key list per bucket answers listings) and in the store's
object records; bodies are files (``files.Bodies``). Every change follows one order: the body is
made durable first, then the change is committed in one transaction with the notifications it owes
(``Notifier.messages``), then memory follows, then bodies no record names any more are removed. A
crash at any point leaves either the old state or the new, never a partial object; files left
unnamed are swept at the next start.

Bucket names are global (``bucket_names.BucketNames``, shared by every cell): a bucket's name is
claimed there before its record is written and released once its deletion is committed; a name
another account holds is answered AccessDenied rather than NoSuchBucket (a request that reaches
this cell for it was placed here by its owner's index: api/cells.py). A bucket's policy is kept in
its record (so it goes with it) and, parsed, in memory for api/authorization.py.

For the notifications: ``exists(bucket)`` says whether a bucket exists, hooks added with
``on_bucket_deleted`` are called (with its name) once a bucket's deletion is committed, and hooks
added with ``on_committed`` are called (with the messages) once a change that owed notifications
is committed (``notifications/wakes.py`` wakes the relays that deliver them).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from dataclasses import dataclass, replace
from typing import Awaitable, Callable, Iterable, Mapping, Sequence

from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.objects import bucket_names
from lamina.objects.bucket_names import BucketNames, Owner
from lamina.objects.change import Notifier, ObjectChange
from lamina.objects.errors import BucketAlreadyOwnedByYou, BucketNotEmpty, NoSuchBucket, NoSuchKey, NoSuchUpload
from lamina.objects.files import Bodies, Incoming
from lamina.objects.listing import Page, list_keys
from lamina.objects.model import Bucket, Part, StoredObject, Upload
from lamina.store.base import OutboxMessage
from lamina.store.aggregates import ObjectRecordStore

log = logging.getLogger(__name__)


# A conditional write's test of what is stored under its key (None: nothing); raises to refuse.
Condition = Callable[["StoredObject | None"], None]


@dataclass(frozen=True)
class Caller:
    """Who made a request, as a notification names them."""

    request_id: str
    source_ip: str
    principal: str


@dataclass
class _Contents:
    bucket: Bucket
    objects: dict[str, StoredObject]
    keys: list[str]  # sorted
    writing: int = 0  # object writes between their last check and their commit
    deleting: bool = False  # the bucket's deletion is being committed: no write may begin
    policy: Policy | None = None  # the bucket's policy, parsed (bucket.policy's)


class ObjectStore:
    def __init__(self, store: ObjectRecordStore, bodies: Bodies, notifier: Notifier, *, names: BucketNames | None = None,
                 cell: Owner | None = None, sweep: bool = True) -> None:  # fmt: skip
        """``names``: the global index of bucket names, if any; ``cell``: this store's account and region;
        ``sweep``: whether ``load`` removes bodies no record names (not when replicas share them: a
        body another replica is writing has no record yet)."""
        self._store = store
        self._sweep = sweep
        self._names, self._cell = names, cell
        self.bodies = bodies
        self._notifier = notifier
        self._buckets: dict[str, _Contents] = {}
        self._uploads: dict[str, Upload] = {}
        self._parts: dict[str, dict[int, Part]] = {}
        self._bucket_deleted: list[Callable[[str], Awaitable[None]]] = []
        self._committed: list[Callable[[Sequence[OutboxMessage]], None]] = []
        self._last_sequence = 0
        # Conditional writes in progress, by key: the lock they take turns on, and how many there are.
        self._key_locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    async def load(self) -> None:
        """Read every record, then sweep bodies no record names (what a crash left)."""
        for r in await self._store.list_object_records("bucket"):
            bucket = Bucket.from_record(r)
            # Checked as S3 checks it when it was put: parsed again only for what it says.
            parsed = parse(bucket.policy, PolicyKind.RESOURCE) if bucket.policy is not None else None
            self._buckets[r.bucket] = _Contents(bucket, {}, [], policy=parsed)
        strays: list[tuple[str, str, str]] = []
        for r in await self._store.list_object_records("object"):
            contents = self._buckets.get(r.bucket)
            if contents is None:  # its bucket is gone (an old race with DeleteBucket): removed below
                strays.append(("object", r.bucket, r.key))
                continue
            contents.objects[r.key] = StoredObject.from_record(r)
            contents.keys.append(r.key)  # listed by key: sorted already
        for r in await self._store.list_object_records("upload"):
            if r.bucket in self._buckets:
                self._uploads[r.key] = Upload.from_record(r)
            else:
                strays.append(("upload", r.bucket, r.key))
        for r in await self._store.list_object_records("part"):
            part = Part.from_record(r)
            if part.upload_id in self._uploads:
                self._parts.setdefault(part.upload_id, {})[part.number] = part
            else:
                strays.append(("part", r.bucket, r.key))
        for upload_id in self._uploads:
            self._parts.setdefault(upload_id, {})
        if self._names is not None and self._cell is not None:
            await self._names.reconcile(self._cell, self._buckets)
        if strays:
            await self._store.change_object_records(deletes=strays)
        keep = {o.file for c in self._buckets.values() for o in c.objects.values()}
        keep |= {p.file for parts in self._parts.values() for p in parts.values()}
        removed = await asyncio.to_thread(self.bodies.sweep, keep if self._sweep else None)
        if removed:
            log.info("removed %d object bodies that no object or part names (left by an earlier run)", removed)

    # For notifications (lamina/objects/change.py and whoever configures them).
    def exists(self, bucket: str) -> bool:
        return bucket in self._buckets

    def on_bucket_deleted(self, hook: Callable[[str], Awaitable[None]]) -> None:
        self._bucket_deleted.append(hook)

    def on_committed(self, hook: Callable[[Sequence[OutboxMessage]], None]) -> None:
        """Call ``hook`` (synchronous, quick) with the notifications each change committed, if any."""
        self._committed.append(hook)

    def _notified(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            for hook in self._committed:
                hook(messages)

    def sequencer(self) -> str:
        """An upper-case hex string greater than every one given before, across restarts too (it
        starts from the clock, in milliseconds, times 65,536)."""
        self._last_sequence = max(self._last_sequence + 1, int(time.time() * 1000) << 16)
        return f"{self._last_sequence:016X}"

    # Buckets.
    def buckets(self) -> list[Bucket]:
        return [c.bucket for _, c in sorted(self._buckets.items())]

    def bucket(self, name: str) -> Bucket:
        return self._contents(name).bucket

    def owner(self, name: str) -> Owner | None:
        """Which account and region hold the bucket ``name`` (any cell's), if one does."""
        contents = self._buckets.get(name)
        if contents is not None:
            return Owner(contents.bucket.owner, self._cell.region if self._cell is not None else contents.bucket.region)
        return self._names.owner(name) if self._names is not None else None

    def bucket_policy(self, name: str) -> Policy | None:
        """The policy of this cell's bucket ``name``, if it exists and has one."""
        contents = self._buckets.get(name)
        return contents.policy if contents is not None else None

    def _contents(self, name: str) -> _Contents:
        contents = self._buckets.get(name)
        if contents is None:
            if self._names is not None and self._cell is not None:
                refused = bucket_names.on_access(self._cell.account, self._names.owner(name))
                if refused is not None:
                    raise refused
            raise NoSuchBucket("The specified bucket does not exist", BucketName=name)
        return contents

    async def create_bucket(self, bucket: Bucket) -> None:
        """Create ``bucket``. Its account's own bucket of that name: in us-east-1 nothing happens (S3's
        legacy answer there is 200 OK); elsewhere ``BucketAlreadyOwnedByYou``."""
        existing = self._buckets.get(bucket.name)
        if existing is not None:
            if existing.bucket.region == bucket.region == "us-east-1":
                return
            raise BucketAlreadyOwnedByYou("Your previous request to create the named bucket succeeded and you "
                                          "already own it.", BucketName=bucket.name)  # fmt: skip
        if self._names is None or self._cell is None:
            await self._store.change_object_records([bucket.record()])
        else:
            await self._names.claim(bucket.name, self._cell)
            try:
                await self._store.change_object_records([bucket.record()])
            except BaseException:
                await self._names.release(bucket.name, self._cell)
                raise
        self._buckets.setdefault(bucket.name, _Contents(bucket, {}, []))

    async def delete_bucket(self, name: str) -> None:
        contents = self._contents(name)
        if contents.objects or contents.writing or contents.deleting:
            raise BucketNotEmpty("The bucket you tried to delete is not empty", BucketName=name)
        uploads = [u for u in self._uploads.values() if u.bucket == name]
        contents.deleting = True
        try:
            await self._store.change_object_records(
                deletes=[("bucket", name, "")],
                delete_prefixes=[("upload", name, ""), ("part", name, "")],
            )
        finally:
            contents.deleting = False
        del self._buckets[name]
        if self._names is not None and self._cell is not None:
            await self._names.release(name, self._cell)
        files = []
        for u in uploads:
            self._uploads.pop(u.upload_id, None)
            files += [p.file for p in self._parts.pop(u.upload_id, {}).values()]
        await self.bodies.remove(files)
        for hook in self._bucket_deleted:
            await hook(name)

    async def put_bucket_tags(self, name: str, tags: Mapping[str, str] | None) -> None:
        contents = self._contents(name)
        changed = replace(contents.bucket, tags=dict(tags) if tags is not None else None)
        await self._store.change_object_records([changed.record()])
        contents.bucket = changed

    async def put_bucket_policy(self, name: str, policy: Policy | None) -> None:
        """Set the bucket's policy (checked by ``bucket_policy.check``: its text is kept), or remove it (None)."""
        contents = self._contents(name)
        changed = replace(contents.bucket, policy=policy.text if policy is not None else None)
        await self._store.change_object_records([changed.record()])
        contents.bucket, contents.policy = changed, policy

    # Objects.
    def get(self, bucket: str, key: str) -> StoredObject:
        found = self._contents(bucket).objects.get(key)
        if found is None:
            raise NoSuchKey("The specified key does not exist.", Key=key)
        return found

    def current(self, bucket: str, key: str) -> StoredObject | None:
        """The object stored under ``key``, if any (the bucket must exist)."""
        return self._contents(bucket).objects.get(key)

    def listing(self, bucket: str, *, prefix: str, delimiter: str, after: str,
                max_keys: int) -> tuple[Page, list[StoredObject]]:  # fmt: skip
        contents = self._contents(bucket)
        page = list_keys(contents.keys, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
        return page, [contents.objects[k] for k in page.keys]

    async def put(self, obj: StoredObject, body: Incoming | None, caller: Caller, event: str,
                  deletes: Iterable[tuple[str, str, str]] = (), prefixes: Iterable[tuple[str, str, str]] = (),
                  condition: Condition | None = None) -> StoredObject:  # fmt: skip
        """Store ``obj`` (its body ``body``, made durable first; None: ``obj.file`` is durable already)
        with the records ``deletes`` and ``prefixes`` removed in the same transaction. ``condition``
        (a conditional write) is called with the object stored under the key, if any, just before
        the commit, and may raise; conditional writes of one key are committed one at a time, so
        of two ``If-None-Match: *`` writes exactly one succeeds."""
        if condition is None:
            return await self._put(obj, body, caller, event, deletes, prefixes, None)
        slot = (obj.bucket, obj.key)
        lock, users = self._key_locks.get(slot, (asyncio.Lock(), 0))
        self._key_locks[slot] = (lock, users + 1)
        try:
            async with lock:
                return await self._put(obj, body, caller, event, deletes, prefixes, condition)
        finally:
            lock, users = self._key_locks[slot]
            if users == 1:
                del self._key_locks[slot]
            else:
                self._key_locks[slot] = (lock, users - 1)

    async def _put(self, obj: StoredObject, body: Incoming | None, caller: Caller, event: str,
                   deletes: Iterable[tuple[str, str, str]], prefixes: Iterable[tuple[str, str, str]],
                   condition: Condition | None) -> StoredObject:  # fmt: skip
        self._contents(obj.bucket)
        try:
            if body is not None:
                await self.bodies.keep(body)
            contents = self._contents(obj.bucket)  # again: the bucket may have gone meanwhile
            if contents.deleting:
                raise NoSuchBucket("The specified bucket does not exist", BucketName=obj.bucket)
            if condition is not None:
                condition(contents.objects.get(obj.key))
            obj = replace(obj, sequencer=self.sequencer())
            messages = self._messages(obj.bucket, obj.key, event, obj.size, obj.etag, obj.sequencer, caller)
            contents.writing += 1  # DeleteBucket waits for no write: it refuses while one is committing
            try:
                await self._store.change_object_records([obj.record()], deletes=list(deletes),
                                                        delete_prefixes=list(prefixes), messages=messages)  # fmt: skip
            finally:
                contents.writing -= 1
        except BaseException:
            if body is not None:
                body.discard()
                await self.bodies.remove([body.name])
            raise
        self._notified(messages)
        old = contents.objects.get(obj.key)
        contents.objects[obj.key] = obj
        if old is None:
            bisect.insort(contents.keys, obj.key)
        elif old.file != obj.file:
            await self.bodies.remove([old.file])
        return obj

    async def delete(self, bucket: str, keys: list[str], caller: Caller) -> None:
        """Remove ``keys`` (those absent too: S3 answers them alike, and notifies them alike)."""
        contents = self._contents(bucket)
        messages: list[OutboxMessage] = []
        for key in keys:
            messages += self._messages(bucket, key, "ObjectRemoved:Delete", 0, "", self.sequencer(), caller)
        await self._store.change_object_records(deletes=[("object", bucket, k) for k in keys], messages=messages)
        self._notified(messages)
        gone = []
        for key in keys:
            old = contents.objects.pop(key, None)
            if old is not None:
                gone.append(old.file)
                i = bisect.bisect_left(contents.keys, key)
                if i < len(contents.keys) and contents.keys[i] == key:
                    del contents.keys[i]
        await self.bodies.remove(gone)

    async def put_tags(self, bucket: str, key: str, tags: Mapping[str, str]) -> None:
        obj = self.get(bucket, key)
        changed = replace(obj, attributes=replace(obj.attributes, tags=dict(tags)))
        await self._store.change_object_records([changed.record()])
        self._contents(bucket).objects[key] = changed

    def _messages(self, bucket: str, key: str, event: str, size: int, etag: str, sequencer: str,
                  caller: Caller) -> list[OutboxMessage]:  # fmt: skip
        change = ObjectChange(bucket=bucket, key=key, event=event, size=size, etag=etag, version_id=None,
                              sequencer=sequencer, request_id=caller.request_id, source_ip=caller.source_ip,
                              principal=caller.principal, time_ms=int(time.time() * 1000))  # fmt: skip
        return self._notifier.messages(change)

    # Multipart uploads.
    async def create_upload(self, upload: Upload) -> None:
        if self._contents(upload.bucket).deleting:
            raise NoSuchBucket("The specified bucket does not exist", BucketName=upload.bucket)
        await self._store.change_object_records([upload.record()])
        self._uploads[upload.upload_id] = upload
        self._parts[upload.upload_id] = {}

    def upload(self, bucket: str, upload_id: str) -> Upload:
        self._contents(bucket)
        found = self._uploads.get(upload_id)
        if found is None or found.bucket != bucket:
            raise NoSuchUpload("The specified upload does not exist. The upload ID may be invalid, or the upload "
                               "may have been aborted or completed.", UploadId=upload_id)  # fmt: skip
        return found

    def uploads(self, bucket: str) -> list[Upload]:
        self._contents(bucket)
        return sorted((u for u in self._uploads.values() if u.bucket == bucket), key=lambda u: (u.key, u.initiated_ms))

    def parts(self, upload_id: str) -> list[Part]:
        return [p for _, p in sorted(self._parts.get(upload_id, {}).items())]

    async def put_part(self, part: Part, body: Incoming) -> None:
        try:
            await self.bodies.keep(body)
            self.upload(part.bucket, part.upload_id)
            await self._store.change_object_records([part.record()])
        except BaseException:
            body.discard()
            await self.bodies.remove([body.name])
            raise
        parts = self._parts.get(part.upload_id)
        if parts is None:  # completed or aborted meanwhile
            await self.bodies.remove([part.file])
            return
        old = parts.get(part.number)
        parts[part.number] = part
        if old is not None:
            await self.bodies.remove([old.file])

    async def complete(self, upload: Upload, obj: StoredObject, body: Incoming, caller: Caller,
                       condition: Condition | None = None) -> StoredObject:  # fmt: skip
        done = await self.put(obj, body, caller, "ObjectCreated:CompleteMultipartUpload",
                              deletes=[("upload", upload.bucket, upload.upload_id)],
                              prefixes=[("part", upload.bucket, upload.upload_id + "/")], condition=condition)  # fmt: skip
        await self._forget_upload_files(upload.upload_id)
        return done

    async def abort(self, upload: Upload) -> None:
        await self._store.change_object_records(
            deletes=[("upload", upload.bucket, upload.upload_id)],
            delete_prefixes=[("part", upload.bucket, upload.upload_id + "/")],
        )
        await self._forget_upload_files(upload.upload_id)

    def _forget_upload(self, upload_id: str) -> list[str]:
        self._uploads.pop(upload_id, None)
        return [p.file for p in self._parts.pop(upload_id, {}).values()]

    async def _forget_upload_files(self, upload_id: str) -> None:
        await self.bodies.remove(self._forget_upload(upload_id))

