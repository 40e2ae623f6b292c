"""Recursion and runtime management configurations, and ListFunctions with FunctionVersion=ALL."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy, lambda_client, make_zip
from tests.integration.test_tags_policies_event_config import HANDLER, arn, error

RUNTIME_VERSION = "arn:aws:lambda:us-east-1::runtime:8eeff65f6809a3ce81507fe733fe09b835899b99481ba22fd75b5a7338290ec1"


def test_recursion_config(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    assert client.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == "Terminate"  # AWS's default
    put = client.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Allow")
    assert put["RecursiveLoop"] == "Allow"
    assert client.get_function_recursion_config(FunctionName=arn(fn_name))["RecursiveLoop"] == "Allow"

    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.put_function_recursion_config(FunctionName=fn_name, RecursiveLoop="Sometimes")
    assert error(exc)[0] == "ValidationException" and "[Allow, Terminate]" in error(exc)[2]
    with pytest.raises(ClientError) as exc:
        client.get_function_recursion_config(FunctionName="nope-" + fn_name)
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)

    client.delete_function(FunctionName=fn_name)  # a new function of the name starts with the default
    deploy(client, fn_name, HANDLER)
    assert client.get_function_recursion_config(FunctionName=fn_name)["RecursiveLoop"] == "Terminate"


def test_runtime_management_config(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HANDLER)
    got = client.get_runtime_management_config(FunctionName=fn_name)
    assert (got["UpdateRuntimeOn"], got["FunctionArn"]) == ("Auto", arn(fn_name))
    assert "RuntimeVersionArn" not in got

    put = client.put_runtime_management_config(FunctionName=fn_name, UpdateRuntimeOn="Manual",
                                               RuntimeVersionArn=RUNTIME_VERSION)  # fmt: skip
    assert (put["UpdateRuntimeOn"], put["FunctionArn"], put["RuntimeVersionArn"]) == (
        "Manual", arn(fn_name), RUNTIME_VERSION)  # fmt: skip
    got = client.get_runtime_management_config(FunctionName=fn_name)
    assert (got["UpdateRuntimeOn"], got["RuntimeVersionArn"]) == ("Manual", RUNTIME_VERSION)

    version = client.publish_version(FunctionName=fn_name)["Version"]
    got = client.get_runtime_management_config(FunctionName=fn_name, Qualifier=version)
    assert (got["UpdateRuntimeOn"], got["FunctionArn"]) == ("Auto", arn(fn_name, version))  # per qualifier
    put = client.put_runtime_management_config(FunctionName=fn_name, Qualifier=version, UpdateRuntimeOn="FunctionUpdate")
    assert (put["UpdateRuntimeOn"], put["FunctionArn"]) == ("FunctionUpdate", arn(fn_name, version))
    assert client.get_runtime_management_config(FunctionName=fn_name)["UpdateRuntimeOn"] == "Manual"

    with pytest.raises(ClientError) as exc:
        client.put_runtime_management_config(FunctionName=fn_name, UpdateRuntimeOn="Manual")
    assert error(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        client.put_runtime_management_config(FunctionName=fn_name, UpdateRuntimeOn="Auto",
                                             RuntimeVersionArn=RUNTIME_VERSION)  # fmt: skip
    assert error(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        client.get_runtime_management_config(FunctionName=fn_name, Qualifier="99")
    assert error(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_functions_every_version(client: Any, fn_name: str) -> None:
    first, second = fn_name + "-a", fn_name + "-b"
    deploy(client, first, HANDLER)
    deploy(client, second, HANDLER)
    client.publish_version(FunctionName=first)
    client.update_function_code(FunctionName=first, ZipFile=make_zip({"app.py": HANDLER + "# 2\n"}))
    client.get_waiter("function_updated_v2").wait(FunctionName=first, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.publish_version(FunctionName=first)

    listed = [f for page in client.get_paginator("list_functions").paginate(
        FunctionVersion="ALL", PaginationConfig={"PageSize": 2}) for f in page["Functions"]]  # fmt: skip
    ours = [(f["FunctionName"], f["Version"], f["FunctionArn"]) for f in listed if f["FunctionName"] in (first, second)]
    assert ours == [
        (first, "$LATEST", arn(first, "$LATEST")), (first, "1", arn(first, "1")), (first, "2", arn(first, "2")),
        (second, "$LATEST", arn(second, "$LATEST")),
    ]  # fmt: skip
    assert len({f["FunctionArn"] for f in listed}) == len(listed)  # pages neither repeat nor skip

    plain = [f for page in client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    assert [f["FunctionArn"] for f in plain if f["FunctionName"] in (first, second)] == [arn(first), arn(second)]

    # MasterRegion lists Lambda@Edge replicas, which Lamina has none of; it needs FunctionVersion=ALL.
    assert client.list_functions(MasterRegion="us-east-1", FunctionVersion="ALL")["Functions"] == []
    with pytest.raises(ClientError) as exc:
        client.list_functions(MasterRegion="us-east-1")
    assert error(exc)[:2] == ("InvalidParameterValueException", 400)
    raw = lambda_client(client.meta.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as exc:
        raw.list_functions(FunctionVersion="SOME")
    assert error(exc)[0] == "ValidationException" and "[ALL]" in error(exc)[2]
