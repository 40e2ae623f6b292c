"""Range requests and conditional headers, decided as S3 decides them (pure).

``byte_range`` reads one ``Range: bytes=...`` header against an object's size: a range S3 would
serve, ``None`` for the whole object (no header, or one S3 ignores: several ranges, another unit,
bad syntax), or ``InvalidRange`` (416) for a well-formed range that starts past the end.
``precondition`` evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since in
RFC 7232's order, which is S3's: If-Match wins over If-Unmodified-Since, If-None-Match over
If-Modified-Since.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Mapping

from lamina.objects.errors import InvalidRange

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def byte_range(header: str | None, size: int) -> ByteRange | None:
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None:
        return None  # several ranges or a malformed one: S3 serves the whole object
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # RFC 7233: a syntactically invalid range is ignored
    if start >= size:
        raise _unsatisfiable(header, size)
    return ByteRange(start, min(end, size - 1))


def _unsatisfiable(header: str, size: int) -> InvalidRange:
    return InvalidRange("The requested range is not satisfiable", RangeRequested=header, ActualObjectSize=str(size))


class Outcome(enum.Enum):
    SERVE = 200
    NOT_MODIFIED = 304
    FAILED = 412


def precondition(headers: Mapping[str, str], etag: str, modified_s: int) -> Outcome:
    """``etag`` without quotes; ``modified_s``: Last-Modified in whole epoch seconds (what clients see)."""
    if_match = headers.get("If-Match")
    if if_match is not None:
        if not _etag_matches(if_match, etag):
            return Outcome.FAILED
    else:
        since = _date(headers.get("If-Unmodified-Since"))
        if since is not None and modified_s > since:
            return Outcome.FAILED
    if_none = headers.get("If-None-Match")
    if if_none is not None:
        if _etag_matches(if_none, etag):
            return Outcome.NOT_MODIFIED
    else:
        since = _date(headers.get("If-Modified-Since"))
        if since is not None and modified_s <= since:
            return Outcome.NOT_MODIFIED
    return Outcome.SERVE


def _etag_matches(header: str, etag: str) -> bool:
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/").strip('"') == etag:
            return True
    return False


def _date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError):
        return None  # a date S3 cannot read is ignored
