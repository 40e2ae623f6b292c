"""NotificationConfigs: every bucket's notification configuration, in memory, written through the
store (resources of kind ``s3/notification``, keyed by bucket), and the ``Notifier`` the object
store asks what each change it commits owes (``objects/change.py``).

``messages`` is pure and reads memory only: the store calls it inside the transaction that commits
a change, and commits what it returns in the outbox with the change, so a notification is neither
lost once the write is acknowledged nor sent for a write that did not happen. Each message is
addressed to its destination's ARN, of kind ``NOTIFICATION``, its body the event as the
destination takes it; the relays deliver them: functions (``notifications/relay.py``), queues
(``queues/relay.py``), the default event bus (``events/relay.py``).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from lamina.objects.change import ObjectChange
from lamina.objects.notifications import codec, records, validation
from lamina.objects.notifications.matching import matches
from lamina.objects.notifications.model import KIND, Kind, Notifications
from lamina.objects.notifications.validation import Destinations
from lamina.settings import Settings
from lamina.store.base import NOTIFICATION, OutboxMessage, Resource
from lamina.store.aggregates import ResourceStore


class NotificationConfigs:
    def __init__(self, store: ResourceStore, settings: Settings, destinations: Destinations,
                 make_id: Callable[[], str] = validation.new_id) -> None:  # fmt: skip
        self._store = store
        self._destinations = destinations
        self._make_id = make_id
        self._origin = records.Origin(settings.region, settings.account_id)
        self._bus_arn = f"arn:aws:events:{settings.region}:{settings.account_id}:event-bus/default"
        self._by_bucket: dict[str, Notifications] = {}
        self._lock = asyncio.Lock()  # one write at a time: memory follows the store in the same order

    async def load(self) -> None:
        """Read every stored configuration (at start, before the object store takes writes)."""
        self._by_bucket = {
            r.key: Notifications.from_doc(r.doc) for r in await self._store.list_resources(KIND)
        }

    async def put(self, bucket: str, body: bytes, *, skip_destination_validation: bool = False) -> None:
        """PutBucketNotificationConfiguration: replace the bucket's configuration with the one ``body``
        holds (an empty one removes it). ``MalformedXML`` or ``InvalidArgument`` (S3's wording) for
        what S3 refuses; nothing changes then. ``skip_destination_validation`` (the
        x-amz-skip-destination-validation header) does not ask whether functions and queues exist;
        topics are refused all the same: Lamina has no SNS to deliver to."""
        given = validation.validate(codec.parse(body), self._make_id)
        if skip_destination_validation:
            topics = Notifications(tuple(c for c in given.configurations if c.kind is Kind.TOPIC))
            validation.check_destinations(topics, self._destinations)
        else:
            validation.check_destinations(given, self._destinations, bucket)
        async with self._lock:
            if given.empty:
                await self._store.change_resources(deletes=[(KIND, bucket)])
                self._by_bucket.pop(bucket, None)
            else:
                await self._store.change_resources([Resource(KIND, bucket, given.doc())])
                self._by_bucket[bucket] = given

    def get(self, bucket: str) -> bytes:
        """GetBucketNotificationConfiguration's answer (an empty configuration when there is none)."""
        return codec.write(self._by_bucket.get(bucket, Notifications()))

    def configuration(self, bucket: str) -> Notifications:
        return self._by_bucket.get(bucket, Notifications())

    async def forget_all_but(self, exists: Callable[[str], bool]) -> None:
        """At start: forget the configurations of buckets that are gone (a crash between a bucket's
        deletion and ``forget`` must not hand its configuration to a bucket made again by that name)."""
        for bucket in [b for b in self._by_bucket if not exists(b)]:
            await self.forget(bucket)

    async def forget(self, bucket: str) -> None:
        """The bucket was deleted: its configuration goes with it (nothing stored: not an error)."""
        async with self._lock:
            if bucket in self._by_bucket:
                await self._store.change_resources(deletes=[(KIND, bucket)])
                self._by_bucket.pop(bucket, None)

    def messages(self, change: ObjectChange) -> list[OutboxMessage]:
        """One outbox message per configuration that asks for ``change``, and one for the default
        event bus when EventBridge is on. Pure (memory only)."""
        notifications = self._by_bucket.get(change.bucket)
        if notifications is None:
            return []
        found = [
            OutboxMessage(c.arn, NOTIFICATION, "", change.request_id, records.body(change, c.id, self._origin), {},
                          change.time_ms)  # fmt: skip
            for c in notifications.configurations if matches(c, change.event, change.key)
        ]  # fmt: skip
        if notifications.eventbridge:
            made = records.eventbridge(change, self._origin)
            if made is not None:
                found.append(OutboxMessage(self._bus_arn, NOTIFICATION, "", change.request_id, made.encode(), {},
                                           change.time_ms))  # fmt: skip
        return found
