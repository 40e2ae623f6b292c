"""EventBridge's event pattern language: a pattern compiled once, matched against events.

``compile_pattern(text)`` parses and validates a pattern (a JSON object), raising
``InvalidEventPattern`` with AWS's message (its reason and, where AWS gives one, its position)
for one that is not valid; ``Pattern.matches(event)`` is pure and answers whether an event (a
JSON object: the envelope with ``detail``) matches.

How matching works, as AWS defines it (../shared/aws/docs/eventbridge/):

- A pattern names paths (nested objects, or keys joined with dots: ``"a.b"`` is ``a`` then ``b``);
  an event matches when every path's test accepts the event's value there. ``$or`` at any level
  makes alternatives (``compiler.py``); any alternative matching is enough.
- An event's values at a path are its *leaves*: strings, numbers, booleans, ``null``. Objects are
  not leaves (``exists`` does not see them); an array's elements are leaves of the array's path,
  and an array of objects is descended into, element by element. A field matches when any leaf
  passes any of its tests, or, with ``{"exists": false}``, when there is no leaf.
- Fields read from elements of the same array must come from the same element: a pattern
  ``{"a": {"b": [1], "c": [2]}}`` does not match ``{"a": [{"b": 1}, {"c": 2}]}``.

Not modelled: AWS's refusal of wildcard patterns it finds too complex ("Rule is too complex -
try using fewer wildcard characters ..."), whose threshold AWS does not publish; numbers compare
as floating point rather than at AWS's six decimal places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lamina.errors import ApiError
from lamina.events.compiler import Branch, compile_branches
from lamina.events.matchers import Exact, Matcher
from lamina.events.tokens import TokenError

Membership = tuple[tuple[int, int], ...]  # (id of an array of objects, index) for each one passed through
Leaf = tuple[object, Membership]


_TOO_DEEP = "Document nesting depth exceeds the maximum allowed (1000)"


class InvalidEventPattern(ApiError):
    code = "InvalidEventPatternException"
    status = 400


@dataclass(frozen=True, slots=True)
class _Field:
    path: tuple[str, ...]
    alternatives: tuple[tuple[tuple[str, int], ...], ...]  # per depth: dotted keys spanning several steps
    tests: tuple[Matcher, ...]
    absent: bool
    steps: tuple[tuple[str, tuple[str, ...]], ...]  # per depth: the key, and those dotted keys alone


def _field(path: str, tests: tuple[Matcher, ...], absent: bool) -> _Field:
    steps = tuple(path.split("."))
    alternatives = tuple(
        tuple((".".join(steps[i:j]), j) for j in range(i + 2, len(steps) + 1)) for i in range(len(steps))
    )
    plain = tuple((step, tuple(key for key, _ in alts)) for step, alts in zip(steps, alternatives))
    return _Field(steps, alternatives, tests, absent, plain)


def _emit(node: object, member: Membership, out: list[Leaf]) -> None:
    """The leaves of the value at a path's end: itself, or the scalars of (nested) arrays."""
    if type(node) is not list:
        if not isinstance(node, Mapping):
            out.append((node, member))
        return
    pending = [iter(node)]  # iteratively: an event's arrays may nest deeper than Python recurses
    while pending:
        for item in pending[-1]:
            if type(item) is list:
                pending.append(iter(item))
                break
            if not isinstance(item, Mapping):
                out.append((item, member))
        else:
            pending.pop()


def _collect(node: object, field: _Field, i: int, member: Membership, out: list[Leaf]) -> None:
    path = field.path
    while i < len(path):
        if type(node) is list:
            ident = id(node)
            for index, item in enumerate(node):
                if type(item) is list or isinstance(item, Mapping):
                    _collect(item, field, i, (*member, (ident, index)), out)
            return
        if not isinstance(node, Mapping):
            return
        for key, j in field.alternatives[i]:  # an event key that itself contains dots
            if key in node:
                _collect(node[key], field, j, member, out)
        if path[i] not in node:
            return
        node = node[path[i]]
        i += 1
    _emit(node, member, out)


_HERE: list[Membership] = [()]  # satisfied by a leaf outside any array of objects (or by absence)
_MISSING = object()
_SCALARS = frozenset([str, int, float, bool, type(None)])


def _passing(field: _Field, event: Mapping[str, object]) -> list[Membership] | None:
    """Where the field is satisfied: the memberships of its passing leaves; None if nowhere.

    The common case (plain objects all the way to one scalar) is walked inline; anything else
    (arrays, dotted event keys, other mappings) takes the general walk, ``_collect``.
    """
    node: object = event
    for key, dotted_keys in field.steps:
        if type(node) is not dict:
            return _passing_leaves(field, event)
        for dotted in dotted_keys:
            if dotted in node:
                return _passing_leaves(field, event)
        node = node.get(key, _MISSING)
        if node is _MISSING:
            return _HERE if field.absent else None
    if type(node) not in _SCALARS:
        return _passing_leaves(field, event)
    for test in field.tests:
        if test.test(node):
            return _HERE
    return None


def _passing_leaves(field: _Field, event: Mapping[str, object]) -> list[Membership] | None:
    leaves: list[Leaf] = []
    try:
        _collect(event, field, 0, (), leaves)
    except RecursionError:  # arrays nested deeper than AWS parses events (1,000 levels): no match
        return None
    if not leaves:
        return _HERE if field.absent else None
    found: list[Membership] = []
    for value, member in leaves:
        for test in field.tests:
            if test.test(value):
                if not member:
                    return _HERE
                found.append(member)
                break
    return found or None


def _compatible(a: Membership, b: Membership) -> bool:
    seen = dict(a)
    return all(seen.get(array, index) == index for array, index in b)


def _consistent(choices: list[list[Membership]], taken: Membership = ()) -> bool:
    """Whether one passing leaf per field can be picked, all from the same array elements."""
    if not choices:
        return True
    first, rest = choices[0], choices[1:]
    return any(_compatible(taken, m) and _consistent(rest, (*taken, *m)) for m in first)


@dataclass(frozen=True, slots=True)
class _Branch:
    fields: tuple[_Field, ...]

    def matches(self, event: Mapping[str, object]) -> bool:
        choices: list[list[Membership]] | None = None
        for field in self.fields:
            found = _passing(field, event)
            if found is None:
                return False
            if found[0]:  # leaves inside arrays of objects: check them together at the end
                choices = [found] if choices is None else [*choices, found]
        return choices is None or len(choices) == 1 or _consistent(choices)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern: alternatives (from ``$or``), each a conjunction of field tests."""

    branches: tuple[_Branch, ...]

    def matches(self, event: Mapping[str, object]) -> bool:
        if len(self.branches) == 1:
            return self.branches[0].matches(event)
        for branch in self.branches:
            if branch.matches(event):
                return True
        return False


def _branch(branch: Branch) -> _Branch:
    fields = [_field(path, rule.tests, rule.absent) for path, rule in branch.items()]
    # Cheapest and most selective first: plain values on shallow paths (source, detail-type).
    fields.sort(key=lambda f: (not all(isinstance(t, Exact) for t in f.tests), len(f.path)))
    return _Branch(tuple(fields))


def compile_pattern(text: str) -> Pattern:
    try:
        branches = compile_branches(text)
    except TokenError as exc:
        raise InvalidEventPattern(f"Event pattern is not valid. Reason: {exc}") from None
    except RecursionError:
        raise InvalidEventPattern(f"Event pattern is not valid. Reason: {_TOO_DEEP}") from None
    return Pattern(tuple(_branch(b) for b in branches))
