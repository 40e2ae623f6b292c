"""HTTP API routes served by the front door (lamina/dataplane) against aiohttp: the same requests, on
raw sockets, to a server with it and to one without it (LAMINA_FRONT_DOOR=off) get the same bytes
back, apart from dates and request ids; requests it must not read go to aiohttp, refused as before."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lamina.dataplane.head import ApiCall, route
from tests.conftest import LaminaProcess, deploy
from tests.integration.test_frontdoor import LIMIT, exchange, normal, on_and_off
from tests.integration.test_http_apis import gateway

APP = """
import json, time

def handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/error"):
        raise RuntimeError("boom")
    if path.endswith("/cookies"):
        return {"statusCode": 201, "headers": {"x-custom": "yes"}, "cookies": ["a=1; Path=/", "b=2"],
                "body": "created"}
    if path.endswith("/multi"):
        return {"statusCode": 200, "headers": {"x-one": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": "multi"}
    if path.endswith("/empty"):
        return {"statusCode": 204}
    if path.endswith("/no-type"):
        return {"statusCode": 200, "headers": {"content-type": ""}, "body": "?"}
    if path.endswith("/bad-header"):
        return {"statusCode": 200, "headers": {"x-bad": "a\\r\\nInjected: 1"}, "body": "x"}
    if path.endswith("/slow"):
        time.sleep(2)
        return {"statusCode": 200, "body": "late"}
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    seen = {k: headers.get(k) for k in ("x-one", "content-type", "origin", "user-agent")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({
        "version": event.get("version"), "path": path, "route": event.get("routeKey") or event.get("resource"),
        "query": event.get("rawQueryString", event.get("multiValueQueryStringParameters")),
        "cookies": event.get("cookies"), "headers": seen, "params": event.get("pathParameters"),
        "body": event.get("body"), "base64": event.get("isBase64Encoded"),
    }, sort_keys=True)}
"""
AUTHORIZER = """
def handler(event, context):
    return {"isAuthorized": event.get("headers", {}).get("authorization") == "yes", "context": {"who": "me"}}
"""


def _uri(arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"


def _apis(server: LaminaProcess) -> dict[str, str]:
    """The APIs every test uses, by role: their ids on ``server``."""
    app = deploy(server.client(), "app", APP, Timeout=10)["FunctionArn"]
    authorizer = deploy(server.client(), "authorizer", AUTHORIZER)["FunctionArn"]
    gw = gateway(server.endpoint)
    main = gw.create_api(Name="main", ProtocolType="HTTP", Target=app)["ApiId"]  # $default route, payload 2.0
    v1 = gw.create_integration(ApiId=main, IntegrationType="AWS_PROXY", IntegrationUri=app,
                               PayloadFormatVersion="1.0")["IntegrationId"]  # fmt: skip
    gw.create_route(ApiId=main, RouteKey="ANY /v1/{proxy+}", Target=f"integrations/{v1}")
    quick = gw.create_integration(ApiId=main, IntegrationType="AWS_PROXY", IntegrationUri=app,
                                  PayloadFormatVersion="2.0", TimeoutInMillis=1000)["IntegrationId"]  # fmt: skip
    gw.create_route(ApiId=main, RouteKey="GET /timed/{proxy+}", Target=f"integrations/{quick}")
    cors = gw.create_api(Name="cors", ProtocolType="HTTP", Target=app, CorsConfiguration={
        "AllowOrigins": ["https://example.com"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-one"],
        "ExposeHeaders": ["x-custom"], "MaxAge": 60})["ApiId"]  # fmt: skip
    guarded = gw.create_api(Name="guarded", ProtocolType="HTTP")["ApiId"]
    made = gw.create_authorizer(ApiId=guarded, Name="auth", AuthorizerType="REQUEST", AuthorizerUri=_uri(authorizer),
                                AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True,
                                IdentitySource=["$request.header.Authorization"])  # fmt: skip
    target = gw.create_integration(ApiId=guarded, IntegrationType="AWS_PROXY", IntegrationUri=app,
                                   PayloadFormatVersion="2.0")["IntegrationId"]  # fmt: skip
    gw.create_route(ApiId=guarded, RouteKey="ANY /{proxy+}", Target=f"integrations/{target}",
                    AuthorizationType="CUSTOM", AuthorizerId=made["AuthorizerId"])  # fmt: skip
    gw.create_stage(ApiId=guarded, StageName="$default", AutoDeploy=True)
    return {"main": main, "cors": cors, "guarded": guarded}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[LaminaProcess, dict[str, str]]]]:
    """The same APIs on a server with the front door ("on") and one without ("off")."""
    with on_and_off(tmp_path_factory) as started:
        yield {name: (server, _apis(server)) for name, server in started.items()}


Build = Callable[[dict[str, str]], bytes]


def request(api: str, method: str, path: str, *headers: str, body: bytes = b"", by_host: bool = False,
            close: bool = True) -> Build:  # fmt: skip
    """A request for API ``api`` (by role), at its Host address or its path form."""

    def build(ids: dict[str, str]) -> bytes:
        api_id = ids[api]
        target = path if by_host else f"/_aws/execute-api/{api_id}{path}"
        host = f"{api_id}.execute-api.localhost" if by_host else "127.0.0.1"
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *headers]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        if close:
            lines.append("Connection: close")
        return "\r\n".join(lines).encode() + b"\r\n\r\n" + body

    return build


def same(servers: dict[str, tuple[LaminaProcess, dict[str, str]]], *builds: Build, shut: bool = False) -> bytes:
    """What both servers answer (asserted equal), from the server with the front door."""
    answers = []
    for name in ("on", "off"):
        server, ids = servers[name]
        raw = exchange(server, *(build(ids) for build in builds), shut=shut)
        answers.append(normal(raw))
    assert answers[0] == answers[1]
    return answers[0]


def fast(servers: dict[str, tuple[LaminaProcess, dict[str, str]]], build: Build) -> bool:
    return isinstance(route(build(servers["on"][1]), LIMIT), ApiCall)


CASES = {
    "payload 2.0, by path": request("main", "GET", "/some/where?a=1&b=2&a=3", "X-One: 1", "Cookie: c=1; d=2"),
    "payload 2.0, by Host": request("main", "POST", "/posted", "Content-Type: text/plain", body=b"hello",
                                    by_host=True),
    "payload 2.0, binary body": request("main", "PUT", "/bin", "Content-Type: application/octet-stream",
                                        body=bytes(range(256))),
    "payload 1.0": request("main", "GET", "/v1/deep/path?q=1&q=2", "X-One: 1", "X-One: 2"),
    "payload 1.0, posted": request("main", "POST", "/v1/form", "Content-Type: application/json", body=b'{"a":1}'),
    "cookies set": request("main", "GET", "/cookies"),
    "repeated headers (1.0)": request("main", "GET", "/v1/multi"),
    "no content": request("main", "GET", "/empty"),
    "an empty content type": request("main", "GET", "/no-type"),
    "function error": request("main", "GET", "/error"),
    "v1 function error": request("main", "DELETE", "/v1/error"),
    "a header that cannot be written": request("main", "GET", "/bad-header"),
    "no route": request("guarded", "GET", "/"),
    "CORS preflight": request("cors", "OPTIONS", "/x", "Origin: https://example.com",
                              "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: x-one"),
    "CORS response": request("cors", "GET", "/cookies", "Origin: https://example.com"),
    "CORS, another origin": request("cors", "GET", "/x", "Origin: https://other.example"),
    "authorizer refuses": request("guarded", "GET", "/secret", "Authorization: no"),
    "no identity": request("guarded", "GET", "/secret"),
    "authorizer allows": request("guarded", "PATCH", "/secret", "Authorization: yes", body=b"p"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_route_gets_the_answer_aiohttp_gives(servers: dict[str, tuple[LaminaProcess, dict[str, str]]],
                                              case: str) -> None:  # fmt: skip
    build = CASES[case]
    assert fast(servers, build)
    answer = same(servers, build)
    kept = same(servers, request("main", "GET", "/first", close=False), build)  # after another, kept alive
    if case == "a header that cannot be written":
        assert answer == b"" and kept.count(b"HTTP/1.1 ") == 1  # closed unanswered
        return
    assert answer.startswith(b"HTTP/1.1 ") and b"apigw-requestid: <id>" in answer
    assert kept.count(b"HTTP/1.1 ") == 2


def test_what_the_answers_say(servers: dict[str, tuple[LaminaProcess, dict[str, str]]]) -> None:
    cookies = same(servers, CASES["cookies set"])
    assert cookies.startswith(b"HTTP/1.1 201 ") and b"Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\n" in cookies
    assert same(servers, CASES["function error"]).startswith(b"HTTP/1.1 500 ")
    assert same(servers, CASES["authorizer refuses"]).startswith(b"HTTP/1.1 403 ")
    assert same(servers, CASES["no route"]).startswith(b"HTTP/1.1 404 ")
    preflight = same(servers, CASES["CORS preflight"])
    assert preflight.startswith(b"HTTP/1.1 204 ") and b"access-control-allow-origin: https://example.com" in preflight.lower()
    v1 = same(servers, CASES["payload 1.0"])
    assert b'"route": "/v1/{proxy+}"' in v1 and b'"q": ["1", "2"]' in v1


def test_an_integration_timeout_is_answered_503_and_the_connection_closed_after(
    servers: dict[str, tuple[LaminaProcess, dict[str, str]]],
) -> None:
    build = request("main", "GET", "/timed/slow", close=False)
    assert fast(servers, build)
    answer = same(servers, build)
    assert answer.startswith(b"HTTP/1.1 503 ") and b"Connection: close" in answer and b"late" not in answer


def test_an_id_no_api_owns_is_aiohttps_403(servers: dict[str, tuple[LaminaProcess, dict[str, str]]]) -> None:
    unknown = same(servers, lambda ids: request("main", "GET", "/x")({"main": "abcdefghij"}))
    assert unknown.startswith(b"HTTP/1.1 403 ")


def test_a_body_that_stops_arriving_is_answered_408(servers: dict[str, tuple[LaminaProcess, dict[str, str]]]) -> None:
    build = request("cors", "POST", "/x", "Origin: https://example.com", body=b"0123456789", close=False)
    answer = same(servers, lambda ids: build(ids)[:-4])
    assert answer.startswith(b"HTTP/1.1 408 ") and b"Connection: close" in answer


def _hostile(api: str, *lines: str, body: bytes = b"") -> Build:
    def build(ids: dict[str, str]) -> bytes:
        head = [f"POST /_aws/execute-api/{ids[api]}/x HTTP/1.1", "Host: 127.0.0.1", *lines]
        return "\r\n".join(head).encode() + b"\r\n\r\n" + body

    return build


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
ATTACKS = {
    "length and chunked": _hostile("main", "Content-Length: 5", "Transfer-Encoding: chunked",
                                   body=b"0\r\n\r\n" + SMUGGLED),
    "two lengths": _hostile("main", "Content-Length: 2", "Content-Length: 40", "Connection: close", body=b"{}"),
    "a signed length": _hostile("main", "Content-Length: +2", "Connection: close", body=b"{}"),
    "folded": _hostile("main", "Content-Length: 2", " Transfer-Encoding: chunked", "Connection: close", body=b"{}"),
    "space before the colon": _hostile("main", "Content-Length: 2", "Transfer-Encoding : chunked",
                                       "Connection: close", body=b"{}"),
    "a bare LF": lambda ids: _hostile("main", "Content-Length: 2", "Connection: close", body=b"{}")(ids).replace(
        b"Content-Length: 2\r\n", b"Content-Length: 2\n"),
    "two hosts": _hostile("main", "Host: other", "Content-Length: 2", "Connection: close", body=b"{}"),
    "expect": _hostile("main", "Content-Length: 2", "Expect: 100-continue", "Connection: close", body=b"{}"),
    "upgrade": _hostile("main", "Content-Length: 2", "Upgrade: websocket", "Connection: close", body=b"{}"),
    "HTTP/1.0": lambda ids: _hostile("main", "Content-Length: 2", body=b"{}")(ids).replace(b"HTTP/1.1", b"HTTP/1.0"),
    "a fragment": lambda ids: _hostile("main", "Content-Length: 2", "Connection: close", body=b"{}")(ids).replace(
        b"/x HTTP", b"/x#f HTTP"),
    "not ASCII": _hostile("main", "Content-Length: 2", "X-Name: caf\u00e9", "Connection: close", body=b"{}"),
    "two user agents": _hostile("main", "Content-Length: 2", "User-Agent: a", "User-Agent: b", "Connection: close",
                                body=b"{}"),
    "too many headers": _hostile("main", "Content-Length: 2", *(f"X-{n}: {n}" for n in range(130)),
                                 "Connection: close", body=b"{}"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_smuggling_style_heads_are_aiohttps_and_refused_as_before(
    servers: dict[str, tuple[LaminaProcess, dict[str, str]]], attack: str,
) -> None:
    build = ATTACKS[attack]
    assert not fast(servers, build)
    answer = same(servers, build)
    assert b"smuggled" not in answer
