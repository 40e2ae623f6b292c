"""JSON that Lamina writes itself (the events API Gateway APIs build for functions).

``compact(value)`` is ``json.dumps(value, separators=(",", ":")).encode()`` (ASCII, ``NaN``
allowed): no spaces to send and parse again, and no check for cycles, since these values are
trees of dicts, lists, strings, numbers, booleans and None that Lamina built.
"""

from __future__ import annotations

import json

_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def compact(value: object) -> bytes:
    """``value`` as compact JSON text, UTF-8 (ASCII, in fact: other characters are escaped)."""
    return _ENCODER.encode(value).encode()
