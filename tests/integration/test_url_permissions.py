"""Who may call an AWS_IAM function URL, as AWS decides it: a verified signature is not enough,
the caller must be allowed ``lambda:InvokeFunctionUrl`` (with ``lambda:FunctionUrlAuthType``
AWS_IAM) by its identity policies or the function's resource policy; real server with root keys
in two accounts, users and keys made with boto3's iam client, requests signed with botocore."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests import signing
from tests.conftest import deploy
from tests.roles import make_role

ACCT, OTHER = "000000000000", "111111111111"
ROOT, ROOT_SECRET = "AKIAURLPERMROOT00001", "url-permission-root-secret-000000000000"
OTHER_ROOT, OTHER_SECRET = "AKIAURLPERMOTHER0001", "url-permission-other-secret-00000000000"
APP = "def handler(event, context):\n    return 'ran'\n"
FORBIDDEN = (403, {"Message": "Forbidden"})


def client(endpoint: str, service: str, key: str = ROOT, secret: str = ROOT_SECRET) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def call(url: str, key: str, secret: str, body: bytes = b'{"hello": 1}') -> tuple[int, Any]:
    """(status, answer) of a POST to ``url`` signed with ``key``: a refusal's JSON, the function's text."""
    headers = {"Content-Type": "application/json"}
    headers.update(signing.headers("POST", url, body, headers, key=key, secret=secret))
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def user(iam: Any, name: str, statements: list[dict[str, Any]]) -> tuple[str, str, str]:
    """(ARN, key, secret) of a new user whose one inline policy holds ``statements`` (none: no policy)."""
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture
def served(make_server: Any) -> tuple[Any, str, str, str]:
    """(server, the AWS_IAM URL's path-form address, the NONE URL's, the function's ARN)."""
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT}:{ROOT_SECRET}:{ACCT},{OTHER_ROOT}:{OTHER_SECRET}:{OTHER}")
    lam = client(server.endpoint, "lambda")
    role = make_role(server.endpoint, "url-perm-fn", [], key=ROOT, secret=ROOT_SECRET)
    arn = deploy(lam, "guarded", APP, role=role)["FunctionArn"]
    deploy(lam, "open", APP, role=role)
    guarded = lam.create_function_url_config(FunctionName="guarded", AuthType="AWS_IAM")["FunctionUrl"]
    opened = lam.create_function_url_config(FunctionName="open", AuthType="NONE")["FunctionUrl"]

    def path_form(url: str) -> str:
        url_id = url.split("//", 1)[1].split(".", 1)[0]
        return f"{server.endpoint}/lamina/v1/urls/{url_id}/"

    return server, path_form(guarded), path_form(opened), arn


def test_identity_policies_decide_who_may_call_an_aws_iam_url(served: tuple[Any, str, str, str]) -> None:
    server, guarded, opened, arn = served
    iam = client(server.endpoint, "iam")
    invoke_url = {"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl", "Resource": arn,
                  "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}  # fmt: skip
    _, nobody, nobody_secret = user(iam, "nobody", [])
    _, allowed, allowed_secret = user(iam, "allowed", [invoke_url])
    _, denied, denied_secret = user(iam, "denied", [
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "lambda:InvokeFunctionUrl", "Resource": "*"}])  # fmt: skip
    _, other_type, other_secret = user(iam, "only-none", [
        {**invoke_url, "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}])  # fmt: skip
    _, invoker, invoker_secret = user(iam, "invoker", [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arn}])  # fmt: skip

    assert call(guarded, ROOT, ROOT_SECRET) == (200, "ran")  # the root of the function's account
    assert call(guarded, allowed, allowed_secret) == (200, "ran")
    assert call(guarded, nobody, nobody_secret) == FORBIDDEN
    assert call(guarded, denied, denied_secret) == FORBIDDEN  # an explicit deny wins over lambda:*
    assert call(guarded, other_type, other_secret) == FORBIDDEN  # the condition key is AWS_IAM
    assert call(guarded, invoker, invoker_secret) == FORBIDDEN  # InvokeFunction is another action
    # NONE URLs ask nothing of anyone, signed or not.
    assert call(opened, nobody, nobody_secret) == (200, "ran")
    with urllib.request.urlopen(opened, timeout=60) as answer:
        assert answer.read() == b"ran"


def test_the_functions_policy_lets_callers_in(served: tuple[Any, str, str, str]) -> None:
    server, guarded, _, arn = served
    iam, lam = client(server.endpoint, "iam"), client(server.endpoint, "lambda")
    friend_arn, friend, friend_secret = user(iam, "friend", [])
    _, denied, denied_secret = user(iam, "denied", [
        {"Effect": "Deny", "Action": "lambda:InvokeFunctionUrl", "Resource": arn}])  # fmt: skip
    assert call(guarded, friend, friend_secret) == FORBIDDEN
    assert call(guarded, OTHER_ROOT, OTHER_SECRET) == FORBIDDEN  # another account's root, no policy names it

    lam.add_permission(FunctionName="guarded", StatementId="friend", Action="lambda:InvokeFunctionUrl",
                       Principal=friend_arn, FunctionUrlAuthType="AWS_IAM")  # fmt: skip
    assert call(guarded, friend, friend_secret) == (200, "ran")
    assert call(guarded, OTHER_ROOT, OTHER_SECRET) == FORBIDDEN

    lam.add_permission(FunctionName="guarded", StatementId="everyone", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="AWS_IAM")  # fmt: skip
    assert call(guarded, OTHER_ROOT, OTHER_SECRET) == (200, "ran")  # another account, let in by the function
    assert call(guarded, denied, denied_secret) == FORBIDDEN  # an identity policy's deny still wins

    # A statement for URLs whose auth type is NONE lets no one into an AWS_IAM URL.
    lam.remove_permission(FunctionName="guarded", StatementId="friend")
    lam.remove_permission(FunctionName="guarded", StatementId="everyone")
    lam.add_permission(FunctionName="guarded", StatementId="none-only", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")  # fmt: skip
    assert call(guarded, friend, friend_secret) == FORBIDDEN
    assert call(guarded, OTHER_ROOT, OTHER_SECRET) == FORBIDDEN


def test_an_alias_urls_permission_names_the_alias(served: tuple[Any, str, str, str]) -> None:
    server, _, _, arn = served
    iam, lam = client(server.endpoint, "iam"), client(server.endpoint, "lambda")
    version = lam.publish_version(FunctionName="guarded")["Version"]
    lam.create_alias(FunctionName="guarded", Name="live", FunctionVersion=version)
    url = lam.create_function_url_config(FunctionName="guarded", Qualifier="live", AuthType="AWS_IAM")["FunctionUrl"]
    live = f"{server.endpoint}/lamina/v1/urls/{url.split('//', 1)[1].split('.', 1)[0]}/"
    action = "lambda:InvokeFunctionUrl"
    _, unqualified, unqualified_secret = user(iam, "unqualified", [
        {"Effect": "Allow", "Action": action, "Resource": arn}])  # fmt: skip
    _, aliased, aliased_secret = user(iam, "aliased", [
        {"Effect": "Allow", "Action": action, "Resource": f"{arn}:live"}])  # fmt: skip
    friend_arn, friend, friend_secret = user(iam, "friend", [])
    assert call(live, aliased, aliased_secret) == (200, "ran")
    assert call(live, unqualified, unqualified_secret) == FORBIDDEN  # the function's ARN is not its alias's
    assert call(live, friend, friend_secret) == FORBIDDEN
    lam.add_permission(FunctionName="guarded", Qualifier="live", StatementId="friend", Action=action,
                       Principal=friend_arn, FunctionUrlAuthType="AWS_IAM")  # fmt: skip
    assert call(live, friend, friend_secret) == (200, "ran")  # the alias's own policy
