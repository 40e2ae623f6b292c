"""Subscription filters' pure parts: names and destinations checked, stored documents, batches and
the awslogs payloads."""

from __future__ import annotations

import base64
import gzip
import json
import os
from typing import Any

import pytest

from lamina.logs import subscriptions as sub
from lamina.logs.subscriptions import Checkpoint, InvalidFilter, SubscriptionFilter
from lamina.store.base import LogEvent

# AWS's sample CloudWatch Logs event (aws-lambda-go's cloudwatch-logs-event.json, Powertools' too).
AWS_SAMPLE = (b'{"awslogs": {"data": "H4sIAAAAAAAAAHWPwQqCQBCGX0Xm7EFtK+smZBEUgXoLCdMhFtKV3akI8d0bLYmibvPPN3wz00CJxmQnTO41'
              b'whwWQRIctmEcB6sQbFC3CjW3XW8kxpOpP+OC22d1Wml1qZkQGtoMsScxaczKN3plG8zlaHIta5KqWsozoTYw3/djzwhpLwivWFGHGpAFe7DL'
              b'68JlBUk+l7KSN7tCOEJ4M3/qOI49vMHj+zCKdlFqLaU2ZHV2a4Ct/an0/ivdX8oYc1UVX860fQDQiMdxRQEAAA=="}}')


def event(cursor: int, stream: str = "s1", message: str = "m") -> LogEvent:
    return LogEvent(cursor, "fn", stream, 1_700_000_000_000 + cursor, message)


def decode(payload: bytes) -> Any:
    outer = json.loads(payload)
    assert list(outer) == ["awslogs"] and list(outer["awslogs"]) == ["data"]
    return json.loads(gzip.decompress(base64.b64decode(outer["awslogs"]["data"])))


def test_a_payload_has_the_shape_of_aws_sample() -> None:
    batch = [event(5, message="[ERROR] First test message"), event(9, message="[ERROR] Second test message")]
    [(events, payload)] = sub.payloads("123456789123", "testLogGroup", "testFilter", batch, 1024 * 1024)
    assert list(events) == batch
    message = decode(payload)
    assert message == {
        "messageType": "DATA_MESSAGE", "owner": "123456789123", "logGroup": "testLogGroup", "logStream": "s1",
        "subscriptionFilters": ["testFilter"],
        "logEvents": [{"id": f"{5:056d}", "timestamp": 1_700_000_000_005, "message": "[ERROR] First test message"},
                      {"id": f"{9:056d}", "timestamp": 1_700_000_000_009, "message": "[ERROR] Second test message"}],
    }  # fmt: skip
    sample = decode(AWS_SAMPLE)  # the same keys, in the same order, as AWS's own sample
    assert list(sample) == list(message)
    assert [list(e) for e in sample["logEvents"]] == [list(e) for e in message["logEvents"]]
    envelope = ("messageType", "owner", "logGroup", "subscriptionFilters")
    assert [sample[k] for k in envelope] == [message[k] for k in envelope]


def test_batches_hold_one_stream_each_within_their_limits() -> None:
    events = [event(1, "a"), event(2, "a"), event(3, "b"), event(4, "a"), event(5, "a"), event(6, "a")]
    assert [[e.cursor for e in b] for b in sub.batches(events, max_events=2)] == [[1, 2], [3], [4, 5], [6]]
    sized = [event(1, message="x" * 10), event(2, message="y" * 10), event(3, message="z" * 30)]
    assert [[e.cursor for e in b] for b in sub.batches(sized, max_bytes=20)] == [[1, 2], [3]]  # 30 alone
    assert sub.batches([]) == []


def test_payloads_too_large_are_halved_and_each_fits() -> None:
    batch = [event(n, message=base64.b64encode(os.urandom(3000)).decode()) for n in range(40)]
    made = sub.payloads("1", "g", "f", batch, 40_000)
    assert len(made) > 1 and all(len(p) <= 40_000 for _, p in made)
    assert [e for events, _ in made for e in events] == batch  # every event, in order, once
    assert [e["id"] for _, p in made for e in decode(p)["logEvents"]] == [f"{n:056d}" for n in range(40)]
    assert sub.payloads("1", "g", "f", [event(1, message="x" * 5000)], 100) == []  # one event too large: left out


@pytest.mark.parametrize("group, name", [
    ("bad group", "f"), ("g*", "f"), ("", "f"), ("g" * 513, "f"), ("g", "a:b"), ("g", "a*"), ("g", ""),
    ("g", "x" * 513), ("g\x00", "f"),
])  # fmt: skip
def test_names_outside_the_model_are_refused(group: str, name: str) -> None:
    with pytest.raises(InvalidFilter, match="1 validation error detected"):
        sub.check_names(group, name)


def test_names_the_model_allows() -> None:
    sub.check_names("/aws/lambda/fn-1_x.y#z", "any name, with spaces/and [brackets]")


def test_destinations() -> None:
    assert sub.destination_service("arn:aws:lambda:us-east-1:000000000000:function:f") == "lambda"
    assert sub.destination_service("arn:aws:kinesis:us-east-1:000000000000:stream/s") == "kinesis"
    for bad in ("", "lambda", "arn:aws::us-east-1:1:x", "arn:aws:lambda:" + "x" * 3000):
        with pytest.raises(InvalidFilter, match="Invalid destinationArn"):
            sub.destination_service(bad)
    assert "Kinesis stream" in sub.other_destination_message("kinesis")
    assert "Firehose stream" in sub.other_destination_message("firehose")
    assert sub.other_destination_message("sqs") == "Invalid destinationArn"
    with pytest.raises(InvalidFilter):
        sub.check_distribution("Everywhere")
    with pytest.raises(InvalidFilter):
        sub.check_pattern_size("x" * 1025)


def test_documents_round_trip_and_odd_ones_are_read_safely() -> None:
    made = SubscriptionFilter("g", "f", "ERROR", "arn:aws:lambda:us-east-1:000000000000:function:c", None,
                              "ByLogStream", 12)  # fmt: skip
    assert sub.from_doc(made.to_doc()) == made
    assert "roleArn" not in made.describe() and made.describe()["creationTime"] == 12
    checkpoint = Checkpoint(12, {"a": 5, "b": 7})
    assert sub.checkpoint_from_doc(checkpoint.to_doc()) == checkpoint
    assert sub.checkpoint_from_doc({"since_ms": "x", "cursors": []}) == Checkpoint(0, {})
    assert sub.checkpoint_from_doc({"since_ms": 3, "cursors": {"a": "x", "b": 2}}) == Checkpoint(3, {"b": 2})
