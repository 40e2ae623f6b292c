"""Function URLs' pure parts: addresses, events, response mapping, CORS decisions, SigV4 checks.

Events are compared with real AWS payloads (tests/data/aws_events/) member by member.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from lamina.model import UrlCors
from lamina.urls import addresses, cors
from lamina.urls.events import Caller, EventContext, UrlRequest, build_event, encode_body, is_text, request_time
from lamina.jsonbody import INLINE_BYTES, MAX_VALUES
from lamina.urls.responses import BAD_GATEWAY, UrlResponse, function_response, read_large, streamed_response

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
NOW = datetime(2022, 8, 5, 8, 14, 39, 885000, tzinfo=timezone.utc)
URL_ID = "a" * 32


def aws_event(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((AWS_EVENTS / name).read_text())
    return doc


def shape(value: object) -> object:
    """The value's structure: member names and JSON types, not values (null stands for any type)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def request(**overrides: Any) -> UrlRequest:
    values: dict[str, Any] = {
        "method": "GET", "raw_path": "/", "raw_query": "", "body": b"", "source_ip": "123.123.123.123",
        "headers": (("Host", f"{URL_ID}.lambda-url.us-east-1.localhost:9000"), ("User-Agent", "agent"),
                    ("Accept", "*/*"), ("Connection", "keep-alive")),
    }  # fmt: skip
    values.update(overrides)
    return UrlRequest(**values)


def context(caller: Caller | None = None) -> EventContext:
    return EventContext(url_id=URL_ID, domain_name=addresses.domain_name(URL_ID, "us-east-1"), request_id="id",
                        now=NOW, trace_id="Root=1-62ecd163-5f302e550dcde3b12402207d", forwarded_port=9000,
                        caller=caller)  # fmt: skip


# -- addresses -----------------------------------------------------------------------------


def test_url_ids_are_32_random_lowercase_alphanumerics() -> None:
    ids = {addresses.new_url_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(addresses.is_url_id(i) for i in ids)
    assert addresses.function_url(URL_ID, "eu-west-1", 9000) == f"http://{URL_ID}.lambda-url.eu-west-1.localhost:9000/"


def test_hosts_and_paths_that_name_a_url() -> None:
    assert addresses.parse_host(f"{URL_ID}.lambda-url.us-east-1.localhost:9000") == (URL_ID, "us-east-1")
    assert addresses.parse_host(f"{URL_ID.upper()}.LAMBDA-URL.us-east-1.on.aws") == (URL_ID, "us-east-1")
    assert addresses.parse_host("127.0.0.1:9000") is None
    assert addresses.parse_host(f"{URL_ID[:-1]}.lambda-url.us-east-1.localhost") is None
    assert addresses.split_path_form(f"/lamina/v1/urls/{URL_ID}/a/b%20c") == (URL_ID, "/a/b%20c")
    assert addresses.split_path_form(f"/lamina/v1/urls/{URL_ID}") == (URL_ID, "/")
    assert addresses.split_path_form(f"/lamina/v1/urls/{URL_ID}/") == (URL_ID, "/")
    assert addresses.split_path_form("/2015-03-31/functions") is None


# -- events --------------------------------------------------------------------------------


def test_a_plain_get_has_the_shape_of_a_real_function_url_event() -> None:
    real = aws_event("lambdaFunctionUrlEvent.json")
    event = build_event(request(), context())
    assert list(event) == list(real)  # the same members, in AWS's order
    ours, theirs = shape(event), shape(real)
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert ours["requestContext"] == theirs["requestContext"]
    assert event["requestContext"] == {
        "accountId": "anonymous", "apiId": URL_ID, "domainName": f"{URL_ID}.lambda-url.us-east-1.localhost",
        "domainPrefix": URL_ID,
        "http": {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "123.123.123.123",
                 "userAgent": "agent"},
        "requestId": "id", "routeKey": "$default", "stage": "$default",
        "time": "05/Aug/2022:08:14:39 +0000", "timeEpoch": 1659687279885,
    }  # fmt: skip
    assert real["requestContext"]["time"] == "05/Aug/2022:08:14:39 +0000"  # the same format, the same instant
    headers = event["headers"]
    assert isinstance(headers, dict)
    # The headers AWS adds are there too.
    added = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id", "host", "user-agent"}
    assert added <= set(real["headers"]) and added <= set(headers)
    assert headers["x-forwarded-for"] == "123.123.123.123" and headers["x-forwarded-port"] == "9000"
    assert "connection" not in headers  # hop-by-hop, as on AWS


def test_the_protocol_is_https_over_tls_and_the_clients_own_claims_are_replaced() -> None:
    claims = (("X-Forwarded-Proto", "gopher"), ("X-Forwarded-Port", "1"))
    for secure, proto in ((True, "https"), (False, "http")):
        headers = build_event(request(headers=request().headers + claims, secure=secure), context())["headers"]
        assert isinstance(headers, dict)
        assert (headers["x-forwarded-proto"], headers["x-forwarded-port"]) == (proto, "9000")


def test_cookies_query_and_body_as_aws_shows_them() -> None:
    real = aws_event("lambdaFunctionUrlIAMEvent.json")
    req = request(
        method="post", raw_path="/my/path", raw_query="parameter1=value1&parameter1=value2&parameter2=value",
        body=b"Hello from client!",
        headers=(("Header1", "value1"), ("header2", "value1"), ("HEADER2", "value2"), ("Cookie", "cookie1; cookie2"),
                 ("Content-Type", "text/plain")),
    )  # fmt: skip
    event = build_event(req, context())
    for member in ("rawPath", "rawQueryString", "cookies", "queryStringParameters", "body", "isBase64Encoded"):
        assert event[member] == real[member], member
    headers = event["headers"]
    assert isinstance(headers, dict)
    assert headers["header1"] == "value1" and headers["header2"] == "value1,value2"
    assert "cookie" not in headers
    assert event["requestContext"]["http"]["method"] == "POST"  # type: ignore[index]


def test_an_iam_event_names_its_caller_as_aws_does() -> None:
    real = aws_event("lambdaFunctionUrlIAMEvent.json")
    caller = Caller("AKIA1", "111122223333", "AIDA1", "arn:aws:iam::111122223333:root", "AIDA1")
    event = build_event(request(method="POST", raw_path="/my/path", body=b"x",
                                headers=(("Content-Type", "text/plain"),)), context(caller))  # fmt: skip
    ours = shape(event["requestContext"])
    theirs = shape(real["requestContext"])
    assert ours == theirs
    iam = event["requestContext"]["authorizer"]["iam"]  # type: ignore[index]
    assert iam == {"accessKey": "AKIA1", "accountId": "111122223333", "callerId": "AIDA1", "cognitoIdentity": None,
                   "principalOrgId": None, "userArn": "arn:aws:iam::111122223333:root", "userId": "AIDA1"}  # fmt: skip
    assert event["requestContext"]["accountId"] == "111122223333"  # type: ignore[index]
    # pathParameters and stageVariables: "null or excluded" by AWS; Lamina leaves them out. (No
    # cookies and no query string here: those members are left out too.)
    assert set(real) - set(event) == {"pathParameters", "stageVariables", "cookies", "queryStringParameters"}
    assert set(event) <= set(real)


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain", True), ("text/html; charset=utf-8", True), ("application/json", True),
        ("application/vnd.api+json", True), ("application/xml", True), ("application/javascript", True),
        ("application/x-www-form-urlencoded", False), ("multipart/form-data; boundary=x", False),
        ("application/octet-stream", False), ("image/png", False), (None, False), ("", False),
    ],
)  # fmt: skip
def test_which_bodies_arrive_as_text(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text
    body, is_base64 = encode_body(b"a=1&b=2", content_type)
    assert is_base64 is not text
    assert (body if text else base64.b64decode(body).decode()) == "a=1&b=2"


def test_bodies_that_are_not_utf8_are_base64_whatever_the_type() -> None:
    assert encode_body(b"\xff\xfe", "text/plain") == (base64.b64encode(b"\xff\xfe").decode(), True)
    event = build_event(request(body=b"\x00\x01", headers=(("Content-Type", "application/octet-stream"),)), context())
    assert event["body"] == "AAE=" and event["isBase64Encoded"] is True


def test_no_body_no_body_member() -> None:
    event = build_event(request(raw_query="a=&b=%20x+y"), context())
    assert "body" not in event and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"a": "", "b": " x y"}
    assert event["rawQueryString"] == "a=&b=%20x+y"


def test_request_time_is_english_whatever_the_locale() -> None:
    assert request_time(datetime(2020, 3, 12, 19, 3, 58, tzinfo=timezone.utc)) == "12/Mar/2020:19:03:58 +0000"
    later = datetime(2020, 12, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=2)))
    assert request_time(later) == "30/Nov/2020:23:02:03 +0000"


def test_a_forwarded_for_chain_is_extended() -> None:
    event = build_event(request(headers=(("X-Forwarded-For", "10.0.0.1"),)), context())
    assert event["headers"]["x-forwarded-for"] == "10.0.0.1, 123.123.123.123"  # type: ignore[index]


# -- responses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "body"),
    [
        ('{"hello": "world"}', b'{"hello": "world"}'),  # an object: as the function returned it
        ('"hello"', b"hello"),  # a string: the string itself
        ('["hello", 3, true]', b'["hello",3,true]'),
        ("3", b"3"), ("3.1", b"3.1"), ("true", b"true"), ("null", b"null"),
    ],
)  # fmt: skip
def test_results_without_status_code_are_200_json(returned: str, body: bytes) -> None:
    response = function_response(returned.encode())
    assert (response.status, response.headers, response.body) == (200, (("Content-Type", "application/json"),), body)


def test_a_status_code_result_is_the_response() -> None:
    real = aws_event("lambda-urls-response.json")
    response = function_response(json.dumps(real).encode())
    assert response.status == 201
    assert response.body == b'{ "message": "Hello, world!" }'
    assert response.headers == (
        ("Content-Type", "application/json"), ("My-Custom-Header", "Custom Value"),
        ("Set-Cookie", "Cookie_1=Value1; Expires=21 Oct 2021 07:48 GMT"),
        ("Set-Cookie", "Cookie_2=Value2; Max-Age=78000"),
    )  # fmt: skip


def test_status_code_responses_in_detail() -> None:
    teapot = function_response(b'{"statusCode": "418", "body": "i\'m a teapot"}')
    assert (teapot.status, teapot.body) == (418, b"i'm a teapot")
    assert teapot.headers == (("Content-Type", "application/json"),)  # the default
    html = function_response(b'{"statusCode": 200, "headers": {"content-type": "text/html", "x-n": 5}, "body": "<p>"}')
    assert html.headers == (("content-type", "text/html"), ("x-n", "5"))
    binary = function_response(json.dumps({"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(),
                                           "isBase64Encoded": True}).encode())  # fmt: skip
    assert binary.body == b"\x89PNG"
    empty = function_response(b'{"statusCode": 204}')
    assert (empty.status, empty.body) == (204, b"")
    nested = function_response(b'{"statusCode": 200, "body": {"a": 1}}')
    assert nested.body == b'{"a":1}'
    no_length = function_response(b'{"statusCode": 200, "headers": {"Content-Length": "99"}, "body": "x"}')
    assert no_length.headers == (("Content-Type", "application/json"),)  # Lamina writes its own


@pytest.mark.parametrize(
    "payload",
    [b'{"statusCode": 99}', b'{"statusCode": "abc"}', b'{"statusCode": true}', b'{"statusCode": 200, "headers": []}',
     b'{"statusCode": 200, "cookies": "a=1"}', b"not json"],
)  # fmt: skip
def test_results_aws_could_not_serve_are_502(payload: bytes) -> None:
    assert function_response(payload) == BAD_GATEWAY
    assert BAD_GATEWAY.status == 502 and BAD_GATEWAY.body == b"Internal Server Error"


def test_response_stream_urls_map_a_prelude_or_nothing() -> None:
    prelude = b'{"statusCode":201,"headers":{"a":"b"},"cookies":["c=1"]}' + bytes(8) + b"body\x00bytes"
    response = streamed_response(prelude)
    assert (response.status, response.body) == (201, b"body\x00bytes")
    assert response.headers == (("Content-Type", "application/octet-stream"), ("a", "b"), ("Set-Cookie", "c=1"))
    plain = streamed_response(b'{"statusCode": 201, "body": "x"}')  # no prelude: no mapping
    assert (plain.status, plain.headers, plain.body) == (200, (("Content-Type", "application/json"),),
                                                         b'{"statusCode": 201, "body": "x"}')  # fmt: skip
    raw = streamed_response(b"hello streaming")
    assert (raw.status, raw.headers) == (200, (("Content-Type", "application/octet-stream"),))
    assert streamed_response(b'{"statusCode": 42}' + bytes(8) + b"x") == BAD_GATEWAY


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("payload", [DEEP, b"[" * 5_000 + b"]" * 5_000, b'{"statusCode": 200, "body": ' + DEEP + b"}"],
                         ids=["deep", "deep-but-small", "deep-body"])  # fmt: skip
def test_results_nested_too_deep_are_502_whichever_reader(payload: bytes) -> None:
    assert function_response(payload) == BAD_GATEWAY
    assert function_response(payload, read_large) == BAD_GATEWAY
    stream = streamed_response(payload, read_large)
    assert stream.headers == (("Content-Type", "application/octet-stream"),) and stream.body == payload
    assert streamed_response(payload) == stream


def padded(doc: dict[str, Any]) -> bytes:
    """``doc`` with a member the mapping ignores, big enough for the large reader's own path."""
    return json.dumps({**doc, "padding": list(range(MAX_VALUES))}).encode()


@pytest.mark.parametrize(
    "payload",
    [
        padded({"statusCode": "201", "headers": {"x-n": 5, "X-B": True, "skip": None}, "cookies": ["a=1", 2],
                "body": "text with a \u0000 and \u00e9"}),
        padded({"statusCode": 200, "body": list(range(MAX_VALUES))}),  # a body too big to parse: its compact text
        padded({"statusCode": 200, "body": {"a": [1, 2]}, "isBase64Encoded": False}),
        padded({"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(b"\x89PNG" * 5_000).decode()}),
        padded({"statusCode": 99}), padded({"statusCode": 200, "headers": []}), padded({"hello": "world"}),
        json.dumps(list(range(MAX_VALUES))).encode(), json.dumps("x" * INLINE_BYTES).encode(),
        b'"' + b"a,b" * MAX_VALUES + b'"', b"[1, 2" + b" " * INLINE_BYTES + b"]",
    ],
    ids=["members", "big-body", "object-body", "base64", "bad-status", "bad-headers", "no-status", "array",
         "string", "commas-in-a-string", "whitespace"],
)  # fmt: skip
def test_large_results_map_as_small_ones_do(payload: bytes) -> None:
    assert len(payload) > INLINE_BYTES
    assert function_response(payload, read_large) == function_response(payload)
    assert streamed_response(payload, read_large) == streamed_response(payload)


def test_large_results_headers_or_cookies_too_many_to_serve_are_502() -> None:
    many = {str(n): "v" for n in range(MAX_VALUES + 1)}
    assert function_response(json.dumps({"statusCode": 200, "headers": many}).encode(), read_large) == BAD_GATEWAY
    cookies = json.dumps({"statusCode": 200, "cookies": ["c=1"] * (MAX_VALUES + 1)}).encode()
    assert function_response(cookies, read_large) == BAD_GATEWAY


def test_a_large_prelude_is_read_for_its_members_only() -> None:
    prelude = padded({"statusCode": 203, "headers": {"a": "b"}, "cookies": ["c=1"]})
    response = streamed_response(prelude + bytes(8) + b"rest", read_large)
    assert response == UrlResponse(203, (("Content-Type", "application/octet-stream"), ("a", "b"), ("Set-Cookie", "c=1")),
                                   b"rest")  # fmt: skip
    deep = streamed_response(DEEP + bytes(8) + b"rest", read_large)
    assert (deep.status, deep.headers) == (200, (("Content-Type", "application/octet-stream"),))


def test_results_that_cannot_be_written_back_are_502() -> None:
    assert function_response(b'"\\ud800"') == BAD_GATEWAY  # a lone surrogate has no UTF-8 form
    assert function_response(b'"\\ud800"' + b" " * INLINE_BYTES, read_large) == BAD_GATEWAY


# -- CORS ----------------------------------------------------------------------------------

SITE = "https://www.example.com"


def test_preflight_for_an_allowed_origin() -> None:
    config = UrlCors(allow_origins=(SITE,), allow_methods=("GET", "POST"), allow_headers=("x-custom", "content-type"),
                     max_age=300, allow_credentials=True, expose_headers=("x-total",))  # fmt: skip
    assert cors.is_preflight("OPTIONS", SITE, "POST")
    assert not cors.is_preflight("OPTIONS", SITE, None) and not cors.is_preflight("GET", SITE, "POST")
    assert dict(cors.preflight_headers(config, "https://WWW.example.com")) == {
        "Access-Control-Allow-Origin": "https://WWW.example.com", "Vary": "Origin",
        "Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": "GET,POST",
        "Access-Control-Allow-Headers": "x-custom,content-type", "Access-Control-Max-Age": "300",
    }  # fmt: skip
    assert dict(cors.response_headers(config, SITE)) == {
        "Access-Control-Allow-Origin": SITE, "Vary": "Origin", "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": "x-total",
    }  # fmt: skip


def test_origins_that_are_not_allowed_get_no_cors_headers() -> None:
    config = UrlCors(allow_origins=(SITE,), allow_methods=("*",))
    assert cors.preflight_headers(config, "https://evil.example") == ()
    assert cors.response_headers(config, "https://evil.example") == ()
    assert cors.response_headers(config, None) == ()
    assert cors.preflight_headers(UrlCors(), SITE) == ()


def test_wildcard_origins() -> None:
    assert dict(cors.preflight_headers(UrlCors(allow_origins=("*",)), SITE)) == {"Access-Control-Allow-Origin": "*"}
    # Browsers refuse "*" with credentials: the origin is echoed.
    with_credentials = UrlCors(allow_origins=("*",), allow_credentials=True)
    assert cors.allowed_origin(with_credentials, SITE) == SITE
