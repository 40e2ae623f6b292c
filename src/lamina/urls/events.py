"""A request to a function URL as the event the function receives: payload format version 2.0.

The event is what AWS builds for function URLs (aws/docs/urls-invocation.md, and the captured
events in aws/events/): header names lower-cased and repeated headers joined with commas, the
``Cookie`` header moved to ``cookies``, repeated query parameters joined with commas, and a body
that is text only for text content types (anything else arrives base64-encoded, with
``isBase64Encoded`` true). Members AWS leaves out when they are empty (``cookies``,
``queryStringParameters``, ``body``) are left out here too.

Everything here is a pure function of a ``UrlRequest`` and an ``EventContext``.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

# Headers about one hop of the connection, not the request: AWS does not pass them on.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
})  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_SUBTYPES = frozenset({"javascript", "x-javascript", "ecmascript"})


@dataclass(frozen=True)
class UrlRequest:
    """What a function URL received, as plain values."""

    method: str
    raw_path: str  # as sent (percent-encoded), without the query string; the function's path
    raw_query: str  # as sent, without the "?"
    headers: tuple[tuple[str, str], ...]  # in arrival order, repeats kept
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    secure: bool = False  # over TLS (Lamina's HTTPS listener): x-forwarded-proto https


@dataclass(frozen=True)
class Caller:
    """The identity behind a SigV4-signed request: ``requestContext.authorizer.iam``."""

    access_key: str
    account_id: str
    caller_id: str
    user_arn: str
    user_id: str


@dataclass(frozen=True)
class EventContext:
    """What the event says beyond the request itself."""

    url_id: str
    domain_name: str
    request_id: str  # the invocation's request id, as the function's context sees it
    now: datetime  # timezone-aware
    trace_id: str  # the x-amzn-trace-id header's value
    forwarded_port: int
    caller: Caller | None = None  # set for AWS_IAM URLs


def is_text(content_type: str | None) -> bool:
    """Whether a body of this Content-Type reaches the function as text (else it is base64).

    text/*, and JSON, XML and JavaScript media types, are text; everything else is binary to AWS,
    ``application/x-www-form-urlencoded`` and ``multipart/form-data`` included, as is a body
    without a Content-Type.
    """
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = mime.partition("/")
    return kind == "text" or "json" in subtype or "xml" in subtype or subtype in _TEXT_SUBTYPES


def encode_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """(body, isBase64Encoded): text for text content types that decode as UTF-8, else base64."""
    if is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def request_time(now: datetime) -> str:
    """``requestContext.time``: 05/Aug/2022:08:14:39 +0000 (English month names, whatever the locale)."""
    t = now.astimezone(timezone.utc)
    return f"{t.day:02d}/{_MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"


def request_time_ms(now_ms: int) -> str:
    """``request_time`` of a time in milliseconds since the epoch, without a ``datetime``."""
    t = time.gmtime(now_ms // 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def event_headers(req: UrlRequest, ctx: EventContext) -> tuple[dict[str, str], list[str]]:
    """(headers, cookies): names lower-cased, repeats joined with ",", cookies split out."""
    return request_headers(req, ctx.forwarded_port, ctx.trace_id)


def request_headers(req: UrlRequest, forwarded_port: int, trace_id: str) -> tuple[dict[str, str], list[str]]:
    """``event_headers`` given the port and trace id alone."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in req.headers:
        key = name.lower()
        if key in HOP_BY_HOP:
            continue
        if key == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {req.source_ip}" if forwarded else req.source_ip
    headers["x-forwarded-proto"] = "https" if req.secure else "http"
    headers["x-forwarded-port"] = str(forwarded_port)
    headers["x-amzn-trace-id"] = trace_id
    return headers, cookies


def query_parameters(raw_query: str) -> dict[str, str]:
    """``queryStringParameters``: decoded, repeated names' values joined with ","."""
    params: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


def http_context(req: UrlRequest, headers: Mapping[str, str]) -> dict[str, str]:
    """A payload-2.0 event's ``requestContext.http`` (``headers``: the event's, names lower-cased)."""
    return {
        "method": req.method.upper(),
        "path": req.raw_path,
        "protocol": req.protocol,
        "sourceIp": req.source_ip,
        "userAgent": headers.get("user-agent", ""),
    }


def build_event(req: UrlRequest, ctx: EventContext) -> dict[str, object]:
    """The payload-format-2.0 event of one function URL request, members in AWS's order."""
    headers, cookies = event_headers(req, ctx)
    request_context: dict[str, object] = {
        "accountId": ctx.caller.account_id if ctx.caller else "anonymous",
        "apiId": ctx.url_id,
    }
    if ctx.caller is not None:
        request_context["authentication"] = None  # as in AWS's IAM example; NONE URLs' events leave it out
        request_context["authorizer"] = {
            "iam": {
                "accessKey": ctx.caller.access_key,
                "accountId": ctx.caller.account_id,
                "callerId": ctx.caller.caller_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": ctx.caller.user_arn,
                "userId": ctx.caller.user_id,
            }
        }
    request_context.update({
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.url_id,
        "http": http_context(req, headers),
        "requestId": ctx.request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": request_time(ctx.now),
        "timeEpoch": int(ctx.now.timestamp() * 1000),
    })  # fmt: skip
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": req.raw_path,
        "rawQueryString": req.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    params = query_parameters(req.raw_query)
    if params:
        event["queryStringParameters"] = params
    event["requestContext"] = request_context
    is_base64 = False
    if req.body:
        event["body"], is_base64 = encode_body(req.body, headers.get("content-type"))
    event["isBase64Encoded"] = is_base64
    return event
