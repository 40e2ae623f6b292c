"""What the control plane's operations take from their requests, checked as AWS checks them, and
the ids and times they give. Pure."""

from __future__ import annotations

import secrets
import string as _string
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence, TypeVar

from lamina.gateway.http.errors import BadRequest

T = TypeVar("T")
_ALPHABET = _string.ascii_lowercase + _string.digits


def new_id() -> str:
    """Seven lowercase letters and digits: a route's, integration's, stage's or deployment's id, as AWS forms them."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(7))


def iso(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def page(items: Sequence[T], key: Callable[[T], str], query: Mapping[str, str]) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``): MaxResults and NextToken as AWS's list operations take them."""
    raw_max = query.get("maxResults")
    limit = 100
    if raw_max is not None:
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= 500:
            raise BadRequest("MaxResults must be a number between 1 and 500")
        limit = int(raw_max)
    ordered = sorted(items, key=key)
    token = query.get("nextToken")
    if token:
        ordered = [i for i in ordered if key(i) > token]
    chosen = ordered[:limit]
    return chosen, key(chosen[-1]) if len(ordered) > limit else None


def string(body: Mapping[str, object], name: str, *, required: bool = False, max_len: int = 1024) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"Invalid input: {name} is required")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise BadRequest(f"Invalid input: {name} must be a string of at most {max_len} characters")
    return value


def string_map(body: Mapping[str, object], name: str) -> dict[str, str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"Invalid input: {name} must be a map of strings")
    return {str(k): str(v) for k, v in value.items()}
