"""A request's members read as SQS reads them (pure): required and optional strings, integers in a
range, lists of strings; AWS's wording when one is missing or out of range."""

from __future__ import annotations

from typing import Mapping

from lamina.queues.errors import InvalidParameterValue, MissingParameter


def string(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise MissingParameter(f"The request must contain the parameter {name}.")
    return value


def optional_string(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: Must be a string.")
    return value


def integer(
    body: Mapping[str, object], name: str, default: int | None, low: int | None, high: int | None
) -> int | None:
    """An integer member (JSON number, or a string of digits as the query protocol sent them),
    within ``low``..``high`` when those are given; ``default`` when absent."""
    value = body.get(name)
    if value is None:
        return default
    not_integer = InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: Must be an integer.")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise not_integer
    try:
        number = int(value)
    except ValueError:
        raise not_integer from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidParameterValue(
            f"Value {value} for parameter {name} is invalid. Reason: Must be between {low} and {high}, if provided."
        )
    return number


def string_list(body: Mapping[str, object], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValue(f"Value for parameter {name} is invalid. Reason: Must be a list of strings.")
    return list(value)
