"""IAM's API through boto3's ``iam`` client and the AWS CLI, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
ACCT = "000000000000"
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
READ_FUNCTIONS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "lambda:Get*", "Resource": "*"}]}  # fmt: skip
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def iam_client(endpoint: str, service: str = "iam") -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def aws_cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, *args], capture_output=True, text=True,
                          env=env, timeout=120)  # fmt: skip


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_roles(lamina: LaminaProcess) -> None:
    iam = iam_client(lamina.endpoint)
    created = iam.create_role(RoleName="it-worker", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
                              Path="/team/", Description="works", MaxSessionDuration=7200,
                              Tags=[{"Key": "team", "Value": "a"}])["Role"]  # fmt: skip
    assert created["Arn"] == f"arn:aws:iam::{ACCT}:role/team/it-worker"
    assert created["RoleId"].startswith("AROA") and created["Path"] == "/team/"
    got = iam.get_role(RoleName="it-worker")["Role"]
    assert got["AssumeRolePolicyDocument"] == LAMBDA_TRUST  # botocore decodes IAM's URL-encoded documents
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "works"
    assert got["Tags"] == [{"Key": "team", "Value": "a"}]

    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="IT-WORKER", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    assert error_of(raised) == ("EntityAlreadyExists", "Role with name IT-WORKER already exists.", 409)
    with pytest.raises(ClientError) as raised:
        iam.get_role(RoleName="it-nobody")
    assert error_of(raised) == ("NoSuchEntity", "The role with name it-nobody cannot be found.", 404)
    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="it-bad", AssumeRolePolicyDocument="{not json")
    assert error_of(raised) == ("MalformedPolicyDocument", "Syntax errors in policy.", 400)
    with pytest.raises(ClientError) as raised:
        iam.create_role(RoleName="it-bad", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST), MaxSessionDuration=50000)
    assert error_of(raised)[0] == "ValidationError"

    everyone = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    iam.update_assume_role_policy(RoleName="it-worker", PolicyDocument=json.dumps(everyone))
    assert iam.get_role(RoleName="it-worker")["Role"]["AssumeRolePolicyDocument"] == everyone

    iam.put_role_policy(RoleName="it-worker", PolicyName="read", PolicyDocument=json.dumps(READ_FUNCTIONS))
    assert iam.list_role_policies(RoleName="it-worker")["PolicyNames"] == ["read"]
    assert iam.get_role_policy(RoleName="it-worker", PolicyName="read")["PolicyDocument"] == READ_FUNCTIONS
    with pytest.raises(ClientError) as raised:
        iam.put_role_policy(RoleName="it-worker", PolicyName="bad", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*"}]}))
    assert error_of(raised) == ("MalformedPolicyDocument", "Missing required field Resource", 400)

    iam.attach_role_policy(RoleName="it-worker", PolicyArn=BASIC)
    attached = iam.list_attached_role_policies(RoleName="it-worker")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    with pytest.raises(ClientError) as raised:
        iam.attach_role_policy(RoleName="it-worker", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
    assert error_of(raised)[0] == "NoSuchEntity"

    with pytest.raises(ClientError) as raised:
        iam.delete_role(RoleName="it-worker")
    assert error_of(raised) == ("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
    iam.detach_role_policy(RoleName="it-worker", PolicyArn=BASIC)
    with pytest.raises(ClientError) as raised:
        iam.delete_role(RoleName="it-worker")
    assert error_of(raised) == ("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
    iam.delete_role_policy(RoleName="it-worker", PolicyName="read")
    iam.delete_role(RoleName="it-worker")
    with pytest.raises(ClientError):
        iam.get_role(RoleName="it-worker")


def test_list_roles_pages(lamina: LaminaProcess) -> None:
    iam = iam_client(lamina.endpoint)
    for n in range(5):
        iam.create_role(RoleName=f"it-page-{n}", Path="/paging/", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    first = iam.list_roles(PathPrefix="/paging/", MaxItems=2)
    assert [r["RoleName"] for r in first["Roles"]] == ["it-page-0", "it-page-1"] and first["IsTruncated"]
    names = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(
        PathPrefix="/paging/", PaginationConfig={"PageSize": 2}) for r in page["Roles"]]  # fmt: skip
    assert names == [f"it-page-{n}" for n in range(5)]


def test_managed_policies(lamina: LaminaProcess) -> None:
    iam = iam_client(lamina.endpoint)
    policy = iam.get_policy(PolicyArn=BASIC)["Policy"]
    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole" and policy["Path"] == "/service-role/"
    assert policy["DefaultVersionId"] == "v1" and policy["PolicyId"].startswith("ANPA")
    version = iam.get_policy_version(PolicyArn=BASIC, VersionId="v1")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                             "logs:PutLogEvents"]  # fmt: skip
    for name in ("AWSLambdaRole", "AWSLambda_FullAccess", "AWSLambda_ReadOnlyAccess", "AmazonSQSFullAccess",
                 "AmazonS3FullAccess", "AmazonS3ReadOnlyAccess", "AmazonEventBridgeFullAccess", "AdministratorAccess"):
        arn = "arn:aws:iam::aws:policy/" + ("service-role/" if name == "AWSLambdaRole" else "") + name
        assert iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    with pytest.raises(ClientError) as raised:
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert error_of(raised) == ("NoSuchEntity", "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or "
                                "is not attachable.", 404)  # fmt: skip


def test_users_and_access_keys(lamina: LaminaProcess) -> None:
    iam = iam_client(lamina.endpoint)
    user = iam.create_user(UserName="it-alice", Path="/people/")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCT}:user/people/it-alice" and user["UserId"].startswith("AIDA")
    assert iam.get_user(UserName="it-alice")["User"]["UserId"] == user["UserId"]
    assert "it-alice" in [u["UserName"] for u in iam.list_users(PathPrefix="/people/")["Users"]]
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCT}:root"  # the caller: the development root

    key = iam.create_access_key(UserName="it-alice")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40 and key["Status"] == "Active"
    second = iam.create_access_key(UserName="it-alice")["AccessKey"]
    with pytest.raises(ClientError) as raised:
        iam.create_access_key(UserName="it-alice")
    assert error_of(raised) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    iam.update_access_key(UserName="it-alice", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    listed = iam.list_access_keys(UserName="it-alice")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in listed} == {key["AccessKeyId"]: "Inactive",
                                                               second["AccessKeyId"]: "Active"}  # fmt: skip
    assert all("SecretAccessKey" not in k for k in listed)

    iam.put_user_policy(UserName="it-alice", PolicyName="read", PolicyDocument=json.dumps(READ_FUNCTIONS))
    assert iam.get_user_policy(UserName="it-alice", PolicyName="read")["PolicyDocument"] == READ_FUNCTIONS
    iam.attach_user_policy(UserName="it-alice", PolicyArn="arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
    assert len(iam.list_attached_user_policies(UserName="it-alice")["AttachedPolicies"]) == 1
    with pytest.raises(ClientError) as raised:
        iam.delete_user(UserName="it-alice")
    assert error_of(raised)[0] == "DeleteConflict"
    iam.detach_user_policy(UserName="it-alice", PolicyArn="arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
    iam.delete_user_policy(UserName="it-alice", PolicyName="read")
    with pytest.raises(ClientError) as raised:
        iam.delete_user(UserName="it-alice")
    assert error_of(raised) == ("DeleteConflict", "Cannot delete entity, must delete access keys first.", 409)
    for k in (key, second):
        iam.delete_access_key(UserName="it-alice", AccessKeyId=k["AccessKeyId"])
    with pytest.raises(ClientError) as raised:
        iam.delete_access_key(UserName="it-alice", AccessKeyId=key["AccessKeyId"])
    assert error_of(raised) == ("NoSuchEntity", f"The Access Key with id {key['AccessKeyId']} cannot be found.", 404)
    iam.delete_user(UserName="it-alice")
    with pytest.raises(ClientError) as raised:
        iam.get_user(UserName="it-alice")
    assert error_of(raised) == ("NoSuchEntity", "The user with name it-alice cannot be found.", 404)


def test_iam_state_survives_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    iam = iam_client(server.endpoint)
    iam.create_role(RoleName="kept", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.attach_role_policy(RoleName="kept", PolicyArn=BASIC)
    iam.create_user(UserName="kept-user")
    key = iam.create_access_key(UserName="kept-user")["AccessKey"]
    server.stop()
    again = make_server(tmp_path / "data")
    iam = iam_client(again.endpoint)
    assert iam.get_role(RoleName="kept")["Role"]["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    assert iam.list_attached_role_policies(RoleName="kept")["AttachedPolicies"][0]["PolicyArn"] == BASIC
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="kept-user")["AccessKeyMetadata"]] == [
        key["AccessKeyId"]]


def test_a_functions_missing_role_is_created_in_the_development_mode(lamina: LaminaProcess, fn_name: str) -> None:
    client = lamina.client()
    role_name = f"made-for-{fn_name}"[:64]
    deploy(client, fn_name, "def handler(event, context):\n    return 1\n")  # the suite's shared role
    client.update_function_configuration(FunctionName=fn_name, Role=f"arn:aws:iam::{ACCT}:role/service-role/{role_name}")
    iam = iam_client(lamina.endpoint)
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["Path"] == "/service-role/" and role["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]] == [BASIC]
    assert f"role {role['Arn']} did not exist: created it" in "".join(lamina.output)


def test_other_post_requests_keep_their_services(lamina: LaminaProcess) -> None:
    """SQS (json-1.0) and EventBridge (json-1.1) share POST / with IAM and STS."""
    sqs = iam_client(lamina.endpoint, "sqs")
    url = sqs.create_queue(QueueName="it-iam-neighbour")["QueueUrl"]
    assert url in sqs.list_queues()["QueueUrls"]
    events = iam_client(lamina.endpoint, "events")
    assert "default" in [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert iam_client(lamina.endpoint, "sts").get_caller_identity()["Account"] == ACCT


def test_aws_cli(lamina: LaminaProcess, tmp_path: Path) -> None:
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(LAMBDA_TRUST))
    created = aws_cli(lamina.endpoint, "iam", "create-role", "--role-name", "it-cli",
                      "--assume-role-policy-document", f"file://{trust}")  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Role"]["Arn"] == f"arn:aws:iam::{ACCT}:role/it-cli"
    attached = aws_cli(lamina.endpoint, "iam", "attach-role-policy", "--role-name", "it-cli", "--policy-arn", BASIC)
    assert attached.returncode == 0, attached.stderr
    got = aws_cli(lamina.endpoint, "iam", "get-role", "--role-name", "it-cli")
    assert json.loads(got.stdout)["Role"]["AssumeRolePolicyDocument"] == LAMBDA_TRUST
    missing = aws_cli(lamina.endpoint, "iam", "get-role", "--role-name", "it-cli-nope")
    assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr
    who = aws_cli(lamina.endpoint, "sts", "get-caller-identity")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout) == {"UserId": ACCT, "Account": ACCT, "Arn": f"arn:aws:iam::{ACCT}:root"}


def test_triggers_without_a_permission_are_said_and_served_in_the_development_mode(lamina: LaminaProcess,
                                                                                   fn_name: str) -> None:  # fmt: skip
    client = lamina.client()
    fn = deploy(client, fn_name, "def handler(event, context):\n    return {'statusCode': 200, 'body': 'served'}\n")
    apigw = iam_client(lamina.endpoint, "apigatewayv2")
    api = apigw.create_api(Name=f"perm-{fn_name}"[:128], ProtocolType="HTTP", Target=fn["FunctionArn"])
    try:
        url = f"{lamina.endpoint}/_aws/execute-api/{api['ApiId']}/anything"
        for _ in range(2):
            with urllib.request.urlopen(url, timeout=60) as answer:
                assert answer.read() == b"served"
        said = [line for line in lamina.output if "apigateway.amazonaws.com invoked" in line and fn_name in line]
        assert len(said) == 1, said  # once per source
        assert "AWS would refuse it" in said[0]
    finally:
        apigw.delete_api(ApiId=api["ApiId"])


def test_customer_managed_policies(lamina: LaminaProcess) -> None:
    iam = iam_client(lamina.endpoint)
    policy = iam.create_policy(PolicyName="it-read-functions", Path="/team/", PolicyDocument=json.dumps(READ_FUNCTIONS),
                               Description="reads functions")["Policy"]  # fmt: skip
    arn = f"arn:aws:iam::{ACCT}:policy/team/it-read-functions"
    assert policy["Arn"] == arn and policy["PolicyId"].startswith("ANPA") and policy["DefaultVersionId"] == "v1"
    with pytest.raises(ClientError) as raised:
        iam.create_policy(PolicyName="it-read-functions", PolicyDocument=json.dumps(READ_FUNCTIONS))
    assert error_of(raised) == ("EntityAlreadyExists", "A policy called it-read-functions already exists. Duplicate "
                                "names are not allowed.", 409)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        iam.create_policy(PolicyName="it-bad", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "lambda:*", "Resource": "*", "Principal": "*"}]}))  # fmt: skip
    assert error_of(raised) == ("MalformedPolicyDocument", "Policy document should not specify a principal.", 400)
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"] == READ_FUNCTIONS

    iam.create_role(RoleName="it-uses-policy", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    iam.attach_role_policy(RoleName="it-uses-policy", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    local = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert [p["Arn"] for p in local if p["PolicyName"].startswith("it-")] == [arn]
    assert BASIC in [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    with pytest.raises(ClientError) as raised:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(raised) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_role_policy(RoleName="it-uses-policy", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as raised:
        iam.get_policy(PolicyArn=arn)
    assert error_of(raised)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as raised:
        iam.attach_role_policy(RoleName="it-uses-policy", PolicyArn=arn)
    assert error_of(raised)[0] == "NoSuchEntity"
