"""The function's result as the HTTP response a function URL gives, as AWS maps it.

- A JSON object with ``statusCode`` is a response: its ``statusCode`` (a number, or digits in a
  string), ``headers``, ``cookies`` (each a ``Set-Cookie`` header) and ``body`` (base64-decoded
  when ``isBase64Encoded``). Without a ``content-type`` header it is ``application/json``.
- Any other result is the body of a 200 ``application/json`` response: an object exactly as the
  function returned it, a string as that string (``"hello"`` is the body ``hello``), and numbers,
  booleans, arrays and null as compact JSON.
- A function error, or a result that is not a response AWS could make sense of, is a 502 whose
  body is ``Internal Server Error``.

A ``RESPONSE_STREAM`` URL is mapped as AWS maps a stream (``streamed_response``), though Lamina
sends it whole: a response that begins with an HTTP-integration prelude (the JSON that
``awslambda.HttpResponseStream.from`` writes, then eight zero bytes) has the prelude's status,
headers and cookies and the rest as its body; anything else is the body of a 200 as it is, with no
``statusCode`` mapping.

Pure functions of the invocation's payload and of ``read``, the function that reads its JSON:
``jsonbody.read`` (Python's parser, the default) for a payload of up to ``jsonbody.INLINE_BYTES``;
for a larger one, ``read_large`` in a worker thread, which builds only the members the mapping
needs. Whatever the payload, the answer is a response, never an exception: a result nested too
deep to parse is as unparseable as one that is not JSON. ``lamina.api.url_serving`` writes the
result.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Callable

from lamina import jsonbody
from lamina.jsonbody import NOT_JSON, RawJson
from lamina.urls.events import HOP_BY_HOP

JSON = "application/json"
STREAM = "application/octet-stream"  # a stream's content type unless it says otherwise
PRELUDE_DELIMITER = bytes(8)
# Headers Lamina's HTTP server writes itself: the function's values would contradict the body.
_NOT_FROM_FUNCTION = HOP_BY_HOP | {"content-length"}
# All the mapping reads of a result object (or of a stream's prelude).
MEMBERS = ("statusCode", "headers", "cookies", "body", "isBase64Encoded")

Reader = Callable[[bytes], object]
"""Reads a payload's JSON: its value, ``jsonbody.NOT_JSON``, or parts kept as ``jsonbody.RawJson``."""


def read_large(raw: bytes) -> object:
    """A reader for payloads of any size that builds only ``MEMBERS`` of an object in Python
    (``jsonbody.outline``). Blocking: call it in a worker thread."""
    return jsonbody.outline(raw, MEMBERS)


@dataclass(frozen=True)
class UrlResponse:
    status: int
    headers: tuple[tuple[str, str], ...]  # repeats allowed (Set-Cookie)
    body: bytes


def _json(status: int, body: bytes) -> UrlResponse:
    return UrlResponse(status, (("Content-Type", JSON),), body)


BAD_GATEWAY = _json(502, b"Internal Server Error")


def error(status: int, message: str | None, code: str | None = None) -> UrlResponse:
    """A refusal in AWS's function URL shape: ``{"Message": "..."}``, with ``x-amzn-ErrorType`` if ``code``."""
    body = json.dumps({"Message": message}, separators=(",", ":")).encode()
    headers = (("Content-Type", JSON),) + ((("x-amzn-ErrorType", code),) if code else ())
    return UrlResponse(status, headers, body)


# What the URL says instead of invoking. AWS answers an unknown (or deleted) URL exactly like
# this, and a request its authorizer refuses with a 403 of its own.
NO_SUCH_URL = error(403, None, "AccessDeniedException")
FORBIDDEN = error(403, "Forbidden", "AccessDeniedException")
# A URL whose alias was deleted: AWS keeps the URL and refuses its requests like this.
NO_TARGET = error(403, "Forbidden. For troubleshooting Function URL authorization issues, see: "
                  "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html", "AccessDeniedException")  # fmt: skip


def function_response(payload: bytes, read: Reader = jsonbody.read) -> UrlResponse:
    """The HTTP response for a successful invocation's payload."""
    result = read(payload)
    try:
        return _mapped(result, payload)
    except (RecursionError, UnicodeEncodeError):  # nested too deep to write back; a lone surrogate
        return BAD_GATEWAY


def _mapped(result: object, payload: bytes) -> UrlResponse:
    if result is NOT_JSON:
        return BAD_GATEWAY
    if isinstance(result, dict) and "statusCode" in result:
        return structured(result) or BAD_GATEWAY
    if isinstance(result, dict):
        return _json(200, payload)
    if isinstance(result, str):
        return _json(200, result.encode())
    return _json(200, _text(result).encode())


def _status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 100 <= value <= 599 else None


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, RawJson):
        return value.text
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def streamed_response(payload: bytes, read: Reader = jsonbody.read) -> UrlResponse:
    """The HTTP response of a ``RESPONSE_STREAM`` URL for a successful invocation's payload."""
    head, delimiter, rest = payload.partition(PRELUDE_DELIMITER)
    if delimiter:
        prelude = read(head)
        if isinstance(prelude, dict):
            members = {k: prelude.get(k) for k in ("headers", "cookies")}
            try:
                mapped = structured({"statusCode": prelude.get("statusCode", 200), **members}, default_type=STREAM)
            except (RecursionError, UnicodeEncodeError):
                mapped = None
            return BAD_GATEWAY if mapped is None else UrlResponse(mapped.status, mapped.headers, rest)
    # No JSON text, in any encoding, holds eight zero bytes in a row: a payload with a delimiter
    # is read only for its prelude.
    content_type = STREAM if delimiter or read(payload) is NOT_JSON else JSON
    return UrlResponse(200, (("Content-Type", content_type),), payload)


def structured(result: dict[str, object], default_type: str = JSON) -> UrlResponse | None:
    """A ``{"statusCode": ...}`` response, or None if AWS could not have served it."""
    status = _status(result["statusCode"])
    raw_headers = {} if result.get("headers") is None else result["headers"]
    cookies = [] if result.get("cookies") is None else result["cookies"]
    if status is None or not isinstance(raw_headers, dict) or not isinstance(cookies, list):
        return None
    headers = [(str(k), _text(v)) for k, v in raw_headers.items() if v is not None]
    headers = [(k, v) for k, v in headers if k.lower() not in _NOT_FROM_FUNCTION]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.insert(0, ("Content-Type", default_type))
    headers.extend(("Set-Cookie", _text(cookie)) for cookie in cookies)
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded") is True:
        if not isinstance(body, str):
            return None
        try:
            data = base64.b64decode(body)  # lenient, as line-wrapped base64 is common
        except (binascii.Error, ValueError):
            return None
    else:
        data = _text(body).encode()
    return UrlResponse(status, tuple(headers), data)
