"""SQS's errors, as botocore's model names them (``aws/api/sqs``), with the legacy query code.

SQS speaks awsJson 1.0 with the ``awsQueryCompatible`` trait: an error's body carries
``__type`` (the model's shape name) and its ``x-amzn-query-error: <QueryCode>;Sender`` header the
code SQS answered with when it spoke the query protocol. botocore reports that code as
``Error.Code`` (e.g. ``AWS.SimpleQueueService.NonExistentQueue``) and raises the modeled exception
(``QueueDoesNotExist``), as it does against AWS.
"""

from __future__ import annotations

from typing import ClassVar

from lamina.errors import ApiError


class SqsError(ApiError):
    status = 400
    query_code: ClassVar[str] = ""  # the query protocol's code; "" when it is ``code``

    def headers(self) -> dict[str, str]:
        return {"x-amzn-query-error": f"{self.query_code or self.code};Sender"}


class QueueDoesNotExist(SqsError):
    code = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"


class QueueNameExists(SqsError):
    code = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class QueueDeletedRecently(SqsError):
    code = "QueueDeletedRecently"
    query_code = "AWS.SimpleQueueService.QueueDeletedRecently"


class PurgeQueueInProgress(SqsError):
    code = "PurgeQueueInProgress"
    query_code = "AWS.SimpleQueueService.PurgeQueueInProgress"


class InvalidAttributeName(SqsError):
    code = "InvalidAttributeName"


class InvalidAttributeValue(SqsError):
    code = "InvalidAttributeValue"


class InvalidParameterValue(SqsError):
    """Not a modeled shape: what SQS answers for a value it refuses (a message too long, ...)."""

    code = "InvalidParameterValue"


class MissingParameter(SqsError):
    code = "MissingParameter"


class InvalidMessageContents(SqsError):
    code = "InvalidMessageContents"


class ReceiptHandleIsInvalid(SqsError):
    code = "ReceiptHandleIsInvalid"


class MessageNotInflight(SqsError):
    code = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"


class EmptyBatchRequest(SqsError):
    code = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class TooManyEntriesInBatchRequest(SqsError):
    code = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinct(SqsError):
    code = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class BatchRequestTooLong(SqsError):
    code = "BatchRequestTooLong"
    query_code = "AWS.SimpleQueueService.BatchRequestTooLong"


class InvalidBatchEntryId(SqsError):
    code = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class UnsupportedOperation(SqsError):
    code = "UnsupportedOperation"
    query_code = "AWS.SimpleQueueService.UnsupportedOperation"


class OverLimit(SqsError):
    code = "OverLimit"


class ResourceNotFoundException(SqsError):
    code = "ResourceNotFoundException"


class QueueAccessDenied(SqsError):
    """A request the queue's policy, or the caller's, does not allow (SQS's ``AccessDenied``)."""

    code = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403
