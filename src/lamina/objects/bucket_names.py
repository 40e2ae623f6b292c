"""S3's bucket names are global: one name, one bucket, across every account and region.

Each cell keeps its own buckets (objects/service.py); this index, kept in the default cell's store
(kind ``s3/bucket-name``, key the name, as IAM's state is: the host's, every cell sees it), says
which cell, (account, region), holds each name. ``claim`` before a bucket's record is written,
``release`` after its deletion is committed; the two stores are not one transaction, so each cell
reconciles the index with its buckets when it loads (``reconcile``): a name claimed for a bucket
the cell does not have (a crash between the claim and the record, or between the deletion and the
release) is released, and a bucket the index does not name (one made before the index) is claimed.

What an S3 request gets for a name (``on_create``, ``on_access``) is decided without I/O from the
owner the index names:

- CreateBucket of a name another account owns: ``BucketAlreadyExists``; of one the caller's own
  account owns in another cell: ``BucketAlreadyOwnedByYou`` (the cell's own bucket is answered by
  ``ObjectStore.create_bucket``: 200 OK in us-east-1, as S3's legacy answer there).
- Any other request for a bucket of another account, answered by the caller's own cell:
  ``AccessDenied``. Such a request reaches the owner's cell instead (api/cells.py), where the
  bucket's policy decides it; it is answered here only where nothing can (a server without IAM).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Iterable

from lamina.objects.errors import AccessDenied, BucketAlreadyExists, BucketAlreadyOwnedByYou, S3Error
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)

KIND = "s3/bucket-name"


@dataclass(frozen=True, slots=True)
class Owner:
    account: str
    region: str  # the cell's: where the bucket's records and bodies are


def on_create(name: str, account: str, owner: Owner | None) -> S3Error | None:
    """What CreateBucket of ``name`` by ``account`` is refused with, given the name's ``owner`` (pure)."""
    if owner is None:
        return None
    if owner.account == account:
        return BucketAlreadyOwnedByYou("Your previous request to create the named bucket succeeded and you already "
                                       "own it.", BucketName=name)  # fmt: skip
    return BucketAlreadyExists("The requested bucket name is not available. The bucket namespace is shared by all "
                               "users of the system. Please select a different name and try again.", BucketName=name)  # fmt: skip


def on_access(account: str, owner: Owner | None) -> S3Error | None:
    """What a request of ``account`` for a bucket its cell does not hold is refused with, if not
    NoSuchBucket: AccessDenied when another account owns the name (pure)."""
    if owner is not None and owner.account != account:
        return AccessDenied("Access Denied")
    return None


class BucketNames:
    def __init__(self, store: ResourceStore) -> None:
        self._store = store
        self._owners: dict[str, Owner] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        for r in await self._store.list_resources(KIND):
            self._owners[r.key] = Owner(str(r.doc["account"]), str(r.doc["region"]))

    def owner(self, name: str) -> Owner | None:
        return self._owners.get(name)

    async def claim(self, name: str, owner: Owner) -> None:
        """Take ``name`` for ``owner`` (written before it is answered), or raise what ``on_create`` says."""
        async with self._lock:
            refused = on_create(name, owner.account, self._owners.get(name))
            if refused is not None:
                raise refused
            await self._store.change_resources([Resource(KIND, name, {"account": owner.account,
                                                                      "region": owner.region})])  # fmt: skip
            self._owners[name] = owner

    async def release(self, name: str, owner: Owner) -> None:
        """Give ``name`` up, if ``owner`` holds it."""
        async with self._lock:
            if self._owners.get(name) == owner:
                await self._store.change_resources(deletes=[(KIND, name)])
                del self._owners[name]

    async def reconcile(self, owner: Owner, held: Iterable[str]) -> list[str]:
        """Make the index say that ``owner``'s cell holds exactly ``held``; answer the names it holds
        that another cell holds too (left as they are, and logged)."""
        held = set(held)
        async with self._lock:
            stale = [n for n, o in self._owners.items() if o == owner and n not in held]
            taken = sorted(n for n in held if self._owners.get(n) not in (None, owner))
            missing = sorted(n for n in held if n not in self._owners)
            if stale or missing:
                puts = [Resource(KIND, n, {"account": owner.account, "region": owner.region}) for n in missing]
                await self._store.change_resources(puts, deletes=[(KIND, n) for n in stale])
                for n in stale:
                    del self._owners[n]
                self._owners.update({n: owner for n in missing})
        for name in taken:
            log.warning("bucket %s of account %s in %s is also held by account %s in %s: S3's bucket names are "
                        "global, so only the latter is found by other accounts", name, owner.account, owner.region,
                        self._owners[name].account, self._owners[name].region)  # fmt: skip
        return taken
