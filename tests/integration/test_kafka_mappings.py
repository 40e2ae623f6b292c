"""Event source mappings from a self-managed Kafka topic, end to end: a real Kafka broker (KRaft,
tests/kafka.py), a real aiokafka producer in the test, boto3's ``lambda`` client, real functions
that print what they got (the tests read their logs), and the consumer group's committed offsets
read back from the broker. No timing assertions: every wait polls with a deadline."""

from __future__ import annotations

import base64
import json
import socket
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs, wait_until
from tests.integration.test_clients import aws_cli
from tests.brokers import free_port
from tests.kafka import Kafka, committed, create_topic, kafka, make_kafka, produce  # noqa: F401
from tests.mapping_helpers import PRINTER, make_queue, sqs_client
from tests import signing

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "aws_events" / "kafka-self-managed-event.json"
FAILING = """import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    raise RuntimeError("poison")
"""


def events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]


def records_of(lines: list[str]) -> list[dict[str, Any]]:
    return [r for e in events(lines) for batch in e["records"].values() for r in batch]


def printed(endpoint: str, name: str, done: Any, timeout: float = 60) -> list[str]:
    """The function's log lines once ``done(records)`` holds for the records it printed."""
    return wait_for_logs(endpoint, name, lambda lines: bool(done(records_of(lines))), timeout=timeout)


def values(records: list[dict[str, Any]]) -> list[str]:
    return [base64.b64decode(r["value"]).decode() for r in records]


def mapping_rows(endpoint: str) -> dict[str, dict[str, Any]]:
    with signing.urlopen(f"{endpoint}/lamina/v1/event-source-mappings", timeout=30) as resp:
        return {row["uuid"]: row for row in json.loads(resp.read())["mappings"]}


def kafka_mapping(client: Any, function: str, bootstrap: str, topic: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": function, "Topics": [topic], "StartingPosition": "TRIM_HORIZON",
        "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [bootstrap]}}, **extra,
    }  # fmt: skip
    return dict(client.create_event_source_mapping(**params))


def test_records_reach_the_function_in_awss_shape_in_partition_order(lamina: LaminaProcess, client: Any,
                                                                      kafka: Kafka, fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    create_topic(kafka.bootstrap, fn_name, partitions=3)
    sent = produce(kafka.bootstrap, fn_name, [f"m{i}" for i in range(30)], key=b"recordKey",
                   headers=[("headerKey", b"headerValue")])  # fmt: skip
    mapping = kafka_mapping(client, fn_name, kafka.bootstrap, fn_name, BatchSize=4)
    assert mapping["State"] == "Creating" and "EventSourceArn" not in mapping
    assert mapping["SelfManagedEventSource"] == {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [kafka.bootstrap]}}
    assert mapping["Topics"] == [fn_name] and mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["SelfManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": mapping["UUID"]}
    assert mapping["BatchSize"] == 4

    lines = printed(lamina.endpoint, fn_name, lambda records: len({r["value"] for r in records}) >= 30)
    sample = json.loads(SAMPLE.read_text())
    (sample_record,) = sample["records"]["mytopic-0"]
    for event in events(lines):
        assert set(event) == set(sample) and event["eventSource"] == "SelfManagedKafka"
        assert event["bootstrapServers"] == kafka.bootstrap
        assert 1 <= sum(len(batch) for batch in event["records"].values()) <= 4
        for group, batch in event["records"].items():
            for record in batch:
                assert set(record) == set(sample_record)
                assert group == f"{record['topic']}-{record['partition']}"
                assert record["timestampType"] == "CREATE_TIME" and isinstance(record["timestamp"], int)
                assert base64.b64decode(record["key"]) == b"recordKey"
                assert record["headers"] == sample_record["headers"]
    records = records_of(lines)
    assert sorted(values(records)) == sorted(p.value.decode() for p in sent)
    by_partition: dict[int, list[int]] = defaultdict(list)
    for record in records:
        by_partition[record["partition"]].append(record["offset"])
    expected: dict[int, list[int]] = defaultdict(list)
    for p in sent:
        expected[p.partition].append(p.offset)
    assert dict(by_partition) == dict(expected)  # each partition in order, nothing twice

    wait_until(lambda: committed(kafka.bootstrap, mapping["UUID"], fn_name, 3) == {0: 10, 1: 10, 2: 10})
    wait_until(lambda: mapping_rows(lamina.endpoint)[mapping["UUID"]]["backlog"] == 0)
    assert client.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled"


def test_a_failing_batch_is_not_committed_and_comes_again_until_fixed(lamina: LaminaProcess, client: Any,
                                                                       kafka: Kafka, fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, FAILING)
    create_topic(kafka.bootstrap, fn_name)
    produce(kafka.bootstrap, fn_name, [f"r{i}" for i in range(5)])
    uuid = kafka_mapping(client, fn_name, kafka.bootstrap, fn_name, BatchSize=2)["UUID"]
    # The first batch comes again and again: it is never committed, nothing after it is read.
    printed(lamina.endpoint, fn_name, lambda records: values(records).count("r0") >= 3)
    assert client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "PROBLEM: Function call failed"
    assert committed(kafka.bootstrap, uuid, fn_name) == {0: 0}
    assert mapping_rows(lamina.endpoint)[uuid]["backlog"] == 5

    client.update_function_code(FunctionName=fn_name, ZipFile=_zip(PRINTER.replace("EVENT", "FIXED")))
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def fixed(lines: list[str]) -> list[str]:
        return [line.replace("FIXED", "EVENT") for line in lines if "FIXED " in line]

    lines = wait_for_logs(lamina.endpoint, fn_name, lambda ls: len(set(values(records_of(fixed(ls))))) >= 5,
                          timeout=90)  # fmt: skip
    got = values(records_of(fixed(lines)))
    assert sorted(set(got)) == [f"r{i}" for i in range(5)]  # nothing skipped
    assert got == sorted(got)  # in order (a batch retried after the fix starts again from its first record)
    wait_until(lambda: committed(kafka.bootstrap, uuid, fn_name) == {0: 5}, timeout=60)
    wait_until(lambda: client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK")


def _zip(code: str) -> bytes:
    from tests.conftest import make_zip

    return make_zip({"app.py": code})


def test_batch_size_and_window_shape_the_batches(lamina: LaminaProcess, client: Any, kafka: Kafka,
                                                 fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    create_topic(kafka.bootstrap, fn_name)
    produce(kafka.bootstrap, fn_name, [str(i) for i in range(25)])
    kafka_mapping(client, fn_name, kafka.bootstrap, fn_name, BatchSize=10, MaximumBatchingWindowInSeconds=2)
    lines = printed(lamina.endpoint, fn_name, lambda records: len(records) >= 25)
    sizes = [sum(len(b) for b in e["records"].values()) for e in events(lines)]
    assert sizes == [10, 10, 5]


def test_filters_drop_records_and_their_offsets_are_committed(lamina: LaminaProcess, client: Any, kafka: Kafka,
                                                             fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    create_topic(kafka.bootstrap, fn_name)
    sent = [json.dumps({"kind": "keep", "n": 1}), "plain text", json.dumps({"kind": "drop", "n": 2}),
            json.dumps({"kind": "keep", "n": 3}), b"\xff\xfe not utf-8", json.dumps({"kind": "drop", "n": 4})]  # fmt: skip
    produce(kafka.bootstrap, fn_name, sent)
    pattern = json.dumps({"value": {"kind": ["keep"]}})
    uuid = kafka_mapping(client, fn_name, kafka.bootstrap, fn_name, BatchSize=1,
                         FilterCriteria={"Filters": [{"Pattern": pattern}]})["UUID"]  # fmt: skip
    wait_until(lambda: committed(kafka.bootstrap, uuid, fn_name) == {0: 6}, timeout=60)
    lines = printed(lamina.endpoint, fn_name, lambda records: len(records) >= 2)
    assert [json.loads(v)["n"] for v in values(records_of(lines))] == [1, 3]


def test_a_batch_failing_past_its_retries_goes_to_the_on_failure_queue(lamina: LaminaProcess, client: Any,
                                                                       kafka: Kafka, fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, FAILING)
    create_topic(kafka.bootstrap, fn_name)
    sqs = sqs_client(lamina.endpoint)
    url, arn = make_queue(sqs, f"{fn_name}-failed")
    produce(kafka.bootstrap, fn_name, ["poison-1", "poison-2"])
    mapping = kafka_mapping(client, fn_name, kafka.bootstrap, fn_name, BatchSize=2, MaximumRetryAttempts=1,
                            DestinationConfig={"OnFailure": {"Destination": arn}})  # fmt: skip
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": arn}}
    assert mapping["MaximumRetryAttempts"] == 1
    wait_until(lambda: committed(kafka.bootstrap, mapping["UUID"], fn_name) == {0: 2}, timeout=60)
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    body = json.loads(received[0]["Body"])
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 2  # the first try and one retry
    assert body["requestContext"]["functionArn"] == mapping["FunctionArn"]
    assert body["responseContext"]["functionError"] == "Unhandled"
    info = body["KafkaBatchInfo"]
    assert info["batchSize"] == 2 and info["bootstrapServers"] == kafka.bootstrap
    assert info["consumerGroupId"] == mapping["UUID"]
    assert info["recordsInfo"][f"{fn_name}-0"]["firstRecordOffset"] == "0"
    assert info["recordsInfo"][f"{fn_name}-0"]["lastRecordOffset"] == "1"
    lines = wait_for_logs(lamina.endpoint, fn_name, lambda ls: len(events(ls)) >= 2)
    assert len(events(lines)) == 2  # tried twice, then given up: never a loop


def test_latest_starts_after_what_is_there_and_trim_horizon_before(lamina: LaminaProcess, client: Any,
                                                                    kafka: Kafka, fn_name: str) -> None:  # fmt: skip
    create_topic(kafka.bootstrap, fn_name)
    produce(kafka.bootstrap, fn_name, ["old-1", "old-2"])
    uuids = {}
    for position in ("LATEST", "TRIM_HORIZON"):
        name = f"{fn_name[:40]}-{position[0].lower()}"
        deploy(client, name, PRINTER)
        uuids[position] = kafka_mapping(client, name, kafka.bootstrap, fn_name, StartingPosition=position)["UUID"]
    # Started: each group has its starting offset committed.
    wait_until(lambda: committed(kafka.bootstrap, uuids["LATEST"], fn_name) == {0: 2}, timeout=60)
    produce(kafka.bootstrap, fn_name, ["new-1"])
    trim = printed(lamina.endpoint, f"{fn_name[:40]}-t", lambda records: len(records) >= 3)
    assert values(records_of(trim)) == ["old-1", "old-2", "new-1"]
    latest = printed(lamina.endpoint, f"{fn_name[:40]}-l", lambda records: len(records) >= 1)
    assert values(records_of(latest)) == ["new-1"]
    wait_until(lambda: committed(kafka.bootstrap, uuids["LATEST"], fn_name) == {0: 3})


def test_a_broker_unreachable_at_creation_is_reported_not_hung(lamina: LaminaProcess, client: Any,
                                                               fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{s.getsockname()[1]}"
        mapping = kafka_mapping(client, fn_name, nowhere, "orders")
        assert mapping["State"] == "Creating"
        uuid = mapping["UUID"]
        wait_until(lambda: "Connection error" in client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"],
                   timeout=60)  # fmt: skip
    got = client.get_event_source_mapping(UUID=uuid)
    assert got["State"] == "Enabled"
    assert got["LastProcessingResult"].startswith("PROBLEM: Connection error.")
    client.delete_event_source_mapping(UUID=uuid)


def test_a_broker_stopped_and_restarted_mid_stream_loses_nothing(make_server: Any, make_kafka: Any) -> None:
    broker = make_kafka()
    server = make_server()
    client = server.client()
    slow = PRINTER + "    import time\n    time.sleep(0.2)\n"
    deploy(client, "streamed", slow)
    create_topic(broker.bootstrap, "streamed", partitions=2)
    produce(broker.bootstrap, "streamed", [f"a{i}" for i in range(40)])
    uuid = kafka_mapping(client, "streamed", broker.bootstrap, "streamed", BatchSize=2)["UUID"]
    printed(server.endpoint, "streamed", lambda records: len(records) >= 6)
    broker.stop()  # mid-stream: most of the a's are still to come
    assert client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"  # the API goes on answering
    broker.start()
    produce(broker.bootstrap, "streamed", [f"b{i}" for i in range(20)])
    expected = {f"a{i}" for i in range(40)} | {f"b{i}" for i in range(20)}
    lines = printed(server.endpoint, "streamed", lambda records: expected <= set(values(records)), timeout=180)
    got = values(records_of(lines))
    assert set(got) == expected
    wait_until(lambda: committed(broker.bootstrap, uuid, "streamed", 2) == {0: 30, 1: 30}, timeout=60)
    print(f"broker restart mid-stream: {len(expected)} records, {len(got) - len(set(got))} delivered more than once")


def test_lamina_killed_mid_stream_resumes_from_the_committed_offsets(make_server: Any, kafka: Kafka,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    data = tmp_path / "data"
    first = make_server(data)
    worker = ("import json, time\n"
              "def handler(event, context):\n"
              "    for batch in event['records'].values():\n"
              "        for r in batch:\n"
              "            print('EVENT ' + json.dumps({'records': {'x': [r]}}))\n"
              "    time.sleep(0.2)\n")  # fmt: skip
    topic = f"killed-{free_port()}"
    deploy(first.client(), "killed", worker)
    create_topic(kafka.bootstrap, topic, partitions=2)
    total = 60
    produce(kafka.bootstrap, topic, [str(i) for i in range(total)])
    uuid = kafka_mapping(first.client(), "killed", kafka.bootstrap, topic, BatchSize=2)["UUID"]
    before = values(records_of(printed(first.endpoint, "killed", lambda records: len(records) >= 10)))
    first.kill()

    second = make_server(data)
    lines = printed(second.endpoint, "killed", lambda records: {str(i) for i in range(total)} <= set(values(records)),
                    timeout=120)  # fmt: skip
    after = values(records_of(lines))
    assert set(before) | set(after) == {str(i) for i in range(total)}
    wait_until(lambda: sum(v or 0 for v in committed(kafka.bootstrap, uuid, topic, 2).values()) == total, timeout=60)
    # The second server's log holds the first one's lines too (those it had stored before the kill).
    print(f"kill -9 mid-stream: {total} records, {len(after) - len(set(after))} delivered more than once")


def _error(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_kafka_mappings_are_checked_as_aws_checks_them(lamina: LaminaProcess, client: Any, fn_name: str,
                                                       tmp_path: Path) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    broker = "127.0.0.1:9"  # nothing listens: these mappings never read anything
    region = "arn:aws:sqs:us-east-1:000000000000"
    invalid = "InvalidParameterValueException"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Topics": None}, invalid, "Topics must be specified for a self-managed Apache Kafka event source."),
        ({"Topics": ["a", "b"]}, "ValidationException",
         "1 validation error detected: Value '[a, b]' at 'topics' failed to satisfy constraint: Member must have "
         "length less than or equal to 1"),
        ({"StartingPosition": None}, invalid,
         "StartingPosition must be specified for a self-managed Apache Kafka event source."),
        ({"StartingPosition": "AT_TIMESTAMP"}, invalid,
         "Unsupported starting position AT_TIMESTAMP for a self-managed Apache Kafka event source. Valid values: "
         "[TRIM_HORIZON, LATEST]"),
        ({"BisectBatchOnFunctionError": True}, invalid,
         "Unsupported BisectBatchOnFunctionError parameter for given event source mapping type."),
        ({"ParallelizationFactor": 2}, invalid,
         "Unsupported ParallelizationFactor parameter for given event source mapping type."),
        ({"BatchSize": 10_001}, "ValidationException",
         "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have "
         "value less than or equal to 10000"),
        ({"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["no-port"]}}}, invalid,
         "Invalid bootstrap server: no-port. Expected host:port."),
        ({"SourceAccessConfigurations": [{"Type": t, "URI": "arn:aws:secretsmanager:us-east-1:000000000000:secret:s"}
                                         for t in ("CLIENT_CERTIFICATE_TLS_AUTH", "SASL_SCRAM_512_AUTH")]}, invalid,
         "You can specify only one authentication method for a self-managed Apache Kafka event source."),
        ({"EventSourceArn": f"{region}:q"}, invalid,
         "EventSourceArn and SelfManagedEventSource cannot be specified together."),
        ({"DestinationConfig": {"OnFailure": {"Destination": f"{region}:no-such-queue"}}}, invalid,
         f"The provided destination config DestinationConfig(onFailure=OnFailure(destination={region}:no-such-queue)) "
         "is invalid: the queue does not exist."),
        ({"FilterCriteria": {"Filters": [{"Pattern": "{nope"}]}}, invalid, "Invalid filter pattern definition."),
        ({"FunctionName": "no-such-function"}, invalid, "Function does not exist"),
    ]  # fmt: skip
    for params, code, message in cases:
        body = {"FunctionName": fn_name, "Topics": ["orders"], "StartingPosition": "LATEST",
                "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [broker]}}, **params}  # fmt: skip
        body = {k: v for k, v in body.items() if v is not None}
        assert _error(client.create_event_source_mapping, **body)[:2] == (code, message), params
    assert client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"] == []

    first = kafka_mapping(client, fn_name, broker, "orders", Enabled=False)
    assert first["BatchSize"] == 100  # Kafka's default
    assert _error(client.create_event_source_mapping, FunctionName=fn_name, Topics=["orders"],
                  StartingPosition="LATEST",
                  SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [broker]}}) == (
        "ResourceConflictException",
        f'An event source mapping with event source ("{broker}"), function ("{fn_name}"), topics ("orders") already '
        f"exists. Please update or delete the existing mapping with UUID {first['UUID']}", 409,
    )  # fmt: skip
    assert _error(client.create_event_source_mapping, FunctionName=fn_name, Topics=["other"], StartingPosition="LATEST",
                  SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [broker]}},
                  SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": first["UUID"]})[:2] == (
        "ResourceConflictException",
        f"The consumer group ID {first['UUID']} is already used by the event source mapping with UUID {first['UUID']}.",
    )  # fmt: skip
    assert _error(client.update_event_source_mapping, UUID=first["UUID"], BisectBatchOnFunctionError=True)[:2] == (
        invalid, "Unsupported BisectBatchOnFunctionError parameter for given event source mapping type.")
    updated = client.update_event_source_mapping(UUID=first["UUID"], BatchSize=500, MaximumRetryAttempts=3)
    assert (updated["BatchSize"], updated["MaximumRetryAttempts"], updated["Topics"]) == (500, 3, ["orders"])

    # The AWS CLI, unchanged: with-kafka.md's create command, and one refusal.
    made = aws_cli(lamina.endpoint, "create-event-source-mapping", "--function-name", fn_name, "--topics", "cli-topic",
                   "--starting-position", "TRIM_HORIZON", "--self-managed-event-source",
                   json.dumps({"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [broker]}}), "--enabled", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["Topics"] == ["cli-topic"] and created["SelfManagedKafkaEventSourceConfig"] == {
        "ConsumerGroupId": created["UUID"]}
    refused = aws_cli(lamina.endpoint, "create-event-source-mapping", "--function-name", fn_name, "--topics", "t2",
                      "--starting-position", "AT_TIMESTAMP", "--starting-position-timestamp", "2024-01-01T00:00:00Z",
                      "--self-managed-event-source", json.dumps({"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [broker]}}),
                      cwd=tmp_path)  # fmt: skip
    assert refused.returncode != 0
    assert "InvalidParameterValueException" in refused.stderr
    assert "Unsupported StartingPositionTimestamp parameter for given event source mapping type." in refused.stderr
    for uuid in (first["UUID"], created["UUID"]):
        client.delete_event_source_mapping(UUID=uuid)
