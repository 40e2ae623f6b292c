"""A function's phases as Lambda shows them: created Pending, updated InProgress, then settled.

The server here holds each phase at least ``LAMINA_STATE_DELAY`` seconds (its code is ready in
milliseconds), so that what a client sees in between is seen every time, not when it is quick enough.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE, LaminaProcess, lambda_client, make_zip, server_env
from tests.integration.test_clients import aws_cli

HOLD_SECONDS = "4"
CODE = {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}
ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"
CREATING = "The function is being created."


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    server = LaminaProcess(tmp_path_factory.mktemp("states"), server_env(LAMINA_STATE_DELAY=HOLD_SECONDS)).start()
    yield server
    server.stop()


def create(client: Any, name: str) -> dict[str, Any]:
    return dict(client.create_function(FunctionName=name, Runtime="python3.11", Role=ROLE, Handler="app.handler",
                                       Code={"ZipFile": make_zip(CODE)}))  # fmt: skip


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_create_answers_pending_then_settles_active_with_a_new_revision(held: LaminaProcess, fn_name: str) -> None:
    client = lambda_client(held.endpoint)
    created = create(client, fn_name)
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == ("Pending", CREATING, "Creating")
    assert "LastUpdateStatus" not in created  # as AWS's answer to CreateFunction
    seen = client.get_function(FunctionName=fn_name)["Configuration"]
    assert seen["State"] == "Pending" and seen["RevisionId"] == created["RevisionId"]

    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    active = client.get_function(FunctionName=fn_name)["Configuration"]
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in active and "LastUpdateStatusReason" not in active
    assert active["RevisionId"] != created["RevisionId"]  # settling changes it, as on Lambda
    assert json.loads(client.invoke(FunctionName=fn_name)["Payload"].read()) == {"ok": True}


def test_a_pending_function_refuses_invokes_and_updates(held: LaminaProcess, fn_name: str) -> None:
    client = lambda_client(held.endpoint)
    create(client, fn_name)
    with pytest.raises(ClientError) as invoked:
        client.invoke(FunctionName=fn_name, Payload=b"{}")
    assert error_of(invoked) == ("ResourceConflictException", 409, "The operation cannot be performed at this time. "
                                 "The function is currently in the following state: Pending")  # fmt: skip
    with pytest.raises(ClientError) as event:
        client.invoke(FunctionName=fn_name, Payload=b"{}", InvocationType="Event")
    assert error_of(event)[0] == "ResourceConflictException"
    with pytest.raises(ClientError) as updated:
        client.update_function_configuration(FunctionName=fn_name, Timeout=9)
    assert error_of(updated) == ("ResourceConflictException", 409, "The operation cannot be performed at this time. "
                                 f"An update is in progress for resource: {ARN.format(fn_name)}")  # fmt: skip
    client.delete_function(FunctionName=fn_name)  # deleting is allowed meanwhile


def test_an_update_is_in_progress_until_it_settles(held: LaminaProcess, fn_name: str) -> None:
    client = lambda_client(held.endpoint)
    create(client, fn_name)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    updated = client.update_function_configuration(FunctionName=fn_name, Timeout=9)
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    assert (updated["LastUpdateStatusReason"], updated["LastUpdateStatusReasonCode"]) == (CREATING, "Creating")
    with pytest.raises(ClientError) as again:
        client.update_function_code(FunctionName=fn_name, ZipFile=make_zip(CODE))
    assert error_of(again) == ("ResourceConflictException", 409, "The operation cannot be performed at this time. "
                               f"An update is in progress for resource: {ARN.format(fn_name)}")  # fmt: skip
    with pytest.raises(ClientError) as published:
        client.publish_version(FunctionName=fn_name)
    assert error_of(published)[0] == "ResourceConflictException"

    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    settled = client.get_function_configuration(FunctionName=fn_name)
    assert (settled["LastUpdateStatus"], settled["Timeout"]) == ("Successful", 9)
    assert settled["RevisionId"] != updated["RevisionId"]

    code = client.update_function_code(FunctionName=fn_name, ZipFile=make_zip(CODE))
    assert (code["LastUpdateStatus"], code["LastUpdateStatusReasonCode"]) == ("InProgress", "Creating")


def test_the_aws_cli_waits_for_a_created_function(held: LaminaProcess, fn_name: str, tmp_path: Path) -> None:
    client = lambda_client(held.endpoint)
    assert create(client, fn_name)["State"] == "Pending"
    waited = aws_cli(held.endpoint, "wait", "function-active-v2", "--function-name", fn_name, cwd=tmp_path)
    assert waited.returncode == 0, waited.stderr
    assert client.get_function(FunctionName=fn_name)["Configuration"]["State"] == "Active"
    client.update_function_configuration(FunctionName=fn_name, MemorySize=256)
    waited = aws_cli(held.endpoint, "wait", "function-updated-v2", "--function-name", fn_name, cwd=tmp_path)
    assert waited.returncode == 0, waited.stderr
    assert client.get_function(FunctionName=fn_name)["Configuration"]["LastUpdateStatus"] == "Successful"


def test_without_a_hold_a_created_function_still_answers_pending(client: Any, fn_name: str) -> None:
    """The shared server holds no phase: the answer is Pending all the same, and a waiter settles at once."""
    created = create(client, fn_name)
    assert created["State"] == "Pending"
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert client.get_function(FunctionName=fn_name)["Configuration"]["State"] == "Active"
