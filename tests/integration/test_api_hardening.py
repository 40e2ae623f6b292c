"""Hostile clients of the Lambda API: huge and deeply nested JSON, slow senders, racing deletes,
and who may read Lamina's data directory. A real server, boto3 and raw sockets."""

from __future__ import annotations

import http.client
import os
import select
import socket
import stat
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, LaminaProcess, deploy, lambda_client, make_zip
from tests import signing

MB = 1024 * 1024
ECHO = "def handler(event, context):\n    return event\n"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def send(endpoint: str, method: str, path: str, body: bytes, headers: dict[str, str] | None = None,
         timeout: float = 120) -> tuple[int, str, bytes]:  # fmt: skip
    """One raw request, signed: (status, X-Amzn-ErrorType, body)."""
    url = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        sign = signing.headers(method, endpoint + path, body, sent)  # the service its X-Amz-Target names
        conn.request(method, path, body=body, headers={**sent, **sign})
        response = conn.getresponse()
        return response.status, response.getheader("X-Amzn-ErrorType", ""), response.read()
    finally:
        conn.close()


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def echo_fn(client: Any) -> str:
    name = "hardening-echo"
    deploy(client, name, ECHO)
    return name


# -- JSON: nesting ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [5_000, 3_000_000], ids=["inline", "large"])
def test_deeply_nested_control_bodies_are_invalid_content(lamina: LaminaProcess, client: Any, echo_fn: str,
                                                          depth: int) -> None:  # fmt: skip
    body = b'{"FunctionName": "deep", "Runtime": "python3.11", "Role": "' + ROLE.encode() + b'", "Tags": '
    body += nested(depth) + b"}"
    status, code, _ = send(lamina.endpoint, "POST", "/2015-03-31/functions", body)
    assert (status, code) == (400, "InvalidRequestContentException")
    path = f"/2015-03-31/functions/{echo_fn}/configuration"
    status, code, _ = send(lamina.endpoint, "PUT", path, b'{"Environment": ' + nested(depth) + b"}")
    assert (status, code) == (400, "InvalidRequestContentException")
    assert client.get_function_configuration(FunctionName=echo_fn)["State"] == "Active"


@pytest.mark.parametrize(
    "invocation_type, depth",
    [("RequestResponse", 5_000), ("RequestResponse", 3_000_000), ("Event", 5_000), ("Event", 500_000),
     ("DryRun", 3_000_000)],
)  # fmt: skip
def test_deeply_nested_payloads_are_invalid_content(client: Any, echo_fn: str, invocation_type: str,
                                                    depth: int) -> None:  # fmt: skip
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=echo_fn, InvocationType=invocation_type, Payload=nested(depth))
    assert error_code(exc) == ("InvalidRequestContentException", 400)


def test_deeply_nested_client_context_is_refused(client: Any, echo_fn: str) -> None:
    import base64

    context = base64.b64encode(b'{"custom": ' + nested(1_500) + b"}").decode()
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=echo_fn, Payload=b"{}", ClientContext=context)
    assert error_code(exc) == ("InvalidParameterValueException", 400)


@pytest.mark.parametrize("size", [1_000, 2 * MB], ids=["inline", "large"])
def test_payloads_are_json_as_aws_reads_it(client: Any, echo_fn: str, size: int) -> None:
    """Valid JSON of any size runs; what RFC 8259 does not allow is refused, whichever parser reads it."""
    numbers = b"[" + b"1," * (size // 2) + b"1]"
    response = client.invoke(FunctionName=echo_fn, Payload=numbers)
    assert "FunctionError" not in response
    assert response["Payload"].read().replace(b" ", b"") == numbers
    padding = b" " * size
    for bad in (b"[1]\x00" + padding, b'{"a": NaN}' + padding, b"[1,]" + padding, b'"\xff"' + padding):
        with pytest.raises(ClientError) as exc:
            client.invoke(FunctionName=echo_fn, Payload=bad)
        assert error_code(exc) == ("InvalidRequestContentException", 400), bad[:12]


# -- JSON: size -------------------------------------------------------------------------------


def test_huge_body_does_not_stop_other_requests(lamina: LaminaProcess) -> None:
    """65 MB of small JSON values, three times at once: every other request meanwhile is answered
    before its client gives up (the old server parsed them on the event loop, for seconds each)."""
    huge = b"[" + b"1," * (65 * MB // 2) + b"1]"
    statuses: list[tuple[int, str]] = []

    def post_huge() -> None:
        status, code, _ = send(lamina.endpoint, "POST", "/2015-03-31/functions", huge)
        statuses.append((status, code))

    senders = [threading.Thread(target=post_huge, name=f"huge-{i}") for i in range(3)]
    for sender in senders:
        sender.start()
    answered = 0
    try:
        while any(sender.is_alive() for sender in senders):
            url = f"{lamina.endpoint}/2015-03-31/functions?MaxItems=1"
            with signing.urlopen(url, timeout=2) as response:  # a stalled server times this out
                assert response.status == 200
            answered += 1
    finally:
        for sender in senders:
            sender.join()
    assert answered > 0
    assert statuses == [(400, "InvalidRequestContentException")] * 3


# -- slow clients -----------------------------------------------------------------------------


def closed_within(sock: socket.socket, payload: bytes, limit_s: float) -> tuple[bool, bytes]:
    """Send ``payload`` a byte a second until the server closes the connection (True, and what it
    answered) or ``limit_s`` passes (False)."""
    answer = b""
    deadline = time.monotonic() + limit_s
    sent = 0
    while time.monotonic() < deadline:
        if sent < len(payload):
            try:
                sock.send(payload[sent : sent + 1])
            except OSError:
                return True, answer
            sent += 1
        readable, _, _ = select.select([sock], [], [], 1.0)
        if readable:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return True, answer
            if not chunk:
                return True, answer
            answer += chunk
    return False, answer


def test_slow_headers_are_cut_off(make_server: Callable[..., LaminaProcess]) -> None:
    server = make_server(LAMINA_HEADER_TIMEOUT="2")
    url = urllib.parse.urlsplit(server.endpoint)
    head = f"GET /2015-03-31/functions HTTP/1.1\r\nHost: {url.netloc}\r\nX-Slow: {'a' * 200}\r\n\r\n".encode()
    with socket.create_connection((url.hostname, url.port)) as sock:
        closed, _ = closed_within(sock, head, 40)
    assert closed
    # An idle connection that never sends a byte is closed too.
    with socket.create_connection((url.hostname, url.port)) as sock:
        closed, _ = closed_within(sock, b"", 40)
    assert closed
    # A client that sends its request at once is served as before.
    assert lambda_client(server.endpoint).list_functions()["Functions"] == []


def test_slow_body_is_answered_408_and_closed(make_server: Callable[..., LaminaProcess]) -> None:
    server = make_server(LAMINA_BODY_TIMEOUT="2")
    url = urllib.parse.urlsplit(server.endpoint)
    body = b'{"FunctionName": "slow", "Description": "' + b"a" * 200 + b'"}'
    head = (f"POST /2015-03-31/functions HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(head)
        closed, answer = closed_within(sock, body, 60)
    assert closed
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b"RequestTimeoutException" in answer


# -- racing deletes ---------------------------------------------------------------------------


def test_concurrent_deletes_one_succeeds(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, ECHO)
    url = urllib.parse.urlsplit(lamina.endpoint)
    sign = "".join(f"{k}: {v}\r\n" for k, v in signing.headers("DELETE", f"{lamina.endpoint}/2015-03-31/functions/{fn_name}").items())
    request = f"DELETE /2015-03-31/functions/{fn_name} HTTP/1.1\r\nHost: {url.netloc}\r\n{sign}\r\n".encode()
    conns = [socket.create_connection((url.hostname, url.port)) for _ in range(10)]
    try:
        for conn in conns:  # every request but its last byte, then the last bytes together
            conn.sendall(request[:-1])
        for conn in conns:
            conn.sendall(request[-1:])
        statuses = []
        for conn in conns:
            response = http.client.HTTPResponse(conn)
            response.begin()
            statuses.append(response.status)
            if response.status == 404:
                assert response.getheader("X-Amzn-ErrorType") == "ResourceNotFoundException"
    finally:
        for conn in conns:
            conn.close()
    assert sorted(statuses) == [204] + [404] * 9


# -- the data directory -----------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_directory_is_private(make_server: Callable[..., LaminaProcess], tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as an earlier Lamina, or the user, left it
    server = make_server(data)
    client = server.client()
    client.create_function(FunctionName="private", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                           Code={"ZipFile": make_zip({"app.py": ECHO})})  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName="private", WaiterConfig={"Delay": 1})
    assert mode(data) == 0o700
    for name in ("lamina.db", "lamina.db-wal", "lamina.db-shm"):
        assert mode(data / name) == 0o600, name
    zips = list((data / "code" / "zips").glob("*.zip"))
    assert zips and all(mode(z) & 0o077 == 0 for z in zips)
    # The function still runs, though its code is now out of other users' reach.
    assert client.invoke(FunctionName="private", Payload=b'{"a": 1}')["Payload"].read() == b'{"a": 1}'


def test_restart_makes_an_old_database_private(make_server: Callable[..., LaminaProcess], tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = make_server(data)
    server.stop()
    os.chmod(data, 0o755)
    for name in ("lamina.db", "lamina.db-wal", "lamina.db-shm"):
        if (data / name).exists():
            os.chmod(data / name, 0o644)
    make_server(data)
    assert mode(data) == 0o700
    assert mode(data / "lamina.db") == 0o600
