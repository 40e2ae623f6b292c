"""A statement's conditions against a request's context keys (pure).

Operators: String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
Numeric{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals},
Date{...} (the same six), Bool, IpAddress / NotIpAddress, Arn{Equals,Like,NotEquals,NotLike}, Null;
each (but Null) with the ``IfExists`` suffix and the ``ForAnyValue:`` / ``ForAllValues:`` prefixes.

AWS's logic: a condition's values are alternatives (any one may match); the keys of one operator,
and the operators of a statement, must all hold. A key the request does not carry makes a
condition false, but true for a negated operator (StringNotEquals, ArnNotLike, ...), for
``...IfExists`` and for ``ForAllValues:``. Key names are case-insensitive; values are compared as
the operator says.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Mapping

from lamina.iam.errors import MalformedPolicyDocument

# A request's context: condition keys (lower-cased) -> their values (most keys have one).
Context = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str  # as written, e.g. "aws:SourceArn"
    values: tuple[str, ...]


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: str) -> datetime | None:
    number = _number(value)
    if number is not None:  # epoch seconds are allowed
        return datetime.fromtimestamp(number, timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@lru_cache(maxsize=4096)
def _segments(pattern: str, ignore_case: bool) -> tuple[tuple[re.Pattern[str], int], ...]:
    """``pattern``'s runs between its ``*``s, each as a regular expression of fixed length (``?``:
    any one character) and that length."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return tuple((re.compile("".join("." if ch == "?" else re.escape(ch) for ch in run), flags), len(run))
                 for run in pattern.split("*"))  # fmt: skip


def like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``pattern``: ``*`` any characters (none included), ``?`` one.

    Not one regular expression with a ``.*`` per star: a policy's ``*a*a*a...*b`` would make it
    backtrack for as long as a request's value allows (exponentially). The runs between stars have
    fixed lengths, so the first must start the value, the last end it, and each other is taken
    where it first occurs after the one before: linear in the value for each run."""
    runs = _segments(pattern, ignore_case)
    (first, first_len), (last, last_len) = runs[0], runs[-1]
    if len(runs) == 1:
        return len(value) == first_len and first.fullmatch(value) is not None
    end = len(value) - last_len
    if end < first_len or first.fullmatch(value, 0, first_len) is None or last.fullmatch(value, end) is None:
        return False
    at = first_len
    for run, _ in runs[1:-1]:
        found = run.search(value, at, end)
        if found is None:
            return False
        at = found.end()
    return True


def arn_like(pattern: str, value: str) -> bool:
    """ARN matching as IAM does it: each of the six colon-separated parts matched on its own (the
    last, the resource, keeps its colons), wildcards within a part."""
    if pattern == "*":
        return True
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    if len(wanted) != 6 or len(got) != 6:
        return False
    return all(like(w, g) for w, g in zip(wanted, got))


def _compare(parse: Callable[[str], object | None], test: Callable[[object, object], bool]) -> Callable[[str, str], bool]:
    def match(policy_value: str, request_value: str) -> bool:
        wanted, got = parse(policy_value), parse(request_value)
        return wanted is not None and got is not None and test(got, wanted)

    return match


def _ip(policy_value: str, request_value: str) -> bool:
    try:
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
    except ValueError:
        return False


def _bool(policy_value: str, request_value: str) -> bool:
    return policy_value.lower() == request_value.lower()


# Positive operators: (policy value, request value) -> match. Each has its negation below.
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, r: p == r,
    "StringEqualsIgnoreCase": lambda p, r: p.lower() == r.lower(),
    "StringLike": lambda p, r: like(p, r),
    "NumericEquals": _compare(_number, lambda a, b: a == b),
    "NumericLessThan": _compare(_number, lambda a, b: a < b),  # type: ignore[operator]
    "NumericLessThanEquals": _compare(_number, lambda a, b: a <= b),  # type: ignore[operator]
    "NumericGreaterThan": _compare(_number, lambda a, b: a > b),  # type: ignore[operator]
    "NumericGreaterThanEquals": _compare(_number, lambda a, b: a >= b),  # type: ignore[operator]
    "DateEquals": _compare(_date, lambda a, b: a == b),
    "DateLessThan": _compare(_date, lambda a, b: a < b),  # type: ignore[operator]
    "DateLessThanEquals": _compare(_date, lambda a, b: a <= b),  # type: ignore[operator]
    "DateGreaterThan": _compare(_date, lambda a, b: a > b),  # type: ignore[operator]
    "DateGreaterThanEquals": _compare(_date, lambda a, b: a >= b),  # type: ignore[operator]
    "Bool": _bool,
    "IpAddress": _ip,
    "ArnEquals": lambda p, r: p == r,
    "ArnLike": arn_like,
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


@dataclass(frozen=True)
class _Operator:
    base: str  # a key of _MATCHERS, or "Null"
    negated: bool
    if_exists: bool
    quantifier: str | None  # "ForAnyValue", "ForAllValues" or None


@lru_cache(maxsize=256)
def _operator(name: str) -> _Operator | None:
    quantifier, _, rest = name.partition(":") if ":" in name else ("", "", name)
    if quantifier and quantifier not in ("ForAnyValue", "ForAllValues"):
        return None
    if_exists = rest.endswith("IfExists") and rest != "IfExists"
    base = rest[: -len("IfExists")] if if_exists else rest
    if base == "Null":
        return None if if_exists else _Operator("Null", False, False, quantifier or None)
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    if base not in _MATCHERS:
        return None
    return _Operator(base, negated, if_exists, quantifier or None)


def check_operator(name: str) -> None:
    """``MalformedPolicyDocument`` unless IAM knows the operator."""
    if _operator(name) is None:
        raise MalformedPolicyDocument(f"Syntax errors in policy. Invalid Condition type : {name}")


def holds(condition: Condition, context: Context) -> bool:
    """Whether ``condition`` holds for a request whose context is ``context``."""
    op = _operator(condition.operator)
    if op is None:
        return False
    present = context.get(condition.key.lower())
    if op.base == "Null":  # "true": the key must be absent; "false": present
        wanted_absent = any(v.lower() == "true" for v in condition.values)
        return (not present) == wanted_absent
    if not present:
        return op.negated or op.if_exists or op.quantifier == "ForAllValues"
    match = _MATCHERS[op.base]

    def matches(request_value: str) -> bool:  # the request value meets one of the condition's values
        found = any(match(p, request_value) for p in condition.values)
        return not found if op.negated else found

    if op.quantifier == "ForAllValues":
        return all(matches(v) for v in present)
    if op.negated and op.quantifier is None:
        return all(matches(v) for v in present)  # none of the request's values is one of them
    return any(matches(v) for v in present)
