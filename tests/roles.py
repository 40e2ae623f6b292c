"""Execution roles for tests' functions: a role Lambda may assume, allowed what a test says."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import boto3

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip


def make_role(endpoint: str, name: str, statements: Sequence[Mapping[str, Any]], *, key: str = "test",
              secret: str = "test", region: str = "us-east-1") -> str:  # fmt: skip
    """The ARN of a new role ``name`` Lambda may assume, whose one inline policy holds ``statements``."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=region, aws_access_key_id=key,
                       aws_secret_access_key=secret)  # fmt: skip
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"])
    if statements:
        policy = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="allowed", PolicyDocument=json.dumps(policy))
    return arn
