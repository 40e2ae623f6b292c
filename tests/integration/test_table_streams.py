"""Table change streams end to end: a real Lamina server, boto3's ``lambda`` and ``sqs`` clients,
real SQLite files the tests write with ``sqlite3`` (as the user's application would), and functions
that print what they got (the tests read their logs). No timing assertions: waits poll with deadlines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs, wait_until
from tests.mapping_helpers import make_queue, sqs_client, state_of
from tests.streams import PRINTER, log_table_rows, make_db, printed, records_of, stream_mapping, write

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "aws_events" / "dynamodb-event.json"


def test_row_changes_reach_the_function_as_dynamodb_stream_records_in_order(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    db = make_db(tmp_path / "app.db")
    mapping = stream_mapping(client, fn_name, db, BatchSize=10)
    assert mapping["State"] == "Creating" and "EventSourceArn" not in mapping
    assert mapping["SelfManagedEventSource"] == {"Endpoints": {"SQLITE_PATH": [str(db)],
                                                               "STREAM_VIEW_TYPE": ["NEW_AND_OLD_IMAGES"]}}  # fmt: skip
    assert mapping["Topics"] == ["main.items"] and mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 10 and mapping["MaximumRetryAttempts"] == -1
    assert mapping["BisectBatchOnFunctionError"] is False and mapping["ParallelizationFactor"] == 1
    write(db, "INSERT INTO items VALUES (1, 'one', 1)", "INSERT INTO items VALUES (2, 'two', 2)")
    write(db, "UPDATE items SET n = n + 10 WHERE id = 1")
    write(db, "DELETE FROM items WHERE id = 2", "UPDATE items SET id = 3 WHERE id = 1")

    records = printed(lamina.endpoint, fn_name, 6)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["N"]) for r in records] == [
        ("INSERT", "1"), ("INSERT", "2"), ("MODIFY", "1"), ("REMOVE", "2"), ("REMOVE", "1"), ("INSERT", "3"),
    ]  # fmt: skip
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(set(sequences))
    modify = records[2]["dynamodb"]
    assert modify["NewImage"] == {"id": {"N": "1"}, "name": {"S": "one"}, "n": {"N": "11"}}
    assert modify["OldImage"] == {"id": {"N": "1"}, "name": {"S": "one"}, "n": {"N": "1"}}
    (expected, _) = json.loads(SAMPLE.read_text())["Records"]
    for record in records:  # AWS's keys, in AWS's order (userIdentity is for TTL deletions only)
        assert list(record) == [k for k in expected if k != "userIdentity"]
        shared = [k for k in record["dynamodb"] if k in expected["dynamodb"]]
        assert shared == [k for k in expected["dynamodb"] if k in record["dynamodb"]]
        assert set(record["dynamodb"]) - set(expected["dynamodb"]) <= {"OldImage"}
        assert record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"].startswith("arn:aws:dynamodb:us-east-1:000000000000:table/main.items/stream/")
    wait_until(lambda: client.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK")
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    wait_until(lambda: state_of(client, mapping["UUID"]) is None)
    assert log_table_rows(db) == []  # the triggers and the change log went with the mapping
