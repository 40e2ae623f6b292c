"""An SQS event source mapping needs its function's execution role to read the queue
(sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes), as AWS checks it at
CreateEventSourceMapping and at an UpdateEventSourceMapping that changes the function; the
development mode logs it and allows it. Real servers, boto3's lambda, sqs and iam clients."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.roles import make_role

ACCT = "000000000000"
ROOT, ROOT_SECRET = "AKIAMAPPINGROLES0001", "mapping-roles-root-secret-0000000000000"
APP = "def handler(event, context):\n    return None\n"
REFUSED = "The provided execution role does not have permissions to call {} on SQS"


def client(endpoint: str, service: str, key: str, secret: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_the_execution_role_must_allow_reading_the_queue(make_server: Any) -> None:
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}")
    lam, sqs, iam = (client(server.endpoint, s, ROOT, ROOT_SECRET) for s in ("lambda", "sqs", "iam"))
    queue_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other = f"arn:aws:sqs:us-east-1:{ACCT}:other"

    def role(name: str, statements: list[dict[str, Any]]) -> str:
        return make_role(server.endpoint, name, statements, key=ROOT, secret=ROOT_SECRET)

    bare = deploy(lam, "bare", APP, role=role("bare", []))["FunctionName"]
    deploy(lam, "receiver", APP, role=role("receiver", [
        {"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue}]))  # fmt: skip
    deploy(lam, "elsewhere", APP, role=role("elsewhere", [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
         "Resource": other}]))  # fmt: skip
    deploy(lam, "denied", APP, role=role("denied", [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sqs:GetQueueAttributes", "Resource": queue}]))  # fmt: skip
    reader_role = role("reader", [])
    iam.attach_role_policy(RoleName="reader",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")  # fmt: skip
    deploy(lam, "reader", APP, role=reader_role)

    create = lam.create_event_source_mapping
    invalid = "InvalidParameterValueException"
    assert refusal(create, FunctionName=bare, EventSourceArn=queue) == (invalid, REFUSED.format("ReceiveMessage"))
    assert refusal(create, FunctionName="receiver", EventSourceArn=queue) == (invalid, REFUSED.format("DeleteMessage"))
    assert refusal(create, FunctionName="elsewhere", EventSourceArn=queue) == (invalid,
                                                                               REFUSED.format("ReceiveMessage"))  # fmt: skip
    assert refusal(create, FunctionName="denied", EventSourceArn=queue) == (invalid,
                                                                            REFUSED.format("GetQueueAttributes"))  # fmt: skip
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # nothing refused was kept

    uuid = create(FunctionName="reader", EventSourceArn=queue, Enabled=False)["UUID"]
    # Changing the function to one whose role may not read the queue is refused the same way...
    assert refusal(lam.update_event_source_mapping, UUID=uuid, FunctionName=bare) == (
        invalid, REFUSED.format("ReceiveMessage"))  # fmt: skip
    assert lam.get_event_source_mapping(UUID=uuid)["FunctionArn"].endswith(":function:reader")
    # ...and other changes are not checked again.
    assert lam.update_event_source_mapping(UUID=uuid, BatchSize=5)["BatchSize"] == 5


def test_the_development_mode_allows_what_aws_would_refuse(make_server: Any) -> None:
    server = make_server()
    lam, sqs = (client(server.endpoint, s, "test", "test") for s in ("lambda", "sqs"))
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bare = make_role(server.endpoint, "bare", [])
    deploy(lam, "bare", APP, role=bare)
    deploy(lam, "also-bare", APP, role=bare)
    for name in ("bare", "also-bare"):
        uuid = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=queue, Enabled=False)["UUID"]
        assert lam.get_event_source_mapping(UUID=uuid)["EventSourceArn"] == queue
    assert server.stop() == 0
    said = [line for line in server.output if f"the execution role {bare} does not allow sqs:ReceiveMessage" in line]
    assert len(said) == 1, said  # once per role and queue
