"""Policy documents, parsed and validated as IAM validates them (pure).

A document is ``{"Version": ..., "Id": ..., "Statement": <statement or list>}``; a statement has
``Sid``, ``Effect`` (Allow | Deny), one of ``Action`` / ``NotAction``, one of ``Resource`` /
``NotResource`` (identity and resource policies; trust policies have none), one of ``Principal`` /
``NotPrincipal`` (resource and trust policies only) and ``Condition``
(``{operator: {key: value or list}}``). Each element may be a string or a list of strings. What IAM
refuses is ``MalformedPolicyDocument`` with IAM's message.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Mapping

from lamina.iam.conditions import Condition, check_operator
from lamina.iam.errors import MalformedPolicyDocument

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_IDENTITY_POLICY_BYTES = 10240  # an inline policy's (roles: 10,240; users: 2,048 per AWS, kept generous)
MAX_TRUST_POLICY_BYTES = 2048
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal",
                   "NotPrincipal", "Condition"}  # fmt: skip
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


class PolicyKind(enum.Enum):
    IDENTITY = "identity"  # a user's or role's: no Principal; Resource required
    RESOURCE = "resource"  # a function's, a queue's...: Principal and Resource required
    TRUST = "trust"  # a role's AssumeRolePolicyDocument: Principal required, no Resource


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Principals:
    """A statement's ``Principal`` (or ``NotPrincipal``): everyone (``"*"``), or values by type."""

    anyone: bool = False
    aws: tuple[str, ...] = ()  # ARNs, account ids, "*"
    service: tuple[str, ...] = ()  # lambda.amazonaws.com, ...
    federated: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...]
    not_action: bool = False
    resources: tuple[str, ...] = ("*",)
    not_resource: bool = False
    principals: Principals | None = None  # None: the statement names no principal (identity policies)
    not_principal: bool = False
    conditions: tuple[Condition, ...] = ()
    sid: str | None = None


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = "2012-10-17"
    id: str | None = None
    text: str = field(default="", compare=False)  # the document as given (IAM returns it verbatim)


def parse(document: str | Mapping[str, object], kind: PolicyKind = PolicyKind.IDENTITY) -> Policy:
    """``document`` (JSON text, or already decoded) as a ``Policy``; ``MalformedPolicyDocument``
    with IAM's message if IAM would refuse it."""
    if isinstance(document, str):
        text = document
        try:
            decoded = json.loads(document)
        except (ValueError, RecursionError):
            raise MalformedPolicyDocument("Syntax errors in policy.") from None
    else:
        decoded, text = document, json.dumps(document)
    if not isinstance(decoded, dict):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    for key in decoded:
        if key not in ("Version", "Id", "Statement"):
            raise MalformedPolicyDocument(f"Syntax errors in policy. Unknown field {key}")
    version = decoded.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise MalformedPolicyDocument("The policy failed legacy parsing")
    policy_id = decoded.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    raw = decoded.get("Statement")
    if raw is None:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicyDocument("Syntax errors in policy.")
    statements = tuple(_statement(item, kind) for item in items)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyDocument("Statement IDs (SID) in a single policy must be unique.")
    return Policy(statements, str(version), policy_id, text)


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MalformedPolicyDocument(f"Syntax errors in policy. {what} must be a string or a list of strings.")


def _one_of(item: Mapping[str, object], positive: str, negative: str) -> tuple[object, bool] | None:
    if positive in item and negative in item:
        raise MalformedPolicyDocument(f"Syntax errors in policy. A statement may not have both {positive} and "
                                      f"{negative}.")  # fmt: skip
    if positive in item:
        return item[positive], False
    if negative in item:
        return item[negative], True
    return None


def _statement(item: object, kind: PolicyKind) -> Statement:
    if not isinstance(item, dict):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    for key in item:
        if key not in _STATEMENT_KEYS:
            raise MalformedPolicyDocument(f"Syntax errors in policy. Unknown field {key}")
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyDocument("Syntax errors in policy." if effect is not None
                                      else "Missing required field Effect")  # fmt: skip
    found = _one_of(item, "Action", "NotAction")
    if found is None:
        raise MalformedPolicyDocument("Policy statement must contain actions.")
    actions = _strings(found[0], "Action")
    for action in actions:
        if action != "*" and (":" not in action or not action.partition(":")[0]):
            raise MalformedPolicyDocument("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    resource = _one_of(item, "Resource", "NotResource")
    if kind is PolicyKind.TRUST and resource is not None:
        raise MalformedPolicyDocument("Has prohibited field Resource")
    if kind is not PolicyKind.TRUST and resource is None:
        raise MalformedPolicyDocument("Missing required field Resource")
    resources = _strings(resource[0], "Resource") if resource is not None else ("*",)
    for arn in resources:
        if arn != "*" and not arn.startswith("arn:"):
            raise MalformedPolicyDocument(f"Resource {arn} must be in ARN format or \"*\".")
    principal = _one_of(item, "Principal", "NotPrincipal")
    if kind is PolicyKind.IDENTITY and principal is not None:
        raise MalformedPolicyDocument("Policy document should not specify a principal.")
    if kind is not PolicyKind.IDENTITY and principal is None:
        raise MalformedPolicyDocument("Missing required field Principal")
    principals = _principals(principal[0]) if principal is not None else None
    return Statement(
        effect=Effect(effect), actions=actions, not_action=found[1], resources=resources,
        not_resource=resource[1] if resource is not None else False, principals=principals,
        not_principal=principal[1] if principal is not None else False,
        conditions=_conditions(item.get("Condition")), sid=sid or None,
    )  # fmt: skip


def _principals(value: object) -> Principals:
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, dict) or not value:
        raise MalformedPolicyDocument("Invalid principal in policy")
    found: dict[str, tuple[str, ...]] = {}
    for key, values in value.items():
        if key not in _PRINCIPAL_TYPES:
            raise MalformedPolicyDocument(f"Invalid principal in policy: \"{key}\"")
        found[key] = _strings(values, "Principal")
    for arn in found.get("AWS", ()):
        if not (arn == "*" or (arn.isdigit() and len(arn) == 12) or arn.startswith(("arn:aws:iam::", "arn:aws:sts::"))):
            raise MalformedPolicyDocument(f"Invalid principal in policy: \"AWS\":\"{arn}\"")
    return Principals(aws=found.get("AWS", ()), service=found.get("Service", ()), federated=found.get("Federated", ()))


def _conditions(value: object) -> tuple[Condition, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise MalformedPolicyDocument("Syntax errors in policy.")
    conditions: list[Condition] = []
    for operator, block in value.items():
        check_operator(operator)
        if not isinstance(block, dict) or not block:
            raise MalformedPolicyDocument("Syntax errors in policy.")
        for key, values in block.items():
            if ":" not in key:
                raise MalformedPolicyDocument("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
            raw = values if isinstance(values, list) else [values]
            if not all(isinstance(v, (str, bool, int, float)) for v in raw):
                raise MalformedPolicyDocument("Syntax errors in policy.")
            conditions.append(Condition(operator, key, tuple(_text(v) for v in raw)))
    return tuple(conditions)


def _text(value: str | bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
