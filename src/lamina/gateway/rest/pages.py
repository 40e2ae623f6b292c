"""How a REST API's records are named and listed: random ids as AWS's look, pages in id order."""

from __future__ import annotations

import bisect
import secrets
import string
from typing import Callable, TypeVar

_ALPHABET = string.ascii_lowercase + string.digits
T = TypeVar("T")


def new_id(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def page(items: list[T], position: str | None, limit: int, key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """A page of ``items`` in the order of their ids: those after ``position`` (the last id of the
    page before, whether or not that item still exists), and the next page's position if any."""
    ordered = sorted(items, key=key)
    start = bisect.bisect_right([key(item) for item in ordered], position) if position else 0
    found = ordered[start : start + limit]
    return found, key(found[-1]) if start + limit < len(ordered) else None
