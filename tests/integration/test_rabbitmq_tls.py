"""RabbitMQ mappings (Amazon MQ's role) reading an amqps:// broker, with the BASIC_AUTH secret's
credentials from LAMINA_SECRETS_FILE, against a real node with a TLS listener (tests/rabbitmq.py's
``rabbitmq_tls``, its certificates made by the test): messages reach the function, the broker
verified against LAMINA_RABBITMQ_CA_FILE; a secret missing from the file is reported until it is
added, a wrong password is reported naming the secret (never the password), and a server without
the CA reports the broker's certificate not trusted. No timing assertions: every wait polls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_until
from tests.integration.test_rabbitmq_mappings import PRINTER, bodies, printed, publish
from tests.rabbitmq import PASSWORD, USER, VHOST, RabbitMQ, rabbitmq_tls  # noqa: F401 (the fixture)

BROKER = "arn:aws:mq:us-east-1:000000000000:broker:tlsBroker:b-5671"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:{}"
GOOD, WRONG = SECRET.format("rmq-user"), SECRET.format("rmq-wrong")


def _write(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content))
    path.chmod(0o600)


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.json"
    _write(path, {GOOD: {"username": USER, "password": PASSWORD},
                  WRONG: {"username": USER, "password": "not-the-password"}})  # fmt: skip
    return path


def _server(directory: Path, node: RabbitMQ, secrets_file: Path, *, ca: bool) -> LaminaProcess:
    env = {"LAMINA_RABBITMQ_BROKERS": f"tlsBroker={node.tls_url(credentials=False)}",
           "LAMINA_SECRETS_FILE": str(secrets_file)}  # fmt: skip
    if ca:
        assert node.ca is not None
        (directory / "ca.pem").write_text(node.ca.certificate)
        env["LAMINA_RABBITMQ_CA_FILE"] = str(directory / "ca.pem")
    return LaminaProcess(directory / "data", server_env(**env)).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, rabbitmq_tls: RabbitMQ,  # noqa: F811
           secrets_file: Path) -> Iterator[LaminaProcess]:  # fmt: skip
    started = _server(tmp_path_factory.mktemp("lamina-rmq-tls"), rabbitmq_tls, secrets_file, ca=True)
    yield started
    started.stop()


def _mapping(server: LaminaProcess, fn: str, secret: str) -> str:
    made = server.client().create_event_source_mapping(
        FunctionName=fn, EventSourceArn=BROKER, Queues=[fn],
        SourceAccessConfigurations=[{"Type": "BASIC_AUTH", "URI": secret}, {"Type": "VIRTUAL_HOST", "URI": VHOST}])
    return str(made["UUID"])


def result(server: LaminaProcess, uuid: str) -> str:
    return str(server.client().get_event_source_mapping(UUID=uuid)["LastProcessingResult"])


def test_messages_reach_the_function_over_tls_with_the_secrets_credentials(
        server: LaminaProcess, rabbitmq_tls: RabbitMQ, fn_name: str) -> None:  # noqa: F811  # fmt: skip
    deploy(server.client(), fn_name, PRINTER)
    publish(rabbitmq_tls, fn_name, "one", "two")
    uuid = _mapping(server, fn_name, GOOD)
    assert sorted(bodies(printed(server.endpoint, fn_name, 2))) == ["one", "two"]
    wait_until(lambda: result(server, uuid) == "OK")
    server.client().delete_event_source_mapping(UUID=uuid)


def test_a_secret_not_in_the_file_is_reported_until_it_is_added(server: LaminaProcess, rabbitmq_tls: RabbitMQ,  # noqa: F811
                                                                secrets_file: Path, fn_name: str) -> None:  # fmt: skip
    deploy(server.client(), fn_name, PRINTER)
    publish(rabbitmq_tls, fn_name, "late")
    arn = SECRET.format(fn_name)
    uuid = _mapping(server, fn_name, arn)
    got = wait_until(lambda: "LAMINA_SECRETS_FILE" in result(server, uuid) and result(server, uuid), timeout=60)
    assert got == (f"PROBLEM: The secret {arn} is not in LAMINA_SECRETS_FILE: add it to LAMINA_SECRETS_FILE as "
                   f'"{arn}": {{"username": ..., "password": ...}} (the file is read again when the mapping '
                   "retries), or put the broker's user and password in its LAMINA_RABBITMQ_BROKERS URL.")  # fmt: skip
    _write(secrets_file, {**json.loads(secrets_file.read_text()), arn: {"username": USER, "password": PASSWORD}})
    assert bodies(printed(server.endpoint, fn_name, 1, timeout=90)) == ["late"]
    server.client().delete_event_source_mapping(UUID=uuid)


def test_a_password_the_broker_refuses_is_reported_naming_the_secret(server: LaminaProcess, rabbitmq_tls: RabbitMQ,  # noqa: F811
                                                                     fn_name: str) -> None:  # fmt: skip
    deploy(server.client(), fn_name, PRINTER)
    publish(rabbitmq_tls, fn_name, "x")
    uuid = _mapping(server, fn_name, WRONG)
    got = wait_until(lambda: "Please check the username" in result(server, uuid) and result(server, uuid), timeout=60)
    assert got.startswith("PROBLEM: Connection error.") and "ACCESS_REFUSED" in got
    assert got.endswith(f"Please check the username and password in the secret {WRONG}.")
    assert "not-the-password" not in got and not any("not-the-password" in line for line in server.output)
    server.client().delete_event_source_mapping(UUID=uuid)


def test_a_broker_whose_ca_lamina_does_not_trust_is_reported(tmp_path: Path, rabbitmq_tls: RabbitMQ,  # noqa: F811
                                                             secrets_file: Path, fn_name: str) -> None:  # fmt: skip
    untrusting = _server(tmp_path, rabbitmq_tls, secrets_file, ca=False)
    try:
        deploy(untrusting.client(), fn_name, PRINTER)
        publish(rabbitmq_tls, fn_name, "x")
        uuid = _mapping(untrusting, fn_name, GOOD)
        got = wait_until(lambda: "not trusted" in result(untrusting, uuid) and result(untrusting, uuid), timeout=60)
        assert got == (f"PROBLEM: The broker at amqps://127.0.0.1:{rabbitmq_tls.tls_port}/%2F is not "
                       "trusted: certificate verify failed: self-signed certificate in certificate chain. Set "
                       "LAMINA_RABBITMQ_CA_FILE to the CA that signed its certificate (else the system's CAs are "
                       "used); the certificate must name 127.0.0.1 as a subject alternative name.")  # fmt: skip
    finally:
        untrusting.stop()
