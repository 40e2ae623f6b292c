"""AWS_IAM methods and routes, API-key methods, and integrations naming another account's function,
against a real server with root keys in two accounts: users and policies made with boto3's iam
client, APIs with boto3's apigateway and apigatewayv2 clients, requests signed with botocore's
SigV4Auth for ``execute-api`` and sent over real HTTP (by the API's Host and by the path form)."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
from typing import Any, Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests import signing
from tests.conftest import LaminaProcess, deploy, server_env
from tests.roles import make_role

ACCT, OTHER = "111111111111", "222222222222"
ROOT, ROOT_SECRET = "AKIAGWIAMROOTA000001", "gateway-iam-root-secret-a-000000000000"
OTHER_ROOT, OTHER_SECRET = "AKIAGWIAMROOTB000001", "gateway-iam-root-secret-b-000000000000"
APP = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"arn": context.invoked_function_arn, "event": event})}
"""
STAGE = "prod"


def client(endpoint: str, service: str, key: str = ROOT, secret: str = ROOT_SECRET) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def user(iam: Any, name: str, statements: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(ARN, key, secret) of a new user whose one inline policy holds ``statements`` (none: no policy)."""
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))  # fmt: skip
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


def send(endpoint: str, api_id: str, method: str, path: str, *, by_host: bool = True, body: bytes = b"",
         signer: tuple[str, str] | tuple[str, str, str] | None = None, service: str = "execute-api",
         signed_body: bytes | None = None,
         signed_path: str | None = None, headers: dict[str, str] | None = None,
         region: str = "us-east-1") -> tuple[int, dict[str, str], Any]:  # fmt: skip
    """(status, headers, JSON body or text) of ``method path`` (within the API), signed by ``signer``
    (key, secret) for ``service``; ``signed_body``/``signed_path``: what the signature covers, when
    it is not what is sent (a tampered request)."""
    port = urlsplit(endpoint).port
    host = f"{api_id}.execute-api.localhost:{port}" if by_host else f"127.0.0.1:{port}"
    target = path if by_host else f"/_aws/execute-api/{api_id}{path}"
    sent = {"Host": host, **(headers or {})}
    if signer is not None:
        covered = target if signed_path is None else (signed_path if by_host else f"/_aws/execute-api/{api_id}{signed_path}")
        sent.update(signing.headers(method, f"http://{host}{covered}", body if signed_body is None else signed_body,
                                    sent, service=service, key=signer[0], secret=signer[1],
                                    token=signer[2] if len(signer) == 3 else None, region=region))  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, target, body=body or None, headers=sent)
        answer = conn.getresponse()
        raw = answer.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, parsed
    finally:
        conn.close()


def uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    keys = f"{ROOT}:{ROOT_SECRET}:{ACCT},{OTHER_ROOT}:{OTHER_SECRET}:{OTHER}"
    process = LaminaProcess(tmp_path_factory.mktemp("gateway-iam"), server_env(LAMINA_ACCESS_KEYS=keys,
                                                                               LAMINA_ACCOUNT_ID=ACCT)).start()  # fmt: skip
    yield process
    process.stop()


@pytest.fixture(scope="module")
def functions(server: LaminaProcess) -> dict[str, str]:
    """``shared`` in both accounts (the same name), by account: their ARNs. This account's lets
    every API of its own account invoke it; the other account's lets none in."""
    made = {}
    for account, key, secret in ((ACCT, ROOT, ROOT_SECRET), (OTHER, OTHER_ROOT, OTHER_SECRET)):
        role = make_role(server.endpoint, "gw-fn", [], key=key, secret=secret)
        made[account] = str(deploy(client(server.endpoint, "lambda", key, secret), "shared", APP, role=role)["FunctionArn"])
    client(server.endpoint, "lambda").add_permission(
        FunctionName="shared", StatementId="apis", Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:{ACCT}:*")  # fmt: skip
    return made


def rest_api(gw: Any, function_arn: str, *, auth: str = "NONE", api_key: bool = False) -> str:
    """A REST API whose ``ANY /{proxy+}`` is integrated with the function, deployed to ``prod``."""
    api = gw.create_rest_api(name="guarded")
    proxy = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="{proxy+}")
    gw.put_method(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", authorizationType=auth,
                  apiKeyRequired=api_key)  # fmt: skip
    gw.put_integration(restApiId=api["id"], resourceId=proxy["id"], httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(function_arn))  # fmt: skip
    gw.create_deployment(restApiId=api["id"], stageName=STAGE)
    return str(api["id"])


def http_api(v2: Any, function_arn: str, *, auth: str = "NONE", version: str = "2.0") -> str:
    api = v2.create_api(Name="guarded", ProtocolType="HTTP")
    integration = v2.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=function_arn,
                                        PayloadFormatVersion=version)  # fmt: skip
    v2.create_route(ApiId=api["ApiId"], RouteKey="ANY /{proxy+}", AuthorizationType=auth,
                    Target=f"integrations/{integration['IntegrationId']}")  # fmt: skip
    v2.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return str(api["ApiId"])


# -- AWS_IAM on REST APIs ----------------------------------------------------------------------


def test_an_aws_iam_method_takes_only_signed_callers_iam_allows(server: LaminaProcess, functions: dict[str, str]) -> None:
    gw, iam = client(server.endpoint, "apigateway"), client(server.endpoint, "iam")
    api = rest_api(gw, functions[ACCT], auth="AWS_IAM")
    arn = f"arn:aws:execute-api:us-east-1:{ACCT}:{api}/{STAGE}/GET/orders/1"
    allowed_arn, allowed, allowed_secret = user(iam, "rest-allowed", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:{ACCT}:{api}/{STAGE}/GET/orders/*"}])  # fmt: skip
    nobody_arn, nobody, nobody_secret = user(iam, "rest-nobody", [])
    denied_arn, denied, denied_secret = user(iam, "rest-denied", [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "*"}])  # fmt: skip
    path = f"/{STAGE}/orders/1"

    status, headers, body = send(server.endpoint, api, "GET", path)
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    status, headers, body = send(server.endpoint, api, "GET", path, signer=("AKIANOSUCHKEY0000001", "x"))
    assert (status, body) == (403, {"message": "The security token included in the request is invalid."})
    status, _, body = send(server.endpoint, api, "GET", path, signer=(allowed, "not-the-secret"))
    assert status == 403 and body["message"].startswith("The request signature we calculated does not match")
    status, _, body = send(server.endpoint, api, "GET", path, signer=(allowed, allowed_secret), service="lambda")
    assert (status, body) == (403, {"message": "Credential should be scoped to correct service: 'execute-api'. "})
    status, _, body = send(server.endpoint, api, "GET", path, signer=(allowed, allowed_secret), region="eu-west-1")
    assert status == 403 and body["message"].startswith("Credential should be scoped to a valid region.")

    status, headers, body = send(server.endpoint, api, "GET", path, signer=(nobody, nobody_secret))
    assert (status, body) == (403, {"Message": f"User: {nobody_arn} is not authorized to perform: execute-api:Invoke "
                                               f"on resource: {arn}"})  # fmt: skip
    assert headers["x-amzn-errortype"] == "AccessDeniedException"
    status, _, body = send(server.endpoint, api, "GET", path, signer=(denied, denied_secret))
    assert (status, body) == (403, {"Message": f"User: {denied_arn} is not authorized to perform: execute-api:Invoke "
                                               f"on resource: {arn} with an explicit deny"})  # fmt: skip
    # Allowed GET /orders/*, not POST, nor another path.
    assert send(server.endpoint, api, "POST", path, signer=(allowed, allowed_secret))[0] == 403
    assert send(server.endpoint, api, "GET", f"/{STAGE}/users/1", signer=(allowed, allowed_secret))[0] == 403
    # Another account's root: neither the identity nor a resource policy of this account allows it.
    assert send(server.endpoint, api, "GET", path, signer=(OTHER_ROOT, OTHER_SECRET))[0] == 403

    for by_host in (True, False):
        status, _, body = send(server.endpoint, api, "GET", path + "?x=1", by_host=by_host, signer=(allowed, allowed_secret))
        assert status == 200, body
        identity = body["event"]["requestContext"]["identity"]
        assert identity["userArn"] == allowed_arn and identity["accountId"] == ACCT
        assert identity["accessKey"] == allowed and identity["caller"] == identity["user"]
        assert identity["caller"].startswith("AIDA")
    status, _, body = send(server.endpoint, api, "GET", path, signer=(ROOT, ROOT_SECRET))  # the API's account's root
    assert status == 200 and body["event"]["requestContext"]["identity"]["userArn"] == f"arn:aws:iam::{ACCT}:root"


def test_a_signature_covers_the_body_and_the_path_it_was_made_for(server: LaminaProcess, functions: dict[str, str]) -> None:
    gw = client(server.endpoint, "apigateway")
    api = rest_api(gw, functions[ACCT], auth="AWS_IAM")
    root = (ROOT, ROOT_SECRET)
    assert send(server.endpoint, api, "POST", f"/{STAGE}/pay", body=b'{"to": "me"}', signer=root)[0] == 200
    tampered = send(server.endpoint, api, "POST", f"/{STAGE}/pay", body=b'{"to": "attacker"}', signer=root,
                    signed_body=b'{"to": "me"}')  # fmt: skip
    assert tampered[0] == 403 and tampered[2]["message"].startswith("The request signature we calculated")
    moved = send(server.endpoint, api, "GET", f"/{STAGE}/admin", signer=root, signed_path=f"/{STAGE}/public")
    assert moved[0] == 403 and moved[2]["message"].startswith("The request signature we calculated")
    # A header that claims to be a signature but is none.
    status, headers, _ = send(server.endpoint, api, "GET", f"/{STAGE}/x", headers={"Authorization": "AWS4-HMAC-SHA256 junk"})
    assert status == 403 and headers["x-amzn-errortype"] == "IncompleteSignatureException"


def test_a_rest_apis_resource_policy_lets_another_account_in(server: LaminaProcess, functions: dict[str, str]) -> None:
    gw = client(server.endpoint, "apigateway")
    api = rest_api(gw, functions[ACCT], auth="AWS_IAM")
    path = f"/{STAGE}/things"
    assert send(server.endpoint, api, "GET", path, signer=(OTHER_ROOT, OTHER_SECRET))[0] == 403
    policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "execute-api:Invoke",
        "Resource": "*"}]}  # fmt: skip
    gw.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
    status, _, body = send(server.endpoint, api, "GET", path, signer=(OTHER_ROOT, OTHER_SECRET))
    assert status == 200 and body["event"]["requestContext"]["identity"]["accountId"] == OTHER
    # A policy denying the other account wins over the identity's allowance (its root's), and a
    # policy that cannot be read lets no one in rather than everyone.
    policy["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
                                "Resource": f"arn:aws:execute-api:us-east-1:{ACCT}:{api}/{STAGE}/DELETE/*"})  # fmt: skip
    gw.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/policy", "value": json.dumps(policy)}])
    assert send(server.endpoint, api, "DELETE", path, signer=(OTHER_ROOT, OTHER_SECRET))[0] == 403
    assert send(server.endpoint, api, "DELETE", path, signer=(ROOT, ROOT_SECRET))[0] == 403
    assert send(server.endpoint, api, "GET", path, signer=(ROOT, ROOT_SECRET))[0] == 200
    gw.update_rest_api(restApiId=api, patchOperations=[{"op": "replace", "path": "/policy", "value": "{not json"}])
    for signer in ((ROOT, ROOT_SECRET), (OTHER_ROOT, OTHER_SECRET)):
        assert send(server.endpoint, api, "GET", path, signer=signer)[:3:2] == (
            403, {"Message": "User is not authorized to access this resource"})


def test_an_api_key_method_is_never_served_open(server: LaminaProcess, functions: dict[str, str]) -> None:
    gw = client(server.endpoint, "apigateway")
    api = rest_api(gw, functions[ACCT], api_key=True)
    for headers in ({}, {"x-api-key": "anything"}, {"X-API-Key": ""}):
        status, answered, body = send(server.endpoint, api, "GET", f"/{STAGE}/x", headers=headers)
        assert (status, body) == (403, {"message": "Forbidden"}) and answered["x-amzn-errortype"] == "ForbiddenException"
    # Turned off, the method is served.
    resource = next(r for r in gw.get_resources(restApiId=api)["items"] if r["path"] == "/{proxy+}")
    gw.update_method(restApiId=api, resourceId=resource["id"], httpMethod="ANY",
                     patchOperations=[{"op": "replace", "path": "/apiKeyRequired", "value": "false"}])  # fmt: skip
    gw.create_deployment(restApiId=api, stageName=STAGE)
    assert send(server.endpoint, api, "GET", f"/{STAGE}/x")[0] == 200


# -- AWS_IAM on HTTP APIs ----------------------------------------------------------------------


def test_an_aws_iam_route_takes_only_signed_callers_iam_allows(server: LaminaProcess, functions: dict[str, str]) -> None:
    v2, iam = client(server.endpoint, "apigatewayv2"), client(server.endpoint, "iam")
    api = http_api(v2, functions[ACCT], auth="AWS_IAM")
    route = v2.get_routes(ApiId=api)["Items"][0]
    assert route["AuthorizationType"] == "AWS_IAM"
    allowed_arn, allowed, allowed_secret = user(iam, "http-allowed", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:{ACCT}:{api}/*"}])  # fmt: skip
    nobody_arn, nobody, nobody_secret = user(iam, "http-nobody", [])

    status, headers, body = send(server.endpoint, api, "GET", "/items/1")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert send(server.endpoint, api, "GET", "/items/1", signer=("AKIANOSUCHKEY0000001", "x"))[2] == {
        "message": "The security token included in the request is invalid."}
    status, _, body = send(server.endpoint, api, "GET", "/items/1", signer=(nobody, nobody_secret))
    assert (status, body) == (403, {"message": f"User: {nobody_arn} is not authorized to perform: execute-api:Invoke on "
                                               f"resource: arn:aws:execute-api:us-east-1:{ACCT}:{api}/$default/GET/items/1"})  # fmt: skip
    tampered = send(server.endpoint, api, "POST", "/items", body=b"evil", signed_body=b"good", signer=(allowed, allowed_secret))
    assert tampered[0] == 403
    for by_host in (True, False):
        status, _, body = send(server.endpoint, api, "POST", "/items", body=b"good", by_host=by_host,
                               signer=(allowed, allowed_secret), headers={"Content-Type": "text/plain"})  # fmt: skip
        assert status == 200, body
        caller = body["event"]["requestContext"]["authorizer"]["iam"]
        assert caller["userArn"] == allowed_arn and caller["accountId"] == ACCT and caller["accessKey"] == allowed
        assert caller["userId"].startswith("AIDA") and caller["cognitoIdentity"] is None
        assert body["event"]["body"] == "good"

    v1 = http_api(v2, functions[ACCT], auth="AWS_IAM", version="1.0")
    assert send(server.endpoint, v1, "GET", "/x", signer=(allowed, allowed_secret))[0] == 403  # another API
    statement = {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": f"arn:aws:execute-api:us-east-1:{ACCT}:{v1}/$default/GET/x"}
    iam.put_user_policy(UserName="http-allowed", PolicyName="v1",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))  # fmt: skip
    status, _, body = send(server.endpoint, v1, "GET", "/x", signer=(allowed, allowed_secret))
    assert status == 200, body
    identity = body["event"]["requestContext"]["identity"]
    assert identity["userArn"] == allowed_arn and identity["accessKey"] == allowed and identity["accountId"] == ACCT
    assert "authorizer" not in body["event"]["requestContext"] or not body["event"]["requestContext"]["authorizer"]


def test_an_http_route_can_go_from_aws_iam_to_none_and_back(server: LaminaProcess, functions: dict[str, str]) -> None:
    v2 = client(server.endpoint, "apigatewayv2")
    api = http_api(v2, functions[ACCT])
    route = v2.get_routes(ApiId=api)["Items"][0]
    assert send(server.endpoint, api, "GET", "/a")[0] == 200
    v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationType="AWS_IAM")
    assert send(server.endpoint, api, "GET", "/a")[0] == 403
    with pytest.raises(ClientError) as scoped:
        v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationType="AWS_IAM", AuthorizationScopes=["a"])
    assert scoped.value.response["Error"]["Code"] == "BadRequestException"
    v2.update_route(ApiId=api, RouteId=route["RouteId"], AuthorizationType="NONE")
    assert send(server.endpoint, api, "GET", "/a")[0] == 200


# -- integrations naming another account's function --------------------------------------------


def test_another_accounts_function_runs_there_only_with_its_permission(server: LaminaProcess,
                                                                      functions: dict[str, str]) -> None:  # fmt: skip
    gw, v2 = client(server.endpoint, "apigateway"), client(server.endpoint, "apigatewayv2")
    theirs = functions[OTHER]
    rest, http = rest_api(gw, theirs), http_api(v2, theirs)
    # No permission of the other account: refused (500), and never this account's "shared".
    for api, path in ((rest, f"/{STAGE}/x"), (http, "/x")):
        status, _, body = send(server.endpoint, api, "GET", path)
        assert (status, body) in ((500, {"message": "Internal server error"}), (500, {"message": "Internal Server Error"}))
    # The other account allows each API: its own function runs, in its own account.
    other_lambda = client(server.endpoint, "lambda", OTHER_ROOT, OTHER_SECRET)
    for sid, api in (("rest", rest), ("http", http)):
        other_lambda.add_permission(FunctionName="shared", StatementId=sid, Action="lambda:InvokeFunction",
                                    Principal="apigateway.amazonaws.com",
                                    SourceArn=f"arn:aws:execute-api:us-east-1:{ACCT}:{api}/*")  # fmt: skip
    for api, path in ((rest, f"/{STAGE}/x"), (http, "/x")):
        status, _, body = send(server.endpoint, api, "GET", path)
        assert status == 200 and body["arn"] == theirs, body
    # A permission for one API lets no other in.
    third = rest_api(gw, theirs)
    assert send(server.endpoint, third, "GET", f"/{STAGE}/x")[0] == 500


def test_an_arn_of_an_account_or_region_with_no_function_is_never_the_local_one(server: LaminaProcess,
                                                                                 functions: dict[str, str]) -> None:  # fmt: skip
    gw, v2 = client(server.endpoint, "apigateway"), client(server.endpoint, "apigatewayv2")
    for arn in ("arn:aws:lambda:us-east-1:333333333333:function:shared",  # an account with no cell
                f"arn:aws:lambda:eu-west-1:{ACCT}:function:shared"):  # another region
        rest = rest_api(gw, arn)
        assert send(server.endpoint, rest, "GET", f"/{STAGE}/x")[0] == 500
        try:
            http = http_api(v2, arn)
        except ClientError:
            continue  # refused at CreateIntegration: as good
        assert send(server.endpoint, http, "GET", "/x")[0] == 500
    # A stage variable that names another account's function is resolved at call time: the same rule.
    api = gw.create_rest_api(name="variable")
    resource = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="v")
    gw.put_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", type="AWS_PROXY",
                       integrationHttpMethod="POST",
                       uri=uri("arn:aws:lambda:us-east-1:${stageVariables.acct}:function:shared"))  # fmt: skip
    gw.create_deployment(restApiId=api["id"], stageName=STAGE, variables={"acct": "333333333333"})
    assert send(server.endpoint, api["id"], "GET", f"/{STAGE}/v")[0] == 500
    gw.update_stage(restApiId=api["id"], stageName=STAGE,
                    patchOperations=[{"op": "replace", "path": "/variables/acct", "value": ACCT}])  # fmt: skip
    status, _, body = send(server.endpoint, api["id"], "GET", f"/{STAGE}/v")
    assert status == 200 and body["arn"] == functions[ACCT]


def test_a_mapping_for_another_accounts_function_is_refused(server: LaminaProcess, functions: dict[str, str]) -> None:
    lam, sqs = client(server.endpoint, "lambda"), client(server.endpoint, "sqs")
    queue = sqs.create_queue(QueueName="gw-mapping")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for name in (functions[OTHER], f"{OTHER}:function:shared", "arn:aws:lambda:eu-west-1:" + ACCT + ":function:shared"):
        with pytest.raises(ClientError) as refused:
            lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException", name
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


# -- imported definitions --------------------------------------------------------------------------


def test_imported_sigv4_api_key_and_mock_methods_are_served_as_declared(server: LaminaProcess,
                                                                          functions: dict[str, str]) -> None:  # fmt: skip
    gw, v2 = client(server.endpoint, "apigateway"), client(server.endpoint, "apigatewayv2")
    proxy = {"type": "aws_proxy", "httpMethod": "POST", "uri": uri(functions[ACCT])}
    sigv4 = {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}
    cors = {"type": "mock", "requestTemplates": {"application/json": '{\n  "statusCode" : 200\n}\n'}, "responses": {
        "default": {"statusCode": "200", "responseTemplates": {"application/json": "{}\n"}, "responseParameters": {
            "method.response.header.Access-Control-Allow-Methods": "'GET,OPTIONS'",
            "method.response.header.Access-Control-Allow-Origin": "'*'"}}}}  # fmt: skip
    swagger = {"swagger": "2.0", "info": {"title": "imported"}, "paths": {"/signed": {
        "get": {"security": [{"sigv4": []}], "x-amazon-apigateway-integration": proxy},
        "post": {"security": [{"api_key": []}], "x-amazon-apigateway-integration": proxy},
        "options": {"x-amazon-apigateway-integration": cors}}},
        "securityDefinitions": {"sigv4": sigv4, "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}}}  # fmt: skip
    api = gw.import_rest_api(body=json.dumps(swagger).encode())["id"]
    gw.create_deployment(restApiId=api, stageName=STAGE)
    assert send(server.endpoint, api, "GET", f"/{STAGE}/signed")[2] == {"message": "Missing Authentication Token"}
    assert send(server.endpoint, api, "GET", f"/{STAGE}/signed", signer=(ROOT, ROOT_SECRET))[0] == 200
    assert send(server.endpoint, api, "POST", f"/{STAGE}/signed", headers={"x-api-key": "k"})[:3:2] == (
        403, {"message": "Forbidden"})
    status, headers, body = send(server.endpoint, api, "OPTIONS", f"/{STAGE}/signed")
    assert (status, body, headers["access-control-allow-methods"]) == (200, {}, "GET,OPTIONS")

    openapi = {"openapi": "3.0.1", "info": {"title": "imported"}, "paths": {"/signed": {"get": {
        "security": [{"sigv4": []}], "x-amazon-apigateway-integration": {
            "type": "aws_proxy", "uri": functions[ACCT], "payloadFormatVersion": "2.0"}}}},
        "components": {"securitySchemes": {"sigv4": sigv4}}}  # fmt: skip
    http = v2.import_api(Body=json.dumps(openapi))["ApiId"]
    v2.create_stage(ApiId=http, StageName="$default", AutoDeploy=True)
    assert v2.get_routes(ApiId=http)["Items"][0]["AuthorizationType"] == "AWS_IAM"
    assert send(server.endpoint, http, "GET", "/signed")[0] == 403
    assert send(server.endpoint, http, "GET", "/signed", signer=(ROOT, ROOT_SECRET))[0] == 200
    exported = json.loads(v2.export_api(ApiId=http, OutputType="JSON", Specification="OAS30")["body"].read())
    assert exported["paths"]["/signed"]["get"]["security"] == [{"sigv4": []}]
    assert exported["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    again = v2.import_api(Body=json.dumps(exported))["ApiId"]  # what is exported imports back guarded
    assert v2.get_routes(ApiId=again)["Items"][0]["AuthorizationType"] == "AWS_IAM"


def test_curl_signs_for_execute_api_as_api_gateway_expects(server: LaminaProcess, functions: dict[str, str]) -> None:
    """curl's own SigV4 (``--aws-sigv4``), at the API's Host and at the path form."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    gw = client(server.endpoint, "apigateway")
    api = rest_api(gw, functions[ACCT], auth="AWS_IAM")
    port = urlsplit(server.endpoint).port
    host = f"{api}.execute-api.localhost"
    for url, extra in ((f"http://{host}:{port}/{STAGE}/curl?q=1", ["--resolve", f"{host}:{port}:127.0.0.1"]),
                       (f"{server.endpoint}/_aws/execute-api/{api}/{STAGE}/curl?q=1", [])):  # fmt: skip
        signed = [curl, "-s", "-w", "\n%{http_code}", *extra, "--aws-sigv4", "aws:amz:us-east-1:execute-api",
                  "--user", f"{ROOT}:{ROOT_SECRET}", "-X", "POST", "-H", "Content-Type: text/plain", "-d", "from curl", url]
        done = subprocess.run(signed, capture_output=True, text=True, timeout=60)
        body, _, status = done.stdout.rpartition("\n")
        assert status == "200", done.stdout + done.stderr
        assert json.loads(body)["event"]["body"] == "from curl"
        wrong = [*signed[: signed.index("--user") + 1], f"{ROOT}:wrong", *signed[signed.index("--user") + 2 :]]
        assert subprocess.run(wrong, capture_output=True, text=True, timeout=60).stdout.endswith("\n403")


def test_an_aws_iam_route_is_the_same_on_connections_aiohttp_serves(server: LaminaProcess,
                                                                    functions: dict[str, str]) -> None:  # fmt: skip
    """A chunked request is no plain one: aiohttp serves it (the front door lends it), with the same checks."""
    v2 = client(server.endpoint, "apigatewayv2")
    api = http_api(v2, functions[ACCT], auth="AWS_IAM")
    port = urlsplit(server.endpoint).port
    host = f"{api}.execute-api.localhost:{port}"

    def chunked(key: str, secret: str) -> tuple[int, bytes]:
        body = b"chunked body"
        sent = {"Host": host, "Content-Type": "text/plain", "Transfer-Encoding": "chunked"}
        sent.update(signing.headers("POST", f"http://{host}/c", body, {"Host": host, "Content-Type": "text/plain"},
                                    service="execute-api", key=key, secret=secret))  # fmt: skip
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("POST", "/c", body=iter([body[:5], body[5:]]), headers=sent, encode_chunked=True)
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    status, body = chunked(ROOT, ROOT_SECRET)
    assert status == 200 and json.loads(body)["event"]["body"] == "chunked body", body
    assert chunked(ROOT, "wrong")[0] == 403
    assert chunked("AKIANOSUCHKEY0000001", "x")[0] == 403


def test_a_role_sessions_temporary_keys_are_callers_too(server: LaminaProcess, functions: dict[str, str]) -> None:
    gw, iam = client(server.endpoint, "apigateway"), client(server.endpoint, "iam")
    api = rest_api(gw, functions[ACCT], auth="AWS_IAM")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                     "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = iam.create_role(RoleName="api-caller", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="api-caller", PolicyName="invoke", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}))
    _, key, secret = user(iam, "assumer", [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role["Arn"]}])
    session = client(server.endpoint, "sts", key, secret).assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    creds = session["Credentials"]
    temporary = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    status, _, body = send(server.endpoint, api, "GET", f"/{STAGE}/x", signer=temporary)
    assert status == 200, body
    identity = body["event"]["requestContext"]["identity"]
    assert identity["userArn"] == f"arn:aws:sts::{ACCT}:assumed-role/api-caller/s1"
    assert identity["caller"] == identity["user"] == f"{role['RoleId']}:s1" and identity["accessKey"] == creds["AccessKeyId"]
    # The session's key without its token, or with another one, is no key.
    for wrong in ((creds["AccessKeyId"], creds["SecretAccessKey"]), (*temporary[:2], "not-the-token")):
        status, _, body = send(server.endpoint, api, "GET", f"/{STAGE}/x", signer=wrong)
        assert (status, body) == (403, {"message": "The security token included in the request is invalid."})
