"""Events as EventBridge shapes them: a PutEvents entry checked and wrapped in the envelope targets
receive, its size as AWS counts it, and the envelopes EventBridge makes itself (a scheduled rule's
firing, a Lambda destination record). Pure: the id and the time are passed in.

The envelope, key for key as EventBridge delivers it::

    {"version": "0", "id", "detail-type", "source", "account", "time" (ISO 8601, seconds, Z),
     "region", "resources": [...], "detail": {...}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
TIME_BYTES = 14  # what a given Time counts for, whatever its form


@dataclass(frozen=True)
class Envelope:
    id: str
    detail_type: str
    source: str
    account: str
    time: datetime
    region: str
    resources: tuple[str, ...]
    detail: Mapping[str, object]

    def wire(self) -> dict[str, object]:
        return {
            "version": "0", "id": self.id, "detail-type": self.detail_type, "source": self.source,
            "account": self.account, "time": stamp(self.time), "region": self.region,
            "resources": list(self.resources), "detail": self.detail,
        }  # fmt: skip

    def encode(self) -> bytes:
        return json.dumps(self.wire()).encode()


@dataclass(frozen=True)
class Rejected:
    """A PutEvents entry refused: its result entry's ErrorCode and ErrorMessage."""

    code: str
    message: str


def stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_size(entry: Mapping[str, object]) -> int:
    """An entry's size as EventBridge computes it ("Calculating PutEvents event entry size"): 14 bytes
    for a Time, the UTF-8 bytes of Source, DetailType, Detail and of each of Resources."""
    size = TIME_BYTES if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        value = entry.get(member)
        if isinstance(value, str):
            size += len(value.encode())
    resources = entry.get("Resources")
    if isinstance(resources, list):
        size += sum(len(r.encode()) for r in resources if isinstance(r, str))
    return size


def request_size(entries: list[Mapping[str, object]]) -> int:
    return sum(entry_size(e) for e in entries)


def from_entry(
    entry: Mapping[str, object], *, event_id: str, now: datetime, account: str, region: str
) -> Envelope | Rejected:
    """A PutEvents entry as the event its bus's rules see, or why it is refused (AWS's codes)."""
    source, detail_type, detail = entry.get("Source"), entry.get("DetailType"), entry.get("Detail")
    for member, value in (("Source", source), ("DetailType", detail_type), ("Detail", detail)):
        if not isinstance(value, str) or not value:
            return Rejected("InvalidArgument",
                            f"Parameter {member} is not valid. Reason: {member} is a required argument.")  # fmt: skip
    assert isinstance(source, str) and isinstance(detail_type, str) and isinstance(detail, str)
    if source.lower().startswith("aws."):
        return Rejected("NotAuthorizedForSourceException", "Not authorized for the source.")
    try:
        parsed = json.loads(detail)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python parses
        parsed = None
    if not isinstance(parsed, dict):
        return Rejected("MalformedDetail", "Detail is malformed.")
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return Rejected("InvalidArgument", "Parameter Resources is not valid.")
    when = now
    if entry.get("Time") is not None:
        given = parse_time(entry["Time"])
        if given is None:
            return Rejected("InvalidArgument", "Parameter Time is not valid.")
        when = given
    return Envelope(event_id, detail_type, source, account, when, region, tuple(resources), parsed)


def parse_time(value: object) -> datetime | None:
    """A Time as SDKs send it: epoch seconds (json-1.1's timestamps), or ISO 8601 text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def from_wire(doc: object) -> Envelope | None:
    """An envelope as ``Envelope.wire`` writes it, read back (None: ``doc`` is not one). What another
    service made whole (S3's events, objects/notifications/records.py) goes on a bus as it is."""
    if not isinstance(doc, dict):
        return None
    texts = [doc.get(k) for k in ("id", "detail-type", "source", "account", "region")]
    resources, detail = doc.get("resources", []), doc.get("detail")
    when = parse_time(doc.get("time"))
    if (not all(isinstance(t, str) and t for t in texts) or when is None or not isinstance(detail, dict)
            or not isinstance(resources, list) or not all(isinstance(r, str) for r in resources)):  # fmt: skip
        return None
    event_id, detail_type, source, account, region = (str(t) for t in texts)
    return Envelope(event_id, detail_type, source, account, when, region, tuple(resources), detail)


def scheduled(rule_arn: str, *, event_id: str, at: datetime, account: str, region: str) -> Envelope:
    """What a rule's ScheduleExpression delivers to its targets when it fires at ``at``."""
    return Envelope(event_id, "Scheduled Event", "aws.events", account, at, region, (rule_arn,), {})


def destination_record(
    record: Mapping[str, object], bus_arn: str, *, event_id: str, now: datetime, account: str, region: str
) -> Envelope:
    """A Lambda asynchronous invocation record (``invoke/queue.py``) as Lambda puts it on an event bus
    named as its destination: source ``lambda``, the record as detail, the bus and the function as
    resources."""
    context = record.get("requestContext")
    condition = context.get("condition") if isinstance(context, Mapping) else None
    function_arn = context.get("functionArn") if isinstance(context, Mapping) else None
    outcome = "Success" if condition == "Success" else "Failure"
    resources = (bus_arn,) + ((str(function_arn),) if function_arn else ())
    return Envelope(event_id, f"Lambda Function Invocation Result - {outcome}", "lambda", account, now, region,
                    resources, record)  # fmt: skip
