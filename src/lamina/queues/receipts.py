"""What a receipt handle names and lets a consumer do: DeleteMessage(Batch) and
ChangeMessageVisibility on the message of a receive; and a FIFO message's SequenceNumber.

A handle names the message and the receive it was given for, so a later receive of the message
makes it stale (deleting with it is then not an error, and does nothing)."""

from __future__ import annotations

import base64
import binascii
from typing import Sequence

from lamina.queues.errors import InvalidParameterValue, MessageNotInflight, ReceiptHandleIsInvalid
from lamina.queues.queue import Queue
from lamina.queues.receiving import Held
from lamina.queues.registry import Registry
from lamina.store.base import MessageState

MAX_VISIBILITY_S = 43200


class Receipts(Registry):
    def _held(self, queue: Queue, handle: str) -> Held | None:
        """The message a receipt handle names if it is still the latest receive's; ReceiptHandleIsInvalid
        if it is not a handle (of this queue) at all."""
        name, seq, count = parse_receipt_handle(handle)
        if name != queue.name:
            raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.')
        held = queue.messages.get(seq)
        return held if held is not None and held.receive_count == count else None

    async def delete_message(self, queue: Queue, handle: str) -> None:
        """DeleteMessage: a handle of a message deleted already, or received again since, is not an error."""
        (invalid,) = await self.delete_messages(queue, [handle])
        if invalid is not None:
            raise invalid

    async def delete_messages(self, queue: Queue, handles: Sequence[str]) -> list[ReceiptHandleIsInvalid | None]:
        """DeleteMessage for each handle, in one store transaction: per handle, the error if it is not
        a receipt handle of this queue, else None (deleted; or deleted already, or received again
        since, which is not an error)."""
        outcomes: list[ReceiptHandleIsInvalid | None] = []
        gone = []
        for handle in handles:
            try:
                held = self._held(queue, handle)
            except ReceiptHandleIsInvalid as exc:
                outcomes.append(exc)
                continue
            outcomes.append(None)
            if held is not None and queue.messages.pop(held.seq, None) is not None:
                gone.append(held.seq)
        if gone:
            await self._store.change_queue_messages(deletes=gone)
        return outcomes

    async def change_message_visibility(self, queue: Queue, handle: str, timeout: int, *, strict: bool = True) -> None:
        """ChangeMessageVisibility: the timeout counts from now, and may not end more than 12 hours
        after the receive that gave the handle (as SQS refuses; not ``strict``: the seam's callers,
        which ignore a stale handle, are not held to that)."""
        if not 0 <= timeout <= MAX_VISIBILITY_S:
            raise InvalidParameterValue(f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                                        f"Reason: Must be between 0 and {MAX_VISIBILITY_S}, if provided.")  # fmt: skip
        held = self._held(queue, handle)
        now = self._now_ms()
        if held is None or not held.in_flight(now):
            if not strict:
                return
            if held is None:
                raise InvalidParameterValue(
                    f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is "
                    "not available for visibility timeout change."
                )
            raise MessageNotInflight("The message referred to isn't in flight.")
        if strict and held.received_ms and now + timeout * 1000 - held.received_ms > MAX_VISIBILITY_S * 1000:
            raise InvalidParameterValue(f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                                        f"VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY_S} "
                                        "seconds].")  # fmt: skip
        held.visible_ms = now + timeout * 1000
        await self._store.change_queue_messages(
            updates=[MessageState(held.seq, held.visible_ms, held.receive_count, held.first_receive_ms)]
        )
        queue.waiters.wake_all()  # visible sooner than a parked receive expects, perhaps


def sequence_number(seq: int) -> str:
    """A FIFO message's SequenceNumber: increasing with the store's order, as long as SQS's."""
    return f"{seq:020d}"


def receipt_handle(queue: str, held: Held) -> str:
    """A handle naming the message and the receive it was given for (a later receive makes it stale)."""
    raw = f"{queue}\n{held.seq}\n{held.receive_count}\n{held.stored.message_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def parse_receipt_handle(handle: str) -> tuple[str, int, int]:
    """``(queue name, seq, receive count)``; ReceiptHandleIsInvalid if ``handle`` is not one of ours."""
    try:
        name, seq, count, _ = base64.urlsafe_b64decode(handle.encode()).decode().split("\n")
        return name, int(seq), int(count)
    except (ValueError, binascii.Error, UnicodeError):
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.') from None
