"""Validate an event pattern and compile it into branches of field tests.

The pattern is read token by token (``tokens.Tokens``) in the order AWS's rule compiler reads
it, so the first problem found is the one AWS reports, in AWS's words and at AWS's position.
``$or`` at any level multiplies the branches: the result is a list of branches (any may match),
each a mapping of dotted path -> ``FieldRule`` (all must match). The same key given twice keeps
the last, as AWS documents.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lamina.events import matchers as m
from lamina.events.anything_but import TOO_MANY as _TOO_MANY
from lamina.events.anything_but import anything_but
from lamina.events.tokens import Tok, TokenError, Tokens

MAX_COMBINATIONS = 1000
_OR = "$or"
_RESERVED_IN_OR = frozenset(
    ["exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists", "wildcard", "numeric",
     "cidr", "=", "<", "<=", ">", ">=", "regex", "not-wildcard", "not-equals-ignore-case", "date-after",
     "date-on-or-after", "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
     "ip-address-not-in-range"]
)  # fmt: skip
_ONE_KEY = "Only one key allowed in match expression"


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One field's allowed values: any test accepting a leaf, or (``absent``) no leaf at all."""

    tests: tuple[m.Matcher, ...]
    absent: bool


Branch = dict[str, FieldRule]


def compile_branches(text: str) -> list[Branch]:
    """The pattern's branches; raises ``TokenError`` with AWS's reason for an invalid pattern."""
    t = Tokens(text)
    if t.next() is not Tok.START_OBJECT:
        raise t.fail("Filter is not an object")
    branches: list[Branch] = []
    _object(t, branches, (), inside_or=False)
    return branches


def _object(t: Tokens, branches: list[Branch], path: tuple[str, ...], inside_or: bool) -> None:
    present = False
    while t.next() is not Tok.END_OBJECT:
        present = True
        name = t.value
        if name == _OR:
            _or(t, branches, path)
            continue
        if inside_or and name in _RESERVED_IN_OR:
            raise t.fail(f"{name} is Ruler reserved fieldName which cannot be used inside {_OR}.")
        kind = t.next()
        if kind is Tok.START_OBJECT:
            _object(t, branches, (*path, name), inside_or)
        elif kind is Tok.START_ARRAY:
            rule = _values(t)
            if not branches:
                branches.append({})
            for branch in branches:
                branch[".".join((*path, name))] = rule
        else:
            raise t.fail(f'"{name}" must be an object or an array')
    if not present:
        raise t.fail("Empty objects are not allowed")


def _or(t: Tokens, branches: list[Branch], path: tuple[str, ...]) -> None:
    before = [dict(b) for b in branches]
    branches.clear()
    if t.next() is not Tok.START_ARRAY:
        raise t.fail(f"It must be an Array followed with {_OR}.")
    count = 0
    while (kind := t.next()) is not Tok.END_ARRAY:
        count += 1
        if kind is not Tok.START_OBJECT:
            raise t.fail(f"Only JSON object is allowed in array of {_OR} relationship.")
        alternative = [dict(b) for b in before] or [{}]
        _object(t, alternative, path, inside_or=True)
        branches.extend(alternative)
        if len(branches) > MAX_COMBINATIONS:
            raise TokenError(f"The use of {_OR} results in over {MAX_COMBINATIONS} rule combinations")
    if count < 2:
        raise t.fail(f"There must have at least 2 Objects in {_OR} relationship.")


def _values(t: Tokens) -> FieldRule:
    strings: set[str] = set()
    numbers: set[float] = set()
    literals: set[Tok] = set()
    tests: list[m.Matcher] = []
    absent = False
    while (kind := t.next()) is not Tok.END_ARRAY:
        if kind is Tok.START_OBJECT:
            test = _expression(t)
            if test is None:
                absent = True
            else:
                tests.append(test)
        elif kind is Tok.STRING:
            strings.add(t.text())
        elif kind.numeric:
            numbers.add(float(t.text()))
        elif kind in (Tok.NULL, Tok.TRUE, Tok.FALSE):
            literals.add(kind)
        else:
            raise t.fail("Match value must be String, number, true, false, or null")
    if not (strings or numbers or literals or tests or absent):
        raise t.fail("Empty arrays are not allowed")
    if strings or numbers or literals:
        exact = m.Exact(frozenset(strings), frozenset(numbers), Tok.NULL in literals, Tok.TRUE in literals,
                        Tok.FALSE in literals)  # fmt: skip
        tests.insert(0, exact)
    return FieldRule(tuple(tests), absent)


def _string(t: Tokens, what: str) -> str:
    if t.next() is not Tok.STRING:
        raise t.fail(f"{what} match pattern must be a string")
    return t.text()


def _close(t: Tokens, message: str = _ONE_KEY) -> None:
    if t.next() is not Tok.END_OBJECT:
        raise t.fail(message)


def _expression(t: Tokens) -> m.Matcher | None:
    """One ``{...}`` match expression; None stands for ``{"exists": false}``."""
    if t.next() is not Tok.FIELD_NAME:
        raise t.fail("Match expression name not found")
    op = t.value
    if op == "exactly":
        value = _string(t, "exact")
        _close(t)
        return m.Exact(frozenset([value]), frozenset())
    if op in ("prefix", "suffix"):
        if t.next() is Tok.START_OBJECT:
            return _ignoring_case(t, op)
        if t.kind is not Tok.STRING:
            raise t.fail(f"{op} match pattern must be a string")
        value = t.text()
        _close(t)
        return m.Prefix(value) if op == "prefix" else m.Suffix(value)
    if op == "equals-ignore-case":
        value = _string(t, "equals-ignore-case")
        _close(t)
        return m.EqualsIgnoreCase(value.casefold())
    if op == "wildcard":
        value = _string(t, "wildcard")
        if (problem := m.wildcard_error(value)) is not None:
            raise t.fail(problem)
        _close(t)
        return m.Wildcard(m.wildcard_parts(value))
    if op == "exists":
        kind = t.next()
        if kind not in (Tok.TRUE, Tok.FALSE):
            raise t.fail("exists match pattern must be either true or false.")
        _close(t)
        return m.Exists() if kind is Tok.TRUE else None
    if op == "cidr":
        value = _string(t, "prefix")  # sic: AWS names the wrong operator here
        network = _cidr(value)
        _close(t)
        return m.Cidr(network)
    if op == "numeric":
        if t.next() is not Tok.START_ARRAY:
            raise t.fail("Value of numeric must be an array.")
        numeric = _numeric(t)
        _close(t, _TOO_MANY)
        return numeric
    if op == "anything-but":
        return anything_but(t)
    raise t.fail(f"Unrecognized match type {op}")


def _ignoring_case(t: Tokens, op: str) -> m.Matcher:
    title = op.capitalize()
    if t.next() is not Tok.FIELD_NAME:
        raise t.fail(f"{title} expression name not found")
    if t.value != "equals-ignore-case":
        raise t.fail(f"Unsupported {op} pattern: {t.value}")
    value = _string(t, "equals-ignore-case").casefold()
    _close(t)
    _close(t)
    return m.Prefix(value, ignore_case=True) if op == "prefix" else m.Suffix(value, ignore_case=True)


def in_range(t: Tokens, text: str) -> float:
    """A number AWS compares numerically, else its complaint (raised where AWS notices it)."""
    value = float(text)
    if not -m.NUMERIC_LIMIT <= value <= m.NUMERIC_LIMIT:
        raise t.fail("Value must be between -5.0E9 and 5.0E9, inclusive")
    return value


def _numeric(t: Tokens) -> m.Numeric:
    if t.next() is not Tok.STRING:
        raise t.fail(f"Invalid member in numeric match: {t.text()}")
    op = t.text()
    if op not in ("=", "<", "<=", ">", ">="):
        raise t.fail(f"Unrecognized numeric range operator: {op}")
    if not t.next().numeric:
        raise t.fail(f"Value of {op} must be numeric")
    bottom = t.text()
    inf = float("inf")
    if op in ("=", "<", "<="):
        if t.next() is not Tok.END_ARRAY:
            raise t.fail(_TOO_MANY)
        value = in_range(t, bottom)
        if op == "=":
            return m.Numeric(value, False, value, False)
        return m.Numeric(-inf, False, value, op == "<")
    if t.next() is Tok.END_ARRAY:
        return m.Numeric(in_range(t, bottom), op == ">", inf, False)
    if t.kind is not Tok.STRING:
        raise t.fail(f"Bad value in numeric range: {t.text()}")
    top_op = t.text()
    if top_op not in ("<", "<="):
        raise t.fail(f"Bad numeric range operator: {top_op}")
    if not t.next().numeric:
        raise t.fail(f"Value of {top_op} must be numeric")
    top_text = t.text()
    if t.next() is not Tok.END_ARRAY:
        raise t.fail("Too many terms in numeric range expression")
    low, top = in_range(t, bottom), in_range(t, top_text)
    if top <= low:
        raise t.fail("Bottom must be less than top")
    return m.Numeric(low, op == ">", top, top_op == "<")


def _cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block; AWS reports these problems without a position."""
    parts = text.split("/")
    if len(parts) != 2:
        raise TokenError("Malformed CIDR, one '/' required")
    try:
        bits = int(parts[1])
    except ValueError:
        raise TokenError("Malformed CIDR, mask bits must be an integer") from None
    if bits < 0:
        raise TokenError("Malformed CIDR, mask bits must not be negative")
    try:
        address = ipaddress.ip_address(parts[0])
    except ValueError:
        raise TokenError(f"Nonstandard IP address: {parts[0]}") from None
    if address.version == 4 and bits > 31:
        raise TokenError("IPv4 mask bits must be < 32")
    if address.version == 6 and bits > 127:
        raise TokenError("IPv6 mask bits must be < 128")
    return ipaddress.ip_network(f"{address}/{bits}", strict=False)
