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
    return any(_matches(p, value, ignore_case) for p in patterns)


def _matches(pattern: str, value: str, ignore_case: bool) -> bool:
    """IAM's wildcards without backtracking: the parts between ``*`` are fixed-length, so the first
    must begin ``value``, the last end it, and each other one is found leftmost after the one
    before. Linear in ``value`` (a request's path, up to 8 KB) whatever the policy's wildcards; a
    regular expression of ``.*`` runs would backtrack for minutes on a long path that fails."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    first, *middle = pattern.split("*")
    if not middle:
        return _fixed(first).fullmatch(value) is not None
    last = middle.pop()
    end = len(value) - len(last)
    if end < len(first) or not _fixed(first).match(value) or not _fixed(last).fullmatch(value, end):
        return False
    position = len(first)
    for part in middle:
        found = _fixed(part).search(value, position, end) if part else None
        if part and found is None:
            return False
        position = found.end() if found else position
    return True


@lru_cache(maxsize=1024)
def _fixed(part: str) -> re.Pattern[str]:
    """A part of a pattern without ``*``: its characters, ``?`` standing for any one."""
    return re.compile("".join("." if c == "?" else re.escape(c) for c in part), re.DOTALL)
