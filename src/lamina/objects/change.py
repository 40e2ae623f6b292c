"""The seam between the object store and its notifications.

The store describes each change it commits as an ``ObjectChange``; a ``Notifier`` says what
messages that change owes its bucket's notification destinations. The store commits those
messages in the same transaction as the change, so a notification is never lost once the write is
acknowledged, and never sent for a write that did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lamina.store.base import OutboxMessage


@dataclass(frozen=True, slots=True)
class ObjectChange:
    bucket: str
    key: str  # as stored (not URL-encoded)
    event: str  # S3's event name without "s3:", e.g. "ObjectCreated:Put", "ObjectRemoved:Delete"
    size: int  # the object's size; 0 for a removal
    etag: str  # without quotes; "" for a removal
    version_id: str | None  # None for an unversioned bucket
    sequencer: str  # upper-case hex; later changes of one key have greater values (compared as S3 says: padded)
    request_id: str  # the request's x-amz-request-id
    source_ip: str  # the client's address
    principal: str  # who made the request (the account id until requests are signed by principals)
    time_ms: int  # epoch milliseconds


class Notifier(Protocol):
    def messages(self, change: ObjectChange) -> list[OutboxMessage]:
        """The outbox messages ``change`` owes its bucket's destinations; none when it owes none.
        Pure: no I/O (the configurations are in memory)."""
        ...


class NoNotifications:
    """A store without notifications."""

    def messages(self, change: ObjectChange) -> list[OutboxMessage]:
        return []
