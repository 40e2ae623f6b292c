"""EventBridge's own errors, as botocore's model for ``events`` defines them (aws/api/events/).

EventBridge speaks json-1.1: every client error is a 400 whose body's ``__type`` names it
(api/awsjson.py renders them); ``ValidationException`` is ``lamina.errors.ValidationError`` and
``InvalidEventPatternException`` lives with the pattern language (``events/pattern.py``).
"""

from __future__ import annotations

from lamina.errors import ApiError


class BusResourceNotFound(ApiError):
    code = "ResourceNotFoundException"
    status = 400


class ResourceAlreadyExists(ApiError):
    code = "ResourceAlreadyExistsException"
    status = 400


class LimitExceeded(ApiError):
    code = "LimitExceededException"
    status = 400


def bus_not_found(name: str) -> BusResourceNotFound:
    return BusResourceNotFound(f"Event bus {name} does not exist.")


def rule_not_found(name: str, bus: str) -> BusResourceNotFound:
    return BusResourceNotFound(f"Rule {name} does not exist on EventBus {bus}.")
