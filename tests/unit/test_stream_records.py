"""DynamoDB stream records made of table changes, checked against AWS's samples key by key."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from lamina.streams import records
from lamina.streams.change import Change, Operation
from lamina.streams.records import Failure, Stream, ViewType, on_failure_record, record, typed

EVENTS = Path(__file__).resolve().parents[1] / "data" / "aws_events"
STREAM = Stream("us-east-1", "123456789012", "2016-12-01T00:00:00.000")


def sample(name: str) -> list[dict[str, Any]]:
    return list(json.loads((EVENTS / name).read_text())["Records"])


def change(op: Operation, keys: dict[str, object], new: dict[str, object] | None, old: dict[str, object] | None,
           position: int = 7, table: str = "main.items") -> Change:  # fmt: skip
    return Change(table, op, keys, new, old, position, 1480642020_123)


def test_a_record_has_awss_keys_in_awss_order_and_shapes() -> None:
    expected = sample("dynamodb-event.json")[0]
    got = record(STREAM, change(Operation.INSERT, {"key": "binary", "val": "data"},
                                {"val": "data", "asdf1": b"\x00\x01*A", "key": "binary"}, None))  # fmt: skip
    assert [k for k in got if k != "userIdentity"] == [k for k in expected if k != "userIdentity"]
    for key in ("eventName", "eventVersion", "eventSource", "awsRegion"):
        assert got[key] == expected[key], key
    assert list(got["dynamodb"]) == list(expected["dynamodb"])
    assert got["dynamodb"]["ApproximateCreationDateTime"] == expected["dynamodb"]["ApproximateCreationDateTime"]
    assert got["dynamodb"]["Keys"] == expected["dynamodb"]["Keys"]
    assert got["dynamodb"]["NewImage"]["asdf1"] == expected["dynamodb"]["NewImage"]["asdf1"]
    assert got["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert got["eventSourceARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/main.items/stream/2016-12-01T00:00:00.000"
    assert len(got["eventID"]) == len(expected["eventID"]) and int(got["eventID"], 16) >= 0
    sequence = got["dynamodb"]["SequenceNumber"]
    assert sequence.isdigit() and len(sequence) >= 21


def test_size_bytes_are_dynamodbs_as_in_powertools_sample() -> None:
    inserted, modified = sample("dynamoStreamEvent.json")
    got = record(STREAM, change(Operation.INSERT, {"Id": 101}, {"Message": "New item!", "Id": 101}, None))
    assert got["dynamodb"]["Keys"] == inserted["dynamodb"]["Keys"]
    assert got["dynamodb"]["NewImage"] == inserted["dynamodb"]["NewImage"]
    assert got["dynamodb"]["SizeBytes"] == inserted["dynamodb"]["SizeBytes"] == 26
    got = record(STREAM, change(Operation.MODIFY, {"Id": 101}, {"Message": "This item has changed", "Id": 101},
                                {"Message": "New item!", "Id": 101}))  # fmt: skip
    assert got["eventName"] == "MODIFY"
    assert got["dynamodb"]["OldImage"] == modified["dynamodb"]["OldImage"]
    assert got["dynamodb"]["NewImage"] == modified["dynamodb"]["NewImage"]
    assert got["dynamodb"]["SizeBytes"] == modified["dynamodb"]["SizeBytes"] == 59


def test_view_types_choose_the_images() -> None:
    c = change(Operation.MODIFY, {"id": 1}, {"id": 1, "v": "new"}, {"id": 1, "v": "old"})
    shown = {view: set(record(Stream("r", "a", "l", view), c)["dynamodb"]) & {"NewImage", "OldImage"}
             for view in ViewType}  # fmt: skip
    assert shown == {ViewType.KEYS_ONLY: set(), ViewType.NEW_IMAGE: {"NewImage"}, ViewType.OLD_IMAGE: {"OldImage"},
                     ViewType.NEW_AND_OLD_IMAGES: {"NewImage", "OldImage"}}  # fmt: skip
    removed = record(STREAM, change(Operation.REMOVE, {"id": 1}, None, {"id": 1}))
    assert removed["eventName"] == "REMOVE" and "NewImage" not in removed["dynamodb"]


def test_values_become_dynamodbs_typed_json_exactly() -> None:
    assert typed("x") == {"S": "x"}
    assert typed(12345678901234567890) == {"N": "12345678901234567890"}
    assert typed(0.1) == {"N": "0.1"}
    assert typed(Decimal("3.14159265358979323846")) == {"N": "3.14159265358979323846"}
    assert typed(True) == {"BOOL": True} and typed(False) == {"BOOL": False}
    assert typed(None) == {"NULL": True}
    assert typed(b"\x00\xff") == {"B": "AP8="}
    assert typed([1, "a"]) == {"L": [{"N": "1"}, {"S": "a"}]}
    assert typed({"a": {"b": None}}) == {"M": {"a": {"M": {"b": {"NULL": True}}}}}
    assert typed(float("nan")) == {"S": "nan"}


def test_sequence_numbers_grow_with_positions_as_numbers_and_as_text() -> None:
    positions = (0, 1, 9, 10, 123456789, (0xFFFF_FFFF_FFFF << 32) | 7, 2**96 - 1)  # SQLite ids, PostgreSQL's
    numbers = [records.sequence_number(p) for p in positions]
    assert numbers == sorted(numbers) and [int(n) for n in numbers] == sorted(int(n) for n in numbers)
    assert {len(n) for n in numbers} == {31}
    assert [records.position_of(n) for n in numbers] == list(positions)
    first = record(STREAM, change(Operation.INSERT, {"id": 1}, {"id": 1}, None, position=5))
    again = record(STREAM, change(Operation.INSERT, {"id": 1}, {"id": 1}, None, position=5))
    other = record(STREAM, change(Operation.INSERT, {"id": 1}, {"id": 1}, None, position=6))
    assert first["eventID"] == again["eventID"] != other["eventID"]


def test_stream_label_is_awss_format() -> None:
    assert records.stream_label(1480550400.0) == "2016-12-01T00:00:00.000"
    assert records.stream_label(1431379293.291) == "2015-05-11T21:21:33.291"


def test_the_on_failure_record_is_awss_shape() -> None:
    changes = [change(Operation.INSERT, {"id": i}, {"id": i}, None, position=i) for i in (3, 4, 5)]
    failure = Failure("req", "arn:aws:lambda:us-east-1:123456789012:function:f", "RetryAttemptsExhausted", 3,
                      "Unhandled", records.shard_id(1573689847.184, "864758bb-0000"), 1573690429_717)  # fmt: skip
    got = on_failure_record(failure, STREAM, changes)
    assert got["requestContext"] == {"requestId": "req", "functionArn": failure.function_arn,
                                     "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3}  # fmt: skip
    assert got["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert got["version"] == "1.0" and got["timestamp"] == "2019-11-14T00:13:49.717Z"
    assert got["DDBStreamBatchInfo"] == {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": records.sequence_number(3), "endSequenceNumber": records.sequence_number(5),
        "approximateArrivalOfFirstRecord": "2016-12-02T01:27:00Z", "approximateArrivalOfLastRecord": "2016-12-02T01:27:00Z",
        "batchSize": 3, "streamArn": STREAM.arn("main.items"),
    }  # fmt: skip
