"""An authorizer's IAM policy, evaluated against the ARN of the request it was asked about.

The ARN is ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``. A
statement applies when its Action names ``execute-api:Invoke`` (or a wildcard over it) and one of
its Resources matches the ARN, ``*`` standing for any run of characters and ``?`` for one, as IAM
reads them. An applying Deny wins over any Allow; without an applying Allow the request is denied.
Pure: a cached policy is evaluated again for every request, so a policy that allows
``.../GET/pets/*`` allows another pet without calling the authorizer again, as on AWS.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from typing import Mapping

INVOKE = "execute-api:Invoke"


class Verdict(Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny applies
    NO_ALLOW = "no_allow"  # nothing allows it


class MalformedPolicy(ValueError):
    """The document is not an IAM policy API Gateway would accept (the caller answers 500)."""


def evaluate(document: object, arn: str) -> Verdict:
    if not isinstance(document, Mapping):
        raise MalformedPolicy("policyDocument is not an object")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        raise MalformedPolicy("policyDocument has no Statement")
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            raise MalformedPolicy("a Statement is not an object")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise MalformedPolicy(f"Effect must be Allow or Deny, not {effect!r}")
        if not (_any_matches(_strings(statement.get("Action"), "Action"), INVOKE, ignore_case=True)
                and _any_matches(_strings(statement.get("Resource"), "Resource"), arn)):  # fmt: skip
            continue
        if effect == "Deny":
            return Verdict.DENY
        allowed = True
    return Verdict.ALLOW if allowed else Verdict.NO_ALLOW


def _strings(value: object, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise MalformedPolicy(f"{name} must be a string or a list of strings")


def _any_matches(patterns: list[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_compiled(p, ignore_case).fullmatch(value) for p in patterns)


@lru_cache(maxsize=1024)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
