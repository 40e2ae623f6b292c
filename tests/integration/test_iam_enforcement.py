"""IAM enforced end to end: a server with root keys (not the development mode), real signatures
from boto3, users' and roles' policies deciding what each caller may do."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, make_zip, server_env
from tests.roles import TRUST, make_role

ACCT = "000000000000"
ROOT_KEY, ROOT_SECRET = "AKIAROOTKEYEXAMPLE01", "root-secret-for-the-enforcement-tests-00"
FN = f"arn:aws:lambda:us-east-1:{ACCT}:function"
ACCOUNT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
MATRIX = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": f"{FN}:open"},
    {"Effect": "Allow", "Action": "lambda:Get*", "Resource": f"{FN}:team-*"},
    {"Effect": "Deny", "Action": "lambda:*", "Resource": f"{FN}:team-secret"},
    {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*",
     "Condition": {"StringLike": {"lambda:FunctionArn": "*:function:team-*"}}},
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCT}:role/reader"},
]}  # fmt: skip


def client(server: LaminaProcess, service: str, key: str = ROOT_KEY, secret: str = ROOT_SECRET,
           token: str | None = None) -> Any:  # fmt: skip
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"max_attempts": 0}))  # fmt: skip


def refused(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = LaminaProcess(tmp_path_factory.mktemp("iam-enforced"),
                            server_env(LAMINA_ACCESS_KEYS=f"{ROOT_KEY}:{ROOT_SECRET}:{ACCT}")).start()  # fmt: skip
    root_lambda = client(process, "lambda")
    role = make_role(process.endpoint, "fn-role", [], key=ROOT_KEY, secret=ROOT_SECRET)
    for name in ("open", "team-a", "team-secret", "closed"):
        root_lambda.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                                    Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 'ran'\n"})})  # fmt: skip
    for name in ("open", "team-a", "team-secret", "closed"):
        root_lambda.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    yield process
    process.stop()


@pytest.fixture(scope="module")
def alice(server: LaminaProcess) -> tuple[str, str]:
    iam = client(server, "iam")
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="matrix", PolicyDocument=json.dumps(MATRIX))
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_a_function_needs_a_role_that_trusts_lambda(server: LaminaProcess) -> None:
    code, message = refused(client(server, "lambda").create_function, FunctionName="roleless", Runtime="python3.11",
                            Role=f"arn:aws:iam::{ACCT}:role/nobody", Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})})  # fmt: skip
    assert (code, message) == ("InvalidParameterValueException",
                               "The role defined for the function cannot be assumed by Lambda.")  # fmt: skip


def test_a_policy_matrix(server: LaminaProcess, alice: tuple[str, str]) -> None:
    lam = client(server, "lambda", *alice)
    assert lam.get_function(FunctionName="open")["Configuration"]["FunctionName"] == "open"
    assert lam.get_function_configuration(FunctionName="team-a")["FunctionName"] == "team-a"  # wildcard
    user = f"arn:aws:iam::{ACCT}:user/alice"
    assert refused(lam.get_function, FunctionName="team-secret") == ("AccessDeniedException", (
        f"User: {user} is not authorized to perform: lambda:GetFunction on resource: {FN}:team-secret with an "
        "explicit deny in an identity-based policy"))  # fmt: skip
    assert refused(lam.get_function, FunctionName="closed") == ("AccessDeniedException", (
        f"User: {user} is not authorized to perform: lambda:GetFunction on resource: {FN}:closed because no "
        "identity-based policy allows the lambda:GetFunction action"))  # fmt: skip
    assert refused(lam.delete_function, FunctionName="open")[0] == "AccessDeniedException"
    assert lam.invoke(FunctionName="team-a")["Payload"].read() == b'"ran"'  # the condition holds
    assert refused(lam.invoke, FunctionName="open")[0] == "AccessDeniedException"  # it does not
    assert refused(lam.invoke, FunctionName="team-secret")[0] == "AccessDeniedException"  # denied outright
    sqs = client(server, "sqs", *alice)
    code, message = refused(sqs.list_queues)
    assert code == "AccessDenied" and "sqs:ListQueues" in message
    iam = client(server, "iam", *alice)
    assert refused(iam.create_role, RoleName="mine", AssumeRolePolicyDocument=json.dumps(TRUST))[0] == \
        "AccessDenied"  # fmt: skip
    who = client(server, "sts", *alice).get_caller_identity()
    assert who["Arn"] == user and who["UserId"].startswith("AIDA")


def test_assumed_roles_keys_carry_the_roles_policies(server: LaminaProcess, alice: tuple[str, str]) -> None:
    iam = client(server, "iam")
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(ACCOUNT_TRUST))
    iam.attach_role_policy(RoleName="reader", PolicyArn="arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
    creds = client(server, "sts", *alice).assume_role(RoleArn=f"arn:aws:iam::{ACCT}:role/reader",
                                                      RoleSessionName="audit")["Credentials"]  # fmt: skip
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    lam = client(server, "lambda", *session)
    assert {"open", "closed"} <= {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert refused(lam.delete_function, FunctionName="closed")[0] == "AccessDeniedException"
    who = client(server, "sts", *session).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/reader/audit"
    # The root may not assume roles outside the development mode, as on AWS.
    assert refused(client(server, "sts").assume_role, RoleArn=f"arn:aws:iam::{ACCT}:role/reader",
                   RoleSessionName="root") == ("AccessDenied", "Roles may not be assumed by root accounts.")  # fmt: skip
    # A deleted key is refused at once.
    iam.create_user(UserName="bob")
    bob = iam.create_access_key(UserName="bob")["AccessKey"]
    assert client(server, "sts", bob["AccessKeyId"], bob["SecretAccessKey"]).get_caller_identity()["Arn"].endswith(
        ":user/bob")
    iam.delete_access_key(UserName="bob", AccessKeyId=bob["AccessKeyId"])
    assert refused(client(server, "sts", bob["AccessKeyId"], bob["SecretAccessKey"]).get_caller_identity)[0] in (
        "InvalidClientTokenId", "UnrecognizedClientException")


def test_triggers_need_the_functions_permission(server: LaminaProcess) -> None:
    apigw = client(server, "apigatewayv2")
    lam = client(server, "lambda")
    api = apigw.create_api(Name="perm", ProtocolType="HTTP", Target=f"{FN}:open")
    url = f"{server.endpoint}/_aws/execute-api/{api['ApiId']}/x"
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(url, timeout=60)
    refusal.value.close()
    assert refusal.value.code == 500  # API Gateway's answer when Lambda refuses it
    lam.add_permission(FunctionName="open", StatementId="apigw", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:us-east-1:{ACCT}:{api['ApiId']}/*")  # fmt: skip
    with urllib.request.urlopen(url, timeout=60) as answer:
        assert answer.read() == b"ran"
