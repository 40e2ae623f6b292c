"""An SQS queue (Lamina's embedded queues, ``lamina.queues``) as a mapping's Source.

Records are received with the queue's visibility timeout: a record the function fails stays
invisible until it runs out and is then received again (counted toward the queue's redrive
policy, which moves a poison message to its dead-letter queue); a record the function is done
with is deleted. The event is AWS's (../shared/aws/events/ has samples): ``{"Records": [...]}``,
each with messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody,
eventSource ``aws:sqs``, eventSourceARN and awsRegion.

The queue service is reached through ``QueueService``, the part of
``lamina.queues.service.Queues`` this source uses (specs: the queues' interface).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NotRequired, Protocol, TypedDict

from lamina.mappings.batching import BatchLimits, fitting
from lamina.mappings.filters import parsed_body
from lamina.mappings.source import Lag, Record, SourceUnavailable
from lamina.queues.errors import QueueDoesNotExist

LONG_POLL_SECONDS = 20.0  # ReceiveMessage's longest wait, as Lambda's pollers use it
QUEUE_GONE = ("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
              "SQS Error Message: The specified queue does not exist for this wsdl version.")  # fmt: skip


class MessageAttributeLike(Protocol):
    @property
    def data_type(self) -> str: ...
    @property
    def string_value(self) -> str | None: ...
    @property
    def binary_value(self) -> bytes | None: ...


class ReceivedLike(Protocol):
    @property
    def message_id(self) -> str: ...
    @property
    def receipt_handle(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def md5_of_body(self) -> str: ...
    @property
    def attributes(self) -> Mapping[str, str]: ...
    @property
    def message_attributes(self) -> Mapping[str, MessageAttributeLike]: ...
    @property
    def md5_of_message_attributes(self) -> str | None: ...


class QueueInfoLike(Protocol):
    @property
    def arn(self) -> str: ...
    @property
    def fifo(self) -> bool: ...
    @property
    def visibility_timeout(self) -> int: ...


class BacklogLike(Protocol):
    @property
    def visible(self) -> int: ...
    @property
    def oldest_age_s(self) -> float | None: ...


class QueueService(Protocol):
    def get(self, arn: str) -> QueueInfoLike | None: ...

    def backlog(self, arn: str) -> BacklogLike | None: ...

    async def receive(
        self, arn: str, max_messages: int, wait_seconds: float, visibility_timeout: int | None = None
    ) -> Sequence[ReceivedLike]: ...

    async def delete(self, arn: str, receipt_handles: Sequence[str]) -> None: ...

    async def change_visibility(self, arn: str, receipt_handle: str, timeout_seconds: int) -> None: ...


class SqsMessageAttribute(TypedDict, total=False):
    stringValue: str
    binaryValue: str
    stringListValues: list[str]
    binaryListValues: list[str]
    dataType: str


class SqsRecord(TypedDict):
    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, SqsMessageAttribute]
    md5OfBody: str
    md5OfMessageAttributes: NotRequired[str]  # when the message has attributes
    eventSource: str
    eventSourceARN: str
    awsRegion: str


def sqs_record(message: ReceivedLike, queue_arn: str) -> SqsRecord:
    """One received message as the SQS event's record (pure)."""
    attributes: dict[str, SqsMessageAttribute] = {}
    for name, attribute in message.message_attributes.items():
        value = SqsMessageAttribute()
        if attribute.string_value is not None:
            value["stringValue"] = attribute.string_value
        if attribute.binary_value is not None:
            value["binaryValue"] = base64.b64encode(attribute.binary_value).decode()
        value["stringListValues"] = []
        value["binaryListValues"] = []
        value["dataType"] = attribute.data_type
        attributes[name] = value
    record = SqsRecord(
        messageId=message.message_id, receiptHandle=message.receipt_handle, body=message.body,
        attributes=dict(message.attributes), messageAttributes=attributes, md5OfBody=message.md5_of_body,
        eventSource="aws:sqs", eventSourceARN=queue_arn, awsRegion=queue_arn.split(":")[3],
    )  # fmt: skip
    if message.md5_of_message_attributes is not None:
        record["md5OfMessageAttributes"] = message.md5_of_message_attributes
    return record


def as_record(message: ReceivedLike, queue_arn: str) -> Record:
    record = sqs_record(message, queue_arn)
    view = {**record, "body": parsed_body(message.body)}
    return Record(
        id=message.message_id, token=message.receipt_handle, record=record, view=view,
        size=len(json.dumps(record).encode()), group=message.attributes.get("MessageGroupId"),
    )  # fmt: skip


class SqsSource:
    """A queue of ``queues``, by ARN; ``ordered`` for a FIFO queue."""

    def __init__(self, queues: QueueService, arn: str, *, poll_seconds: float = LONG_POLL_SECONDS,
                 visibility: Callable[[], int | None] | None = None) -> None:  # fmt: skip
        self._queues = queues
        self._arn = arn
        self._poll_seconds = poll_seconds
        self._visibility = visibility  # the visibility timeout to receive with (None: the queue's)

    @property
    def ordered(self) -> bool:
        info = self._queues.get(self._arn)
        return info is not None and info.fifo

    async def fetch(self, limits: BatchLimits) -> list[Record]:
        batch: list[Record] = []
        size = 0
        first = 0.0
        while True:
            elapsed = time.monotonic() - first if batch else 0.0
            if limits.complete(len(batch), size, elapsed):
                break
            wait = self._poll_seconds if not batch else max(0.0, limits.window_seconds - elapsed)
            received = await self._receive(limits.next_receive(len(batch)), wait)
            if not received:
                if batch or wait == 0.0:
                    break
                return []  # a long poll with nothing: the poller comes back
            if not batch:
                first = time.monotonic()
            batch.extend(as_record(m, self._arn) for m in received)
            size = sum(r.size for r in batch)
        keep = fitting([r.size for r in batch], limits.max_bytes)
        if keep < len(batch):
            await self.release(batch[keep:])
        return batch[:keep]

    async def _receive(self, count: int, wait: float) -> Sequence[ReceivedLike]:
        if self._queues.get(self._arn) is None:
            raise SourceUnavailable(QUEUE_GONE)
        visibility = self._visibility() if self._visibility is not None else None
        try:
            return await self._queues.receive(self._arn, count, wait, visibility)
        except QueueDoesNotExist as exc:  # deleted while we waited
            raise SourceUnavailable(QUEUE_GONE) from exc

    async def acknowledge(self, records: Sequence[Record]) -> None:
        if records and self._queues.get(self._arn) is not None:
            await self._queues.delete(self._arn, [r.token for r in records])

    async def fail(self, records: Sequence[Record]) -> None:
        """Nothing to do: they come back when their visibility timeout runs out."""

    async def release(self, records: Sequence[Record]) -> None:
        if self._queues.get(self._arn) is None:
            return
        for record in records:
            await self._queues.change_visibility(self._arn, record.token, 0)

    def event(self, records: Sequence[Record]) -> bytes:
        return json.dumps({"Records": [r.record for r in records]}).encode()

    def lag(self) -> Lag:
        """The queue's visible messages and the oldest one's age (``Queues.backlog``)."""
        found = self._queues.backlog(self._arn)
        if found is None:
            return Lag(backlog=None, oldest_age_seconds=None)
        return Lag(backlog=found.visible, oldest_age_seconds=found.oldest_age_s)


class ReachedQueues:
    """The queues of whichever cell ``queues_of`` finds for an ARN, asked at every call: a source
    queue of another account (cells/crossings.py) is gone for the mapping once its cell stops,
    rather than answering every receive at once while it shuts down."""

    def __init__(self, queues_of: Callable[[str], QueueService | None]) -> None:
        self._queues_of = queues_of

    def get(self, arn: str) -> QueueInfoLike | None:
        queues = self._queues_of(arn)
        return queues.get(arn) if queues is not None else None

    def backlog(self, arn: str) -> BacklogLike | None:
        queues = self._queues_of(arn)
        return queues.backlog(arn) if queues is not None else None

    async def receive(self, arn: str, max_messages: int, wait_seconds: float,
                      visibility_timeout: int | None = None) -> Sequence[ReceivedLike]:  # fmt: skip
        queues = self._queues_of(arn)
        if queues is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return await queues.receive(arn, max_messages, wait_seconds, visibility_timeout)

    async def delete(self, arn: str, receipt_handles: Sequence[str]) -> None:
        queues = self._queues_of(arn)
        if queues is not None:
            await queues.delete(arn, receipt_handles)

    async def change_visibility(self, arn: str, receipt_handle: str, timeout_seconds: int) -> None:
        queues = self._queues_of(arn)
        if queues is not None:
            await queues.change_visibility(arn, receipt_handle, timeout_seconds)
