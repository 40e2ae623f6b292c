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
from tests.roles import make_role
from tests.streams import PRINTER, log_table_rows, make_db, printed, records_of, stream_mapping, write
from tests import signing

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
    with signing.urlopen(f"{lamina.endpoint}/lamina/v1/event-source-mappings", timeout=30) as answer:
        (row,) = [r for r in json.loads(answer.read())["mappings"] if r["uuid"] == mapping["UUID"]]
    assert row["source"] == f"sqlite:{db}#main.items" and row["backlog"] == 0 and row["pollers"] == 1
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    wait_until(lambda: state_of(client, mapping["UUID"]) is None)
    assert log_table_rows(db) == []  # the triggers and the change log went with the mapping


FAIL_BAD = """import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    if any(r["dynamodb"].get("NewImage", {}).get("name", {}).get("S") == "bad" for r in event["Records"]):
        raise RuntimeError("poison")
"""

REPORT_BAD = """import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in event["Records"]
                                  if r["dynamodb"]["NewImage"]["name"]["S"] == "bad"]}
"""


def batches_of(endpoint: str, name: str, done: Any, timeout: float = 60) -> list[list[str]]:
    """The names in each batch the function printed, once ``done(batches)`` holds."""

    def batches(lines: list[str]) -> list[list[str]]:
        from tests.streams import events

        return [[r["dynamodb"]["NewImage"]["name"]["S"] for r in e["Records"]] for e in events(lines)]

    return batches(wait_for_logs(endpoint, name, lambda lines: bool(done(batches(lines))), timeout=timeout))


def receive_all(sqs: Any, url: str, count: int, timeout: float = 60) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def more() -> bool:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(bodies) >= count

    wait_until(more, timeout=timeout)
    return bodies


def insert_names(db: Path, names: list[str], start: int = 1) -> None:
    write(db, *[("INSERT INTO items VALUES (?, ?, 0)", (start + i, name)) for i, name in enumerate(names)])


def test_batch_item_failures_checkpoint_up_to_the_failed_record_then_retry_from_it(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, REPORT_BAD)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    db = make_db(tmp_path / "app.db")
    stream_mapping(client, fn_name, db, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"],
                   MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    insert_names(db, ["a", "b", "bad", "c", "d"])
    first = batches_of(lamina.endpoint, fn_name, lambda b: len(b) >= 2)
    assert first[:2] == [["a", "b", "bad", "c", "d"], ["bad", "c", "d"]]  # retried from the failed record
    (failure,) = receive_all(sqs, url, 1)
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2 and info["batchSize"] == 3
    assert int(info["endSequenceNumber"]) - int(info["startSequenceNumber"]) == 2
    assert info["streamArn"].split("/")[1] == "main.items" and info["shardId"].startswith("shardId-")
    assert set(failure) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    insert_names(db, ["e"], start=10)  # the stream goes on past what was given up
    later = batches_of(lamina.endpoint, fn_name, lambda b: ["e"] in b)
    assert later[2:] == [["e"]]


def test_a_function_error_bisects_the_batch_and_sends_the_poison_record_to_the_on_failure_queue(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, FAIL_BAD)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    db = make_db(tmp_path / "app.db")
    stream_mapping(client, fn_name, db, BatchSize=10, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
                   DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    names = ["r0", "r1", "r2", "r3", "r4", "bad", "r6", "r7"]
    insert_names(db, names)
    batches = batches_of(lamina.endpoint, fn_name, lambda b: ["r6", "r7"] in b)
    assert batches == [names, names[:4], names[4:], ["r4", "bad"], ["r4"], ["bad"], ["r6", "r7"]]
    (failure,) = receive_all(sqs, url, 1)
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert failure["requestContext"]["approximateInvokeCount"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"


def test_a_failing_batch_is_retried_as_many_times_as_allowed_then_described_to_a_function(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, FAIL_BAD)
    catcher = deploy(client, fn_name + "-dlq", PRINTER)
    db = make_db(tmp_path / "app.db")
    mapping = stream_mapping(client, fn_name, db, MaximumRetryAttempts=2,
                             DestinationConfig={"OnFailure": {"Destination": catcher["FunctionArn"]}})  # fmt: skip
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": catcher["FunctionArn"]}}
    insert_names(db, ["bad", "x"])
    lines = wait_for_logs(lamina.endpoint, fn_name + "-dlq", lambda lines: any("DDBStreamBatchInfo" in l for l in lines),
                          timeout=60)  # fmt: skip
    (failure,) = [json.loads(l.split("EVENT ", 1)[1]) for l in lines if "EVENT " in l]
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2
    assert batches_of(lamina.endpoint, fn_name, lambda b: len(b) >= 3) == [["bad", "x"]] * 3


def test_filters_see_the_record_as_dynamodb_streams_show_it(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    db = make_db(tmp_path / "app.db")
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"name": {"S": [{"prefix": "keep"}]}}}}
    stream_mapping(client, fn_name, db, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    insert_names(db, ["keep1", "drop1", "keep2", "drop2"])
    write(db, "UPDATE items SET n = 5 WHERE name = 'keep1'")
    insert_names(db, ["keep3"], start=10)
    records = printed(lamina.endpoint, fn_name, 3)
    assert [r["dynamodb"]["NewImage"]["name"]["S"] for r in records] == ["keep1", "keep2", "keep3"]


def test_creating_a_stream_mapping_is_checked_as_aws_checks_a_dynamodb_streams(
    client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    db = make_db(tmp_path / "app.db")

    def refused(**params: Any) -> str:
        with pytest.raises(ClientError) as caught:
            stream_mapping(client, fn_name, params.pop("path", db), **params)
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
        return str(caught.value.response["Error"]["Message"])

    assert "does not exist" in refused(tables=["main.missing"]) and "main.missing" in refused(tables=["main.missing"])
    assert "cannot be opened" in refused(path=tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()  # never created
    assert "Invalid table name" in refused(tables=['main.items"; DROP TABLE items; --'])
    assert "Invalid table name" in refused(tables=["other.items"])
    assert "Invalid table name" in refused(tables=["main.lamina_changes_x"])
    assert "Unsupported Queues" in refused(Queues=["q"])
    assert "MaximumRecordAgeInSeconds" in refused(MaximumRecordAgeInSeconds=30)
    assert "STREAM_VIEW_TYPE" in refused(view="NEW")
    assert "does not exist" in refused(DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:nope"}})
    with pytest.raises(ClientError) as caught:
        client.create_event_source_mapping(FunctionName=fn_name, Topics=["main.items"],
                                           SelfManagedEventSource={"Endpoints": {"SQLITE_PATH": [str(db)]}})  # fmt: skip
    assert caught.value.response["Error"]["Message"] == ("1 validation error detected: Value null at "
                                                         "'startingPosition' failed to satisfy constraint: Member "
                                                         "must not be null.")  # fmt: skip
    assert "Unsupported starting position" in refused(StartingPosition="AT_TIMESTAMP")
    with pytest.raises(ClientError) as caught:
        stream_mapping(client, fn_name, db, BatchSize=10_001)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert log_table_rows(db) == []  # nothing was installed by what was refused
    mapping = stream_mapping(client, fn_name, db, view="KEYS_ONLY", ParallelizationFactor=3, Enabled=False)
    assert mapping["SelfManagedEventSource"]["Endpoints"]["STREAM_VIEW_TYPE"] == ["KEYS_ONLY"]
    assert mapping["ParallelizationFactor"] == 3 and mapping["BatchSize"] == 100
    with pytest.raises(ClientError) as caught:
        stream_mapping(client, fn_name, db)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    updated = client.update_event_source_mapping(UUID=mapping["UUID"], MaximumRetryAttempts=5, BatchSize=1000,
                                                 BisectBatchOnFunctionError=True)  # fmt: skip
    assert (updated["MaximumRetryAttempts"], updated["BatchSize"], updated["BisectBatchOnFunctionError"]) == (5, 1000, True)
    client.delete_event_source_mapping(UUID=mapping["UUID"])
    wait_until(lambda: state_of(client, mapping["UUID"]) is None)
    assert log_table_rows(db) == []


def test_a_disabled_mapping_misses_nothing_and_warns_of_a_table_without_a_key(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    db = make_db(tmp_path / "app.db", "CREATE TABLE notes (body TEXT, data BLOB, score REAL)", wal=True)
    mapping = stream_mapping(client, fn_name, db, ["main.notes"], Enabled=False)
    assert "no primary key" in mapping["StateTransitionReason"]
    wait_until(lambda: state_of(client, mapping["UUID"]) == "Disabled")
    write(db, ("INSERT INTO notes VALUES (?, ?, ?)", ("hi", b"\x00\x01", 0.1)), "INSERT INTO notes VALUES (NULL, NULL, 2)")
    client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    records = printed(lamina.endpoint, fn_name, 2)
    assert [r["dynamodb"]["Keys"] for r in records] == [{"rowid": {"N": "1"}}, {"rowid": {"N": "2"}}]
    assert records[0]["dynamodb"]["NewImage"] == {"body": {"S": "hi"}, "data": {"B": "AAE="}, "score": {"N": "0.1"}}
    assert records[1]["dynamodb"]["NewImage"] == {"body": {"NULL": True}, "data": {"NULL": True}, "score": {"N": "2.0"}}


POWERTOOLS = """from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord):
    new = record.dynamodb.new_image
    if new["name"] == "bad":
        raise ValueError("bad row")
    print("GOT", record.event_name.name, record.dynamodb.keys["id"], new["name"], new["n"],
          record.dynamodb.sequence_number, record.dynamodb.stream_view_type.name, record.event_source_arn)


def handler(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
"""


def powertools_layer() -> bytes:
    """Powertools for AWS Lambda (Python) as a layer (python/...), from the test environment's own copy."""
    import typing_extensions

    import aws_lambda_powertools
    import jmespath

    from tests.conftest import make_zip

    files: dict[str, str | bytes] = {}
    for module in (aws_lambda_powertools, jmespath):
        root = Path(module.__file__ or "").parent
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                files[f"python/{root.name}/{path.relative_to(root)}"] = path.read_bytes()
    files["python/typing_extensions.py"] = Path(typing_extensions.__file__ or "").read_bytes()
    return make_zip(files)


def test_a_function_written_with_powertools_dynamodb_classes_runs_unchanged(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    layer = client.publish_layer_version(LayerName=fn_name, Content={"ZipFile": powertools_layer()})
    deploy(client, fn_name, POWERTOOLS, Layers=[layer["LayerVersionArn"]], Timeout=30)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    db = make_db(tmp_path / "app.db")
    stream_mapping(client, fn_name, db, FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=0,
                   DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    write(db, "INSERT INTO items VALUES (1, 'one', 1)", "INSERT INTO items VALUES (2, 'bad', 2)",
          "INSERT INTO items VALUES (3, 'three', 3)")  # fmt: skip
    (failure,) = receive_all(sqs, url, 1)
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2  # from the failed record to the batch's end
    write(db, "UPDATE items SET n = 10 WHERE id = 1")
    lines = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any("GOT MODIFY" in l for l in lines), timeout=60)
    got = [l.split("GOT ", 1)[1].split() for l in lines if "GOT " in l]
    # Powertools' processor works on every record (the one after the failure too); Lambda then
    # retries from the failed one, given up at once here (MaximumRetryAttempts 0).
    assert [g[:4] for g in got] == [["INSERT", "1", "one", "1"], ["INSERT", "3", "three", "3"],
                                    ["MODIFY", "1", "one", "10"]]  # fmt: skip
    assert int(got[0][4]) < int(got[1][4]) < int(got[2][4])
    assert all(g[5] == "NEW_AND_OLD_IMAGES" and g[6].startswith("arn:aws:dynamodb:") for g in got)


# Sends what it got to a FIFO queue through Lamina's API (committed before SendMessage answers, so a
# batch the stream confirmed is never missing from it): [[sequence, id, n], ...] in delivery order.
RELAY = """import json, os, time, uuid, boto3
sqs = boto3.client("sqs")  # with the role's credentials, at Lamina's API (AWS_ENDPOINT_URL)
def handler(event, context):
    time.sleep(float(os.environ.get("PAUSE", "0")))
    got = [[int(r["dynamodb"]["SequenceNumber"]), int(r["dynamodb"]["Keys"]["id"]["N"]),
            int(r["dynamodb"]["NewImage"]["n"]["N"])] for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(got), MessageGroupId="g",
                     MessageDeduplicationId=str(uuid.uuid4()))
"""
KEYS, VERSIONS = 2000, 10  # 20,000 row changes


def write_versions(db: Path, versions: range) -> None:
    for n in versions:
        for start in range(0, KEYS, 500):
            if n == 0:
                write(db, *[("INSERT INTO items VALUES (?, 'k', 0)", (k,)) for k in range(start, start + 500)])
            else:
                write(db, ("UPDATE items SET n = ? WHERE id >= ? AND id < ?", (n, start, start + 500)))


@pytest.mark.slow
def test_twenty_thousand_changes_arrive_in_order_none_lost_across_a_kill_9(
    make_server: Any, tmp_path: Path
) -> None:
    server = make_server()
    client = server.client()
    sqs = sqs_client(server.endpoint)
    url, arn = make_queue(sqs, "relay.fifo", FifoQueue="true")
    role = make_role(server.endpoint, "relay", [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}])
    deploy(client, "relay", RELAY, Environment={"Variables": {"QUEUE_URL": url, "PAUSE": "0.5"}}, Timeout=60,
           role=role)  # fmt: skip
    db = make_db(tmp_path / "app.db", wal=True)
    stream_mapping(client, "relay", db, BatchSize=1000)
    delivered: list[list[int]] = []

    def take(sqs: Any) -> int:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            delivered.extend(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(delivered)

    write_versions(db, range(0, 5))
    wait_until(lambda: take(sqs) >= 2000)
    server.kill()  # kill -9 mid-stream
    assert len(delivered) < 5 * KEYS  # (the test's own check: some were still to come)
    write_versions(db, range(5, VERSIONS))  # while Lamina is down: the triggers keep them
    server = make_server(server.data_dir)
    client, sqs = server.client(), sqs_client(server.endpoint)
    url = sqs.get_queue_url(QueueName="relay.fifo")["QueueUrl"]
    client.update_function_configuration(FunctionName="relay", Environment={"Variables": {
        "QUEUE_URL": url, "PORT": server.endpoint.rsplit(":", 1)[1]}})  # fmt: skip

    def complete() -> bool:
        take(sqs)
        return len({tuple(d) for d in delivered}) >= KEYS * VERSIONS

    wait_until(complete, timeout=240)
    unique = {tuple(d) for d in delivered}
    assert {(k, n) for _, k, n in unique} == {(k, n) for k in range(KEYS) for n in range(VERSIONS)}  # none lost
    first_seen: list[int] = []
    seen: set[int] = set()
    for sequence, _, _ in delivered:
        if sequence not in seen:
            seen.add(sequence)
            first_seen.append(sequence)
    assert first_seen == sorted(first_seen)  # in order: a change comes first only after every earlier one
    per_key: dict[int, list[int]] = {}
    for sequence, k, n in sorted(unique):
        per_key.setdefault(k, []).append(n)
    assert all(ns == list(range(VERSIONS)) for ns in per_key.values())
    print(f"delivered {len(delivered)} records for {len(unique)} changes: {len(delivered) - len(unique)} duplicates")


def test_a_missing_function_is_not_a_failed_batch_nothing_is_given_up(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    db = make_db(tmp_path / "app.db")
    mapping = stream_mapping(client, fn_name, db, MaximumRetryAttempts=0,
                             DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    client.delete_function(FunctionName=fn_name)
    insert_names(db, ["a", "b"])
    wait_until(lambda: "PROBLEM" in client.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"])
    deploy(client, fn_name, PRINTER)
    records = printed(lamina.endpoint, fn_name, 2)
    assert [r["dynamodb"]["NewImage"]["name"]["S"] for r in records] == ["a", "b"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages") is None


def test_records_older_than_the_maximum_age_are_described_to_the_destination_not_sent(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, fn_name)
    db = make_db(tmp_path / "app.db")
    mapping = stream_mapping(client, fn_name, db, Enabled=False, MaximumRecordAgeInSeconds=60,
                             DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    insert_names(db, ["old1", "old2"])
    log = "lamina_changes_" + mapping["UUID"].replace("-", "")
    write(db, f"UPDATE {log} SET committed_ms = committed_ms - 120000")  # as if they had waited two minutes
    insert_names(db, ["new"], start=10)
    client.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    (failure,) = receive_all(sqs, url, 1)
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 2 and "functionError" not in failure["responseContext"]
    records = printed(lamina.endpoint, fn_name, 1)
    assert [r["dynamodb"]["NewImage"]["name"]["S"] for r in records] == ["new"]


def test_the_readmes_walkthrough_runs_as_written(make_server: Any, tmp_path: Path) -> None:
    from tests.functions import DOC_BLOCK, Walkthrough

    server = make_server(tmp_path / "data")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n### Table change streams\n", 1)[1].split("\n### ", 1)[0]
    (block,) = [b for b in DOC_BLOCK.finditer(section) if b["lang"] == "sh"]
    Walkthrough(server.endpoint, tmp_path).run("sh", block["body"].replace("http://127.0.0.1:9000", server.endpoint))
    expected = section.split("`lamina logs rows` then shows `", 1)[1].split("`", 1)[0]
    lines = wait_for_logs(server.endpoint, "rows", lambda lines: any(expected in l for l in lines), timeout=60)
    assert any(expected in line for line in lines)


def test_one_mapping_reads_several_tables_in_commit_order_each_with_its_streams_arn(
    lamina: LaminaProcess, client: Any, fn_name: str, tmp_path: Path
) -> None:
    deploy(client, fn_name, PRINTER)
    db = make_db(tmp_path / "app.db", "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); "
                                      "CREATE TABLE b (k TEXT PRIMARY KEY, v TEXT)")  # fmt: skip
    stream_mapping(client, fn_name, db, ["main.a", "main.b"], view="NEW_IMAGE")
    write(db, "INSERT INTO a VALUES (1, 'a1')", "INSERT INTO b VALUES ('x', 'b1')")
    write(db, "UPDATE b SET v = 'b2' WHERE k = 'x'", "INSERT INTO a VALUES (2, 'a2')")
    records = printed(lamina.endpoint, fn_name, 4)
    assert [(r["eventSourceARN"].split("/")[1], r["dynamodb"]["NewImage"]["v"]["S"]) for r in records] == [
        ("main.a", "a1"), ("main.b", "b1"), ("main.b", "b2"), ("main.a", "a2"),
    ]  # fmt: skip
    assert records[2]["dynamodb"]["Keys"] == {"k": {"S": "x"}} and "OldImage" not in records[2]["dynamodb"]
    assert {r["dynamodb"]["StreamViewType"] for r in records} == {"NEW_IMAGE"}
