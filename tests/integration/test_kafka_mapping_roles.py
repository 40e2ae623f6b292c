"""A self-managed Kafka event source mapping needs its function's execution role to allow
secretsmanager:GetSecretValue on each secret its SourceAccessConfigurations name, and the EC2
actions when they name VPC parts, as AWS checks them at CreateEventSourceMapping and at an
UpdateEventSourceMapping that changes the function or the access configurations; a mapping that
names neither needs nothing of the role. A real broker (tests/kafka.py), a server with root keys
(not the development mode), boto3's lambda client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.functions import wait_until
from tests.integration.test_sqs_mapping_roles import APP, client
from tests.kafka import Kafka, committed, create_topic, kafka, produce  # noqa: F401 (the fixture)
from tests.roles import make_role

ACCT = "000000000000"
ROOT, ROOT_SECRET = "AKIAKAFKAMAPPINGROLE", "kafka-mapping-roles-root-secret-00000000"
LOGIN = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:kafka-login"
CA = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:kafka-ca"
VPC = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
       "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]  # fmt: skip
INVALID = "InvalidParameterValueException"


def no_secret(arn: str) -> tuple[str, str]:
    return INVALID, (f"Cannot access secret manager value {arn}. Please ensure the role can perform the "
                     "'secretsmanager:GetSecretValue' action on your broker in IAM.")  # fmt: skip


def refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_the_execution_role_must_allow_the_secrets_and_vpc_a_kafka_mapping_names(make_server: Any,
                                                                                   kafka: Kafka) -> None:  # noqa: F811
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT}")
    lam = client(server.endpoint, "lambda", ROOT, ROOT_SECRET)

    def role(name: str, statements: list[dict[str, Any]]) -> str:
        return make_role(server.endpoint, name, statements, key=ROOT, secret=ROOT_SECRET)

    deploy(lam, "bare", APP, role=role("bare", []))
    deploy(lam, "login-only", APP, role=role("login-only", [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": LOGIN}]))  # fmt: skip
    deploy(lam, "secrets", APP, role=role("secrets", [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [LOGIN, CA]},
        {"Effect": "Allow", "Action": VPC, "Resource": "*"}]))  # fmt: skip

    def create(function: str, topic: str, *access: tuple[str, str], **more: Any) -> dict[str, Any]:
        made: dict[str, Any] = lam.create_event_source_mapping(
            FunctionName=function, Topics=[topic], StartingPosition="TRIM_HORIZON",
            SelfManagedEventSource={"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": [kafka.bootstrap]}},
            SourceAccessConfigurations=[{"Type": t, "URI": u} for t, u in access], **more)  # fmt: skip
        return made

    sasl, ca, subnet = ("SASL_SCRAM_512_AUTH", LOGIN), ("SERVER_ROOT_CA_CERTIFICATE", CA), ("VPC_SUBNET", "subnet:s-1")
    assert refusal(lambda: create("bare", "t1", sasl)) == no_secret(LOGIN)
    assert refusal(lambda: create("login-only", "t1", sasl, ca)) == no_secret(CA)
    assert refusal(lambda: create("login-only", "t1", sasl, subnet)) == (
        INVALID, "The provided execution role does not have permissions to call CreateNetworkInterface on EC2")
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []  # nothing refused was kept
    allowed = create("secrets", "t1", sasl, ca, subnet, Enabled=False)
    assert allowed["SourceAccessConfigurations"][0] == {"Type": "SASL_SCRAM_512_AUTH", "URI": LOGIN}

    # Naming neither needs nothing of the role: a bare role's mapping reads the real broker's topic.
    create_topic(kafka.bootstrap, "roles-open")
    produce(kafka.bootstrap, "roles-open", ["one", "two"])
    uuid = create("bare", "roles-open")["UUID"]
    wait_until(lambda: committed(kafka.bootstrap, uuid, "roles-open") == {0: 2}, timeout=60)
    # Naming a secret the function's role may not read, by update, is refused...
    assert refusal(lam.update_event_source_mapping, UUID=uuid,
                   SourceAccessConfigurations=[{"Type": "SASL_SCRAM_512_AUTH", "URI": LOGIN}]) == no_secret(LOGIN)  # fmt: skip
    # ...and so is changing the function of a mapping that names one to a function whose role may not.
    assert refusal(lam.update_event_source_mapping, UUID=allowed["UUID"], FunctionName="login-only") == no_secret(CA)
    assert lam.get_event_source_mapping(UUID=allowed["UUID"])["FunctionArn"].endswith(":function:secrets")
