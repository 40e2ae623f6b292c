"""Route keys and route selection for HTTP APIs, as API Gateway decides them. Pure functions.

A route key is ``$default`` or ``METHOD /path`` (``ANY`` for every method); a path's segments
are literals, ``{name}`` (one whole segment) or, last, ``{name+}`` (greedy: the rest of the path,
one segment at least). Of the routes a request matches, API Gateway takes the most specific
(docs: "Working with routes for HTTP APIs", route evaluation):

1. segment by segment from the left, a literal beats ``{param}``, which beats a greedy ``{proxy+}``
   (so an exact path beats a parameterised one, which beats a greedy one);
2. for the same path, a route of the request's method beats ``ANY``;
3. ``$default`` catches what nothing else matches.

Matching compares percent-decoded segments: ``%2F`` inside a segment stays inside it, and ``..``
is just a segment (nothing is resolved against a file system).
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterable, Mapping

DEFAULT_ROUTE = "$default"
ANY = "ANY"
METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", ANY})
_PARAM = re.compile(r"^\{([A-Za-z0-9._:-]+)(\+?)\}$")
_LITERAL = re.compile(r"^[A-Za-z0-9._~:@!$&'()*+,;=%-]+$")


class InvalidRouteKey(ValueError):
    """A route key API Gateway would refuse; its message is AWS's."""


class Kind(IntEnum):  # the order is the precedence
    LITERAL = 0
    PARAM = 1
    GREEDY = 2


@dataclass(frozen=True)
class Segment:
    kind: Kind
    text: str  # the literal, or the parameter's name


@dataclass(frozen=True)
class RouteKey:
    key: str  # as given
    method: str | None  # None for $default
    segments: tuple[Segment, ...]

    @property
    def is_default(self) -> bool:
        return self.method is None

    @property
    def resource(self) -> str:
        """The path part (``/pets/{id}``), or ``$default``: payload 1.0's ``resource``."""
        return DEFAULT_ROUTE if self.method is None else self.key.split(" ", 1)[1]


def parse_route_key(key: str) -> RouteKey:
    """``key`` checked as API Gateway checks an HTTP API's route keys."""
    if key == DEFAULT_ROUTE:
        return RouteKey(key, None, ())
    method, space, path = key.partition(" ")
    if not space or method not in METHODS or not path.startswith("/") or " " in path:
        raise InvalidRouteKey(f"Unable to create route {key}: the route key must be '$default' or "
                              "'HTTP_METHOD /resource/path', with a method of ANY, DELETE, GET, HEAD, "
                              "OPTIONS, PATCH, POST or PUT.")  # fmt: skip
    segments: list[Segment] = []
    parts = path[1:].split("/") if path != "/" else []
    names: set[str] = set()
    for i, part in enumerate(parts):
        param = _PARAM.match(part)
        if param:
            name, greedy = param[1], bool(param[2])
            if greedy and i != len(parts) - 1:
                raise InvalidRouteKey(f"Invalid route key {key}: a greedy path variable must be the last segment.")
            if name in names:
                raise InvalidRouteKey(f"Invalid route key {key}: path variable {name} is repeated.")
            names.add(name)
            segments.append(Segment(Kind.GREEDY if greedy else Kind.PARAM, name))
        elif part and _LITERAL.match(part) and "{" not in part:
            segments.append(Segment(Kind.LITERAL, part))
        else:
            raise InvalidRouteKey(f"Invalid route key {key}: invalid path segment '{part}'.")
    return RouteKey(key, method, tuple(segments))


@dataclass(frozen=True)
class Match:
    route_key: str
    path_parameters: Mapping[str, str]  # decoded values


def split_path(raw_path: str) -> tuple[str, ...]:
    """The raw path's segments, each percent-decoded (``/`` → ``()``)."""
    if raw_path in ("", "/"):
        return ()
    return tuple(urllib.parse.unquote(part) for part in raw_path.lstrip("/").split("/"))


def _match(route: RouteKey, method: str, segments: tuple[str, ...]) -> dict[str, str] | None:
    if route.method not in (method, ANY):
        return None
    params: dict[str, str] = {}
    for i, seg in enumerate(route.segments):
        if seg.kind is Kind.GREEDY:
            rest = segments[i:]
            if not rest or rest == ("",):
                return None
            params[seg.text] = "/".join(rest)
            return params
        if i >= len(segments):
            return None
        if seg.kind is Kind.LITERAL:
            if segments[i] != urllib.parse.unquote(seg.text):
                return None
        elif not segments[i]:
            return None
        else:
            params[seg.text] = segments[i]
    return params if len(segments) == len(route.segments) else None


def _precedence(route: RouteKey) -> tuple[tuple[int, ...], int]:
    # A shorter key whose kinds are a prefix of a longer one cannot match the same path unless the
    # longer ends greedy; tuples compare as wanted in both cases.
    return tuple(s.kind for s in route.segments), 1 if route.method == ANY else 0


def select(routes: Iterable[RouteKey], method: str, raw_path: str) -> Match | None:
    """The route a ``method`` request for ``raw_path`` takes, or None (API Gateway's 404)."""
    segments = split_path(raw_path)
    best: tuple[tuple[tuple[int, ...], int], RouteKey, dict[str, str]] | None = None
    default: RouteKey | None = None
    for route in routes:
        if route.is_default:
            default = route
            continue
        params = _match(route, method.upper(), segments)
        if params is None:
            continue
        rank = _precedence(route)
        if best is None or rank < best[0]:
            best = (rank, route, params)
    if best is not None:
        return Match(best[1].key, best[2])
    if default is not None:
        return Match(default.key, {})
    return None


def resolve_stage(stages: Iterable[str], raw_path: str) -> tuple[str, str] | None:
    """(stage, the path within it) a request for ``raw_path`` is for, or None (API Gateway's 404).

    A first segment naming a stage selects it (``/prod/pets`` → ``("prod", "/pets")``); any other
    path is for ``$default``, at the root, when the API has that stage.
    """
    names = set(stages)
    first, slash, rest = raw_path.lstrip("/").partition("/")
    first = urllib.parse.unquote(first)
    if first and first != DEFAULT_ROUTE and first in names:
        return first, "/" + rest if slash else "/"
    if DEFAULT_ROUTE in names:
        return DEFAULT_ROUTE, raw_path or "/"
    return None
