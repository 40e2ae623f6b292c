"""ETags as S3 computes them (pure): an object's is the MD5 of its body in hex; a multipart
object's is the MD5 of its parts' binary MD5s, concatenated, then ``-<number of parts>``."""

from __future__ import annotations

import hashlib
from typing import Sequence


def multipart_etag(part_etags: Sequence[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for e in part_etags), usedforsecurity=False)
    return f"{digest.hexdigest()}-{len(part_etags)}"


def quoted(etag: str) -> str:
    return f'"{etag}"'


def unquoted(etag: str) -> str:
    return etag.strip().strip('"')
