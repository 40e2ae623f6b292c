"""Resource paths: which path parts AWS accepts, and which deployed resource a request path reaches.

A REST API's resources form a tree under the root ``/``; each has one path part: a literal
(``users``), a variable (``{id}``, one segment) or a greedy variable (``{proxy+}``, one segment or
more). Matching a request path walks the tree as API Gateway does: at each level a literal child
that names the segment is tried first, then the variable child, then the greedy one; a branch that
leads nowhere gives way to the next (``/users/{id}`` and ``/{proxy+}`` both exist: ``/users`` reaches
the former's parent, ``/users/7/x`` the greedy one). Then the method: the resource's own for the
request's method, else its ``ANY``. Pure functions of plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")

_LITERAL = re.compile(r"^[a-zA-Z0-9._-]+$")
_VARIABLE = re.compile(r"^\{[a-zA-Z0-9._-]+\+?\}$")
INVALID_PATH_PART = (
    "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end "
    "and an optional plus sign before the closing brace."
)
ANY = "ANY"


def path_part_error(part: str) -> str | None:
    """AWS's message for a path part it refuses, else None."""
    if _LITERAL.match(part) or _VARIABLE.match(part):
        return None
    return INVALID_PATH_PART


def is_variable(part: str) -> bool:
    return part.startswith("{")


def is_greedy(part: str) -> bool:
    return part.endswith("+}")


def variable_name(part: str) -> str:
    return part.strip("{}").rstrip("+")


def join(parent_path: str, part: str) -> str:
    return f"/{part}" if parent_path == "/" else f"{parent_path}/{part}"


@dataclass
class _Node(Generic[T]):
    literals: dict[str, _Node[T]] = field(default_factory=dict)
    variable: tuple[str, _Node[T]] | None = None
    greedy: tuple[str, _Node[T]] | None = None
    value: T | None = None


@dataclass(frozen=True)
class Match(Generic[T]):
    value: T
    path_parameters: dict[str, str]


class Tree(Generic[T]):
    """Resources by path (``/``, ``/users/{id}``, ``/{proxy+}``), each carrying a value."""

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._root: _Node[T] = _Node()
        for path, value in entries:
            node = self._root
            for part in _parts(path):
                node = self._child(node, part)
            node.value = value

    @staticmethod
    def _child(node: _Node[T], part: str) -> _Node[T]:
        if not is_variable(part):
            return node.literals.setdefault(part, _Node())
        slot = node.greedy if is_greedy(part) else node.variable
        if slot is None:
            slot = (variable_name(part), _Node())
            if is_greedy(part):
                node.greedy = slot
            else:
                node.variable = slot
        return slot[1]

    def match(self, path: str) -> Match[T] | None:
        """The resource ``path`` (the request's, without the stage, as sent) reaches, if any."""
        segments = _parts(path)
        return _walk(self._root, segments, 0, {})


def _parts(path: str) -> list[str]:
    """A path's segments; one trailing slash is ignored (``/users/`` is ``/users``)."""
    trimmed = path[1:] if path.startswith("/") else path
    if trimmed.endswith("/"):
        trimmed = trimmed[:-1]
    return trimmed.split("/") if trimmed else []


def _walk(node: _Node[T], segments: list[str], i: int, params: dict[str, str]) -> Match[T] | None:
    if i == len(segments):
        return Match(node.value, dict(params)) if node.value is not None else None
    segment = segments[i]
    literal = node.literals.get(segment)
    if literal is not None:
        found = _walk(literal, segments, i + 1, params)
        if found is not None:
            return found
    if node.variable is not None and segment:
        name, child = node.variable
        found = _walk(child, segments, i + 1, {**params, name: segment})
        if found is not None:
            return found
    if node.greedy is not None:
        name, child = node.greedy
        if child.value is not None:
            return Match(child.value, {**params, name: "/".join(segments[i:])})
    return None


def pick_method(methods: dict[str, T], http_method: str) -> T | None:
    """The resource's method for ``http_method``, else its ``ANY``."""
    found = methods.get(http_method.upper())
    return found if found is not None else methods.get(ANY)
