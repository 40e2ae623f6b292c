"""Media types against an API's ``binaryMediaTypes`` (``image/png``, ``image/*``, ``*/*``)."""

from __future__ import annotations


def _mime(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def matches(media_type: str, pattern: str) -> bool:
    kind, _, subtype = _mime(media_type).partition("/")
    p_kind, _, p_subtype = _mime(pattern).partition("/")
    return (p_kind in ("*", kind)) and (p_subtype in ("*", subtype))


def matches_any(media_type: str, patterns: tuple[str, ...]) -> bool:
    return any(matches(media_type, p) for p in patterns)


def accepts_binary(accept: str | None, patterns: tuple[str, ...]) -> bool:
    """Whether a response of base64 text is sent decoded: the request's Accept names a binary media
    type of the API (API Gateway's rule for proxy integrations)."""
    if not accept or not patterns:
        return False
    return any(matches_any(part, patterns) for part in accept.split(",") if part.strip())
