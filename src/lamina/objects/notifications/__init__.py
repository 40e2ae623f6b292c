"""Bucket notifications (S3's PutBucketNotificationConfiguration and the events it sends): model.py
(configurations as values, the event types), codec.py (the XML in and out), validation.py (S3's
checks and wording), matching.py (which configurations a change concerns), records.py (the S3 event
record and the EventBridge event, as AWS shapes them), service.py (NotificationConfigs: the
configurations in memory, written through the store, and the object store's Notifier), relay.py
(notifications for functions, taken from the outbox and invoked asynchronously), wakes.py (the
relays woken once a change that owed notifications is committed)."""

from lamina.objects.notifications.service import NotificationConfigs
from lamina.objects.notifications.validation import Destinations

__all__ = ["Destinations", "NotificationConfigs"]
