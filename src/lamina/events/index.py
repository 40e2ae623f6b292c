"""Many patterns at once: which of them match an event, without testing every one.

An event bus holds hundreds of rules and most of them name a ``source`` (or another top-level
field) with plain string values. ``PatternIndex`` files each such pattern under those values, so
an event is tested only against the patterns filed under its own value there, plus the patterns
that have no such field. The answer is exactly what testing every pattern would give
(``Pattern.matches`` still decides), in the order the patterns were given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from lamina.events.matchers import Exact
from lamina.events.pattern import Pattern

K = TypeVar("K")
_PREFERRED = ("source", "detail-type")


def _guard(pattern: Pattern) -> tuple[str, frozenset[str]] | None:
    """A top-level field every alternative of the pattern needs to be one of some strings."""
    common: dict[str, set[str]] | None = None
    for branch in pattern.branches:
        here: dict[str, set[str]] = {}
        for field in branch.fields:
            if len(field.path) != 1 or field.absent or len(field.tests) != 1:
                continue
            test = field.tests[0]
            if isinstance(test, Exact) and not (test.numbers or test.null or test.true or test.false):
                here[field.path[0]] = set(test.strings)
        if common is None:
            common = here
        else:
            common = {k: v | here[k] for k, v in common.items() if k in here}
    if not common:
        return None
    name = next((n for n in _PREFERRED if n in common), min(common))
    return name, frozenset(common[name])


def _strings(value: object, out: list[str]) -> None:
    if type(value) is str:
        out.append(value)
    elif type(value) is list:
        for item in value:
            _strings(item, out)


class PatternIndex(Generic[K]):
    """Patterns under keys (rule names, say); ``matching(event)`` gives the keys whose pattern matches."""

    def __init__(self, patterns: Iterable[tuple[K, Pattern]] = ()) -> None:
        self._order: list[tuple[K, Pattern]] = []
        self._filed: dict[str, dict[str, list[int]]] = {}  # field -> value -> positions in _order
        self._unfiled: list[int] = []
        for key, pattern in patterns:
            self.add(key, pattern)

    def add(self, key: K, pattern: Pattern) -> None:
        position = len(self._order)
        self._order.append((key, pattern))
        guard = _guard(pattern)
        if guard is None:
            self._unfiled.append(position)
            return
        name, values = guard
        by_value = self._filed.setdefault(name, {})
        for value in values:
            by_value.setdefault(value, []).append(position)

    def __len__(self) -> int:
        return len(self._order)

    def matching(self, event: Mapping[str, object]) -> list[K]:
        candidates = list(self._unfiled)
        for name, by_value in self._filed.items():
            if name not in event:
                continue
            values: list[str] = []
            _strings(event[name], values)
            for value in values:
                candidates += by_value.get(value, ())
        if len(candidates) > len(self._unfiled):
            candidates = sorted(set(candidates))
        order = self._order
        return [order[i][0] for i in candidates if order[i][1].matches(event)]
