"""A Lambda integration's result as the HTTP API's response, and API Gateway's own answers. Pure.

- Payload 2.0: as function URLs map results (``lamina.urls.responses``): a JSON object with
  ``statusCode`` is a response (``headers``, ``cookies``, ``body``, ``isBase64Encoded``); any
  other JSON is the body of a 200 ``application/json`` response.
- Payload 1.0: the result must be an object with ``statusCode``; ``headers`` and
  ``multiValueHeaders`` are both sent; there are no ``cookies``.
- What API Gateway could not map, and a function error, is ``500 {"message":"Internal Server
  Error"}``; an integration that does not answer in time is ``503 {"message":"Service
  Unavailable"}``; a request no route takes is ``404 {"message":"Not Found"}``.
"""

from __future__ import annotations

import json

from lamina import jsonbody
from lamina.jsonbody import NOT_JSON
from lamina.urls import responses as url_responses
from lamina.urls.responses import JSON, Reader, UrlResponse, function_response, structured
from lamina.urls.responses import read_large as read_large  # the 2.0 reader for large payloads, beside read_large_v1

MEMBERS_V1 = ("statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded")


def message(status: int, text: str) -> UrlResponse:
    """One of API Gateway's own answers: ``{"message": text}``."""
    return UrlResponse(status, (("Content-Type", JSON),), json.dumps({"message": text}).encode())


NOT_FOUND = message(404, "Not Found")
INTERNAL_ERROR = message(500, "Internal Server Error")
UNAVAILABLE = message(503, "Service Unavailable")
TOO_LARGE = message(413, "Request Entity Too Large")


def read_large_v1(raw: bytes) -> object:
    """``read_large`` for payload 1.0's members. Blocking: call it in a worker thread."""
    return jsonbody.outline(raw, MEMBERS_V1)


def response_v2(payload: bytes, read: Reader = jsonbody.read) -> UrlResponse:
    mapped = function_response(payload, read)
    return INTERNAL_ERROR if mapped is url_responses.BAD_GATEWAY else mapped


def response_v1(payload: bytes, read: Reader = jsonbody.read) -> UrlResponse:
    result = read(payload)
    if result is NOT_JSON or not isinstance(result, dict) or "statusCode" not in result:
        return INTERNAL_ERROR
    try:
        mapped = structured({k: result.get(k) for k in ("statusCode", "headers", "body", "isBase64Encoded")})
        multi = result.get("multiValueHeaders")
        if mapped is None or not (multi is None or isinstance(multi, dict)):
            return INTERNAL_ERROR
        headers = list(mapped.headers)
        for name, values in (multi or {}).items():
            if not isinstance(values, list):
                return INTERNAL_ERROR
            for value in values:
                pair = (str(name), value if isinstance(value, str) else json.dumps(value))
                if pair not in headers and name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    headers.append(pair)
        if any(k.lower() == "content-type" for k, _ in headers[1:]) and headers[0] == ("Content-Type", JSON):
            headers.pop(0)  # the default, when multiValueHeaders named the type
        return UrlResponse(mapped.status, tuple(headers), mapped.body)
    except (RecursionError, UnicodeEncodeError):
        return INTERNAL_ERROR
