"""The embedded queues' state that must outlive the server: message move tasks running in the
background (paced, cancelled, failed, resumed after a kill -9), and FIFO queues' deduplication and
receive-attempt windows read back after a kill -9, with boto3 against real servers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import LaminaProcess, server_env
from tests.integration.test_queues import error_of, sqs_client

WAIT_S = 60.0  # how long a condition may take before the test fails (not a measured time)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    process = LaminaProcess(tmp_path_factory.mktemp("queues-durable"), server_env()).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def sqs(server: LaminaProcess) -> Any:
    return sqs_client(server.endpoint)


def eventually(probe: Callable[[], Any], what: str) -> Any:
    """``probe()``'s first truthy answer; fails the test if none comes within WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def dead_letter_pair(sqs: Any, name: str, messages: int) -> tuple[str, str, list[str]]:
    """A dead-letter queue holding ``messages`` messages, and its source queue (empty): their URLs
    and the messages' ids."""
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 3})
    source = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    ids = []
    for start in range(0, messages, 10):
        entries = [{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, min(messages, start + 10))]
        ids += [e["MessageId"] for e in sqs.send_message_batch(QueueUrl=dlq, Entries=entries)["Successful"]]
    return dlq, source, ids


def task_of(sqs: Any, dlq_arn: str) -> dict[str, Any]:
    return dict(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"][0])


def drain(sqs: Any, url: str) -> list[str]:
    """Every message id the queue gives, received and deleted until it gives none."""
    ids: list[str] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        ids += [m["MessageId"] for m in got]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(got)])  # fmt: skip
    return ids


def test_a_move_task_runs_in_the_background_at_its_pace_until_cancelled(sqs: Any) -> None:
    dlq, source, ids = dead_letter_pair(sqs, "paced", 30)
    dlq_arn = arn_of(sqs, dlq)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, source),
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]  # fmt: skip
    task = task_of(sqs, dlq_arn)  # at one a second, 30 messages take half a minute: it has barely begun
    assert task["Status"] == "RUNNING" and task["TaskHandle"] == handle and task["MaxNumberOfMessagesPerSecond"] == 1
    assert task["ApproximateNumberOfMessagesToMove"] == 30 and task["ApproximateNumberOfMessagesMoved"] < 30
    error = error_of(sqs.start_message_move_task, SourceArn=dlq_arn)
    assert (error["Code"], error["Message"]) == ("InvalidParameterValue", "There is already a task running. Only one "
                                                 "active task is allowed for a source queue arn at a given time.")

    eventually(lambda: task_of(sqs, dlq_arn)["ApproximateNumberOfMessagesMoved"] >= 2, "two messages moved")
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 2 <= moved < 30
    done = eventually(lambda: (t := task_of(sqs, dlq_arn))["Status"] == "CANCELLED" and t, "the task cancelled")
    assert "TaskHandle" not in done and done["ApproximateNumberOfMessagesMoved"] < 30
    assert error_of(sqs.cancel_message_move_task, TaskHandle=handle)["Code"] == "InvalidParameterValue"
    # Cancelled, it moves no more: what it moved is in the source, the rest still in the dead-letter queue.
    there, left = drain(sqs, source), drain(sqs, dlq)
    assert len(there) == done["ApproximateNumberOfMessagesMoved"] and sorted(there + left) == sorted(ids)


def test_a_move_task_whose_destination_is_deleted_fails_saying_so(sqs: Any) -> None:
    dlq, source, ids = dead_letter_pair(sqs, "doomed", 20)
    dlq_arn = arn_of(sqs, dlq)
    elsewhere = sqs.create_queue(QueueName="doomed-elsewhere")["QueueUrl"]
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, elsewhere),
                                MaxNumberOfMessagesPerSecond=1)  # fmt: skip
    eventually(lambda: task_of(sqs, dlq_arn)["ApproximateNumberOfMessagesMoved"] >= 1, "a message moved")
    sqs.delete_queue(QueueUrl=elsewhere)
    failed = eventually(lambda: (t := task_of(sqs, dlq_arn))["Status"] == "FAILED" and t, "the task failed")
    assert failed["FailureReason"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert count(sqs, dlq) == 20 - failed["ApproximateNumberOfMessagesMoved"]  # the rest stay
    # Another task may start now, and moves the rest back to where they came from... they came from
    # nowhere (sent to the dead-letter queue directly): it fails saying it cannot tell.
    sqs.start_message_move_task(SourceArn=dlq_arn)
    unknown = eventually(lambda: (t := task_of(sqs, dlq_arn))["Status"] == "FAILED" and t, "the second task failed")
    assert unknown["FailureReason"] == "CouldNotDetermineMessageSource" and count(sqs, dlq) == unknown[
        "ApproximateNumberOfMessagesToMove"]  # fmt: skip
    assert len(sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]) == 2


def test_a_move_task_running_when_the_server_is_killed_resumes_and_moves_each_message_once(
    make_server: Callable[..., LaminaProcess], tmp_path: Path,
) -> None:  # fmt: skip
    first = make_server(tmp_path / "data")
    sqs = sqs_client(first.endpoint)
    dlq, source, ids = dead_letter_pair(sqs, "resumed", 40)
    dlq_arn = arn_of(sqs, dlq)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, source), MaxNumberOfMessagesPerSecond=4)
    eventually(lambda: task_of(sqs, dlq_arn)["ApproximateNumberOfMessagesMoved"] >= 4, "four messages moved")
    first.kill()

    again = make_server(tmp_path / "data")
    sqs = sqs_client(again.endpoint)
    assert task_of(sqs, dlq_arn)["Status"] in ("RUNNING", "COMPLETED")
    done = eventually(lambda: (t := task_of(sqs, dlq_arn))["Status"] == "COMPLETED" and t, "the task completed")
    assert done["ApproximateNumberOfMessagesToMove"] == 40 and done["ApproximateNumberOfMessagesMoved"] <= 40
    moved = drain(sqs, source)
    assert sorted(moved) == sorted(ids) and count(sqs, dlq) == 0  # every message once: none lost, none twice


def test_fifo_windows_outlive_a_kill(make_server: Callable[..., LaminaProcess], tmp_path: Path) -> None:
    first = make_server(tmp_path / "data")
    sqs = sqs_client(first.endpoint)
    url = sqs.create_queue(QueueName="windows.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d-1")
    (got,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])  # received and deleted: gone
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"job {n}", MessageGroupId="jobs", MessageDeduplicationId=f"j{n}")
    taken = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")["Messages"]
    first.kill()

    again = make_server(tmp_path / "data")
    sqs = sqs_client(again.endpoint)
    retried = sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d-1")
    assert (retried["MessageId"], retried["SequenceNumber"]) == (sent["MessageId"], sent["SequenceNumber"])
    same = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in same] == [(m["MessageId"], m["ReceiptHandle"])
                                                                   for m in taken]  # fmt: skip
    assert [m["Body"] for m in same] == ["job 0", "job 1"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # the duplicate was not stored; "jobs" is in flight
    for m in same:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    (last,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert last["Body"] == "job 2"
