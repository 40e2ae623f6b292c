"""REST APIs' Lambda authorizers, pure parts: the method ARN, the TOKEN and REQUEST events compared
with AWS's samples, what identity sources read, which authorizers AWS accepts, their patches, and
the control plane on the in-memory store (stored, loaded, kept in deployments, deletes refused)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from lamina.gateway.authorizers import identity
from lamina.gateway.rest.authorizer_control import RestAuthorizers
from lamina.gateway.rest.authorizer_events import method_arn, request_event, request_view, token_event
from lamina.gateway.rest.authorizers import INVALID_AUTHORIZER_ID, Authorizer, check_method, patch_authorizer, validate
from lamina.gateway.rest.errors import BadRequest, Conflict, NotFound
from lamina.gateway.rest.events import build_event
from lamina.gateway.rest.patches import Patch
from lamina.gateway.rest.service import RestApiService
from lamina.settings import Settings
from lamina.store.memory import MemoryStore
from tests.unit.test_rest_gateway import aws_event, context, request

FN = "arn:aws:lambda:us-east-1:000000000000:function:auth"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"


def token(**overrides: Any) -> Authorizer:
    values: dict[str, Any] = dict(id="a1", name="tok", type="TOKEN", uri=URI, identity_source="method.request.header.Authorization")
    values.update(overrides)
    return Authorizer(**values)


# -- the method ARN and the events ---------------------------------------------------------------


def test_method_arn_names_the_request_method_and_path_without_its_leading_slash() -> None:
    assert method_arn("us-east-1", "000000000000", "abc", "prod", "get", "/pets/7") == (
        "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/7")
    assert method_arn("eu-west-1", "1", "abc", "prod", "POST", "/").endswith("abc/prod/POST/")
    assert method_arn("r", "1", "abc", "s", "GET", "//x").endswith("/s/GET//x")  # one slash only


def test_token_event_is_awss() -> None:
    sample = aws_event("apigw-custom-auth-request.json")
    event = token_event("allow", sample["methodArn"])
    assert event == sample and list(event) == list(sample)


def test_request_event_has_awss_members_and_no_body() -> None:
    sample = aws_event("apigw-custom-auth-request-type-request.json")
    arn = method_arn("us-east-1", "12345678912", "gy415nuibc", "testStage", "POST", "/hello/world")
    event: Any = request_event(request(), context(), arn)
    assert list(event) == list(sample)
    assert event["type"] == "REQUEST" and event["methodArn"] == arn
    assert set(event["requestContext"]) >= set(sample["requestContext"])
    assert "body" not in event and "authorizer" not in event["requestContext"]
    assert event["pathParameters"] == {"proxy": "hello/world"}
    assert request_event(request(), context(path_parameters={}), arn)["pathParameters"] == {}
    assert event["queryStringParameters"] == {"name": "me"} and event["resource"] == "/{proxy+}"


def test_the_integration_event_carries_the_authorizers_answer_where_aws_puts_it() -> None:
    sample = aws_event("apigw-request.json")
    answer = {"principalId": "u", "k": "v", "integrationLatency": 3}
    event: Any = build_event(request(), context(authorizer=answer))
    assert list(event["requestContext"]) == [
        k for k in ("resourceId", "resourcePath", "httpMethod", "extendedRequestId", "requestTime", "path", "accountId",
                    "protocol", "stage", "domainPrefix", "requestTimeEpoch", "requestId", "identity", "authorizer",
                    "domainName", "apiId")]  # fmt: skip
    assert set(event["requestContext"]) == set(sample["requestContext"])
    assert event["requestContext"]["authorizer"] == answer
    plain: Any = build_event(request(), context())
    assert "authorizer" not in plain["requestContext"]


def test_identity_sources_read_headers_query_context_and_stage_variables() -> None:
    req = request(headers=(("X-Key", "a"), ("x-key", "b"), ("User-Agent", "ua")), raw_query="q=1&q=2&e=")
    view = request_view(req, context())
    sources = token(type="REQUEST", identity_source="method.request.header.X-KEY, method.request.querystring.q,"
                    "context.identity.sourceIp,stageVariables.stageVariableName,context.requestId").sources()  # fmt: skip
    assert identity.values(sources, view) == ("a,b", "1,2", "192.168.196.186", "stageVariableValue",
                                              "deef4878-7910-11e6-8f14-25afc3e9ae33")  # fmt: skip
    assert identity.values(token(identity_source="method.request.querystring.e").sources(), view) is None
    assert request_view(req, context(), with_context=False).context == {}


# -- what AWS accepts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"type": "JWT"}, "Member must satisfy enum value set: [TOKEN, REQUEST, COGNITO_USER_POOLS]"),
        ({"uri": "arn:aws:lambda:us-east-1:000000000000:function:auth"}, "Invalid Authorizer URI"),
        ({"uri": None}, "Invalid Authorizer URI"),
        ({"identity_source": "method.request.querystring.t"}, "Invalid token source expression"),
        ({"identity_source": None}, "Invalid token source expression"),
        ({"validation_expression": "(unclosed"}, "Invalid identity validation expression"),
        ({"ttl": 3601}, "between 0 and 3600"),
        ({"ttl": -1}, "between 0 and 3600"),
        ({"type": "REQUEST", "identity_source": "$request.header.A"}, "Invalid identity source"),
        ({"type": "REQUEST", "identity_source": None}, "Identity source must be set if authorizer caching is enabled"),
        ({"type": "COGNITO_USER_POOLS"}, "ProviderARNs must be specified"),
    ],
)
def test_authorizers_aws_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate(token(**changes))


def test_authorizers_aws_accepts() -> None:
    validate(token(validation_expression="^Bearer [-0-9a-zA-Z._]+$", ttl=0))
    validate(token(type="REQUEST", identity_source=None, ttl=0))
    validate(token(type="REQUEST", identity_source="method.request.header.A, method.request.querystring.b"))
    validate(token(type="COGNITO_USER_POOLS", uri=None, provider_arns=("arn:aws:cognito-idp:us-east-1:1:userpool/x",)))


def test_methods_need_an_authorizer_of_their_kind() -> None:
    kept = {"a1": token(), "c1": token(id="c1", type="COGNITO_USER_POOLS")}
    check_method("NONE", None, kept)
    check_method("CUSTOM", "a1", kept)
    check_method("COGNITO_USER_POOLS", "c1", kept)
    for kind, given in (("CUSTOM", None), ("CUSTOM", "nope"), ("CUSTOM", "c1"), ("COGNITO_USER_POOLS", "a1")):
        with pytest.raises(BadRequest, match="Invalid authorizer ID specified"):
            check_method(kind, given, kept)
    assert INVALID_AUTHORIZER_ID.endswith("requires a valid authorizer.")


def test_patches() -> None:
    a = token()
    a = patch_authorizer(a, Patch("replace", "/name", "renamed"))
    a = patch_authorizer(a, Patch("replace", "/authorizerResultTtlInSeconds", "0"))
    a = patch_authorizer(a, Patch("replace", "/identityValidationExpression", "^x$"))
    a = patch_authorizer(a, Patch("replace", "/authType", "custom"))
    assert (a.name, a.ttl, a.validation_expression, a.extra) == ("renamed", 0, "^x$", {"authType": "custom"})
    assert patch_authorizer(a, Patch("remove", "/identityValidationExpression")).validation_expression is None
    for bad in (Patch("replace", "/authorizerResultTtlInSeconds", "x"), Patch("replace", "/id", "b")):
        with pytest.raises(BadRequest):
            patch_authorizer(a, bad)
    assert Authorizer.from_doc(a.doc()) == a


# -- the control plane -----------------------------------------------------------------------------


def test_authorizers_are_stored_kept_in_deployments_and_deleted_only_when_unused() -> None:
    async def run() -> None:
        store = MemoryStore()
        svc = RestApiService(store, Settings())
        control = RestAuthorizers(svc)
        api = await svc.create_api("a", None, [], [], {}, {})
        made = await control.create(api.id, "tok", "TOKEN", URI, "method.request.header.Authorization", None, None, [], {})
        assert made.ttl == 300 and control.get(api.id, made.id) == made
        with pytest.raises(BadRequest, match="Invalid authorizer ID specified"):
            await svc.put_method(api.id, api.root_resource_id, "GET", "CUSTOM", False, {"authorizerId": "nope"})
        await svc.put_method(api.id, api.root_resource_id, "GET", "CUSTOM", False, {"authorizerId": made.id})
        await svc.put_integration(api.id, api.root_resource_id, "GET", "AWS_PROXY", URI, "POST", None, {})
        deployment = await svc.create_deployment(api.id, None, "prod", None, {})
        assert deployment.authorizers == {made.id: made}
        assert deployment.routes[0].authorizer_id == made.id and deployment.routes[0].authorization_type == "CUSTOM"
        await control.update(api.id, made.id, [Patch("replace", "/authorizerResultTtlInSeconds", "0")])
        assert svc.state(api.id).deployments[deployment.id].authorizers[made.id].ttl == 300  # the snapshot's
        with pytest.raises(BadRequest, match="Invalid authorizer ID specified"):  # its CUSTOM method needs a Lambda one
            await control.update(api.id, made.id, [Patch("replace", "/type", "COGNITO_USER_POOLS"),
                                                   Patch("add", "/providerARNs", "arn:aws:cognito-idp:x")])  # fmt: skip
        assert control.get(api.id, made.id).type == "TOKEN"
        with pytest.raises(Conflict, match=r"^Cannot delete authorizer 'tok', is referenced in method: GET//$"):
            await control.delete(api.id, made.id)
        again = RestApiService(store, Settings())
        await again.load()
        assert again.state(api.id).authorizers == svc.state(api.id).authorizers
        assert again.state(api.id).deployments == svc.state(api.id).deployments
        await svc.delete_method(api.id, api.root_resource_id, "GET")
        await control.delete(api.id, made.id)
        with pytest.raises(NotFound, match="Invalid Authorizer identifier specified"):
            control.get(api.id, made.id)
        await svc.delete_api(api.id)
        assert await store.list_resources("apigateway/authorizer") == []

    asyncio.run(run())
