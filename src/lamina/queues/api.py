"""SQS's API as botocore speaks it today: awsJson 1.0 (``POST /``, ``X-Amz-Target:
AmazonSQS.<Operation>``), served through ``lamina.api.awsjson``. Queue URLs are made with the
request's own Host (``http://<host>/<account>/<name>``), so they work from wherever they were asked.

Each handler reads its members (``params.py``), asks ``Queues`` (service.py) and answers with the
model's member names. Batches answer each entry's failure in ``Failed`` and fail whole only for what
SQS fails whole (empty, more than ten, ids repeated or malformed, too long together).
"""

from __future__ import annotations

import re
from typing import Awaitable, Callable, Mapping

from aiohttp import web

from lamina.api import awsjson
from lamina.api.context import services
from lamina.errors import ApiError
from lamina.queues import fifo, messages, model, permissions
from lamina.queues.errors import (
    BatchEntryIdsNotDistinct, BatchRequestTooLong, EmptyBatchRequest, InvalidAttributeName, InvalidBatchEntryId,
    MissingParameter, QueueDoesNotExist, TooManyEntriesInBatchRequest,
)  # fmt: skip
from lamina.queues.moves import MAX_RATE
from lamina.queues.params import integer, optional_string, string, string_list
from lamina.queues.queue import Queue
from lamina.queues.service import Queues, Received

CONTENT_TYPE = "application/x-amz-json-1.0"
PREFIX = "AmazonSQS"
MAX_BATCH = 10
MAX_BATCH_BYTES = 1048576
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
Result = Mapping[str, object]


def _queues(request: web.Request) -> Queues:
    queues = services(request).queues
    assert queues is not None
    return queues


def _base(request: web.Request) -> str:
    return f"http://{request.host}"


def _queue(request: web.Request, body: Mapping[str, object]) -> Queue:
    """The queue QueueUrl names, or, sent to the queue's own URL without one, the queue in the path."""
    queue_url = body.get("QueueUrl")
    if queue_url is None and "name" in request.match_info:
        queue_url = request.path
    return _queues(request).by_url(queue_url)


async def create_queue(request: web.Request, body: Mapping[str, object]) -> Result:
    name = string(body, "QueueName")
    attributes = body.get("Attributes") or {}
    if not isinstance(attributes, dict):
        raise InvalidAttributeName("Attributes must be a map.")
    tags = model.check_tags(body.get("tags"))
    queue = await _queues(request).create_queue(name, attributes, tags)
    return {"QueueUrl": _queues(request).url_of(queue.name, _base(request))}


async def get_queue_url(request: web.Request, body: Mapping[str, object]) -> Result:
    queues = _queues(request)
    owner = optional_string(body, "QueueOwnerAWSAccountId")
    if owner is not None and owner != services(request).settings.account_id:
        raise QueueDoesNotExist("The specified queue does not exist.")
    queue = queues.named(string(body, "QueueName"))
    return {"QueueUrl": queues.url_of(queue.name, _base(request))}


async def delete_queue(request: web.Request, body: Mapping[str, object]) -> Result:
    await _queues(request).delete_queue(_queue(request, body))
    return {}


def _page(names: list[str], body: Mapping[str, object]) -> tuple[list[str], str | None]:
    """One page of ``names`` (sorted) after NextToken (a name), at most MaxResults; the next token."""
    limit = integer(body, "MaxResults", None, 1, 1000)
    after = optional_string(body, "NextToken")
    if after:
        names = [n for n in names if n > after]
    if limit is None:
        return names[:1000], None
    page = names[:limit]
    return page, page[-1] if len(names) > limit else None


async def list_queues(request: web.Request, body: Mapping[str, object]) -> Result:
    queues = _queues(request)
    prefix = optional_string(body, "QueueNamePrefix") or ""
    page, token = _page([n for n in queues.names() if n.startswith(prefix)], body)
    result: dict[str, object] = {}
    if page:
        result["QueueUrls"] = [queues.url_of(n, _base(request)) for n in page]
    if token:
        result["NextToken"] = token
    return result


async def list_dead_letter_source_queues(request: web.Request, body: Mapping[str, object]) -> Result:
    queues = _queues(request)
    sources = [q.name for q in queues.dead_letter_sources(_queue(request, body))]
    page, token = _page(sources, body)
    result: dict[str, object] = {"queueUrls": [queues.url_of(n, _base(request)) for n in page]}
    if token:
        result["NextToken"] = token
    return result


async def get_queue_attributes(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    names = string_list(body, "AttributeNames")
    for name in names:
        if name != "All" and name not in model.READABLE:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
    found = _queues(request).attributes(queue, names)
    return {"Attributes": found} if found else {}


async def set_queue_attributes(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    attributes = body.get("Attributes")
    if not isinstance(attributes, dict):
        raise MissingParameter("The request must contain the parameter Attributes.")
    await _queues(request).set_attributes(queue, attributes)
    return {}


async def tag_queue(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    await _queues(request).set_tags(queue, model.check_tags(body.get("Tags")))
    return {}


async def untag_queue(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    await _queues(request).set_tags(queue, {}, string_list(body, "TagKeys"))
    return {}


async def list_queue_tags(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    return {"Tags": dict(queue.tags)} if queue.tags else {}


async def add_permission(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    policy = permissions.add(queue.attribute("Policy"), queue.arn, string(body, "Label"),
                             string_list(body, "AWSAccountIds"), string_list(body, "Actions"))  # fmt: skip
    await _queues(request).set_attributes(queue, {"Policy": policy})
    return {}


async def remove_permission(request: web.Request, body: Mapping[str, object]) -> Result:
    queue = _queue(request, body)
    policy = permissions.remove(queue.attribute("Policy"), queue.arn, string(body, "Label"))
    await _queues(request).set_attributes(queue, {"Policy": policy})
    return {}


async def purge_queue(request: web.Request, body: Mapping[str, object]) -> Result:
    await _queues(request).purge(_queue(request, body))
    return {}


def _id(body: Mapping[str, object], name: str) -> str | None:
    """A FIFO id member (MessageGroupId, MessageDeduplicationId, ReceiveRequestAttemptId), checked."""
    value = optional_string(body, name)
    if value is not None:
        fifo.check_id(name, value)
    return value


async def _send(queues: Queues, queue: Queue, entry: Mapping[str, object]) -> dict[str, object]:
    if "MessageBody" not in entry:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    body = entry.get("MessageBody")
    if not isinstance(body, str):
        raise MissingParameter("The request must contain the parameter MessageBody.")
    attributes = messages.parse_attributes(entry.get("MessageAttributes"))
    system = messages.parse_system_attributes(entry.get("MessageSystemAttributes"))
    sent = await queues.send_message(
        queue, body, attributes, delay_seconds=integer(entry, "DelaySeconds", None, 0, 900),
        group_id=_id(entry, "MessageGroupId"), deduplication_id=_id(entry, "MessageDeduplicationId"),
        system={name: a.string_value or "" for name, a in system.items()},
    )  # fmt: skip
    result: dict[str, object] = {"MessageId": sent.message_id, "MD5OfMessageBody": messages.md5_of_body(body)}
    digest = messages.md5_of_attributes(attributes)
    if digest is not None:
        result["MD5OfMessageAttributes"] = digest
    system_digest = messages.md5_of_attributes(system)
    if system_digest is not None:
        result["MD5OfMessageSystemAttributes"] = system_digest
    if sent.sequence_number is not None:
        result["SequenceNumber"] = sent.sequence_number
    return result


async def send_message(request: web.Request, body: Mapping[str, object]) -> Result:
    return await _send(_queues(request), _queue(request, body), body)


def _entries(body: Mapping[str, object]) -> list[Mapping[str, object]]:
    entries = body.get("Entries")
    if not isinstance(entries, list) or not entries:
        raise EmptyBatchRequest("There should be at least one SendMessageBatchRequestEntry in the request.")
    if len(entries) > MAX_BATCH:
        raise TooManyEntriesInBatchRequest(f"Maximum number of entries per request are {MAX_BATCH}. "
                                           f"You have sent {len(entries)}.")  # fmt: skip
    ids: set[str] = set()
    for entry in entries:
        entry_id = entry.get("Id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, str) or not _BATCH_ID.match(entry_id):
            raise InvalidBatchEntryId("A batch entry id can only contain alphanumeric characters, hyphens and "
                                      "underscores. It can be at most 80 letters long.")  # fmt: skip
        if entry_id in ids:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        ids.add(entry_id)
    return entries


def _failed(entry_id: str, error: ApiError) -> dict[str, object]:
    return {"Id": entry_id, "SenderFault": True, "Code": error.code, "Message": error.message}


def _size(entry: Mapping[str, object]) -> int:
    """What an entry counts towards the batch's 1 MiB: its body and message attributes (those it
    sends malformed count as nothing: the entry fails on its own)."""
    body = str(entry.get("MessageBody", ""))
    try:
        return messages.message_size(body, messages.parse_attributes(entry.get("MessageAttributes")))
    except ApiError:
        return len(body.encode())


async def send_message_batch(request: web.Request, body: Mapping[str, object]) -> Result:
    queues, queue = _queues(request), _queue(request, body)
    entries = _entries(body)
    total = sum(_size(e) for e in entries)
    if total > MAX_BATCH_BYTES:
        raise BatchRequestTooLong(f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
                                  f"You have sent {total} bytes.")  # fmt: skip
    successful, failed = [], []
    for entry in entries:  # in order: a FIFO batch keeps its entries' order
        try:
            successful.append({"Id": entry["Id"], **await _send(queues, queue, entry)})
        except ApiError as exc:
            failed.append(_failed(str(entry["Id"]), exc))
    return {"Successful": successful, "Failed": failed}


def _message(received: Received, system_names: list[str], attribute_names: object) -> dict[str, object]:
    wire: dict[str, object] = {
        "MessageId": received.message_id, "ReceiptHandle": received.receipt_handle,
        "MD5OfBody": received.md5_of_body, "Body": received.body,
    }  # fmt: skip
    if system_names:
        every = "All" in system_names
        chosen = {k: v for k, v in received.attributes.items() if every or k in system_names}
        if chosen:
            wire["Attributes"] = chosen
    selected = messages.select(received.message_attributes, attribute_names)
    if selected:
        wire["MessageAttributes"] = messages.to_wire(selected)
        wire["MD5OfMessageAttributes"] = messages.md5_of_attributes(selected)
    return wire


async def receive_message(request: web.Request, body: Mapping[str, object]) -> Result:
    queues, queue = _queues(request), _queue(request, body)
    limit = integer(body, "MaxNumberOfMessages", 1, 1, 10)
    default_wait = queue.number("ReceiveMessageWaitTimeSeconds")
    wait = integer(body, "WaitTimeSeconds", default_wait, 0, 20)
    timeout = integer(body, "VisibilityTimeout", None, 0, 43200)
    system_names = string_list(body, "AttributeNames") + string_list(body, "MessageSystemAttributeNames")
    received = await queues.receive_from(queue, limit or 1, float(wait or 0), timeout,
                                         _id(body, "ReceiveRequestAttemptId"))  # fmt: skip
    if not received:
        return {}
    return {"Messages": [_message(r, system_names, body.get("MessageAttributeNames")) for r in received]}


async def delete_message(request: web.Request, body: Mapping[str, object]) -> Result:
    await _queues(request).delete_message(_queue(request, body), string(body, "ReceiptHandle"))
    return {}


async def delete_message_batch(request: web.Request, body: Mapping[str, object]) -> Result:
    """Every entry's deletion in one store transaction; an entry that names no message of the queue fails alone."""
    queues, queue = _queues(request), _queue(request, body)
    entries = _entries(body)
    outcomes: dict[str, ApiError | None] = {}
    handles: dict[str, str] = {}
    for entry in entries:
        try:
            handles[str(entry["Id"])] = string(entry, "ReceiptHandle")
        except ApiError as exc:
            outcomes[str(entry["Id"])] = exc
    outcomes.update(zip(handles, await queues.delete_messages(queue, list(handles.values()))))
    successful, failed = [], []
    for entry in entries:
        error = outcomes[str(entry["Id"])]
        if error is None:
            successful.append({"Id": entry["Id"]})
        else:
            failed.append(_failed(str(entry["Id"]), error))
    return {"Successful": successful, "Failed": failed}


async def change_message_visibility(request: web.Request, body: Mapping[str, object]) -> Result:
    timeout = integer(body, "VisibilityTimeout", None, None, None)
    if timeout is None:
        raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
    await _queues(request).change_message_visibility(_queue(request, body), string(body, "ReceiptHandle"), timeout)
    return {}


async def change_message_visibility_batch(request: web.Request, body: Mapping[str, object]) -> Result:
    queues, queue = _queues(request), _queue(request, body)
    successful, failed = [], []
    for entry in _entries(body):
        try:
            timeout = integer(entry, "VisibilityTimeout", None, None, None)
            if timeout is None:
                raise MissingParameter("The request must contain the parameter VisibilityTimeout.")
            await queues.change_message_visibility(queue, string(entry, "ReceiptHandle"), timeout)
            successful.append({"Id": entry["Id"]})
        except ApiError as exc:
            failed.append(_failed(str(entry["Id"]), exc))
    return {"Successful": successful, "Failed": failed}


async def start_message_move_task(request: web.Request, body: Mapping[str, object]) -> Result:
    rate = integer(body, "MaxNumberOfMessagesPerSecond", None, 1, MAX_RATE)
    task = await _queues(request).start_move(string(body, "SourceArn"), optional_string(body, "DestinationArn"), rate)
    return {"TaskHandle": task.handle}


async def list_message_move_tasks(request: web.Request, body: Mapping[str, object]) -> Result:
    limit = integer(body, "MaxResults", 1, 1, 10) or 1
    results = []
    for task in _queues(request).move_tasks(string(body, "SourceArn"))[:limit]:
        entry: dict[str, object] = {
            "Status": task.status, "SourceArn": task.source_arn, "ApproximateNumberOfMessagesMoved": task.moved,
            "ApproximateNumberOfMessagesToMove": task.to_move, "StartedTimestamp": task.started_ms,
        }  # fmt: skip
        if task.status == "RUNNING":
            entry["TaskHandle"] = task.handle  # as SQS lists it: only a running task's
        if task.destination_arn is not None:
            entry["DestinationArn"] = task.destination_arn
        if task.rate is not None:
            entry["MaxNumberOfMessagesPerSecond"] = task.rate
        if task.failure is not None:
            entry["FailureReason"] = task.failure
        results.append(entry)
    return {"Results": results}


async def cancel_message_move_task(request: web.Request, body: Mapping[str, object]) -> Result:
    task = await _queues(request).cancel_move(string(body, "TaskHandle"))
    return {"ApproximateNumberOfMessagesMoved": task.moved}


OPERATIONS: dict[str, Callable[[web.Request, Mapping[str, object]], Awaitable[Result]]] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "DeleteQueue": delete_queue,
    "ListQueues": list_queues,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
    "ListQueueTags": list_queue_tags,
    "PurgeQueue": purge_queue,
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
    "StartMessageMoveTask": start_message_move_task,
    "ListMessageMoveTasks": list_message_move_tasks,
    "CancelMessageMoveTask": cancel_message_move_task,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
}


def register(app: web.Application) -> None:
    """``POST /`` by X-Amz-Target, and ``POST /<account>/<queue name>`` too: the queue's own URL,
    where SDKs that take a queue URL as their endpoint send its requests."""
    awsjson.register_with_request(app, PREFIX, OPERATIONS, CONTENT_TYPE)
    app.router.add_post(r"/{account:\d{12}}/{name:[A-Za-z0-9_.-]{1,80}}", awsjson.dispatch)
