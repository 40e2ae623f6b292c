"""The native data plane (lamina_native.DataPlane, dataplane/native.py) against the Python plane:
the same requests, on raw sockets, to a server where the native plane runs and to one where it
does not (LAMINA_DATA_PLANE=python) get the same bytes back, apart from dates and request ids;
warm Invokes really are served natively (the plane's counts, in /lamina/v1/health); every
refusal is Python's; and what the plane does not handle goes back to Python unharmed."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lamina.dataplane import native
from tests.conftest import LaminaProcess, deploy, server_env
from tests.integration.test_frontdoor import get, invoke, normal, port

pytestmark = pytest.mark.skipif(not native.available(), reason="lamina_native is not built (no cargo)")

FAILURES = ("Traceback", "ERROR", "Exception in callback", "exception was never retrieved", "Task was destroyed",
            "Fatal error")  # fmt: skip
TIMEOUTS = {"LAMINA_HEADER_TIMEOUT": "3", "LAMINA_BODY_TIMEOUT": "3"}
ECHO = "def handler(event, context):\n    print('echo', event)\n    return event\n"
# A function that writes a frame of an unknown kind on its own runtime's connection (the one the
# native plane reads while the environment is lent), before its result.
POKE = """import os, socket, struct
def handler(event, context):
    port = int(os.environ['AWS_LAMBDA_RUNTIME_API'].rsplit(':', 1)[1])
    for fd in os.listdir('/proc/self/fd'):
        try:
            sock = socket.socket(fileno=os.dup(int(fd)))
        except (OSError, ValueError):
            continue
        try:
            if event.get('poke') and sock.type == socket.SOCK_STREAM and sock.getpeername()[1] == port:
                sock.sendall(struct.pack('>I', 11) + b'Z' + b'0123456789')
        except OSError:
            pass
        finally:
            sock.close()
    return {'poked': bool(event.get('poke'))}
"""
VARIABLE = "import os\ndef handler(event, context):\n    return os.environ['VAR']\n"
BOOM = "def handler(event, context):\n    raise ValueError('boom')\n"
MODES = """import os, sys, time
def handler(event, context):
    mode = event.get('mode')
    print('mode', mode)
    if mode == 'sleep':
        time.sleep(event['s'])
    elif mode == 'exit':
        sys.stdout.flush()
        os._exit(3)
    elif mode == 'big':
        return 'x' * 7_000_000
    elif mode == 'print':
        for n in range(event['n']):
            print('line', n)
    return {'mode': mode, 'remaining': context.get_remaining_time_in_millis() > 0,
            'arn': context.invoked_function_arn}
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LaminaProcess]]:
    started = {
        "native": LaminaProcess(tmp_path_factory.mktemp("native"), server_env(**TIMEOUTS)).start(),
        "python": LaminaProcess(tmp_path_factory.mktemp("python"), server_env(LAMINA_DATA_PLANE="python", **TIMEOUTS)).start(),
    }
    try:
        for server in started.values():
            client = server.client()
            deploy(client, "echo", ECHO)
            deploy(client, "boom", BOOM)
            deploy(client, "modes", MODES, Timeout=2)
            deploy(client, "poke", POKE)
            version = client.publish_version(FunctionName="echo")["Version"]
            client.create_alias(FunctionName="echo", Name="live", FunctionVersion=version)
        yield started
    finally:
        for server in started.values():
            server.stop()
    for server in started.values():  # nothing failed unseen (refusals are logged, and expected)
        failures = [line for line in server.output if any(sign in line for sign in FAILURES)]
        assert not failures, "".join(server.output)


def health(server: LaminaProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/lamina/v1/health") as answer:
        return dict(json.loads(answer.read()))


def counts(server: LaminaProcess) -> dict[str, int]:
    return dict(health(server)["frontDoor"]["native"])


class Conn:
    """One kept-alive client connection, one request and its answer at a time."""

    def __init__(self, server: LaminaProcess, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port(server)), timeout=30, source_address=(source, 0))
        self.buf = b""

    def ask(self, request: bytes) -> bytes:
        self.sock.sendall(request)
        return self.answer()

    def answer(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            self._read()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        while len(rest) < length:
            self._read()
            head, _, rest = self.buf.partition(b"\r\n\r\n")
        self.buf = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def close(self) -> None:
        self.sock.close()


def both(servers: dict[str, LaminaProcess], *requests: Any) -> list[bytes]:
    """Each server's answers to ``requests`` (made per server: signatures are fresh), sent one at a
    time on one connection, asserted equal once normalized; the native server's."""
    answers = {}
    for name, server in servers.items():
        conn = Conn(server)
        try:
            answers[name] = [normal(conn.ask(request() if callable(request) else request)) for request in requests]
        finally:
            conn.close()
    assert answers["native"] == answers["python"]
    return answers["native"]


def modes(mode: str | None = None, **more: Any) -> bytes:
    return invoke("modes", json.dumps({"mode": mode, **more}).encode())


def test_warm_invokes_are_served_natively_with_the_python_planes_bytes(servers: dict[str, LaminaProcess]) -> None:
    before = counts(servers["native"])
    answers = both(servers, *[lambda n=n: invoke(body=json.dumps({"n": n}).encode()) for n in range(5)],
                   lambda: invoke("boom"), lambda: invoke("boom"), lambda: invoke(query="?Qualifier=live"),
                   lambda: invoke(query="?Qualifier=live"), lambda: invoke(query="?Qualifier=%24LATEST"),
                   lambda: invoke(query="?Qualifier=%24LATEST"), lambda: invoke(body=b""), lambda: invoke(body=b"  "))  # fmt: skip
    assert answers[0].startswith(b"HTTP/1.1 200 OK\r\nx-amzn-RequestId: <id>\r\nX-Amz-Executed-Version: $LATEST\r\n")
    assert answers[4].endswith(b'\r\n\r\n{"n": 4}')
    assert b"X-Amz-Function-Error: Unhandled" in answers[6] and b'"errorType": "ValueError"' in answers[6]
    assert b"X-Amz-Executed-Version: 1\r\n" in answers[8]
    assert answers[-1].endswith(b"\r\n\r\n{}")
    after = counts(servers["native"])
    # The first of each lane is a miss (Python answers it and grants the permit); the rest are native.
    assert after["served"] - before["served"] >= 8
    assert after["missed"] - before["missed"] <= 6


def test_pipelined_invokes_are_answered_in_order(servers: dict[str, LaminaProcess]) -> None:
    before = counts(servers["native"])
    requests = b"".join(invoke(body=json.dumps({"p": n}).encode()) for n in range(20))
    conn = Conn(servers["native"])
    try:
        conn.sock.sendall(requests)
        answers = [conn.answer() for _ in range(20)]
    finally:
        conn.close()
    assert [re.search(rb'\{"p": (\d+)\}', a).group(1) for a in answers] == [str(n).encode() for n in range(20)]  # type: ignore[union-attr]
    assert counts(servers["native"])["served"] - before["served"] >= 19


@pytest.mark.parametrize("mode", ["timeout", "crash", "oversized"])
def test_what_the_plane_gives_back_is_answered_as_python_answers_it(servers: dict[str, LaminaProcess],
                                                                    mode: str) -> None:  # fmt: skip
    request = {"timeout": lambda: modes("sleep", s=5), "crash": lambda: modes("exit"), "oversized": lambda: modes("big")}[mode]
    before = counts(servers["native"])
    answers = both(servers, lambda: modes(), lambda: modes(), request, lambda: modes())
    after = counts(servers["native"])
    assert after["givenBack"] - before["givenBack"] == 1
    assert b"X-Amz-Function-Error: Unhandled" in answers[2]
    error = {"timeout": b"Sandbox.Timedout", "crash": b"Runtime.ExitError", "oversized": b"Function.ResponseSizeTooLarge"}
    assert error[mode] in answers[2]
    assert answers[3].endswith(b'"remaining": true, "arn": "arn:aws:lambda:us-east-1:000000000000:function:modes"}')


def test_a_frame_the_plane_does_not_read_goes_to_python_with_the_environment(servers: dict[str, LaminaProcess]) -> None:
    before = counts(servers["native"])
    answers = both(servers, lambda: invoke("poke", b"{}"), lambda: invoke("poke", b"{}"),
                   lambda: invoke("poke", b'{"poke": 1}'), lambda: invoke("poke", b"{}"), lambda: invoke("poke", b"{}"))
    assert answers[2].endswith(b'{"poked": true}') and answers[4].endswith(b'{"poked": false}')
    after = counts(servers["native"])
    assert after["givenBack"] - before["givenBack"] == 1 and after["served"] - before["served"] >= 2


def log_lines(server: LaminaProcess, function: str, request_id: str) -> list[str]:
    logs = boto3.client("logs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        lines = [e["message"] for e in events]
        start = next((i for i, line in enumerate(lines) if line.startswith(f"START RequestId: {request_id}")), None)
        if start is not None and any(line.startswith(f"REPORT RequestId: {request_id}") for line in lines[start:]):
            end = next(i for i, line in enumerate(lines) if line.startswith(f"REPORT RequestId: {request_id}"))
            return lines[start : end + 1]
        assert time.monotonic() < deadline, lines
        time.sleep(0.1)


def shape(lines: list[str]) -> list[str]:
    return [re.sub(r"\d+(\.\d+)?", "<n>", re.sub(r"[0-9a-f-]{36}", "<id>", line)) for line in lines]


def test_logs_and_report_are_those_python_writes(servers: dict[str, LaminaProcess]) -> None:
    shapes = {}
    for name, server in servers.items():
        before = counts(server) if name == "native" else None
        conn = Conn(server)
        try:
            conn.ask(modes("print", n=1))  # a miss: the permit and the environment lent
            answer = conn.ask(modes("print", n=3))
        finally:
            conn.close()
        if before is not None:
            assert counts(server)["served"] - before["served"] >= 1
        request_id = re.search(rb"x-amzn-RequestId: ([0-9a-f-]+)", answer).group(1).decode()  # type: ignore[union-attr]
        lines = log_lines(server, "modes", request_id)
        assert lines[1:5] == ["mode print\n", "line 0\n", "line 1\n", "line 2\n"]
        shapes[name] = shape(lines)
    assert shapes["native"] == shapes["python"]


def test_usage_is_recorded_for_native_invocations(servers: dict[str, LaminaProcess]) -> None:
    server = servers["native"]
    conn = Conn(server)
    try:
        ids = [re.search(rb"x-amzn-RequestId: ([0-9a-f-]+)", conn.ask(invoke(body=b'{"u": 1}'))).group(1).decode()  # type: ignore[union-attr]
               for _ in range(3)]  # fmt: skip
    finally:
        conn.close()
    for request_id in ids:  # every invocation has its REPORT, native or not
        assert log_lines(server, "echo", request_id)[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(server.endpoint.replace("http://", "http://") + "/metrics") as answer:
            metrics = answer.read().decode()
        found = re.search(r'lamina_invocations_total\{[^}]*function="echo",region="[^"]*",resource="echo",[^}]*\} (\d+)',
                          metrics)  # fmt: skip
        if found and int(found.group(1)) >= 3:
            break
        assert time.monotonic() < deadline, metrics[:2000]
        time.sleep(0.2)


# -- signatures: a hand-made SigV4, so that its date, region and service can be chosen -----------


def sigv4(target: str, body: bytes, *, region: str = "us-east-1", service: str = "lambda", key: str = "test",
          secret: str = "test", at: datetime | None = None, token: str | None = None) -> list[str]:  # fmt: skip
    at = at or datetime.now(timezone.utc)
    amz = at.strftime("%Y%m%dT%H%M%SZ")
    path, _, query = target.partition("?")
    names = ["host", "x-amz-date"] + (["x-amz-security-token"] if token else [])
    values = {"host": "127.0.0.1", "x-amz-date": amz, "x-amz-security-token": token or ""}
    canonical = "\n".join(["POST", path, query, *(f"{n}:{values[n]}" for n in names), "", ";".join(names),
                           hashlib.sha256(body).hexdigest()])  # fmt: skip
    scope = f"{amz[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing = ("AWS4" + secret).encode()
    for part in (amz[:8], region, service, "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    lines = [f"X-Amz-Date: {amz}", f"Authorization: AWS4-HMAC-SHA256 Credential={key}/{scope}, "
             f"SignedHeaders={';'.join(names)}, Signature={signature}"]  # fmt: skip
    return lines + ([f"X-Amz-Security-Token: {token}"] if token else [])


def raw(name: str, body: bytes, auth: list[str], *, sent: bytes | None = None, query: str = "") -> bytes:
    target = f"/2015-03-31/functions/{name}/invocations{query}"
    sent = body if sent is None else sent
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(sent)}", *auth]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + sent


def hand_signed(**how: Any) -> bytes:
    return raw("echo", b'{"s": 1}', sigv4("/2015-03-31/functions/echo/invocations", b'{"s": 1}', **how))


def tampered() -> bytes:
    request = hand_signed()
    last = request.index(b"\r\n", request.index(b"Signature=")) - 1
    return request[:last] + (b"0" if request[last : last + 1] != b"0" else b"1") + request[last + 1 :]


ATTACKS = {
    "tampered signature": tampered,
    "another body": lambda: raw("echo", b'{"s": 1}', sigv4("/2015-03-31/functions/echo/invocations", b'{"s": 1}'),
                                sent=b'{"s": 2}'),
    "another region": lambda: hand_signed(region="eu-west-1"),
    "another service": lambda: hand_signed(service="s3"),
    "a date skewed by ten minutes": lambda: hand_signed(at=datetime.now(timezone.utc) - timedelta(minutes=10)),
    "an unknown key": lambda: hand_signed(key="AKIDNOBODY", secret="x"),
    "another account's function": lambda: invoke("arn:aws:lambda:us-east-1:111111111111:function:echo"),
    "a token the key has not": lambda: hand_signed(token="forged"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_bad_request_on_a_native_connection_is_refused_as_python_refuses_it(servers: dict[str, LaminaProcess],
                                                                              attack: str) -> None:  # fmt: skip
    before = counts(servers["native"])
    answers = both(servers, hand_signed, hand_signed, ATTACKS[attack], hand_signed)
    after = counts(servers["native"])
    assert answers[0].endswith(b'{"s": 1}') and answers[3].endswith(b'{"s": 1}')
    assert not answers[2].startswith(b"HTTP/1.1 200 "), answers[2]
    assert after["served"] - before["served"] >= 1  # the hand-made signature is one the plane verifies


def iam_client(server: LaminaProcess, service: str, key: str = "test", secret: str = "test") -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


def test_a_policy_changed_or_a_key_deleted_revokes_at_once(servers: dict[str, LaminaProcess]) -> None:
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                     "Resource": "*"}]}  # fmt: skip
    outcomes: dict[str, list[str]] = {}
    for name, server in servers.items():
        iam = iam_client(server, "iam")
        iam.create_user(UserName="carol")
        iam.put_user_policy(UserName="carol", PolicyName="invoke", PolicyDocument=json.dumps(allow))
        key = iam.create_access_key(UserName="carol")["AccessKey"]
        carol = iam_client(server, "lambda", key["AccessKeyId"], key["SecretAccessKey"])
        before = counts(server) if name == "native" else None
        seen = [carol.invoke(FunctionName="echo", Payload=b'{"c": 1}')["Payload"].read().decode() for _ in range(3)]
        if before is not None:
            assert counts(server)["served"] - before["served"] >= 2  # carol's own connection, native
        iam.delete_user_policy(UserName="carol", PolicyName="invoke")
        seen.append(error_code(carol.invoke, FunctionName="echo", Payload=b'{"c": 2}'))
        iam.put_user_policy(UserName="carol", PolicyName="invoke", PolicyDocument=json.dumps(allow))
        seen += [carol.invoke(FunctionName="echo", Payload=b'{"c": 3}')["Payload"].read().decode() for _ in range(2)]
        iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
        seen.append(error_code(carol.invoke, FunctionName="echo", Payload=b'{"c": 4}'))
        outcomes[name] = seen
    assert outcomes["native"] == outcomes["python"]
    assert outcomes["native"][3] == "AccessDeniedException"
    assert outcomes["native"][-1] == "UnrecognizedClientException"


def test_a_permit_holds_only_for_the_address_iam_allowed(servers: dict[str, LaminaProcess]) -> None:
    """A policy that allows invoking from one address only: a client there is served (natively,
    after its first request), a client of the same key at another address is refused every time,
    however many permits the first one's requests made."""
    from_one = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}}]}  # fmt: skip
    target = "/2015-03-31/functions/echo/invocations"
    outcomes: dict[str, list[bytes]] = {}
    for name, server in servers.items():
        iam = iam_client(server, "iam")
        iam.create_user(UserName="erin")
        iam.put_user_policy(UserName="erin", PolicyName="here", PolicyDocument=json.dumps(from_one))
        key = iam.create_access_key(UserName="erin")["AccessKey"]
        signed = lambda: raw("echo", b'{"e": 1}', sigv4(target, b'{"e": 1}', key=key["AccessKeyId"],  # noqa: E731
                                                        secret=key["SecretAccessKey"]))  # fmt: skip
        here, there = Conn(server), Conn(server, source="127.0.0.2")
        before = counts(server) if name == "native" else None
        try:
            seen = [normal(here.ask(signed())) for _ in range(3)]
            seen += [normal(there.ask(signed())) for _ in range(3)]
            seen.append(normal(here.ask(signed())))
        finally:
            here.close()
            there.close()
        if before is not None:
            assert counts(server)["served"] - before["served"] >= 2  # the allowed address's, natively
        outcomes[name] = [answer.split(b"\r\n", 1)[0] for answer in seen]
    assert outcomes["native"] == outcomes["python"]
    assert outcomes["native"] == [b"HTTP/1.1 200 OK"] * 3 + [b"HTTP/1.1 403 Forbidden"] * 3 + [b"HTTP/1.1 200 OK"]


def test_a_slow_head_is_closed_at_the_header_timeout(servers: dict[str, LaminaProcess]) -> None:
    with socket.create_connection(("127.0.0.1", port(servers["native"])), timeout=20) as sock:
        sock.sendall(b"POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        received = b""
        try:
            for _ in range(20):
                sock.sendall(b"X")  # a byte now and then: the head never ends
                chunk = sock.recv(1024)
                if not chunk:
                    break
                received += chunk
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            pass
    assert received == b""


def test_a_client_gone_mid_invocation_leaves_the_environment_usable(servers: dict[str, LaminaProcess]) -> None:
    server = servers["native"]
    conn = Conn(server)
    conn.ask(modes())
    conn.ask(modes())  # native: the environment is lent
    environments = health(server)["environments"]
    before = counts(server)
    conn.sock.sendall(modes("sleep", s=0.5))
    conn.close()  # gone before its answer
    time.sleep(1.0)
    conn = Conn(server)
    try:
        conn.ask(modes())
        assert conn.ask(modes()).endswith(b'"remaining": true, "arn": "arn:aws:lambda:us-east-1:000000000000:function:modes"}')
    finally:
        conn.close()
    after = counts(server)
    assert after["served"] - before["served"] >= 2 and after["givenBack"] == before["givenBack"]
    assert health(server)["environments"] == environments


def test_a_hundred_connections_mixing_control_calls_and_invokes(servers: dict[str, LaminaProcess]) -> None:
    server = servers["native"]

    def one(n: int) -> list[bytes]:
        conn = Conn(server)
        try:
            first = conn.ask(invoke(body=json.dumps({"m": n}).encode()))
            second = conn.ask(get("/2015-03-31/functions/echo")) if n % 2 else conn.ask(invoke(body=b'{"m": 0}'))
            third = conn.ask(invoke(body=json.dumps({"m": -n}).encode()))
            return [first, second, third]
        finally:
            conn.close()

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(one, range(100)))
    log = "".join(server.output[-80:])  # what the server said, should an answer be a failure
    for n, (first, second, third) in enumerate(results):
        assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(json.dumps({"m": n}).encode()), (first, log)
        assert second.startswith(b"HTTP/1.1 200 "), (second, log)
        assert third.startswith(b"HTTP/1.1 200 ") and third.endswith(json.dumps({"m": -n}).encode()), (third, log)


def test_an_update_takes_the_environments_back(servers: dict[str, LaminaProcess]) -> None:
    server = servers["native"]
    client = server.client()
    deploy(client, "variable", VARIABLE, Environment={"Variables": {"VAR": "1"}})
    conn = Conn(server)
    try:
        assert conn.ask(invoke("variable", b"{}")).endswith(b'"1"')
        assert conn.ask(invoke("variable", b"{}")).endswith(b'"1"')  # native
        client.update_function_configuration(FunctionName="variable", Environment={"Variables": {"VAR": "2"}})
        client.get_waiter("function_updated_v2").wait(FunctionName="variable",
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 30})  # fmt: skip
        assert conn.ask(invoke("variable", b"{}")).endswith(b'"2"')
        assert conn.ask(invoke("variable", b"{}")).endswith(b'"2"')
    finally:
        conn.close()


def test_a_shutdown_lets_a_native_invocation_finish(make_server: Any) -> None:
    server = make_server(**TIMEOUTS)
    deploy(server.client(), "modes", MODES, Timeout=10)
    conn = Conn(server)
    try:
        conn.ask(modes())
        conn.ask(modes())  # native: the environment is lent
        before = counts(server)
        conn.sock.sendall(modes("sleep", s=1))
        time.sleep(0.3)
        assert counts(server)["inFlight"] == before["inFlight"] + 1
        stopping = ThreadPoolExecutor(1).submit(server.stop)
        answer = conn.answer()
    finally:
        conn.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"mode": "sleep"' in answer
    assert stopping.result(timeout=60) == 0
    failures = [line for line in server.output if any(sign in line for sign in FAILURES)]
    assert not failures, "".join(server.output)
