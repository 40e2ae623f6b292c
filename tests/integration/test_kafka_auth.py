"""Kafka mappings that authenticate (SASL/PLAIN as BASIC_AUTH, SASL/SCRAM-SHA-256 and -512) with
secrets from LAMINA_SECRETS_FILE, against a real broker taking SASL (tests/kafka.py's
``kafka_sasl``): records reach the function with each mechanism; a wrong password and a secret not
in the file are reported in LastProcessingResult (never the password), the latter cured by adding
it to the file; a secrets file others may read stops the server at start. The tests' own producer
uses the broker's PLAINTEXT port. No timing assertions: every wait polls with a deadline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_until
from tests.integration.test_kafka_mappings import kafka_mapping, printed, records_of, values
from tests.kafka import USERS, Kafka, create_topic, kafka_sasl, produce  # noqa: F401
from tests.mapping_helpers import PRINTER

SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:{}"
ACCESS = {"PLAIN": "BASIC_AUTH", "SCRAM-SHA-256": "SASL_SCRAM_256_AUTH", "SCRAM-SHA-512": "SASL_SCRAM_512_AUTH"}


def write_secrets(path: Path, secrets: dict[str, Any]) -> None:
    path.write_text(json.dumps(secrets))
    path.chmod(0o600)


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.json"
    found: dict[str, Any] = {SECRET.format(m): {"username": u, "password": p} for m, (u, p) in USERS.items()}
    found[SECRET.format("wrong")] = {"username": USERS["SCRAM-SHA-512"][0], "password": "not-the-password"}
    write_secrets(path, found)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[LaminaProcess]:
    started = LaminaProcess(tmp_path_factory.mktemp("lamina"), server_env(LAMINA_SECRETS_FILE=str(secrets_file)))
    yield started.start()
    started.stop()


def result(client: Any, uuid: str) -> str:
    return str(client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"])


@pytest.mark.parametrize("mechanism", list(USERS))
def test_records_reach_the_function_through_each_sasl_mechanism(server: LaminaProcess, kafka_sasl: Kafka,
                                                                mechanism: str, fn_name: str) -> None:  # fmt: skip
    client = server.client()
    deploy(client, fn_name, PRINTER)
    create_topic(kafka_sasl.bootstrap, fn_name)
    produce(kafka_sasl.bootstrap, fn_name, ["one", "two"])
    access = [{"Type": ACCESS[mechanism], "URI": SECRET.format(mechanism)}]
    mapping = kafka_mapping(client, fn_name, kafka_sasl.sasl_bootstrap, fn_name, SourceAccessConfigurations=access)
    assert mapping["SourceAccessConfigurations"] == access
    lines = printed(server.endpoint, fn_name, lambda records: len(records) >= 2)
    assert sorted(values(records_of(lines))) == ["one", "two"]
    wait_until(lambda: result(client, mapping["UUID"]) == "OK")
    client.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_wrong_password_is_reported_as_sasl_authentication_failed(server: LaminaProcess, kafka_sasl: Kafka,
                                                                     fn_name: str) -> None:  # fmt: skip
    client = server.client()
    deploy(client, fn_name, PRINTER)
    create_topic(kafka_sasl.bootstrap, fn_name)
    access = [{"Type": "SASL_SCRAM_512_AUTH", "URI": SECRET.format("wrong")}]
    uuid = kafka_mapping(client, fn_name, kafka_sasl.sasl_bootstrap, fn_name, SourceAccessConfigurations=access)["UUID"]
    got = wait_until(lambda: result(client, uuid).startswith("PROBLEM: SASL authentication failed") and result(client, uuid),
                     timeout=90)  # fmt: skip
    assert SECRET.format("wrong") in got and "not-the-password" not in got
    assert client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    assert not any("not-the-password" in line for line in server.output)
    client.delete_event_source_mapping(UUID=uuid)


def test_a_secret_not_in_the_file_is_reported_until_it_is_added(server: LaminaProcess, kafka_sasl: Kafka,
                                                                 secrets_file: Path, fn_name: str) -> None:  # fmt: skip
    client = server.client()
    deploy(client, fn_name, PRINTER)
    create_topic(kafka_sasl.bootstrap, fn_name)
    produce(kafka_sasl.bootstrap, fn_name, ["late"])
    arn = SECRET.format(fn_name)
    access = [{"Type": "BASIC_AUTH", "URI": arn}]
    mapping = kafka_mapping(client, fn_name, kafka_sasl.sasl_bootstrap, fn_name, SourceAccessConfigurations=access)
    assert mapping["State"] == "Creating"
    got = wait_until(lambda: "LAMINA_SECRETS_FILE" in result(client, mapping["UUID"]) and result(client, mapping["UUID"]),
                     timeout=60)  # fmt: skip
    assert got == (f"PROBLEM: The secret {arn} is not in LAMINA_SECRETS_FILE: add it to LAMINA_SECRETS_FILE as "
                   f'"{arn}": {{"username": ..., "password": ...}} (the file is read again when the mapping '
                   "retries).")  # fmt: skip
    # Added to the file: the mapping's next try reads it, no restart.
    found = json.loads(secrets_file.read_text())
    user, password = USERS["PLAIN"]
    write_secrets(secrets_file, {**found, arn: {"username": user, "password": password}})
    lines = printed(server.endpoint, fn_name, lambda records: len(records) >= 1, timeout=90)
    assert values(records_of(lines)) == ["late"]
    client.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_secrets_file_others_may_read_stops_the_server_at_start(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    path.chmod(0o644)
    refused = LaminaProcess(tmp_path / "data", server_env(LAMINA_SECRETS_FILE=str(path)))
    with pytest.raises(RuntimeError) as raised:
        refused.start()
    assert f"LAMINA_SECRETS_FILE {path} is readable by others (mode 0644)" in str(raised.value)
    assert "0600 or 0400" in str(raised.value) and "Traceback" not in str(raised.value)
    assert refused.proc is not None and refused.proc.returncode == 2
