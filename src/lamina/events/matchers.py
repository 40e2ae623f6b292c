"""The value tests of the pattern language, each compiled once and applied to one leaf value.

A leaf is what an event holds at the end of a path: a string, a number, ``true``/``false`` or
``null`` (objects are not leaves; an array's elements are leaves of the array's path). Every
matcher's ``test(value)`` is pure and answers for one leaf. Strings and numbers never equal each
other (``"3"`` is not ``3``), booleans are not numbers, and numbers compare as numbers (``3`` is
``3.0e0``) within the range AWS compares numerically, -5e9 to 5e9.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Protocol

NUMERIC_LIMIT = 5e9


class Matcher(Protocol):
    def test(self, value: object) -> bool: ...


def as_number(value: object) -> float | None:
    """A leaf as a number AWS compares numerically, or None (strings, booleans, out of range)."""
    if type(value) is int or type(value) is float:
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if -NUMERIC_LIMIT <= number <= NUMERIC_LIMIT else None
    return None


def _number_key(value: object) -> float | None:
    """A number as the key exact matching compares (any size), or None for a non-number."""
    if type(value) is int or type(value) is float:
        try:
            return float(value)
        except OverflowError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Exact:
    """Any of a field's plain values: strings, numbers, true, false, null."""

    strings: frozenset[str]
    numbers: frozenset[float]
    null: bool = False
    true: bool = False
    false: bool = False

    def test(self, value: object) -> bool:
        if type(value) is str:
            return value in self.strings
        if value is None:
            return self.null
        if value is True:
            return self.true
        if value is False:
            return self.false
        return _number_key(value) in self.numbers


@dataclass(frozen=True, slots=True)
class Exists:
    """``{"exists": true}``: any leaf at all (``null`` included). ``false`` is decided per field."""

    def test(self, value: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class Prefix:
    prefix: str
    ignore_case: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.casefold() if self.ignore_case else value).startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class Suffix:
    suffix: str
    ignore_case: bool = False

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        return (value.casefold() if self.ignore_case else value).endswith(self.suffix)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    folded: str

    def test(self, value: object) -> bool:
        return type(value) is str and value.casefold() == self.folded


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``*`` standing for any run of characters: the literal parts between the stars, matched
    without backtracking (``glob_matches``)."""

    parts: tuple[str, ...]

    def test(self, value: object) -> bool:
        return type(value) is str and glob_matches(self.parts, value)


@dataclass(frozen=True, slots=True)
class Numeric:
    """A range with one or two bounds, or ``=`` (a closed range of one point)."""

    low: float
    low_open: bool
    high: float
    high_open: bool

    def test(self, value: object) -> bool:
        n = as_number(value)
        if n is None:
            return False
        if n < self.low or (self.low_open and n == self.low):
            return False
        return not (n > self.high or (self.high_open and n == self.high))


@dataclass(frozen=True, slots=True)
class Cidr:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Any leaf but these strings or numbers (``null``, booleans and other types pass)."""

    strings: frozenset[str]
    numbers: frozenset[float]

    def test(self, value: object) -> bool:
        if type(value) is str:
            return value not in self.strings
        n = as_number(value) if self.numbers else None
        return n is None or n not in self.numbers


@dataclass(frozen=True, slots=True)
class AnythingButString:
    """anything-but prefix / suffix / equals-ignore-case / wildcard: a leaf none of ``tests`` accepts."""

    tests: tuple[Matcher, ...]

    def test(self, value: object) -> bool:
        if type(value) is not str:
            return True
        return not any(t.test(value) for t in self.tests)


def wildcard_parts(pattern: str) -> tuple[str, ...]:
    """A validated wildcard's literal parts, split at each ``*`` (``\\*`` and ``\\\\`` are literals)."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            parts.append("".join(current))
            current = []
        elif c == "\\":
            i += 1
            current.append(pattern[i])
        else:
            current.append(c)
        i += 1
    parts.append("".join(current))
    return tuple(parts)


def glob_matches(parts: tuple[str, ...], value: str) -> bool:
    """Whether ``value`` is ``parts`` joined by runs of any characters. The first part must begin
    it, the last end it, and each other is found leftmost after the one before: linear in
    ``value`` whatever the stars (a regular expression of ``.*`` runs backtracks for minutes on a
    long value that fails, and events come from anyone who may put them)."""
    if len(parts) == 1:
        return value == parts[0]
    first, last = parts[0], parts[-1]
    end = len(value) - len(last)
    if end < len(first) or not value.startswith(first) or not value.endswith(last):
        return False
    position = len(first)
    for part in parts[1:-1]:
        found = value.find(part, position, end)
        if found < 0:
            return False
        position = found + len(part)
    return True


def wildcard_error(pattern: str) -> str | None:
    """AWS's complaint about a wildcard value, or None. Positions count UTF-8 bytes of ``"value"``."""
    data = ('"' + pattern + '"').encode()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x2A and i + 1 < len(data) and data[i + 1] == 0x2A:
            return f"Consecutive wildcard characters at pos {i}"
        if byte == 0x5C:
            if i + 1 < len(data) and data[i + 1] in (0x2A, 0x5C):
                i += 2
                continue
            return f"Invalid escape character at pos {i}"
        i += 1
    return None
