"""GetMetricData's metric math, the common subset (pure): numbers, other queries' ids, ``+ - * /``,
parentheses, and ``SUM``, ``AVG``, ``MIN``, ``MAX`` of ``METRICS()`` (every MetricStat query's series,
or those whose label contains its argument: ``METRICS("errors")``) or of a list ``[a, b]``.

A series is ``{timestamp_ms: value}``. Arithmetic between two series keeps the timestamps both have;
between a series and a number, each value; a division by zero leaves that timestamp out. An
aggregate of several series is taken at each timestamp over the series that have it. What is not
in the subset (``FILL``, ``IF``, ``SEARCH``, Metrics Insights' ``SELECT``, ...) is refused as an
``ExpressionError`` naming what was not understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

Series = dict[int, float]
MAX_LENGTH = 2048
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\"[^\"]*\")|(.))")
AGGREGATES: Mapping[str, Callable[[Sequence[float]], float]] = {
    "SUM": sum, "AVG": lambda v: sum(v) / len(v), "MIN": min, "MAX": max,
}  # fmt: skip


class ExpressionError(ValueError):
    pass


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Metrics:
    label: str | None  # METRICS("text"): those whose label contains it


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Aggregate:
    name: str
    of: Metrics | tuple[Expr, ...]


Expr = Union[Number, Ref, Metrics, Binary, Aggregate]


def _tokens(text: str) -> list[str]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    out = []
    for found in _TOKEN.finditer(text):
        token = next((g for g in found.groups() if g is not None), None)
        if token is not None:
            out.append(token)
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ExpressionError(f"expected {expected or 'more'} at token {self.at + 1}, found {token or 'the end'}")
        self.at += 1
        return token

    def expression(self) -> Expr:
        self.depth += 1
        if self.depth > 50:
            raise ExpressionError("the expression is nested too deeply")
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            node = Binary(op, node, self.term())
        self.depth -= 1
        return node

    def term(self) -> Expr:
        node = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()
            node = Binary(op, node, self.factor())
        return node

    def factor(self) -> Expr:
        token = self.take()
        if token == "(":
            node = self.expression()
            self.take(")")
            return node
        if token == "-":
            return Binary("-", Number(0.0), self.factor())
        if token[0].isdigit():
            return Number(float(token))
        if token.upper() in AGGREGATES and self.peek() == "(":
            self.take("(")
            of: Metrics | tuple[Expr, ...]
            if self.peek() == "[":
                self.take("[")
                items = [self.expression()]
                while self.peek() == ",":
                    self.take(",")
                    items.append(self.expression())
                self.take("]")
                of = tuple(items)
            else:
                inner = self.factor()
                of = inner if isinstance(inner, Metrics) else (inner,)
            self.take(")")
            return Aggregate(token.upper(), of)
        if token.upper() == "METRICS" and self.peek() == "(":
            self.take("(")
            label = None
            if self.peek() not in (")", None) and str(self.peek()).startswith('"'):
                label = self.take()[1:-1]
            self.take(")")
            return Metrics(label)
        if re.fullmatch(r"[a-z][a-zA-Z0-9_]*", token) and self.peek() != "(":
            return Ref(token)
        raise ExpressionError(f"{token} is not supported (Lamina serves + - * /, ids, numbers, and SUM, AVG, MIN, "
                              "MAX of METRICS() or [ids])")  # fmt: skip


def parse(text: str) -> Expr:
    parser = _Parser(text)
    node = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()} at token {parser.at + 1}")
    return node


def references(node: Expr) -> set[str]:
    if isinstance(node, Ref):
        return {node.id}
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, Aggregate) and isinstance(node.of, tuple):
        return set().union(*(references(n) for n in node.of))
    return set()


Value = Union[float, Series, list[Series]]


def evaluate(node: Expr, lookup: Callable[[str], Series], metrics: Callable[[str | None], list[Series]]) -> Value:
    """``node``'s value: ``lookup`` answers another query's series, ``metrics`` METRICS()'s."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        return lookup(node.id)
    if isinstance(node, Metrics):
        return metrics(node.label)
    if isinstance(node, Aggregate):
        found = metrics(node.of.label) if isinstance(node.of, Metrics) else \
            [_series(evaluate(n, lookup, metrics)) for n in node.of]  # fmt: skip
        return _aggregate(AGGREGATES[node.name], found)
    return _arithmetic(node.op, evaluate(node.left, lookup, metrics), evaluate(node.right, lookup, metrics))


def _series(value: Value) -> Series:
    if isinstance(value, list):
        raise ExpressionError("METRICS() is a list of series: aggregate it (SUM, AVG, MIN, MAX)")
    if isinstance(value, float):
        raise ExpressionError("an aggregate takes series, not numbers")
    return value


def _aggregate(fold: Callable[[Sequence[float]], float], found: Sequence[Series]) -> Series:
    stamps = sorted({t for s in found for t in s})
    return {t: fold([s[t] for s in found if t in s]) for t in stamps}


def _apply(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b != 0 else None


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    if isinstance(left, list) or isinstance(right, list):
        raise ExpressionError("METRICS() is a list of series: aggregate it (SUM, AVG, MIN, MAX)")
    if isinstance(left, float) and isinstance(right, float):
        result = _apply(op, left, right)
        if result is None:
            raise ExpressionError("division by zero")
        return result
    out: Series = {}
    if isinstance(left, dict) and isinstance(right, dict):
        pairs = [(t, left[t], right[t]) for t in sorted(left) if t in right]
    elif isinstance(left, dict):
        pairs = [(t, v, float(right)) for t, v in sorted(left.items())]  # type: ignore[arg-type]
    else:
        assert isinstance(right, dict)
        pairs = [(t, float(left), v) for t, v in sorted(right.items())]
    for t, a, b in pairs:
        value = _apply(op, a, b)
        if value is not None:
            out[t] = value
    return out
