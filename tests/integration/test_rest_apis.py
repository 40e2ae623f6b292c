"""REST APIs (``apigateway``) against a real server: the control plane through boto3 and the AWS CLI,
stages served over real HTTP by Host header and by path, events compared with AWS's sample."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
VENV_BIN = Path(__file__).resolve().parent.parent.parent / ".venv" / "bin"

APP = """
import base64, json, time

def handler(event, context):
    path = event["path"]
    if path == "/error":
        raise RuntimeError("boom")
    if path == "/malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if path == "/notjson":
        return "just text"
    if path == "/sleep":
        time.sleep(3)
        return {"statusCode": 200, "body": "slept"}
    if path == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    if path == "/big":
        return {"statusCode": 200, "body": "x" * 3_000_000}
    if path == "/multi":
        return {"statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "body": "created"}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"event": event, "requestId": context.aws_request_id})}
"""


def apigw(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("apigateway", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def aws_apigateway(endpoint: str, *args: str) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "apigateway", *args, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def uri(function_arn: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def proxy_api(gw: Any, function_arn: str, **create: Any) -> tuple[str, str]:
    """An API with ``GET /`` and ``ANY /{proxy+}`` integrated with the function: (api id, proxy resource id)."""
    api = gw.create_rest_api(name="proxy", **create)
    root = api["rootResourceId"]
    proxy = gw.create_resource(restApiId=api["id"], parentId=root, pathPart="{proxy+}")
    for resource_id, verb in ((root, "GET"), (proxy["id"], "ANY")):
        gw.put_method(restApiId=api["id"], resourceId=resource_id, httpMethod=verb, authorizationType="NONE")
        gw.put_integration(restApiId=api["id"], resourceId=resource_id, httpMethod=verb, type="AWS_PROXY",
                           integrationHttpMethod="POST", uri=uri(function_arn))  # fmt: skip
    return api["id"], proxy["id"]


def call(endpoint: str, api_id: str, method: str, path: str, *, by_host: bool = True, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    sent = dict(headers or {})
    if by_host:
        sent["Host"] = f"{api_id}.execute-api.localhost:{parts.port}"
        target = path
    else:
        target = f"/_aws/execute-api/{api_id}{path}"
    try:
        conn.request(method, target, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def gw(lamina: Any) -> Any:
    return apigw(lamina.endpoint)


@pytest.fixture(scope="module")
def function_arn(client: Any) -> str:
    return str(deploy(client, "rest-api-proxy", APP, Timeout=10)["FunctionArn"])


@pytest.fixture(scope="module")
def served(gw: Any, function_arn: str) -> str:
    api_id, _ = proxy_api(gw, function_arn, binaryMediaTypes=["image/png"])
    gw.create_deployment(restApiId=api_id, stageName="prod", variables={"color": "blue"})
    return api_id


# -- control plane -----------------------------------------------------------------------------


def test_create_get_update_delete_rest_api(gw: Any) -> None:
    api = gw.create_rest_api(name="orders", description="d", binaryMediaTypes=["image/png"],
                             endpointConfiguration={"types": ["REGIONAL"]}, tags={"team": "a"})  # fmt: skip
    assert len(api["id"]) == 10 and api["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = gw.get_resources(restApiId=api["id"])["items"]
    assert resources == [{"id": api["rootResourceId"], "path": "/"}]
    got = gw.get_rest_api(restApiId=api["id"])
    assert got["name"] == "orders" and got["binaryMediaTypes"] == ["image/png"] and got["tags"] == {"team": "a"}
    updated = gw.update_rest_api(restApiId=api["id"], patchOperations=[
        {"op": "replace", "path": "/name", "value": "orders2"},
        {"op": "add", "path": "/binaryMediaTypes/image~1jpeg"},
        {"op": "remove", "path": "/binaryMediaTypes/image~1png"},
    ])  # fmt: skip
    assert updated["name"] == "orders2" and updated["binaryMediaTypes"] == ["image/jpeg"]
    with pytest.raises(ClientError) as bad_patch:
        gw.update_rest_api(restApiId=api["id"], patchOperations=[{"op": "replace", "path": "/nope", "value": "x"}])
    assert bad_patch.value.response["Error"]["Code"] == "BadRequestException"
    gw.delete_rest_api(restApiId=api["id"])
    with pytest.raises(ClientError) as gone:
        gw.get_rest_api(restApiId=api["id"])
    assert gone.value.response["Error"]["Code"] == "NotFoundException"
    assert gone.value.response["Error"]["Message"] == f"Invalid API identifier specified 000000000000:{api['id']}"


def test_get_rest_apis_pages(gw: Any) -> None:
    ids = {gw.create_rest_api(name=f"page-{i}")["id"] for i in range(5)}
    seen: list[str] = []
    page = gw.get_rest_apis(limit=2)
    while True:
        assert len(page["items"]) <= 2
        seen += [a["id"] for a in page["items"]]
        if "position" not in page:
            break
        page = gw.get_rest_apis(limit=2, position=page["position"])
    assert ids <= set(seen) and len(seen) == len(set(seen))
    for api_id in ids:
        gw.delete_rest_api(restApiId=api_id)


def test_resources_with_aws_errors(gw: Any, function_arn: str) -> None:
    api = gw.create_rest_api(name="resources")
    api_id, root = api["id"], api["rootResourceId"]
    users = gw.create_resource(restApiId=api_id, parentId=root, pathPart="users")
    assert users["path"] == "/users" and users["parentId"] == root
    user = gw.create_resource(restApiId=api_id, parentId=users["id"], pathPart="{id}")
    assert user["path"] == "/users/{id}"

    def error(**kwargs: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as raised:
            gw.create_resource(restApiId=api_id, **kwargs)
        return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]

    assert error(parentId=root, pathPart="users") == (
        "ConflictException", "Another resource with the same parent already has this name: users")
    assert error(parentId=root, pathPart="bad part")[0] == "BadRequestException"
    assert error(parentId=users["id"], pathPart="{other}")[0] == "BadRequestException"
    assert error(parentId="nope", pathPart="x") == ("NotFoundException", "Invalid Resource identifier specified")
    gw.put_method(restApiId=api_id, resourceId=user["id"], httpMethod="GET", authorizationType="NONE",
                  requestParameters={"method.request.path.id": True})  # fmt: skip
    with pytest.raises(ClientError) as twice:
        gw.put_method(restApiId=api_id, resourceId=user["id"], httpMethod="GET", authorizationType="NONE")
    assert twice.value.response["Error"]["Code"] == "ConflictException"
    with pytest.raises(ClientError) as no_integration:
        gw.get_integration(restApiId=api_id, resourceId=user["id"], httpMethod="GET")
    assert no_integration.value.response["Error"]["Message"] == "No integration defined for method"
    with pytest.raises(ClientError) as undeployable:
        gw.create_deployment(restApiId=api_id, stageName="s")
    assert undeployable.value.response["Error"]["Code"] == "BadRequestException"
    gw.put_integration(restApiId=api_id, resourceId=user["id"], httpMethod="GET", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(function_arn), timeoutInMillis=1000)  # fmt: skip
    gw.put_method_response(restApiId=api_id, resourceId=user["id"], httpMethod="GET", statusCode="200")
    gw.put_integration_response(restApiId=api_id, resourceId=user["id"], httpMethod="GET", statusCode="200",
                                responseTemplates={"application/json": ""})  # fmt: skip
    method = gw.get_method(restApiId=api_id, resourceId=user["id"], httpMethod="GET")
    assert method["methodIntegration"]["uri"] == uri(function_arn)
    assert method["methodIntegration"]["timeoutInMillis"] == 1000
    assert method["requestParameters"] == {"method.request.path.id": True}
    assert "200" in method["methodResponses"] and "200" in method["methodIntegration"]["integrationResponses"]
    target = {"restApiId": api_id, "resourceId": user["id"], "httpMethod": "GET"}
    updated = gw.update_integration(**target, patchOperations=[{"op": "replace", "path": "/timeoutInMillis", "value": "2000"}])
    assert updated["timeoutInMillis"] == 2000 and updated["uri"] == uri(function_arn)
    with pytest.raises(ClientError) as bad_timeout:
        gw.update_integration(**target, patchOperations=[{"op": "replace", "path": "/timeoutInMillis", "value": "9"}])
    assert bad_timeout.value.response["Error"]["Message"] == "Timeout should be between 50 ms and 29000 ms"
    method = gw.update_method(**target, patchOperations=[
        {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
        {"op": "remove", "path": "/requestParameters/method.request.path.id"},
    ])  # fmt: skip
    assert method["apiKeyRequired"] is True and method["requestParameters"] == {}
    ids = {"restApiId": api_id, "resourceId": user["id"], "httpMethod": "GET", "statusCode": "200"}
    assert gw.get_integration_response(**ids)["responseTemplates"] == {"application/json": ""}
    gw.delete_integration_response(**ids)
    gw.delete_method_response(**ids)
    with pytest.raises(ClientError) as no_response:
        gw.get_method_response(**ids)
    assert no_response.value.response["Error"]["Message"] == "Invalid Response status code specified"
    with pytest.raises(ClientError) as bad_auth:
        gw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="MAGIC")
    assert bad_auth.value.response["Error"]["Message"] == "Invalid authorization type specified"
    embedded = {r["path"]: r for r in gw.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    assert embedded["/users/{id}"]["resourceMethods"]["GET"]["httpMethod"] == "GET"
    gw.delete_resource(restApiId=api_id, resourceId=users["id"])  # and its child, and its method
    assert [r["path"] for r in gw.get_resources(restApiId=api_id)["items"]] == ["/"]
    with pytest.raises(ClientError) as gone:
        gw.get_resource(restApiId=api_id, resourceId=user["id"])
    assert gone.value.response["Error"]["Message"] == "Invalid Resource identifier specified"
    gw.delete_rest_api(restApiId=api_id)


def test_deployments_stages_and_tags(gw: Any, function_arn: str) -> None:
    api_id, _ = proxy_api(gw, function_arn)
    first = gw.create_deployment(restApiId=api_id, description="one")
    stage = gw.create_stage(restApiId=api_id, stageName="dev", deploymentId=first["id"], variables={"a": "1"})
    assert stage["deploymentId"] == first["id"] and stage["variables"] == {"a": "1"}
    with pytest.raises(ClientError) as exists:
        gw.create_stage(restApiId=api_id, stageName="dev", deploymentId=first["id"])
    assert exists.value.response["Error"]["Code"] == "ConflictException"
    second = gw.create_deployment(restApiId=api_id, stageName="dev")
    assert gw.get_stage(restApiId=api_id, stageName="dev")["deploymentId"] == second["id"]
    assert {d["id"] for d in gw.get_deployments(restApiId=api_id)["items"]} == {first["id"], second["id"]}
    updated = gw.update_stage(restApiId=api_id, stageName="dev", patchOperations=[
        {"op": "replace", "path": "/variables/b", "value": "2"}, {"op": "remove", "path": "/variables/a"},
        {"op": "replace", "path": "/deploymentId", "value": first["id"]},
    ])  # fmt: skip
    assert updated["variables"] == {"b": "2"} and updated["deploymentId"] == first["id"]
    with pytest.raises(ClientError) as active:
        gw.delete_deployment(restApiId=api_id, deploymentId=first["id"])
    assert active.value.response["Error"]["Code"] == "BadRequestException"
    gw.delete_deployment(restApiId=api_id, deploymentId=second["id"])
    with pytest.raises(ClientError) as bad_name:
        gw.create_stage(restApiId=api_id, stageName="no spaces", deploymentId=first["id"])
    assert bad_name.value.response["Error"]["Message"] == "Stage name only allows a-zA-Z0-9_-"
    arn = f"arn:aws:apigateway:us-east-1::/restapis/{api_id}"
    gw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
    gw.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert gw.get_tags(resourceArn=arn)["tags"] == {"b": "2"}
    gw.tag_resource(resourceArn=f"{arn}/stages/dev", tags={"s": "1"})
    assert gw.get_stage(restApiId=api_id, stageName="dev")["tags"] == {"s": "1"}
    assert gw.get_tags(resourceArn=arn)["tags"] == {"b": "2"}
    assert [s["stageName"] for s in gw.get_stages(restApiId=api_id)["item"]] == ["dev"]
    gw.delete_stage(restApiId=api_id, stageName="dev")
    with pytest.raises(ClientError) as no_stage:
        gw.get_stage(restApiId=api_id, stageName="dev")
    assert no_stage.value.response["Error"]["Message"] == "Invalid Stage identifier specified"
    gw.delete_rest_api(restApiId=api_id)


def test_state_survives_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    gw = apigw(server.endpoint)
    api = gw.create_rest_api(name="kept")
    child = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="x")
    gw.put_method(restApiId=api["id"], resourceId=child["id"], httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=api["id"], resourceId=child["id"], httpMethod="GET", type="MOCK")
    deployment = gw.create_deployment(restApiId=api["id"], stageName="s", variables={"v": "1"})
    server.stop()
    gw = apigw(make_server(tmp_path / "data").endpoint)
    assert gw.get_rest_api(restApiId=api["id"])["name"] == "kept"
    assert {r["path"] for r in gw.get_resources(restApiId=api["id"])["items"]} == {"/", "/x"}
    assert gw.get_integration(restApiId=api["id"], resourceId=child["id"], httpMethod="GET")["type"] == "MOCK"
    stage = gw.get_stage(restApiId=api["id"], stageName="s")
    assert stage["deploymentId"] == deployment["id"] and stage["variables"] == {"v": "1"}


def test_aws_cli(lamina: Any, function_arn: str) -> None:
    api = aws_apigateway(lamina.endpoint, "create-rest-api", "--name", "cli")
    proxy = aws_apigateway(lamina.endpoint, "create-resource", "--rest-api-id", api["id"],
                           "--parent-id", api["rootResourceId"], "--path-part", "{proxy+}")  # fmt: skip
    base = ["--rest-api-id", api["id"], "--resource-id", proxy["id"], "--http-method", "ANY"]
    aws_apigateway(lamina.endpoint, "put-method", *base, "--authorization-type", "NONE")
    aws_apigateway(lamina.endpoint, "put-integration", *base, "--type", "AWS_PROXY",
                   "--integration-http-method", "POST", "--uri", uri(function_arn))  # fmt: skip
    aws_apigateway(lamina.endpoint, "create-deployment", "--rest-api-id", api["id"], "--stage-name", "cli")
    status, _, body = call(lamina.endpoint, api["id"], "GET", "/cli/from/cli")
    assert status == 200 and json.loads(body)["event"]["pathParameters"] == {"proxy": "from/cli"}
    aws_apigateway(lamina.endpoint, "delete-rest-api", "--rest-api-id", api["id"])
    assert call(lamina.endpoint, api["id"], "GET", "/cli/from/cli")[0] == 403


# -- data plane --------------------------------------------------------------------------------


@pytest.mark.parametrize("by_host", [True, False])
def test_proxy_event_over_http(lamina: Any, served: str, by_host: bool) -> None:
    status, headers, body = call(lamina.endpoint, served, "POST", "/prod/hello/world?name=me&name=you",
                                 by_host=by_host, body=b'{"a": 1}',
                                 headers={"Content-Type": "application/json", "headerName": "headerValue"})  # fmt: skip
    assert status == 200, body
    doc = json.loads(body)
    event = doc["event"]
    assert headers["x-amzn-requestid"] == doc["requestId"] == event["requestContext"]["requestId"]
    aws = json.loads((AWS_EVENTS / "apigw-request.json").read_text())
    assert set(event) == set(aws) | {"isBase64Encoded"}
    assert set(event["requestContext"]) == set(aws["requestContext"]) - {"authorizer"}
    assert set(event["requestContext"]["identity"]) == (
        set(aws["requestContext"]["identity"]) - {"clientCert", "apiKey", "apiKeyId"} | {"principalOrgId"})
    assert event["resource"] == "/{proxy+}" and event["path"] == "/hello/world"
    assert event["pathParameters"] == {"proxy": "hello/world"}
    assert event["httpMethod"] == "POST" and event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"name": "you"}
    assert event["multiValueQueryStringParameters"] == {"name": ["me", "you"]}
    assert event["headers"]["headerName"] == "headerValue"
    assert event["multiValueHeaders"]["headerName"] == ["headerValue"]
    assert event["stageVariables"] == {"color": "blue"}
    context = event["requestContext"]
    assert context["stage"] == "prod" and context["path"] == "/prod/hello/world" and context["apiId"] == served
    assert context["resourcePath"] == "/{proxy+}" and context["accountId"] == "000000000000"
    assert context["identity"]["sourceIp"] == "127.0.0.1"


def test_lamina_apis_lists_each_stage_at_the_url_that_serves_it(lamina: Any, served: str) -> None:
    from tests.integration.test_clients import lamina_cli

    listed = lamina_cli(lamina.endpoint, "apis")
    assert listed.returncode == 0, listed.stderr
    [line] = [line for line in listed.stdout.splitlines() if line.split()[:2] == ["REST", served]]
    port = urlsplit(lamina.endpoint).port
    url = f"http://{served}.execute-api.localhost:{port}/prod/"
    assert url in line.split()
    as_json = json.loads(lamina_cli(lamina.endpoint, "apis", "--json").stdout)
    [ours] = [a for a in as_json["RestApis"] if a["id"] == served]
    assert [(s["stageName"], s["url"]) for s in ours["stages"]] == [("prod", url)]
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/")  # the URL, by its Host and path
    assert status == 200 and json.loads(body)["event"]["path"] == "/"


def test_root_and_method_matching(lamina: Any, served: str) -> None:
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/")
    assert status == 200 and json.loads(body)["event"]["resource"] == "/"
    status, headers, body = call(lamina.endpoint, served, "POST", "/prod")  # the root has GET only
    assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert call(lamina.endpoint, served, "GET", "/nostage/x")[0] == 403
    assert call(lamina.endpoint, served, "GET", "/")[0] == 403


def test_stage_serves_its_deployment_snapshot(lamina: Any, gw: Any, function_arn: str) -> None:
    api_id, _ = proxy_api(gw, function_arn)
    gw.create_deployment(restApiId=api_id, stageName="v1")
    extra = gw.create_resource(restApiId=api_id, parentId=gw.get_rest_api(restApiId=api_id)["rootResourceId"],
                               pathPart="only-later")  # fmt: skip
    gw.put_method(restApiId=api_id, resourceId=extra["id"], httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=api_id, resourceId=extra["id"], httpMethod="GET", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(function_arn))  # fmt: skip
    status, _, body = call(lamina.endpoint, api_id, "GET", "/v1/only-later")
    assert json.loads(body)["event"]["resource"] == "/{proxy+}"  # not yet deployed
    gw.create_deployment(restApiId=api_id, stageName="v1")
    status, _, body = call(lamina.endpoint, api_id, "GET", "/v1/only-later")
    assert status == 200 and json.loads(body)["event"]["resource"] == "/only-later"
    gw.delete_rest_api(restApiId=api_id)


def test_responses_and_errors(lamina: Any, served: str) -> None:
    internal = {"message": "Internal server error"}
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/error")
    assert (status, json.loads(body)) == (502, internal)
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/malformed")
    assert (status, json.loads(body)) == (502, internal)
    assert call(lamina.endpoint, served, "GET", "/prod/notjson")[0] == 502
    status, headers, body = call(lamina.endpoint, served, "GET", "/prod/multi")
    assert (status, body, headers["x-one"]) == (201, b"created", "1")
    assert headers["x-amz-apigw-id"] and headers["x-amzn-trace-id"].startswith("Root=1-")
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/binary", headers={"Accept": "image/png"})
    assert (status, body) == (200, bytes(range(256)))
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/binary", headers={"Accept": "text/plain"})
    assert base64.b64decode(body) == bytes(range(256))
    status, _, body = call(lamina.endpoint, served, "GET", "/prod/big")
    assert status == 200 and body == b"x" * 3_000_000


def test_binary_request_bodies(lamina: Any, served: str) -> None:
    data = bytes(range(256))
    status, _, body = call(lamina.endpoint, served, "PUT", "/prod/upload", body=data, headers={"Content-Type": "image/png"})
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == data


def test_integration_timeout_is_504(lamina: Any, gw: Any, function_arn: str) -> None:
    api = gw.create_rest_api(name="slow")
    resource = gw.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="sleep")
    gw.put_method(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=api["id"], resourceId=resource["id"], httpMethod="GET", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(function_arn), timeoutInMillis=500)  # fmt: skip
    gw.create_deployment(restApiId=api["id"], stageName="s")
    status, _, body = call(lamina.endpoint, api["id"], "GET", "/s/sleep")
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})
    gw.delete_rest_api(restApiId=api["id"])


def test_unserved_integrations_and_missing_functions_are_500(lamina: Any, gw: Any) -> None:
    api = gw.create_rest_api(name="unserved")
    root = api["rootResourceId"]
    mock = gw.create_resource(restApiId=api["id"], parentId=root, pathPart="mock")
    for resource_id, kwargs in ((mock["id"], {"type": "MOCK"}),
                                (root, {"type": "AWS_PROXY", "integrationHttpMethod": "POST",
                                        "uri": uri("arn:aws:lambda:us-east-1:000000000000:function:no-such")})):  # fmt: skip
        gw.put_method(restApiId=api["id"], resourceId=resource_id, httpMethod="GET", authorizationType="NONE")
        gw.put_integration(restApiId=api["id"], resourceId=resource_id, httpMethod="GET", **kwargs)
    gw.create_deployment(restApiId=api["id"], stageName="s")
    for path in ("/s/mock", "/s/"):
        status, _, body = call(lamina.endpoint, api["id"], "GET", path)
        assert (status, json.loads(body)) == (500, {"message": "Internal server error"}), path
    gw.delete_rest_api(restApiId=api["id"])


def test_a_throttled_function_is_500(lamina: Any, client: Any, gw: Any) -> None:
    arn = deploy(client, "rest-api-throttled", APP)["FunctionArn"]
    client.put_function_concurrency(FunctionName="rest-api-throttled", ReservedConcurrentExecutions=0)
    api_id, _ = proxy_api(gw, arn)
    gw.create_deployment(restApiId=api_id, stageName="s")
    status, _, body = call(lamina.endpoint, api_id, "GET", "/s/x")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    gw.delete_rest_api(restApiId=api_id)


def test_stage_variables_name_the_function(lamina: Any, gw: Any, function_arn: str) -> None:
    api_id, proxy_id = proxy_api(gw, function_arn)
    name = function_arn.rsplit(":", 1)[0] + ":${stageVariables.fn}"
    gw.put_integration(restApiId=api_id, resourceId=proxy_id, httpMethod="ANY", type="AWS_PROXY",
                       integrationHttpMethod="POST", uri=uri(name))  # fmt: skip
    gw.create_deployment(restApiId=api_id, stageName="named", variables={"fn": "rest-api-proxy"})
    gw.create_deployment(restApiId=api_id, stageName="unset")
    status, _, body = call(lamina.endpoint, api_id, "GET", "/named/x")
    assert status == 200 and json.loads(body)["event"]["stageVariables"] == {"fn": "rest-api-proxy"}
    assert call(lamina.endpoint, api_id, "GET", "/unset/x")[0] == 500
    gw.delete_rest_api(restApiId=api_id)


def test_hostile_requests(lamina: Any, served: str) -> None:
    for path in ("/prod/../../etc/passwd", "/prod/%2e%2e/%2f", "/prod//x", "/prod/" + "a/" * 2000):
        status, _, body = call(lamina.endpoint, served, "GET", path)
        assert status == 200, path
        assert json.loads(body)["event"]["path"] == path[len("/prod"):]
    status, _, _ = call(lamina.endpoint, served, "GET", "/prod/x", headers={"X-Big": "v" * 7000})
    assert status == 200
    status, _, body = call(lamina.endpoint, served, "POST", "/prod/x", body=b"\xff\xfe" + b"y" * 5_000_000,
                           headers={"Content-Type": "text/plain"})  # fmt: skip
    event = json.loads(body)["event"]
    assert status == 200 and event["body"] == "\ufffd\ufffd" + "y" * 5_000_000
    status, _, body = call(lamina.endpoint, served, "POST", "/prod/x", body=b"z" * (11 * 1024 * 1024))
    assert (status, json.loads(body)) == (413, {"message": "Request Too Long"})


# -- the documentation's walkthrough, run as written --------------------------------------------

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "rest-apis.md"


def test_walkthrough_in_docs(lamina: Any, tmp_path: Path) -> None:
    text = DOC.read_text()
    script = text.split("```sh\n", 1)[1].split("```", 1)[0]
    expected = text.split("Both calls print:\n\n```\n", 1)[1].split("```", 1)[0].strip()
    env = {**os.environ, "ENDPOINT": lamina.endpoint, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [expected, expected]


def test_mock_integrations_answer_as_sams_cors_preflight_expects(lamina: Any, gw: Any) -> None:
    api = gw.create_rest_api(name="mocked")
    api_id, root = api["id"], api["rootResourceId"]
    headers = {"Access-Control-Allow-Origin": "'*'", "Access-Control-Allow-Methods": "'GET,OPTIONS'",
               "Access-Control-Allow-Headers": "'Content-Type,X-Amz-Date,Authorization'"}  # fmt: skip
    gw.put_method(restApiId=api_id, resourceId=root, httpMethod="OPTIONS", authorizationType="NONE")
    gw.put_integration(restApiId=api_id, resourceId=root, httpMethod="OPTIONS", type="MOCK",
                       requestTemplates={"application/json": '{\n  "statusCode" : 200\n}\n'})  # fmt: skip
    gw.put_method_response(restApiId=api_id, resourceId=root, httpMethod="OPTIONS", statusCode="200",
                           responseParameters={f"method.response.header.{h}": False for h in headers})  # fmt: skip
    gw.put_integration_response(restApiId=api_id, resourceId=root, httpMethod="OPTIONS", statusCode="200",
                                responseParameters={f"method.response.header.{h}": v for h, v in headers.items()},
                                responseTemplates={"application/json": "{}\n"})  # fmt: skip
    # A MOCK that picks its response by status: the request template says 404, a pattern selects it.
    teapot = gw.create_resource(restApiId=api_id, parentId=root, pathPart="gone")
    gw.put_method(restApiId=api_id, resourceId=teapot["id"], httpMethod="GET", authorizationType="NONE")
    gw.put_integration(restApiId=api_id, resourceId=teapot["id"], httpMethod="GET", type="MOCK",
                       passthroughBehavior="NEVER", requestTemplates={"application/json": '{"statusCode": 404}'})  # fmt: skip
    for status, pattern, body in (("200", None, '{"ok": true}'), ("404", "4\\d\\d", '{"message": "gone"}')):
        gw.put_method_response(restApiId=api_id, resourceId=teapot["id"], httpMethod="GET", statusCode=status)
        extra = {"selectionPattern": pattern} if pattern else {}
        gw.put_integration_response(restApiId=api_id, resourceId=teapot["id"], httpMethod="GET", statusCode=status,
                                    responseTemplates={"application/json": body},
                                    responseParameters={"method.response.header.X-Echo": "method.request.header.x-echo",
                                                        "method.response.header.X-Bad": "'a\r\nSet-Cookie: evil=1'"},
                                    **extra)  # fmt: skip
    gw.create_deployment(restApiId=api_id, stageName="s")

    for by_host in (True, False):
        status, answered, body = call(lamina.endpoint, api_id, "OPTIONS", "/s/", by_host=by_host,
                                      headers={"Origin": "http://example.com", "Access-Control-Request-Method": "GET"})  # fmt: skip
        assert (status, body) == (200, b"{}\n")
        assert answered["content-type"] == "application/json"
        for name, value in headers.items():
            assert answered[name.lower()] == value.strip("'")
    status, answered, body = call(lamina.endpoint, api_id, "GET", "/s/gone", headers={"X-Echo": "hello"})
    assert (status, json.loads(body), answered["x-echo"]) == (404, {"message": "gone"}, "hello")
    assert "x-bad" not in answered and "set-cookie" not in answered  # no header split by a parameter
    # NEVER passes nothing through: a body of a type no template takes is refused.
    status, _, body = call(lamina.endpoint, api_id, "GET", "/s/gone", headers={"Content-Type": "text/plain"}, body=b"x")
    assert (status, json.loads(body)) == (415, {"message": "Unsupported Media Type"})
    gw.delete_rest_api(restApiId=api_id)
