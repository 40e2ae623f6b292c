"""An Amazon MQ for RabbitMQ event source mapping needs its function's execution role to allow
mq:DescribeBroker on the broker, secretsmanager:GetSecretValue on the BASIC_AUTH secret and the EC2
actions an MQ broker's VPC takes, as AWS checks them at CreateEventSourceMapping and at an
UpdateEventSourceMapping that changes the function or the access configurations. A real broker
(tests/rabbitmq.py), a server with root keys (not the development mode), boto3's lambda client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.functions import wait_until
from tests.integration.test_rabbitmq_mappings import ACCESS, BROKER, SECRET, publish, ready
from tests.integration.test_sqs_mapping_roles import APP, client
from tests.rabbitmq import RabbitMQ, rabbitmq  # noqa: F401 (the fixture)
from tests.roles import make_role

ACCT = "000000000000"
ROOT, ROOT_SECRET = "AKIAMQMAPPINGROLES01", "mq-mapping-roles-root-secret-00000000000"
VPC = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
       "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]  # fmt: skip
INVALID = "InvalidParameterValueException"
NO_SECRET = (f"Cannot access secret manager value {SECRET}. Please ensure the role can perform the "
             "'secretsmanager:GetSecretValue' action on your broker in IAM.")  # fmt: skip


def refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_the_execution_role_must_allow_what_an_mq_broker_needs(make_server: Any, rabbitmq: RabbitMQ) -> None:  # noqa: F811
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}",
                         LAMINA_RABBITMQ_BROKERS=f"pizzaBroker={rabbitmq.url()}")  # fmt: skip
    lam = client(server.endpoint, "lambda", ROOT, ROOT_SECRET)

    def role(name: str, statements: list[dict[str, Any]]) -> str:
        return make_role(server.endpoint, name, statements, key=ROOT, secret=ROOT_SECRET)

    deploy(lam, "bare", APP, role=role("bare", []))
    deploy(lam, "describer", APP, role=role("describer", [
        {"Effect": "Allow", "Action": "mq:DescribeBroker", "Resource": BROKER}]))  # fmt: skip
    deploy(lam, "no-vpc", APP, role=role("no-vpc", [
        {"Effect": "Allow", "Action": "mq:DescribeBroker", "Resource": BROKER},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}]))  # fmt: skip
    deploy(lam, "other-secret", APP, role=role("other-secret", [
        {"Effect": "Allow", "Action": "mq:DescribeBroker", "Resource": BROKER},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET + "-other"},
        {"Effect": "Allow", "Action": VPC, "Resource": "*"}]))  # fmt: skip
    deploy(lam, "consumer", APP, role=role("consumer", [
        {"Effect": "Allow", "Action": "mq:DescribeBroker", "Resource": BROKER},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET},
        {"Effect": "Allow", "Action": VPC, "Resource": "*"}]))  # fmt: skip

    def create(function: str, **more: Any) -> dict[str, Any]:
        made: dict[str, Any] = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=BROKER,
                                                               Queues=["roles"], SourceAccessConfigurations=ACCESS,
                                                               **more)  # fmt: skip
        return made

    assert refusal(create, function="bare") == (
        INVALID, "The provided execution role does not have permissions to call DescribeBroker on MQ")
    assert refusal(create, function="describer") == (INVALID, NO_SECRET)
    assert refusal(create, function="other-secret") == (INVALID, NO_SECRET)
    assert refusal(create, function="no-vpc") == (
        INVALID, "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # nothing refused was kept

    # The role that allows it all reads the real broker's queue.
    publish(rabbitmq, "roles", "one", "two")
    uuid = create("consumer")["UUID"]
    wait_until(lambda: ready(rabbitmq, "roles") == 0, timeout=60)
    # Changing the function to one whose role may not is refused the same way...
    assert refusal(lam.update_event_source_mapping, UUID=uuid, FunctionName="describer") == (INVALID, NO_SECRET)
    # ...and so is naming a secret the role may not read.
    other = [{"Type": "BASIC_AUTH", "URI": SECRET + "-other"}, ACCESS[1]]
    assert refusal(lam.update_event_source_mapping, UUID=uuid, SourceAccessConfigurations=other) == (
        INVALID, NO_SECRET.replace(SECRET, SECRET + "-other"))
    assert lam.get_event_source_mapping(UUID=uuid)["FunctionArn"].endswith(":function:consumer")
    assert lam.update_event_source_mapping(UUID=uuid, BatchSize=5)["BatchSize"] == 5  # not checked again
