"""What the event source mapping tests share: an SQS client, queues, a printing function, states."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functions import wait_for_logs

# Prints each event it gets on one line: "EVENT <json>".
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"


def sqs_client(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    """A new queue's (URL, ARN)."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def state_of(client: Any, uuid: str) -> str | None:
    """The mapping's State; None once it is gone."""
    try:
        return str(client.get_event_source_mapping(UUID=uuid)["State"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    got = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(got["ApproximateNumberOfMessages"]), int(got["ApproximateNumberOfMessagesNotVisible"])


def printed(endpoint: str, name: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The records a PRINTER-like function printed (``EVENT`` lines), once there are ``count`` of them."""

    def records(lines: list[str]) -> list[dict[str, Any]]:
        events = [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]
        return [r for e in events for r in e["Records"]]

    return records(wait_for_logs(endpoint, name, lambda lines: len(records(lines)) >= count, timeout=timeout))
