"""A Kafka mapping over TLS, without a broker: the security protocol its access configurations come
to (mappings/kafka/options.py), the TLS context made from its secrets (mappings/kafka/auth.py,
tls.py) and what a failed handshake is reported as; certificates made here (tests/certificates.py),
secrets files under tmp_path. No key or password ever appears in what is reported."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from lamina.mappings.kafka import auth, options, tls
from lamina.mappings.source import SourceUnavailable
from lamina.secrets import ClientCertificate
from tests import certificates

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:{}"
CA, CLIENT = ARN.format("ca"), ARN.format("client")


def _options(*entries: tuple[str, str]) -> options.KafkaOptions:
    body = {"Topics": ["orders"], "StartingPosition": "LATEST",
            "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["127.0.0.1:9093"]}},
            "SourceAccessConfigurations": [{"Type": t, "URI": u} for t, u in entries]}  # fmt: skip
    return options.parse(body, "uuid", window_given=False)


@pytest.mark.parametrize("entries, protocol", [
    ((), "PLAINTEXT"),
    ((("BASIC_AUTH", CLIENT),), "SASL_PLAINTEXT"),
    ((("SERVER_ROOT_CA_CERTIFICATE", CA),), "SSL"),
    ((("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT),), "SSL"),
    ((("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT), ("SERVER_ROOT_CA_CERTIFICATE", CA)), "SSL"),
    ((("SASL_SCRAM_512_AUTH", CLIENT), ("SERVER_ROOT_CA_CERTIFICATE", CA)), "SASL_SSL"),
])  # fmt: skip
def test_the_access_configurations_decide_the_security_protocol(entries: tuple[tuple[str, str], ...],
                                                                protocol: str) -> None:  # fmt: skip
    parsed = _options(*entries)
    assert parsed.security_protocol == protocol
    assert options.KafkaOptions.from_doc(parsed.doc()) == parsed


@pytest.fixture(scope="module")
def ca() -> certificates.Issued:
    return certificates.authority()


@pytest.fixture(scope="module")
def client(ca: certificates.Issued) -> certificates.Issued:
    return certificates.issue(ca, "client", server=False)


def _secrets(tmp_path: Path, content: dict[str, object]) -> Path:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(content))
    path.chmod(0o600)
    return path


def test_a_root_ca_and_a_client_certificate_make_a_verifying_context(tmp_path: Path, ca: certificates.Issued,
                                                                    client: certificates.Issued) -> None:  # fmt: skip
    path = _secrets(tmp_path, {CA: {"certificate": ca.certificate},
                               CLIENT: {"certificate": client.chain, "privateKey": client.encrypted_key("pw"),
                                        "privateKeyPassword": "pw"}})  # fmt: skip
    mapping = _options(("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT), ("SERVER_ROOT_CA_CERTIFICATE", CA))
    found = auth.settings(mapping, path)
    context = found["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and found["security_protocol"] == "SSL"
    assert context.check_hostname and context.verify_mode is ssl.CERT_REQUIRED
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "Lamina test CA"),),)]
    assert list(tmp_path.iterdir()) == [path]  # the key was never written beside it
    assert auth.settings(_options(), None) == {"security_protocol": "PLAINTEXT"}


@pytest.mark.parametrize("content, message", [
    ({}, f"The secret {CLIENT} is not in LAMINA_SECRETS_FILE: add it to LAMINA_SECRETS_FILE as \"{CLIENT}\": "
         '{"certificate": ..., "privateKey": ...} (the file is read again when the mapping retries).'),
    ({CLIENT: {"certificate": "x"}}, f"The secret {CLIENT} in LAMINA_SECRETS_FILE has no certificate and privateKey"),
    ({CLIENT: {"certificate": "not pem", "privateKey": "KEY"}},
     "Provided certificate or private key is invalid. Please check the certificate and privateKey in the secret "
     f"{CLIENT}: the certificate field holds no PEM certificate"),
    ({CLIENT: {"certificate": "CHAIN", "privateKey": "KEY-ENCRYPTED"}}, "the private key is encrypted and the secret has no "
     "privateKeyPassword"),
    ({CLIENT: {"certificate": "CHAIN", "privateKey": "KEY-ENCRYPTED", "privateKeyPassword": "wrong-pw"}},
     "the privateKeyPassword does not decrypt the private key"),
    ({CLIENT: {"certificate": "CHAIN", "privateKey": "OTHER-KEY"}}, "the private key is not the certificate's"),
    ({CLIENT: {"certificate": "CHAIN", "privateKey": "garbage"}}, "the privateKey is not a PEM private key"),
])  # fmt: skip
def test_a_client_certificate_that_cannot_be_used_says_why_without_the_key(
        tmp_path: Path, client: certificates.Issued, ca: certificates.Issued, content: dict[str, dict[str, str]],
        message: str) -> None:  # fmt: skip
    other = certificates.issue(ca, "other", server=False)
    values = {"CHAIN": client.chain, "KEY": client.key, "KEY-ENCRYPTED": client.encrypted_key("right-pw"),
              "OTHER-KEY": other.key}  # fmt: skip
    filled = {arn: {k: values.get(v, v) for k, v in fields.items()} for arn, fields in content.items()}
    with pytest.raises(SourceUnavailable) as raised:
        auth.settings(_options(("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT)), _secrets(tmp_path, filled))
    assert message in str(raised.value)
    for secret in ("right-pw", "wrong-pw", client.key.splitlines()[1], values["KEY-ENCRYPTED"].splitlines()[1]):
        assert secret not in str(raised.value)


@pytest.mark.parametrize("content, message", [
    ({CA: {"username": "u", "password": "p"}}, f"The secret {CA} in LAMINA_SECRETS_FILE has no certificate: "
                                               "SERVER_ROOT_CA_CERTIFICATE's secret holds"),
    ({CA: {"certificate": "nope"}}, f"The certificate in the secret {CA} is not a PEM CA certificate: it holds no PEM "
                                    "certificate"),
])  # fmt: skip
def test_a_root_ca_that_cannot_be_used_says_why(tmp_path: Path, content: dict[str, object], message: str) -> None:
    with pytest.raises(SourceUnavailable, match=message):
        auth.settings(_options(("SERVER_ROOT_CA_CERTIFICATE", CA)), _secrets(tmp_path, content))


def test_the_key_is_loaded_from_memory() -> None:
    with tls._private_file(b"data") as path:
        assert path.startswith("/proc/self/fd/") and Path(path).read_bytes() == b"data"


def _verify_error(message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = message
    return error


def _alert(reason: str) -> OSError:
    error = ssl.SSLError(1, reason)
    error.reason = reason
    wrapped = OSError("Connection at 127.0.0.1:9093 closed")
    wrapped.__cause__ = error
    return wrapped


def test_a_failed_handshake_says_which_side_refused_and_what_to_fix() -> None:
    root = _options(("SERVER_ROOT_CA_CERTIFICATE", CA))
    untrusted = auth.tls_problem(root, "127.0.0.1:9093", _verify_error("self-signed certificate in certificate chain"))
    assert untrusted == (
        "Lamina failed to authenticate server 127.0.0.1:9093: certificate verify failed: self-signed certificate in "
        f"certificate chain. Check that the certificate in the secret {CA} (SERVER_ROOT_CA_CERTIFICATE) is the root "
        "CA that signed the broker's certificate, and that the broker's certificate names 127.0.0.1 as a subject "
        "alternative name.")  # fmt: skip
    assert "SERVER_ROOT_CA_CERTIFICATE secret" in str(auth.tls_problem(_options(("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT)),
                                                                        "h:1", _verify_error("x")))  # fmt: skip
    refused = auth.tls_problem(root, "127.0.0.1:9093", _alert("SSLV3_ALERT_BAD_CERTIFICATE"))
    assert refused == ("Server failed to authenticate Lamina: 127.0.0.1:9093 refused the TLS handshake (sslv3 alert "
                       "bad certificate). The broker asks for a client certificate: name one in a "
                       "CLIENT_CERTIFICATE_TLS_AUTH secret.")  # fmt: skip
    mtls = _options(("CLIENT_CERTIFICATE_TLS_AUTH", CLIENT))
    assert f"Check the certificate in the secret {CLIENT}" in str(auth.tls_problem(mtls, "h:1", _alert("X_ALERT_Y")))
    assert "is it a TLS listener?" in str(auth.tls_problem(root, "h:1", ConnectionResetError()))
    assert auth.tls_problem(root, "h:1", ConnectionRefusedError()) is None
    assert auth.tls_problem(_options(), "h:1", _verify_error("x")) is None
