"""JSON that Lamina writes itself (events it builds for functions): compact, and quick to write.

``compact(value)`` is ``json.dumps(value, separators=(",", ":")).encode()`` (ASCII, ``NaN``
allowed, no ``default``) with the C encoder made once rather than for every call, which is most of
what ``json.dumps`` spends on a small document. Only for trees of dicts, lists, strings, numbers,
booleans and None that Lamina built: there is no check for cycles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from json import encoder


def _unencodable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C accelerator's encoder factory, absent from typeshed's stub: (markers, default, encoder, indent,
# key separator, item separator, sort_keys, skipkeys, allow_nan) -> (value, indent level) -> chunks.
_make: Callable[..., Callable[[object, int], Iterable[str]]] | None = getattr(encoder, "c_make_encoder", None)
_C_ENCODER = (
    _make(None, _unencodable, encoder.encode_basestring_ascii, None, ":", ",", False, False, True) if _make else None
)
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def compact(value: object) -> bytes:
    """``value`` as compact JSON text, UTF-8 (ASCII, in fact: other characters are escaped)."""
    if _C_ENCODER is None:  # an interpreter without the C accelerator
        return _ENCODER.encode(value).encode()
    return "".join(_C_ENCODER(value, 0)).encode()
