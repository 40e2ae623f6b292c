"""Function URLs served by the front door (lamina/dataplane) against aiohttp: the same requests, on raw
sockets, to a server with it and to one without it (LAMINA_FRONT_DOOR=off) get the same bytes back,
apart from dates, request ids and url-ids; requests it must not read go to aiohttp, refused as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.dataplane.head import Route, UrlCall, route
from tests.conftest import LaminaProcess, deploy
from tests.integration.test_frontdoor import LIMIT, exchange, invoke, normal, on_and_off

APP = """
import base64, json

def handler(event, context):
    path = event["rawPath"]
    if path == "/string":
        return "hello"
    if path == "/list":
        return ["hello", 3, True]
    if path == "/error":
        raise RuntimeError("boom")
    if path == "/custom":
        return {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Custom": "yes",
                "x-amzn-RequestId": "the function's", "Connection": "upgrade", "Content-Length": "1"},
                "cookies": ["a=1; Max-Age=60", "b=2"], "body": "created"}
    if path == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    if path == "/empty":
        return {"statusCode": 204, "body": "dropped"}
    if path == "/bad-header":
        return {"statusCode": 200, "headers": {"x-bad": "a\\r\\nInjected: 1"}, "body": "x"}
    if path == "/large":
        return {"statusCode": 200, "body": "x" * 100000, "headers": {"x-large": "yes"}}
    if path == "/not-a-response":
        return {"statusCode": "abc"}
    if event["requestContext"]["http"]["method"] == "OPTIONS" and path == "/refuse-options":
        raise RuntimeError("an OPTIONS that reached the function")
    varying = ("x-amzn-trace-id", "x-forwarded-port", "authorization", "x-amz-date")
    context_ = event["requestContext"]
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({
        "rawPath": path, "rawQueryString": event["rawQueryString"], "cookies": event.get("cookies"),
        "query": event.get("queryStringParameters"), "body": event.get("body"), "base64": event["isBase64Encoded"],
        "headers": {k: v for k, v in event["headers"].items() if k not in varying}, "http": context_["http"],
        "domain": context_["domainName"], "apiId": context_["apiId"], "authorizer": context_.get("authorizer"),
        "sameId": context_["requestId"] == context.aws_request_id, "version": context.function_version,
    }, sort_keys=True)}
"""

Ids = dict[str, str]  # the URLs' url-ids on one server, by role
Build = Callable[[Ids], bytes]
Servers = dict[str, tuple[LaminaProcess, Ids]]


def _url(client: Any, function: str, **config: object) -> str:
    """The url-id of a new URL for ``function``."""
    created = client.create_function_url_config(FunctionName=function, **config)
    return str(created["FunctionUrl"]).split("//", 1)[1].split(".", 1)[0]


def _urls(server: LaminaProcess) -> Ids:
    """The URLs every test uses, by role: their url-ids on ``server``."""
    client = server.client()
    deploy(client, "app", APP)
    deploy(client, "held", APP)
    client.put_function_concurrency(FunctionName="held", ReservedConcurrentExecutions=0)
    version = client.publish_version(FunctionName="app")["Version"]
    for alias in ("live", "signed", "stream", "gone"):
        client.create_alias(FunctionName="app", Name=alias, FunctionVersion=version)
    ids = {
        "plain": _url(client, "app", AuthType="NONE"),
        "cors": _url(client, "app:live", AuthType="NONE", Cors={
            "AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-one"],
            "ExposeHeaders": ["x-custom"], "MaxAge": 60, "AllowCredentials": True}),
        "signed": _url(client, "app:signed", AuthType="AWS_IAM"),
        "stream": _url(client, "app:stream", AuthType="NONE", InvokeMode="RESPONSE_STREAM"),
        "gone": _url(client, "app:gone", AuthType="NONE"),
        "held": _url(client, "held", AuthType="NONE"),
        "unknown": "0" * 32,
    }  # fmt: skip
    client.delete_alias(FunctionName="app", Name="gone")  # its URL stays, and refuses requests
    return ids


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The same URLs on a server with the front door ("on") and one without ("off")."""
    with on_and_off(tmp_path_factory) as started:
        yield {name: (server, _urls(server)) for name, server in started.items()}


def _host(url_id: str, region: str = "us-east-1") -> str:
    return f"{url_id}.lambda-url.{region}.localhost"


def request(role: str, method: str, path: str, *headers: str, body: bytes = b"", by_host: bool = False,
            close: bool = True, region: str = "us-east-1") -> Build:  # fmt: skip
    """A request for URL ``role``, at its Host address or its path form."""

    def build(ids: Ids) -> bytes:
        url_id = ids[role]
        target = path if by_host else f"/lamina/v1/urls/{url_id}{path}"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {_host(url_id, region) if by_host else '127.0.0.1'}", *headers]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        return "\r\n".join(lines).encode() + b"\r\n\r\n" + body

    return build


def signed(method: str, path: str, body: bytes = b"", *, by_host: bool = True, secret: str = "test",
           sent: bytes | None = None) -> Build:  # fmt: skip
    """A request for the ``AWS_IAM`` URL signed with botocore (``secret``), sending ``sent`` as its body."""

    def build(ids: Ids) -> bytes:
        url_id = ids["signed"]
        host = _host(url_id) if by_host else "127.0.0.1"
        target = path if by_host else f"/lamina/v1/urls/{url_id}{path}"
        unsigned = AWSRequest(method=method, url=f"http://{host}{target}", data=body,
                              headers={"Content-Type": "application/json"})  # fmt: skip
        SigV4Auth(Credentials("test", secret), "lambda", "us-east-1").add_auth(unsigned)
        data = body if sent is None else sent
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in unsigned.headers.items()),
                 f"Content-Length: {len(data)}", "Connection: close"]  # fmt: skip
        return "\r\n".join(lines).encode() + b"\r\n\r\n" + data

    return build


def answers(servers: Servers, *builds: Build, shut: bool = False) -> tuple[bytes, bytes]:
    """Both servers' answers ("on", "off"), each server's url-ids written as their roles."""
    found = []
    for name in ("on", "off"):
        server, ids = servers[name]
        raw = normal(exchange(server, *(build(ids) for build in builds), shut=shut))
        for role, url_id in ids.items():
            raw = raw.replace(url_id.encode(), f"<{role}>".encode().ljust(len(url_id), b"-"))
        found.append(raw)
    return found[0], found[1]


def same(servers: Servers, *builds: Build, shut: bool = False) -> bytes:
    """What both servers answer (asserted equal), from the server with the front door."""
    on, off = answers(servers, *builds, shut=shut)
    assert on == off
    return on


def served_here(servers: Servers, build: Build) -> bool:
    """Whether the front door reads the request as a function URL's (and so serves it)."""
    return isinstance(route(build(servers["on"][1]), LIMIT), UrlCall)


ORIGIN = "Origin: https://example.com"
PREFLIGHT = (ORIGIN, "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: x-one")
CASES: dict[str, Build] = {
    "by path, with a query and cookies": request("plain", "GET", "/some/where?a=1&b=2&a=3", "X-One: 1", "X-One: 2",
                                                 "Cookie: c=1; d=2", "User-Agent: raw"),
    "by Host": request("plain", "POST", "/posted?x", "Content-Type: text/plain", body=b"hello", by_host=True),
    "the function's root, by path": request("plain", "GET", ""),
    "a binary body": request("plain", "PUT", "/bin", "Content-Type: application/octet-stream",
                             body=bytes(range(256))),
    "a JSON body": request("plain", "PATCH", "/json", "Content-Type: application/json", body=b'{"a": [1, 2]}'),
    "odd characters in the target": request("plain", "GET", '/a"b{c}|d\\e^f`g[h]<i>;j/./k/../%zz?x=<y>&%&&z={}'),
    "odd headers": request("plain", "POST", "/x", "X-Empty:", "X-Tab: a\tb", "X!#$%&'*+.^_`|~: token", "X-Trail: v \t",
                           "x-one: 1", "X-ONE: 2", body=b"x"),
    "a string": request("plain", "GET", "/string", by_host=True),
    "a list": request("plain", "GET", "/list"),
    "status, headers and cookies": request("plain", "GET", "/custom"),
    "a binary answer": request("plain", "GET", "/binary"),
    "no content": request("plain", "DELETE", "/empty"),
    "a large answer (mapped in a worker thread)": request("plain", "GET", "/large"),
    "a function error": request("plain", "GET", "/error"),
    "a result that is no response": request("plain", "GET", "/not-a-response"),
    "a header that cannot be written": request("plain", "GET", "/bad-header"),
    "an unknown URL": request("unknown", "GET", "/x"),
    "an unknown URL, by Host": request("unknown", "POST", "/x", body=b"{}", by_host=True),
    "another region's URL": request("plain", "GET", "/string", by_host=True, region="eu-west-1"),
    "the alias is gone": request("gone", "GET", "/string"),
    "throttled": request("held", "GET", "/string"),
    "a stream, sent whole": request("stream", "GET", "/string"),
    "a stream's object": request("stream", "GET", "/custom", by_host=True),
    "CORS preflight": request("cors", "OPTIONS", "/refuse-options", *PREFLIGHT),
    "CORS preflight, another origin": request("cors", "OPTIONS", "/refuse-options", "Origin: https://other.example",
                                              "Access-Control-Request-Method: GET"),
    "OPTIONS, no preflight": request("cors", "OPTIONS", "/refuse-options", ORIGIN),
    "OPTIONS without CORS": request("plain", "OPTIONS", "/x", *PREFLIGHT),
    "CORS answer": request("cors", "GET", "/custom", ORIGIN, by_host=True),
    "CORS, another origin": request("cors", "POST", "/x", "Origin: https://other.example", body=b"x"),
    "AWS_IAM, unsigned": request("signed", "GET", "/x", by_host=True),
    "AWS_IAM, signed": signed("POST", "/my/path?b=2&a=1", b'{"signed": true}'),
    "AWS_IAM, signed, by path": signed("GET", "/x?q=1", by_host=False),
    "AWS_IAM, a wrong secret": signed("POST", "/x", b"{}", secret="wrong"),
    "AWS_IAM, another body than the signed one": signed("POST", "/x", b'{"signed": true}', sent=b'{"signed": 0}'),
    # Whatever the path names, a function URL's Host comes first; and a function URL's path
    # before an API's Host (aiohttp's middlewares are in that order).
    "a URL's Host, an API's path": request("plain", "GET", "/_aws/execute-api/abcdefghij/x", by_host=True),
    "an API's Host, a URL's path": lambda ids: request("plain", "GET", "/x")(ids).replace(
        b"Host: 127.0.0.1", b"Host: abcdefghij.execute-api.localhost"),
    "an Invoke's request line at a URL's Host": lambda ids: invoke("app", b'{"a": 1}', f"Host: {_host(ids['plain'])}",
                                                                   close=True).replace(b"Host: 127.0.0.1\r\n", b""),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_url_request_gets_the_answer_aiohttp_gives(servers: Servers, case: str) -> None:
    build = CASES[case]
    assert served_here(servers, build)
    answer = same(servers, build)
    kept = same(servers, request("plain", "GET", "/string", close=False), build)  # after another, kept alive
    if case == "a header that cannot be written":
        assert answer == b"" and kept.count(b"HTTP/1.1 ") == 1  # closed unanswered
        return
    assert answer.startswith(b"HTTP/1.1 ") and b"x-amzn-RequestId: <id>\r\n" in answer
    assert kept.count(b"HTTP/1.1 ") == 2


def test_what_the_answers_say(servers: Servers) -> None:
    def status(case: str) -> bytes:
        return same(servers, CASES[case]).split(b"\r\n", 1)[0]

    assert same(servers, CASES["a string"]).endswith(b"\r\n\r\nhello")
    custom = same(servers, CASES["status, headers and cookies"])
    assert custom.startswith(b"HTTP/1.1 201 ") and b"Set-Cookie: a=1; Max-Age=60\r\nSet-Cookie: b=2\r\n" in custom
    assert b"the function's" not in custom and b"upgrade" not in custom and custom.endswith(b"\r\n\r\ncreated")
    assert status("a function error") == status("a result that is no response") == b"HTTP/1.1 502 Bad Gateway"
    for refused in ("an unknown URL", "another region's URL", "the alias is gone", "AWS_IAM, unsigned",
                    "AWS_IAM, a wrong secret", "AWS_IAM, another body than the signed one"):  # fmt: skip
        assert status(refused) == b"HTTP/1.1 403 Forbidden", refused
    throttled = same(servers, CASES["throttled"])
    assert throttled.startswith(b"HTTP/1.1 429 ") and b"x-amzn-ErrorType: TooManyRequestsException" in throttled
    assert same(servers, CASES["a stream, sent whole"]).endswith(b'\r\n\r\n"hello"')
    preflight = same(servers, CASES["CORS preflight"])
    assert preflight.startswith(b"HTTP/1.1 200 ") and b"Access-Control-Allow-Methods: GET,POST\r\n" in preflight
    assert status("OPTIONS, no preflight") == b"HTTP/1.1 502 Bad Gateway"
    assert b"Access-Control-Expose-Headers: x-custom\r\n" in same(servers, CASES["CORS answer"])
    iam = same(servers, CASES["AWS_IAM, signed"])
    assert iam.startswith(b"HTTP/1.1 200 ") and b'"accessKey": "test"' in iam and b'"sameId": true' in iam
    by_path = same(servers, CASES["an API's Host, a URL's path"])
    assert b'"rawPath": "/x"' in by_path and b'"domain": "<plain>' in by_path
    assert b'"body": "eyJhIjogMX0="' in same(servers, CASES["an Invoke's request line at a URL's Host"])


def test_a_body_in_pieces_is_read_whole(servers: Servers) -> None:
    build = request("plain", "POST", "/pieces", "Content-Type: text/plain", body=b"0123456789" * 1000)

    def piece(start: int, end: int | None = None) -> Build:
        return lambda ids: build(ids)[start:end]

    assert served_here(servers, build)
    answer = same(servers, piece(0, 20), piece(20, 300), piece(300, 5000), piece(5000))
    assert answer.startswith(b"HTTP/1.1 200 ") and b"0123456789" * 1000 in answer


def _alias(ids: Ids) -> bytes:
    return b"GET /2015-03-31/functions/app/aliases/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # aiohttp's


def _invoke(ids: Ids) -> bytes:
    return invoke("app", b'{"rawPath": "/string"}')  # the front door's, as an Invoke


def test_url_requests_pipelined_and_alternating_with_aiohttps_are_answered_in_order(servers: Servers) -> None:
    builds = [*(request("plain", "GET", f"/n{n}", close=False) for n in range(3)), _invoke, _alias,
              request("plain", "GET", "/string", by_host=True, close=False), request("cors", "GET", "/last", ORIGIN)]
    one_by_one = same(servers, *builds)
    assert one_by_one.count(b"HTTP/1.1 ") == len(builds)
    pipelined = same(servers, lambda ids: b"".join(build(ids) for build in builds))
    assert pipelined == one_by_one
    assert [one_by_one.find(f'"rawPath": "/n{n}"'.encode()) for n in range(3)] == sorted(
        one_by_one.find(f'"rawPath": "/n{n}"'.encode()) for n in range(3))
    assert b'"rawPath": "/last"' in one_by_one.rsplit(b"HTTP/1.1 ", 1)[1]


def test_an_event_too_large_to_invoke_is_answered_413(servers: Servers) -> None:
    """A body within the limit whose event is not (base64 grows it by a third): the invoker refuses it."""
    build = request("plain", "PUT", "/big", "Content-Type: application/octet-stream", body=b"\xff" * (5 * 1024 * 1024))
    assert served_here(servers, build)
    answer = same(servers, build)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"x-amzn-ErrorType: RequestTooLargeException" in answer


def test_a_body_over_the_limit_is_aiohttps_413(servers: Servers) -> None:
    build = request("plain", "POST", "/x", body=b"x" * (LIMIT + 1))
    assert route(build(servers["on"][1]), LIMIT) is Route.AIOHTTP
    answer = same(servers, build)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"RequestTooLargeException" in answer


@pytest.mark.slow  # aiohttp closes after its lingering time (10 s)
def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed(servers: Servers) -> None:
    build = request("cors", "POST", "/x", ORIGIN, body=b"0123456789", close=False)
    answer = same(servers, lambda ids: build(ids)[:-4])  # after LAMINA_BODY_TIMEOUT
    assert answer.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in answer
    assert b"RequestTimeoutException" in answer and b"Access-Control" not in answer


@pytest.mark.slow  # aiohttp closes after its lingering time (10 s)
def test_a_body_that_stops_arriving_gets_what_is_answered_without_it(servers: Servers) -> None:
    """An unknown URL's 403 and a preflight's answer do not wait for the body under aiohttp: the front
    door, which reads bodies first, writes the same bytes when the body does not come."""
    unknown = request("unknown", "POST", "/x", body=b"0123456789", close=False)
    assert same(servers, lambda ids: unknown(ids)[:-4]).startswith(b"HTTP/1.1 403 ")
    preflight = request("cors", "OPTIONS", "/x", *PREFLIGHT, "Content-Length: 10", close=False)
    assert same(servers, lambda ids: preflight(ids) + b"0123").startswith(b"HTTP/1.1 200 ")


def test_a_body_shorter_than_its_length_then_close_gets_nothing(servers: Servers) -> None:
    build = request("plain", "POST", "/x", body=b"0123456789")
    assert same(servers, lambda ids: build(ids)[:-3], shut=True) == b""


SMUGGLED = b"<smuggled>"  # where the request for the URL's /smuggled goes
SERVED_SMUGGLED = b'"rawPath": "/smuggled"'


def _hostile(*lines: str, body: bytes = b"", by_host: bool = True) -> Build:
    def build(ids: Ids) -> bytes:
        target = "/x" if by_host else f"/lamina/v1/urls/{ids['plain']}/x"
        head = [f"POST {target} HTTP/1.1", f"Host: {_host(ids['plain']) if by_host else '127.0.0.1'}", *lines]
        smuggled = f"GET /smuggled HTTP/1.1\r\nHost: {_host(ids['plain'])}\r\n\r\n".encode()
        return "\r\n".join(head).encode() + b"\r\n\r\n" + body.replace(SMUGGLED, smuggled)

    return build


ATTACKS: dict[str, Build] = {
    "length and chunked": _hostile("Content-Length: 5", "Transfer-Encoding: chunked", body=b"0\r\n\r\n" + SMUGGLED),
    "chunked": _hostile("Transfer-Encoding: chunked", "Connection: close", body=b"2\r\n{}\r\n0\r\n\r\n"),
    "two lengths": _hostile("Content-Length: 2", "Content-Length: 40", "Connection: close", body=b"{}"),
    "two lengths, by path": _hostile("Content-Length: 2", "Content-Length: 2", "Connection: close", body=b"{}",
                                     by_host=False),
    "a signed length": _hostile("Content-Length: +2", "Connection: close", body=b"{}"),
    "folded": _hostile("Content-Length: 2", " Transfer-Encoding: chunked", "Connection: close", body=b"{}"),
    "space before the colon": _hostile("Content-Length: 2", "Transfer-Encoding : chunked", "Connection: close",
                                       body=b"{}"),
    "a bare LF": lambda ids: _hostile("Content-Length: 2", "Connection: close", body=b"{}")(ids).replace(
        b"Content-Length: 2\r\n", b"Content-Length: 2\n"),
    "a bare LF ending the head": lambda ids: _hostile("Content-Length: 2", "Connection: close", body=b"{}")(
        ids).replace(b"\r\n\r\n", b"\n\n"),
    "two hosts": _hostile("Host: 127.0.0.1", "Content-Length: 2", "Connection: close", body=b"{}"),
    "no host, by path": lambda ids: _hostile("Content-Length: 2", "Connection: close", body=b"{}", by_host=False)(
        ids).replace(b"Host: 127.0.0.1\r\n", b""),
    "expect": _hostile("Content-Length: 2", "Expect: 100-continue", "Connection: close", body=b"{}"),
    "upgrade": _hostile("Content-Length: 2", "Upgrade: websocket", "Connection: Upgrade", body=b"{}"),
    "HTTP/1.0": lambda ids: _hostile("Content-Length: 2", body=b"{}")(ids).replace(b"HTTP/1.1", b"HTTP/1.0"),
    "absolute form": lambda ids: _hostile("Content-Length: 2", "Connection: close", body=b"{}")(ids).replace(
        b"POST /x", f"POST http://{_host(ids['plain'])}/x".encode()),
    "a fragment": lambda ids: _hostile("Content-Length: 2", "Connection: close", body=b"{}")(ids).replace(
        b"/x HTTP", b"/x#f HTTP"),
    "not ASCII": _hostile("Content-Length: 2", "X-Name: caf\u00e9", "Connection: close", body=b"{}"),
    "two content types": _hostile("Content-Length: 2", "Content-Type: text/plain", "Content-Type: application/json",
                                  "Connection: close", body=b"{}"),
    "two user agents": _hostile("User-Agent: a", "user-agent: b", "Connection: close", body=b""),
    "too many headers": _hostile("Content-Length: 2", *(f"X-{n}: {n}" for n in range(130)), "Connection: close",
                                 body=b"{}"),
    "a huge head": _hostile("Content-Length: 2", "X-Pad: " + "a" * 20_000, "Connection: close", body=b"{}"),
    "a request after Connection: close": _hostile("Content-Length: 2", "Connection: close", body=b"{}" + SMUGGLED),
}  # fmt: skip


@pytest.mark.parametrize("attack", ATTACKS)
def test_smuggling_style_heads_are_aiohttps_and_refused_as_before(servers: Servers, attack: str) -> None:
    build = ATTACKS[attack]
    if attack != "a request after Connection: close":  # a plain head, whose trailing bytes go to aiohttp
        assert not served_here(servers, build)
    answer = same(servers, build)
    assert SERVED_SMUGGLED not in answer
