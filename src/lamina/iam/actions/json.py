"""EventBridge's, SQS's, CloudWatch Logs' and CloudWatch's (iam/actions/cloudwatch.py) operations (``X-Amz-Target: <Prefix>.<Operation>``, members in the JSON
body) as IAM actions and resources (pure).

EventBridge: rules are ``rule/[<bus>/]<name>`` (the default bus's without it), buses
``event-bus/<name>``; PutEvents needs ``events:PutEvents`` on each entry's bus. SQS: a queue is
named by its URL (``.../<account>/<name>``) or, for CreateQueue and GetQueueUrl, by its name; the
batch operations are authorized as their single forms (``sqs:SendMessage``, ...), as on AWS. An
operation naming a queue carries it (``queue``): its policy counts, as a function's does.
"""

from __future__ import annotations

from typing import Mapping

from lamina.iam.actions import cloudwatch
from lamina.iam.actions.operation import Operation, QueueRef, Wire

_RULE_OPS = {"PutRule", "DeleteRule", "DescribeRule", "EnableRule", "DisableRule", "PutTargets", "RemoveTargets",
             "ListTargetsByRule"}  # fmt: skip
_BUS_OPS = {"CreateEventBus", "DeleteEventBus", "DescribeEventBus", "UpdateEventBus"}
_ARN_OPS = {"TagResource", "UntagResource", "ListTagsForResource"}
_SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}  # fmt: skip


def _text(members: Mapping[str, object], key: str) -> str | None:
    value = members.get(key)
    return value if isinstance(value, str) else None


def _bus_name(value: str | None) -> str:
    """A bus as a member names it (name or ARN) -> its name; none: the default bus."""
    if not value:
        return "default"
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _events(name: str, members: Mapping[str, object], region: str, account: str) -> Operation:
    base = f"arn:aws:events:{region}:{account}"
    action = f"events:{name}"
    if name == "PutEvents":
        entries = members.get("Entries")
        buses = {_bus_name(_text(e, "EventBusName")) for e in entries if isinstance(e, dict)} \
            if isinstance(entries, list) else set()  # fmt: skip
        return Operation(action, tuple(f"{base}:event-bus/{b}" for b in sorted(buses or {"default"})), Wire.JSON)
    if name in _RULE_OPS:
        rule = _text(members, "Name") or _text(members, "Rule") or ""
        bus = _bus_name(_text(members, "EventBusName"))
        return Operation(action, (f"{base}:rule/{rule}" if bus == "default" else f"{base}:rule/{bus}/{rule}",),
                         Wire.JSON)  # fmt: skip
    if name in _BUS_OPS:
        return Operation(action, (f"{base}:event-bus/{_bus_name(_text(members, 'Name'))}",), Wire.JSON)
    if name in _ARN_OPS:
        return Operation(action, (_text(members, "ResourceARN") or "*",), Wire.JSON)
    return Operation(action, ("*",), Wire.JSON)


def queue_arn(url: str, region: str, account: str) -> str:
    """A queue's URL (``http://host/<account>/<name>``) as its ARN."""
    parts = url.rstrip("/").split("/")
    owner, name = (parts[-2], parts[-1]) if len(parts) >= 2 and parts[-2].isdigit() else (account, parts[-1])
    return f"arn:aws:sqs:{region}:{owner}:{name}"


def _sqs(name: str, members: Mapping[str, object], region: str, account: str) -> Operation:
    action = f"sqs:{_SQS_BATCH.get(name, name)}"
    url, queue_name = _text(members, "QueueUrl"), _text(members, "QueueName")
    if url:
        arn = queue_arn(url, region, account)
        return Operation(action, (arn,), Wire.JSON, queue=QueueRef(arn))
    if queue_name:
        owner = _text(members, "QueueOwnerAWSAccountId") or account
        arn = f"arn:aws:sqs:{region}:{owner}:{queue_name}"
        return Operation(action, (arn,), Wire.JSON, queue=None if name == "CreateQueue" else QueueRef(arn))
    source = _text(members, "SourceArn")
    return Operation(action, (source or "*",), Wire.JSON)


def _logs(name: str, members: Mapping[str, object], region: str, account: str) -> Operation:
    """CloudWatch Logs: a log group's operations are on ``log-group:<name>:*``; listing groups on them
    all; StartLiveTail on each group of its ``logGroupIdentifiers``."""
    identifiers = members.get("logGroupIdentifiers")
    if isinstance(identifiers, list) and identifiers and all(isinstance(i, str) for i in identifiers):
        return Operation(f"logs:{name}", tuple(_group_resource(i, region, account) for i in identifiers[:10]),
                         Wire.JSON)  # fmt: skip
    group = _text(members, "logGroupName") or _text(members, "logGroupIdentifier")
    return Operation(f"logs:{name}", (_group_resource(group or "*", region, account),), Wire.JSON)


def _group_resource(group: str, region: str, account: str) -> str:
    if group.startswith("arn:"):
        group = group.split(":log-group:", 1)[-1].removesuffix(":*")
    return f"arn:aws:logs:{region}:{account}:log-group:{group}:*"


def operation(target: str, members: Mapping[str, object], region: str, account: str) -> Operation | None:
    prefix, _, name = target.partition(".")
    if prefix == "Logs_20140328" and name:
        return _logs(name, members, region, account)
    if prefix == "AWSEvents" and name:
        return _events(name, members, region, account)
    if prefix == "AmazonSQS" and name:
        return _sqs(name, members, region, account)
    if prefix == cloudwatch.SERVICE_NAME:
        return cloudwatch.operation(name, Wire.JSON)
    return None
