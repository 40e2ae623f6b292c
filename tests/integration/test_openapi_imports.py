"""OpenAPI imports against a real server: boto3's unchanged ``apigatewayv2`` (ImportApi,
ReimportApi, ExportApi) and ``apigateway`` (ImportRestApi, PutRestApi) clients import real-looking
definitions, then real HTTP requests go through the APIs to functions; hostile definitions are
refused and leave nothing behind."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
import yaml
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.integration.test_http_apis import call, gateway
from tests.integration.test_rest_apis import apigw as rest_gateway

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"version": event.get("version"), "resource": event.get("resource"),
                                "routeKey": event.get("routeKey"), "path": event.get("rawPath") or event.get("path"),
                                "authorizer": (event.get("requestContext") or {}).get("authorizer")})}
"""

AUTHORIZER = """
def handler(event, context):
    return {"isAuthorized": (event.get("headers") or {}).get("x-token") == "let-me-in", "context": {"who": "ann"}}
"""

TOKEN_AUTHORIZER = """
def handler(event, context):
    effect = "Allow" if event.get("authorizationToken") == "let-me-in" else "Deny"
    return {"principalId": "ann", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
"""


def invocation(function_arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@pytest.fixture(scope="module")
def functions(lamina: Any, client: Any) -> dict[str, str]:
    return {name: deploy(client, f"openapi-{name}", code)["FunctionArn"]
            for name, code in (("echo", ECHO), ("auth", AUTHORIZER), ("token", TOKEN_AUTHORIZER))}  # fmt: skip


@pytest.fixture
def v2(lamina: Any) -> Iterator[Any]:
    gw = gateway(lamina.endpoint)
    before = {a["ApiId"] for a in gw.get_apis()["Items"]}
    yield gw
    for api in gw.get_apis()["Items"]:
        if api["ApiId"] not in before:
            gw.delete_api(ApiId=api["ApiId"])


def pets(functions: dict[str, str], **extra: Any) -> dict[str, Any]:
    """An HTTP API's definition as people write them: payload 2.0 and 1.0 routes, a Lambda
    authorizer, a JWT authorizer, CORS and an integration shared through $ref."""
    echo = invocation(functions["echo"])
    return {
        "openapi": "3.0.1",
        "info": {"title": "pets", "version": "2026-12-07", "description": "Pets, imported"},
        "paths": {
            "/pets": {"get": {"operationId": "listPets",
                              "x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/echo"}},
                      "post": {"x-amazon-apigateway-integration": {"$ref": "#/components/x-amazon-apigateway-integrations/echo"}}},
            "/pets/{id}": {"get": {"x-amazon-apigateway-integration": {
                "type": "aws_proxy", "httpMethod": "POST", "uri": echo, "payloadFormatVersion": "1.0"}}},
            "/private": {"get": {"security": [{"lambda": []}], "x-amazon-apigateway-integration": {
                "$ref": "#/components/x-amazon-apigateway-integrations/echo"}}},
            "/open": {"get": {"security": [{"NONE": []}], "x-amazon-apigateway-integration": {
                "$ref": "#/components/x-amazon-apigateway-integrations/echo"}}},  # SAM's route without authorization
            "/tokens": {"get": {"security": [{"jwt": ["pets:read"]}], "x-amazon-apigateway-integration": {
                "$ref": "#/components/x-amazon-apigateway-integrations/echo"}}},
        },
        "components": {
            "securitySchemes": {
                "lambda": {"type": "apiKey", "name": "x-token", "in": "header", "x-amazon-apigateway-authorizer": {
                    "type": "request", "identitySource": "$request.header.x-token",
                    "authorizerUri": invocation(functions["auth"]), "authorizerPayloadFormatVersion": "2.0",
                    "enableSimpleResponses": True, "authorizerResultTtlInSeconds": 0}},
                "jwt": {"type": "oauth2", "flows": {}, "x-amazon-apigateway-authorizer": {
                    "type": "jwt", "identitySource": "$request.header.Authorization",
                    "jwtConfiguration": {"issuer": "https://issuer.example", "audience": ["pets"]}}},
            },
            "x-amazon-apigateway-integrations": {"echo": {
                "type": "aws_proxy", "httpMethod": "POST", "uri": echo, "payloadFormatVersion": "2.0",
                "timeoutInMillis": 10000}},
        },
        "x-amazon-apigateway-cors": {"allowOrigins": ["https://pets.example"], "allowMethods": ["GET", "POST"],
                                     "allowHeaders": ["x-token"], "maxAge": 60},
        **extra,
    }  # fmt: skip


def serve(gw: Any, api: dict[str, Any]) -> str:
    gw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return str(api["ApiEndpoint"])


def test_an_imported_http_api_serves_its_routes_authorizers_and_cors(v2: Any, functions: dict[str, str]) -> None:
    api = v2.import_api(Body=json.dumps(pets(functions)))
    assert api["Name"] == "pets" and api["Version"] == "2026-12-07" and api["ProtocolType"] == "HTTP"
    assert "Warnings" not in api
    api_id = api["ApiId"]
    routes = {r["RouteKey"]: r for r in v2.get_routes(ApiId=api_id)["Items"]}
    assert sorted(routes) == ["GET /open", "GET /pets", "GET /pets/{id}", "GET /private", "GET /tokens", "POST /pets"]
    assert routes["GET /open"]["AuthorizationType"] == "NONE"
    assert routes["GET /pets"]["OperationName"] == "listPets"
    assert routes["GET /private"]["AuthorizationType"] == "CUSTOM"
    assert routes["GET /tokens"]["AuthorizationType"] == "JWT" and routes["GET /tokens"]["AuthorizationScopes"] == ["pets:read"]
    integrations = v2.get_integrations(ApiId=api_id)["Items"]
    assert sorted(i["PayloadFormatVersion"] for i in integrations) == ["1.0", "2.0"]  # the $ref'd one is shared
    authorizers = {a["Name"]: a for a in v2.get_authorizers(ApiId=api_id)["Items"]}
    assert authorizers["jwt"]["JwtConfiguration"] == {"Issuer": "https://issuer.example", "Audience": ["pets"]}
    assert authorizers["lambda"]["AuthorizerType"] == "REQUEST" and authorizers["lambda"]["EnableSimpleResponses"]
    assert v2.get_api(ApiId=api_id)["CorsConfiguration"]["AllowOrigins"] == ["https://pets.example"]

    endpoint = serve(v2, api)
    listed = call(endpoint, "GET", "/pets").json()
    assert (listed["version"], listed["routeKey"]) == ("2.0", "GET /pets")
    one = call(endpoint, "GET", "/pets/7").json()
    assert (one["version"], one["resource"], one["path"]) == ("1.0", "/pets/{id}", "/pets/7")
    assert call(endpoint, "GET", "/private").status in (401, 403)
    allowed = call(endpoint, "GET", "/private", headers={"x-token": "let-me-in"})
    assert allowed.status == 200 and allowed.json()["authorizer"]["lambda"] == {"who": "ann"}
    assert call(endpoint, "GET", "/open").status == 200
    assert call(endpoint, "GET", "/tokens").status == 401  # no token: the JWT authorizer refuses
    preflight = call(endpoint, "OPTIONS", "/pets", headers={"Origin": "https://pets.example",
                                                            "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.headers["access-control-allow-origin"] == "https://pets.example"
    assert call(endpoint, "GET", "/nothing").status == 404


def test_reimport_replaces_the_definition_and_keeps_the_stage_and_export_round_trips(
        v2: Any, functions: dict[str, str]) -> None:  # fmt: skip
    api = v2.import_api(Body=yaml.safe_dump(pets(functions)))  # YAML too
    endpoint = serve(v2, api)
    assert call(endpoint, "GET", "/pets").status == 200
    smaller = pets(functions)
    smaller["paths"] = {"/cats": smaller["paths"]["/pets"], "$default": {"x-amazon-apigateway-any-method": {
        "x-amazon-apigateway-integration": smaller["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"]}}}
    smaller["info"]["title"] = "cats"
    del smaller["components"]["securitySchemes"]
    v2.reimport_api(ApiId=api["ApiId"], Body=json.dumps(smaller))
    assert sorted(r["RouteKey"] for r in v2.get_routes(ApiId=api["ApiId"])["Items"]) == ["$default", "GET /cats", "POST /cats"]
    assert v2.get_api(ApiId=api["ApiId"])["Name"] == "cats"
    assert v2.get_authorizers(ApiId=api["ApiId"])["Items"] == []
    assert len(v2.get_integrations(ApiId=api["ApiId"])["Items"]) == 2  # none left over
    assert call(endpoint, "GET", "/cats").json()["routeKey"] == "GET /cats"
    fallback = call(endpoint, "GET", "/pets").json()  # the stage serves the new definition: $default, payload 1.0
    assert (fallback["version"], fallback["path"]) == ("1.0", "/pets")

    exported = v2.export_api(ApiId=api["ApiId"], Specification="OAS30", OutputType="YAML")["body"].read()
    again = v2.import_api(Body=exported.decode())
    assert sorted(r["RouteKey"] for r in v2.get_routes(ApiId=again["ApiId"])["Items"]) == ["$default", "GET /cats", "POST /cats"]
    assert again["Name"] == "cats"


def test_warnings_are_answered_and_fail_on_warnings_refuses_and_keeps_nothing(v2: Any, functions: dict[str, str]) -> None:
    doc = pets(functions, **{"x-amazon-apigateway-made-up": True})
    doc["paths"]["/elsewhere"] = {"get": {"x-amazon-apigateway-integration": {
        "type": "http_proxy", "httpMethod": "GET", "uri": "https://example.com", "payloadFormatVersion": "1.0"}}}
    before = len(v2.get_apis()["Items"])
    with pytest.raises(ClientError) as refused:
        v2.import_api(Body=json.dumps(doc), FailOnWarnings=True)
    assert refused.value.response["Error"]["Code"] == "BadRequestException"
    assert "x-amazon-apigateway-made-up" in refused.value.response["Error"]["Message"]
    assert len(v2.get_apis()["Items"]) == before
    api = v2.import_api(Body=json.dumps(doc))
    assert len(api["Warnings"]) == 2 and any("HTTP_PROXY" in w for w in api["Warnings"])
    elsewhere = [r for r in v2.get_routes(ApiId=api["ApiId"])["Items"] if r["RouteKey"] == "GET /elsewhere"]
    assert len(elsewhere) == 1 and "Target" not in elsewhere[0]


def hostile_definitions(functions: dict[str, str]) -> dict[str, str]:
    foreign = pets(functions)
    foreign["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"]["uri"] = invocation(
        "arn:aws:lambda:us-east-1:999999999999:function:openapi-echo")
    unguarded = pets(functions)
    unguarded["paths"]["/private"]["get"]["security"] = [{"missing": []}]
    unknown_auth = pets(functions)  # a scheme Lamina enforces nothing for
    unknown_auth["components"]["securitySchemes"]["sigv4"] = {"type": "apiKey", "name": "Authorization", "in": "header",
                                                             "x-amazon-apigateway-authtype": "oauth-ish"}
    unknown_auth["paths"]["/private"]["get"]["security"] = [{"sigv4": []}]
    looped = pets(functions)
    looped["components"]["x-amazon-apigateway-integrations"] = {"a": {"$ref": "#/components/x-amazon-apigateway-integrations/b"},
                                                               "b": {"$ref": "#/components/x-amazon-apigateway-integrations/echo"},
                                                               "echo": {"$ref": "#/components/x-amazon-apigateway-integrations/a"}}
    outside = pets(functions)
    outside["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"] = {"$ref": "file:///etc/passwd"}
    many = pets(functions)
    many["paths"] = {f"/p{i}": {"get": {}} for i in range(301)}
    bad_route = pets(functions)
    bad_route["paths"]["/pets/{id+}/more"] = {"get": {}}
    bomb = "openapi: 3.0.1\ninfo: {title: bomb}\na: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\n" + \
        "c: [*b, *b, *b, *b, *b, *b]\n"
    return {
        "malformed JSON": '{"openapi": "3.0.1", "info": {"title": "x"},',
        "malformed YAML": "openapi: 3.0.1\ninfo:\n  title: [unclosed\n",
        "not an object": "[1, 2, 3]",
        "no version": json.dumps({"info": {"title": "x"}, "paths": {}}),
        "no title": json.dumps({"openapi": "3.0.1", "info": {}, "paths": {}}),
        "deep": "{" * 5000,
        "alias bomb": bomb,
        "huge": json.dumps({"openapi": "3.0.1", "info": {"title": "x"}, "pad": "x" * (7 * 1024 * 1024)}),
        "another account's function": json.dumps(foreign),
        "security naming no scheme": json.dumps(unguarded),
        "a scheme with no authorizer": json.dumps(unknown_auth),
        "$ref loop": json.dumps(looped),
        "$ref outside the document": json.dumps(outside),
        "too many routes": json.dumps(many),
        "invalid route": json.dumps(bad_route),
        "binary": "\udcff",
    }


def test_hostile_definitions_are_refused_and_leave_nothing(v2: Any, functions: dict[str, str]) -> None:
    before = len(v2.get_apis()["Items"])
    existing = v2.import_api(Body=json.dumps(pets(functions)))
    routes = v2.get_routes(ApiId=existing["ApiId"])["Items"]
    for name, body in hostile_definitions(functions).items():
        if name == "binary":
            continue
        with pytest.raises(ClientError) as refused:
            v2.import_api(Body=body)
        assert refused.value.response["Error"]["Code"] == "BadRequestException", name
        with pytest.raises(ClientError) as refused:
            v2.reimport_api(ApiId=existing["ApiId"], Body=body)
        assert refused.value.response["Error"]["Code"] == "BadRequestException", name
    assert len(v2.get_apis()["Items"]) == before + 1
    assert v2.get_routes(ApiId=existing["ApiId"])["Items"] == routes  # a refused reimport changed nothing
    message = str(pytest.raises(ClientError, v2.import_api, Body=hostile_definitions(functions)["another account's function"]).value)
    assert "999999999999" in message


# -- REST APIs ------------------------------------------------------------------------------------


def shop(functions: dict[str, str]) -> dict[str, Any]:
    """A REST API's Swagger 2.0 definition, as SAM's ``Api`` events and the console export it."""
    echo = invocation(functions["echo"])
    proxy = {"type": "aws_proxy", "httpMethod": "POST", "uri": echo, "passthroughBehavior": "when_no_match"}
    return {
        "swagger": "2.0", "info": {"title": "shop", "version": "1.0"},
        "paths": {
            "/": {"get": {"x-amazon-apigateway-integration": proxy}},
            "/items/{id}": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": proxy}},
            "/secret": {"get": {"security": [{"token": []}], "x-amazon-apigateway-integration": proxy}},
        },
        "securityDefinitions": {"token": {
            "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": invocation(functions["token"]),
                                               "authorizerResultTtlInSeconds": 0}}},
        "x-amazon-apigateway-binary-media-types": ["image/png"],
    }  # fmt: skip


def rest_call(endpoint: str, api_id: str, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    return call(f"http://{api_id}.execute-api.localhost:{endpoint.rsplit(':', 1)[1]}", method, path, headers=headers)


def test_an_imported_rest_api_serves_its_methods_and_put_overwrites_or_merges(lamina: Any, functions: dict[str, str]) -> None:
    gw = rest_gateway(lamina.endpoint)
    api = gw.import_rest_api(body=json.dumps(shop(functions)).encode(), parameters={"endpointConfigurationTypes": "REGIONAL"})
    api_id = api["id"]
    try:
        assert api["name"] == "shop" and api["binaryMediaTypes"] == ["image/png"]
        assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
        paths = {r["path"]: r for r in gw.get_resources(restApiId=api_id, embed=["methods"])["items"]}
        assert sorted(paths) == ["/", "/items", "/items/{id}", "/secret"]
        assert paths["/items/{id}"]["resourceMethods"]["ANY"]["methodIntegration"]["type"] == "AWS_PROXY"
        secret = paths["/secret"]["resourceMethods"]["GET"]
        authorizer = gw.get_authorizers(restApiId=api_id)["items"][0]
        assert (secret["authorizationType"], secret["authorizerId"]) == ("CUSTOM", authorizer["id"])
        assert authorizer["identitySource"] == "method.request.header.Authorization"
        gw.create_deployment(restApiId=api_id, stageName="prod")
        assert rest_call(lamina.endpoint, api_id, "DELETE", "/prod/items/9").json()["resource"] == "/items/{id}"
        assert rest_call(lamina.endpoint, api_id, "GET", "/prod/secret").status in (401, 403)
        assert rest_call(lamina.endpoint, api_id, "GET", "/prod/secret", {"Authorization": "let-me-in"}).status == 200

        merged = shop(functions)
        merged["paths"] = {"/more": merged["paths"]["/"]}
        gw.put_rest_api(restApiId=api_id, mode="merge", body=json.dumps(merged).encode())
        assert sorted(r["path"] for r in gw.get_resources(restApiId=api_id)["items"]) == [
            "/", "/items", "/items/{id}", "/more", "/secret"]
        assert len(gw.get_authorizers(restApiId=api_id)["items"]) == 1  # kept, not doubled

        del merged["securityDefinitions"]
        gw.put_rest_api(restApiId=api_id, mode="overwrite", body=json.dumps(merged).encode())
        assert sorted(r["path"] for r in gw.get_resources(restApiId=api_id)["items"]) == ["/", "/more"]
        assert gw.get_authorizers(restApiId=api_id)["items"] == []
        assert rest_call(lamina.endpoint, api_id, "GET", "/prod/items/9").status == 200  # until deployed again
        gw.create_deployment(restApiId=api_id, stageName="prod")
        assert rest_call(lamina.endpoint, api_id, "GET", "/prod/more").json()["resource"] == "/more"
        assert rest_call(lamina.endpoint, api_id, "GET", "/prod/items/9").status in (403, 404)
    finally:
        gw.delete_rest_api(restApiId=api_id)


def test_hostile_rest_definitions_are_refused_and_leave_nothing(lamina: Any, functions: dict[str, str]) -> None:
    gw = rest_gateway(lamina.endpoint)
    before = len(gw.get_rest_apis()["items"])
    foreign = shop(functions)
    foreign["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["uri"] = invocation(
        "arn:aws:lambda:us-east-1:999999999999:function:openapi-echo")
    bad_type = shop(functions)
    bad_type["paths"]["/"]["get"]["x-amazon-apigateway-integration"]["type"] = "carrier_pigeon"
    bad_path = shop(functions)
    bad_path["paths"]["/a/{b+}/c"] = {"get": {}}
    hostile = [b.encode() for b in hostile_definitions(functions).values() if b != "\udcff"] + [
        json.dumps(d).encode() for d in (foreign, bad_type, bad_path)] + [b"\xff\xfe\x00"]
    for body in hostile:
        with pytest.raises(ClientError) as refused:
            gw.import_rest_api(body=body)
        assert refused.value.response["Error"]["Code"] == "BadRequestException", body[:80]
    assert len(gw.get_rest_apis()["items"]) == before
