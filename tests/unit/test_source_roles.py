"""What each kind of event source needs of its function's execution role, and which need and action
a role's policies do not allow (iam/source_roles.py), with plain values."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any

import pytest

from lamina.iam.policy import Policy, parse
from lamina.iam.source_roles import VPC_ACTIONS, Need, needs, not_allowed, role_principal
from lamina.mappings.kafka.options import KafkaOptions
from lamina.mappings.model import EventSourceMapping, SourceKind, State
from lamina.streams.options import Database, StreamOptions
from lamina.streams.records import ViewType

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
QUEUE = "arn:aws:sqs:us-east-1:000000000000:orders"
ROLE = "arn:aws:iam::000000000000:role/service-role/worker"
ALL = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def policy(*statements: dict[str, Any]) -> Policy:
    return parse({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize("policies, missing", [
    ([], "sqs:ReceiveMessage"),
    ([policy({"Effect": "Allow", "Action": ALL, "Resource": QUEUE})], None),
    ([policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:*:*:ord*"})], None),
    ([policy({"Effect": "Allow", "Action": ALL[:1], "Resource": QUEUE}),
      policy({"Effect": "Allow", "Action": ALL[2:], "Resource": QUEUE})], "sqs:DeleteMessage"),
    ([policy({"Effect": "Allow", "Action": ALL, "Resource": QUEUE + "-other"})], "sqs:ReceiveMessage"),
    ([policy({"Effect": "Allow", "Action": "*", "Resource": "*"},
             {"Effect": "Deny", "Action": "sqs:GetQueueAttributes", "Resource": QUEUE})], "sqs:GetQueueAttributes"),
    ([policy({"Effect": "Allow", "NotAction": "sqs:DeleteMessage", "Resource": "*"})], "sqs:DeleteMessage"),
])  # fmt: skip
def test_the_first_action_not_allowed(policies: list[Policy], missing: str | None) -> None:
    sqs = needs(mapping(SourceKind.SQS, QUEUE), "us-east-1", "000000000000")
    found = not_allowed(role_principal(ROLE), sqs, policies, NOW)
    assert (found[1] if found is not None else None) == missing


def test_the_role_session_is_the_roles() -> None:
    principal = role_principal(ROLE)
    assert (principal.account_id, principal.role_arn) == ("000000000000", ROLE)
    assert principal.arn == "arn:aws:sts::000000000000:assumed-role/worker/lambda"


BROKER = "arn:aws:mq:us-east-1:000000000000:broker:pizzaBroker:b-0123"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:broker-login"
CA = "arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-ca"
CREATED = 1767225600.0  # 2026-01-01T00:00:00.000
STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/main.orders/stream/2026-01-01T00:00:00.000"


def mapping(kind: SourceKind, source: str, **more: Any) -> EventSourceMapping:
    return EventSourceMapping(uuid="u", kind=kind, source_arn=source, function="f", qualifier=None,
                              function_arn="arn:aws:lambda:us-east-1:000000000000:function:f", batch_size=10,
                              batching_window=0, enabled=True, state=State.CREATING, last_modified=0.0, **more)  # fmt: skip


def kafka(*access: tuple[str, str]) -> EventSourceMapping:
    options = KafkaOptions(("broker:9092",), "orders", "LATEST", "u", False, access=access)
    return mapping(SourceKind.KAFKA, "kafka/orders", kafka=options)


def stream(*tables: str) -> EventSourceMapping:
    options = StreamOptions(Database.SQLITE, "/data/shop.db", tables, ViewType.NEW_AND_OLD_IMAGES, "LATEST", CREATED)
    return mapping(SourceKind.SQLITE, "sqlite:/data/shop.db#" + ",".join(tables), stream=options)


def test_what_each_kind_of_source_needs() -> None:
    def of(m: EventSourceMapping) -> list[tuple[tuple[str, ...], str]]:
        return [(need.actions, need.resource) for need in needs(m, "us-east-1", "000000000000")]

    assert of(mapping(SourceKind.SQS, QUEUE)) == [(tuple(ALL), QUEUE)]
    rabbit = mapping(SourceKind.RABBITMQ, BROKER, access=(("BASIC_AUTH", SECRET), ("VIRTUAL_HOST", "/")))
    assert of(rabbit) == [(("mq:DescribeBroker",), BROKER), (("secretsmanager:GetSecretValue",), SECRET),
                          (VPC_ACTIONS, "*")]  # fmt: skip
    assert of(kafka()) == []  # no secret, no VPC: nothing of the role
    assert of(kafka(("SASL_SCRAM_512_AUTH", SECRET), ("SERVER_ROOT_CA_CERTIFICATE", CA))) == [
        (("secretsmanager:GetSecretValue",), SECRET), (("secretsmanager:GetSecretValue",), CA)]
    assert of(kafka(("VPC_SUBNET", "subnet:subnet-1"))) == [(VPC_ACTIONS, "*")]
    dynamodb = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams")
    assert of(stream("main.orders", "main.items")) == [(dynamodb, STREAM), (dynamodb, STREAM.replace("orders", "items"))]


def test_aws_words_for_each_refusal() -> None:
    def first(m: EventSourceMapping, *allowed: dict[str, Any]) -> str:
        found = not_allowed(role_principal(ROLE), needs(m, "us-east-1", "000000000000"),
                            [policy(*allowed)] if allowed else [], NOW)  # fmt: skip
        assert found is not None
        return found[0].message(found[1])

    rabbit = mapping(SourceKind.RABBITMQ, BROKER, access=(("BASIC_AUTH", SECRET),))
    assert first(rabbit) == "The provided execution role does not have permissions to call DescribeBroker on MQ"
    assert first(rabbit, {"Effect": "Allow", "Action": "mq:DescribeBroker", "Resource": BROKER}) == (
        f"Cannot access secret manager value {SECRET}. Please ensure the role can perform the "
        "'secretsmanager:GetSecretValue' action on your broker in IAM.")
    assert first(rabbit, {"Effect": "Allow", "Action": ["mq:*", "secretsmanager:GetSecretValue"], "Resource": "*"}) == (
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")
    assert first(stream("main.orders"), {"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": STREAM}) == (
        f"Cannot access stream {STREAM}. Please ensure the role can perform the GetRecords, GetShardIterator, "
        "DescribeStream, and ListStreams Actions on your stream in IAM.")


def test_a_stream_policy_on_the_tables_streams_grants_them() -> None:
    allowed = policy({"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                     "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
                      "Resource": "arn:aws:dynamodb:us-east-1:000000000000:table/main.orders/stream/*"})  # fmt: skip
    principal = role_principal(ROLE)
    assert not_allowed(principal, needs(stream("main.orders"), "us-east-1", "000000000000"), [allowed], NOW) is None
    missing = not_allowed(principal, needs(stream("main.orders", "main.items"), "us-east-1", "000000000000"),
                          [allowed], NOW)  # fmt: skip
    assert missing is not None and missing[0].resource.endswith("table/main.items/stream/2026-01-01T00:00:00.000")


def test_a_need_formats_its_refusal() -> None:
    need = Need(("sqs:ReceiveMessage",), QUEUE, "call {action} on {resource}")
    assert need.message("sqs:ReceiveMessage") == f"call ReceiveMessage on {QUEUE}"


@pytest.mark.parametrize("destination, expected", [
    (QUEUE, [(("sqs:SendMessage",), QUEUE, "The provided execution role does not have permissions to call "
                                           "SendMessage on SQS")]),
    ("arn:aws:lambda:us-east-1:000000000000:function:g", [
        (("lambda:InvokeFunction",), "arn:aws:lambda:us-east-1:000000000000:function:g",
         "The provided execution role does not have permissions to call InvokeFunction on Lambda")]),
    (None, []), ("arn:aws:sqs", []), ("arn:aws:s3:::bucket", []),
])  # fmt: skip
def test_an_on_failure_destination_is_needed_after_the_source(
        destination: str | None, expected: list[tuple[tuple[str, ...], str, str]]) -> None:  # fmt: skip
    with_destination = kafka()
    assert with_destination.kafka is not None
    with_destination = dataclasses.replace(
        with_destination, kafka=dataclasses.replace(with_destination.kafka, on_failure=destination))
    found = needs(with_destination, "us-east-1", "000000000000")
    assert [(n.actions, n.resource, n.message(n.actions[0])) for n in found] == expected
    from_stream = stream("main.items")
    assert from_stream.stream is not None
    from_stream = dataclasses.replace(
        from_stream, stream=dataclasses.replace(from_stream.stream, on_failure=destination))
    assert needs(from_stream, "us-east-1", "000000000000")[1:] == found  # after the stream's own
