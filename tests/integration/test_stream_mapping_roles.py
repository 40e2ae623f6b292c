"""A table-stream event source mapping (DynamoDB-streams-shaped, lamina/streams) needs its function's
execution role to allow dynamodb:DescribeStream, GetRecords, GetShardIterator and ListStreams on each
table's stream, as AWS checks them for a DynamoDB stream at CreateEventSourceMapping (before Lamina
installs anything in the database) and at an UpdateEventSourceMapping that changes the function.
A real SQLite file, a server with root keys (not the development mode), boto3's lambda and iam clients."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.functions import wait_until
from tests.integration.test_sqs_mapping_roles import APP, client
from tests.roles import make_role
from tests.streams import make_db, stream_mapping, write

ACCT = "000000000000"
ROOT, ROOT_SECRET = "AKIASTREAMMAPPINGROL", "stream-mapping-roles-root-secret-0000000"
STREAM_OF = f"arn:aws:dynamodb:us-east-1:{ACCT}:table/main.{{}}/stream/"
REFUSED = re.compile(r"Cannot access stream (arn:aws:dynamodb:us-east-1:000000000000:table/main\.\w+/stream/[0-9T:.-]+)\. "
                     r"Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and "
                     r"ListStreams Actions on your stream in IAM\.")  # fmt: skip
ACTIONS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]


def refused_stream(call: Any, *args: Any, **kwargs: Any) -> str:
    """The stream ARN the refusal names (InvalidParameterValueException, AWS's words)."""
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException", error
    matched = REFUSED.fullmatch(error["Message"])
    assert matched is not None, error["Message"]
    return matched.group(1)


def triggers(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]


def test_the_execution_role_must_allow_reading_each_tables_stream(make_server: Any, tmp_path: Path) -> None:
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}")
    lam, iam = (client(server.endpoint, s, ROOT, ROOT_SECRET) for s in ("lambda", "iam"))
    db = make_db(tmp_path / "shop.db")
    write(db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT)")

    def role(name: str, statements: list[dict[str, Any]]) -> str:
        return make_role(server.endpoint, name, statements, key=ROOT, secret=ROOT_SECRET)

    deploy(lam, "bare", APP, role=role("bare", []))
    deploy(lam, "items-only", APP, role=role("items-only", [
        {"Effect": "Allow", "Action": ACTIONS, "Resource": STREAM_OF.format("items") + "*"}]))  # fmt: skip
    deploy(lam, "no-list", APP, role=role("no-list", [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:ListStreams", "Resource": "*"}]))  # fmt: skip
    reader = role("reader", [])
    iam.attach_role_policy(RoleName="reader",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")  # fmt: skip
    deploy(lam, "reader", APP, role=reader)

    assert refused_stream(stream_mapping, lam, "bare", db).startswith(STREAM_OF.format("items"))
    assert refused_stream(stream_mapping, lam, "no-list", db).startswith(STREAM_OF.format("items"))
    # A role that may read one table's stream but not the other's is refused for the other.
    assert refused_stream(stream_mapping, lam, "items-only", db, ["main.items", "main.orders"]).startswith(
        STREAM_OF.format("orders"))
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # nothing refused was kept...
    assert triggers(db) == []  # ...nor installed in the database

    uuid = stream_mapping(lam, "items-only", db)["UUID"]  # its own table's stream only
    write(db, "INSERT INTO items VALUES (1, 'one', 1)")
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK", timeout=60)
    assert refused_stream(lam.update_event_source_mapping, UUID=uuid, FunctionName="bare").startswith(
        STREAM_OF.format("items"))
    assert lam.update_event_source_mapping(UUID=uuid, FunctionName="reader")["FunctionArn"].endswith(":reader")


def test_the_execution_role_must_allow_sending_to_the_on_failure_destination(make_server: Any,
                                                                            tmp_path: Path) -> None:  # fmt: skip
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}")
    lam, sqs = (client(server.endpoint, s, ROOT, ROOT_SECRET) for s in ("lambda", "sqs"))
    db = make_db(tmp_path / "shop.db")
    url = sqs.create_queue(QueueName="failed-batches")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    read = {"Effect": "Allow", "Action": ACTIONS, "Resource": "*"}
    deploy(lam, "reads", APP, role=make_role(server.endpoint, "reads", [read], key=ROOT, secret=ROOT_SECRET))
    deploy(lam, "reads-and-sends", APP, role=make_role(server.endpoint, "reads-and-sends", [
        read, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}], key=ROOT, secret=ROOT_SECRET))
    on_failure = {"OnFailure": {"Destination": queue}}

    with pytest.raises(ClientError) as raised:
        stream_mapping(lam, "reads", db, DestinationConfig=on_failure)
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterValueException", "The provided execution role "
                                                 "does not have permissions to call SendMessage on SQS")  # fmt: skip
    assert lam.list_event_source_mappings()["EventSourceMappings"] == [] and triggers(db) == []

    uuid = stream_mapping(lam, "reads", db)["UUID"]  # without a destination the role needs no more
    with pytest.raises(ClientError) as raised:
        lam.update_event_source_mapping(UUID=uuid, DestinationConfig=on_failure)
    assert raised.value.response["Error"]["Message"].endswith("call SendMessage on SQS")
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", timeout=60)
    updated = lam.update_event_source_mapping(UUID=uuid, FunctionName="reads-and-sends", DestinationConfig=on_failure)
    assert updated["DestinationConfig"] == on_failure
