"""HTTP API events (payload 1.0 and 2.0) and response mapping, compared with AWS's captured events."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from lamina.gateway.http import responses
from lamina.gateway.http.events import RouteContext, event_v1, event_v2
from lamina.urls.events import UrlRequest

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
NOW_MS = 1587481701067
# What an authorizer or mutual TLS adds: not part of a request without them.
NOT_WITHOUT_AUTH = {"authentication", "authorizer", "clientCert"}
# Maps whose keys are the request's own (header names, parameters): only their values' types compare.
FREE_MAPS = {"headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters",
             "pathParameters", "stageVariables"}


def shape(value: object, drop: frozenset[str] = frozenset()) -> object:
    """``value``'s keys, recursively, and its leaves' JSON types (null matches anything)."""
    if isinstance(value, dict):
        return {k: shape(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [shape(value[0], drop)] if value else []
    if value is None:
        return None
    return type(value).__name__


def same_shape(ours: object, aws: object) -> list[str]:
    """Where ``ours`` differs from ``aws`` in keys or value types (``None`` on either side matches)."""
    problems: list[str] = []

    def walk(a: object, b: object, where: str) -> None:
        if a is None or b is None:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            if where.rpartition(".")[2] in FREE_MAPS:
                a_types = {json.dumps(v) for v in a.values()}
                b_types = {json.dumps(v) for v in b.values()}
                if a_types != b_types:
                    problems.append(f"{where}: values {a_types} vs {b_types}")
                return
            if set(a) != set(b):
                problems.append(f"{where}: {sorted(set(a) ^ set(b))}")
            for key in set(a) & set(b):
                walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if a and b:
                walk(a[0], b[0], f"{where}[0]")
        elif a != b:
            problems.append(f"{where}: {a} vs {b}")

    walk(ours, aws, "event")
    return problems


def _request(**overrides: object) -> UrlRequest:
    values: dict[str, object] = dict(
        method="GET", raw_path="/my/path", raw_query="parameter1=value1&parameter1=value2&parameter2=value",
        headers=(("Header1", "value1"), ("Header2", "value1"), ("Header2", "value2"), ("Cookie", "cookie1; cookie2"),
                 ("User-Agent", "agent"), ("Host", "abcdefghij.execute-api.localhost:9000")),
        body=b"", source_ip="192.168.0.1",
    )  # fmt: skip
    values.update(overrides)
    return UrlRequest(**values)  # type: ignore[arg-type]


def _context(**overrides: object) -> RouteContext:
    values: dict[str, object] = dict(
        api_id="abcdefghij", account_id="123456789012", domain_name="abcdefghij.execute-api.localhost",
        stage="$default", route_key="$default", resource="$default", route_id="$default", path_parameters={},
        stage_variables={}, request_id="id", trace_id="Root=1-5e9f0c65-1de4d666d4dd26aced652b6c", forwarded_port=9000,
    )  # fmt: skip
    values.update(overrides)
    return RouteContext(**values)  # type: ignore[arg-type]


def _aws(name: str) -> dict[str, object]:
    doc = json.loads((AWS_EVENTS / name).read_text())
    assert isinstance(doc, dict)
    return doc


def test_v2_event_has_the_shape_of_aws_sample_with_everything() -> None:
    ctx = _context(route_key="GET /my/{name}", resource="/my/{name}", path_parameters={"name": "path"},
                   stage_variables={"stageVariable1": "value1"})  # fmt: skip
    ours = event_v2(_request(), ctx, NOW_MS)
    aws = _aws("apiGatewayProxyV2Event_GET.json")
    assert same_shape(shape(ours), shape(aws, frozenset(NOT_WITHOUT_AUTH))) == []
    assert list(ours) == ["version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
                          "queryStringParameters", "requestContext", "pathParameters", "stageVariables",
                          "isBase64Encoded"]  # fmt: skip
    assert ours["cookies"] == ["cookie1", "cookie2"]
    assert ours["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    headers = ours["headers"]
    assert isinstance(headers, dict) and headers["header2"] == "value1,value2" and "cookie" not in headers
    assert ours["pathParameters"] == {"name": "path"} and ours["routeKey"] == "GET /my/{name}"
    context = ours["requestContext"]
    assert isinstance(context, dict)
    assert context["routeKey"] == "GET /my/{name}" and context["stage"] == "$default"
    assert context["accountId"] == "123456789012" and context["time"] == "21/Apr/2020:15:08:21 +0000"
    assert context["timeEpoch"] == NOW_MS


def test_v2_event_without_extras_is_like_aws_minimal_sample() -> None:
    ours = event_v2(_request(raw_query="", headers=(("Accept", "*/*"), ("User-Agent", "curl/7.58.0"))), _context(),
                    NOW_MS)  # fmt: skip
    aws = _aws("apigw-v2-request-no-authorizer.json")
    assert same_shape(shape(ours), shape(aws, frozenset(NOT_WITHOUT_AUTH))) == []
    assert set(ours) == set(aws)


def test_both_payloads_say_https_over_tls_and_replace_the_clients_claims() -> None:
    claims = (("x-forwarded-proto", "gopher"), ("X-Forwarded-Port", "1"))
    for secure, proto in ((True, "https"), (False, "http")):
        req = _request(headers=_request().headers + claims, secure=secure)
        v2 = event_v2(req, _context(), NOW_MS)["headers"]
        assert isinstance(v2, dict) and (v2["x-forwarded-proto"], v2["x-forwarded-port"]) == (proto, "9000")
        v1 = event_v1(req, _context(), NOW_MS)
        assert v1["multiValueHeaders"]["X-Forwarded-Proto"] == [proto]  # type: ignore[index]
        assert "x-forwarded-proto" not in v1["multiValueHeaders"]  # type: ignore[operator]


def test_v1_event_has_the_shape_of_aws_sample() -> None:
    ctx = _context(route_key="GET /my/path", resource="/my/path")
    ours = event_v1(_request(), ctx, NOW_MS)
    aws = _aws("apiGatewayProxyEvent.json")
    assert same_shape(shape(ours), shape(aws, frozenset(NOT_WITHOUT_AUTH))) == []
    assert set(ours) == set(aws)
    assert ours["headers"] == {**{"Header1": "value1", "Header2": "value2", "Cookie": "cookie1; cookie2",
                                  "User-Agent": "agent", "Host": "abcdefghij.execute-api.localhost:9000",
                                  "X-Forwarded-For": "192.168.0.1", "X-Forwarded-Port": "9000",
                                  "X-Forwarded-Proto": "http", "X-Amzn-Trace-Id": ctx.trace_id}}  # fmt: skip
    multi = ours["multiValueHeaders"]
    assert isinstance(multi, dict) and multi["Header2"] == ["value1", "value2"]
    assert ours["queryStringParameters"] == {"parameter1": "value2", "parameter2": "value"}
    assert ours["multiValueQueryStringParameters"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert ours["pathParameters"] is None and ours["stageVariables"] is None and ours["body"] is None
    context = ours["requestContext"]
    assert isinstance(context, dict) and context["resourcePath"] == "/my/path" and context["httpMethod"] == "GET"
    assert context["requestTimeEpoch"] == NOW_MS and context["requestTime"] == "21/Apr/2020:15:08:21 +0000"


def test_bodies_are_text_or_base64_by_content_type() -> None:
    binary = bytes(range(256))
    for build in (event_v1, event_v2):
        text = build(_request(method="POST", body=b'{"a": 1}', headers=(("Content-Type", "application/json"),)),
                     _context(), NOW_MS)  # fmt: skip
        assert text["body"] == '{"a": 1}' and text["isBase64Encoded"] is False
        raw = build(_request(method="POST", body=binary, headers=(("Content-Type", "image/png"),)), _context(), NOW_MS)
        assert raw["isBase64Encoded"] is True and base64.b64decode(str(raw["body"])) == binary


def test_v2_response_inference_and_structured_responses() -> None:
    inferred = responses.response_v2(b'{"hello": "world"}')
    assert inferred.status == 200 and json.loads(inferred.body) == {"hello": "world"}
    assert ("Content-Type", "application/json") in inferred.headers
    structured = responses.response_v2(json.dumps({
        "statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2"], "body": "created",
    }).encode())  # fmt: skip
    assert structured.status == 201 and structured.body == b"created"
    assert [v for k, v in structured.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    binary = responses.response_v2(json.dumps({
        "statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True,
    }).encode())  # fmt: skip
    assert binary.body == b"\x00\x01"


def test_v1_response_requires_status_and_merges_multi_value_headers() -> None:
    mapped = responses.response_v1(json.dumps({
        "statusCode": 202, "headers": {"x-a": "1"}, "multiValueHeaders": {"x-b": ["2", "3"], "x-a": ["1"]},
        "body": "ok",
    }).encode())  # fmt: skip
    assert mapped.status == 202 and mapped.body == b"ok"
    assert [(k, v) for k, v in mapped.headers if k.startswith("x-")] == [("x-a", "1"), ("x-b", "2"), ("x-b", "3")]
    assert responses.response_v1(b'{"hello": "world"}') is responses.INTERNAL_ERROR
    assert responses.response_v1(b'"text"') is responses.INTERNAL_ERROR


def test_malformed_results_are_internal_errors() -> None:
    for payload in (b"not json", b'{"statusCode": "abc"}', b'{"statusCode": 200, "headers": []}',
                    b'{"statusCode": 200, "body": 5, "isBase64Encoded": true}', b"[" * 100_000):  # fmt: skip
        assert responses.response_v2(payload) is responses.INTERNAL_ERROR
        assert responses.response_v1(payload) is responses.INTERNAL_ERROR
    assert json.loads(responses.INTERNAL_ERROR.body) == {"message": "Internal Server Error"}
    assert responses.INTERNAL_ERROR.status == 500


def test_large_results_are_read_in_outline() -> None:
    big = json.dumps({"statusCode": 200, "body": "x" * 100_000, "other": list(range(20_000))}).encode()
    mapped = responses.response_v2(big, responses.read_large)
    assert mapped.status == 200 and mapped.body == b"x" * 100_000
    big_v1 = json.dumps({"statusCode": 200, "multiValueHeaders": {"a": ["b"]}, "body": "y",
                         "other": list(range(20_000))}).encode()  # fmt: skip
    mapped_v1 = responses.response_v1(big_v1, responses.read_large_v1)
    assert mapped_v1.status == 200 and ("a", "b") in mapped_v1.headers
