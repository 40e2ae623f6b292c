"""HTTPS beside HTTP (lamina/tls) against a real server: boto3 over TLS, trusting Lamina's local CA,
invokes a function (the front door's path) and puts and gets objects; a client that does not trust
the CA refuses it by its own verification; the certificate names every host Lamina routes by, and
TLS before 1.2 is refused; plain HTTP on the TLS port and a handshake on the HTTP port fail without
harming the server; ``aws:SecureTransport`` is true over TLS alone, in bucket and identity policies
both; an operator's certificate is served instead of the local CA's; a key others may read, one
that cannot be read and half a pair stop the server at start, saying why."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError

from tests.conftest import ROOT, LaminaProcess, deploy, server_env
from tests.integration.test_accounts import ACCOUNT_A, KEY_A, KEYS, SECRET_A, client, role
from tests.objects import bucket_name

ECHO = "def handler(event, context):\n    return {'said': event}\n"


def https_of(server: LaminaProcess) -> str:
    """The TLS listener's address, as the server printed it (just after its HTTP one)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in list(server.output):
            if line.startswith("Lamina listening on https://"):
                return line.split()[-1]
        time.sleep(0.05)
    raise AssertionError("no TLS listener:\n" + "".join(server.output))


def ca_of(server: LaminaProcess) -> Path:
    """The local CA's certificate, as the server said to trust it (the line after its TLS address,
    which the test's reader of its output may not have read yet)."""
    https_of(server)
    deadline = time.monotonic() + 30
    while not (said := [line for line in list(server.output) if "AWS_CA_BUNDLE=" in line]):
        assert time.monotonic() < deadline, "".join(server.output)
        time.sleep(0.05)
    return Path(said[0].rsplit("AWS_CA_BUNDLE=", 1)[1].strip())


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def tls_client(service: str, server: LaminaProcess, *, verify: Any = None, key: str = KEY_A,
               secret: str = SECRET_A) -> Any:  # fmt: skip
    """A boto3 client of ``service`` over HTTPS at ``localhost`` (the name the certificate lists)."""
    endpoint = https_of(server).replace("127.0.0.1", "localhost")
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, verify=str(ca_of(server)) if verify is None else verify,
                        config=Config(retries={"max_attempts": 0}))  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A, LAMINA_TLS_PORT="0")
    process = LaminaProcess(tmp_path_factory.mktemp("tls"), env).start()
    yield process
    process.stop()
    assert "Traceback" not in "".join(process.output), "".join(process.output)


def test_boto3_over_https_invokes_and_puts_and_gets(server: LaminaProcess) -> None:
    lam = tls_client("lambda", server)
    deploy(lam, "echo-tls", ECHO, role=role(server.endpoint, ACCOUNT_A))
    for n in range(3):  # one connection, kept: the front door answers each over TLS
        answer = lam.invoke(FunctionName="echo-tls", Payload=json.dumps({"n": n}))
        assert answer["StatusCode"] == 200 and json.loads(answer["Payload"].read()) == {"said": {"n": n}}
    s3, name = tls_client("s3", server), bucket_name("tls")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="over/tls", Body=b"sealed")
    assert s3.get_object(Bucket=name, Key="over/tls")["Body"].read() == b"sealed"
    # The same server, the same state, over plain HTTP.
    plain = client("s3", server.endpoint, ACCOUNT_A)
    assert plain.get_object(Bucket=name, Key="over/tls")["Body"].read() == b"sealed"
    assert "echo-tls" in [f["FunctionName"] for f in client("lambda", server.endpoint, ACCOUNT_A).list_functions()["Functions"]]


def test_a_client_that_does_not_trust_the_ca_refuses_it(server: LaminaProcess, tmp_path: Path) -> None:
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        tls_client("lambda", server, verify=True).list_functions()  # the system's CAs
    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "k.pem"), "-out", str(other), "-days", "2", "-subj", "/CN=other"],
                   check=True, capture_output=True)  # fmt: skip
    with pytest.raises(SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        tls_client("s3", server, verify=str(other)).list_buckets()
    assert tls_client("s3", server).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def handshake(port: int, name: str, context: ssl.SSLContext) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=name) as secured:
            return str(secured.version())


def test_the_certificate_names_every_host_lamina_routes_by_and_old_tls_is_refused(server: LaminaProcess) -> None:
    port, trusting = port_of(https_of(server)), ssl.create_default_context(cafile=str(ca_of(server)))
    for name in ("localhost", "127.0.0.1", "s3.localhost", "my-bucket.s3.localhost", "a1b2c3d4e5.execute-api.localhost",
                 "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.localhost",
                 "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.localhost"):  # fmt: skip
        assert handshake(port, name, trusting) in ("TLSv1.2", "TLSv1.3"), name
    for name in ("example.com", "a.b.s3.localhost", "x.lambda-url.nowhere-1.localhost"):
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            handshake(port, name, trusting)
    tls12 = ssl.create_default_context(cafile=str(ca_of(server)))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    assert handshake(port, "localhost", tls12) == "TLSv1.2"
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    with warnings.catch_warnings():  # deprecated: what this client is here to offer
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises(ssl.SSLError) as refused:
        handshake(port, "localhost", old)
    # The server hung up (or alerted): this client did offer TLS 1.1, and the same client offering
    # up to 1.2 is served.
    assert isinstance(refused.value, ssl.SSLEOFError) or "ALERT_PROTOCOL_VERSION" in str(refused.value), refused.value
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    assert handshake(port, "localhost", old) == "TLSv1.2"


def client_hello(context: ssl.SSLContext) -> bytes:
    """The first bytes a TLS client sends."""
    sent = ssl.MemoryBIO()
    session = context.wrap_bio(ssl.MemoryBIO(), sent, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        session.do_handshake()
    return sent.read()


def exchange(port: int, data: bytes) -> bytes:
    """What the server answers ``data`` with, until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(data)
        received = b""
        while chunk := raw.recv(65536):
            received += chunk
        return received


def test_plain_http_to_the_tls_port_and_tls_to_the_http_port_fail_cleanly(server: LaminaProcess) -> None:
    tls_port, http_port = port_of(https_of(server)), port_of(server.endpoint)
    for _ in range(3):
        received = exchange(tls_port, b"GET /2015-03-31/functions HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert not received.startswith(b"HTTP/"), received  # closed at the handshake, nothing served
        insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        with pytest.raises(ssl.SSLError):
            handshake(http_port, "localhost", insecure)
        assert b"Received HTTPS traffic on an HTTP port" in exchange(http_port, client_hello(insecure))
        assert not exchange(tls_port, b"\x16\x03\x01\x02\x00" + os.urandom(512)).startswith(b"HTTP/")  # noise
    # Both listeners still serve.
    assert server.proc is not None and server.proc.poll() is None
    assert tls_client("lambda", server).list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client("lambda", server.endpoint, ACCOUNT_A).list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_secure_transport_is_true_over_tls_alone(server: LaminaProcess) -> None:
    name = bucket_name("tls-only")
    owner = client("s3", server.endpoint, ACCOUNT_A)
    owner.create_bucket(Bucket=name)
    owner.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))  # fmt: skip
    with pytest.raises(ClientError) as refused:
        owner.put_object(Bucket=name, Key="plain", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    secure = tls_client("s3", server)
    secure.put_object(Bucket=name, Key="sealed", Body=b"y")
    assert secure.get_object(Bucket=name, Key="sealed")["Body"].read() == b"y"
    with pytest.raises(ClientError):
        owner.get_object(Bucket=name, Key="sealed")

    # An identity policy of another service: allowed only over TLS, whether aiohttp answers the
    # request (ListFunctions) or the front door does (a plain synchronous Invoke).
    deploy(client("lambda", server.endpoint, ACCOUNT_A), "tls-only", ECHO, role=role(server.endpoint, ACCOUNT_A))
    iam = client("iam", server.endpoint, ACCOUNT_A)
    iam.create_user(UserName="tls-only")
    iam.put_user_policy(UserName="tls-only", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:ListFunctions", "lambda:InvokeFunction"], "Resource": "*",
                       "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))  # fmt: skip
    made = iam.create_access_key(UserName="tls-only")["AccessKey"]
    keys = {"key": made["AccessKeyId"], "secret": made["SecretAccessKey"]}
    secure_lambda = tls_client("lambda", server, **keys)
    assert "Functions" in secure_lambda.list_functions()
    assert json.loads(secure_lambda.invoke(FunctionName="tls-only", Payload=b"1")["Payload"].read()) == {"said": 1}
    plain = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                         aws_access_key_id=keys["key"], aws_secret_access_key=keys["secret"],
                         config=Config(retries={"max_attempts": 0}))  # fmt: skip
    for call, kwargs in ((plain.list_functions, {}), (plain.invoke, {"FunctionName": "tls-only", "Payload": b"1"})):
        with pytest.raises(ClientError) as denied:
            call(**kwargs)
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "lambda:" in denied.value.response["Error"]["Message"]


def operator_pair(directory: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate for lamina.test and 127.0.0.1, as an operator might bring."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=lamina.test", "-addext", "subjectAltName=DNS:lamina.test,IP:127.0.0.1"],
                   check=True, capture_output=True)  # fmt: skip
    key.chmod(0o600)
    return cert, key


def test_an_operators_certificate_is_served(make_server: Any, tmp_path: Path) -> None:
    cert, key = operator_pair(tmp_path)
    server = make_server(LAMINA_TLS_PORT="0", LAMINA_TLS_CERT=str(cert), LAMINA_TLS_KEY=str(key))
    port = port_of(https_of(server))
    assert handshake(port, "lamina.test", ssl.create_default_context(cafile=str(cert))) in ("TLSv1.2", "TLSv1.3")
    lam = boto3.client("lambda", endpoint_url=f"https://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test", verify=str(cert))  # fmt: skip
    assert lam.list_functions()["Functions"] == []
    assert not (tmp_path / "data" / "tls").exists()  # no local CA made
    assert not any("AWS_CA_BUNDLE" in line for line in server.output)


def test_the_local_ca_is_kept_across_restarts(make_server: Any, tmp_path: Path) -> None:
    first = make_server(LAMINA_TLS_PORT="0")
    ca = ca_of(first)
    assert ca == (tmp_path / "data" / "tls" / "ca.pem").resolve() or ca == tmp_path / "data" / "tls" / "ca.pem"
    kept = ca.read_bytes(), (ca.parent / "server.pem").read_bytes()
    first.stop()
    second = make_server(LAMINA_TLS_PORT="0")
    assert ca_of(second) == ca and (ca.read_bytes(), (ca.parent / "server.pem").read_bytes()) == kept
    assert tls_client("lambda", second, key="test", secret="test").list_functions()["Functions"] == []


def start_refused(tmp_path: Path, **env: str) -> str:
    """What ``lamina server`` says when it refuses to start with ``env``."""
    done = subprocess.run([sys.executable, "-m", "lamina", "server", "--port", "0", "--data-dir", str(tmp_path / "data")],
                          capture_output=True, text=True, env=server_env(**env), cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Lamina listening" not in done.stdout, done.stderr
    return done.stderr


def test_keys_that_cannot_be_served_stop_the_server_at_start(tmp_path: Path) -> None:
    cert, key = operator_pair(tmp_path)
    pair = {"LAMINA_TLS_PORT": "0", "LAMINA_TLS_CERT": str(cert), "LAMINA_TLS_KEY": str(key)}
    key.chmod(0o644)
    said = start_refused(tmp_path, **pair)
    assert f"{key} is open to other users (mode 0644)" in said and f"chmod 600 {key}" in said, said
    key.chmod(0o600)
    said = start_refused(tmp_path, **{**pair, "LAMINA_TLS_KEY": str(tmp_path / "missing.pem")})
    assert "cannot be read: No such file or directory" in said, said
    said = start_refused(tmp_path, **{**pair, "LAMINA_TLS_KEY": str(tmp_path)})
    assert "is not a regular file" in said, said
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_bytes(cert.read_bytes())
    not_a_key.chmod(0o600)
    said = start_refused(tmp_path, **{**pair, "LAMINA_TLS_KEY": str(not_a_key)})
    assert "cannot be served" in said, said
    said = start_refused(tmp_path, LAMINA_TLS_PORT="0", LAMINA_TLS_CERT=str(cert))
    assert "LAMINA_TLS_CERT and LAMINA_TLS_KEY go together" in said, said
    assert not (tmp_path / "data").exists()  # refused before anything was made
