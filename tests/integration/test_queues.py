"""The embedded queues end to end: boto3's `sqs` client and the AWS CLI against a real server, a
server killed with messages in flight, and Lambda's destinations and an event-bus rule delivering
into a queue."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lamina.queues.messages import MessageAttribute, md5_of_attributes
from tests.conftest import LaminaProcess, deploy, make_zip
from tests.roles import make_role
from tests import signing

VENV_BIN = Path(sys.executable).parent
ACCOUNT = "000000000000"
FAILING = "def handler(event, context):\n    raise ValueError('no thanks: ' + str(event['n']))\n"


def sqs_client(endpoint: str) -> Any:
    return boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 0}, read_timeout=60))  # fmt: skip


@pytest.fixture(scope="module")
def sqs(lamina: LaminaProcess) -> Any:
    return sqs_client(lamina.endpoint)


@pytest.fixture
def qname(fn_name: str) -> str:
    return fn_name.replace("test_", "q-")[:70]


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return dict(info.value.response["Error"])


def aws_sqs(endpoint: str, *args: str, cwd: Path) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "--output", "json", "sqs", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_queues_are_created_listed_described_tagged_and_deleted(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname, Attributes={"VisibilityTimeout": "45"}, tags={"team": "a"})["QueueUrl"]
    assert url == f"{lamina.endpoint}/{ACCOUNT}/{qname}"
    # The same name and attributes: the same queue; different attributes: QueueNameExists.
    assert sqs.create_queue(QueueName=qname, Attributes={"VisibilityTimeout": "45"})["QueueUrl"] == url
    error = error_of(sqs.create_queue, QueueName=qname, Attributes={"VisibilityTimeout": "46"})
    assert error["Code"] == "QueueAlreadyExists" and error["QueryErrorCode"] == "QueueNameExists"
    assert sqs.get_queue_url(QueueName=qname)["QueueUrl"] == url

    for i in range(3):
        sqs.create_queue(QueueName=f"{qname}-{i}")
    first = sqs.list_queues(QueueNamePrefix=qname, MaxResults=2)
    assert first["QueueUrls"] == [url, f"{url}-0"]
    rest = sqs.list_queues(QueueNamePrefix=qname, MaxResults=2, NextToken=first["NextToken"])
    assert rest["QueueUrls"] == [f"{url}-1", f"{url}-2"] and "NextToken" not in rest
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=f"absent-{qname}")

    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{qname}"
    assert attributes["VisibilityTimeout"] == "45" and attributes["MaximumMessageSize"] == "1048576"
    assert attributes["ApproximateNumberOfMessages"] == "0" and "FifoQueue" not in attributes
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "3", "MessageRetentionPeriod": "600"})
    some = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds", "MessageRetentionPeriod"])
    assert some["Attributes"] == {"DelaySeconds": "3", "MessageRetentionPeriod": "600"}

    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}

    dlq_url = f"{url}-0"
    dlq_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{qname}-0"
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "4"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    stored = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert json.loads(stored) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]

    sqs.delete_queue(QueueUrl=url)
    error = error_of(sqs.get_queue_url, QueueName=qname)
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue" and error["QueryErrorCode"] == "QueueDoesNotExist"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as recently:  # for a minute, as SQS
        sqs.create_queue(QueueName=qname)
    assert recently.value.response["Error"]["Code"] == "AWS.SimpleQueueService.QueueDeletedRecently"
    assert "wait 60 seconds" in recently.value.response["Error"]["Message"]


def test_messages_are_sent_received_with_their_attributes_and_md5s_and_deleted(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    attributes = {
        "trace.id": {"DataType": "String", "StringValue": "abc"},
        "trace.span": {"DataType": "Number", "StringValue": "12"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffdata"},
        "other": {"DataType": "String.custom", "StringValue": "ünïcode"},
    }
    body = "héllo wörld 🌍"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    expected = {
        "trace.id": MessageAttribute("String", "abc"), "trace.span": MessageAttribute("Number", "12"),
        "blob": MessageAttribute("Binary", binary_value=b"\x00\xffdata"),
        "other": MessageAttribute("String.custom", "ünïcode"),
    }  # fmt: skip
    assert sent["MD5OfMessageAttributes"] == md5_of_attributes(expected)

    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["trace.*", "blob"],
                              MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"])  # fmt: skip
    (message,) = got["Messages"]
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert set(message["MessageAttributes"]) == {"trace.id", "trace.span", "blob"}
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\xffdata"
    chosen = {k: expected[k] for k in ("trace.id", "trace.span", "blob")}
    assert message["MD5OfMessageAttributes"] == md5_of_attributes(chosen)
    assert set(message["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"

    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight: not received again
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # deleted already: not an error
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert counts["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_trace_header_sent_as_a_system_attribute_is_received_with_the_message(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    sent = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=system)
    digest = md5_of_attributes({"AWSTraceHeader": MessageAttribute("String", trace)})
    assert sent["MD5OfMessageSystemAttributes"] == digest
    assert "MD5OfMessageAttributes" not in sent
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "also", "MessageSystemAttributes":
                                                           system}])["Successful"]  # fmt: skip
    assert batch[0]["MD5OfMessageSystemAttributes"] == sent["MD5OfMessageSystemAttributes"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["AWSTraceHeader"],
                              MessageAttributeNames=["All"])["Messages"]  # fmt: skip
    assert [(m["Body"], m["Attributes"]) for m in got] == [("traced", {"AWSTraceHeader": trace}),
                                                           ("also", {"AWSTraceHeader": trace})]  # fmt: skip
    assert all("MessageAttributes" not in m for m in got)  # a system attribute is not a message attribute
    wrong = {"Colour": {"DataType": "String", "StringValue": "red"}}
    assert error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageSystemAttributes=wrong)["Code"] == (
        "InvalidParameterValue")


def test_batches_answer_each_entry_and_refuse_what_sqs_refuses_whole(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    answer = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "bad \x07"},
        {"Id": "c", "MessageBody": "three", "DelaySeconds": 0},
    ])  # fmt: skip
    assert [e["Id"] for e in answer["Successful"]] == ["a", "c"]
    assert answer["Successful"][0]["MD5OfMessageBody"] == hashlib.md5(b"one").hexdigest()
    (failed,) = answer["Failed"]
    assert failed["Id"] == "b" and failed["Code"] == "InvalidMessageContents" and failed["SenderFault"]

    empty = error_of(sqs.send_message_batch, QueueUrl=url, Entries=[])
    assert empty["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"
    eleven = [{"Id": str(i), "MessageBody": "x"} for i in range(11)]
    too_many = error_of(sqs.send_message_batch, QueueUrl=url, Entries=eleven)
    assert too_many["QueryErrorCode"] == "TooManyEntriesInBatchRequest"
    twice = [{"Id": "x", "MessageBody": "x"}, {"Id": "x", "MessageBody": "y"}]
    assert error_of(sqs.send_message_batch, QueueUrl=url, Entries=twice)["QueryErrorCode"] == "BatchEntryIdsNotDistinct"
    bad_id = [{"Id": "no spaces", "MessageBody": "x"}]
    assert error_of(sqs.send_message_batch, QueueUrl=url, Entries=bad_id)["QueryErrorCode"] == "InvalidBatchEntryId"
    big = [{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)]
    assert error_of(sqs.send_message_batch, QueueUrl=url, Entries=big)["QueryErrorCode"] == "BatchRequestTooLong"
    heavy = {"blob": {"DataType": "Binary", "BinaryValue": b"x" * 200_000}}  # attributes count too
    big = [{"Id": str(i), "MessageBody": "x" * 100_000, "MessageAttributes": heavy} for i in range(4)]
    assert error_of(sqs.send_message_batch, QueueUrl=url, Entries=big)["QueryErrorCode"] == "BatchRequestTooLong"

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert sorted(m["Body"] for m in got) == ["one", "three"]
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "z", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 0},
    ])  # fmt: skip
    assert [e["Id"] for e in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]  # visible again at once
    assert [m["Body"] for m in again] == [got[0]["Body"]]
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "1", "ReceiptHandle": again[0]["ReceiptHandle"]}, {"Id": "2", "ReceiptHandle": got[1]["ReceiptHandle"]},
    ])  # fmt: skip
    assert [e["Id"] for e in deleted["Successful"]] == ["1", "2"] and deleted["Failed"] == []
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_long_poll_is_answered_by_a_send(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    results: list[Any] = []
    poller = sqs_client(lamina.endpoint)
    thread = threading.Thread(target=lambda: results.append(poller.receive_message(QueueUrl=url, WaitTimeSeconds=5)))
    thread.start()
    time.sleep(0.3)  # lets the receive start waiting first (the result does not depend on it)
    sent = sqs.send_message(QueueUrl=url, MessageBody="wake up")
    thread.join(30)
    (message,) = results[0]["Messages"]
    assert message["MessageId"] == sent["MessageId"]


def test_delayed_and_invisible_messages_come_back_when_their_time_comes(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    delayed = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert delayed["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    (first,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    # Not deleted within its visibility timeout (1 s): received again, counted twice.
    (second,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, AttributeNames=["All"],
                                    VisibilityTimeout=60)["Messages"]  # fmt: skip
    assert second["MessageId"] == first["MessageId"] and second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    error = error_of(sqs.change_message_visibility, QueueUrl=url, ReceiptHandle=first["ReceiptHandle"],
                     VisibilityTimeout=5)  # a stale handle  # fmt: skip
    assert error["Code"] == "InvalidParameterValue"
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    (third,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert third["MessageId"] == first["MessageId"]


def test_messages_received_max_receive_count_times_move_to_the_dead_letter_queue(sqs: Any, qname: str) -> None:
    dlq_url = sqs.create_queue(QueueName=f"{qname}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName=qname, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison",
                            MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})  # fmt: skip
    for _ in range(2):
        assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the third receive moves it instead
    (moved,) = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=5, MessageAttributeNames=["All"],
                                   MessageSystemAttributeNames=["DeadLetterQueueSourceArn"])["Messages"]  # fmt: skip
    assert moved["MessageId"] == sent["MessageId"] and moved["Body"] == "poison"
    assert moved["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    source_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert moved["Attributes"] == {"DeadLetterQueueSourceArn": source_arn}

    missing = json.dumps({"deadLetterTargetArn": dlq_arn + "-absent", "maxReceiveCount": 2})
    error = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": missing})
    assert error["Code"] == "InvalidParameterValue" and "Dead letter target does not exist" in error["Message"]


def handle_of(source_arn: str) -> str:
    """A task handle as SQS makes them, of a task that does not exist."""
    raw = json.dumps({"taskId": "00000000-0000-0000-0000-000000000000", "sourceArn": source_arn})
    return base64.b64encode(raw.encode()).decode()


def test_a_message_move_task_redrives_the_dead_letter_queue_to_its_source(sqs: Any, qname: str) -> None:
    dlq_url = sqs.create_queue(QueueName=f"{qname}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName=qname, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # moved to the dead-letter queue
    error = error_of(sqs.start_message_move_task, SourceArn=dlq_arn.replace(qname, f"{qname}-absent"))
    assert error["Code"] == "ResourceNotFoundException"
    not_a_dlq = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert error_of(sqs.start_message_move_task, SourceArn=not_a_dlq)["Code"] == "InvalidParameterValue"

    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=50)["TaskHandle"]
    deadline = time.monotonic() + 30  # it runs in the background (test_queues_durable.py)
    while (task := sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0])["Status"] == "RUNNING":
        assert time.monotonic() < deadline, task
        time.sleep(0.05)
    assert task["Status"] == "COMPLETED" and task["SourceArn"] == dlq_arn and task["MaxNumberOfMessagesPerSecond"] == 50
    assert (task["ApproximateNumberOfMessagesToMove"], task["ApproximateNumberOfMessagesMoved"]) == (1, 1)
    assert "TaskHandle" not in task  # listed only for running tasks
    (back,) = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"]
    assert back["MessageId"] == sent["MessageId"] and back["Attributes"]["ApproximateReceiveCount"] == "1"
    assert error_of(sqs.cancel_message_move_task, TaskHandle=handle)["Code"] == "InvalidParameterValue"  # finished
    assert error_of(sqs.cancel_message_move_task, TaskHandle="bm8=")["Code"] == "InvalidParameterValue"  # not one
    absent = handle_of(dlq_arn.replace(qname, f"{qname}-absent"))
    assert error_of(sqs.cancel_message_move_task, TaskHandle=absent)["Code"] == "ResourceNotFoundException"
    assert error_of(sqs.cancel_message_move_task, TaskHandle=handle_of(dlq_arn))["Message"] == "Task does not exist."


def test_fifo_queues_keep_group_order_and_deduplicate(sqs: Any, qname: str) -> None:
    error = error_of(sqs.create_queue, QueueName=f"{qname}.fifo")  # FifoQueue missing
    assert error["Code"] == "InvalidParameterValue"
    url = sqs.create_queue(QueueName=f"{qname}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sequence = []
    for group, body in [("a", "a1"), ("b", "b1"), ("a", "a2"), ("a", "a3"), ("b", "b2")]:
        sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
        sequence.append(int(sent["SequenceNumber"]))
    assert sequence == sorted(sequence)
    again = sqs.send_message(QueueUrl=url, MessageBody="a1 again", MessageGroupId="a", MessageDeduplicationId="a1")
    assert int(again["SequenceNumber"]) == sequence[0]  # a duplicate: answered as the first, not stored

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in first] == ["a1", "a2"]  # as many of one group as there are, first
    assert first[0]["Attributes"]["MessageGroupId"] == "a" and first[0]["Attributes"]["MessageDeduplicationId"] == "a1"
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["b1", "b2"]
    # Both groups have messages in flight: nothing more until they are deleted.
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["a3"]

    no_group = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageDeduplicationId="x")
    assert no_group["Code"] == "MissingParameter"
    no_deduplication = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert no_deduplication["Code"] == "InvalidParameterValue"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    one = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="c")
    two = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="c")
    assert one["MessageId"] == two["MessageId"]


def test_a_fifo_receive_retried_with_its_attempt_id_gets_the_same_messages(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=f"{qname}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for body in ["m1", "m2"]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")["Messages"]
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [m["Body"] for m in first] == ["m1", "m2"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in again] == [
        (m["MessageId"], m["ReceiptHandle"]) for m in first
    ]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-2")  # in flight
    for message in again:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-1")  # deleted
    error = error_of(sqs.receive_message, QueueUrl=url, ReceiveRequestAttemptId="a" * 129)
    assert error["Code"] == "InvalidParameterValue" and "ReceiveRequestAttemptId" in error["Message"]


def test_permissions_are_added_to_and_removed_from_the_queue_policy(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.add_permission(QueueUrl=url, Label="partner-send", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"] == [{"Sid": "partner-send", "Effect": "Allow", "Resource": arn,
                                    "Action": "SQS:SendMessage",
                                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}]  # fmt: skip
    error = error_of(sqs.add_permission, QueueUrl=url, Label="partner-send", AWSAccountIds=["111122223333"],
                     Actions=["SendMessage"])  # fmt: skip
    assert error["Code"] == "InvalidParameterValue" and "Already exists" in error["Message"]
    sqs.remove_permission(QueueUrl=url, Label="partner-send")
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    assert error_of(sqs.remove_permission, QueueUrl=url, Label="partner-send")["Code"] == "InvalidParameterValue"
    bad = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"Policy": "not json"})
    assert bad["Code"] == "InvalidAttributeValue"


def test_refusals_carry_sqs_codes(sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname, Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (sqs.create_queue, {"QueueName": "bad name"}, "InvalidParameterValue"),
        (sqs.create_queue, {"QueueName": f"{qname}-x", "Attributes": {"Colour": "red"}}, "InvalidAttributeName"),
        (sqs.create_queue, {"QueueName": f"{qname}-x", "Attributes": {"DelaySeconds": "901"}}, "InvalidAttributeValue"),
        (sqs.get_queue_attributes, {"QueueUrl": url, "AttributeNames": ["Colour"]}, "InvalidAttributeName"),
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "x" * 1025}, "InvalidParameterValue"),
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "\x00"}, "InvalidMessageContents"),
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {
            "AWS.reserved": {"DataType": "String", "StringValue": "v"}}}, "InvalidParameterValue"),
        (sqs.receive_message, {"QueueUrl": url, "MaxNumberOfMessages": 11}, "InvalidParameterValue"),
        (sqs.send_message, {"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "a b"}, "InvalidParameterValue"),
        (sqs.receive_message, {"QueueUrl": url, "ReceiveRequestAttemptId": "x" * 129}, "InvalidParameterValue"),
        (sqs.delete_message, {"QueueUrl": url, "ReceiptHandle": "garbage"}, "ReceiptHandleIsInvalid"),
        (sqs.send_message, {"QueueUrl": f"{url}-absent", "MessageBody": "x"},
         "AWS.SimpleQueueService.NonExistentQueue"),
    ]
    for call, kwargs, code in cases:
        assert error_of(call, **kwargs)["Code"] == code, (call, kwargs)
    sqs.purge_queue(QueueUrl=url)
    assert error_of(sqs.purge_queue, QueueUrl=url)["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"


def test_malformed_requests_are_refused_and_store_nothing(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    import urllib.error
    import urllib.request

    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    for body in [b"{not json", b"[1, 2]", json.dumps({"QueueUrl": url, "MessageBody": 5}).encode(),
                 json.dumps({"QueueUrl": url, "MessageBody": "x", "MessageAttributes": "nope"}).encode()]:  # fmt: skip
        request = urllib.request.Request(lamina.endpoint + "/", data=body, method="POST", headers={
            "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as info:
            signing.urlopen(request, timeout=30)
        assert info.value.code == 400
        assert info.value.headers["Content-Type"].startswith("application/x-amz-json-1.0")
        assert "__type" in json.loads(info.value.read())
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_the_aws_cli_sends_receives_and_deletes(lamina: LaminaProcess, qname: str, tmp_path: Path) -> None:
    url = aws_sqs(lamina.endpoint, "create-queue", "--queue-name", qname, cwd=tmp_path)["QueueUrl"]
    sent = aws_sqs(lamina.endpoint, "send-message", "--queue-url", url, "--message-body", "from the cli",
                   "--message-attributes", '{"k": {"DataType": "String", "StringValue": "v"}}',
                   cwd=tmp_path)  # fmt: skip
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from the cli").hexdigest()
    got = aws_sqs(lamina.endpoint, "receive-message", "--queue-url", url, "--message-attribute-names", "All",
                  "--wait-time-seconds", "5", cwd=tmp_path)  # fmt: skip
    (message,) = got["Messages"]
    assert message["Body"] == "from the cli" and message["MessageAttributes"]["k"]["StringValue"] == "v"
    aws_sqs(lamina.endpoint, "delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"],
            cwd=tmp_path)  # fmt: skip
    listed = aws_sqs(lamina.endpoint, "list-queues", "--queue-name-prefix", qname, cwd=tmp_path)
    assert listed["QueueUrls"] == [url]
    attributes = aws_sqs(lamina.endpoint, "get-queue-attributes", "--queue-url", url, "--attribute-names", "All",
                         cwd=tmp_path)["Attributes"]  # fmt: skip
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    aws_sqs(lamina.endpoint, "delete-queue", "--queue-url", url, cwd=tmp_path)


def test_a_server_killed_with_messages_in_flight_loses_none(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    sqs = sqs_client(server.endpoint)
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    fifo_url = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    bodies = {f"m{i}" for i in range(5)}
    for body in sorted(bodies):
        sqs.send_message(QueueUrl=url, MessageBody=body)
        sqs.send_message(QueueUrl=fifo_url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=body)
    in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert len(in_flight) == 3
    sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=1, VisibilityTimeout=1)
    gone = sqs.create_queue(QueueName="gone")["QueueUrl"]
    sqs.send_message(QueueUrl=gone, MessageBody="of the deleted queue")
    sqs.delete_queue(QueueUrl=gone)
    server.kill()  # kill -9

    server = make_server(tmp_path / "data")
    sqs = sqs_client(server.endpoint)
    url, fifo_url = (sqs.get_queue_url(QueueName=n)["QueueUrl"] for n in ("durable", "durable.fifo"))
    seen: dict[str, int] = {}
    while len(seen) < len(bodies):  # the three in flight come back once their visibility timeout ends
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                           AttributeNames=["ApproximateReceiveCount"]).get("Messages", []):  # fmt: skip
            seen[message["Body"]] = int(message["Attributes"]["ApproximateReceiveCount"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert set(seen) == bodies
    assert sorted(seen.values()) == [1, 1, 2, 2, 2]  # receive counts survived the kill
    order: list[str] = []
    while len(order) < len(bodies):
        got = sqs.receive_message(QueueUrl=fifo_url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
        for message in got.get("Messages", []):
            order.append(message["Body"])
            sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=message["ReceiptHandle"])
    assert order == sorted(bodies)  # the group's order too
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="gone")
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):  # the minute's wait survived the kill
        sqs.create_queue(QueueName="gone")


def test_an_asynchronous_invocation_s_failure_record_arrives_in_its_on_failure_queue(
    lamina: LaminaProcess, client: Any, sqs: Any, fn_name: str, qname: str
) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dlq_url = sqs.create_queue(QueueName=f"{qname}-dlq")["QueueUrl"]
    fn = deploy(client, fn_name, FAILING, DeadLetterConfig={"TargetArn": f"{queue_arn}-dlq"})
    client.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    answer = client.invoke(FunctionName=fn_name, InvocationType="Event", Payload=json.dumps({"n": 7}))
    request_id = answer["ResponseMetadata"]["RequestId"]
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    record = json.loads(message["Body"])
    # Lambda's invocation record (docs: invocation-async, "Invocation record"), field for field.
    assert set(record) == {"version", "timestamp", "requestContext", "requestPayload", "responseContext",
                           "responsePayload"}  # fmt: skip
    assert record["version"] == "1.0"
    assert record["requestContext"] == {"requestId": request_id, "functionArn": f"{fn['FunctionArn']}:$LATEST",
                                        "condition": "RetriesExhausted", "approximateInvokeCount": 1}  # fmt: skip
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "no thanks: 7"

    # The function's dead-letter queue gets the event as it came, with Lambda's three attributes.
    (letter,) = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=20, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(letter["Body"]) == {"n": 7}
    attributes = {k: v["StringValue"] for k, v in letter["MessageAttributes"].items()}
    assert attributes["RequestID"] == request_id and attributes["ErrorCode"] == "200"
    assert "no thanks: 7" in attributes["ErrorMessage"]


def test_an_event_bus_rule_with_a_queue_target_delivers_into_it(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{qname}"
    events = boto3.client("events", endpoint_url=lamina.endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip
    source = f"shop.{qname}"
    events.put_rule(Name=qname, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule=qname, Targets=[{"Id": "q", "Arn": queue_arn}])
    put = events.put_events(Entries=[{"Source": source, "DetailType": "order", "Detail": json.dumps({"id": 3})}])
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    event = json.loads(message["Body"])
    assert event["id"] == put["Entries"][0]["EventId"] and event["detail"] == {"id": 3}
    assert event["source"] == source and event["detail-type"] == "order"

    # A FIFO queue: the target's SqsParameters name the group; the event id deduplicates.
    fifo_url = sqs.create_queue(QueueName=f"{qname}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    events.put_targets(Rule=qname, Targets=[{"Id": "fifo", "Arn": f"{queue_arn}.fifo",
                                             "SqsParameters": {"MessageGroupId": "orders"}}])  # fmt: skip
    put = events.put_events(Entries=[{"Source": source, "DetailType": "order", "Detail": json.dumps({"id": 4})}])
    (message,) = sqs.receive_message(QueueUrl=fifo_url, WaitTimeSeconds=20, AttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"])["detail"] == {"id": 4}
    assert message["Attributes"]["MessageGroupId"] == "orders"
    assert message["Attributes"]["MessageDeduplicationId"] == put["Entries"][0]["EventId"]


def test_binary_attributes_round_trip_through_the_wire_as_base64(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    import urllib.request

    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    raw = {"QueueUrl": url, "MessageBody": "b", "MessageAttributes": {
        "bin": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\x01\x02").decode()}}}  # fmt: skip
    request = urllib.request.Request(lamina.endpoint + "/", data=json.dumps(raw).encode(), method="POST", headers={
        "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
    with signing.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    expected = {"bin": MessageAttribute("Binary", binary_value=b"\x01\x02")}
    assert answer["MD5OfMessageAttributes"] == md5_of_attributes(expected)
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert message["MessageAttributes"]["bin"]["BinaryValue"] == b"\x01\x02"


def test_lamina_queues_lists_queues_with_their_counts(make_server: Any, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from lamina.cli.main import main as cli_main

    server = make_server(tmp_path / "data")
    assert cli_main(["queues", "--endpoint", server.endpoint]) == 0
    assert "No queues" in capsys.readouterr().out
    sqs = sqs_client(server.endpoint)
    dlq = sqs.create_queue(QueueName="jobs-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-dlq", "maxReceiveCount": 3})
    url = sqs.create_queue(QueueName="jobs", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    sqs.receive_message(QueueUrl=url)
    assert dlq
    assert cli_main(["queues", "--endpoint", server.endpoint]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["QUEUE", "VISIBLE", "IN", "FLIGHT", "DELAYED", "DEAD-LETTER", "QUEUE"]
    assert lines[1].split() == ["jobs", "2", "1", "1", "jobs-dlq"]
    assert lines[2].split() == ["jobs-dlq", "0", "0", "0", "-"]
    assert cli_main(["queues", "--json", "--endpoint", server.endpoint]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [q["name"] for q in shown["queues"]] == ["jobs", "jobs-dlq"]


SENDER = r'''
import boto3, botocore.exceptions


def handler(event, context):
    sqs = boto3.client("sqs")  # Lamina's address and the role's credentials, from the environment

    def status(call, **kwargs):
        try:
            call(**kwargs)
            return 200
        except botocore.exceptions.ClientError as exc:
            return [exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]]

    url = sqs.get_queue_url(QueueName=event["queue"])["QueueUrl"]
    return {"sent": sqs.send_message(QueueUrl=url, MessageBody="from inside")["MessageId"],
            "receive": status(sqs.receive_message, QueueUrl=url), "purge": status(sqs.purge_queue, QueueUrl=url)}
'''


def test_a_function_sends_to_a_queue_as_its_role_allows_and_no_more(
    lamina: LaminaProcess, client: Any, sqs: Any, fn_name: str, qname: str
) -> None:
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    role = make_role(lamina.endpoint, f"sender-{fn_name}"[:64], [
        {"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"],
         "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{qname}"}])  # fmt: skip
    client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=role, Handler="app.handler",
                           Code={"ZipFile": make_zip({"app.py": SENDER})}, Timeout=30)  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    answer = client.invoke(FunctionName=fn_name, Payload=json.dumps({"queue": qname}))
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result
    assert result["receive"] == result["purge"] == [403, "AccessDenied"], result
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["MessageId"] == result["sent"] and message["Body"] == "from inside"


def test_stopping_the_server_answers_its_long_polls(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    url = sqs_client(server.endpoint).create_queue(QueueName="quiet")["QueueUrl"]
    # A client that gives up before the wait would end: only an answer from the stopping server reaches it.
    sqs = boto3.client("sqs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test",
                       config=Config(retries={"max_attempts": 0}, read_timeout=15))  # fmt: skip
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)))
    thread.start()
    time.sleep(0.3)  # lets the receive start waiting first (the result does not depend on it)
    assert server.stop() == 0
    thread.join(30)
    assert results and "Messages" not in results[0]  # an answer, not a connection cut


def test_a_request_sent_to_the_queue_s_own_url_names_the_queue(lamina: LaminaProcess, sqs: Any, qname: str) -> None:
    import urllib.request

    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    request = urllib.request.Request(url, data=json.dumps({"MessageBody": "by path"}).encode(), method="POST",
                                     headers={"X-Amz-Target": "AmazonSQS.SendMessage",
                                              "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
    with signing.urlopen(request, timeout=30) as response:
        sent = json.loads(response.read())
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["MessageId"] == sent["MessageId"] and message["Body"] == "by path"


def test_a_record_for_a_queue_created_later_waits_in_the_outbox_until_then(
    lamina: LaminaProcess, client: Any, sqs: Any, fn_name: str, qname: str
) -> None:
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{qname}"
    deploy(client, fn_name, FAILING)
    client.put_function_event_invoke_config(
        FunctionName=fn_name, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    client.invoke(FunctionName=fn_name, InvocationType="Event", Payload=json.dumps({"n": 8}))

    def waiting() -> list[Any]:
        with signing.urlopen(f"{lamina.endpoint}/lamina/v1/outbox?target={queue_arn}", timeout=30) as resp:
            messages: list[Any] = json.loads(resp.read())["messages"]
        return messages

    deadline = time.monotonic() + 30
    while not waiting() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(waiting()) == 1  # no queue of that name: the record waits
    time.sleep(2.5)  # the relay (every LAMINA_EVENTS_OUTBOX_POLL, 1 s) has passed it over meanwhile
    assert len(waiting()) == 1
    url = sqs.create_queue(QueueName=qname)["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(message["Body"])["requestPayload"] == {"n": 8}
    assert waiting() == []  # taken from the outbox as it was stored
