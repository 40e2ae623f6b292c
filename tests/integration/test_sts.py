"""STS's API through boto3's ``sts`` client and the AWS CLI, against a real server."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess
from tests.integration.test_iam import ACCT, LAMBDA_TRUST, aws_cli, error_of, iam_client

ACCOUNT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip


def test_get_caller_identity_without_a_verified_caller_is_the_development_root(lamina: LaminaProcess) -> None:
    who = iam_client(lamina.endpoint, "sts").get_caller_identity()
    assert (who["Account"], who["Arn"], who["UserId"]) == (ACCT, f"arn:aws:iam::{ACCT}:root", ACCT)


def test_assume_role(lamina: LaminaProcess) -> None:
    iam, sts = iam_client(lamina.endpoint), iam_client(lamina.endpoint, "sts")
    role = iam.create_role(RoleName="sts-assumable", AssumeRolePolicyDocument=json.dumps(ACCOUNT_TRUST),
                           MaxSessionDuration=7200)["Role"]  # fmt: skip
    before = datetime.now(timezone.utc)
    answer = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="nightly-batch", DurationSeconds=5400)
    creds, user = answer["Credentials"], answer["AssumedRoleUser"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["SecretAccessKey"]) == 40
    assert len(creds["SessionToken"]) > 100
    assert before + timedelta(seconds=5395) <= creds["Expiration"] <= datetime.now(timezone.utc) + timedelta(seconds=5400)
    assert user == {"AssumedRoleId": f"{role['RoleId']}:nightly-batch",
                    "Arn": f"arn:aws:sts::{ACCT}:assumed-role/sts-assumable/nightly-batch"}  # fmt: skip

    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="too-long", DurationSeconds=7300)
    assert error_of(raised) == ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration "
                                "set for this role.", 400)  # fmt: skip
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="has space")
    assert error_of(raised)[0] == "ValidationError"

    lambda_only = iam.create_role(RoleName="sts-lambda-only", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]
    for arn in (lambda_only["Arn"], f"arn:aws:iam::{ACCT}:role/sts-nobody"):
        with pytest.raises(ClientError) as raised:
            sts.assume_role(RoleArn=arn, RoleSessionName="someone")
        assert error_of(raised) == ("AccessDenied", f"User: arn:aws:iam::{ACCT}:root is not authorized to perform: "
                                    f"sts:AssumeRole on resource: {arn}", 403)  # fmt: skip


def test_aws_cli_assume_role(lamina: LaminaProcess) -> None:
    iam_client(lamina.endpoint).create_role(RoleName="sts-cli", AssumeRolePolicyDocument=json.dumps(ACCOUNT_TRUST))
    done = aws_cli(lamina.endpoint, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCT}:role/sts-cli",
                   "--role-session-name", "cli")  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/sts-cli/cli"
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    refused = aws_cli(lamina.endpoint, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCT}:role/sts-none",
                      "--role-session-name", "cli")  # fmt: skip
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr


def test_a_trust_policy_may_require_an_external_id(lamina: LaminaProcess) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "s3cret"}}}]}  # fmt: skip
    role = iam_client(lamina.endpoint).create_role(RoleName="sts-external",
                                                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]  # fmt: skip
    sts = iam_client(lamina.endpoint, "sts")
    assert sts.assume_role(RoleArn=role["Arn"], RoleSessionName="partner", ExternalId="s3cret")["Credentials"]
    for wrong in ({"ExternalId": "guess"}, {}):
        with pytest.raises(ClientError) as raised:
            sts.assume_role(RoleArn=role["Arn"], RoleSessionName="partner", **wrong)
        assert error_of(raised)[0] == "AccessDenied"
