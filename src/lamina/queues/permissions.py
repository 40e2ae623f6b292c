"""AddPermission and RemovePermission (pure): the statements they add to and remove from a queue's
``Policy`` attribute, as SQS writes them. The policy is evaluated where requests are authorized
(queues/access.py, api/authorization.py)."""

from __future__ import annotations

import json
import re
from typing import Sequence

from lamina.queues.errors import InvalidParameterValue, OverLimit

MAX_STATEMENTS = 7  # SQS's limit on the permissions AddPermission gives one queue
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
ACTIONS = frozenset({
    "*", "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues",
    "PurgeQueue", "ReceiveMessage", "SendMessage", "ListQueueTags",
})  # fmt: skip


def _statements(policy: str | None) -> list[dict[str, object]]:
    if not policy:
        return []
    doc = json.loads(policy)
    found = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [s for s in (found if isinstance(found, list) else [found]) if isinstance(s, dict)]


def _one_or_many(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _bad_label(label: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: {reason}")


def add(policy: str | None, queue_arn: str, label: str, accounts: Sequence[str], actions: Sequence[str]) -> str:
    """``policy`` with a statement labelled ``label`` letting ``accounts`` do ``actions`` on the queue."""
    if not _LABEL.match(label):
        raise _bad_label(label, "Must be 1 to 80 alphanumeric characters, hyphens or underscores.")
    if not accounts:
        raise InvalidParameterValue("The request must contain the parameter AWSAccountIds.")
    if not actions:
        raise InvalidParameterValue("The request must contain the parameter Actions.")
    for action in actions:
        if action not in ACTIONS:
            raise InvalidParameterValue(f"Value SQS:{action} for parameter ActionName is invalid. Reason: Please "
                                        "refer to the appropriate WSDL for a list of valid actions.")  # fmt: skip
    for account in accounts:
        if not re.fullmatch(r"\d{12}", account):
            raise InvalidParameterValue(f"Value {account} for parameter PrincipalId is invalid. Reason: Unable to "
                                        "verify.")  # fmt: skip
    statements = _statements(policy)
    if any(s.get("Sid") == label for s in statements):
        raise _bad_label(label, "Already exists.")
    if len(statements) >= MAX_STATEMENTS:
        raise OverLimit(f"{len(statements) + 1} Statements were found, maximum allowed is {MAX_STATEMENTS}.")
    statements.append({
        "Sid": label, "Effect": "Allow",
        "Principal": {"AWS": _one_or_many([f"arn:aws:iam::{a}:root" for a in accounts])},
        "Action": _one_or_many([f"SQS:{a}" for a in actions]), "Resource": queue_arn,
    })  # fmt: skip
    return json.dumps({"Version": "2012-10-17", "Id": f"{queue_arn}/SQSDefaultPolicy", "Statement": statements},
                      separators=(",", ":"))  # fmt: skip


def remove(policy: str | None, queue_arn: str, label: str) -> str:
    """``policy`` without the statement labelled ``label``; "" when none is left."""
    statements = _statements(policy)
    kept = [s for s in statements if s.get("Sid") != label]
    if len(kept) == len(statements):
        raise _bad_label(label, "can't find label on existing policy.")
    if not kept:
        return ""
    doc = json.loads(policy or "{}")
    doc["Statement"] = kept
    return json.dumps(doc, separators=(",", ":"))
