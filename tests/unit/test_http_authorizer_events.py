"""HTTP APIs' authorizers as plain values: the events a Lambda authorizer is asked with (compared
with AWS's samples key for key), the route ARN, what identity sources read, which authorizers and
route authorizations AWS accepts, and ``LAMINA_JWKS_URLS``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from lamina.gateway.authorizers import identity
from lamina.gateway.http import authorizer_control
from lamina.gateway.http.authorizer_events import request_event_v1, request_event_v2, request_view, route_arn
from lamina.gateway.http.authorizer_events import with_authorizer
from lamina.gateway.http.authorizers import INVALID_CUSTOM, INVALID_JWT, SCOPES_NOT_JWT, Guard, authorizer_from
from lamina.gateway.http.authorizers import check_users, guards, route_authorization
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.errors import BadRequest, Conflict
from lamina.gateway.http.events import RouteContext, event_v1, event_v2
from lamina.gateway.http.model import Authorizer, Deployment, Route
from lamina.settings import Settings, jwks_urls
from lamina.store.memory import MemoryStore
from lamina.urls.events import UrlRequest
from tests.unit.test_http_api_events import NOT_WITHOUT_AUTH, same_shape, shape

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
NOW_MS = 1583348638390
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:auth"
INVOCATION = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION}/invocations"

REQ = UrlRequest(
    method="GET", raw_path="/test/request", raw_query="parameter1=value1&parameter1=value2&parameter2=value",
    headers=(("Header1", "value1"), ("Cookie", "cookie1; cookie2"), ("User-Agent", "agent"), ("X-User", "a"),
             ("x-user", "b")),
    body=b'{"a": 1}', source_ip="10.0.0.1",
)  # fmt: skip
CTX = RouteContext(
    api_id="abcdef123", account_id="123456789012", domain_name="abcdef123.execute-api.localhost", stage="test",
    route_key="GET /request", resource="/request", route_id="GET /request", path_parameters={"p": "v"},
    stage_variables={"StageVar1": "stageValue1"}, request_id="id", trace_id="Root=1-x-y", forwarded_port=9000,
)  # fmt: skip


def _aws(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((AWS_EVENTS / name).read_text())
    return doc


def test_route_arn_is_the_requests_method_and_path_within_its_stage() -> None:
    assert route_arn("us-east-1", "123456789012", "abcdef123", "test", "get", "/request") == \
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"  # fmt: skip
    assert route_arn("eu-west-1", "1", "a", "$default", "POST", "/") == "arn:aws:execute-api:eu-west-1:1:a/$default/POST/"
    assert route_arn("r", "1", "a", "s", "PUT", "/pets/7/toys") == "arn:aws:execute-api:r:1:a/s/PUT/pets/7/toys"


def test_payload_2_0_event_is_aws_key_for_key() -> None:
    arn = route_arn("us-east-1", "123456789012", "abcdef123", "test", "GET", "/request")
    ours = request_event_v2(REQ, CTX, NOW_MS, arn, ["a,b", "value1"])
    for sample in ("apigw-v2-custom-authorizer-v2-request.json", "apiGatewayAuthorizerV2Event.json"):
        aws = _aws(sample)
        assert list(ours) == list(aws), sample
        assert same_shape(shape(ours), shape(aws, frozenset(NOT_WITHOUT_AUTH))) == [], sample
    assert ours["routeArn"] == arn and ours["identitySource"] == ["a,b", "value1"]
    assert ours["cookies"] == ["cookie1", "cookie2"] and "body" not in ours and "isBase64Encoded" not in ours
    assert ours["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    # What the integration's 2.0 event says of the request, the authorizer's says alike.
    integration = event_v2(REQ, CTX, NOW_MS)
    for key in ("routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "pathParameters", "stageVariables"):
        assert ours[key] == integration[key], key


def test_payload_2_0_event_leaves_out_what_the_request_lacks() -> None:
    bare = UrlRequest(method="POST", raw_path="/", raw_query="", headers=(), body=b"", source_ip="1.2.3.4")
    event = request_event_v2(bare, replace(CTX, path_parameters={}, stage_variables={}), NOW_MS, "arn", [])
    assert "cookies" not in event and "queryStringParameters" not in event
    assert "pathParameters" not in event and "stageVariables" not in event
    assert event["identitySource"] == [] and event["rawQueryString"] == ""


def test_payload_1_0_event_is_aws_key_for_key() -> None:
    arn = route_arn("us-east-1", "123456789012", "abcdef123", "test", "GET", "/request")
    ours: Any = request_event_v1(REQ, CTX, NOW_MS, arn, ["user1", "123"])
    aws = _aws("apigw-v2-custom-authorizer-v1-request.json")
    assert list(ours) == list(aws)
    assert set(ours["requestContext"]) >= set(aws["requestContext"])
    assert (ours["identitySource"], ours["authorizationToken"]) == ("user1,123", "user1,123")
    assert ours["methodArn"] == arn and ours["resource"] == "/request" and ours["path"] == "/test/request"
    assert ours["headers"]["X-User"] == "a" and ours["headers"]["x-user"] == "b"  # names as sent, as 1.0's
    integration: Any = event_v1(REQ, CTX, NOW_MS)
    assert ours["requestContext"] == integration["requestContext"]
    assert request_event_v1(REQ, replace(CTX, path_parameters={}), NOW_MS, arn, [])["pathParameters"] == {}  # as AWS's sample shows it


def test_integration_events_carry_the_authorizer() -> None:
    lam = {"lambda": {"key": "value"}}
    event = with_authorizer(event_v2, lam)(REQ, CTX, NOW_MS)
    request_context: Any = event["requestContext"]
    assert request_context["authorizer"] == lam
    aws = _aws("apigw-v2-request-lambda-authorizer.json")
    assert request_context["authorizer"] == aws["requestContext"]["authorizer"]
    jwt = {"jwt": {"claims": {"claim1": "value1", "claim2": "value2"}, "scopes": ["scope1", "scope2"]}}
    request_context = with_authorizer(event_v2, jwt)(REQ, CTX, NOW_MS)["requestContext"]
    assert request_context["authorizer"] == _aws("apigw-v2-request-jwt-authorizer.json")["requestContext"]["authorizer"]
    plain: Any = event_v2(REQ, CTX, NOW_MS)
    assert "authorizer" not in plain["requestContext"]  # the builder itself is unchanged


def test_identity_sources_read_headers_query_context_and_stage_variables() -> None:
    view = request_view(REQ, CTX, NOW_MS)
    sources = [identity.IdentitySource.parse(s) for s in (
        "$request.header.X-USER", "$request.querystring.parameter1", "$context.requestId",
        "$context.identity.sourceIp", "$stageVariables.StageVar1", "$context.routeKey")]  # fmt: skip
    assert identity.values(sources, view) == ("a,b", "value1,value2", "id", "10.0.0.1", "stageValue1", "GET /request")
    for missing in ("$request.header.Authorization", "$request.querystring.nope", "$context.nope", "$stageVariables.x"):
        assert identity.values([identity.IdentitySource.parse(missing)], view) is None, missing


# -- what AWS accepts ------------------------------------------------------------------------------


def lambda_body(**more: Any) -> dict[str, Any]:
    return {"name": "auth", "authorizerType": "REQUEST", "authorizerUri": INVOCATION,
            "authorizerPayloadFormatVersion": "2.0", "identitySource": ["$request.header.Authorization"], **more}


def jwt_body(**more: Any) -> dict[str, Any]:
    return {"name": "jwt", "authorizerType": "JWT", "identitySource": ["$request.header.Authorization"],
            "jwtConfiguration": {"issuer": "https://issuer.example", "audience": ["app"]}, **more}


def test_authorizers_aws_accepts() -> None:
    made = authorizer_from(None, lambda_body(enableSimpleResponses=True, authorizerResultTtlInSeconds=300), "abc123")
    assert made.function_arn == FUNCTION and made.ttl == 300 and made.simple_responses
    assert made.wire() == {
        "authorizerId": "abc123", "authorizerType": "REQUEST", "identitySource": ["$request.header.Authorization"],
        "name": "auth", "authorizerPayloadFormatVersion": "2.0", "authorizerResultTtlInSeconds": 300,
        "authorizerUri": INVOCATION, "enableSimpleResponses": True,
    }  # fmt: skip
    assert Authorizer.from_doc(made.doc()) == made
    assert authorizer_from(None, lambda_body(authorizerUri=FUNCTION), "a").function_arn == FUNCTION  # a bare ARN
    assert authorizer_from(None, lambda_body(identitySource=[]), "a").ttl == 0  # nothing kept: no sources needed
    jwt = authorizer_from(None, jwt_body(), "j")
    assert jwt.wire()["jwtConfiguration"] == {"audience": ["app"], "issuer": "https://issuer.example"}
    assert "authorizerResultTtlInSeconds" not in jwt.wire() and Authorizer.from_doc(jwt.doc()) == jwt
    updated = authorizer_from(made, {"authorizerResultTtlInSeconds": 0, "name": "renamed"}, "abc123")
    assert (updated.ttl, updated.name, updated.uri) == (0, "renamed", INVOCATION)


@pytest.mark.parametrize("body", [
    lambda_body(authorizerType="TOKEN"),
    lambda_body(authorizerUri="arn:aws:s3:::bucket"),
    lambda_body(authorizerPayloadFormatVersion=None),
    lambda_body(authorizerPayloadFormatVersion="3.0"),
    lambda_body(authorizerPayloadFormatVersion="1.0", enableSimpleResponses=True),
    lambda_body(authorizerResultTtlInSeconds=3601),
    lambda_body(authorizerResultTtlInSeconds=-1),
    lambda_body(authorizerResultTtlInSeconds=60, identitySource=[]),
    lambda_body(identitySource=["method.request.header.Authorization"]),
    lambda_body(identitySource="$request.header.Authorization"),
    lambda_body(name=None),
    jwt_body(identitySource=["$context.requestId"]),
    jwt_body(identitySource=["$request.header.A", "$request.header.B"]),
    jwt_body(jwtConfiguration={"audience": ["app"]}),
    jwt_body(jwtConfiguration={"issuer": "https://issuer.example", "audience": []}),
    jwt_body(jwtConfiguration={"issuer": "https://issuer.example", "audience": ["a"] * 51}),
])  # fmt: skip
def test_authorizers_aws_refuses(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        authorizer_from(None, {k: v for k, v in body.items() if v is not None}, "x")


def test_routes_name_an_authorizer_of_their_type() -> None:
    lam = authorizer_from(None, lambda_body(), "lam")
    jwt = authorizer_from(None, jwt_body(), "jwt")
    authorizers = {"lam": lam, "jwt": jwt}
    route = Route("r1", "GET /x")
    custom = route_authorization(route, {"authorizationType": "CUSTOM", "authorizerId": "lam"}, authorizers)
    assert custom.wire()["authorizationType"] == "CUSTOM" and custom.wire()["authorizerId"] == "lam"
    scoped = route_authorization(route, {"authorizationType": "JWT", "authorizerId": "jwt",
                                         "authorizationScopes": ["read"]}, authorizers)  # fmt: skip
    assert scoped.authorization_scopes == ("read",) and Route.from_doc(scoped.wire()) == scoped
    none = route_authorization(scoped, {"authorizationType": "NONE"}, authorizers)
    assert (none.authorizer_id, none.authorization_scopes, none.wire()["authorizationType"]) == (None, (), "NONE")
    assert "authorizerId" not in none.wire()
    assert route_authorization(scoped, {"operationName": "x"}, authorizers) == scoped  # untouched when not given
    switched = route_authorization(scoped, {"authorizationType": "CUSTOM", "authorizerId": "lam"}, authorizers)
    assert switched.authorization_scopes == ()  # JWT's scopes do not follow it to CUSTOM
    refused: list[tuple[dict[str, Any], str]] = [
        ({"authorizationType": "CUSTOM"}, INVALID_CUSTOM),
        ({"authorizationType": "CUSTOM", "authorizerId": "nope"}, INVALID_CUSTOM),
        ({"authorizationType": "CUSTOM", "authorizerId": "jwt"}, INVALID_CUSTOM),
        ({"authorizationType": "JWT", "authorizerId": "lam"}, INVALID_JWT),
        ({"authorizationType": "JWT"}, INVALID_JWT),
        ({"authorizationType": "CUSTOM", "authorizerId": "lam", "authorizationScopes": ["a"]}, SCOPES_NOT_JWT),
        ({"authorizationType": "NONE", "authorizationScopes": ["a"]}, SCOPES_NOT_JWT),
    ]
    for body, message in refused:
        with pytest.raises(BadRequest) as bad:
            route_authorization(route, body, authorizers)
        assert bad.value.message == message, body
    iam = route_authorization(custom, {"authorizationType": "AWS_IAM", "authorizerId": "lam"}, authorizers)
    assert (iam.authorization_type, iam.authorizer_id, iam.authorization_scopes) == ("AWS_IAM", None, ())
    for body in ({"authorizationType": "AWS_IAM", "authorizationScopes": ["a"]}, {"authorizationType": "COGNITO_USER_POOLS"},
                 {"authorizationType": "JWT", "authorizerId": "jwt", "authorizationScopes": ["s"] * 11}):  # fmt: skip
        with pytest.raises(BadRequest):
            route_authorization(route, body, authorizers)
    # An authorizer in use may change, but not to another type than its routes ask for.
    check_users([custom], authorizer_from(lam, {"authorizerResultTtlInSeconds": 10}, "lam"))
    with pytest.raises(BadRequest):
        check_users([custom], authorizer_from(lam, {"authorizerType": "JWT", **jwt_body()}, "lam"))


def test_deployments_freeze_authorizers_and_guard_their_routes() -> None:
    lam = authorizer_from(None, lambda_body(), "lam")
    routes = (Route("r1", "GET /x", authorization_type="CUSTOM", authorizer_id="lam"), Route("r2", "GET /open"),
              Route("r3", "GET /lost", authorization_type="JWT", authorizer_id="gone", authorization_scopes=("s",)))
    deployment = Deployment("d1", "2020-01-01T00:00:00Z", False, None, routes, (), (lam,))
    again = Deployment.from_doc(json.loads(json.dumps(deployment.doc())))
    assert again == deployment
    assert guards(again.routes, again.authorizers) == {"GET /x": Guard(lam), "GET /lost": Guard(None, ("s",))}
    assert Deployment.from_doc({**deployment.doc(), "authorizers": None}).authorizers == ()  # stored before authorizers


def test_jwks_urls_setting() -> None:
    assert jwks_urls("https://a.example=http://127.0.0.1:1/jwks, https://b.example/x=http://h/k?v=1") == {
        "https://a.example": "http://127.0.0.1:1/jwks", "https://b.example/x": "http://h/k?v=1"}  # fmt: skip
    assert jwks_urls("  ") == {}
    assert Settings.from_env({"LAMINA_JWKS_URLS": "i=u j=v"}).jwks_urls == {"i": "u", "j": "v"}
    assert Settings.from_env({}).jwks_urls == {}
    for bad in ("https://a.example", "=http://x", "i="):
        with pytest.raises(ValueError):
            jwks_urls(bad)


def test_control_plane_freezes_authorizers_in_deployments_and_reloads_them() -> None:
    async def go() -> None:
        store = MemoryStore()
        control = HttpApis(store, region="us-east-1", account_id="000000000000", port=9000)
        api_id = (await control.create_api({"name": "a", "protocolType": "HTTP", "target": FUNCTION})).api.api_id
        made = await authorizer_control.create(control, api_id, lambda_body(authorizerResultTtlInSeconds=60))
        [route] = control.state(api_id).routes.values()
        await control.update_route(api_id, route.route_id, {"authorizationType": "CUSTOM",
                                                             "authorizerId": made.authorizer_id})  # fmt: skip
        await control.create_stage(api_id, {"stageName": "frozen"})
        await control.create_deployment(api_id, {"stageName": "frozen"})
        await authorizer_control.update(control, api_id, made.authorizer_id, {"authorizerResultTtlInSeconds": 5})
        tables = control.state(api_id).tables
        assert tables["$default"].guards[route.route_key].authorizer.ttl == 5  # type: ignore[union-attr]
        assert tables["frozen"].guards[route.route_key].authorizer.ttl == 60  # type: ignore[union-attr]
        with pytest.raises(Conflict):
            await authorizer_control.delete(control, api_id, made.authorizer_id)
        again = HttpApis(store, region="us-east-1", account_id="000000000000", port=9000)
        await again.load()
        assert again.state(api_id).authorizers == control.state(api_id).authorizers
        assert again.state(api_id).tables["frozen"].guards == tables["frozen"].guards
        await again.delete_api(api_id)
        assert await store.list_resources("apigatewayv2/authorizer") == []

    asyncio.run(go())
