"""REST APIs' Lambda authorizers against a real server: created with boto3 and the AWS CLI, enforced
over real HTTP by real authorizer functions.

The authorizer function counts its calls in its environment's /tmp and names its environment: an
answer it gives carries both in its context, so two requests that see the same (environment, count)
were answered by one call, kept; a call that was not made leaves the count where it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy
from tests.functions import run_authorizers_example
from tests.integration.test_rest_apis import apigw, aws_apigateway, call, uri

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"

AUTHORIZER = """
import json, os, uuid

ENVIRONMENT = uuid.uuid4().hex

def handler(event, context):
    count = int(open("/tmp/calls").read()) + 1 if os.path.exists("/tmp/calls") else 1
    with open("/tmp/calls", "w") as f:
        f.write(str(count))
    if event["type"] == "TOKEN":
        token = event["authorizationToken"]
    else:
        headers = {k.lower(): v for k, v in event["headers"].items()}
        token = headers["x-user"] + ":" + event["queryStringParameters"]["key"]
    if token.endswith("unauthorized"):
        raise Exception("Unauthorized")
    if token.endswith("crash"):
        raise RuntimeError("boom")
    arn = event["methodArn"]
    if token.endswith("any"):
        arn = arn.split("/")[0] + "/*"
    effect = "Deny" if token.endswith("deny") else "Allow"
    if token.endswith("elsewhere"):
        arn = arn + "/elsewhere"
    policy = {"Version": "2012-10-17",
              "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [arn]}]}
    return {"principalId": "user-" + token[:20], "policyDocument": policy,
            "context": {"calls": count, "environment": ENVIRONMENT, "admin": True, "event": json.dumps(event)}}
"""

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def gw(lamina: Any) -> Any:
    return apigw(lamina.endpoint)


@pytest.fixture(scope="module")
def functions(client: Any) -> tuple[str, str]:
    """(the authorizer's ARN, the integration's ARN)."""
    authorizer = deploy(client, "rest-authorizer", AUTHORIZER, Timeout=10)["FunctionArn"]
    echo = deploy(client, "rest-authorized-echo", ECHO, Timeout=10)["FunctionArn"]
    return str(authorizer), str(echo)


def guarded_api(gw: Any, functions: tuple[str, str], **authorizer: Any) -> tuple[str, str]:
    """An API whose ``ANY /{proxy+}`` is behind a new authorizer, deployed as ``prod``: (api id, authorizer id)."""
    authorizer_arn, echo_arn = functions
    api = gw.create_rest_api(name="guarded")
    made = gw.create_authorizer(restApiId=api["id"], name="auth", authorizerUri=uri(authorizer_arn), **authorizer)
    proxy = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    gw.put_method(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType="CUSTOM",
                  authorizerId=made["id"])  # fmt: skip
    gw.put_integration(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(echo_arn))  # fmt: skip
    gw.create_deployment(restApiId=api["id"], stageName="prod")
    return api["id"], made["id"]


def token_api(gw: Any, functions: tuple[str, str], **more: Any) -> str:
    return guarded_api(gw, functions, type="TOKEN", identitySource="method.request.header.Authorization", **more)[0]


def get(lamina: Any, api_id: str, path: str, **headers: str) -> tuple[int, dict[str, str], Any]:
    status, got, body = call(lamina.endpoint, api_id, "GET", path, headers=headers)
    return status, got, json.loads(body) if body else None


def calls(event: dict[str, Any]) -> tuple[str, str]:
    """(environment, count) of the answer an integration's event carries."""
    authorizer = event["requestContext"]["authorizer"]
    return authorizer["environment"], authorizer["calls"]


UNAUTHORIZED = {"message": "Unauthorized"}
DENIED = {"Message": "User is not authorized to access this resource with an explicit deny"}
NOT_ALLOWED = {"Message": "User is not authorized to access this resource"}


# -- control plane ---------------------------------------------------------------------------------


def test_authorizers_control_plane(gw: Any, functions: tuple[str, str]) -> None:
    api = gw.create_rest_api(name="authorizers")
    api_id, root = api["id"], api["rootResourceId"]
    made = gw.create_authorizer(restApiId=api_id, name="tok", type="TOKEN", authorizerUri=uri(functions[0]),
                                identitySource="method.request.header.Authorization",
                                identityValidationExpression="^Bearer .+$")  # fmt: skip
    assert made["authorizerResultTtlInSeconds"] == 300 and made["type"] == "TOKEN"
    got = gw.get_authorizer(restApiId=api_id, authorizerId=made["id"])
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in made.items() if k != "ResponseMetadata"}  # fmt: skip
    assert got["identityValidationExpression"] == "^Bearer .+$" and got["authorizerUri"] == uri(functions[0])
    cognito = gw.create_authorizer(restApiId=api_id, name="pool", type="COGNITO_USER_POOLS",
                                   providerARNs=["arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_x"],
                                   identitySource="method.request.header.Authorization")  # fmt: skip
    items = gw.get_authorizers(restApiId=api_id)["items"]
    assert sorted(i["name"] for i in items) == ["pool", "tok"]
    updated = gw.update_authorizer(restApiId=api_id, authorizerId=made["id"], patchOperations=[
        {"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"},
        {"op": "replace", "path": "/name", "value": "token"}])  # fmt: skip
    assert (updated["authorizerResultTtlInSeconds"], updated["name"]) == (0, "token")
    refused: list[dict[str, Any]] = [
        dict(type="JWT", authorizerUri=uri(functions[0])),
        dict(type="TOKEN", authorizerUri="arn:aws:lambda:us-east-1:000000000000:function:x",
             identitySource="method.request.header.A"),
        dict(type="TOKEN", authorizerUri=uri(functions[0]), identitySource="method.request.querystring.a"),
        dict(type="TOKEN", authorizerUri=uri(functions[0]), identitySource="method.request.header.A",
             authorizerResultTtlInSeconds=3601),
        dict(type="REQUEST", authorizerUri=uri(functions[0])),
    ]  # fmt: skip
    for fields in refused:
        with pytest.raises(ClientError) as bad:
            gw.create_authorizer(restApiId=api_id, name="bad", **fields)
        assert bad.value.response["Error"]["Code"] == "BadRequestException", fields
    for given in ({}, {"authorizerId": "nope"}, {"authorizerId": cognito["id"]}):
        with pytest.raises(ClientError) as bad:
            gw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="CUSTOM", **given)
        assert bad.value.response["Error"]["Message"] == ("Invalid authorizer ID specified. Setting the authorization "
                                                          "type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.")
    gw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="CUSTOM", authorizerId=made["id"])
    with pytest.raises(ClientError) as in_use:
        gw.delete_authorizer(restApiId=api_id, authorizerId=made["id"])
    assert in_use.value.response["Error"]["Code"] == "ConflictException"
    assert in_use.value.response["Error"]["Message"] == "Cannot delete authorizer 'token', is referenced in method: GET//"
    gw.update_method(restApiId=api_id, resourceId=root, httpMethod="GET", patchOperations=[
        {"op": "replace", "path": "/authorizationType", "value": "NONE"},
        {"op": "remove", "path": "/authorizerId"}])  # fmt: skip
    gw.delete_authorizer(restApiId=api_id, authorizerId=made["id"])
    with pytest.raises(ClientError) as gone:
        gw.get_authorizer(restApiId=api_id, authorizerId=made["id"])
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    assert gone.value.response["Error"]["Message"] == "Invalid Authorizer identifier specified"
    gw.delete_rest_api(restApiId=api_id)


def test_aws_cli(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    api_id = gw.create_rest_api(name="cli-authorizers")["id"]
    made = aws_apigateway(lamina.endpoint, "create-authorizer", "--rest-api-id", api_id, "--name", "req",
                          "--type", "REQUEST", "--authorizer-uri", uri(functions[0]),
                          "--identity-source", "method.request.header.X-User,method.request.querystring.key",
                          "--authorizer-result-ttl-in-seconds", "60")  # fmt: skip
    assert made["identitySource"] == "method.request.header.X-User,method.request.querystring.key"
    listed = aws_apigateway(lamina.endpoint, "get-authorizers", "--rest-api-id", api_id)
    assert [i["id"] for i in listed["items"]] == [made["id"]] and listed["items"][0]["authorizerResultTtlInSeconds"] == 60
    aws_apigateway(lamina.endpoint, "delete-authorizer", "--rest-api-id", api_id, "--authorizer-id", made["id"])
    assert aws_apigateway(lamina.endpoint, "get-authorizers", "--rest-api-id", api_id)["items"] == []
    gw.delete_rest_api(restApiId=api_id)


def test_test_invoke_authorizer(gw: Any, functions: tuple[str, str]) -> None:
    api = gw.create_rest_api(name="test-invoke")
    made = gw.create_authorizer(restApiId=api["id"], name="tok", type="TOKEN", authorizerUri=uri(functions[0]),
                                identitySource="method.request.header.Authorization")  # fmt: skip
    allowed = gw.test_invoke_authorizer(restApiId=api["id"], authorizerId=made["id"],
                                        headers={"Authorization": "allow"}, pathWithQueryString="/pets?x=1")  # fmt: skip
    assert allowed["clientStatus"] == 200 and allowed["principalId"] == "user-allow"
    statement = json.loads(allowed["policy"])["Statement"][0]
    assert statement["Resource"] == [f"arn:aws:execute-api:us-east-1:000000000000:{api['id']}/test-invoke-stage/GET/pets"]
    denied = gw.test_invoke_authorizer(restApiId=api["id"], authorizerId=made["id"], headers={"Authorization": "deny"})
    assert denied["clientStatus"] == 403
    assert gw.test_invoke_authorizer(restApiId=api["id"], authorizerId=made["id"])["clientStatus"] == 401
    crashed = gw.test_invoke_authorizer(restApiId=api["id"], authorizerId=made["id"], headers={"Authorization": "crash"})
    assert crashed["clientStatus"] == 500 and "principalId" not in crashed
    gw.delete_rest_api(restApiId=api["id"])


def test_authorizers_survive_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    gw = apigw(server.endpoint)
    api = gw.create_rest_api(name="kept")
    made = gw.create_authorizer(restApiId=api["id"], name="tok", type="TOKEN", authorizerResultTtlInSeconds=0,
                                authorizerUri=uri("arn:aws:lambda:us-east-1:000000000000:function:gone"),
                                identitySource="method.request.header.Authorization")  # fmt: skip
    gw.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                  authorizationType="CUSTOM", authorizerId=made["id"])  # fmt: skip
    gw.put_integration(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET", type="MOCK")
    gw.create_deployment(restApiId=api["id"], stageName="s")
    server.stop()
    again = make_server(tmp_path / "data")
    gw = apigw(again.endpoint)
    assert gw.get_authorizer(restApiId=api["id"], authorizerId=made["id"])["authorizerResultTtlInSeconds"] == 0
    status, _, body = call(again.endpoint, api["id"], "GET", "/s/")
    assert (status, json.loads(body)) == (401, UNAUTHORIZED)  # the deployment's authorizer still guards it
    status, _, body = call(again.endpoint, api["id"], "GET", "/s/", headers={"Authorization": "x"})
    assert (status, json.loads(body)) == (500, {"message": None})  # its function does not exist


# -- data plane ------------------------------------------------------------------------------------


def test_token_authorizer_allows_and_denies(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    api_id = token_api(gw, functions)
    status, _, event = get(lamina, api_id, "/prod/pets/7", Authorization="allow")
    assert status == 200, event
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-allow" and authorizer["admin"] == "true"
    assert authorizer["calls"].isdigit() and isinstance(authorizer["integrationLatency"], int)
    asked = json.loads(authorizer["event"])
    sample = json.loads((AWS_EVENTS / "apigw-custom-auth-request.json").read_text())
    assert list(asked) == list(sample)
    assert asked == {"type": "TOKEN", "authorizationToken": "allow",
                     "methodArn": f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/prod/GET/pets/7"}  # fmt: skip
    status, headers, body = get(lamina, api_id, "/prod/pets/7", Authorization="deny")
    assert (status, body, headers["x-amzn-errortype"]) == (403, DENIED, "AccessDeniedException")
    status, _, body = get(lamina, api_id, "/prod/pets/7", Authorization="elsewhere")
    assert (status, body) == (403, NOT_ALLOWED)
    status, headers, raw = call(lamina.endpoint, api_id, "GET", "/prod/pets/7", headers={"Authorization": "unauthorized"})
    assert (status, raw, headers["x-amzn-errortype"]) == (401, b'{"message":"Unauthorized"}', "UnauthorizedException")
    status, headers, raw = call(lamina.endpoint, api_id, "GET", "/prod/pets/7", headers={"Authorization": "crash"})
    assert (status, raw, headers["x-amzn-errortype"]) == (500, b'{"message":null}', "AuthorizerConfigurationException")
    gw.delete_rest_api(restApiId=api_id)


def test_missing_identity_is_401_without_calling_the_authorizer(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    api_id = token_api(gw, functions, authorizerResultTtlInSeconds=0, identityValidationExpression="^[a-z]+$")
    status, _, event = get(lamina, api_id, "/prod/x", Authorization="allow")
    environment, count = calls(event)
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Not-Matching-1"}):
        status, _, body = get(lamina, api_id, "/prod/x", **headers)
        assert (status, body) == (401, UNAUTHORIZED), headers
    status, _, event = get(lamina, api_id, "/prod/x", Authorization="allow")
    assert calls(event) == (environment, str(int(count) + 1))  # the three refused requests did not call it
    gw.delete_rest_api(restApiId=api_id)


def test_request_authorizer_reads_headers_and_query(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    api_id, _ = guarded_api(gw, functions, type="REQUEST", authorizerResultTtlInSeconds=0,
                            identitySource="method.request.header.X-User, method.request.querystring.key")  # fmt: skip
    status, _, event = get(lamina, api_id, "/prod/orders/1?key=k1", **{"X-User": "ann"})
    assert status == 200, event
    asked = json.loads(event["requestContext"]["authorizer"]["event"])
    sample = json.loads((AWS_EVENTS / "apigw-custom-auth-request-type-request.json").read_text())
    assert list(asked) == list(sample)
    assert set(asked["requestContext"]) >= set(sample["requestContext"]) - {"identity"}
    assert asked["methodArn"] == f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/prod/GET/orders/1"
    assert asked["resource"] == "/{proxy+}" and asked["pathParameters"] == {"proxy": "orders/1"}
    assert asked["queryStringParameters"] == {"key": "k1"} and asked["headers"]["X-User"] == "ann"
    assert event["requestContext"]["authorizer"]["principalId"] == "user-ann:k1"
    for path, headers in (("/prod/orders/1", {"X-User": "ann"}), ("/prod/orders/1?key=k1", {})):
        status, _, body = get(lamina, api_id, path, **headers)
        assert (status, body) == (401, UNAUTHORIZED), (path, headers)
    status, _, body = get(lamina, api_id, "/prod/orders/1?key=deny", **{"X-User": "ann"})
    assert (status, body) == (403, DENIED)
    gw.delete_rest_api(restApiId=api_id)


def test_answers_are_kept_for_their_ttl(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    kept = token_api(gw, functions)  # the default TTL, 300 s
    first = calls(get(lamina, kept, "/prod/a", Authorization="any")[2])
    assert calls(get(lamina, kept, "/prod/b", Authorization="any")[2]) == first  # answered by the kept policy
    other = calls(get(lamina, kept, "/prod/a", Authorization="other-any")[2])
    assert other != first  # another token is another answer
    # A kept policy is evaluated again for each request: allowed for /a only, /b is refused without a call.
    assert get(lamina, kept, "/prod/a", Authorization="exact")[0] == 200
    status, _, body = get(lamina, kept, "/prod/b", Authorization="exact")
    assert (status, body) == (403, NOT_ALLOWED)
    # FlushStageAuthorizersCache forgets them.
    gw.flush_stage_authorizers_cache(restApiId=kept, stageName="prod")
    assert calls(get(lamina, kept, "/prod/a", Authorization="any")[2]) != first
    gw.delete_rest_api(restApiId=kept)

    uncached = token_api(gw, functions, authorizerResultTtlInSeconds=0)
    one = calls(get(lamina, uncached, "/prod/a", Authorization="any")[2])
    assert calls(get(lamina, uncached, "/prod/a", Authorization="any")[2]) != one
    gw.delete_rest_api(restApiId=uncached)


def test_hostile_identities(lamina: Any, gw: Any, functions: tuple[str, str]) -> None:
    api_id = token_api(gw, functions)
    # Tokens that look like JSON, policies, wildcards or paths reach the authorizer as they were sent.
    for token in ('"}], "Effect": "Allow', "*", "a" * 7000, "caf\u00e9 \\ \"", "../../any", "%2e%2e", "{{x}}"):
        sent = token.encode().decode("latin-1")  # its UTF-8 bytes on the wire
        status, _, event = get(lamina, api_id, "/prod/x", Authorization=sent)
        assert status == 200, token[:40]
        assert json.loads(event["requestContext"]["authorizer"]["event"])["authorizationToken"] == token
    assert get(lamina, api_id, "/prod/x", Authorization="caf\u00e9")[0] == 200  # a byte that is not UTF-8
    # An explicit Deny is not undone by a path that looks like a wildcard or another method.
    for path in ("/prod/*", "/prod/x/../GET/y", "/prod/%2A"):
        status, _, body = get(lamina, api_id, path, Authorization="deny")
        assert (status, body) == (403, DENIED), path
    # A header longer than the HTTP server reads is refused before anything is asked.
    assert call(lamina.endpoint, api_id, "GET", "/prod/x", headers={"Authorization": "a" * 20000})[0] == 400
    # Many distinct tokens are each asked once and kept (in bounded memory); the server answers on.
    for n in range(30):
        assert get(lamina, api_id, f"/prod/x{n}", Authorization=f"t{n}")[0] == 200
    gw.delete_rest_api(restApiId=api_id)

    # Identity values are kept apart, not joined: ("a:b", "c") is not ("a", "b:c"), though the
    # authorizer would read both as "a:b:c".
    request_api, _ = guarded_api(gw, functions, type="REQUEST",
                                 identitySource="method.request.header.X-User,method.request.querystring.key")  # fmt: skip
    first = get(lamina, request_api, "/prod/x?key=c", **{"X-User": "a:b"})[2]
    second = get(lamina, request_api, "/prod/x?key=b:c", **{"X-User": "a"})[2]
    assert calls(first) != calls(second)
    status, _, event = get(lamina, request_api, "/prod/x?" + "&".join(f"key=v{n}" for n in range(500)), **{"X-User": "a"})
    assert status == 200 and event["requestContext"]["authorizer"]["principalId"] == "user-a:v499"  # the last one
    gw.delete_rest_api(restApiId=request_api)


# -- the documentation's example, run as written ------------------------------------------------

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "rest-apis.md"


def test_authorizers_example_in_docs(lamina: Any, tmp_path: Path) -> None:
    printed, expected = run_authorizers_example(DOC, "sh", lamina.endpoint, tmp_path)
    assert printed == expected
