"""AWS's event stream framing (``application/vnd.amazon.eventstream``), as a server writes it. Pure.

A message is a prelude (total length and headers length, 4 bytes each, big-endian, then the
CRC32 of those 8 bytes), the headers, the payload, and the CRC32 of everything before it. A
header is its name's length (1 byte), the name, a type (7: a string) and the string's length (2
bytes) and bytes; only string headers are written here, which is all an event or an exception
needs (``:message-type``, ``:event-type`` or ``:exception-type``, ``:content-type``).

With the JSON protocols (CloudWatch Logs' StartLiveTail), a stream starts with an
``initial-response`` event whose payload holds the response's other members (``{}`` when it has
none): botocore refuses a stream that does not. An exception ends the stream: botocore raises it as
``EventStreamError`` with its ``:exception-type`` as the code.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Mapping

CONTENT_TYPE = "application/vnd.amazon.eventstream"
_STRING = 7
MAX_HEADER_VALUE = 2**15 - 1  # botocore refuses longer string values


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One framed message. ``ValueError`` for a header name or value the framing cannot carry."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    head = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return head + struct.pack(">I", zlib.crc32(head))


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    if not 0 < len(raw_name) < 256 or len(raw_value) > MAX_HEADER_VALUE:
        raise ValueError(f"an event stream header cannot carry {name[:40]!r}")
    return bytes([len(raw_name)]) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value


def event(event_type: str, doc: Mapping[str, object]) -> bytes:
    """An event of ``event_type`` whose payload is ``doc`` as JSON."""
    return message({":message-type": "event", ":event-type": event_type, ":content-type": "application/json"},
                   json.dumps(doc, separators=(",", ":")).encode())  # fmt: skip


def initial_response(doc: Mapping[str, object] | None = None) -> bytes:
    """The first event of a JSON protocol's stream: the response's members other than the stream."""
    return event("initial-response", doc or {})


def exception(exception_type: str, text: str) -> bytes:
    """An exception event (``SessionTimeoutException``, ...), which ends the stream."""
    return message({":message-type": "exception", ":exception-type": exception_type,
                    ":content-type": "application/json"}, json.dumps({"message": text}).encode())  # fmt: skip
