"""Reserved and provisioned concurrency through boto3 and the AWS CLI, against real servers."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy, lambda_client

VENV_BIN = Path(sys.executable).parent
# Reports which environment ran it (a module-level id: PIDs are 1 in PID namespaces) and how it started.
CODE = (
    "import os, time, uuid\n"
    "ENV_ID = uuid.uuid4().hex\n"
    "def handler(event, context):\n"
    "    if event.get('exit'):\n"
    "        os._exit(1)\n"
    "    time.sleep(event.get('sleep', 0))\n"
    "    return {'env': ENV_ID, 'init': os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']}\n"
)
BELOW_MINIMUM = (
    "Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its "
    "minimum value of [100]."
)


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    response: dict[str, Any] = exc.value.response
    return response


def assert_error(call: Any, code: str, status: int, message: str | None = None, **kwargs: Any) -> dict[str, Any]:
    response = error_of(call, **kwargs)
    assert response["Error"]["Code"] == code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert response["Error"]["Message"] == message
    return response


def invoke(client: Any, name: str, qualifier: str | None = None, payload: dict[str, Any] | None = None
           ) -> tuple[dict[str, Any], str]:  # fmt: skip
    """The function's result and its REPORT line."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    response = client.invoke(FunctionName=name, LogType="Tail", Payload=json.dumps(payload or {}).encode(), **extra)
    report = [line for line in base64.b64decode(response["LogResult"]).decode().splitlines()
              if line.startswith("REPORT")]  # fmt: skip
    return json.loads(response["Payload"].read()), report[-1]


def wait_ready(client: Any, name: str, qualifier: str, timeout: float = 30) -> dict[str, Any]:
    """Poll GetProvisionedConcurrencyConfig (boto3 has no waiter for it) until it is READY."""
    deadline = time.monotonic() + timeout
    while True:
        config: dict[str, Any] = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] == "READY" or time.monotonic() > deadline:
            assert config["Status"] == "READY", config
            return config
        time.sleep(0.1)


def health(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + "/lamina/v1/health", timeout=5) as response:
        return dict(json.loads(response.read()))


def wait_for(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def aws_cli(endpoint: str, *args: str) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "lambda", *args, "--output", "json"],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def unreserved(client: Any) -> int:
    return int(client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"])


# -- reserved concurrency --------------------------------------------------------------------


def test_reserved_concurrency_operations(client: Any, lamina: Any, fn_name: str) -> None:
    deploy(client, fn_name, CODE)
    before = unreserved(client)
    assert client.get_function_concurrency(FunctionName=fn_name).get("ReservedConcurrentExecutions") is None
    assert "Concurrency" not in client.get_function(FunctionName=fn_name)

    put = client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=7)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200 and put["ReservedConcurrentExecutions"] == 7
    assert client.get_function_concurrency(FunctionName=fn_name)["ReservedConcurrentExecutions"] == 7
    assert client.get_function(FunctionName=fn_name)["Concurrency"] == {"ReservedConcurrentExecutions": 7}
    assert unreserved(client) == before - 7
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=3)  # replaces it
    assert unreserved(client) == before - 3

    deleted = client.delete_function_concurrency(FunctionName=fn_name)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=fn_name)
    assert "Concurrency" not in client.get_function(FunctionName=fn_name)
    assert unreserved(client) == before

    # Errors: no such function; more than the account can spare; values the model refuses (server-side).
    missing = "arn:aws:lambda:us-east-1:000000000000:function:nope-concurrency"
    for call, extra in ((client.put_function_concurrency, {"ReservedConcurrentExecutions": 1}),
                        (client.get_function_concurrency, {}), (client.delete_function_concurrency, {})):  # fmt: skip
        assert_error(call, "ResourceNotFoundException", 404, f"Function not found: {missing}",
                     FunctionName="nope-concurrency", **extra)  # fmt: skip
    assert_error(client.put_function_concurrency, "InvalidParameterValueException", 400, BELOW_MINIMUM,
                 FunctionName=fn_name, ReservedConcurrentExecutions=before - 99)  # fmt: skip
    raw = lambda_client(lamina.endpoint, parameter_validation=False)
    assert_error(raw.put_function_concurrency, "ValidationException", 400,
                 "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 0",
                 FunctionName=fn_name, ReservedConcurrentExecutions=-1)  # fmt: skip
    assert_error(raw.put_function_concurrency, "ValidationException", 400, FunctionName=fn_name)
    assert unreserved(client) == before


def test_a_reservation_caps_concurrent_invocations(client: Any, lamina: Any, fn_name: str) -> None:
    deploy(client, fn_name, CODE, Timeout=30)
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)
    results: list[Any] = []

    def slow() -> None:
        results.append(invoke(lambda_client(lamina.endpoint), fn_name, payload={"sleep": 2})[0])

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        wait_for(lambda: health(lamina.endpoint)["inUse"] >= 1)
        throttled = assert_error(client.invoke, "TooManyRequestsException", 429, FunctionName=fn_name, Payload=b"{}")
        assert throttled["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert int(throttled["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    finally:
        thread.join(30)
    assert results and results[0]["init"] == "on-demand"
    assert invoke(client, fn_name)[0]["init"] == "on-demand"  # one at a time is fine

    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=0)
    zero = assert_error(client.invoke, "TooManyRequestsException", 429, FunctionName=fn_name, Payload=b"{}")
    assert zero["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"  # throttled entirely
    client.delete_function_concurrency(FunctionName=fn_name)
    assert invoke(client, fn_name)[0]["init"] == "on-demand"


def test_reservations_keep_100_unreserved_and_survive_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data", LAMINA_ACCOUNT_CONCURRENCY="106")
    client = server.client()
    deploy(client, "big", CODE)
    deploy(client, "small", CODE)
    version = client.publish_version(FunctionName="small")["Version"]
    assert unreserved(client) == 106

    client.put_function_concurrency(FunctionName="big", ReservedConcurrentExecutions=5)
    assert unreserved(client) == 101
    assert_error(client.put_function_concurrency, "InvalidParameterValueException", 400, BELOW_MINIMUM,
                 FunctionName="small", ReservedConcurrentExecutions=2)  # fmt: skip
    # Provisioned concurrency of a function without a reservation comes out of the unreserved pool too.
    assert_error(client.put_provisioned_concurrency_config, "InvalidParameterValueException", 400, BELOW_MINIMUM,
                 FunctionName="small", Qualifier=version, ProvisionedConcurrentExecutions=2)  # fmt: skip
    client.put_function_concurrency(FunctionName="small", ReservedConcurrentExecutions=1)

    settings = client.get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 106
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == 100
    sizes = [client.get_function(FunctionName=name, Qualifier=q)["Configuration"]["CodeSize"]
             for name, q in (("big", "$LATEST"), ("small", "$LATEST"), ("small", version))]  # fmt: skip
    assert settings["AccountUsage"] == {"FunctionCount": 2, "TotalCodeSize": sum(sizes)}

    server.stop()
    client = make_server(tmp_path / "data", LAMINA_ACCOUNT_CONCURRENCY="106").client()
    assert client.get_function_concurrency(FunctionName="big")["ReservedConcurrentExecutions"] == 5
    assert client.get_function(FunctionName="small")["Concurrency"] == {"ReservedConcurrentExecutions": 1}
    assert unreserved(client) == 100
    client.delete_function(FunctionName="big")  # its reservation goes with it
    assert unreserved(client) == 105


# -- provisioned concurrency -----------------------------------------------------------------


def test_provisioned_concurrency_operations_and_errors(client: Any, lamina: Any, fn_name: str) -> None:
    deploy(client, fn_name, CODE)
    one = client.publish_version(FunctionName=fn_name)["Version"]
    client.update_function_configuration(FunctionName=fn_name, Description="two")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    two = client.publish_version(FunctionName=fn_name)["Version"]
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=two)
    client.create_alias(FunctionName=fn_name, Name="canary", FunctionVersion=one,
                        RoutingConfig={"AdditionalVersionWeights": {two: 0.5}})  # fmt: skip
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{fn_name}"

    put = client.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=one,
                                                    ProvisionedConcurrentExecutions=1)  # fmt: skip
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 1
    assert set(put) - {"ResponseMetadata"} == {
        "RequestedProvisionedConcurrentExecutions", "AvailableProvisionedConcurrentExecutions",
        "AllocatedProvisionedConcurrentExecutions", "Status", "LastModified",
    }  # fmt: skip
    client.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    ready = wait_ready(client, fn_name, one)
    assert ready["AllocatedProvisionedConcurrentExecutions"] == ready["AvailableProvisionedConcurrentExecutions"] == 1
    wait_ready(client, fn_name, "live")

    listed = client.list_provisioned_concurrency_configs(FunctionName=fn_name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:{one}", f"{arn}:live"]
    first = client.list_provisioned_concurrency_configs(FunctionName=fn_name, MaxItems=1)
    assert [c["FunctionArn"] for c in first["ProvisionedConcurrencyConfigs"]] == [f"{arn}:{one}"]
    rest = client.list_provisioned_concurrency_configs(FunctionName=fn_name, MaxItems=1, Marker=first["NextMarker"])
    assert [c["FunctionArn"] for c in rest["ProvisionedConcurrencyConfigs"]] == [f"{arn}:live"]
    assert "NextMarker" not in rest
    pages = client.get_paginator("list_provisioned_concurrency_configs").paginate(
        FunctionName=fn_name, PaginationConfig={"PageSize": 1})
    assert sum(len(page["ProvisionedConcurrencyConfigs"]) for page in pages) == 2

    # The rules: published versions and unweighted aliases only, one configuration per version.
    latest = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
    assert_error(client.put_provisioned_concurrency_config, "InvalidParameterValueException", 400, latest,
                 FunctionName=fn_name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1)  # fmt: skip
    not_a_version = "The function resource provided must be an alias or a published version."
    for call in (client.get_provisioned_concurrency_config, client.delete_provisioned_concurrency_config):
        assert_error(call, "InvalidParameterValueException", 400, not_a_version, FunctionName=fn_name,
                     Qualifier="$LATEST")  # fmt: skip
    assert_error(client.put_provisioned_concurrency_config, "InvalidParameterValueException", 400,
                 "Alias with weights can not be used with Provisioned Concurrency",
                 FunctionName=fn_name, Qualifier="canary", ProvisionedConcurrentExecutions=1)  # fmt: skip
    assert_error(client.put_provisioned_concurrency_config, "ResourceConflictException", 409,
                 "Version is pointed by a Provisioned Concurrency alias",
                 FunctionName=fn_name, Qualifier=two, ProvisionedConcurrentExecutions=1)  # fmt: skip
    client.create_alias(FunctionName=fn_name, Name="also-one", FunctionVersion=one)
    assert_error(client.put_provisioned_concurrency_config, "ResourceConflictException", 409,
                 "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version",
                 FunctionName=fn_name, Qualifier="also-one", ProvisionedConcurrentExecutions=1)  # fmt: skip
    assert_error(client.put_provisioned_concurrency_config, "ResourceNotFoundException", 404,
                 f"Function not found: {arn}:99", FunctionName=fn_name, Qualifier="99",
                 ProvisionedConcurrentExecutions=1)  # fmt: skip
    assert_error(client.get_provisioned_concurrency_config, "ResourceNotFoundException", 404,
                 f"Cannot find alias arn: {arn}:nope", FunctionName=fn_name, Qualifier="nope")  # fmt: skip
    assert_error(client.get_provisioned_concurrency_config, "ProvisionedConcurrencyConfigNotFoundException", 404,
                 "No Provisioned Concurrency Config found for this function",
                 FunctionName=fn_name, Qualifier="also-one")  # fmt: skip
    assert_error(client.list_provisioned_concurrency_configs, "ResourceNotFoundException", 404,
                 FunctionName="nope-provisioned")  # fmt: skip

    # Against the function's reservation: provisioned concurrency fits in it, and it covers them.
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=3)
    assert_error(client.put_provisioned_concurrency_config, "InvalidParameterValueException", 400,
                 "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution "
                 "for function", FunctionName=fn_name, Qualifier="live", ProvisionedConcurrentExecutions=3)  # fmt: skip
    assert_error(client.put_function_concurrency, "InvalidParameterValueException", 400,
                 "ReservedConcurrentExecutions 1 should not be lower than function's total provisioned "
                 "concurrency [2].", FunctionName=fn_name, ReservedConcurrentExecutions=1)  # fmt: skip

    raw = lambda_client(lamina.endpoint, parameter_validation=False)
    assert_error(raw.put_provisioned_concurrency_config, "ValidationException", 400,
                 "1 validation error detected: Value '0' at 'provisionedConcurrentExecutions' failed to satisfy "
                 "constraint: Member must have value greater than or equal to 1",
                 FunctionName=fn_name, Qualifier=one, ProvisionedConcurrentExecutions=0)  # fmt: skip
    assert_error(raw.get_provisioned_concurrency_config, "ValidationException", 400,
                 "1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: "
                 "Member must not be null", FunctionName=fn_name)  # fmt: skip
    assert_error(raw.list_provisioned_concurrency_configs, "ValidationException", 400, FunctionName=fn_name,
                 MaxItems=51)  # fmt: skip

    deleted = client.delete_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=one)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    client.delete_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=one)  # none: not an error
    assert_error(client.get_provisioned_concurrency_config, "ProvisionedConcurrencyConfigNotFoundException", 404,
                 FunctionName=fn_name, Qualifier=one)  # fmt: skip
    client.delete_function(FunctionName=fn_name)


def test_provisioned_concurrency_fails_when_init_fails(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, "raise RuntimeError('no init')\ndef handler(event, context):\n    return 1\n")
    version = client.publish_version(FunctionName=fn_name)["Version"]
    client.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    wait_for(lambda: client.get_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=version)["Status"]
             != "IN_PROGRESS")  # fmt: skip
    config = client.get_provisioned_concurrency_config(FunctionName=fn_name, Qualifier=version)
    assert config["Status"] == "FAILED" and config["StatusReason"] == "FUNCTION_ERROR_INIT_FAILURE"
    assert config["AllocatedProvisionedConcurrentExecutions"] == 0
    client.delete_function(FunctionName=fn_name)


def test_provisioned_environments(make_server: Any, tmp_path: Path) -> None:
    """Initialised ahead of time, warm past the keep-alive, replaced when one dies, kept over a restart,
    stopped with their configuration, alias or function."""
    server = make_server(tmp_path / "data", LAMINA_KEEP_ALIVE="1")
    client = server.client()
    deploy(client, "warm", CODE)
    version = client.publish_version(FunctionName="warm")["Version"]
    client.create_alias(FunctionName="warm", Name="live", FunctionVersion=version)

    put = client.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="live",
                                                    ProvisionedConcurrentExecutions=2)  # fmt: skip
    assert put["Status"] == "IN_PROGRESS" and put["AllocatedProvisionedConcurrentExecutions"] == 0
    assert wait_ready(client, "warm", "live")["AllocatedProvisionedConcurrentExecutions"] == 2

    # Through the alias or its version: a provisioned environment, no cold start in the REPORT.
    seen = set()
    for qualifier in ("live", version, "live"):
        result, report = invoke(client, "warm", qualifier)
        assert result["init"] == "provisioned-concurrency" and "Init Duration" not in report, report
        seen.add(result["env"])
    assert len(seen) == 1  # the warmest is reused
    # $LATEST has none: a cold start, on demand.
    result, report = invoke(client, "warm")
    assert result["init"] == "on-demand" and "Init Duration" in report

    time.sleep(1.5)  # past the keep-alive: on-demand environments are reaped, provisioned ones are not
    result, report = invoke(client, "warm", "live")
    assert result["env"] in seen and "Init Duration" not in report

    # One that dies is replaced: the next two at once run on two provisioned environments, one new.
    crashed = client.invoke(FunctionName="warm", Qualifier="live", Payload=b'{"exit": true}')
    assert crashed["FunctionError"] == "Unhandled"
    wait_ready(client, "warm", "live")
    results: list[tuple[dict[str, Any], str]] = []
    threads = [threading.Thread(target=lambda: results.append(
        invoke(lambda_client(server.endpoint), "warm", "live", {"sleep": 0.5}))) for _ in range(2)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(r["init"] == "provisioned-concurrency" and "Init Duration" not in report for r, report in results)
    assert len({r["env"] for r, _ in results}) == 2 and not seen & {r["env"] for r, _ in results}

    # A restart keeps the configuration and initialises the environments again.
    server.stop()
    server = make_server(tmp_path / "data", LAMINA_KEEP_ALIVE="1")
    client = server.client()
    assert wait_ready(client, "warm", "live")["RequestedProvisionedConcurrentExecutions"] == 2
    result, report = invoke(client, "warm", "live")
    assert result["init"] == "provisioned-concurrency" and "Init Duration" not in report
    assert health(server.endpoint)["environments"] == 2

    # An alias moved to another version takes its provisioned environments along.
    client.update_function_configuration(FunctionName="warm", Description="second")
    client.get_waiter("function_updated_v2").wait(FunctionName="warm")
    second = client.publish_version(FunctionName="warm")["Version"]
    client.update_alias(FunctionName="warm", Name="live", FunctionVersion=second)
    wait_for(lambda: client.invoke(FunctionName="warm", Qualifier="live", Payload=b"{}")["ExecutedVersion"] == second)
    wait_ready(client, "warm", "live")
    wait_for(lambda: health(server.endpoint)["environments"] == 2)  # the first version's are stopped
    result, report = invoke(client, "warm", "live")
    assert result["init"] == "provisioned-concurrency" and "Init Duration" not in report

    # Deleting the configuration stops them: the next invocation is a cold start.
    client.delete_provisioned_concurrency_config(FunctionName="warm", Qualifier="live")
    wait_for(lambda: health(server.endpoint)["environments"] == 0)
    result, report = invoke(client, "warm", "live")
    assert result["init"] == "on-demand" and "Init Duration" in report

    # So does deleting the alias (its configuration goes with it), or the function.
    client.put_provisioned_concurrency_config(FunctionName="warm", Qualifier="live", ProvisionedConcurrentExecutions=1)
    wait_ready(client, "warm", "live")
    client.delete_alias(FunctionName="warm", Name="live")
    assert client.list_provisioned_concurrency_configs(FunctionName="warm")["ProvisionedConcurrencyConfigs"] == []
    wait_for(lambda: health(server.endpoint)["environments"] == 0)
    client.put_provisioned_concurrency_config(FunctionName="warm", Qualifier=version, ProvisionedConcurrentExecutions=1)
    wait_ready(client, "warm", version)
    assert health(server.endpoint)["environments"] == 1
    client.delete_function(FunctionName="warm")
    wait_for(lambda: health(server.endpoint)["environments"] == 0)


def test_aws_cli(client: Any, lamina: Any, fn_name: str) -> None:
    deploy(client, fn_name, CODE)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    put = aws_cli(lamina.endpoint, "put-function-concurrency", "--function-name", fn_name,
                  "--reserved-concurrent-executions", "2")  # fmt: skip
    assert put == {"ReservedConcurrentExecutions": 2}
    assert aws_cli(lamina.endpoint, "get-function-concurrency", "--function-name", fn_name) == put
    aws_cli(lamina.endpoint, "put-provisioned-concurrency-config", "--function-name", fn_name, "--qualifier", version,
            "--provisioned-concurrent-executions", "1")  # fmt: skip
    wait_ready(client, fn_name, version)
    got = aws_cli(lamina.endpoint, "get-provisioned-concurrency-config", "--function-name", fn_name,
                  "--qualifier", version)  # fmt: skip
    assert got["Status"] == "READY" and got["AllocatedProvisionedConcurrentExecutions"] == 1
    listed = aws_cli(lamina.endpoint, "list-provisioned-concurrency-configs", "--function-name", fn_name)
    assert [c["FunctionArn"].rsplit(":", 1)[-1] for c in listed["ProvisionedConcurrencyConfigs"]] == [version]
    aws_cli(lamina.endpoint, "delete-provisioned-concurrency-config", "--function-name", fn_name,
            "--qualifier", version)  # fmt: skip
    aws_cli(lamina.endpoint, "delete-function-concurrency", "--function-name", fn_name)
    assert not aws_cli(lamina.endpoint, "get-function-concurrency", "--function-name", fn_name)  # prints nothing
    client.delete_function(FunctionName=fn_name)
