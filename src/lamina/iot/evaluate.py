"""A parsed rule (``sql.Query``) applied to one MQTT message, pure: does it fire, and with what.

Values are JSON values or ``UNDEFINED``, as in AWS IoT's SQL: an attribute the payload lacks, a
comparison of values of different types, arithmetic on what is not a number are Undefined. A WHERE
clause fires only when it is ``true``; a SELECT item that is Undefined is left out of the result.

A payload that is not JSON is binary to AWS IoT: ``*`` then is its raw bytes, and its attributes
are Undefined. A Lambda action cannot take binary data (AWS's "Working with binary payloads"), so
a rule whose result would be it (``SELECT *`` alone) sends nothing (``Outcome.binary``); with
``encode(*, 'base64') AS data`` the function receives the bytes base64-encoded.
"""

from __future__ import annotations

import base64
import enum
import uuid
from dataclasses import dataclass
from typing import Callable

from lamina.iot.sql import Binary, Call, Expr, Literal, Path, Query, Star, Unary


class _Undefined(enum.Enum):
    UNDEFINED = "undefined"


UNDEFINED = _Undefined.UNDEFINED
NOT_JSON = object()  # the payload of a message that is not JSON


@dataclass(frozen=True)
class Message:
    """One MQTT message as a rule sees it: its payload already parsed (``NOT_JSON`` if not JSON)."""

    topic: str
    payload: bytes
    parsed: object
    now_ms: int  # for timestamp(): when the message was received, in epoch milliseconds
    client_id: str | None = None  # the publisher's, where the broker tells (MQTT 3.1.1 does not)


@dataclass(frozen=True)
class Outcome:
    """What a rule does with a message: nothing (``fires`` false), or invoke with ``result``;
    ``binary``: it fired, but its result is the raw bytes of a non-JSON payload."""

    fires: bool
    result: object = None
    binary: bool = False


SKIP = Outcome(False)


def run(query: Query, message: Message) -> Outcome:
    """Whether ``query`` selects ``message``, and the JSON value its action is given."""
    if query.where is not None and _eval(query.where, message) is not True:
        return SKIP
    if len(query.select) == 1 and isinstance(query.select[0].expr, Star):
        if message.parsed is NOT_JSON:
            return Outcome(True, binary=True)
        return Outcome(True, message.parsed)
    result: dict[str, object] = {}
    for item in query.select:
        if isinstance(item.expr, Star):
            if isinstance(message.parsed, dict):
                result.update(message.parsed)
            continue
        value = _eval(item.expr, message)
        if value is not UNDEFINED and item.name is not None:
            result[item.name] = value
    return Outcome(True, result)


def _eval(expr: Expr, m: Message) -> object:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return _lookup(m.parsed, expr.parts)
    if isinstance(expr, Star):
        return UNDEFINED if m.parsed is NOT_JSON else m.parsed
    if isinstance(expr, Call):
        return _call(expr, m)
    if isinstance(expr, Unary):
        value = _eval(expr.operand, m)
        if expr.op == "not":
            return (not value) if isinstance(value, bool) else UNDEFINED
        return -value if _is_number(value) else UNDEFINED  # type: ignore[operator]
    return _binary(expr, m)


def _lookup(value: object, parts: tuple[str | int, ...]) -> object:
    for part in parts:
        if isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        else:
            return UNDEFINED
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _binary(expr: Binary, m: Message) -> object:
    left, right = _eval(expr.left, m), _eval(expr.right, m)
    op = expr.op
    if op in ("and", "or"):
        if not isinstance(left, bool) or not isinstance(right, bool):
            return UNDEFINED
        return (left and right) if op == "and" else (left or right)
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    if op in ("=", "<>"):
        same = _comparable(left, right)
        if same is None:
            return UNDEFINED
        equal = left == right
        return equal if op == "=" else not equal
    if op in ("<", "<=", ">", ">="):
        if not (_is_number(left) and _is_number(right)) and not (isinstance(left, str) and isinstance(right, str)):
            return UNDEFINED
        return _ORDER[op](left, right)
    if not (_is_number(left) and _is_number(right)):
        return UNDEFINED
    a, b = left, right
    assert isinstance(a, (int, float)) and isinstance(b, (int, float))
    if op in ("/", "%") and b == 0:
        return UNDEFINED
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a % b


def _comparable(left: object, right: object) -> bool | None:
    """True when the two are of one JSON type (numbers are one), None otherwise."""
    if _is_number(left) and _is_number(right):
        return True
    for kind in (str, bool, list, dict, type(None)):
        if isinstance(left, kind) and isinstance(right, kind):
            return True
    return None


_ORDER: dict[str, Callable[[object, object], bool]] = {
    "<": lambda a, b: a < b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}


def _call(call: Call, m: Message) -> object:
    name, args = call.name, call.args
    if name == "topic":
        if not args:
            return m.topic
        n = _eval(args[0], m)
        levels = m.topic.split("/")
        if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= len(levels):
            return levels[n - 1]
        return UNDEFINED
    if name == "timestamp":
        return m.now_ms
    if name == "clientid":
        return UNDEFINED if m.client_id is None else m.client_id
    if name == "principal":
        return UNDEFINED
    if name == "newuuid":
        return str(uuid.uuid4())
    if name == "encode":
        return _encode(args[0], _eval(args[1], m), m)
    values = [_eval(a, m) for a in args]
    if name in ("lower", "upper"):
        if not isinstance(values[0], str):
            return UNDEFINED
        return values[0].lower() if name == "lower" else values[0].upper()
    if name == "abs":
        return abs(values[0]) if _is_number(values[0]) else UNDEFINED  # type: ignore[arg-type]
    if name == "concat":
        if any(not isinstance(v, str) for v in values):
            return UNDEFINED
        return "".join(v for v in values if isinstance(v, str))
    return UNDEFINED


def _encode(arg: Expr, scheme: object, m: Message) -> object:
    if scheme != "base64":
        return UNDEFINED
    if isinstance(arg, Star):
        return base64.b64encode(m.payload).decode("ascii")
    value = _eval(arg, m)
    if not isinstance(value, str):
        return UNDEFINED
    return base64.b64encode(value.encode("utf-8", "surrogatepass")).decode("ascii")
