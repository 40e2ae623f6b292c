"""HTTP APIs against a real server: the control plane through boto3's unchanged ``apigatewayv2``
client and the AWS CLI, and the APIs served over real HTTP (by Host header and by path), their
events compared with AWS's captured events."""

from __future__ import annotations

import base64
import http.client
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROOT, deploy
from tests.unit.test_http_api_events import NOT_WITHOUT_AUTH, same_shape, shape
from tests import signing

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"
VENV_BIN = ROOT / ".venv" / "bin"
SHELL_EXAMPLE = ROOT / "examples" / "shell-hello"

APP = """
import base64, json, time

def handler(event, context):
    path = event.get("rawPath") or event.get("path")
    if path.endswith("/plain"):
        return {"hello": "world"}
    if path.endswith("/error"):
        raise RuntimeError("boom")
    if path.endswith("/malformed"):
        return {"statusCode": "abc"}
    if path.endswith("/sleep"):
        time.sleep(2)
        return {"statusCode": 200, "body": "slept"}
    if path.endswith("/binary"):
        return {"statusCode": 200, "headers": {"content-type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    if path.endswith("/custom"):
        return {"statusCode": 201, "headers": {"x-custom": "yes", "Access-Control-Allow-Origin": "https://evil.example"},
                "cookies": ["a=1", "b=2"], "multiValueHeaders": {"x-multi": ["1", "2"]}, "body": "created"}
    if path.endswith("/big"):
        return {"statusCode": 200, "body": "x" * (3 * 1024 * 1024)}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"event": event, "requestId": context.aws_request_id})}
"""


def gateway(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("apigatewayv2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def aws_cli(endpoint: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "--output", "json", "apigatewayv2", *args],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


class Reply:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(api_endpoint: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None, *, by_path: str | None = None) -> Reply:  # fmt: skip
    """A request to the API: by its Host header (``api_endpoint``), or by path through ``by_path`` (Lamina's endpoint)."""
    url = urlsplit(api_endpoint)
    port = url.port or 80
    sent = dict(headers or {})
    if by_path is None:
        sent.setdefault("Host", url.netloc)
        target = path
    else:
        target = f"/_aws/execute-api/{url.hostname.split('.')[0] if url.hostname else ''}{path}"
        port = urlsplit(by_path).port or 80
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def echo(lamina: Any, client: Any) -> dict[str, Any]:
    return deploy(client, "http-api-echo", APP, Timeout=10)


@pytest.fixture
def apigw(lamina: Any) -> Any:
    return gateway(lamina.endpoint)


@pytest.fixture
def api(apigw: Any, echo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    created = apigw.create_api(Name="echo", ProtocolType="HTTP", Target=echo["FunctionArn"])
    yield created
    apigw.delete_api(ApiId=created["ApiId"])


def event_of(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply.body
    doc: dict[str, Any] = reply.json()["event"]
    return doc


# -- quick create and serving ---------------------------------------------------------------------


def test_quick_create_makes_integration_route_and_auto_deployed_default_stage(apigw: Any, api: dict[str, Any],
                                                                               echo: dict[str, Any]) -> None:  # fmt: skip
    api_id = api["ApiId"]
    assert len(api_id) == 10 and api["ProtocolType"] == "HTTP"
    assert api["ApiEndpoint"].startswith(f"http://{api_id}.execute-api.localhost:")
    [integration] = apigw.get_integrations(ApiId=api_id)["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["IntegrationUri"] == echo["FunctionArn"]
    assert integration["PayloadFormatVersion"] == "2.0" and integration["ApiGatewayManaged"] is True
    [route] = apigw.get_routes(ApiId=api_id)["Items"]
    assert route["RouteKey"] == "$default" and route["Target"] == f"integrations/{integration['IntegrationId']}"
    assert len(route["RouteId"]) == 7
    [stage] = apigw.get_stages(ApiId=api_id)["Items"]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True and stage["DeploymentId"]
    [deployment] = apigw.get_deployments(ApiId=api_id)["Items"]
    assert deployment["AutoDeployed"] is True and deployment["DeploymentId"] == stage["DeploymentId"]
    assert apigw.get_api(ApiId=api_id)["Name"] == "echo"


def test_served_by_host_header_and_by_path_with_aws_shaped_v2_events(lamina: Any, api: dict[str, Any]) -> None:
    endpoint = api["ApiEndpoint"]
    by_host = event_of(call(endpoint, "GET", "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
                            headers={"Header2": "value1", "Cookie": "cookie1; cookie2"}))  # fmt: skip
    by_path = event_of(call(endpoint, "GET", "/my/path", by_path=lamina.endpoint))
    aws = json.loads((AWS_EVENTS / "apiGatewayProxyV2Event_GET.json").read_text())
    aws = shape(aws, frozenset(NOT_WITHOUT_AUTH | {"pathParameters", "stageVariables"}))
    assert same_shape(shape(by_host), aws) == []
    assert by_host["rawPath"] == "/my/path" and by_host["routeKey"] == "$default"
    assert by_host["cookies"] == ["cookie1", "cookie2"]
    assert by_host["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert by_host["requestContext"]["apiId"] == api["ApiId"]
    assert by_host["requestContext"]["domainName"] == f"{api['ApiId']}.execute-api.localhost"
    assert by_host["requestContext"]["stage"] == "$default"
    minimal = json.loads((AWS_EVENTS / "apigw-v2-request-no-authorizer.json").read_text())
    assert same_shape(shape(by_path), shape(minimal, frozenset(NOT_WITHOUT_AUTH))) == []
    assert by_path["rawPath"] == "/my/path"


def test_unknown_api_is_forbidden_and_deleted_api_stops_serving(lamina: Any, apigw: Any, echo: dict[str, Any]) -> None:
    created = apigw.create_api(Name="gone", ProtocolType="HTTP", Target=echo["FunctionArn"])
    assert call(created["ApiEndpoint"], "GET", "/x").status == 200
    apigw.delete_api(ApiId=created["ApiId"])
    gone = call(created["ApiEndpoint"], "GET", "/x")
    assert gone.status == 403 and gone.json() == {"message": "Forbidden"}
    with pytest.raises(ClientError) as raised:
        apigw.get_api(ApiId=created["ApiId"])
    assert raised.value.response["Error"]["Code"] == "NotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_aws_cli_quick_create_and_list(lamina: Any, echo: dict[str, Any]) -> None:
    created = aws_cli(lamina.endpoint, "create-api", "--name", "cli", "--protocol-type", "HTTP",
                      "--target", echo["FunctionArn"], "--route-key", "GET /hello/{name}")  # fmt: skip
    try:
        reply = call(created["ApiEndpoint"], "GET", "/hello/world")
        event = event_of(reply)
        assert event["pathParameters"] == {"name": "world"} and event["routeKey"] == "GET /hello/{name}"
        assert call(created["ApiEndpoint"], "GET", "/other").json() == {"message": "Not Found"}
        listed = aws_cli(lamina.endpoint, "get-apis")
        assert created["ApiId"] in [item["ApiId"] for item in listed["Items"]]
        routes = aws_cli(lamina.endpoint, "get-routes", "--api-id", created["ApiId"])
        assert [r["RouteKey"] for r in routes["Items"]] == ["GET /hello/{name}"]
    finally:
        aws_cli(lamina.endpoint, "delete-api", "--api-id", created["ApiId"])


# -- routes, integrations, stages, deployments ----------------------------------------------------


def test_routes_select_most_specific_and_payload_1_0(apigw: Any, echo: dict[str, Any]) -> None:
    api = apigw.create_api(Name="routes", ProtocolType="HTTP")
    api_id = api["ApiId"]
    try:
        v2 = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=echo["FunctionArn"],
                                      PayloadFormatVersion="2.0")["IntegrationId"]  # fmt: skip
        uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{echo['FunctionArn']}/invocations"
        v1 = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri,
                                      PayloadFormatVersion="1.0", TimeoutInMillis=10000)["IntegrationId"]  # fmt: skip
        for key, target in (("GET /pets/dog/1", v2), ("GET /pets/{id}", v2), ("ANY /pets/{proxy+}", v2),
                            ("GET /v1/{name}", v1), ("$default", v2)):  # fmt: skip
            apigw.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{target}")
        apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True, StageVariables={"color": "blue"})
        endpoint = api["ApiEndpoint"]
        assert event_of(call(endpoint, "GET", "/pets/dog/1"))["routeKey"] == "GET /pets/dog/1"
        param = event_of(call(endpoint, "GET", "/pets/cat"))
        assert param["routeKey"] == "GET /pets/{id}" and param["pathParameters"] == {"id": "cat"}
        assert param["stageVariables"] == {"color": "blue"}
        greedy = event_of(call(endpoint, "DELETE", "/pets/a/b%2Fc"))
        assert greedy["routeKey"] == "ANY /pets/{proxy+}" and greedy["pathParameters"] == {"proxy": "a/b/c"}
        assert event_of(call(endpoint, "GET", "/elsewhere"))["routeKey"] == "$default"
        v1_event = event_of(call(endpoint, "GET", "/v1/me?x=1&x=2", headers={"X-Multi": "a"}))
        aws = json.loads((AWS_EVENTS / "apiGatewayProxyEvent.json").read_text())
        assert same_shape(shape(v1_event), shape(aws, frozenset(NOT_WITHOUT_AUTH))) == []
        assert v1_event["version"] == "1.0" and v1_event["resource"] == "/v1/{name}"
        assert v1_event["pathParameters"] == {"name": "me"}
        assert v1_event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
        assert v1_event["queryStringParameters"] == {"x": "2"}
        assert v1_event["headers"]["X-Multi"] == "a" and v1_event["multiValueHeaders"]["X-Multi"] == ["a"]
        assert v1_event["requestContext"]["resourcePath"] == "/v1/{name}"
        # Paging
        first = apigw.get_routes(ApiId=api_id, MaxResults="2")
        assert len(first["Items"]) == 2 and first["NextToken"]
        rest = apigw.get_routes(ApiId=api_id, NextToken=first["NextToken"])
        assert len(first["Items"]) + len(rest["Items"]) == 5 and "NextToken" not in rest
        paginated = [r for page in apigw.get_paginator("get_routes").paginate(ApiId=api_id, PaginationConfig={"PageSize": 2})
                     for r in page["Items"]]  # fmt: skip
        assert len(paginated) == 5
    finally:
        apigw.delete_api(ApiId=api_id)


def _error(call_: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call_()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_control_plane_errors_leave_nothing_half_created(apigw: Any, echo: dict[str, Any]) -> None:
    api_id = apigw.create_api(Name="errors", ProtocolType="HTTP")["ApiId"]
    try:
        code, status, message = _error(lambda: apigw.get_route(ApiId=api_id, RouteId="abcdefg"))
        assert (code, status) == ("NotFoundException", 404)
        assert _error(lambda: apigw.create_route(ApiId=api_id, RouteKey="FETCH /x"))[:2] == ("BadRequestException", 400)
        assert _error(lambda: apigw.create_route(ApiId=api_id, RouteKey="GET /{proxy+}/x"))[0] == "BadRequestException"
        assert _error(lambda: apigw.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/nope"))[0] == \
            "BadRequestException"
        assert apigw.get_routes(ApiId=api_id)["Items"] == []
        apigw.create_route(ApiId=api_id, RouteKey="GET /x")
        assert _error(lambda: apigw.create_route(ApiId=api_id, RouteKey="GET /x"))[:2] == ("ConflictException", 409)
        for bad in ({"IntegrationUri": "arn:aws:s3:::bucket", "PayloadFormatVersion": "2.0"},
                    {"IntegrationUri": echo["FunctionArn"], "PayloadFormatVersion": "3.0"},
                    {"IntegrationUri": echo["FunctionArn"], "PayloadFormatVersion": "2.0", "TimeoutInMillis": 30001},
                    {"IntegrationUri": echo["FunctionArn"]},  # PayloadFormatVersion is required for Lambda
                    {"IntegrationUri": echo["FunctionArn"], "PayloadFormatVersion": "2.0", "IntegrationMethod": "GET"}):
            assert _error(lambda: apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", **bad))[0] == \
                "BadRequestException"
        assert apigw.get_integrations(ApiId=api_id)["Items"] == []
        integration = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                               IntegrationUri=echo["FunctionArn"])["IntegrationId"]  # fmt: skip
        route = apigw.create_route(ApiId=api_id, RouteKey="GET /y", Target=f"integrations/{integration}")
        assert _error(lambda: apigw.delete_integration(ApiId=api_id, IntegrationId=integration))[0] == "ConflictException"
        updated = apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="POST /y")
        assert updated["RouteKey"] == "POST /y" and updated["Target"] == f"integrations/{integration}"
        assert apigw.update_integration(ApiId=api_id, IntegrationId=integration, TimeoutInMillis=5000)[
            "TimeoutInMillis"] == 5000
        apigw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
        apigw.delete_integration(ApiId=api_id, IntegrationId=integration)
        apigw.create_stage(ApiId=api_id, StageName="prod")
        assert _error(lambda: apigw.create_stage(ApiId=api_id, StageName="prod"))[0] == "ConflictException"
        assert _error(lambda: apigw.get_stage(ApiId=api_id, StageName="nope"))[0] == "NotFoundException"
        assert _error(lambda: apigw.create_api(Name="x", ProtocolType="HTTP", Target="not-an-arn"))[0] == \
            "BadRequestException"
        assert apigw.update_api(ApiId=api_id, Name="renamed", Description="d")["Name"] == "renamed"
    finally:
        apigw.delete_api(ApiId=api_id)
    assert _error(lambda: apigw.get_routes(ApiId=api_id))[0] == "NotFoundException"


def test_named_stage_serves_the_routes_of_its_deployment(apigw: Any, echo: dict[str, Any]) -> None:
    api = apigw.create_api(Name="staged", ProtocolType="HTTP")
    api_id, endpoint = api["ApiId"], api["ApiEndpoint"]
    try:
        integration = apigw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                               IntegrationUri=echo["FunctionArn"])["IntegrationId"]  # fmt: skip
        apigw.create_route(ApiId=api_id, RouteKey="GET /one", Target=f"integrations/{integration}")
        apigw.create_stage(ApiId=api_id, StageName="prod", StageVariables={"v": "1"})
        assert call(endpoint, "GET", "/prod/one").status == 404  # nothing deployed yet
        deployment = apigw.create_deployment(ApiId=api_id, StageName="prod", Description="first")
        assert apigw.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"] == deployment["DeploymentId"]
        event = event_of(call(endpoint, "GET", "/prod/one"))
        assert event["requestContext"]["stage"] == "prod" and event["rawPath"] == "/prod/one"
        assert event["stageVariables"] == {"v": "1"}
        apigw.create_route(ApiId=api_id, RouteKey="GET /two", Target=f"integrations/{integration}")
        assert call(endpoint, "GET", "/prod/two").status == 404  # not deployed yet
        apigw.create_deployment(ApiId=api_id, StageName="prod")
        assert event_of(call(endpoint, "GET", "/prod/two"))["routeKey"] == "GET /two"
        assert call(endpoint, "GET", "/one").status == 404  # no $default stage
        assert len(apigw.get_deployments(ApiId=api_id)["Items"]) == 2
        assert _error(lambda: apigw.delete_deployment(ApiId=api_id, DeploymentId=apigw.get_stage(
            ApiId=api_id, StageName="prod")["DeploymentId"]))[0] == "BadRequestException"
        apigw.update_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
        apigw.create_route(ApiId=api_id, RouteKey="GET /three", Target=f"integrations/{integration}")
        assert event_of(call(endpoint, "GET", "/prod/three"))["routeKey"] == "GET /three"
        apigw.delete_stage(ApiId=api_id, StageName="prod")
        assert call(endpoint, "GET", "/prod/one").status == 404
    finally:
        apigw.delete_api(ApiId=api_id)


def test_tags(apigw: Any, api: dict[str, Any]) -> None:
    arn = f"arn:aws:apigateway:us-east-1::/apis/{api['ApiId']}"
    apigw.tag_resource(ResourceArn=arn, Tags={"team": "a", "env": "dev"})
    assert apigw.get_tags(ResourceArn=arn)["Tags"] == {"team": "a", "env": "dev"}
    apigw.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert apigw.get_tags(ResourceArn=arn)["Tags"] == {"team": "a"}
    assert apigw.get_api(ApiId=api["ApiId"])["Tags"] == {"team": "a"}
    assert _error(lambda: apigw.get_tags(ResourceArn="arn:aws:apigateway:us-east-1::/apis/zzzzzzzzzz"))[0] == \
        "NotFoundException"


# -- responses, errors, CORS, hostile requests ----------------------------------------------------


def test_responses_as_api_gateway_maps_them(api: dict[str, Any]) -> None:
    endpoint = api["ApiEndpoint"]
    plain = call(endpoint, "GET", "/plain")
    assert plain.status == 200 and plain.json() == {"hello": "world"}
    assert plain.headers["Content-Type"] == "application/json" and plain.headers["apigw-requestid"]
    custom = call(endpoint, "GET", "/custom")
    assert custom.status == 201 and custom.body == b"created" and custom.headers["x-custom"] == "yes"
    assert custom.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    binary = call(endpoint, "GET", "/binary")
    assert binary.body == bytes(range(256)) and binary.headers["Content-Type"] == "image/png"
    upload = bytes(range(256)) * 4096
    event = event_of(call(endpoint, "POST", "/upload", body=upload, headers={"Content-Type": "application/octet-stream"}))
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == upload
    text = event_of(call(endpoint, "POST", "/upload", body=b'{"a": 1}', headers={"Content-Type": "application/json"}))
    assert text["body"] == '{"a": 1}' and text["isBase64Encoded"] is False
    big = call(endpoint, "GET", "/big")
    assert big.status == 200 and len(big.body) == 3 * 1024 * 1024


def test_function_failures_are_api_gateway_errors(apigw: Any, client: Any, api: dict[str, Any], fn_name: str) -> None:
    endpoint = api["ApiEndpoint"]
    for path in ("/error", "/malformed"):
        failed = call(endpoint, "GET", path)
        assert failed.status == 500 and failed.json() == {"message": "Internal Server Error"}
    [integration] = apigw.get_integrations(ApiId=api["ApiId"])["Items"]
    apigw.update_integration(ApiId=api["ApiId"], IntegrationId=integration["IntegrationId"], TimeoutInMillis=500)
    slow = call(endpoint, "GET", "/sleep")
    assert slow.status == 503 and slow.json() == {"message": "Service Unavailable"}
    # A function whose response is not JSON at all: AWS's shell custom runtime, unchanged.
    shell = deploy(client, fn_name, {name: (SHELL_EXAMPLE / name).read_bytes() for name in ("bootstrap", "function.sh")},
                   handler="function.handler", runtime="provided.al2023")  # fmt: skip
    not_json = apigw.create_api(Name="shell", ProtocolType="HTTP", Target=shell["FunctionArn"])
    try:
        reply = call(not_json["ApiEndpoint"], "GET", "/")
        assert reply.status == 500 and reply.json() == {"message": "Internal Server Error"}
    finally:
        apigw.delete_api(ApiId=not_json["ApiId"])
    missing = apigw.create_api(Name="missing", ProtocolType="HTTP",
                               Target="arn:aws:lambda:us-east-1:000000000000:function:does-not-exist")  # fmt: skip
    try:
        assert call(missing["ApiEndpoint"], "GET", "/").status == 500
    finally:
        apigw.delete_api(ApiId=missing["ApiId"])


def test_cors_preflight_and_headers(apigw: Any, api: dict[str, Any]) -> None:
    apigw.update_api(ApiId=api["ApiId"], CorsConfiguration={
        "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["content-type"],
        "MaxAge": 300, "ExposeHeaders": ["x-custom"],
    })  # fmt: skip
    endpoint = api["ApiEndpoint"]
    preflight = call(endpoint, "OPTIONS", "/custom", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status == 204 and preflight.body == b""
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert preflight.headers["Access-Control-Max-Age"] == "300"
    reply = call(endpoint, "GET", "/custom", headers={"Origin": "https://app.example"})
    assert reply.headers.get_all("Access-Control-Allow-Origin") == ["https://app.example"]  # the function's is replaced
    assert reply.headers["Access-Control-Expose-Headers"] == "x-custom"
    other = call(endpoint, "GET", "/custom", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_hostile_requests_get_answers_not_tracebacks(lamina: Any, api: dict[str, Any]) -> None:
    endpoint = api["ApiEndpoint"]
    for path in ("/a/../../etc/passwd", "/%2e%2e/%2e%2e", "/a%2Fb%2F..%2F..", "/" + "x" * 6000, "/%00%ff", "//double"):
        reply = call(endpoint, "GET", path)
        assert reply.status == 200, path
        assert event_of(reply)["rawPath"] == path
    long = call(endpoint, "GET", "/" + "y" * 20_000)
    assert long.status in (400, 414) and b"Traceback" not in long.body
    huge = call(endpoint, "GET", "/h", headers={"X-Huge": "z" * 20_000})
    assert huge.status in (400, 431) and b"Traceback" not in huge.body
    many = call(endpoint, "GET", "/h", headers={f"X-H{i}": "v" for i in range(90)})
    assert many.status == 200 and event_of(many)["headers"]["x-h89"] == "v"
    too_big = call(endpoint, "POST", "/upload", body=b"x" * (6 * 1024 * 1024 + 1), headers={"Content-Type": "text/plain"})
    assert too_big.status == 413 and too_big.json() == {"message": "Request Entity Too Large"}
    assert call(endpoint, "GET", "/plain", by_path=lamina.endpoint).json() == {"hello": "world"}


def test_apis_survive_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    apigw = gateway(server.endpoint)
    api = apigw.create_api(Name="kept", ProtocolType="HTTP",
                           Target="arn:aws:lambda:us-east-1:000000000000:function:kept", Tags={"a": "b"})  # fmt: skip
    apigw.create_stage(ApiId=api["ApiId"], StageName="prod", StageVariables={"k": "v"})
    apigw.create_deployment(ApiId=api["ApiId"], StageName="prod")
    routes = apigw.get_routes(ApiId=api["ApiId"])["Items"]
    server.stop()
    again = make_server(tmp_path / "data")
    apigw = gateway(again.endpoint)
    kept = apigw.get_api(ApiId=api["ApiId"])
    assert kept["Name"] == "kept" and kept["Tags"] == {"a": "b"}
    assert apigw.get_routes(ApiId=api["ApiId"])["Items"] == routes
    assert apigw.get_stage(ApiId=api["ApiId"], StageName="prod")["StageVariables"] == {"k": "v"}
    assert len(apigw.get_deployments(ApiId=api["ApiId"])["Items"]) == 2
    apigw.delete_api(ApiId=api["ApiId"])
    assert apigw.get_apis()["Items"] == []


def test_lamina_apis_lists_urls_and_routes(lamina: Any, api: dict[str, Any]) -> None:
    from tests.integration.test_clients import lamina_cli

    listed = lamina_cli(lamina.endpoint, "apis")
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.split()[:2] == ["HTTP", api["ApiId"]])
    assert api["ApiEndpoint"] in line and "$default" in line
    as_json = json.loads(lamina_cli(lamina.endpoint, "apis", "--json").stdout)
    [ours] = [a for a in as_json["Apis"] if a["apiId"] == api["ApiId"]]
    assert [r["routeKey"] for r in ours["routes"]] == ["$default"]


# -- the walkthrough in docs/http-apis.md, run as written ---------------------------------------

DOC = ROOT / "docs" / "http-apis.md"


def doc_blocks(language: str) -> list[str]:
    """The doc's fenced blocks of ``language``, in order."""
    blocks: list[str] = []
    current: list[str] = []
    inside = False
    for line in DOC.read_text().splitlines():
        if not inside and line.strip() == f"```{language}":
            inside, current = True, []
        elif inside and line.strip() == "```":
            inside = False
            blocks.append("\n".join(current) + "\n")
        elif inside:
            current.append(line)
    return blocks


def test_walkthrough_runs_as_written(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    port = urlsplit(server.endpoint).port
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")

    def here(text: str) -> str:  # the doc's port, 9000, is this server's
        return text.replace("127.0.0.1:9000", f"127.0.0.1:{port}").replace("localhost:9000", f"localhost:{port}")

    shell = doc_blocks("sh")
    assert len(shell) == 3
    shell = shell[:2]  # the third, importing an OpenAPI definition, is test_openapi_doc.py's
    env = {**os.environ, "LAMINA_ENDPOINT": server.endpoint, "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    ran = subprocess.run(["bash", "-c", "set -euo pipefail\n" + here("".join(shell))], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outputs = [line for line in ran.stdout.splitlines() if line.startswith("{")]
    assert json.loads(outputs[-2]) == {"hello": "curl", "path": "/hello", "route": "GET /hello"}
    assert json.loads(outputs[-1]) == {"hello": "path", "path": "/hello", "route": "GET /hello"}
    assert "greeter-api" in ran.stdout and "GET /hello" in ran.stdout  # lamina apis
    [python] = doc_blocks("python")
    script = work / "walkthrough.py"
    script.write_text(here(python))
    done = subprocess.run([str(VENV_BIN / "python"), str(script)], cwd=work, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"hello": "world", "path": "/prod/users/42", "route": "GET /users/{id}"}


def test_paths_no_route_takes_are_still_unknown_operations(lamina: Any) -> None:
    """The catch-all route (api/app.py) answers as the router's own miss did."""
    for method, path in (("GET", "/2015-03-31/nope"), ("PUT", "/2015-03-31/functions"), ("DELETE", "/v2/apis")):
        sign = signing.headers(method, lamina.endpoint + path)
        reply = call(lamina.endpoint, method, path, headers={"Host": urlsplit(lamina.endpoint).netloc, **sign})
        assert reply.status == 404, (method, path)
        assert reply.headers["X-Amzn-ErrorType"] == "UnknownOperationException"
        assert reply.json()["message"] == f"Unknown operation {method} {path}"
