"""IAM's, STS's, CloudWatch's and CloudFormation's operations (query protocol: ``Action`` and its
members) as IAM actions and resources (pure). A role or user named without its path is ``role/<name>`` / ``user/<name>``: a
policy naming the path (``role/team/*``) does not match it. STS's AssumeRole is decided by STS itself
(the trust policy and the caller's policies together) and GetCallerIdentity needs no permission:
both are None here."""

from __future__ import annotations

from typing import Mapping

from lamina.iam.actions import cloudwatch
from lamina.iam.actions.operation import Operation, Wire

_NO_RESOURCE = {"ListRoles", "ListUsers", "ListPolicies", "GetAccountSummary"}


def operation(service: str, params: Mapping[str, str], account: str, caller_user: str | None,
              region: str = "us-east-1") -> Operation | None:  # fmt: skip
    action = params.get("Action", "")
    if service == "monitoring":
        return cloudwatch.operation(action, Wire.QUERY)
    if service == "cloudformation":
        return _cloudformation(action, params, account, region) if action else None
    if service == "sts":
        if action in ("AssumeRole", "GetCallerIdentity", ""):
            return None
        return Operation(f"sts:{action}", ("*",), Wire.QUERY)
    if service != "iam" or not action:
        return None
    base = f"arn:aws:iam::{account}"
    if action in _NO_RESOURCE:
        resource = "*"
    elif "RoleName" in params:
        resource = f"{base}:role/{params['RoleName']}"
    elif "UserName" in params or caller_user is not None and ("User" in action or "AccessKey" in action):
        resource = f"{base}:user/{params.get('UserName') or caller_user}"
    elif "PolicyArn" in params:
        resource = params["PolicyArn"]
    elif action == "CreatePolicy":
        resource = f"{base}:policy{params.get('Path') or '/'}{params.get('PolicyName', '')}"
    else:
        resource = "*"
    return Operation(f"iam:{action}", (resource,), Wire.QUERY)


def _cloudformation(action: str, params: Mapping[str, str], account: str, region: str) -> Operation:
    """A stack's operations act on ``arn:aws:cloudformation:<region>:<account>:stack/<name>/*`` (its
    id when named by it); listing and template checks on ``*``."""
    stack = params.get("StackName")
    if stack is None or action in ("ListStacks", "ValidateTemplate", "ListExports", "ListImports"):
        return Operation(f"cloudformation:{action}", ("*",), Wire.QUERY)
    resource = stack if stack.startswith("arn:") else f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/*"
    return Operation(f"cloudformation:{action}", (resource,), Wire.QUERY)
