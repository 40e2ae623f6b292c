"""JSON sent by clients, parsed or checked at a bounded cost to the event loop.

Every request body the Lambda API parses (``api.context.json_body``) and every Invoke payload it
checks (``invoke.service``) goes through here. What a client sends is refused, never crashes the
request: text that is not JSON (``NaN`` and ``Infinity`` included, as AWS refuses them), nesting
deeper than the parser allows (about 1,000 levels) and a large body with more than ``MAX_VALUES``
values are ``InvalidRequestContent`` (400), AWS's error for a body it cannot parse.

Why not simply a worker thread: ``json.loads`` holds the GIL for a whole document, so the event
loop stalls as long with the parse in a thread as on the loop (a 6 MB payload of small values
stalls it for the whole parse, hundreds of milliseconds). So:

- Documents up to ``INLINE_BYTES`` are parsed on the loop: a millisecond at worst, and no
  thread hop for the small payloads of warm invocations.
- A larger Invoke payload is only checked (the function gets its bytes): by SQLite's JSON parser,
  in a worker thread, which releases the GIL and builds no Python objects. Its nesting bound is
  SQLite's own (1,000 levels; 2,000 before SQLite 3.42).
- A larger request body is parsed in a worker thread once a count of its commas shows it has few
  values (no operation's input comes near ``MAX_VALUES``; a base64 zip has no commas): what is
  left of the parse is long strings, copied at C speed.

What a function returns is read the same way, but is never refused: ``outline`` gives what a
caller needs of a large result (its top level and some members of an object), in a worker thread,
with ``NOT_JSON`` for a document that is not JSON or is nested too deep, and ``RawJson`` for a part
too large to build in Python.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sqlite3
from dataclasses import dataclass

from lamina.errors import InvalidRequestContent

# Above this size a document leaves the event loop. Measured (Python 3.11, SQLite 3.40): json.loads
# of 16 KB takes 0.4 ms (a typical event) to 0.9 ms (one number per two bytes) on the loop, the
# check in a worker thread 0.3 ms, of which the loop spends none; at 64 KB, 1.6-3.7 ms against
# 0.5-0.8 ms. Below 16 KB the thread hop (0.13 ms) and SQLite's set-up cost more than they save.
INLINE_BYTES = 16 * 1024
# The most values a request body larger than INLINE_BYTES may hold, counted by its commas.
MAX_VALUES = 10_000

_PREFIX = "Could not parse request body into json: "


def _no_constant(name: str) -> object:
    raise ValueError(f"Non-standard token '{name}'")


# Built once: json.loads with any option builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def loads(raw: bytes) -> object:
    """``raw`` parsed, on the calling thread; ``InvalidRequestContent`` if it is not JSON."""
    try:
        # What json.loads does with bytes: UTF-8, -16 or -32, found from the first bytes.
        return _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except RecursionError:
        raise InvalidRequestContent(_PREFIX + "nesting too deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestContent(_PREFIX + str(exc)) from None


async def parse(raw: bytes) -> object:
    """``raw`` parsed: on the loop if it is small, else in a worker thread once it is known to
    hold at most ``MAX_VALUES`` values. Raises ``InvalidRequestContent``."""
    if len(raw) <= INLINE_BYTES:
        return loads(raw)
    return await asyncio.to_thread(_parse_large, raw)


async def check_large(raw: bytes) -> None:
    """Raise ``InvalidRequestContent`` unless ``raw`` is JSON, checked in a worker thread that
    holds the GIL only to decode it. For documents above ``INLINE_BYTES``; any size works."""
    await asyncio.to_thread(_check_text, raw)


def _parse_large(raw: bytes) -> object:
    commas = raw.count(b",")
    if commas >= MAX_VALUES:
        raise InvalidRequestContent(_PREFIX + f"a request body may hold at most {MAX_VALUES} values")
    return loads(raw)


def _check_text(raw: bytes) -> None:
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError as exc:
        raise InvalidRequestContent(_PREFIX + str(exc)) from None
    # SQLite reads its argument up to the first NUL, which JSON never holds unescaped: without
    # this, "[1]\0anything" would pass as "[1]".
    if "\x00" in text:
        raise InvalidRequestContent(_PREFIX + "an unescaped NUL character")
    conn = sqlite3.connect(":memory:")
    try:
        valid = conn.execute("SELECT json_valid(?)", (text,)).fetchone()[0] == 1
    except sqlite3.OperationalError as exc:
        if "no such function" not in str(exc):
            raise
        loads(raw)  # an SQLite built without JSON: Python's parser, holding the GIL
        return
    except UnicodeEncodeError:  # a lone surrogate, which has no UTF-8 form
        valid = False
    finally:
        conn.close()
    if not valid:
        raise InvalidRequestContent(_PREFIX + "the payload is not valid JSON")


# -- reading what functions return -------------------------------------------------------------


class Unreadable(enum.Enum):
    NOT_JSON = "not JSON"


NOT_JSON = Unreadable.NOT_JSON
"""What ``read`` and ``outline`` give for text that is not JSON or is nested too deep to parse."""


@dataclass(frozen=True)
class RawJson:
    """A JSON value left unparsed, as its compact text: a part with ``MAX_VALUES`` values or more,
    or one nested too deep for Python's parser."""

    text: str


def read(raw: bytes) -> object:
    """``raw`` parsed by Python's parser, on the calling thread, or ``NOT_JSON``; never raises.
    Accepts what ``json.loads`` accepts (``NaN`` included). For documents up to ``INLINE_BYTES``."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return NOT_JSON


def outline(raw: bytes, members: tuple[str, ...]) -> object:
    """What a caller needs of ``raw``, a document of any size, without building all of it in Python.

    - ``NOT_JSON`` if it is not JSON (by SQLite's parser: ``NaN`` is refused) or deeper than
      SQLite's nesting bound;
    - the document itself, parsed, if it holds fewer than ``MAX_VALUES`` values (by its commas);
    - else, for an object: a dict of those of ``members`` it has, each parsed if it holds fewer than
      ``MAX_VALUES`` values, else (or if Python cannot parse it) a ``RawJson``; for a string, the
      string; for an array, a ``RawJson``.

    With a repeated key, SQLite reads the first value where Python keeps the last. Blocking and
    CPU-bound: call it in a worker thread, where SQLite reads the document without the GIL. Never
    raises. Without SQLite's JSON functions (``->`` needs SQLite 3.38), Python parses the whole
    document, holding the GIL.
    """
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except UnicodeDecodeError:
        return NOT_JSON
    if "\x00" in text:  # SQLite would read up to the NUL (see _check_text)
        return NOT_JSON
    conn = sqlite3.connect(":memory:")
    try:
        valid, kind = conn.execute("SELECT json_valid(?1), json_type(?1)", (text,)).fetchone()
        if valid != 1:
            return NOT_JSON
        if raw.count(b",") < MAX_VALUES or kind not in ("object", "array"):
            return _parse_part(text, whole=True)
        if kind == "array":
            return RawJson(conn.execute("SELECT json(?)", (text,)).fetchone()[0])
        found: dict[str, object] = {}
        for name in members:
            path = "$." + json.dumps(name)
            member_kind, member = conn.execute("SELECT json_type(?1, ?2), ?1 -> ?2", (text, path)).fetchone()
            if member_kind is None:
                continue
            if member_kind in ("object", "array") and member.count(",") >= MAX_VALUES:
                found[name] = RawJson(member)
            else:
                found[name] = _parse_part(member, whole=False)
        return found
    except sqlite3.OperationalError:  # no JSON functions, or no ->
        return _parse_part(text, whole=True)
    except UnicodeEncodeError:  # a lone surrogate, which has no UTF-8 form: not JSON to SQLite
        return NOT_JSON
    finally:
        conn.close()


def _parse_part(text: str, *, whole: bool) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        # A part of a valid document that Python cannot parse is nested too deep for it.
        return NOT_JSON if whole else RawJson(text)
