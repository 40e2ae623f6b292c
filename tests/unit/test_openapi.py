"""OpenAPI definitions read and planned (gateway/openapi/), with plain values: the reader's
defences against hostile text, ``$ref`` followed without loops, base paths, and what the HTTP and
REST planners make of a definition (and refuse)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lamina.gateway.http.errors import BadRequest as HttpBadRequest
from lamina.gateway.openapi import document as d
from lamina.gateway.openapi import http_plan, rest_plan
from lamina.gateway.rest.errors import BadRequest as RestBadRequest

HERE = http_plan.Place("000000000000", "us-east-1")
FUNCTION = "arn:aws:lambda:us-east-1:000000000000:function:echo"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"


def proxy(**extra: Any) -> dict[str, Any]:
    return {"x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": URI, **extra}}


def definition(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.1", "info": {"title": "t"}, "paths": paths, **extra}


def test_json_and_yaml_are_read_and_hostile_text_is_refused() -> None:
    assert d.load(json.dumps(definition({})))["info"] == {"title": "t"}
    assert d.load("openapi: 3.0\ninfo: {title: t}\n")["openapi"] == 3.0  # a number, still OpenAPI 3
    assert d.load(b"swagger: '2.0'\ninfo: {title: t}\ndate: 2026-12-07\n")["date"] == "2026-12-07"  # no timestamps
    refused = {
        "alias": "openapi: 3.0.1\ninfo: {title: t}\na: &a [1]\nb: *a\n",
        "deep JSON": "[" * 10_000,
        "deep YAML": "openapi: 3.0.1\nx: " + "[" * 200 + "]" * 200,
        "big": " " * (d.MAX_BYTES + 1),
        "not UTF-8": b"\xff\xfe\x00",
        "empty": "  \n",
        "a list": "[1]",
        "no version": json.dumps({"info": {"title": "t"}}),
        "OpenAPI 4": json.dumps({"openapi": "4.0.0", "info": {"title": "t"}}),
        "a python tag": "!!python/object/apply:os.system ['true']",
        "broken": '{"openapi": ',
    }
    for name, text in refused.items():
        with pytest.raises(d.DocumentError):
            d.load(text)
            pytest.fail(f"{name} was read")


def test_refs_are_followed_inside_the_document_only_and_never_in_a_loop() -> None:
    doc: dict[str, Any] = {"a": {"$ref": "#/b"}, "b": {"$ref": "#/c~1d"}, "c/d": {"x": 1},
                           "self": {"$ref": "#/self"}, "p": {"$ref": "#/q"}, "q": {"$ref": "#/p"},
                           "list": [{"y": 2}]}  # fmt: skip
    assert d.deref(doc, {"$ref": "#/a"}) == {"x": 1}
    assert d.deref(doc, {"$ref": "#/list/0"}) == {"y": 2}
    for ref in ("#/self", "#/p", "#/missing", "#/list/7", "other.yaml#/a", "http://example.com/x", "/etc/passwd"):
        with pytest.raises(d.DocumentError):
            d.deref(doc, {"$ref": ref})
    chain = {f"n{i}": {"$ref": f"#/n{i + 1}"} for i in range(d.MAX_REF_HOPS + 5)}
    with pytest.raises(d.DocumentError, match="chain"):
        d.deref(chain, {"$ref": "#/n0"})


def test_base_paths_from_servers_and_basepath_modes() -> None:
    servers = {"servers": [{"url": "https://{host}/{stage}/v1/", "variables": {"host": {"default": "x.example"},
                                                                               "stage": {"default": "prod"}}}]}
    assert d.base_path(definition({}, **servers)) == "/prod/v1"
    assert d.base_path({"swagger": "2.0", "basePath": "/api"}) == "/api"
    assert d.base_path(definition({})) == ""
    assert d.with_base_path(None, "/prod/v1", "/pets") == "/pets"
    assert d.with_base_path("prepend", "/prod/v1", "/pets") == "/prod/v1/pets"
    assert d.with_base_path("split", "/prod/v1", "/pets") == "/v1/pets"
    with pytest.raises(d.DocumentError):
        d.with_base_path("sideways", "/prod", "/pets")


def test_the_http_plan_shares_integrations_and_reads_payload_versions() -> None:
    found = http_plan.plan(definition({
        "/a": {"get": proxy(payloadFormatVersion="2.0"), "post": proxy(payloadFormatVersion="2.0")},
        "/b": {"x-amazon-apigateway-any-method": proxy()},
        "$default": {"x-amazon-apigateway-any-method": proxy(payloadFormatVersion=2.0)},
        "/c": {"get": {}}, "/d": {"trace": proxy()}, "x-note": {},
    }), HERE)  # fmt: skip
    keys = {r.route_key: r for r in found.routes.values()}
    assert sorted(keys) == ["$default", "ANY /b", "GET /a", "GET /c", "POST /a"]
    assert keys["GET /a"].target == keys["POST /a"].target == keys["$default"].target
    assert keys["GET /c"].target is None
    versions = {i.integration_id: i.payload_format_version for i in found.integrations.values()}
    assert sorted(versions.values()) == ["1.0", "2.0"]  # 1.0 when the definition does not say
    assert found.warnings == ()


def test_the_http_plan_warns_of_what_it_does_not_serve_and_caps_the_warnings() -> None:
    paths = {f"/p{i}": {"get": {"x-amazon-apigateway-request-validator": "all"}} for i in range(150)}
    paths["/h"] = {"get": {"x-amazon-apigateway-integration": {"type": "http_proxy", "uri": "https://example.com"}}}
    found = http_plan.plan(definition(paths, **{"x-amazon-apigateway-policy": {}}), HERE)
    assert len(found.warnings) == d.MAX_WARNINGS + 1 and found.warnings[-1].endswith("more warnings")
    assert found.warnings[0].startswith("Unsupported extension x-amazon-apigateway-policy")


def jwt_scheme(**extra: Any) -> dict[str, Any]:
    return {"type": "oauth2", "x-amazon-apigateway-authorizer": {
        "type": "jwt", "identitySource": "$request.header.Authorization",
        "jwtConfiguration": {"issuer": "https://issuer.example", "audience": "a"}, **extra}}  # fmt: skip


def test_security_names_an_authorizer_or_none_and_never_serves_a_route_open() -> None:
    schemes = {"components": {"securitySchemes": {"jwt": jwt_scheme()}}, "security": [{"jwt": ["read"]}]}
    found = http_plan.plan(definition({"/a": {"get": proxy()}, "/b": {"get": {**proxy(), "security": [{"NONE": []}]}},
                                       "/c": {"get": {**proxy(), "security": []}}}, **schemes), HERE)  # fmt: skip
    routes = {r.route_key: r for r in found.routes.values()}
    assert (routes["GET /a"].authorization_type, routes["GET /a"].authorization_scopes) == ("JWT", ("read",))
    assert routes["GET /b"].authorization_type == routes["GET /c"].authorization_type == "NONE"
    assert [a.audience for a in found.authorizers.values()] == [("a",)]
    signed = http_plan.plan(definition({"/a": {"get": {**proxy(), "security": [{"sigv4": []}]}}}, components={
        "securitySchemes": {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                                      "x-amazon-apigateway-authtype": "awsSigv4"}}}), HERE)  # fmt: skip
    assert [(r.authorization_type, r.authorizer_id) for r in signed.routes.values()] == [("AWS_IAM", None)]
    refused = [
        definition({"/a": {"get": {"security": [{"missing": []}]}}}),
        definition({"/a": {"get": {"security": [{"key": []}]}}}, components={"securitySchemes": {"key": {
            "type": "apiKey", "name": "x-api-key", "in": "header"}}}),  # HTTP APIs have no API keys
        definition({"/a": {"get": {"security": [{"sigv4": []}]}}}, components={"securitySchemes": {"sigv4": {
            "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom"}}}),
        definition({"/a": {"get": {"security": "jwt"}}}, **schemes),
        definition({}, components={"securitySchemes": {"t": {"x-amazon-apigateway-authorizer": {"type": "token"}}}}),
        definition({}, components={"securitySchemes": {"j": jwt_scheme(identitySource="$context.x")}}),
        definition({}, components={"securitySchemes": {f"j{i}": jwt_scheme() for i in range(11)}}),
    ]
    for doc in refused:
        with pytest.raises((HttpBadRequest, d.DocumentError)):
            http_plan.plan(doc, HERE)


def test_the_http_plan_refuses_what_it_cannot_make() -> None:
    foreign = URI.replace("000000000000", "999999999999")
    elsewhere = URI.replace("lambda:us-east-1", "lambda:eu-west-1")
    refused = [
        definition({"/a": {"get": proxy(uri=foreign)}}),
        definition({"/a": {"get": proxy(uri=elsewhere)}}),
        definition({"/a": {"get": proxy(uri="arn:aws:s3:::bucket")}}),
        definition({"/a": {"get": proxy(timeoutInMillis=10**9)}}),
        definition({"/a": {"get": proxy(payloadFormatVersion="3.0")}}),
        definition({"/a": {"get": proxy(httpMethod="GET")}}),
        definition({"$default": {"get": proxy()}}),
        definition({"/a/{b+}/c": {"get": {}}}),
        definition({"/a b": {"get": {}}}),
        definition({f"/p{i}": {"get": {}} for i in range(http_plan.MAX_ROUTES + 1)}),
        definition({"/a": {"get": {}}}, **{"x-amazon-apigateway-cors": {"maxAge": 10**6}}),
        definition({"/a": {"get": {}}}, **{"x-amazon-apigateway-cors": {"allowOrigins": "*"}}),
        definition({"/a": "not an object"}),
        {"openapi": "3.0.1", "info": {}, "paths": {}},
    ]
    for doc in refused:
        with pytest.raises((HttpBadRequest, d.DocumentError)):
            http_plan.plan(doc, HERE)


def swagger(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"swagger": "2.0", "info": {"title": "t"}, "paths": paths, **extra}


def test_the_rest_plan_makes_every_parent_resource_and_reads_authorizers() -> None:
    token = {"type": "apiKey", "name": "X-Token", "in": "header",
             "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": URI}}  # fmt: skip
    found = rest_plan.plan(swagger({
        "/": {"get": proxy()},
        "/a/b/{c}": {"x-amazon-apigateway-any-method": {**proxy(), "security": [{"token": []}]}},
        "/mock": {"options": {"x-amazon-apigateway-integration": {"type": "mock"}, "security": [{"NONE": []}]}},
    }, securityDefinitions={"token": token}, basePath="/v1"), HERE, "prepend")  # fmt: skip
    assert found.paths == ["/v1", "/v1/a", "/v1/mock", "/v1/a/b", "/v1/a/b/{c}"]
    methods = {(m.path, m.http_method): m for m in found.methods}
    assert (methods[("/v1/a/b/{c}", "ANY")].authorization_type, methods[("/v1/a/b/{c}", "ANY")].authorizer) == (
        "CUSTOM", "token")
    assert methods[("/v1/mock", "OPTIONS")].integration is not None and methods[("/v1", "GET")].integration
    assert found.authorizers["token"].identity_source == "method.request.header.X-Token"


def test_the_rest_plan_reads_sigv4_api_keys_and_mock_responses() -> None:
    schemes = {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"},
               "key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}  # fmt: skip
    cors = {"type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'}, "responses": {
        "default": {"statusCode": "200", "responseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"},
                    "responseTemplates": {"application/json": "{}"}},
        "4\\d{2}": {"statusCode": "404"}}}  # fmt: skip
    found = rest_plan.plan(swagger({"/a": {"get": {"security": [{"sigv4": [], "key": []}]}, "post": {"security": [{"key": []}]},
                                           "options": {"x-amazon-apigateway-integration": cors}}},
                                   securityDefinitions=schemes), HERE)  # fmt: skip
    methods = {m.http_method: m for m in found.methods}
    assert (methods["GET"].authorization_type, methods["GET"].api_key_required) == ("AWS_IAM", True)
    assert (methods["POST"].authorization_type, methods["POST"].api_key_required) == ("NONE", True)
    mock = methods["OPTIONS"].integration
    assert mock is not None and mock.extra["integrationResponses"] == {
        "200": {"statusCode": "200", "responseParameters": {"method.response.header.Access-Control-Allow-Origin": "'*'"},
                "responseTemplates": {"application/json": "{}"}},
        "404": {"statusCode": "404", "selectionPattern": "4\\d{2}"}}  # fmt: skip


def test_the_rest_plan_refuses_what_it_cannot_make_or_would_serve_open() -> None:
    foreign = URI.replace("000000000000", "999999999999")
    refused = [
        swagger({"/": {"get": proxy(uri=foreign)}}),
        swagger({"/": {"get": {"security": [{"key": []}]}}},
                securityDefinitions={"key": {"type": "apiKey", "name": "x-token", "in": "header"}}),  # no authorizer
        swagger({"/": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "responses": {
            "default": {"statusCode": "2xx"}}}}}}),
        swagger({"/": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "responses": {
            "default": {"statusCode": "200", "responseParameters": {"a": 1}}}}}}}),
        swagger({"/": {"get": {"x-amazon-apigateway-integration": {"type": "mock", "responses": []}}}}),
        swagger({"/": {"get": {"x-amazon-apigateway-integration": {"type": "pigeon"}}}}),
        swagger({"/": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": 7}}}}),
        swagger({"/a/{b+}/c": {"get": {}}}),
        swagger({"/" + "/".join(f"s{i}" for i in range(rest_plan.MAX_RESOURCES + 1)): {"get": {}}}),
        swagger({}, securityDefinitions={"t": {"x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": "x"}}}),
    ]
    for doc in refused:
        with pytest.raises((RestBadRequest, d.DocumentError)):
            rest_plan.plan(doc, HERE)
