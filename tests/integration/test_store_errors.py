"""The store's own errors, as Lambda's API words them (lamina.api.errors.from_store).

The server keeps what it serves in memory and writes through to its store, so the store refuses a
write only when another writer of the same database changed it meanwhile (a concurrent request, or
another replica on a shared database). Here that other writer is a second connection to the
server's SQLite database: each test changes a row under the server, then makes the call whose
write the store refuses, and checks the answer AWS would give.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, server_env

PREFIX = "arn:aws:lambda:us-east-1:000000000000:function:"
STALE = ("The Revision Id provided does not match the latest Revision Id. "
         "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    """A server of this module's own: its database is written to behind its back."""
    started = LaminaProcess(tmp_path_factory.mktemp("store-errors"), server_env()).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def lam(server: LaminaProcess) -> Any:
    return server.client()


def behind(server: LaminaProcess, sql: str, *params: object) -> None:
    """Another writer of the server's database."""
    conn = sqlite3.connect(Path(server.data_dir) / "lamina.db", timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute(sql, params).rowcount == 1
    finally:
        conn.close()


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_a_function_deleted_behind_the_server_is_not_found(server: LaminaProcess, lam: Any, fn_name: str) -> None:
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    behind(server, "DELETE FROM functions WHERE name = ?", fn_name)
    missing = ("ResourceNotFoundException", 404, f"Function not found: {PREFIX}{fn_name}")
    with pytest.raises(ClientError) as raised:  # the function's own row (FunctionStore.put_function)
        lam.update_function_configuration(FunctionName=fn_name, Description="changed")
    assert error_of(raised) == missing
    with pytest.raises(ClientError) as raised:  # what belongs to it (ConfigStore: the foreign key)
        lam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)
    assert error_of(raised) == missing
    with pytest.raises(ClientError) as raised:
        lam.tag_resource(Resource=PREFIX + fn_name, Tags={"team": "a"})
    assert error_of(raised) == missing


def test_a_function_changed_behind_the_server_is_a_stale_revision(server: LaminaProcess, lam: Any,
                                                                   fn_name: str) -> None:  # fmt: skip
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    behind(server, "UPDATE functions SET revision_id = 'elsewhere' WHERE name = ?", fn_name)
    with pytest.raises(ClientError) as raised:
        lam.update_function_configuration(FunctionName=fn_name, Description="changed")
    assert error_of(raised) == ("PreconditionFailedException", 412, STALE)
    assert lam.get_function_configuration(FunctionName=fn_name)["Description"] == ""  # undone in memory too


def test_a_function_created_behind_the_server_conflicts(server: LaminaProcess, lam: Any, fn_name: str) -> None:
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    twin = fn_name + "-twin"
    behind(server, "INSERT INTO functions (name, revision_id, config) "
                   "SELECT ?, revision_id, config FROM functions WHERE name = ?", twin, fn_name)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        deploy(lam, twin, "def handler(event, context):\n    return 2\n")
    assert error_of(raised) == ("ResourceConflictException", 409, f"Function already exist: {twin}")


def test_aliases_changed_behind_the_server(server: LaminaProcess, lam: Any, fn_name: str) -> None:
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    lam.create_alias(FunctionName=fn_name, Name="beta", FunctionVersion="$LATEST")

    behind(server, "UPDATE function_aliases SET revision_id = 'elsewhere' WHERE function = ? AND name = 'live'",
           fn_name)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        lam.update_alias(FunctionName=fn_name, Name="live", Description="changed")
    assert error_of(raised) == ("PreconditionFailedException", 412, STALE)

    behind(server, "DELETE FROM function_aliases WHERE function = ? AND name = 'beta'", fn_name)
    with pytest.raises(ClientError) as raised:
        lam.update_alias(FunctionName=fn_name, Name="beta", Description="changed")
    assert error_of(raised) == ("ResourceNotFoundException", 404, f"Alias not found: {PREFIX}{fn_name}:beta")

    behind(server, "INSERT INTO function_aliases (function, name, revision_id, config) "
                   "SELECT function, 'gamma', revision_id, config FROM function_aliases "
                   "WHERE function = ? AND name = 'live'", fn_name)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        lam.create_alias(FunctionName=fn_name, Name="gamma", FunctionVersion="$LATEST")
    assert error_of(raised) == ("ResourceConflictException", 409, f"Alias already exists: {PREFIX}{fn_name}:gamma")


def test_function_urls_changed_behind_the_server(server: LaminaProcess, lam: Any, fn_name: str) -> None:
    """The URL service words these itself (as CreateFunctionUrlConfig and UpdateFunctionUrlConfig
    do when it knows without the store), from the store's errors."""
    deploy(lam, fn_name, "def handler(event, context):\n    return 1\n")
    lam.create_function_url_config(FunctionName=fn_name, AuthType="NONE")
    behind(server, "DELETE FROM function_urls WHERE function = ?", fn_name)
    with pytest.raises(ClientError) as raised:
        lam.update_function_url_config(FunctionName=fn_name, AuthType="AWS_IAM")
    assert error_of(raised) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")

    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="$LATEST")
    behind(server, "INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (?, 'live', ?, '{}')",
           fn_name, "f" * 32)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        lam.create_function_url_config(FunctionName=fn_name, Qualifier="live", AuthType="NONE")
    assert error_of(raised) == ("ResourceConflictException", 409,
                                f"Failed to create function url config for [functionArn = {PREFIX}{fn_name}:live]. "
                                "Error message:  FunctionUrlConfig exists for this Lambda function")  # fmt: skip
