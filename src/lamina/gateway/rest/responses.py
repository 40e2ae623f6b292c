"""A Lambda proxy result as HTTP, and API Gateway's own answers, in a REST API's shapes.

A result must be a JSON object with an integer ``statusCode`` (digits in a string are read too),
optional ``headers`` (name -> value) and ``multiValueHeaders`` (name -> list of values; where both
name a header, ``multiValueHeaders`` wins), ``body`` (a string, or null) and ``isBase64Encoded``.
Anything else is a malformed proxy response: ``502 {"message": "Internal server error"}``, as is
a function error. A base64 body is sent decoded when the request's Accept header names one of the
API's binary media types, else as the base64 text (API Gateway's rule).

Pure functions of the payload and of ``read``, as in ``lamina.urls.responses``: a payload larger
than ``jsonbody.INLINE_BYTES`` is read in a worker thread by ``read_large``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Callable

from lamina import jsonbody
from lamina.gateway.authorizers.decision import Refuse
from lamina.gateway.rest.media import accepts_binary
from lamina.jsonbody import RawJson
from lamina.urls.events import HOP_BY_HOP

JSON = "application/json"
MEMBERS = ("statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded")
_NOT_FROM_FUNCTION = HOP_BY_HOP | {"content-length"}
Reader = Callable[[bytes], object]


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def gateway_error(status: int, message: str, error_type: str) -> GatewayResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, (("Content-Type", JSON), ("x-amzn-ErrorType", error_type)), body)


# API Gateway's answers of its own (its "gateway responses"), bodies as AWS writes them.
MISSING_AUTHENTICATION_TOKEN = gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
INTERNAL_ERROR = GatewayResponse(500, (("Content-Type", JSON), ("x-amzn-ErrorType", "InternalServerErrorException")),
                                 b'{"message": "Internal server error"}')  # fmt: skip
BAD_GATEWAY = GatewayResponse(502, INTERNAL_ERROR.headers, INTERNAL_ERROR.body)
TIMED_OUT = GatewayResponse(504, (("Content-Type", JSON),), b'{"message": "Endpoint request timed out"}')
FORBIDDEN = gateway_error(403, "Forbidden", "ForbiddenException")  # a method's API key missing or not valid
TOO_LARGE = gateway_error(413, "Request Too Long", "RequestEntityTooLargeException")
_REFUSAL_TYPES = {401: "UnauthorizedException", 403: "AccessDeniedException"}


def refusal(refuse: Refuse) -> GatewayResponse:
    """An authorizer's refusal (``authorizers.decision``) as API Gateway answers it."""
    headers = {"Content-Type": JSON, **refuse.headers}
    if refuse.status in _REFUSAL_TYPES and not any(k.lower() == "x-amzn-errortype" for k in refuse.headers):
        headers["x-amzn-ErrorType"] = _REFUSAL_TYPES[refuse.status]
    body = json.dumps(refuse.body, separators=(",", ":")).encode()
    return GatewayResponse(refuse.status, tuple(headers.items()), body)


def read_large(raw: bytes) -> object:
    """A reader for payloads of any size (``jsonbody.outline``). Blocking: call it in a worker thread."""
    return jsonbody.outline(raw, MEMBERS)


def proxy_response(payload: bytes, accept: str | None, binary_media_types: tuple[str, ...],
                   read: Reader = jsonbody.read) -> GatewayResponse:  # fmt: skip
    """The HTTP response for a successful invocation's payload (502 if it is malformed)."""
    try:
        return _mapped(read(payload), accepts_binary(accept, binary_media_types)) or BAD_GATEWAY
    except (RecursionError, UnicodeEncodeError):
        return BAD_GATEWAY


def _status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and 100 <= value <= 599 else None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None


def _mapped(result: object, binary: bool) -> GatewayResponse | None:
    if not isinstance(result, dict):
        return None
    status = _status(result.get("statusCode"))
    single = {} if result.get("headers") is None else result["headers"]
    multi = {} if result.get("multiValueHeaders") is None else result["multiValueHeaders"]
    if status is None or not isinstance(single, dict) or not isinstance(multi, dict):
        return None
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            return None
        for value in values:
            text = _text(value)
            if text is None:
                return None
            headers.append((str(name), text))
    lower_multi = {str(k).lower() for k in multi}
    for name, value in single.items():
        text = _text(value)
        if text is None and value is not None:
            return None
        if text is not None and str(name).lower() not in lower_multi:
            headers.append((str(name), text))
    headers = [(k, v) for k, v in headers if k.lower() not in _NOT_FROM_FUNCTION]
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.insert(0, ("Content-Type", JSON))
    body = result.get("body")
    if isinstance(body, RawJson):
        parsed = json.loads(body.text)  # a string (its text is a JSON string) or not a body at all
        body = parsed if isinstance(parsed, str) else None if parsed is None else 0
    if body is None:
        return GatewayResponse(status, tuple(headers), b"")
    if not isinstance(body, str):
        return None
    if result.get("isBase64Encoded") is True and binary:
        try:
            # Line-wrapped base64 is common; anything else outside the alphabet is not base64.
            data = base64.b64decode("".join(body.split()), validate=True)
            return GatewayResponse(status, tuple(headers), data)
        except (binascii.Error, ValueError):
            return None
    return GatewayResponse(status, tuple(headers), body.encode("utf-8", "replace"))
