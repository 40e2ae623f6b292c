"""Functions' logs as CloudWatch Logs' log groups and streams: names, ARNs and paging tokens. Pure.

A function's log group is its LoggingConfig's ``LogGroup``, else ``/aws/lambda/<name>`` (as
Lambda's); several functions may share a group. A deleted function's stored lines stay in its
default group until they expire. Streams are the environments' (``2024/01/01/[$LATEST]<id>``).

Paging tokens are opaque to clients: a cursor per function (``read_logs``' cursors), as JSON in
URL-safe base64 with a prefix naming what they page, so one operation's token is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Iterable, Mapping

from lamina.model import FunctionConfig

DEFAULT_PREFIX = "/aws/lambda/"


class BadToken(ValueError):
    pass


def group_of(fn: FunctionConfig) -> str:
    return fn.logging.log_group or DEFAULT_PREFIX + fn.name


def groups(functions: Iterable[FunctionConfig], logged: Iterable[str]) -> dict[str, list[str]]:
    """Every log group with its functions, by name: those of ``functions`` (existing ones) and the
    default groups of ``logged`` functions that no longer exist."""
    found: dict[str, list[str]] = {}
    existing = set()
    for fn in functions:
        existing.add(fn.name)
        found.setdefault(group_of(fn), []).append(fn.name)
    for name in logged:
        if name not in existing:
            found.setdefault(DEFAULT_PREFIX + name, []).append(name)
    return {group: sorted(names) for group, names in sorted(found.items())}


def group_arn(region: str, account: str, group: str) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{group}"


def stream_arn(region: str, account: str, group: str, stream: str) -> str:
    return f"{group_arn(region, account, group)}:log-stream:{stream}"


def encode_token(kind: str, cursors: Mapping[str, int]) -> str:
    raw = json.dumps({"k": kind, "c": dict(cursors)}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str) -> dict[str, int]:
    """The cursors of a token ``encode_token(kind, ...)`` made; ``BadToken`` for anything else."""
    if len(token) > 64 * 1024:
        raise BadToken("the token is too long")
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise BadToken("the token is not one this API made") from None
    cursors = doc.get("c") if isinstance(doc, dict) and doc.get("k") == kind else None
    if not isinstance(cursors, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in cursors.items()):  # fmt: skip
        raise BadToken("the token is not one this API made")
    return cursors


def encode_name(kind: str, name: str) -> str:
    """A paging token that resumes after ``name`` (a subscription filter's)."""
    raw = json.dumps({"k": kind, "n": name}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_name(kind: str, token: str) -> str:
    """The name of a token ``encode_name(kind, ...)`` made; ``BadToken`` for anything else."""
    if len(token) > 4 * 1024:
        raise BadToken("the token is too long")
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise BadToken("the token is not one this API made") from None
    name = doc.get("n") if isinstance(doc, dict) and doc.get("k") == kind else None
    if not isinstance(name, str):
        raise BadToken("the token is not one this API made")
    return name
