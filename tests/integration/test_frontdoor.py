"""The front door (lamina/dataplane) against aiohttp: the same requests, on raw sockets, to a server
with it and to one without it (LAMINA_FRONT_DOOR=off) get the same bytes back, apart from dates
and request ids; and the clients' own connections alternate between it and aiohttp unharmed."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import pytest

from lamina.dataplane.head import FastInvoke, Route, route
from tests import signing
from tests.conftest import ROLE, LaminaProcess, deploy, lambda_client, make_zip, server_env
from tests.integration.test_clients import aws_cli

LIMIT = 6 * 1024 * 1024
TIMEOUTS = {"LAMINA_HEADER_TIMEOUT": "3", "LAMINA_BODY_TIMEOUT": "3"}
FAILURES = ("lamina.dataplane", "Exception in callback", "exception was never retrieved", "Task was destroyed",
            "Fatal error")  # fmt: skip
ECHO = "def handler(event, context):\n    return event\n"
BOOM = "def handler(event, context):\n    raise ValueError('boom')\n"
LARGE = "def handler(event, context):\n    return str(event['n']) * event['size']\n"


@contextmanager
def on_and_off(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LaminaProcess]]:
    """A server with the front door ("on") and one without ("off"); once both have stopped, what
    they wrote is checked for failures (``assert_nothing_failed``)."""
    started = {
        "on": LaminaProcess(tmp_path_factory.mktemp("on"), server_env(**TIMEOUTS)).start(),
        "off": LaminaProcess(tmp_path_factory.mktemp("off"), server_env(LAMINA_FRONT_DOOR="off", **TIMEOUTS)).start(),
    }
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()
    assert_nothing_failed(started.values())


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LaminaProcess]]:
    """The same functions on a server with the front door ("on") and one without ("off")."""
    with on_and_off(tmp_path_factory) as started:
        for server in started.values():
            client = server.client()
            deploy(client, "echo", ECHO)
            deploy(client, "boom", BOOM)
            deploy(client, "held", ECHO)
            deploy(client, "large", LARGE)
            client.put_function_concurrency(FunctionName="held", ReservedConcurrentExecutions=0)
            version = client.publish_version(FunctionName="echo")["Version"]
            client.create_alias(FunctionName="echo", Name="live", FunctionVersion=version)
        yield started


def assert_nothing_failed(servers: Iterable[LaminaProcess]) -> None:
    """Nothing the tests sent made the front door fail, nor left a callback or task failing unseen."""
    for server in servers:
        failures = [line for line in server.output if any(sign in line for sign in FAILURES)]
        assert not failures, "".join(server.output)


def port(server: LaminaProcess) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


def signed(method: str, target: str, body: bytes = b"") -> list[str]:
    """The header lines that sign a request for Host 127.0.0.1 (the development pair)."""
    return [f"{k}: {v}" for k, v in signing.headers(method, f"http://127.0.0.1{target}", body).items()]


def invoke(name: str = "echo", body: bytes = b'{"a": 1}', *headers: str, query: str = "", close: bool = False) -> bytes:
    target = f"/2015-03-31/functions/{name}/invocations{query}"
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", *headers,
             *signed("POST", target, body)] + (["Connection: close"] if close else [])  # fmt: skip
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def get(path: str, *, close: bool = False) -> bytes:
    closing = "\r\nConnection: close" if close else ""
    sign = "".join(f"\r\n{line}" for line in signed("GET", path))
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1{sign}{closing}\r\n\r\n".encode()


def exchange(server: LaminaProcess, *parts: bytes, shut: bool = False, timeout: float = 30) -> bytes:
    """Send ``parts`` (one write each) on one connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port(server)), timeout=timeout) as sock:

        def send() -> None:
            try:
                for part in parts:
                    sock.sendall(part)
                if shut:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server answered and closed before reading all of it (a refused body)

        sender = threading.Thread(target=send)
        sender.start()
        received = bytearray()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            received += b"<reset>"
        sender.join()
        return bytes(received)


def normal(raw: bytes) -> bytes:
    raw = re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"<id>", raw)
    return re.sub(rb"Date: [^\r]*", b"Date: <date>", raw)


def same(servers: dict[str, LaminaProcess], *parts: bytes, shut: bool = False) -> bytes:
    """What both servers answer (asserted equal), from the server with the front door."""
    on, off = (normal(exchange(servers[name], *parts, shut=shut)) for name in ("on", "off"))
    assert on == off
    return on


def fast(request: bytes) -> bool:
    return isinstance(route(request, LIMIT), FastInvoke)


# Made when a test sends them: a signature is good for 5 minutes, and a slow run may reach a test
# later than that after the module was collected.
CASES: dict[str, Callable[[], bytes]] = {
    "success": lambda: invoke(close=True),
    "function error": lambda: invoke("boom", close=True),
    "unknown function": lambda: invoke("nobody", close=True),
    "bad JSON": lambda: invoke(body=b"{]", close=True),
    "not JSON at all": lambda: invoke(body=b"\xff\xfe", close=True),
    "alias": lambda: invoke(query="?Qualifier=live", close=True),
    "version": lambda: invoke(query="?Qualifier=1", close=True),
    "latest, encoded": lambda: invoke(query="?Qualifier=%24LATEST", close=True),
    "unknown alias": lambda: invoke(query="?Qualifier=nope", close=True),
    "throttled": lambda: invoke("held", close=True),
    "client context": lambda: invoke("echo", b"{}", "X-Amz-Client-Context: eyJjdXN0b20iOiB7fX0=", close=True),
    "explicit RequestResponse": lambda: invoke("echo", b"{}", "X-Amz-Invocation-Type: RequestResponse", close=True),
}


@pytest.mark.parametrize("case", CASES)
def test_an_invoke_gets_the_answer_aiohttp_gives(servers: dict[str, LaminaProcess], case: str) -> None:
    request = CASES[case]()
    assert fast(request)
    answer = same(servers, request)
    assert answer.startswith(b"HTTP/1.1 ") and answer.count(b"HTTP/1.1 ") == 1


def test_the_answers_are_those_lambda_gives(servers: dict[str, LaminaProcess]) -> None:
    assert same(servers, CASES["success"]()).endswith(b'\r\n\r\n{"a": 1}')
    assert b"X-Amz-Function-Error: Unhandled" in same(servers, CASES["function error"]())
    assert same(servers, CASES["unknown function"]()).startswith(b"HTTP/1.1 404 ")
    assert b"X-Amzn-ErrorType: InvalidRequestContentException" in same(servers, CASES["bad JSON"]())
    assert b"X-Amz-Executed-Version: 1\r\n" in same(servers, CASES["alias"]())
    throttled = same(servers, CASES["throttled"]())
    assert throttled.startswith(b"HTTP/1.1 429 ") and b"X-Amzn-ErrorType: TooManyRequestsException" in throttled


def test_a_payload_too_large_is_refused_as_aiohttp_refuses_it(servers: dict[str, LaminaProcess]) -> None:
    request = invoke(body=b"x" * (LIMIT + 1), close=True)
    assert route(request, LIMIT) is Route.AIOHTTP
    answer = same(servers, request)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"RequestTooLargeException" in answer


def test_tail_is_answered_by_aiohttp_with_the_log(servers: dict[str, LaminaProcess]) -> None:
    request = invoke("echo", b"{}", "X-Amz-Log-Type: Tail", close=True)
    assert route(request, LIMIT) is Route.AIOHTTP
    answer = exchange(servers["on"], request)
    assert answer.startswith(b"HTTP/1.1 200 ") and b"X-Amz-Log-Result: " in answer


def test_one_connection_alternates_between_the_front_door_and_aiohttp(servers: dict[str, LaminaProcess]) -> None:
    alias = get("/2015-03-31/functions/echo/aliases/live")
    requests = (invoke(), invoke("boom"), alias, invoke(body=b'{"b": 2}'), invoke("nobody"), alias,
                invoke(body=b'{"c": 3}', close=True))  # fmt: skip
    one_by_one = same(servers, *requests)  # each write its own: most are read before the next is sent
    assert one_by_one.count(b"HTTP/1.1 ") == len(requests)
    pipelined = same(servers, b"".join(requests))  # all in one write: answered in order
    assert pipelined == one_by_one
    assert one_by_one.endswith(b'{"c": 3}')


def test_invokes_pipelined_on_the_fast_path_are_answered_in_order(servers: dict[str, LaminaProcess]) -> None:
    requests = [invoke(body=json.dumps({"n": n}).encode()) for n in range(20)] + [invoke(body=b'{"n": 20}', close=True)]
    answer = same(servers, b"".join(requests))
    assert re.findall(rb'\{"n": (\d+)\}', answer) == [str(n).encode() for n in range(21)]


def test_http_1_0_and_connection_close(servers: dict[str, LaminaProcess]) -> None:
    sign = "".join(f"{line}\r\n" for line in signed("POST", "/2015-03-31/functions/echo/invocations", b"{}"))
    old = (b"POST /2015-03-31/functions/echo/invocations HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
           + sign.encode() + b"\r\n{}")  # fmt: skip
    assert same(servers, old).startswith(b"HTTP/1.0 200 ")
    closing = same(servers, invoke(close=True))
    assert closing.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in closing
    # A request after "Connection: close", in the same read: aiohttp refuses both.
    after = same(servers, invoke(close=True) + invoke(body=b'{"after": 1}'))
    assert after.startswith(b"HTTP/1.0 400 ") and b"after" in after


@pytest.mark.parametrize("attack", [
    # Content-Length and Transfer-Encoding: which ends the body? Neither is guessed.
    invoke("echo", b"0\r\n\r\n" + invoke(body=b'{"smuggled": 1}'), "Transfer-Encoding: chunked"),
    # Two lengths.
    invoke("echo", b"{}", "Content-Length: 40", close=True),
    invoke("echo", b"{}", "Content-Length: 2", close=True),
    # A length of another form.
    invoke(body=b"{}", close=True).replace(b"Content-Length: 2", b"Content-Length: +2"),
    # Folding, whitespace before the colon, a bare LF.
    invoke("echo", b"{}", " Transfer-Encoding: chunked", close=True),
    invoke("echo", b"{}", "Transfer-Encoding : chunked", close=True),
    invoke(body=b"{}", close=True).replace(b"Content-Length: 2\r\n", b"Content-Length: 2\n"),
    b"GARBAGE\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello
    invoke("echo", b"{}", "X-Pad: " + "a" * 20_000, close=True),  # a huge head
    # What aiohttp's parser refuses: a header it reads once, twice; more than 128 headers.
    invoke("echo", b"{}", "Content-Type: a", "Content-Type: b", close=True),
    invoke("echo", b"{}", *(f"X-{n}: {n}" for n in range(130)), close=True),
    invoke("echo", b"{}", *(f"X-Pad-{n}: {'a' * 100}" for n in range(400)), close=True),  # a huge head of many lines
])  # fmt: skip
def test_hostile_requests_are_refused_as_aiohttp_refuses_them(servers: dict[str, LaminaProcess], attack: bytes) -> None:
    assert not fast(attack)
    answer = same(servers, attack)
    assert b"smuggled" not in answer


def test_a_body_shorter_than_its_length_then_close_gets_nothing(servers: dict[str, LaminaProcess]) -> None:
    request = invoke(body=b'{"a": 1}')
    assert same(servers, request[:-3], shut=True) == b""


def test_a_head_never_finished_is_closed_unanswered(servers: dict[str, LaminaProcess]) -> None:
    assert same(servers, invoke()[:40]) == b""  # after LAMINA_HEADER_TIMEOUT


def test_a_body_that_stops_arriving_is_answered_408(servers: dict[str, LaminaProcess]) -> None:
    answer = same(servers, invoke()[:-3])  # after LAMINA_BODY_TIMEOUT
    assert answer.startswith(b"HTTP/1.1 408 ") and b"RequestTimeoutException" in answer
    assert b"Connection: close" in answer


def test_answers_are_never_mixed_across_connections(servers: dict[str, LaminaProcess]) -> None:
    """One connection's body arrives slowly while another's request is answered: each gets its own."""
    with socket.create_connection(("127.0.0.1", port(servers["on"])), timeout=30) as slow:
        first = invoke(body=b'{"who": "slow"}', close=True)
        slow.sendall(first[:-4])
        assert b'{"who": "quick"}' in exchange(servers["on"], invoke(body=b'{"who": "quick"}', close=True))
        slow.sendall(first[-4:])
        answer = b""
        while chunk := slow.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"who": "slow"}')


def test_boto3_alternates_on_one_pooled_connection(servers: dict[str, LaminaProcess]) -> None:
    client: Any = lambda_client(servers["on"].endpoint, max_pool_connections=1)
    for name, first in (("pooled-a", "invoke"), ("pooled-b", "get")):
        client.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": make_zip({"app.py": ECHO})})  # fmt: skip
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        calls = ["invoke", "get", "invoke", "get", "invoke"]
        if first == "get":
            calls = calls[1:]
        for n, call in enumerate(calls):
            if call == "invoke":
                out = client.invoke(FunctionName=name, Payload=json.dumps({"n": n}).encode())
                assert out["StatusCode"] == 200 and json.loads(out["Payload"].read()) == {"n": n}
            else:
                assert client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.invoke(FunctionName=name + "-missing", Payload=b"{}")
        out = client.invoke(FunctionName=name, Qualifier="$LATEST", Payload=b'{"last": true}')
        assert json.loads(out["Payload"].read()) == {"last": True}


def front_door(server: LaminaProcess) -> dict[str, int]:
    """What the server's front door has done so far (a health request, served by aiohttp, is lent).
    ``invokes``: the Invokes answered ahead of aiohttp, by the front door or by the native data
    plane (natively, or as a miss the front door's code answers)."""
    health = json.loads(exchange(server, get("/lamina/v1/health", close=True)).partition(b"\r\n\r\n")[2])
    counts: dict[str, int] = health["frontDoor"]
    native = health["frontDoor"].get("native", {})
    return {**counts, "invokes": counts["served"] + native.get("served", 0) + native.get("missed", 0)}


def test_invokes_after_other_calls_on_a_pooled_connection_are_the_front_doors(servers: dict[str, LaminaProcess]) -> None:
    """boto3's pooled connection made control calls; its Invokes are still answered by the front door."""
    client: Any = lambda_client(servers["on"].endpoint, max_pool_connections=1)
    assert client.get_function(FunctionName="echo")["Configuration"]["FunctionName"] == "echo"
    before = front_door(servers["on"])
    for n in range(5):
        assert client.get_alias(FunctionName="echo", Name="live")["Name"] == "live"
        out = client.invoke(FunctionName="echo", Payload=json.dumps({"n": n}).encode())
        assert json.loads(out["Payload"].read()) == {"n": n}
    after = front_door(servers["on"])
    assert after["invokes"] - before["invokes"] == 5
    # The aliases, and the health request (lent, then given to aiohttp to close: "Connection: close").
    assert after["lent"] - before["lent"] == 5 + 1
    assert after["handedOver"] - before["handedOver"] == 1


def test_requests_of_unclear_extent_give_the_connection_to_aiohttp(servers: dict[str, LaminaProcess]) -> None:
    before = front_door(servers["on"])
    sign = signing.headers("POST", "http://x/2015-03-31/functions/echo/invocations", b"{}")
    chunked = (b"POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in sign.items()).encode()
               + b"\r\n2\r\n{}\r\n0\r\n\r\n")  # fmt: skip
    answer = same(servers, get("/2015-03-31/functions/echo/aliases/live") + chunked + invoke(close=True))
    assert answer.count(b"HTTP/1.1 200 ") == 3
    after = front_door(servers["on"])
    assert after["handedOver"] - before["handedOver"] == 1 + 1  # and the health request's
    assert after["served"] == before["served"]  # the Invoke after the chunked one is aiohttp's


def test_a_lent_request_that_closes_the_connection_is_aiohttps_to_close(servers: dict[str, LaminaProcess]) -> None:
    before = front_door(servers["on"])
    answer = exchange(servers["on"], invoke(), get("/2015-03-31/functions/echo/aliases/live", close=True))
    assert answer.count(b"HTTP/1.1 200 ") == 2 and b"Connection: close" in answer
    after = front_door(servers["on"])
    assert after["handedOver"] - before["handedOver"] == 1 + 1  # and the health request's


def test_a_large_lent_body_arrives_in_pieces(servers: dict[str, LaminaProcess]) -> None:
    """A CreateFunction-sized body, sent in pieces, is read by aiohttp; the Invoke after it is the front door's."""
    body = json.dumps({"Description": "x" * 300_000}).encode()
    sign = signing.headers("PUT", "http://x/2015-03-31/functions/echo/configuration", body)
    update = (f"PUT /2015-03-31/functions/echo/configuration HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
              f"\r\nContent-Length: {len(body)}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in sign.items())
              + "\r\n").encode() + body  # fmt: skip
    pieces = [update[i : i + 65_536] for i in range(0, len(update), 65_536)]
    answer = normal(exchange(servers["on"], *pieces, invoke(body=b'{"after": 1}', close=True)))
    assert answer.count(b"HTTP/1.1 ") == 2 and answer.endswith(b'{"after": 1}')
    assert b"ValidationException" in answer or b"InvalidParameterValueException" in answer  # too long a description


def test_the_aws_cli_invokes_through_it(servers: dict[str, LaminaProcess], tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = aws_cli(servers["on"].endpoint, "invoke", "--function-name", "echo", "--payload", '{"cli": 1}', str(out),
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["StatusCode"] == 200
    assert json.loads(out.read_text()) == {"cli": 1}


def test_a_large_body_pipelined_behind_a_running_invoke_is_read_in_full(servers: dict[str, LaminaProcess]) -> None:
    """Reading pauses while an answer is awaited with much buffered, and resumes for the body's rest."""
    large = json.dumps({"big": "x" * (3 * 1024 * 1024)}).encode()
    answer = same(servers, invoke() + invoke("echo", large) + invoke(body=b'{"end": 1}', close=True))
    assert answer.count(b"HTTP/1.1 200 ") == 3 and large in answer and answer.endswith(b'{"end": 1}')


def test_large_answers_to_pipelined_invokes_wait_for_a_slow_reader(servers: dict[str, LaminaProcess]) -> None:
    """The socket's buffer fills (the transport pauses writing): the next answer waits for it to drain."""
    size = 1024 * 1024
    requests = [invoke("large", json.dumps({"n": n, "size": size}).encode()) for n in range(6)]
    answer = same(servers, b"".join(requests) + invoke(body=b'{"end": 1}', close=True))
    assert answer.count(b"HTTP/1.1 200 ") == 7
    positions = [answer.find(b'\r\n\r\n"' + str(n).encode() * size + b'"') for n in range(6)]
    assert -1 not in positions and positions == sorted(positions)
