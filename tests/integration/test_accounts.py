"""Two accounts (two root keys) and two regions on one server: each cell sees only its own resources."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, make_zip, server_env
from tests.roles import make_role

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
KEY_A, SECRET_A = "AKIDACCOUNTA00000001", "secret-of-a"
KEY_B, SECRET_B = "AKIDACCOUNTB00000001", "secret-of-b"
KEYS = f"{KEY_A}:{SECRET_A}:{ACCOUNT_A},{KEY_B}:{SECRET_B}:{ACCOUNT_B}"
CODE = "def handler(event, context):\n    return {'arn': context.invoked_function_arn, 'said': event}\n"


def client(service: str, endpoint: str, account: str, region: str = "us-east-1") -> Any:
    key, secret = (KEY_A, SECRET_A) if account == ACCOUNT_A else (KEY_B, SECRET_B)
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def role(endpoint: str, account: str) -> str:
    """The account's execution role (made once: IAM is per account, the same in every region)."""
    try:
        return str(client("iam", endpoint, account).get_role(RoleName="fn-role")["Role"]["Arn"])
    except ClientError:
        key, secret = (KEY_A, SECRET_A) if account == ACCOUNT_A else (KEY_B, SECRET_B)
        return make_role(endpoint, "fn-role", [], key=key, secret=secret)


def create(lam: Any, name: str, account: str) -> dict[str, Any]:
    made = lam.create_function(FunctionName=name, Runtime="python3.11", Role=role(lam.meta.endpoint_url, account),
                               Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CODE})})  # fmt: skip
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return dict(made)


def invoked(lam: Any, name: str, payload: object = "hi") -> dict[str, Any]:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    assert "FunctionError" not in answer, answer["Payload"].read()
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return str(info.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    """Account A is the default cell (LAMINA_ACCOUNT_ID); B's starts on its first request."""
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path_factory.mktemp("accounts"), env).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def functions(server: LaminaProcess) -> dict[str, dict[str, Any]]:
    """``shared`` in both accounts, and one of A's own."""
    a, b = client("lambda", server.endpoint, ACCOUNT_A), client("lambda", server.endpoint, ACCOUNT_B)
    return {"a": create(a, "shared", ACCOUNT_A), "b": create(b, "shared", ACCOUNT_B),
            "a-only": create(a, "only-a", ACCOUNT_A)}


def test_another_accounts_function_cannot_be_seen_got_invoked_updated_or_deleted(
    server: LaminaProcess, functions: dict[str, dict[str, Any]]
) -> None:
    b = client("lambda", server.endpoint, ACCOUNT_B)
    assert error_code(b.get_function, FunctionName="only-a") == "ResourceNotFoundException"
    assert error_code(b.invoke, FunctionName="only-a") == "ResourceNotFoundException"
    assert error_code(b.update_function_configuration, FunctionName="only-a", Timeout=9) == "ResourceNotFoundException"
    assert error_code(b.delete_function, FunctionName="only-a") == "ResourceNotFoundException"
    a_arn = functions["a-only"]["FunctionArn"]
    for call, kwargs in ((b.get_function, {}), (b.invoke, {}), (b.delete_function, {}),
                         (b.update_function_configuration, {"Timeout": 9})):  # fmt: skip
        assert error_code(call, FunctionName=a_arn, **kwargs) == "AccessDeniedException"
    a = client("lambda", server.endpoint, ACCOUNT_A)
    assert a.get_function(FunctionName="only-a")["Configuration"]["Timeout"] == 3  # untouched


def test_each_account_lists_its_own_and_the_same_name_is_two_functions(
    server: LaminaProcess, functions: dict[str, dict[str, Any]]
) -> None:
    a, b = client("lambda", server.endpoint, ACCOUNT_A), client("lambda", server.endpoint, ACCOUNT_B)
    assert sorted(f["FunctionName"] for f in a.list_functions()["Functions"]) == ["only-a", "shared"]
    assert [f["FunctionName"] for f in b.list_functions()["Functions"]] == ["shared"]
    assert functions["a"]["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT_A}:function:shared"
    assert functions["b"]["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT_B}:function:shared"
    assert invoked(a, "shared")["arn"] == functions["a"]["FunctionArn"]
    assert invoked(b, "shared")["arn"] == functions["b"]["FunctionArn"]


def test_a_permission_for_another_account_lets_it_invoke_by_arn(
    server: LaminaProcess, functions: dict[str, dict[str, Any]]
) -> None:
    a, b = client("lambda", server.endpoint, ACCOUNT_A), client("lambda", server.endpoint, ACCOUNT_B)
    a_arn = functions["a"]["FunctionArn"]
    assert error_code(b.invoke, FunctionName=a_arn) == "AccessDeniedException"  # the front door's
    assert error_code(b.invoke, FunctionName=a_arn, InvocationType="DryRun") == "AccessDeniedException"  # aiohttp's
    a.add_permission(FunctionName="shared", StatementId="account-b", Action="lambda:InvokeFunction",
                     Principal=ACCOUNT_B)  # fmt: skip
    assert invoked(b, a_arn, "from b")["arn"] == a_arn  # A's function ran
    assert b.invoke(FunctionName=a_arn, InvocationType="DryRun")["StatusCode"] == 204
    partial = f"{ACCOUNT_A}:function:shared"  # a partial ARN names the account as well
    assert invoked(b, partial)["arn"] == a_arn
    assert invoked(b, "shared")["arn"] == functions["b"]["FunctionArn"]  # B's own name is still B's
    # Invoking is all the permission allows.
    assert error_code(b.get_function, FunctionName=a_arn) == "AccessDeniedException"


def test_iam_is_each_accounts_own_in_every_region(server: LaminaProcess) -> None:
    a_role, b_role = role(server.endpoint, ACCOUNT_A), role(server.endpoint, ACCOUNT_B)
    assert (a_role, b_role) == (f"arn:aws:iam::{ACCOUNT_A}:role/fn-role", f"arn:aws:iam::{ACCOUNT_B}:role/fn-role")
    assert [r["Arn"] for r in client("iam", server.endpoint, ACCOUNT_B).list_roles()["Roles"]] == [b_role]
    b = client("lambda", server.endpoint, ACCOUNT_B, region="eu-west-3")  # the role made through us-east-1
    assert error_code(b.create_function, FunctionName="theirs", Runtime="python3.11", Role=a_role, Handler="app.handler",
                      Code={"ZipFile": make_zip({"app.py": CODE})}) == "AccessDeniedException"  # fmt: skip
    b.create_function(FunctionName="mine", Runtime="python3.11", Role=b_role, Handler="app.handler",
                      Code={"ZipFile": make_zip({"app.py": CODE})})  # fmt: skip


def test_queues_buses_and_buckets_are_each_accounts_own(server: LaminaProcess) -> None:
    sqs_a, sqs_b = client("sqs", server.endpoint, ACCOUNT_A), client("sqs", server.endpoint, ACCOUNT_B)
    queue_url = sqs_a.create_queue(QueueName="orders")["QueueUrl"]
    assert queue_url.endswith(f"/{ACCOUNT_A}/orders")
    assert "QueueUrls" not in sqs_b.list_queues()
    assert error_code(sqs_b.get_queue_url, QueueName="orders") == "AWS.SimpleQueueService.NonExistentQueue"
    assert sqs_b.create_queue(QueueName="orders")["QueueUrl"].endswith(f"/{ACCOUNT_B}/orders")
    sqs_b.send_message(QueueUrl=sqs_b.get_queue_url(QueueName="orders")["QueueUrl"], MessageBody="b's")
    assert "Messages" not in sqs_a.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)

    events_a, events_b = client("events", server.endpoint, ACCOUNT_A), client("events", server.endpoint, ACCOUNT_B)
    bus_arn = events_a.create_event_bus(Name="audit")["EventBusArn"]
    assert bus_arn == f"arn:aws:events:us-east-1:{ACCOUNT_A}:event-bus/audit"
    assert "audit" not in [bus["Name"] for bus in events_b.list_event_buses()["EventBuses"]]
    assert error_code(events_b.describe_event_bus, Name="audit") == "ResourceNotFoundException"

    s3_a, s3_b = client("s3", server.endpoint, ACCOUNT_A), client("s3", server.endpoint, ACCOUNT_B)
    s3_a.create_bucket(Bucket="a-reports")
    s3_a.put_object(Bucket="a-reports", Key="k", Body=b"a's")
    assert [bucket["Name"] for bucket in s3_a.list_buckets()["Buckets"]] == ["a-reports"]
    assert s3_b.list_buckets()["Buckets"] == []
    assert error_code(s3_b.get_object, Bucket="a-reports", Key="k") == "AccessDenied"  # names are global


def test_another_region_is_a_separate_set_of_functions(
    server: LaminaProcess, functions: dict[str, dict[str, Any]]
) -> None:
    eu = client("lambda", server.endpoint, ACCOUNT_A, region="eu-west-1")
    assert eu.list_functions()["Functions"] == []
    made = create(eu, "shared", ACCOUNT_A)
    assert made["FunctionArn"] == f"arn:aws:lambda:eu-west-1:{ACCOUNT_A}:function:shared"
    assert invoked(eu, "shared")["arn"] == made["FunctionArn"]
    assert [f["FunctionName"] for f in eu.list_functions()["Functions"]] == ["shared"]
    sqs_eu = client("sqs", server.endpoint, ACCOUNT_A, region="eu-west-1")
    assert "QueueUrls" not in sqs_eu.list_queues()  # us-east-1's queues are not eu-west-1's
    # The same account's function in the other region, by ARN: not this region's.
    assert error_code(eu.get_function, FunctionName=functions["a-only"]["FunctionArn"]) == "ResourceNotFoundException"


def test_a_second_cells_function_urls_are_served(server: LaminaProcess, functions: dict[str, dict[str, Any]]) -> None:
    b = client("lambda", server.endpoint, ACCOUNT_B)
    config = b.create_function_url_config(FunctionName="shared", AuthType="NONE")
    url_id = config["FunctionUrl"].split("//")[1].split(".")[0]
    port = server.endpoint.rsplit(":", 1)[1]
    by_host = urllib.request.Request(f"http://127.0.0.1:{port}/hello",
                                     headers={"Host": f"{url_id}.lambda-url.us-east-1.localhost:{port}"})  # fmt: skip
    for request in (by_host, f"{server.endpoint}/lamina/v1/urls/{url_id}/hello"):
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert json.loads(answer.read())["arn"] == functions["b"]["FunctionArn"]
    wrong_region = urllib.request.Request(f"http://127.0.0.1:{port}/hello",
                                          headers={"Host": f"{url_id}.lambda-url.eu-west-1.localhost:{port}"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(wrong_region, timeout=60)
    info.value.close()
    assert info.value.code == 403


def test_a_restart_keeps_every_cell_and_its_resources(make_server: Any, tmp_path: Path) -> None:
    env = {"LAMINA_ACCESS_KEYS": KEYS}  # two accounts, neither the default cell's (000000000000)
    first = make_server(tmp_path / "data", **env)
    made = {}
    for account, region in ((ACCOUNT_A, "us-east-1"), (ACCOUNT_B, "us-east-1"), (ACCOUNT_B, "eu-west-2")):
        made[account, region] = create(client("lambda", first.endpoint, account, region), f"kept-{account[:1]}",
                                       account)
    client("sqs", first.endpoint, ACCOUNT_B, "eu-west-2").create_queue(QueueName="kept")
    assert first.stop() == 0
    assert (tmp_path / "data" / "cells" / ACCOUNT_B / "eu-west-2" / "lamina.db").is_file()
    second = make_server(tmp_path / "data", **env)
    for (account, region), config in made.items():
        lam = client("lambda", second.endpoint, account, region)
        assert [f["FunctionArn"] for f in lam.list_functions()["Functions"]] == [config["FunctionArn"]]
    assert invoked(client("lambda", second.endpoint, ACCOUNT_B, "eu-west-2"), "kept-2")["arn"] == (
        made[ACCOUNT_B, "eu-west-2"]["FunctionArn"])  # fmt: skip
    urls = client("sqs", second.endpoint, ACCOUNT_B, "eu-west-2").list_queues()["QueueUrls"]
    assert [u.rsplit("/", 2)[1:] for u in urls] == [[ACCOUNT_B, "kept"]]


CALLER = """import boto3

def handler(event, context):
    # The SDK as on Lambda: the role's credentials, AWS_REGION and AWS_ENDPOINT_URL from the environment.
    return {"queues": boto3.client("sqs").list_queues().get("QueueUrls", []),
            "functions": [f["FunctionArn"] for f in boto3.client("lambda").list_functions()["Functions"]]}
"""


def test_a_functions_own_requests_go_to_its_cell(server: LaminaProcess) -> None:
    subprocess.run([sys.executable, "-m", "lamina.runtime.sdk.install"], check=True, timeout=600)
    b_role = role(server.endpoint, ACCOUNT_B)
    client("iam", server.endpoint, ACCOUNT_B).put_role_policy(RoleName="fn-role", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:ListQueues", "lambda:ListFunctions"],
                                                 "Resource": "*"}]}))  # fmt: skip
    queue = client("sqs", server.endpoint, ACCOUNT_B, "ap-south-1").create_queue(QueueName="b-south")["QueueUrl"]
    lam = client("lambda", server.endpoint, ACCOUNT_B, "ap-south-1")
    made = lam.create_function(FunctionName="caller", Runtime="python3.11", Role=b_role, Handler="app.handler",
                               Timeout=30, Code={"ZipFile": make_zip({"app.py": CALLER})})  # fmt: skip
    lam.get_waiter("function_active_v2").wait(FunctionName="caller", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert invoked(lam, "caller") == {"queues": [queue], "functions": [made["FunctionArn"]]}
