"""The function resource through boto3: create, read, list, update, delete, and their errors."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import urllib.request
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, deploy, lambda_client, make_zip
from tests import signing

OK = "def handler(event, context):\n    return 'v1'\n"


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, dict[str, str]]:
    response = exc.value.response
    meta = response["ResponseMetadata"]
    return response["Error"]["Code"], meta["HTTPStatusCode"], meta["HTTPHeaders"]


def test_create_get_and_download_code(client: Any, fn_name: str) -> None:
    package = make_zip({"app.py": OK})
    created = client.create_function(
        FunctionName=fn_name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": package}, MemorySize=256, Timeout=30, Description="first",
        Environment={"Variables": {"GREETING": "hi"}}, EphemeralStorage={"Size": 1024},
    )  # fmt: skip
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["State"] in ("Pending", "Active")
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert created["CodeSize"] == len(package)
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fn_name}"
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name)

    got = client.get_function(FunctionName=fn_name)
    config = got["Configuration"]
    assert config["State"] == "Active" and config["LastUpdateStatus"] == "Successful"
    assert (config["MemorySize"], config["Timeout"], config["Description"]) == (256, 30, "first")
    assert config["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert config["EphemeralStorage"] == {"Size": 1024}
    assert config["Runtime"] == "python3.11" and config["Handler"] == "app.handler"
    assert config["PackageType"] == "Zip" and config["Version"] == "$LATEST"
    with urllib.request.urlopen(got["Code"]["Location"]) as response:
        assert response.read() == package

    assert client.get_function_configuration(FunctionName=fn_name)["RevisionId"] == config["RevisionId"]
    # A full ARN and a partial ARN name the same function.
    assert client.get_function(FunctionName=config["FunctionArn"])["Configuration"]["FunctionName"] == fn_name
    assert client.get_function(FunctionName=f"000000000000:function:{fn_name}")["Configuration"]["FunctionName"] == fn_name


def test_unknown_function_is_resource_not_found(client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="no-such-function")
    code, status, headers = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert "x-amzn-requestid" in headers
    assert exc.value.response["Error"]["Message"].startswith("Function not found: arn:aws:lambda:")
    for call in (client.delete_function, client.get_function_configuration):
        with pytest.raises(ClientError) as exc:
            call(FunctionName="no-such-function")
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_duplicate_is_conflict(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, OK)
    with pytest.raises(ClientError) as exc:
        deploy(client, fn_name, OK)
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"MemorySize": 20000}, "ValidationException"),
        ({"Timeout": 901}, "ValidationException"),
        ({"FunctionName": "bad name!"}, "ValidationException"),
        ({"Handler": "has space.handler"}, "ValidationException"),
        ({"Runtime": "python2.5"}, "ValidationException"),
        ({"Role": "not-a-role"}, "ValidationException"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException"),
        ({"Environment": {"Variables": {"BIG": "x" * 5000}}}, "InvalidParameterValueException"),
        ({"Code": {"ZipFile": b"this is not a zip"}}, "InvalidParameterValueException"),
        ({"Code": {"S3Bucket": "bucket", "S3Key": "k"}}, "InvalidParameterValueException"),
        ({"EphemeralStorage": {"Size": 20000}}, "ValidationException"),
        ({"MemorySize": 64}, "ValidationException"),
        ({"Timeout": 0}, "ValidationException"),
    ],
)
def test_create_validation(lamina: Any, client: Any, fn_name: str, overrides: dict[str, Any], code: str) -> None:
    # The server must check what botocore would check on the client side too: other clients don't.
    unchecked = lambda_client(lamina.endpoint, parameter_validation=False)
    params: dict[str, Any] = {
        "FunctionName": fn_name, "Runtime": "python3.11", "Role": ROLE, "Handler": "app.handler",
        "Code": {"ZipFile": make_zip({"app.py": OK})}, **overrides,
    }  # fmt: skip
    with pytest.raises(ClientError) as exc:
        unchecked.create_function(**params)
    assert error_of(exc)[:2] == (code, 400)
    assert exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        client.get_function(FunctionName=params["FunctionName"])


def test_runtime_not_installed_names_the_available_ones(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_PYTHON3_14="/nonexistent/python3.14")
    with pytest.raises(ClientError) as exc:
        deploy(server.client(), fn_name, OK, runtime="python3.14")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    message = exc.value.response["Error"]["Message"]
    assert "python3.14" in message and "python3.11" in message


def test_list_functions_paginates(client: Any, fn_name: str) -> None:
    names = [f"{fn_name}-{i}" for i in range(5)]
    for name in names:
        deploy(client, name, OK)
    first = client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2 and "NextMarker" in first
    seen = [f["FunctionName"] for page in client.get_paginator("list_functions").paginate(
        PaginationConfig={"PageSize": 2}) for f in page["Functions"]]  # fmt: skip
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(names) <= set(seen)


def test_update_code_and_configuration(client: Any, fn_name: str) -> None:
    first = deploy(client, fn_name, OK)
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read()) == "v1"

    updated = client.update_function_code(
        FunctionName=fn_name, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    )
    assert updated["LastUpdateStatus"] in ("InProgress", "Successful")
    assert updated["RevisionId"] != first["RevisionId"]
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read()) == "v2"

    configured = client.update_function_configuration(
        FunctionName=fn_name, MemorySize=512, Timeout=10, Description="second", Handler="app.handler",
        Environment={"Variables": {"AB": "1"}}, EphemeralStorage={"Size": 2048},
    )  # fmt: skip
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    assert (configured["MemorySize"], configured["Timeout"], configured["Description"]) == (512, 10, "second")
    assert configured["EphemeralStorage"] == {"Size": 2048}
    assert client.get_function_configuration(FunctionName=fn_name)["Environment"] == {"Variables": {"AB": "1"}}

    with pytest.raises(ClientError) as exc:
        client.update_function_configuration(FunctionName=fn_name, Timeout=0 + 1000)
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        client.update_function_configuration(FunctionName=fn_name, Timeout=5, RevisionId="stale")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)


def test_delete(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, OK)
    response = client.delete_function(FunctionName=fn_name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        client.invoke(FunctionName=fn_name)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    deploy(client, fn_name, OK)  # the name is free again


def test_account_settings(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, OK)
    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["CodeSizeZipped"] == 50 * 1024 * 1024
    assert settings["AccountLimit"]["CodeSizeUnzipped"] == 250 * 1024 * 1024
    assert settings["AccountUsage"]["FunctionCount"] >= 1


def test_malformed_json_body_is_aws_shaped(lamina: Any) -> None:
    request = urllib.request.Request(
        lamina.endpoint + "/2015-03-31/functions", data=b"{not json", method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as exc:
        signing.urlopen(request)
    with exc.value:
        assert exc.value.code == 400
        assert exc.value.headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"
        assert json.loads(exc.value.read())["Type"] == "User"


def _zip_with(entries: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


@pytest.mark.parametrize(
    "package",
    [
        pytest.param(_zip_with([("app.py", OK.encode(), 0o100644), ("../escape.py", b"x", 0o100644)]), id="dotdot"),
        pytest.param(_zip_with([("app.py", OK.encode(), 0o100644), ("/etc/evil", b"x", 0o100644)]), id="absolute"),
        pytest.param(_zip_with([("app.py", OK.encode(), 0o100644), ("link", b"/etc/passwd", 0o120777)]), id="symlink"),
        pytest.param(_zip_with([("app.py", OK.encode(), 0o100644), ("bomb", b"\0" * (64 * 1024 * 1024), 0o100644)]),
                     id="bomb"),  # fmt: skip
        pytest.param(b"PK\x03\x04" + b"\0" * 100, id="corrupt"),
    ],
)
def test_hostile_zips_are_refused_and_change_nothing(client: Any, fn_name: str, package: bytes) -> None:
    deploy(client, fn_name, OK)
    before = client.get_function_configuration(FunctionName=fn_name)
    with pytest.raises(ClientError) as exc:
        client.update_function_code(FunctionName=fn_name, ZipFile=package)
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    after = client.get_function_configuration(FunctionName=fn_name)
    assert after["RevisionId"] == before["RevisionId"] and after["CodeSha256"] == before["CodeSha256"]
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read()) == "v1"


def test_functions_survive_a_restart(make_server: Any, fn_name: str) -> None:
    server = make_server()
    deploy(server.client(), fn_name, OK)
    assert server.stop() == 0
    again = make_server(data_dir=server.data_dir)
    assert again.client().get_function_configuration(FunctionName=fn_name)["State"] == "Active"
    assert json.loads(again.client().invoke(FunctionName=fn_name)["Payload"].read()) == "v1"


def test_functions_survive_kill_9(make_server: Any, fn_name: str) -> None:
    server = make_server()
    deploy(server.client(), fn_name, OK)
    server.client().update_function_configuration(FunctionName=fn_name, Description="kept")
    server.kill()
    again = make_server(data_dir=server.data_dir)
    config = again.client().get_function_configuration(FunctionName=fn_name)
    assert config["Description"] == "kept"
    assert json.loads(again.client().invoke(FunctionName=fn_name)["Payload"].read()) == "v1"


def test_package_over_50_mb_is_refused(client: Any, fn_name: str) -> None:
    package = _zip_with([("app.py", OK.encode(), 0o100644), ("blob", os.urandom(51 * 1024 * 1024), 0o100644)])
    with pytest.raises(ClientError) as exc:
        client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                               Code={"ZipFile": package})  # fmt: skip
    code, status, _ = error_of(exc)
    assert (code, status) == ("RequestTooLargeException", 413)
    with pytest.raises(ClientError):
        client.get_function(FunctionName=fn_name)


@pytest.mark.parametrize("runtime", ["python3.11", "python3.12", "python3.13"])
def test_each_python_runtime_on_the_host(client: Any, fn_name: str, runtime: str) -> None:
    code = "import sys\ndef handler(event, context):\n    return list(sys.version_info[:2])\n"
    try:
        deploy(client, fn_name, code, runtime=runtime)
    except ClientError as exc:
        assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
        pytest.skip(f"{runtime} is not installed on this host")
    response = client.invoke(FunctionName=fn_name)
    assert json.loads(response["Payload"].read()) == [3, int(runtime.split(".")[1])]
