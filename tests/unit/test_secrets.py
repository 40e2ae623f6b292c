"""The secrets file (lamina/secrets.py), the SASL SourceAccessConfigurations of a Kafka mapping
(mappings/kafka/options.py) and the SASL settings taken from the file (mappings/kafka/auth.py):
plain values, and files under tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lamina import secrets
from lamina.errors import InvalidParameterValue
from lamina.mappings.kafka import auth, options
from lamina.mappings.source import SourceUnavailable
from lamina.settings import Settings

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:kafka-user"


def test_a_secret_of_username_and_password_is_credentials() -> None:
    found = secrets.parse(json.dumps({ARN: {"username": "alice", "password": "s3cret"}, "other": "plain"}))
    assert ARN in found and "missing" not in found
    assert found.credentials(ARN) == secrets.Credentials("alice", "s3cret")
    assert found.credentials("other") is None and found.credentials("missing") is None
    assert "s3cret" not in repr(found) and "s3cret" not in repr(found.credentials(ARN))


def test_a_secret_string_holding_json_is_read_as_secrets_manager_holds_it() -> None:
    found = secrets.parse(json.dumps({ARN: json.dumps({"username": "bob", "password": "pw"})}))
    assert found.credentials(ARN) == secrets.Credentials("bob", "pw")


@pytest.mark.parametrize("text, message", [
    ("{nope", "is not valid JSON"),
    ("[]", "must be a JSON object"),
    (json.dumps({ARN: 3}), f"the value of {ARN} must be a JSON object"),
])  # fmt: skip
def test_what_is_not_a_json_object_of_secrets_is_refused(text: str, message: str) -> None:
    with pytest.raises(secrets.SecretsFileError, match=message):
        secrets.parse(text)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_file_only_its_owner_reads_is_loaded(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({ARN: {"username": "u", "password": "p"}}))
    path.chmod(mode)
    assert secrets.load(path).credentials(ARN) == secrets.Credentials("u", "p")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_may_read_is_refused_saying_how_to_fix_it(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    path.chmod(mode)
    with pytest.raises(secrets.SecretsFileError, match=f"mode {mode:04o}.*0600 or 0400.*chmod 600"):
        secrets.load(path)


def test_settings_check_the_file_at_start(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    path.chmod(0o600)
    assert Settings.from_env({"LAMINA_SECRETS_FILE": str(path)}).secrets_file == path
    path.chmod(0o644)
    with pytest.raises(secrets.SecretsFileError, match="readable by others"):
        Settings.from_env({"LAMINA_SECRETS_FILE": str(path)})
    with pytest.raises(secrets.SecretsFileError, match="cannot be read"):
        Settings.from_env({"LAMINA_SECRETS_FILE": str(tmp_path / "absent.json")})


def _access(*entries: tuple[str, str]) -> options.KafkaOptions:
    body = {"Topics": ["orders"], "StartingPosition": "LATEST",
            "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["127.0.0.1:9092"]}},
            "SourceAccessConfigurations": [{"Type": t, "URI": u} for t, u in entries]}  # fmt: skip
    return options.parse(body, "uuid", window_given=False)


@pytest.mark.parametrize("kind, mechanism", [
    ("BASIC_AUTH", "PLAIN"), ("SASL_SCRAM_256_AUTH", "SCRAM-SHA-256"), ("SASL_SCRAM_512_AUTH", "SCRAM-SHA-512"),
])  # fmt: skip
def test_a_sasl_access_configuration_names_the_mechanism_and_the_secret(kind: str, mechanism: str) -> None:
    parsed = _access(("VPC_SUBNET", "subnet:subnet-1"), (kind, ARN))
    assert parsed.sasl == (mechanism, ARN)
    assert options.KafkaOptions.from_doc(parsed.doc()) == parsed
    assert parsed.document()["SourceAccessConfigurations"] == [
        {"Type": "VPC_SUBNET", "URI": "subnet:subnet-1"}, {"Type": kind, "URI": ARN}]
    assert _access(("VPC_SUBNET", "subnet:subnet-1")).sasl is None


@pytest.mark.parametrize("entries, message", [
    ((("BASIC_AUTH", ARN), ("SASL_SCRAM_512_AUTH", ARN)), "only one authentication method"),
    ((("BASIC_AUTH", "not-an-arn"),), "Invalid BASIC_AUTH URI not-an-arn"),
    ((("CLIENT_CERTIFICATE_TLS_AUTH", ARN), ("BASIC_AUTH", ARN)), "only one authentication method"),
    ((("SERVER_ROOT_CA_CERTIFICATE", ARN), ("SERVER_ROOT_CA_CERTIFICATE", ARN)), "only one SERVER_ROOT_CA_CERTIFICATE"),
    ((("SERVER_ROOT_CA_CERTIFICATE", "nope"),), "Invalid SERVER_ROOT_CA_CERTIFICATE URI nope"),
    ((("VIRTUAL_HOST", "/"),), "Invalid SourceAccessConfiguration type VIRTUAL_HOST"),
])  # fmt: skip
def test_access_configurations_lamina_cannot_use_are_refused(entries: tuple[tuple[str, str], ...],
                                                             message: str) -> None:  # fmt: skip
    with pytest.raises(InvalidParameterValue, match=message):
        _access(*entries)


def test_a_mapping_without_a_sasl_secret_connects_without_authentication(tmp_path: Path) -> None:
    assert auth.sasl_settings(_access(("VPC_SUBNET", "subnet:subnet-1")), None) == {}


def test_the_sasl_settings_come_from_the_file_as_it_is_now(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    path.chmod(0o600)
    mapping = _access(("SASL_SCRAM_256_AUTH", ARN))
    with pytest.raises(SourceUnavailable) as missing:
        auth.sasl_settings(mapping, path)
    assert str(missing.value) == (f"The secret {ARN} is not in LAMINA_SECRETS_FILE: add it to LAMINA_SECRETS_FILE "
                                  f'as "{ARN}": {{"username": ..., "password": ...}} (the file is read again when '
                                  "the mapping retries).")  # fmt: skip
    path.write_text(json.dumps({ARN: {"username": "u", "password": "p"}}))
    assert auth.sasl_settings(mapping, path) == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-256",
                                                 "sasl_plain_username": "u", "sasl_plain_password": "p"}  # fmt: skip


@pytest.mark.parametrize("content, mode, message", [
    (None, None, "Lamina was started without LAMINA_SECRETS_FILE"),
    ({ARN: {"username": "u"}}, 0o600, "has no string username and password"),
    ({ARN: {"username": "u", "password": "p"}}, 0o644, "readable by others"),
])  # fmt: skip
def test_a_secret_that_cannot_be_used_says_why_without_the_password(tmp_path: Path, content: object,
                                                                   mode: int | None, message: str) -> None:  # fmt: skip
    path = tmp_path / "secrets.json"
    if content is not None and mode is not None:
        path.write_text(json.dumps(content))
        path.chmod(mode)
    with pytest.raises(SourceUnavailable, match=message) as raised:
        auth.sasl_settings(_access(("BASIC_AUTH", ARN)), path if content is not None else None)
    assert '"p"' not in str(raised.value)
