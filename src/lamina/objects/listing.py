"""Which keys a list request returns (pure): ListObjectsV2's and ListObjects' shared decision.

Keys are given sorted (S3 orders them by their UTF-8 bytes, which for str is code-point order:
the same). A listing starts strictly after ``after`` (StartAfter, Marker, or a continuation
token's key), keeps keys under ``prefix``, rolls keys with ``delimiter`` past the prefix into
common prefixes (each counted once against ``max_keys``), and stops at ``max_keys`` entries.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Page:
    keys: list[str]
    prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or common prefix returned: where the next page starts after


def list_keys(sorted_keys: Sequence[str], *, prefix: str = "", delimiter: str = "", after: str = "",
              max_keys: int = 1000) -> Page:  # fmt: skip
    keys: list[str] = []
    prefixes: list[str] = []
    last: str | None = None
    i = bisect.bisect_left(sorted_keys, prefix)
    if after:
        i = max(i, bisect.bisect_right(sorted_keys, after))
    n = len(sorted_keys)
    while i < n:
        key = sorted_keys[i]
        if not key.startswith(prefix):
            break
        if len(keys) + len(prefixes) >= max_keys:
            return Page(keys, prefixes, True, last)
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common != after:  # a continuation after a common prefix skips all of it
                    prefixes.append(common)
                    last = common
                # every key under this common prefix sorts before the first one past it
                i = bisect.bisect_left(sorted_keys, _after_prefix(common), i + 1)
                continue
        keys.append(key)
        last = key
        i += 1
    return Page(keys, prefixes, False, last)


def _after_prefix(prefix: str) -> str:
    """The least string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if ord(prefix[-1]) < 0x10FFFF else prefix + "\U0010ffff"
