"""Kafka mappings over TLS against a real broker with TLS listeners (tests/kafka.py's ``kafka_tls``,
its certificates made by the test): records reach the function with the broker verified against
SERVER_ROOT_CA_CERTIFICATE's CA, with mTLS (CLIENT_CERTIFICATE_TLS_AUTH, an encrypted key and its
password), and with SASL over TLS; a wrong CA, a client certificate not given to a listener that
asks for one, and a missing secret are reported in LastProcessingResult with what to fix (never a
key or a password). The tests' own producer uses the broker's PLAINTEXT port. No timing assertions:
every wait polls with a deadline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import certificates
from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_until
from tests.integration.test_kafka_mappings import kafka_mapping, printed, records_of, values
from tests.kafka import USERS, Kafka, create_topic, kafka_tls, produce  # noqa: F401
from tests.mapping_helpers import PRINTER

SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:{}"
CA, WRONG_CA, CLIENT, PLAIN = (SECRET.format(n) for n in ("kafka-ca", "other-ca", "kafka-client", "kafka-plain"))
KEY_PASSWORD = "key-pass-phrase"


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory: pytest.TempPathFactory, kafka_tls: Kafka) -> Path:
    assert kafka_tls.ca is not None and kafka_tls.client is not None
    path = tmp_path_factory.mktemp("secrets") / "secrets.json"
    user, password = USERS["PLAIN"]
    path.write_text(json.dumps({
        CA: {"certificate": kafka_tls.ca.certificate},
        WRONG_CA: {"certificate": certificates.authority("Another CA").certificate},
        CLIENT: {"certificate": kafka_tls.client.chain, "privateKey": kafka_tls.client.encrypted_key(KEY_PASSWORD),
                 "privateKeyPassword": KEY_PASSWORD},
        PLAIN: {"username": user, "password": password},
    }))  # fmt: skip
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[LaminaProcess]:
    started = LaminaProcess(tmp_path_factory.mktemp("lamina"), server_env(LAMINA_SECRETS_FILE=str(secrets_file)))
    yield started.start()
    started.stop()


def result(client: Any, uuid: str) -> str:
    return str(client.get_event_source_mapping(UUID=uuid)["LastProcessingResult"])


def _access(*entries: tuple[str, str]) -> list[dict[str, str]]:
    return [{"Type": t, "URI": u} for t, u in entries]


@pytest.mark.parametrize("listener, access", [
    ("ssl_bootstrap", [("SERVER_ROOT_CA_CERTIFICATE", CA)]),
    ("mtls_bootstrap", [("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT), ("SERVER_ROOT_CA_CERTIFICATE", CA)]),
    ("sasl_ssl_bootstrap", [("BASIC_AUTH", PLAIN), ("SERVER_ROOT_CA_CERTIFICATE", CA)]),
])  # fmt: skip
def test_records_reach_the_function_over_tls(server: LaminaProcess, kafka_tls: Kafka, listener: str,
                                             access: list[tuple[str, str]], fn_name: str) -> None:  # fmt: skip
    client = server.client()
    deploy(client, fn_name, PRINTER)
    create_topic(kafka_tls.bootstrap, fn_name)
    produce(kafka_tls.bootstrap, fn_name, ["one", "two"])
    configurations = _access(*access)
    mapping = kafka_mapping(client, fn_name, getattr(kafka_tls, listener), fn_name,
                            SourceAccessConfigurations=configurations)  # fmt: skip
    assert mapping["SourceAccessConfigurations"] == configurations
    lines = printed(server.endpoint, fn_name, lambda records: len(records) >= 2, timeout=90)
    assert sorted(values(records_of(lines))) == ["one", "two"]
    wait_until(lambda: result(client, mapping["UUID"]) == "OK")
    client.delete_event_source_mapping(UUID=mapping["UUID"])


def _problem(server: LaminaProcess, kafka_tls: Kafka, fn_name: str, bootstrap: str,
             access: list[tuple[str, str]], startswith: str) -> str:  # fmt: skip
    client = server.client()
    deploy(client, fn_name, PRINTER)
    create_topic(kafka_tls.bootstrap, fn_name)
    uuid = kafka_mapping(client, fn_name, bootstrap, fn_name, SourceAccessConfigurations=_access(*access))["UUID"]
    got = wait_until(lambda: result(client, uuid).startswith(startswith) and result(client, uuid), timeout=90)
    assert client.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    client.delete_event_source_mapping(UUID=uuid)
    assert KEY_PASSWORD not in got and "PRIVATE KEY" not in got
    assert not any(KEY_PASSWORD in line for line in server.output)
    return str(got)


def test_a_broker_signed_by_another_ca_is_refused_and_reported(server: LaminaProcess, kafka_tls: Kafka,
                                                               fn_name: str) -> None:  # fmt: skip
    got = _problem(server, kafka_tls, fn_name, kafka_tls.ssl_bootstrap, [("SERVER_ROOT_CA_CERTIFICATE", WRONG_CA)],
                   "PROBLEM: Lamina failed to authenticate server")  # fmt: skip
    assert got == (f"PROBLEM: Lamina failed to authenticate server {kafka_tls.ssl_bootstrap}: certificate verify "
                   "failed: self-signed certificate in certificate chain. Check that the certificate in the secret "
                   f"{WRONG_CA} (SERVER_ROOT_CA_CERTIFICATE) is the root CA that signed the broker's certificate, and "
                   "that the broker's certificate names 127.0.0.1 as a subject alternative name.")  # fmt: skip


def test_a_listener_asking_for_a_client_certificate_refuses_a_mapping_without_one(server: LaminaProcess,
                                                                                  kafka_tls: Kafka, fn_name: str) -> None:  # fmt: skip
    got = _problem(server, kafka_tls, fn_name, kafka_tls.mtls_bootstrap, [("SERVER_ROOT_CA_CERTIFICATE", CA)],
                   "PROBLEM: Server failed to authenticate Lamina")  # fmt: skip
    assert got.endswith("The broker asks for a client certificate: name one in a CLIENT_CERTIFICATE_TLS_AUTH secret.")


def test_a_missing_secret_is_reported_saying_what_to_add(server: LaminaProcess, kafka_tls: Kafka, fn_name: str) -> None:
    missing = SECRET.format(fn_name)
    got = _problem(server, kafka_tls, fn_name, kafka_tls.mtls_bootstrap,
                   [("CLIENT_CERTIFICATE_TLS_AUTH", missing), ("SERVER_ROOT_CA_CERTIFICATE", CA)],
                   f"PROBLEM: The secret {missing}")  # fmt: skip
    assert got == (f"PROBLEM: The secret {missing} is not in LAMINA_SECRETS_FILE: add it to LAMINA_SECRETS_FILE as "
                   f'"{missing}": {{"certificate": ..., "privateKey": ...}} (the file is read again when the mapping '
                   "retries).")  # fmt: skip
