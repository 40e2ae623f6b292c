"""Event source mappings from the embedded queues, end to end: boto3's ``sqs`` client sends, the
mapping's pollers invoke real functions, which print what they got (the tests read their logs),
and the queue's own counts show what was deleted. No timing assertions: every wait polls with a
deadline."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs, wait_until
from tests.mapping_helpers import PRINTER, counts, make_queue, printed, sqs_client, state_of

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "aws_events" / "sqs-event.json"

# Fails the records whose body starts with "bad" the first time it sees them (ReportBatchItemFailures).
REPORTER = """import json
def handler(event, context):
    failed = []
    for record in event["Records"]:
        print("EVENT " + json.dumps({"Records": [record]}))
        if record["body"].startswith("bad") and record["attributes"]["ApproximateReceiveCount"] == "1":
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
"""
# Answers the first delivery of a batch with a failure naming a record that is not in it.
MALFORMED = """import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    if event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
        return {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-this-batch"}]}
    return {"batchItemFailures": []}
"""
FAILING = """import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    raise RuntimeError("poison")
"""
# FIFO: prints "DONE <body>" for what it finishes; the first time it sees "a-2" it reports it failed
# and silently skips the rest of group a in the batch (Lamina must hold those back for it).
FIFO_WORKER = """import json
def handler(event, context):
    failed, stopped = [], set()
    for record in event["Records"]:
        group = record["attributes"]["MessageGroupId"]
        if group in stopped:
            continue
        if record["body"] == "a-2" and record["attributes"]["ApproximateReceiveCount"] == "1":
            failed.append({"itemIdentifier": record["messageId"]})
            stopped.add(group)
            continue
        print("DONE " + record["body"])
    return {"batchItemFailures": failed}
"""


def _empty(sqs: Any, url: str) -> bool:
    return counts(sqs, url) == (0, 0)


def test_a_batch_reaches_the_function_in_awss_shape_and_is_deleted(lamina: LaminaProcess, client: Any,
                                                                    fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, BatchSize=10)
    attributes = {"Attribute1": {"DataType": "String", "StringValue": "AttributeValue1"},
                  "Attribute2": {"DataType": "Number", "StringValue": "123"},
                  "Attribute3": {"DataType": "Binary", "BinaryValue": b"1100"}}  # fmt: skip
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"Message Body {i}", MessageAttributes=attributes)
            for i in range(3)]  # fmt: skip
    records = printed(lamina.endpoint, fn_name, 3)
    assert sorted(r["messageId"] for r in records) == sorted(s["MessageId"] for s in sent)
    (sample,) = json.loads(SAMPLE.read_text())["Records"]
    for record in records:
        assert set(record) == set(sample)
        assert set(record["attributes"]) == set(sample["attributes"])
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
        assert record["awsRegion"] == "us-east-1"
        assert record["messageAttributes"]["Attribute1"] == sample["messageAttributes"]["Attribute1"]
        assert record["messageAttributes"]["Attribute3"]["binaryValue"] == "MTEwMA=="  # b"1100", as in the sample
        assert record["messageAttributes"]["Attribute2"]["stringValue"] == "123"
        match = next(s for s in sent if s["MessageId"] == record["messageId"])
        assert record["md5OfBody"] == match["MD5OfMessageBody"]
        assert record["md5OfMessageAttributes"] == match["MD5OfMessageAttributes"]
    wait_until(lambda: _empty(sqs, url))
    assert client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"][0][
        "LastProcessingResult"] == "OK"  # fmt: skip


def test_records_no_filter_matches_are_dropped_from_the_queue(lamina: LaminaProcess, client: Any,
                                                              fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    client.create_event_source_mapping(
        FunctionName=fn_name, EventSourceArn=arn,
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}, {"Pattern": '{"body": ["ping"]}'}]},
    )  # fmt: skip
    for body in ('{"kind": "refund"}', '{"kind": "order", "n": 1}', "kind=order", "ping", '{"kind": "other"}'):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_until(lambda: _empty(sqs, url))  # dropped ones are deleted too
    records = printed(lamina.endpoint, fn_name, 2)
    assert sorted(r["body"] for r in records) == sorted(['{"kind": "order", "n": 1}', "ping"])


def test_report_batch_item_failures_retries_only_the_failed(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, REPORTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name, VisibilityTimeout="1")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body}
                                                  for i, body in enumerate(["good-1", "bad-1", "good-2"])])  # fmt: skip
    client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn,
                                       FunctionResponseTypes=["ReportBatchItemFailures"])  # fmt: skip
    records = printed(lamina.endpoint, fn_name, 4)
    wait_until(lambda: _empty(sqs, url))
    seen = Counter(r["body"] for r in records)
    assert seen == {"good-1": 1, "good-2": 1, "bad-1": 2}
    assert sorted(r["attributes"]["ApproximateReceiveCount"] for r in records if r["body"] == "bad-1") == ["1", "2"]


def test_a_malformed_batch_response_fails_the_whole_batch(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, MALFORMED)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name, VisibilityTimeout="1")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m-{i}"} for i in range(3)])
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn,
                                              FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]  # fmt: skip
    records = printed(lamina.endpoint, fn_name, 6)
    wait_until(lambda: _empty(sqs, url))
    assert Counter(r["body"] for r in records) == {"m-0": 2, "m-1": 2, "m-2": 2}  # every one came back once
    assert client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK"


def test_a_poison_message_ends_in_the_dead_letter_queue(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, FAILING)
    sqs = sqs_client(lamina.endpoint)
    dlq_url, dlq_arn = make_queue(sqs, f"{fn_name}-dlq")
    url, arn = make_queue(sqs, fn_name, VisibilityTimeout="1",
                          RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))  # fmt: skip
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")

    def dead_lettered() -> list[dict[str, Any]]:
        return list(sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, VisibilityTimeout=60).get("Messages", []))

    (dead,) = wait_until(dead_lettered, timeout=60)
    assert dead["MessageId"] == sent["MessageId"] and dead["Body"] == "poison"
    assert wait_until(lambda: _empty(sqs, url))
    attempts = printed(lamina.endpoint, fn_name, 2)
    assert [r["attributes"]["ApproximateReceiveCount"] for r in attempts] == ["1", "2"]  # then no more
    assert client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "PROBLEM: Function call failed"


def test_fifo_keeps_each_groups_order_through_a_failure(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, FIFO_WORKER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, f"{fn_name}.fifo", FifoQueue="true", ContentBasedDeduplication="true",
                          VisibilityTimeout="1")  # fmt: skip
    bodies = [f"{group}-{i}" for i in range(6) for group in ("a", "b")]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=body[0])
    client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, BatchSize=10,
                                       FunctionResponseTypes=["ReportBatchItemFailures"])  # fmt: skip

    def done(lines: list[str]) -> list[str]:
        return [line.split("DONE ", 1)[1].strip() for line in lines if "DONE " in line]

    finished = done(wait_for_logs(lamina.endpoint, fn_name, lambda lines: len(done(lines)) >= 12, timeout=60))
    wait_until(lambda: _empty(sqs, url))
    for group in ("a", "b"):
        assert [b for b in finished if b[0] == group] == [f"{group}-{i}" for i in range(6)]


def test_disable_enable_and_delete_start_and_stop_polling(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, Enabled=False)["UUID"]
    wait_until(lambda: state_of(client, uuid) == "Disabled")
    sqs.send_message(QueueUrl=url, MessageBody="while disabled")
    assert counts(sqs, url) == (1, 0)  # nobody takes it
    client.update_event_source_mapping(UUID=uuid, Enabled=True)
    (record,) = printed(lamina.endpoint, fn_name, 1)
    assert record["body"] == "while disabled"
    wait_until(lambda: _empty(sqs, url))
    client.delete_event_source_mapping(UUID=uuid)
    wait_until(lambda: state_of(client, uuid) is None)
    sqs.send_message(QueueUrl=url, MessageBody="after delete")
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    assert [m["Body"] for m in received] == ["after delete"]  # still there: no poller took it


def test_a_restart_resumes_the_mapping(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = make_server(data)
    deploy(first.client(), "resumed", PRINTER)
    _, arn = make_queue(sqs_client(first.endpoint), "resumed")
    uuid = first.client().create_event_source_mapping(FunctionName="resumed", EventSourceArn=arn)["UUID"]
    wait_until(lambda: state_of(first.client(), uuid) == "Enabled")
    assert first.stop() == 0

    second = make_server(data)
    client = second.client()
    assert state_of(client, uuid) == "Enabled"
    sqs = sqs_client(second.endpoint)
    url = sqs.get_queue_url(QueueName="resumed")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="after the restart")
    (record,) = printed(second.endpoint, "resumed", 1)
    assert record["body"] == "after the restart"


def test_kill_9_mid_stream_loses_nothing(make_server: Any, tmp_path: Path) -> None:
    """The function finishes the messages numbered below 20 and hangs on the others the first time
    it gets them; Lamina is killed with those in flight. After the restart every message reaches
    the function (duplicates allowed, counted) and the queue empties. The hang is 15 s: the pollers
    add a worker a second at most and a hanging worker adds none, so those never received before
    the kill are worked through in rounds of a few workers after the restart, each round a hang."""
    data = tmp_path / "data"
    first = make_server(data)
    worker = ("import json, time\n"
              "def handler(event, context):\n"
              "    for r in event['Records']:\n"
              "        if int(r['body']) >= 20 and r['attributes']['ApproximateReceiveCount'] == '1':\n"
              "            time.sleep(15)\n"
              "        print('GOT ' + r['body'])\n")  # fmt: skip
    deploy(first.client(), "streamed", worker, Timeout=120)
    sqs = sqs_client(first.endpoint)
    url, arn = make_queue(sqs, "streamed", VisibilityTimeout="2")
    total = 40
    for start in range(0, total, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)}
                                                      for i in range(start, start + 10)])  # fmt: skip
    first.client().create_event_source_mapping(FunctionName="streamed", EventSourceArn=arn, BatchSize=1)

    def got(lines: list[str]) -> list[int]:
        return [int(line.split("GOT ", 1)[1]) for line in lines if "GOT " in line]

    before = got(wait_for_logs(first.endpoint, "streamed", lambda lines: len(set(got(lines))) >= 20, timeout=60))
    wait_until(lambda: counts(sqs, url)[1] > 0)  # some of the rest are in flight, their functions hanging
    first.kill()

    second = make_server(data)
    after = got(wait_for_logs(second.endpoint, "streamed",
                              lambda lines: set(before) | set(got(lines)) >= set(range(total)), timeout=120))  # fmt: skip
    assert set(before) | set(after) == set(range(total))
    sqs = sqs_client(second.endpoint)
    wait_until(lambda: counts(sqs, url) == (0, 0), timeout=60)
    # The second server's log holds the first one's lines too (those it had stored before the kill).
    duplicates = len(after) - len(set(after))
    print(f"kill -9 mid-stream: {total} messages, {duplicates} delivered more than once")


def test_a_throttled_function_gets_its_records_once_unthrottled(lamina: LaminaProcess, client: Any,
                                                                fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=0)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    sqs.send_message(QueueUrl=url, MessageBody="held back")
    wait_until(lambda: client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"]
               == "PROBLEM: Function call throttled")  # fmt: skip
    assert counts(sqs, url) == (0, 1)  # still the poller's, never dropped
    client.delete_function_concurrency(FunctionName=fn_name)
    (record,) = printed(lamina.endpoint, fn_name, 1)
    assert record["body"] == "held back" and record["attributes"]["ApproximateReceiveCount"] == "1"
    wait_until(lambda: _empty(sqs, url))


def test_a_mapping_outlives_its_function_and_says_so(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name, VisibilityTimeout="1")
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_until(lambda: state_of(client, uuid) == "Enabled")
    client.delete_function(FunctionName=fn_name)
    problem = f"PROBLEM: Function not found: arn:aws:lambda:us-east-1:000000000000:function:{fn_name}"
    assert client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == problem
    sqs.send_message(QueueUrl=url, MessageBody="for nobody")
    wait_until(lambda: counts(sqs, url)[1] == 1)  # taken, not deleted: it comes back after its visibility timeout
    assert client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == problem
    deploy(client, fn_name, PRINTER)
    (record,) = printed(lamina.endpoint, fn_name, 1, timeout=60)
    assert record["body"] == "for nobody"


def test_lamina_mappings_shows_state_result_and_lag(lamina: LaminaProcess, client: Any, fn_name: str,
                                                    capsys: Any) -> None:  # fmt: skip
    from lamina.cli.main import main

    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, Enabled=False)["UUID"]
    wait_until(lambda: state_of(client, uuid) == "Disabled")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(3)])
    capsys.readouterr()
    assert main(["mappings", "--endpoint", lamina.endpoint]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if uuid in line]
    assert line.split()[:8] == [uuid, fn_name, fn_name, "Disabled", "No", "records", "processed", "3"]
    assert main(["mappings", "--json", "--endpoint", lamina.endpoint]) == 0
    rows = json.loads(capsys.readouterr().out)["EventSourceMappings"]
    (row,) = [r for r in rows if r["uuid"] == uuid]
    assert row["backlog"] == 3 and row["oldestAgeSeconds"] >= 0 and row["pollers"] == 0
    client.update_event_source_mapping(UUID=uuid, Enabled=True)
    printed(lamina.endpoint, fn_name, 3)
    wait_until(lambda: _empty(sqs, url))
    assert main(["mappings", "--json", "--endpoint", lamina.endpoint]) == 0
    (row,) = [r for r in json.loads(capsys.readouterr().out)["EventSourceMappings"] if r["uuid"] == uuid]
    assert row["backlog"] == 0 and row["state"] == "Enabled" and row["lastProcessingResult"] == "OK"
    assert row["pollers"] >= 1


def test_the_readmes_queue_walkthrough_works_as_written(make_server: Any, tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    server = make_server()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("Queues feed functions through event source mappings", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found is not None
    block = found.group(1)
    here = server.endpoint.removeprefix("http://")
    script = block.replace("127.0.0.1:9000", here).replace("localhost:9000", here)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMINA_"))}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", LAMINA_ENDPOINT=server.endpoint,
               PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")  # fmt: skip
    shell = subprocess.run(["bash", "-euc", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                           timeout=180)  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    lines = wait_for_logs(server.endpoint, "printer", lambda lines: any("got hello" in line for line in lines), 30)
    assert any("got hello" in line for line in lines)
    assert re.search(r"\sorders\s+printer\s+(Enabled|Creating)\s", shell.stdout), shell.stdout


def test_a_batch_stays_within_the_six_megabyte_payload(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, "import json\ndef handler(event, context):\n"
                            "    print('BATCH ' + json.dumps([len(r['body']) for r in event['Records']]))\n")  # fmt: skip
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    for i in range(7):
        sqs.send_message(QueueUrl=url, MessageBody=str(i) * 1_000_000)  # 7 MB in all
    client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn, BatchSize=10,
                                       MaximumBatchingWindowInSeconds=1)  # fmt: skip

    def batches(lines: list[str]) -> list[list[int]]:
        return [json.loads(line.split("BATCH ", 1)[1]) for line in lines if "BATCH " in line]

    seen = batches(wait_for_logs(lamina.endpoint, fn_name, lambda lines: sum(map(len, batches(lines))) >= 7, 60))
    wait_until(lambda: _empty(sqs, url))
    assert sum(map(len, seen)) == 7
    assert len(seen) >= 2 and max(map(len, seen)) > 1  # batched, and cut at 6 MB
    assert all(sum(sizes) < 6 * 1024 * 1024 for sizes in seen)


def test_a_graceful_stop_lets_a_batch_in_flight_finish(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = make_server(data)
    slow = ("import json, time\ndef handler(event, context):\n    print('RUNNING', flush=True)\n    time.sleep(1)\n"
            "    print('EVENT ' + json.dumps(event))\n")  # fmt: skip
    deploy(first.client(), "slow", slow)
    sqs = sqs_client(first.endpoint)
    url, arn = make_queue(sqs, "slow", VisibilityTimeout="600")
    first.client().create_event_source_mapping(FunctionName="slow", EventSourceArn=arn)
    sqs.send_message(QueueUrl=url, MessageBody="finish me")
    wait_until(lambda: counts(sqs, url) == (0, 1))  # taken
    # Running (its cold start, however slow, is behind it): what is left fits in the grace period.
    wait_for_logs(first.endpoint, "slow", lambda lines: "RUNNING" in "".join(lines), 60)
    assert first.stop() == 0
    second = make_server(data)
    assert counts(sqs_client(second.endpoint), url) == (0, 0)  # deleted before the first server stopped
    (record,) = printed(second.endpoint, "slow", 1)
    assert record["body"] == "finish me"


def test_last_processing_result_is_kept_across_a_restart(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = make_server(data)
    client = first.client()
    deploy(client, "kept", FAILING)
    url, arn = make_queue(sqs_client(first.endpoint), "kept", VisibilityTimeout="60")
    uuid = client.create_event_source_mapping(FunctionName="kept", EventSourceArn=arn)["UUID"]
    sqs_client(first.endpoint).send_message(QueueUrl=url, MessageBody="poison")
    problem = "PROBLEM: Function call failed"
    wait_until(lambda: client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == problem, timeout=60)
    assert first.stop() == 0  # no change of the mapping since it was created: only the result was written

    second = make_server(data)
    # the message is still in flight (60 s): no batch runs to report anything anew
    got = second.client().get_event_source_mapping(UUID=uuid)
    assert (got["State"], got["LastProcessingResult"]) == ("Enabled", problem)
