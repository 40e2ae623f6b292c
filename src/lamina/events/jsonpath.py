"""The JSONPath subset EventBridge's InputPath and InputPathsMap use, compiled once.

Supported: ``$`` (the whole event), ``.name`` and ``['name']`` / ``["name"]`` members, ``[n]``
array indexes (negative ones count from the end), and ``*`` / ``[*]`` for every member or
element. A path without ``*`` selects one value or nothing; a path with one selects the list of
what it reaches (nothing when that list is empty).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]*]+)|\.\*|\[\*\]|\[(?P<index>-?[0-9]+)\]|\[(?P<q>['"])(?P<quoted>(?:(?!(?P=q)).)*)(?P=q)\]"""
)

WILDCARD = object()  # a step that takes every member


class InvalidPath(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[str | int | object, ...]

    @property
    def multiple(self) -> bool:
        return any(step is WILDCARD for step in self.steps)

    def select(self, document: object) -> tuple[bool, object]:
        """(found, value): the value at the path, or (False, None) if the document has none there."""
        found = _walk(document, self.steps)
        if self.multiple:
            return (True, found) if found else (False, None)
        return (True, found[0]) if found else (False, None)


def _walk(node: object, steps: tuple[str | int | object, ...]) -> list[object]:
    nodes = [node]
    for step in steps:
        following: list[object] = []
        for current in nodes:
            if step is WILDCARD:
                if isinstance(current, Mapping):
                    following.extend(current.values())
                elif isinstance(current, list):
                    following.extend(current)
            elif isinstance(step, str):
                if isinstance(current, Mapping) and step in current:
                    following.append(current[step])
            elif isinstance(step, int) and isinstance(current, list) and -len(current) <= step < len(current):
                following.append(current[step])
        nodes = following
    return nodes


def parse(text: str) -> JsonPath:
    """Compile a path; ``InvalidPath`` if it is not one of the supported forms."""
    if not text.startswith("$"):
        raise InvalidPath(text)
    steps: list[str | int | object] = []
    i = 1
    while i < len(text):
        m = _STEP.match(text, i)
        if m is None:
            raise InvalidPath(text)
        if m.group("name") is not None:
            steps.append(m.group("name"))
        elif m.group("index") is not None:
            steps.append(int(m.group("index")))
        elif m.group("quoted") is not None:
            steps.append(m.group("quoted"))
        else:
            steps.append(WILDCARD)
        i = m.end()
    return JsonPath(text, tuple(steps))
