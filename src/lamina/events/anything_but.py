"""``anything-but``: a value, a list of strings or of numbers, or one of prefix / suffix /
equals-ignore-case / wildcard with a value or a list, validated as AWS validates it.

Some of AWS's complaints inside a list carry their position twice (its parser reports the error
again where it catches it); they are reproduced as given.
"""

from __future__ import annotations

from lamina.events import matchers as m
from lamina.events.tokens import Tok, TokenError, Tokens

TOO_MANY = "Too many elements in numeric expression"  # AWS's words after anything-but, too
_SET_OPERATORS = ("equals-ignore-case", "prefix", "suffix", "wildcard")
_VALUE_KINDS = (Tok.START_ARRAY, Tok.STRING, Tok.INT, Tok.FLOAT)


def _twice(t: Tokens, message: str) -> TokenError:
    return t.fail(str(t.fail(message)))


def anything_but(t: Tokens) -> m.Matcher:
    """Reads what follows ``"anything-but":`` up to and including the expression's ``}``."""
    kind = t.next()
    op = ""
    if kind is Tok.START_OBJECT:
        if t.next() is not Tok.FIELD_NAME:
            raise t.fail("Anything-But expression name not found")
        op = t.value
        if op not in _SET_OPERATORS:
            raise t.fail(f"Unsupported anything-but pattern: {op}")
        kind = t.next()
    if kind not in _VALUE_KINDS:
        raise t.fail("Value of anything-but must be an array or single string/number value.")
    matcher = _plain(t, kind) if not op else _of_strings(t, kind, op)
    if t.next() is not Tok.END_OBJECT:
        raise t.fail(TOO_MANY)
    if op and t.next() is not Tok.END_OBJECT:
        raise t.fail(TOO_MANY)
    return matcher


def _number(text: str) -> float:
    value = float(text)
    if not -m.NUMERIC_LIMIT <= value <= m.NUMERIC_LIMIT:
        raise ValueError("Value must be between -5.0E9 and 5.0E9, inclusive")
    return value


def _plain(t: Tokens, kind: Tok) -> m.AnythingBut:
    strings: set[str] = set()
    numbers: set[float] = set()
    if kind is Tok.STRING:
        return m.AnythingBut(frozenset([t.text()]), frozenset())
    if kind is not Tok.START_ARRAY:
        try:
            return m.AnythingBut(frozenset(), frozenset([_number(t.text())]))
        except ValueError as exc:
            raise TokenError(str(exc)) from None  # AWS gives this one without a position
    while (kind := t.next()) is not Tok.END_ARRAY:
        if kind is Tok.STRING:
            strings.add(t.text())
        elif kind.numeric:
            try:
                numbers.add(_number(t.text()))
            except ValueError as exc:
                raise t.fail(str(exc)) from None
        else:
            raise _twice(t, "Inside anything but list, start|null|boolean is not supported.")
    if bool(strings) == bool(numbers):
        raise t.fail(
            "Inside anything but list, either all values are number or string, mixed type is not supported"
        )
    return m.AnythingBut(frozenset(strings), frozenset(numbers))


def _wrong_type(op: str) -> str:
    if op == "equals-ignore-case":
        return "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    if op == "wildcard":
        return "wildcard match pattern must be a string"
    return "prefix/suffix match pattern must be a string"


def _of_strings(t: Tokens, kind: Tok, op: str) -> m.AnythingButString:
    values: list[str] = []
    if kind is Tok.START_ARRAY:
        while t.next() is not Tok.END_ARRAY:
            if t.kind is not Tok.STRING:
                raise _twice(t, _wrong_type(op))
            values.append(t.text())
            if op in ("prefix", "suffix") and not values[-1]:
                raise _twice(t, "Null prefix/suffix not allowed")
    elif kind is Tok.STRING:
        values.append(t.text())
        if op in ("prefix", "suffix") and not values[-1]:
            raise t.fail("Null prefix/suffix not allowed")
    else:
        raise t.fail(_wrong_type(op))
    tests: list[m.Matcher] = []
    for value in values:
        if op == "wildcard":
            if (problem := m.wildcard_error(value)) is not None:
                raise t.fail(problem)
            tests.append(m.Wildcard(m.wildcard_parts(value)))
        elif op == "prefix":
            tests.append(m.Prefix(value))
        elif op == "suffix":
            tests.append(m.Suffix(value))
        else:
            tests.append(m.EqualsIgnoreCase(value.casefold()))
    return m.AnythingButString(tuple(tests))
