"""RabbitMQ (Amazon MQ for RabbitMQ) event source mappings, end to end: a real broker
(tests/rabbitmq.py), a real aio-pika publisher, boto3's ``lambda`` client and the AWS CLI, real
functions that print what they get (the tests read their logs). No timing assertions: every wait
polls with a deadline."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, lambda_client, server_env
from tests.functions import wait_for_logs, wait_until
from tests.integration.test_clients import aws_cli
from tests.mapping_helpers import state_of
from tests.brokers import free_port
from tests.rabbitmq import VHOST, RabbitMQ, rabbitmq  # noqa: F401 (the fixture)

BROKER = "arn:aws:mq:us-east-1:000000000000:broker:pizzaBroker:b-9bcfa592-423a-4942-879d-eb284b418fc8"
WRONG = "arn:aws:mq:us-east-1:000000000000:broker:wrongBroker:b-22222222-2222-2222-2222-222222222222"
DOWN = "arn:aws:mq:us-east-1:000000000000:broker:downBroker:b-00000000-0000-0000-0000-000000000000"
UNKNOWN = "arn:aws:mq:us-east-1:000000000000:broker:elsewhere:b-11111111-1111-1111-1111-111111111111"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:pizzaBrokerUserPassword-xPBMTt"
ACCESS = [{"Type": "BASIC_AUTH", "URI": SECRET}, {"Type": "VIRTUAL_HOST", "URI": VHOST}]

PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
# Fails a batch the first time it sees it; succeeds with it redelivered.
FIRST_FAILS = """import json
def handler(event, context):
    print('EVENT ' + json.dumps(event))
    for records in event["rmqMessagesByQueue"].values():
        if not all(r["redelivered"] for r in records):
            raise RuntimeError("first delivery")
"""
FAILING = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n    raise RuntimeError('poison')\n"
SLOW = "import json, time\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n    time.sleep(0.3)\n"


def messages(lines: list[str]) -> list[dict[str, Any]]:
    events = [json.loads(line.split("EVENT ", 1)[1]) for line in lines if "EVENT " in line]
    return [m for e in events for batch in e["rmqMessagesByQueue"].values() for m in batch]


def bodies(lines: list[str]) -> list[str]:
    return [base64.b64decode(m["data"]).decode() for m in messages(lines)]


def printed(endpoint: str, name: str, count: int, timeout: float = 60) -> list[str]:
    return wait_for_logs(endpoint, name, lambda lines: len(messages(lines)) >= count, timeout=timeout)


async def _publish(url: str, queue: str, payloads: list[aio_pika.Message], arguments: Mapping[str, Any]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True, arguments=dict(arguments))
        for message in payloads:
            await channel.default_exchange.publish(message, routing_key=queue)


def publish(broker: RabbitMQ, queue: str, *bodies: str | aio_pika.Message, **arguments: Any) -> None:
    """Declare ``queue`` (durable) and publish persistent messages to it."""
    built = [b if isinstance(b, aio_pika.Message)
             else aio_pika.Message(b.encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT) for b in bodies]  # fmt: skip
    asyncio.run(_publish(broker.url(VHOST), queue, built, arguments))


async def _ready(url: str, queue: str) -> int:
    connection = await aio_pika.connect(url)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


def ready(broker: RabbitMQ, queue: str) -> int:
    """The queue's ready messages (unacknowledged ones not counted)."""
    return asyncio.run(_ready(broker.url(VHOST), queue))


def broker_env(broker: RabbitMQ) -> dict[str, str]:
    down = f"amqp://lamina:x@127.0.0.1:{free_port()}"
    wrong = f"amqp://lamina:not-the-password@127.0.0.1:{broker.port}/{VHOST}"
    return server_env(LAMINA_RABBITMQ_BROKERS=f"pizzaBroker={broker.url()},downBroker={down},wrongBroker={wrong}")


@pytest.fixture(scope="module")
def server(rabbitmq: RabbitMQ, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:  # noqa: F811
    process = LaminaProcess(tmp_path_factory.mktemp("lamina-rmq"), broker_env(rabbitmq)).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def lam(server: LaminaProcess) -> Any:
    return server.client()


def create(lam: Any, fn: str, queue: str, **options: Any) -> str:
    made = lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=BROKER, Queues=[queue],
                                           SourceAccessConfigurations=ACCESS, **options)  # fmt: skip
    return str(made["UUID"])


def remove(lam: Any, uuid: str) -> None:
    lam.delete_event_source_mapping(UUID=uuid)
    wait_until(lambda: state_of(lam, uuid) is None)


def test_the_event_has_awss_shape_and_messages_are_acknowledged(
    server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ, fn_name: str  # noqa: F811
) -> None:
    deploy(lam, fn_name, PRINTER)
    sent = aio_pika.Message(
        b'{"timeout":0,"data":"CZrmf0Gw8Ov4bqLQxD4E"}', content_type="text/plain", priority=34, expiration=60,
        headers={"header1": "value1", "header2": "value2", "numberInHeader": 10}, delivery_mode=1,
        timestamp=dt.datetime(1970, 1, 1, 0, 33, 41, tzinfo=dt.timezone.utc), user_id="lamina",
        correlation_id="corr-1", message_id="m-1", type="order", app_id="oven", reply_to="answers",
    )  # fmt: skip
    publish(rabbitmq, fn_name, sent)
    made = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=BROKER, Queues=[fn_name],
                                           SourceAccessConfigurations=ACCESS)  # fmt: skip
    assert made["BatchSize"] == 100 and made["Queues"] == [fn_name]
    assert made["SourceAccessConfigurations"] == ACCESS
    lines = printed(server.endpoint, fn_name, 1)
    event = json.loads(next(line.split("EVENT ", 1)[1] for line in lines if "EVENT " in line))
    assert set(event) == {"eventSource", "eventSourceArn", "rmqMessagesByQueue"}
    assert event["eventSource"] == "aws:rmq" and event["eventSourceArn"] == BROKER
    assert list(event["rmqMessagesByQueue"]) == [f"{fn_name}::{VHOST}"]
    (message,) = event["rmqMessagesByQueue"][f"{fn_name}::{VHOST}"]
    assert set(message) == {"basicProperties", "redelivered", "data"}
    assert message["redelivered"] is False
    assert base64.b64decode(message["data"]) == sent.body
    assert message["basicProperties"] == {
        "contentType": "text/plain", "contentEncoding": None,
        "headers": {"header1": {"bytes": list(b"value1")}, "header2": {"bytes": list(b"value2")}, "numberInHeader": 10},
        "deliveryMode": 1, "priority": 34, "correlationId": "corr-1", "replyTo": "answers", "expiration": "60000",
        "messageId": "m-1", "timestamp": "Jan 1, 1970, 12:33:41 AM", "type": "order", "userId": "lamina",
        "appId": "oven", "clusterId": None, "bodySize": len(sent.body),
    }  # fmt: skip
    wait_until(lambda: lam.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"] == "OK")
    remove(lam, made["UUID"])  # closing the connection would give back anything not acknowledged
    assert ready(rabbitmq, fn_name) == 0


def test_batches_hold_up_to_the_batch_size(server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ,  # noqa: F811
                                           fn_name: str) -> None:  # fmt: skip
    """Twelve messages waiting, batches of at most five: several messages an invocation, none twice.
    (How full each batch gets depends on how the broker's deliveries fall among the poller's
    workers within the window: on a loaded machine, [2, 4, 3, 3] as well as [5, 5, 2].)"""
    deploy(lam, fn_name, PRINTER)
    publish(rabbitmq, fn_name, *(f"m{i}" for i in range(12)))
    uuid = create(lam, fn_name, fn_name, BatchSize=5)  # and Lambda's default window for MQ, half a second
    lines = printed(server.endpoint, fn_name, 12)
    sizes = [len(b) for line in lines if "EVENT " in line
             for b in json.loads(line.split("EVENT ", 1)[1])["rmqMessagesByQueue"].values()]  # fmt: skip
    assert max(sizes) <= 5 and sum(sizes) == 12 and len(sizes) <= 6
    assert sorted(bodies(lines)) == sorted(f"m{i}" for i in range(12))
    remove(lam, uuid)
    assert ready(rabbitmq, fn_name) == 0


def test_a_failed_batch_comes_back_redelivered(server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ,  # noqa: F811
                                               fn_name: str) -> None:  # fmt: skip
    deploy(lam, fn_name, FIRST_FAILS)
    publish(rabbitmq, fn_name, "once")
    uuid = create(lam, fn_name, fn_name)
    lines = printed(server.endpoint, fn_name, 2)
    assert [m["redelivered"] for m in messages(lines)][:2] == [False, True]
    wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "OK")
    remove(lam, uuid)
    assert ready(rabbitmq, fn_name) == 0


def test_a_poison_message_ends_in_the_dead_letter_queue(server: LaminaProcess, lam: Any,
                                                        rabbitmq: RabbitMQ, fn_name: str) -> None:  # noqa: F811
    deploy(lam, fn_name, FAILING)
    dead = f"{fn_name}-dlq"
    publish(rabbitmq, dead)
    publish(rabbitmq, fn_name, "poison", **{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
    uuid = create(lam, fn_name, fn_name)
    wait_until(lambda: ready(rabbitmq, dead) == 1, timeout=60)
    lines = printed(server.endpoint, fn_name, 6)
    assert bodies(lines)[:6] == ["poison"] * 6  # the first delivery and five redeliveries
    assert lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"] == "PROBLEM: Function call failed"
    remove(lam, uuid)
    assert ready(rabbitmq, fn_name) == 0


def test_filters_drop_and_acknowledge_what_they_do_not_keep(server: LaminaProcess, lam: Any,
                                                           rabbitmq: RabbitMQ, fn_name: str) -> None:  # noqa: F811
    deploy(lam, fn_name, PRINTER)
    publish(rabbitmq, fn_name, '{"kind": "drop", "n": 1}', "plain text", '{"kind": "keep", "n": 2}')
    uuid = create(lam, fn_name, fn_name,
                  FilterCriteria={"Filters": [{"Pattern": json.dumps({"data": {"kind": ["keep"]}})}]})  # fmt: skip
    lines = printed(server.endpoint, fn_name, 1)
    wait_until(lambda: ready(rabbitmq, fn_name) == 0)
    remove(lam, uuid)
    assert bodies(wait_for_logs(server.endpoint, fn_name, lambda _: True)) == ['{"kind": "keep", "n": 2}']
    assert ready(rabbitmq, fn_name) == 0 and len(messages(lines)) == 1


def test_a_broker_restart_mid_stream_is_survived(server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ,  # noqa: F811
                                                 fn_name: str) -> None:  # fmt: skip
    deploy(lam, fn_name, PRINTER)
    publish(rabbitmq, fn_name, *(f"before-{i}" for i in range(5)))
    uuid = create(lam, fn_name, fn_name)
    printed(server.endpoint, fn_name, 5)
    rabbitmq.stop()
    try:
        wait_until(lambda: lam.get_event_source_mapping(UUID=uuid)["LastProcessingResult"].startswith(
            "PROBLEM: Connection error"), timeout=60)  # fmt: skip
    finally:
        rabbitmq.start()
    publish(rabbitmq, fn_name, *(f"after-{i}" for i in range(5)))
    lines = printed(server.endpoint, fn_name, 10, timeout=90)
    assert set(bodies(lines)) == {f"{w}-{i}" for w in ("before", "after") for i in range(5)}
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    remove(lam, uuid)


def test_lamina_mappings_shows_the_queues_backlog(server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ,  # noqa: F811
                                                  fn_name: str, capsys: Any) -> None:  # fmt: skip
    from lamina.cli.main import main

    def row() -> dict[str, Any]:
        capsys.readouterr()
        assert main(["mappings", "--json", "--endpoint", server.endpoint]) == 0
        (found,) = [r for r in json.loads(capsys.readouterr().out)["EventSourceMappings"] if r["uuid"] == uuid]
        return dict(found)

    deploy(lam, fn_name, SLOW)
    publish(rabbitmq, fn_name, *(f"m{i}" for i in range(40)))
    uuid = create(lam, fn_name, fn_name, BatchSize=1)
    assert wait_until(lambda: (row()["backlog"] or 0) > 0, timeout=60)
    printed(server.endpoint, fn_name, 40, timeout=90)
    wait_until(lambda: row()["backlog"] == 0)
    capsys.readouterr()
    assert main(["mappings", "--endpoint", server.endpoint]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if uuid in line]
    assert line.split()[1:3] == ["pizzaBroker", fn_name]
    remove(lam, uuid)


def test_a_broker_down_at_creation_is_reported_not_waited_for(server: LaminaProcess, lam: Any,
                                                              fn_name: str) -> None:  # fmt: skip
    deploy(lam, fn_name, PRINTER)
    made = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=DOWN, Queues=["orders"],
                                           SourceAccessConfigurations=ACCESS[:1])  # fmt: skip
    assert made["State"] == "Creating"
    result = wait_until(lambda: (r := lam.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"])
                        .startswith("PROBLEM") and r)  # fmt: skip
    assert result.startswith("PROBLEM: Connection error.") and "127.0.0.1" in result and ":x@" not in result
    assert state_of(lam, made["UUID"]) == "Enabled"  # it keeps trying, with backoff
    remove(lam, made["UUID"])


def test_a_refused_login_is_reported_without_the_password(server: LaminaProcess, lam: Any, rabbitmq: RabbitMQ,  # noqa: F811
                                                          fn_name: str) -> None:  # fmt: skip
    deploy(lam, fn_name, PRINTER)
    publish(rabbitmq, fn_name, "never read")
    made = lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=WRONG, Queues=[fn_name],
                                           SourceAccessConfigurations=ACCESS[:1])  # fmt: skip
    result = wait_until(lambda: (r := lam.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"])
                        .startswith("PROBLEM") and r, timeout=60)  # fmt: skip
    assert result.startswith("PROBLEM: Connection error.") and "not-the-password" not in result
    listed = lam.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"]
    assert "not-the-password" not in json.dumps(listed, default=str)
    remove(lam, made["UUID"])
    assert ready(rabbitmq, fn_name) == 1


def test_an_unconfigured_broker_is_refused(lam: Any, fn_name: str) -> None:
    deploy(lam, fn_name, PRINTER)
    with pytest.raises(ClientError) as caught:
        lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=UNKNOWN, Queues=["q"],
                                        SourceAccessConfigurations=ACCESS)  # fmt: skip
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "LAMINA_RABBITMQ_BROKERS=elsewhere=amqp://" in error["Message"]


@pytest.mark.parametrize(("options", "code", "words"), [
    ({"Queues": []}, "ValidationException", "Member must have length greater than or equal to 1"),
    ({"Queues": ["a", "b"]}, "ValidationException", "Member must have length less than or equal to 1"),
    ({"Queues": None}, "InvalidParameterValueException", "Queues is a required parameter"),
    ({"SourceAccessConfigurations": ACCESS[1:]}, "InvalidParameterValueException", "BASIC_AUTH"),
    ({"SourceAccessConfigurations": [*ACCESS, {"Type": "SASL_SCRAM_512_AUTH", "URI": SECRET}]},
     "InvalidParameterValueException", "only BASIC_AUTH and VIRTUAL_HOST"),
    ({"SourceAccessConfigurations": [{"Type": "NOPE", "URI": SECRET}]}, "ValidationException", "enum value set"),
    ({"StartingPosition": "LATEST"}, "InvalidParameterValueException", "Unsupported StartingPosition parameter"),
    ({"FunctionResponseTypes": ["ReportBatchItemFailures"]}, "InvalidParameterValueException",
     "Unsupported FunctionResponseTypes parameter"),
    ({"BatchSize": 10_001}, "ValidationException", "less than or equal to 10000"),
    ({"MaximumBatchingWindowInSeconds": 301}, "ValidationException", "less than or equal to 300"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}, "InvalidParameterValueException",
     "Invalid filter pattern definition."),
])  # fmt: skip
def test_mq_mappings_validation(server: LaminaProcess, fn_name: str, options: dict[str, Any], code: str,
                                words: str) -> None:  # fmt: skip
    lam = lambda_client(server.endpoint, parameter_validation=False)  # what Lamina says, not botocore
    deploy(lam, fn_name, PRINTER)
    request: dict[str, Any] = {"FunctionName": fn_name, "EventSourceArn": BROKER, "Queues": ["q"],
                               "SourceAccessConfigurations": ACCESS, **options}  # fmt: skip
    with pytest.raises(ClientError) as caught:
        lam.create_event_source_mapping(**{k: v for k, v in request.items() if v is not None})
    assert caught.value.response["Error"]["Code"] == code
    assert words in caught.value.response["Error"]["Message"]


def test_the_aws_cli_creates_and_refuses_mq_mappings(server: LaminaProcess, lam: Any, fn_name: str,
                                                     tmp_path: Path) -> None:  # fmt: skip
    deploy(lam, fn_name, PRINTER)
    made = aws_cli(server.endpoint, "create-event-source-mapping", "--function-name", fn_name, "--event-source-arn",
                   BROKER, "--queues", "ExampleQueue", "--source-access-configuration", f"Type=BASIC_AUTH,URI={SECRET}",
                   f"Type=VIRTUAL_HOST,URI={VHOST}", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert answer["Queues"] == ["ExampleQueue"] and answer["BatchSize"] == 100
    refused = aws_cli(server.endpoint, "create-event-source-mapping", "--function-name", fn_name,
                      "--event-source-arn", BROKER, "--queues", "ExampleQueue", cwd=tmp_path)
    assert refused.returncode != 0 and "InvalidParameterValueException" in refused.stderr
    assert "BASIC_AUTH" in refused.stderr
    with pytest.raises(ClientError) as caught:  # the same broker, queue and function again
        lam.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=BROKER, Queues=["ExampleQueue"],
                                        SourceAccessConfigurations=ACCESS)  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert answer["UUID"] in caught.value.response["Error"]["Message"]
    remove(lam, answer["UUID"])


def _end(server: LaminaProcess) -> None:
    if server.proc is not None and server.proc.poll() is None:
        server.stop()


def test_kill_9_mid_stream_loses_nothing(rabbitmq: RabbitMQ, tmp_path: Path,  # noqa: F811
                                         request: pytest.FixtureRequest) -> None:  # fmt: skip
    data, name, count = tmp_path / "data", "rmq-kill", 30
    first = LaminaProcess(data, broker_env(rabbitmq)).start()
    request.addfinalizer(lambda: _end(first))
    lam = lambda_client(first.endpoint)
    deploy(lam, name, SLOW)
    publish(rabbitmq, name, *(f"m{i}" for i in range(count)))
    create(lam, name, name, BatchSize=2)
    printed(first.endpoint, name, 4)
    first.kill()
    second = LaminaProcess(data, broker_env(rabbitmq)).start()
    request.addfinalizer(lambda: _end(second))
    lines = wait_for_logs(second.endpoint, name, lambda ls: set(bodies(ls)) >= {f"m{i}" for i in range(count)},
                          timeout=120)  # fmt: skip
    delivered = Counter(bodies(lines))
    assert set(delivered) == {f"m{i}" for i in range(count)}
    duplicates = sum(n - 1 for n in delivered.values())
    print(f"kill -9 mid-stream: {count} messages, {duplicates} delivered more than once")
