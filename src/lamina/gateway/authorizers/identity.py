"""Identity sources: where an authorizer's inputs come from in a request, and whether they are there.

HTTP APIs write them ``$request.header.Authorization``, ``$request.querystring.token``,
``$context.requestId``, ``$stageVariables.name``; REST APIs ``method.request.header.Authorization``,
``method.request.querystring.token``, ``context.requestId``, ``stageVariables.name``. Header names
are matched without regard to case, as HTTP's are. When an authorizer names identity sources and
one of them is missing or empty, API Gateway answers 401 without calling the authorizer; the
values, in order, are also the key its results are cached under.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Mapping, Sequence

from lamina.errors import ApiError


class InvalidIdentitySource(ApiError):
    code = "BadRequestException"
    status = 400


class Place(Enum):
    HEADER = "header"
    QUERY = "querystring"
    CONTEXT = "context"
    STAGE_VARIABLE = "stageVariables"


_HTTP_API = re.compile(r"^\$(?:request\.(?P<request>header|querystring)|(?P<other>context|stageVariables))\.(?P<name>[^\s.][^\s]*)$")
_REST_API = re.compile(r"^(?:method\.request\.(?P<request>header|querystring)|(?P<other>context|stageVariables))\.(?P<name>[^\s.][^\s]*)$")


@dataclass(frozen=True)
class IdentitySource:
    place: Place
    name: str

    @classmethod
    def parse(cls, text: str, *, rest_api: bool = False) -> IdentitySource:
        match = (_REST_API if rest_api else _HTTP_API).match(text.strip())
        if match is None:
            example = "method.request.header.Authorization" if rest_api else "$request.header.Authorization"
            raise InvalidIdentitySource(f"Invalid identity source {text!r}: expected a form such as {example}.")
        return cls(Place(match["request"] or match["other"]), match["name"])


@dataclass(frozen=True)
class RequestView:
    """What identity sources can read of a request."""

    headers: Mapping[str, str]  # lower-cased names; repeated headers joined by commas
    query: Mapping[str, str]  # repeated parameters joined by commas
    context: Mapping[str, str]
    stage_variables: Mapping[str, str]


def values(sources: Sequence[IdentitySource], request: RequestView) -> tuple[str, ...] | None:
    """The sources' values in order, or None if one is missing or empty (the caller answers 401)."""
    found = []
    for source in sources:
        if source.place is Place.HEADER:
            value = request.headers.get(source.name.lower())
        elif source.place is Place.QUERY:
            value = request.query.get(source.name)
        elif source.place is Place.CONTEXT:
            value = request.context.get(source.name)
        else:
            value = request.stage_variables.get(source.name)
        if not value:
            return None
        found.append(value)
    return tuple(found)
