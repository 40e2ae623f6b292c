"""Function URLs against a real server: the API through boto3 and the AWS CLI, and the URLs served over
real HTTP, by Host header and by path, with events compared to real AWS payloads."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy, lambda_client
from tests.functions import wait_for_logs
from tests.integration.test_clients import aws_cli
from tests.roles import make_role

AWS_EVENTS = Path(__file__).resolve().parent.parent / "data" / "aws_events"

APP = """
import base64, json, time

def handler(event, context):
    path = event["rawPath"]
    if path == "/string":
        return "hello"
    if path == "/list":
        return ["hello", 3, True]
    if path == "/object":
        return {"hello": "world"}
    if path == "/error":
        raise RuntimeError("boom")
    if path == "/sleep":
        time.sleep(3)
        return "slept"
    if path == "/binary":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"}, "isBase64Encoded": True,
                "body": base64.b64encode(bytes(range(256))).decode()}
    if path == "/custom":
        return {"statusCode": 201, "headers": {"Content-Type": "text/plain", "My-Custom-Header": "Custom Value"},
                "cookies": ["a=1; Max-Age=60", "b=2"], "body": "created"}
    if event["requestContext"]["http"]["method"] == "OPTIONS":
        raise RuntimeError("a preflight must not reach the function")
    return {"statusCode": 200, "body": json.dumps({"event": event, "requestId": context.aws_request_id})}
"""


STREAMING_JS = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {statusCode: 201, headers: {'x-streamed': 'yes'}});
  stream.write('streamed ');
  stream.end(event.rawPath);
});
"""


def node_runtime() -> str | None:
    """``nodejs<major>.x`` for the host's node, if it has one."""
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=False).stdout
    return f"nodejs{version.lstrip('v').split('.')[0]}.x" if version.startswith("v") else None


def aws_event(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((AWS_EVENTS / name).read_text())
    return doc


def shape(value: object) -> object:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__


def call(endpoint: str, path: str, *, method: str = "GET", host: str | None = None,
         headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, Message, bytes]:  # fmt: skip
    """One real HTTP request to Lamina's port (``host``: the Host header to send instead of 127.0.0.1's)."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        conn.request(method, path, body=body, headers={**(headers or {}), **({"Host": host} if host else {})})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def url_parts(function_url: str) -> tuple[str, str]:
    """(url-id, the Host header that names the URL) of a FunctionUrl."""
    netloc = urlsplit(function_url).netloc
    return netloc.split(".", 1)[0], netloc


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def url_fn(client: Any, fn_name: str) -> str:
    deploy(client, fn_name, APP)
    return fn_name


# -- the API -------------------------------------------------------------------------------


def test_function_url_config_lifecycle(client: Any, lamina: Any, url_fn: str) -> None:
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{url_fn}"
    created = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = {k: v for k, v in created.items() if k != "ResponseMetadata"}
    assert set(body) == {"FunctionUrl", "FunctionArn", "AuthType", "CreationTime"}  # InvokeMode only if asked
    url_id, host = url_parts(created["FunctionUrl"])
    port = urlsplit(lamina.endpoint).port
    assert created["FunctionUrl"] == f"http://{url_id}.lambda-url.us-east-1.localhost:{port}/"
    assert len(url_id) == 32 and url_id.isalnum() and url_id == url_id.lower()
    assert (created["FunctionArn"], created["AuthType"]) == (arn, "NONE")

    got = client.get_function_url_config(FunctionName=url_fn)
    assert {k: got[k] for k in body} == body
    assert got["InvokeMode"] == "BUFFERED" and got["LastModifiedTime"] == got["CreationTime"]
    assert "Cors" not in got

    with pytest.raises(ClientError) as exc:
        client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")
    assert error_code(exc) == ("ResourceConflictException", 409)
    assert exc.value.response["Error"]["Message"] == (
        f"Failed to create function url config for [functionArn = {arn}]. "
        "Error message:  FunctionUrlConfig exists for this Lambda function"
    )

    cors = {"AllowOrigins": ["https://www.example.com"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-a"],
            "ExposeHeaders": ["x-b"], "MaxAge": 300, "AllowCredentials": True}  # fmt: skip
    updated = client.update_function_url_config(FunctionName=arn, AuthType="AWS_IAM", Cors=cors,
                                                InvokeMode="RESPONSE_STREAM")  # fmt: skip
    assert (updated["AuthType"], updated["Cors"], updated["InvokeMode"]) == ("AWS_IAM", cors, "RESPONSE_STREAM")
    assert updated["FunctionUrl"] == created["FunctionUrl"] and updated["CreationTime"] == created["CreationTime"]
    assert updated["LastModifiedTime"] > created["CreationTime"]
    kept = client.update_function_url_config(FunctionName=url_fn)  # nothing given: nothing changes
    assert (kept["AuthType"], kept["Cors"], kept["InvokeMode"]) == ("AWS_IAM", cors, "RESPONSE_STREAM")

    listed = client.list_function_url_configs(FunctionName=url_fn)
    assert [c["FunctionUrl"] for c in listed["FunctionUrlConfigs"]] == [created["FunctionUrl"]]
    assert set(listed["FunctionUrlConfigs"][0]) == {"FunctionUrl", "FunctionArn", "CreationTime", "LastModifiedTime",
                                                    "Cors", "AuthType", "InvokeMode"}  # fmt: skip
    assert "NextMarker" not in listed
    paged = client.get_paginator("list_function_url_configs").paginate(FunctionName=url_fn,
                                                                      PaginationConfig={"PageSize": 1})  # fmt: skip
    assert [len(page["FunctionUrlConfigs"]) for page in paged] == [1]

    deleted = client.delete_function_url_config(FunctionName=url_fn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    for operation in (client.get_function_url_config, client.delete_function_url_config):
        with pytest.raises(ClientError) as exc:
            operation(FunctionName=url_fn)
        assert error_code(exc) == ("ResourceNotFoundException", 404)
        assert exc.value.response["Error"]["Message"] == "The resource you requested does not exist."
    with pytest.raises(ClientError) as exc:
        client.update_function_url_config(FunctionName=url_fn, AuthType="NONE")
    assert error_code(exc) == ("ResourceNotFoundException", 404)
    assert client.list_function_url_configs(FunctionName=url_fn)["FunctionUrlConfigs"] == []

    # A new URL is a new url-id; the old one answers as unknown.
    again = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE", InvokeMode="BUFFERED",
                                              Cors={"AllowOrigins": ["*"]})  # fmt: skip
    assert again["InvokeMode"] == "BUFFERED" and again["Cors"] == {"AllowOrigins": ["*"]}
    assert url_parts(again["FunctionUrl"])[0] != url_id
    status, headers, data = call(lamina.endpoint, "/", host=host)
    assert (status, json.loads(data), headers["x-amzn-ErrorType"]) == (403, {"Message": None}, "AccessDeniedException")


def test_function_url_errors(client: Any, lamina: Any, url_fn: str) -> None:
    missing = f"{url_fn}-missing"
    for operation, kwargs in [
        (client.create_function_url_config, {"AuthType": "NONE"}),
        (client.update_function_url_config, {"AuthType": "NONE"}),
        (client.list_function_url_configs, {}),
        (client.get_function_url_config, {}),
        (client.delete_function_url_config, {}),
    ]:
        with pytest.raises(ClientError) as exc:
            operation(FunctionName=missing, **kwargs)
        assert error_code(exc) == ("ResourceNotFoundException", 404), operation
    with pytest.raises(ClientError) as exc:  # an alias that does not exist
        client.create_function_url_config(FunctionName=url_fn, Qualifier="live", AuthType="NONE")
    assert error_code(exc) == ("ResourceNotFoundException", 404)

    raw = lambda_client(lamina.endpoint, parameter_validation=False)
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (raw.create_function_url_config, {}, "Value null at 'authType'"),
        (raw.create_function_url_config, {"AuthType": "OPEN"},
         "Value 'OPEN' at 'authType' failed to satisfy constraint: "
         "Member must satisfy enum value set: [AWS_IAM, NONE]"),
        (raw.create_function_url_config, {"AuthType": "NONE", "InvokeMode": "UNKNOWN"},
         "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint: "
         "Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"),
        (raw.create_function_url_config, {"AuthType": "NONE", "Qualifier": "$LATEST"}, "at 'qualifier'"),
        (raw.get_function_url_config, {"Qualifier": "1"}, "at 'qualifier'"),
        (raw.create_function_url_config, {"AuthType": "NONE", "Cors": {"MaxAge": 86401}}, "at 'cors.maxAge'"),
        (raw.create_function_url_config, {"AuthType": "NONE", "Cors": {"AllowMethods": ["GET"] * 7}},
         "at 'cors.allowMethods'"),
        (raw.create_function_url_config, {"AuthType": "NONE", "Cors": {"AllowOrigins": [""]}},
         "at 'cors.allowOrigins'"),
        (raw.list_function_url_configs, {"MaxItems": 51}, "at 'maxItems'"),
    ]  # fmt: skip
    for operation, kwargs, message in cases:
        with pytest.raises(ClientError) as exc:
            operation(FunctionName=url_fn, **kwargs)
        assert error_code(exc) == ("ValidationException", 400), kwargs
        assert message in exc.value.response["Error"]["Message"], kwargs
    with pytest.raises(ClientError) as exc:
        raw.create_function_url_config(FunctionName=url_fn, AuthType="NONE", Cors={"AllowCredentials": "yes"})
    assert error_code(exc) == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError):
        client.get_function_url_config(FunctionName=url_fn)  # nothing was created by the refused requests


def test_aws_cli_function_urls(lamina: Any, url_fn: str, tmp_path: Path) -> None:
    created = aws_cli(lamina.endpoint, "create-function-url-config", "--function-name", url_fn, "--auth-type", "NONE",
                      "--cors", '{"AllowOrigins": ["*"], "AllowMethods": ["GET"]}', cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    url = json.loads(created.stdout)["FunctionUrl"]
    got = aws_cli(lamina.endpoint, "get-function-url-config", "--function-name", url_fn, cwd=tmp_path)
    assert json.loads(got.stdout)["Cors"] == {"AllowOrigins": ["*"], "AllowMethods": ["GET"]}
    listed = aws_cli(lamina.endpoint, "list-function-url-configs", "--function-name", url_fn, cwd=tmp_path)
    assert [c["FunctionUrl"] for c in json.loads(listed.stdout)["FunctionUrlConfigs"]] == [url]
    again = aws_cli(lamina.endpoint, "create-function-url-config", "--function-name", url_fn, "--auth-type", "NONE",
                    cwd=tmp_path)  # fmt: skip
    assert again.returncode != 0 and "ResourceConflictException" in again.stderr
    deleted = aws_cli(lamina.endpoint, "delete-function-url-config", "--function-name", url_fn, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr


def test_a_url_of_an_alias(client: Any, lamina: Any, url_fn: str) -> None:
    version = client.publish_version(FunctionName=url_fn)["Version"]
    client.create_alias(FunctionName=url_fn, Name="live", FunctionVersion=version)
    plain = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")
    live = client.create_function_url_config(FunctionName=f"{url_fn}:live", AuthType="NONE")
    assert live["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{url_fn}:live"
    assert live["FunctionUrl"] != plain["FunctionUrl"]
    assert client.get_function_url_config(FunctionName=url_fn, Qualifier="live")["FunctionUrl"] == live["FunctionUrl"]
    listed = client.list_function_url_configs(FunctionName=url_fn)["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [plain["FunctionUrl"], live["FunctionUrl"]]
    first = client.list_function_url_configs(FunctionName=url_fn, MaxItems=1)
    second = client.list_function_url_configs(FunctionName=url_fn, MaxItems=1, Marker=first["NextMarker"])
    assert [c["FunctionUrl"] for c in first["FunctionUrlConfigs"] + second["FunctionUrlConfigs"]] == [
        plain["FunctionUrl"], live["FunctionUrl"]]
    assert "NextMarker" not in second
    with pytest.raises(ClientError) as exc:
        client.create_function_url_config(FunctionName=url_fn, Qualifier="live", AuthType="NONE")
    assert error_code(exc) == ("ResourceConflictException", 409)
    assert f"function:{url_fn}:live]" in exc.value.response["Error"]["Message"]

    url_id, _ = url_parts(live["FunctionUrl"])
    status, _, data = call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/string")
    assert (status, data) == (200, b"hello")
    # The alias goes, its URL stays (and refuses requests) until it is deleted, as on AWS.
    client.delete_alias(FunctionName=url_fn, Name="live")
    status, headers, data = call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/string")
    assert (status, headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert json.loads(data)["Message"].startswith("Forbidden.")
    client.delete_function_url_config(FunctionName=url_fn, Qualifier="live")
    assert call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/string")[0] == 403


# -- serving -------------------------------------------------------------------------------


def test_the_event_has_the_shape_of_aws_events(client: Any, lamina: Any, url_fn: str) -> None:
    url = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")["FunctionUrl"]
    url_id, host = url_parts(url)

    # A bare GET by path, against a captured AWS event of a bare GET.
    status, headers, data = call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/", headers={"User-Agent": "agent"})
    assert status == 200, data
    reply = json.loads(data)
    event, real = reply["event"], aws_event("lambdaFunctionUrlEvent.json")
    assert list(event) == list(real)
    assert shape(event["requestContext"]) == shape(real["requestContext"])
    context = event["requestContext"]
    assert (context["accountId"], context["apiId"], context["domainPrefix"]) == ("anonymous", url_id, url_id)
    assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.localhost"
    assert context["http"] == {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                               "userAgent": "agent"}  # fmt: skip
    assert abs(context["timeEpoch"] / 1000 - time.time()) < 60
    added = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id", "host", "user-agent"}
    assert added <= set(event["headers"]) and added <= set(real["headers"])
    # One request id: the event's, the function's context's, the response's.
    assert context["requestId"] == reply["requestId"] == headers["x-amzn-RequestId"]

    # The documented example request, by Host header, against AWS's example event.
    status, headers, data = call(
        lamina.endpoint, "/my/path?parameter1=value1&parameter1=value2&parameter2=value", method="POST", host=host,
        headers={"Header1": "value1", "Cookie": "cookie1; cookie2", "Content-Type": "text/plain"},
        body=b"Hello from client!",
    )  # fmt: skip
    assert status == 200, data
    event, real = json.loads(data)["event"], aws_event("lambdaFunctionUrlIAMEvent.json")
    for member in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "queryStringParameters", "body",
                   "isBase64Encoded"):  # fmt: skip
        assert event[member] == real[member], member
    assert set(event) <= set(real)
    assert event["headers"]["header1"] == "value1" and event["headers"]["host"] == host
    assert "cookie" not in event["headers"]
    ours = {k: v for k, v in event["requestContext"].items() if k not in ("authentication", "authorizer")}
    theirs = {k: v for k, v in real["requestContext"].items() if k not in ("authentication", "authorizer")}
    assert shape(ours) == shape(theirs)
    assert event["requestContext"]["http"]["path"] == "/my/path"

    # Binary bodies arrive base64-encoded.
    _, _, data = call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/upload", method="PUT", body=bytes(range(256)),
                      headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    event = json.loads(data)["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == bytes(range(256))
    # URL invocations are invocations: logged under the function, with the URL's request id.
    started = f"START RequestId: {reply['requestId']}"
    messages = wait_for_logs(lamina.endpoint, url_fn, lambda lines: any(m.startswith(started) for m in lines))
    assert any(m.startswith(started) for m in messages), messages


def test_responses_are_mapped_as_aws_maps_them(client: Any, lamina: Any, url_fn: str) -> None:
    url = client.create_function_url_config(FunctionName=url_fn, AuthType="NONE")["FunctionUrl"]
    _, host = url_parts(url)

    def get(path: str) -> tuple[int, Message, bytes]:
        return call(lamina.endpoint, path, host=host)

    for path, body in [("/string", b"hello"), ("/list", b'["hello",3,true]')]:
        status, headers, data = get(path)
        assert (status, headers["Content-Type"], data) == (200, "application/json", body)
    status, headers, data = get("/object")
    assert (status, headers["Content-Type"], json.loads(data)) == (200, "application/json", {"hello": "world"})
    status, headers, data = get("/custom")
    assert (status, data, headers["Content-Type"], headers["My-Custom-Header"]) == (201, b"created", "text/plain",
                                                                                    "Custom Value")  # fmt: skip
    assert headers.get_all("Set-Cookie") == ["a=1; Max-Age=60", "b=2"]
    status, headers, data = get("/binary")
    assert (status, headers["Content-Type"], data) == (200, "image/png", bytes(range(256)))
    status, headers, data = get("/error")
    assert (status, data) == (502, b"Internal Server Error")
    status, _, data = call(lamina.endpoint, "/lamina/v1/urls/" + "0" * 32 + "/")
    assert (status, json.loads(data)) == (403, {"Message": None})
    status, headers, data = call(lamina.endpoint, "/custom", method="HEAD", host=host)
    assert (status, data, headers["My-Custom-Header"]) == (201, b"", "Custom Value")
    # Requests are held to Invoke's synchronous payload limit (6 MB).
    too_large = b"x" * (6 * 1024 * 1024 + 1)
    status, headers, data = call(lamina.endpoint, "/string", method="POST", host=host, body=too_large,
                                 headers={"Content-Type": "text/plain"})  # fmt: skip
    assert (status, headers["x-amzn-ErrorType"]) == (413, "RequestTooLargeException")


def test_cors(client: Any, lamina: Any, url_fn: str) -> None:
    site = "https://www.example.com"
    url = client.create_function_url_config(
        FunctionName=url_fn, AuthType="NONE",
        Cors={"AllowOrigins": [site], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["content-type", "x-custom"],
              "ExposeHeaders": ["x-total"], "MaxAge": 600},
    )["FunctionUrl"]  # fmt: skip
    _, host = url_parts(url)
    preflight = {"Origin": site, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-custom"}
    # Answered by the URL: the function (which fails on OPTIONS) is not invoked.
    status, headers, data = call(lamina.endpoint, "/anything", method="OPTIONS", host=host, headers=preflight)
    assert (status, data) == (200, b"")
    assert headers["Access-Control-Allow-Origin"] == site
    assert headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert headers["Access-Control-Allow-Headers"] == "content-type,x-custom"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers.get_all("Access-Control-Allow-Origin") == [site]
    status, headers, _ = call(lamina.endpoint, "/", method="OPTIONS", host=host,
                              headers={**preflight, "Origin": "https://elsewhere.example"})  # fmt: skip
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    # An OPTIONS that is not a preflight reaches the function (which refuses it here).
    assert call(lamina.endpoint, "/", method="OPTIONS", host=host, headers={"Origin": site})[0] == 502

    status, headers, _ = call(lamina.endpoint, "/string", host=host, headers={"Origin": site})
    assert status == 200
    assert (headers["Access-Control-Allow-Origin"], headers["Access-Control-Expose-Headers"]) == (site, "x-total")
    _, headers, _ = call(lamina.endpoint, "/string", host=host, headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in headers
    _, headers, _ = call(lamina.endpoint, "/string", host=host)
    assert "Access-Control-Allow-Origin" not in headers


def _signed(url: str, method: str, body: bytes, *, key: str, secret: str) -> tuple[str, dict[str, str]]:
    """(path, headers) of a request to ``url`` signed with botocore for service lambda in us-east-1."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(request)
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path, {"Host": parts.netloc, **dict(request.headers.items())}


def test_aws_iam_urls_take_signed_requests_only(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_ACCESS_KEYS="AKIDLAMINATEST00:s3cr3t:000000000000")
    import boto3

    client = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id="AKIDLAMINATEST00", aws_secret_access_key="s3cr3t")  # fmt: skip
    role = make_role(server.endpoint, f"url-{fn_name}"[:64], [], key="AKIDLAMINATEST00", secret="s3cr3t")
    deploy(client, fn_name, APP, role=role)  # with keys configured, a function's role must exist
    url = client.create_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM")["FunctionUrl"]
    url_id, _ = url_parts(url)
    body = b'{"signed": true}'

    path, headers = _signed(url + "my/path?b=2&a=1", "POST", body, key="AKIDLAMINATEST00", secret="s3cr3t")
    status, response_headers, data = call(server.endpoint, path, method="POST", headers=headers, body=body)
    assert status == 200, data
    event = json.loads(data)["event"]
    real = aws_event("lambdaFunctionUrlIAMEvent.json")
    assert shape(event["requestContext"]) == shape(real["requestContext"])
    assert event["requestContext"]["authorizer"]["iam"] == {
        "accessKey": "AKIDLAMINATEST00", "accountId": "000000000000", "callerId": "000000000000",
        "cognitoIdentity": None, "principalOrgId": None, "userArn": "arn:aws:iam::000000000000:root",
        "userId": "000000000000",
    }  # fmt: skip
    assert event["requestContext"]["accountId"] == "000000000000" and event["body"] == body.decode()

    # The path form, signed for the address it is sent to.
    path, headers = _signed(f"{server.endpoint}/lamina/v1/urls/{url_id}/", "GET", b"", key="AKIDLAMINATEST00",
                            secret="s3cr3t")  # fmt: skip
    assert call(server.endpoint, path, headers=headers)[0] == 200

    forbidden = (403, {"Message": "Forbidden"})
    status, response_headers, data = call(server.endpoint, f"/lamina/v1/urls/{url_id}/")
    assert (status, json.loads(data)) == forbidden
    assert response_headers["x-amzn-ErrorType"] == "AccessDeniedException"
    path, headers = _signed(url, "POST", body, key="AKIDLAMINATEST00", secret="wrong")
    status, _, data = call(server.endpoint, path, method="POST", headers=headers, body=body)
    assert (status, json.loads(data)) == forbidden
    path, headers = _signed(url, "POST", body, key="AKIDLAMINATEST00", secret="s3cr3t")
    status, _, data = call(server.endpoint, path, method="POST", headers=headers, body=b'{"signed": false}')
    assert (status, json.loads(data)) == forbidden  # the body is not the one signed

    # Back to NONE: anyone may call it.
    client.update_function_url_config(FunctionName=fn_name, AuthType="NONE")
    assert call(server.endpoint, f"/lamina/v1/urls/{url_id}/string")[2] == b"hello"


def test_urls_outlive_restarts_and_die_with_their_function(make_server: Any, fn_name: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = make_server(data_dir)
    client = server.client()
    deploy(client, fn_name, APP)
    created = client.create_function_url_config(FunctionName=fn_name, AuthType="NONE", Cors={"AllowOrigins": ["*"]},
                                                InvokeMode="RESPONSE_STREAM")  # fmt: skip
    url_id, _ = url_parts(created["FunctionUrl"])
    assert server.stop() == 0

    server = make_server(data_dir)
    client = server.client()
    got = client.get_function_url_config(FunctionName=fn_name)
    assert url_parts(got["FunctionUrl"])[0] == url_id
    assert (got["Cors"], got["InvokeMode"], got["CreationTime"]) == ({"AllowOrigins": ["*"]}, "RESPONSE_STREAM",
                                                                     created["CreationTime"])  # fmt: skip
    # RESPONSE_STREAM is kept, and served as AWS serves a stream (the payload as it is), sent whole.
    assert call(server.endpoint, f"/lamina/v1/urls/{url_id}/string")[2] == b'"hello"'
    assert call(server.endpoint, f"/lamina/v1/urls/{url_id}/custom")[0] == 200  # no statusCode mapping

    client.delete_function(FunctionName=fn_name)
    assert call(server.endpoint, f"/lamina/v1/urls/{url_id}/string")[0] == 403
    deploy(client, fn_name, APP)  # the same name again: a new function, without a URL
    with pytest.raises(ClientError) as exc:
        client.get_function_url_config(FunctionName=fn_name)
    assert error_code(exc) == ("ResourceNotFoundException", 404)
    assert server.stop() == 0
    server = make_server(data_dir)
    with pytest.raises(ClientError):
        server.client().get_function_url_config(FunctionName=fn_name)
    assert call(server.endpoint, f"/lamina/v1/urls/{url_id}/string")[0] == 403


def test_throttled_url_requests_are_429(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_ACCOUNT_CONCURRENCY="1")
    client = server.client()
    deploy(client, fn_name, APP, Timeout=30)
    url_id, _ = url_parts(client.create_function_url_config(FunctionName=fn_name, AuthType="NONE")["FunctionUrl"])
    results: list[tuple[int, Message, bytes]] = []
    slow = threading.Thread(target=lambda: results.append(call(server.endpoint, f"/lamina/v1/urls/{url_id}/sleep")))
    slow.start()
    try:
        deadline = time.monotonic() + 30
        while json.loads(urllib.request.urlopen(f"{server.endpoint}/lamina/v1/health").read())["inUse"] < 1:
            assert time.monotonic() < deadline, "the slow request never started"
            time.sleep(0.05)
        status, headers, data = call(server.endpoint, f"/lamina/v1/urls/{url_id}/string")
        assert status == 429, data
        assert headers["x-amzn-ErrorType"] == "TooManyRequestsException" and headers["Retry-After"]
        assert "Message" in json.loads(data)
    finally:
        slow.join()
    assert results[0][0] == 200 and results[0][2] == b"slept"


@pytest.mark.skipif(node_runtime() is None, reason="no node on this host: run scripts/install/nodejs.sh")
def test_a_streaming_handler_behind_a_response_stream_url(client: Any, lamina: Any, fn_name: str) -> None:
    deploy(client, fn_name, {"index.js": STREAMING_JS}, handler="index.handler", runtime=node_runtime())
    url = client.create_function_url_config(FunctionName=fn_name, AuthType="NONE",
                                            InvokeMode="RESPONSE_STREAM")["FunctionUrl"]  # fmt: skip
    url_id, _ = url_parts(url)
    status, headers, data = call(lamina.endpoint, f"/lamina/v1/urls/{url_id}/to/you")
    assert (status, headers["x-streamed"], data) == (201, "yes", b"streamed /to/you")
