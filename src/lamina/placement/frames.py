"""The channel between a server and a node's worker: framed messages, multiplexed by id (pure
but for the two stream helpers).

A frame is ``[4 bytes: length of the rest][4 bytes: length of the header][header: JSON object]
[body: bytes]``, big-endian; the header says what the frame is (``op``) and which request it
answers (``id``), the body carries what is binary (a payload, a result). A frame over
``MAX_FRAME_BYTES`` or whose header is not a JSON object is refused before anything else is
read: the reader raises ``FrameError`` and the connection is closed.

The first frame a worker reads is ``hello`` with the secret the server gave the worker's actor
at its creation; anything else (or a wrong secret, or nothing within ``HELLO_TIMEOUT_S``) closes
the connection unanswered.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import struct
from dataclasses import dataclass, field
from typing import Any

# The largest frame: a code package (50 MB zipped at most, as CreateFunction takes) and its header.
# A payload or a result (6 MB at most) is far below it.
MAX_FRAME_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
HELLO_TIMEOUT_S = 5.0
_LENGTHS = struct.Struct(">II")


class FrameError(Exception):
    """A frame that is not one: oversized, truncated or malformed."""


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    body: bytes = field(default=b"", repr=False)

    @property
    def op(self) -> str:
        op = self.header.get("op")
        return op if isinstance(op, str) else ""

    @property
    def id(self) -> int:
        value = self.header.get("id")
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    size = 4 + len(head) + len(body)
    if size > MAX_FRAME_BYTES or len(head) > MAX_HEADER_BYTES:
        raise FrameError(f"a frame of {size} bytes is over the channel's limit")
    return _LENGTHS.pack(size, len(head)) + head + body


def lengths(prefix: bytes, cap: int = MAX_FRAME_BYTES) -> tuple[int, int]:
    """The frame's size and its header's from its first 8 bytes, checked against ``cap``."""
    size, head = _LENGTHS.unpack(prefix)
    if size > cap:
        raise FrameError(f"a frame of {size} bytes is over the channel's limit of {cap}")
    if head > size - 4 or head > MAX_HEADER_BYTES:
        raise FrameError("a frame's header is longer than the frame")
    return size, head


def decode(head: bytes, body: bytes) -> Frame:
    try:
        header = json.loads(head)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(f"a frame's header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise FrameError("a frame's header is not a JSON object")
    return Frame(header, body)


def authentic(frame: Frame, secret: str) -> bool:
    """Whether ``frame`` is the hello that names ``secret`` (compared in constant time)."""
    given = frame.header.get("secret")
    return frame.op == "hello" and isinstance(given, str) and hmac.compare_digest(given.encode(), secret.encode())


async def read(reader: asyncio.StreamReader, cap: int = MAX_FRAME_BYTES) -> Frame:
    """The next frame; ``FrameError`` for one that is not, ``asyncio.IncompleteReadError`` at the end."""
    size, head = lengths(await reader.readexactly(_LENGTHS.size), cap)
    rest = await reader.readexactly(size - 4)
    return decode(rest[:head], rest[head:])
