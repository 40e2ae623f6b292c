"""REST APIs' pure parts: path parts, resource matching, the proxy event, the response mapping.

The event is compared with AWS's own REST API proxy event (tests/data/aws_events/apigw-request.json)
key for key, recursively.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from lamina.gateway.rest import paths
from lamina.gateway.rest.events import RestContext, RestRequest, build_event
from lamina.gateway.rest.integrations import function_of, resolve_function, validate_integration
from lamina.gateway.rest.errors import BadRequest
from lamina.gateway.rest.media import accepts_binary, matches
from lamina.gateway.rest.patches import Patch, parse_patches
from lamina.gateway.rest.responses import BAD_GATEWAY, proxy_response, read_large
from lamina.jsonbody import INLINE_BYTES

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
NOW = datetime(2020, 5, 15, 6, 1, 9, 693000, tzinfo=timezone.utc)


# -- path parts --------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["users", "v1.2", "a-b_c", "{id}", "{proxy+}"])
def test_path_parts_aws_accepts(part: str) -> None:
    assert paths.path_part_error(part) is None


@pytest.mark.parametrize("part", ["", "a/b", "{id", "id}", "{}", "{a+b}", "a b", "{pro xy+}", "..%2f", "ü", "{+}"])
def test_path_parts_aws_refuses_with_its_message(part: str) -> None:
    assert paths.path_part_error(part) == paths.INVALID_PATH_PART


# -- matching ----------------------------------------------------------------------------------


def tree(*templates: str) -> paths.Tree[str]:
    return paths.Tree((t, t) for t in templates)


def reached(t: paths.Tree[str], path: str) -> tuple[str, dict[str, str]] | None:
    found = t.match(path)
    return None if found is None else (found.value, found.path_parameters)


def test_static_beats_variable_beats_greedy() -> None:
    t = tree("/", "/users", "/users/me", "/users/{id}", "/{proxy+}")
    assert reached(t, "/") == ("/", {})
    assert reached(t, "/users") == ("/users", {})
    assert reached(t, "/users/me") == ("/users/me", {})
    assert reached(t, "/users/42") == ("/users/{id}", {"id": "42"})
    assert reached(t, "/users/42/posts") == ("/{proxy+}", {"proxy": "users/42/posts"})
    assert reached(t, "/other") == ("/{proxy+}", {"proxy": "other"})


def test_a_dead_end_gives_way_to_the_next_branch() -> None:
    t = tree("/", "/a/b", "/{x}/c")
    assert reached(t, "/a/c") == ("/{x}/c", {"x": "a"})
    assert reached(t, "/a/b") == ("/a/b", {})
    assert reached(t, "/a/d") is None


def test_greedy_needs_a_segment_and_intermediate_resources_need_not_exist() -> None:
    t = tree("/api/{proxy+}")
    assert reached(t, "/api") is None  # /api was not created as a resource of its own here
    assert reached(t, "/api/x/y/") == ("/api/{proxy+}", {"proxy": "x/y"})
    assert reached(tree("/{proxy+}"), "/") is None


def test_trailing_slash_and_hostile_paths() -> None:
    t = tree("/", "/users", "/users/{id}")
    assert reached(t, "/users/") == ("/users", {})
    assert reached(t, "/users/..") == ("/users/{id}", {"id": ".."})
    assert reached(t, "/users//x") is None
    assert reached(t, "/users/%2e%2e%2f") == ("/users/{id}", {"id": "%2e%2e%2f"})
    assert reached(t, "/" + "a/" * 10_000) is None


def test_no_resource_no_match() -> None:
    assert reached(tree("/users"), "/") is None


def test_method_beats_any() -> None:
    methods = {"GET": "get", "ANY": "any"}
    assert paths.pick_method(methods, "get") == "get"
    assert paths.pick_method(methods, "DELETE") == "any"
    assert paths.pick_method({"GET": "get"}, "POST") is None


# -- integrations, patches, media types ----------------------------------------------------------

FN = "arn:aws:lambda:us-east-1:000000000000:function:hello"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"


def test_lambda_proxy_uri() -> None:
    assert function_of("AWS_PROXY", URI) == FN
    assert function_of("AWS", URI) is None
    assert function_of("AWS_PROXY", "arn:aws:apigateway:us-east-1:s3:path/bucket") is None
    assert resolve_function(FN + ":${stageVariables.alias}", {"alias": "live"}) == FN + ":live"
    assert resolve_function(FN + ":${stageVariables.alias}", {}) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (("LAMBDA", URI, "POST", None), "1 validation error detected: Value 'LAMBDA' at 'putIntegrationInput.type' "
         "failed to satisfy constraint: Member must satisfy enum value set: [HTTP, AWS, MOCK, HTTP_PROXY, AWS_PROXY]"),
        (("AWS_PROXY", URI, None, None), "Enumeration value for HttpMethod must be non-empty"),
        (("AWS_PROXY", None, "POST", None), "Invalid ARN specified in the request"),
        (("AWS_PROXY", "https://x", "POST", None), "Invalid ARN specified in the request"),
        (("AWS", "arn:aws:apigateway:us-east-1:s3:bucket", "POST", None), "AWS ARN for integration must contain path or action"),
        (("AWS_PROXY", "arn:aws:apigateway:us-east-1:s3:path/b", "POST", None),
         "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."),
        (("HTTP_PROXY", "not a url", "GET", None), "Invalid HTTP endpoint specified for URI"),
        (("AWS_PROXY", URI, "POST", 30_000), "Timeout should be between 50 ms and 29000 ms"),
    ],
)  # fmt: skip
def test_integrations_aws_refuses(args: tuple[str, str | None, str | None, int | None], message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        validate_integration(*args)
    assert raised.value.message == message


def test_integrations_aws_accepts() -> None:
    validate_integration("MOCK", None, None, None)
    validate_integration("HTTP_PROXY", "https://${stageVariables.host}/x", "GET", 50)
    validate_integration("AWS_PROXY", URI, "POST", 29_000)


def test_patches() -> None:
    assert parse_patches([{"op": "replace", "path": "/name", "value": "x"}]) == [Patch("replace", "/name", "x")]
    for bad in ({"op": "frob", "path": "/name"}, {"op": "replace", "path": "name"}, "x"):
        with pytest.raises(BadRequest):
            parse_patches([bad])


def test_media_types() -> None:
    assert matches("image/png; q=1", "image/*")
    assert matches("application/octet-stream", "*/*")
    assert not matches("text/html", "image/*")
    assert accepts_binary("text/html, image/png", ("image/png",))
    assert not accepts_binary("*/*", ("image/png",))
    assert not accepts_binary(None, ("*/*",))


# -- the event ---------------------------------------------------------------------------------


def aws_event(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((AWS_EVENTS / name).read_text())
    return doc


def request(**overrides: Any) -> RestRequest:
    values: dict[str, Any] = dict(
        method="POST", path="/hello/world", raw_query="name=me",
        headers=(("Content-Type", "application/json"), ("User-Agent", "PostmanRuntime/2.4.5"), ("headerName", "headerValue")),
        body=b'{\r\n\t"a": 1\r\n}', source_ip="192.168.196.186",
    )  # fmt: skip
    values.update(overrides)
    return RestRequest(**values)


def context(**overrides: Any) -> RestContext:
    values: dict[str, Any] = dict(
        api_id="gy415nuibc", account_id="12345678912", stage="testStage", resource_id="roq9wj",
        resource_path="/{proxy+}", path_parameters={"proxy": "hello/world"},
        stage_variables={"stageVariableName": "stageVariableValue"}, binary_media_types=(),
        domain_name="gy415nuibc.execute-api.localhost", request_id="deef4878-7910-11e6-8f14-25afc3e9ae33",
        extended_request_id="TWegAcC4EowCHnA=", trace_id="Root=1-5e66d96f-7491f09xmpl79d18acf3d050", now=NOW,
        forwarded_port=443,
    )  # fmt: skip
    values.update(overrides)
    return RestContext(**values)


def key_tree(value: object) -> object:
    """The keys of every object, recursively (the values of headers and parameters aside)."""
    if isinstance(value, dict):
        return {k: key_tree(v) for k, v in value.items()}
    return None


def test_event_has_aws_keys_key_for_key() -> None:
    aws = aws_event("apigw-request.json")
    # The sample comes from a request with an authorizer, an API key and a client certificate;
    # without them AWS leaves those out and names the caller's organisation (null).
    del aws["requestContext"]["authorizer"]
    for key in ("clientCert", "apiKey", "apiKeyId"):
        del aws["requestContext"]["identity"][key]
    aws["requestContext"]["identity"]["principalOrgId"] = None
    aws["isBase64Encoded"] = False  # in every REST event AWS sends; the sample predates it
    ours: Any = build_event(request(), context())
    assert key_tree(ours["requestContext"]) == key_tree(aws["requestContext"])
    for key in ("headers", "multiValueHeaders", "queryStringParameters", "multiValueQueryStringParameters"):
        ours[key] = aws[key] = None
    assert key_tree(ours) == key_tree(aws)
    for key in ("resource", "path", "httpMethod", "pathParameters", "stageVariables", "body"):
        assert ours[key] == aws[key], key
    for key in ("resourceId", "resourcePath", "httpMethod", "requestTime", "requestTimeEpoch", "protocol", "stage",
                "requestId", "extendedRequestId", "accountId", "apiId"):
        assert ours["requestContext"][key] == aws["requestContext"][key], key
    assert ours["requestContext"]["path"] == "/testStage/hello/world"
    assert ours["requestContext"]["identity"]["sourceIp"] == "192.168.196.186"
    assert ours["requestContext"]["identity"]["userAgent"] == "PostmanRuntime/2.4.5"


def test_the_event_says_https_over_tls_as_aws_samples_do() -> None:
    claims = (("X-Forwarded-Proto", "gopher"), ("x-forwarded-port", "1"))
    for secure, proto in ((True, "https"), (False, "http")):
        event: Any = build_event(request(headers=request().headers + claims, secure=secure), context())
        assert (event["headers"]["X-Forwarded-Proto"], event["headers"]["X-Forwarded-Port"]) == (proto, "443")
        assert event["multiValueHeaders"]["X-Forwarded-Proto"] == [proto]
        assert "x-forwarded-port" not in event["headers"]


def test_event_headers_and_query_keep_every_value() -> None:
    event: Any = build_event(
        request(headers=(("Accept", "a"), ("accept", "b"), ("X-Forwarded-For", "1.2.3.4"), ("Connection", "close")),
                raw_query="a=1&a=2&b=&c=%20x"),
        context(),
    )  # fmt: skip
    assert event["multiValueHeaders"]["Accept"] == ["a"]
    assert event["multiValueHeaders"]["accept"] == ["b"]
    assert event["headers"]["X-Forwarded-For"] == "1.2.3.4, 192.168.196.186"
    assert "Connection" not in event["headers"]
    assert event["queryStringParameters"] == {"a": "2", "b": "", "c": " x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""], "c": [" x"]}


def test_event_nulls_when_empty() -> None:
    event = build_event(request(raw_query="", body=b""), context(path_parameters={}, stage_variables={}))
    for key in ("queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body"):
        assert event[key] is None, key
    assert event["isBase64Encoded"] is False


def test_event_binary_body_per_binary_media_types() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    headers = (("Content-Type", "image/png"),)
    binary = build_event(request(headers=headers, body=png), context(binary_media_types=("image/*",)))
    assert binary["isBase64Encoded"] is True and base64.b64decode(str(binary["body"])) == png
    text = build_event(request(headers=headers, body=png), context())
    assert text["isBase64Encoded"] is False and isinstance(text["body"], str)


# -- responses ---------------------------------------------------------------------------------


def mapped(result: object, accept: str | None = None, binary: tuple[str, ...] = ()) -> tuple[int, list[tuple[str, str]], bytes]:
    response = proxy_response(json.dumps(result).encode(), accept, binary)
    return response.status, list(response.headers), response.body


def test_response_mapping() -> None:
    status, headers, body = mapped({
        "statusCode": 201, "headers": {"X-One": "1", "X-Both": "single", "Content-Length": "9"},
        "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]}, "body": "hi",
    })  # fmt: skip
    assert status == 201 and body == b"hi"
    assert headers == [("Content-Type", "application/json"), ("X-Both", "m1"), ("X-Both", "m2"),
                       ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1")]  # fmt: skip
    assert mapped({"statusCode": "204"})[0] == 204


def test_binary_responses_only_for_accepted_binary_types() -> None:
    result = {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "body": base64.b64encode(b"\x00\xff").decode(),
              "isBase64Encoded": True}  # fmt: skip
    assert mapped(result, "image/png", ("image/png",))[2] == b"\x00\xff"
    assert mapped(result, "text/html", ("image/png",))[2] == base64.b64encode(b"\x00\xff")


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1]", b'"text"', b"{}", b'{"statusCode": "abc"}', b'{"statusCode": 200, "body": {"a": 1}}',
     b'{"statusCode": 200, "headers": []}', b'{"statusCode": 200, "multiValueHeaders": {"a": "b"}}',
     b'{"statusCode": 200, "headers": {"a": {"b": 1}}}', b'{"statusCode": true}', b'{"statusCode": 700}',
     b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}', b"[" * 100_000, b'{"statusCode": 200, "body": "\\ud800"}'],
)  # fmt: skip
def test_malformed_results_are_502(payload: bytes) -> None:
    response = proxy_response(payload, "image/png", ("*/*",))
    if payload.endswith(b'"\\ud800"}'):
        assert response.status == 200  # a lone surrogate is sent as a replacement character
        return
    assert response == BAD_GATEWAY
    assert response.body == b'{"message": "Internal server error"}'


def test_large_results_read_off_the_loop_map_the_same() -> None:
    body = "x" * (INLINE_BYTES * 4)
    payload = json.dumps({"statusCode": 200, "body": body, "headers": {"a": "b"}}).encode()
    response = proxy_response(payload, None, (), read_large)
    assert response.status == 200 and response.body == body.encode()
    many = json.dumps({"statusCode": 200, "body": json.dumps(list(range(50_000)))}).encode()
    assert proxy_response(many, None, (), read_large).status == 200
    not_a_string = json.dumps({"statusCode": 200, "body": list(range(50_000))}).encode()
    assert proxy_response(not_a_string, None, (), read_large) == BAD_GATEWAY
