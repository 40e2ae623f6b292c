"""What an asynchronous event leaves behind when it ends (pure): how it ended (``Ending``), its
destination's invocation record as AWS shapes it, and its dead letter's message attributes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.control.targets import LATEST
from lamina.model import FunctionConfig
from lamina.sandbox.provider import Outcome
from lamina.settings import Settings
from lamina.store.base import QueuedEvent

# A dead letter's ErrorMessage attribute holds the first KB of the error message, as on Lambda.
ERROR_MESSAGE_BYTES = 1024


@dataclass(frozen=True)
class Ending:
    """How an event's processing ended, for its destination record and its dead letter."""

    condition: str  # retry.SUCCESS, RETRIES_EXHAUSTED or EVENT_AGE_EXCEEDED
    attempts: int  # how many times the function ran it
    fn: FunctionConfig | None = None  # the version that ran it last
    outcome: Outcome | None = None  # what that run returned
    error_code: int = 200  # the HTTP status of the last failure (200: the function's own error)
    error_message: str = ""


def dead_letter_attributes(request_id: str, ending: Ending) -> dict[str, dict[str, str]]:
    """The message attributes Lambda gives a dead letter: RequestID, ErrorCode, ErrorMessage (first KB)."""
    message = ending.error_message.encode()[:ERROR_MESSAGE_BYTES].decode("utf-8", "ignore")
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": str(ending.error_code)},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }


def error_message(body: bytes) -> str:
    """A function error's message: its ``errorMessage``, else the body as text."""
    doc = _json(body)
    if isinstance(doc, dict) and isinstance(doc.get("errorMessage"), str):
        return str(doc["errorMessage"])
    return body.decode("utf-8", "replace")


def invocation_record(settings: Settings, event: QueuedEvent, payload: bytes, ending: Ending, now_ms: int) -> bytes:
    """AWS's destination invocation record for ``event`` (whose payload is ``payload``)."""
    stamp = datetime.fromtimestamp(now_ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    doc: dict[str, object] = {
        "version": "1.0",
        "timestamp": stamp,
        "requestContext": {
            "requestId": event.request_id,
            "functionArn": settings.function_arn(event.function, event.qualifier or LATEST),
            "condition": ending.condition,
            "approximateInvokeCount": ending.attempts,
        },
        "requestPayload": _json(payload),
    }
    fn, outcome = ending.fn, ending.outcome
    if outcome is not None and fn is not None:
        response: dict[str, object] = {"statusCode": 200, "executedVersion": fn.version}
        if not outcome.result.ok:
            response["functionError"] = "Unhandled"
        doc["responseContext"] = response
        doc["responsePayload"] = _json(outcome.result.body)
    return json.dumps(doc).encode()


def _json(body: bytes) -> object:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")
