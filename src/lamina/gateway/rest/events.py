"""A request to a REST API as the Lambda proxy integration's event (payload format 1.0).

Members and order as AWS sends them (aws/events/aws-lambda-go/apigw-request.json and AWS's
documentation): header names as the client wrote them; ``headers`` holds each name's last value,
``multiValueHeaders`` all of them; the same for the query string (decoded). Members without a
value are ``null`` (``queryStringParameters``, ``pathParameters``, ``stageVariables``, ``body``), as
are the identity's members that only an authorizer, an API key or IAM would fill. A body is text
unless its Content-Type matches one of the API's ``binaryMediaTypes`` (then base64, with
``isBase64Encoded`` true); text that is not UTF-8 is decoded with replacement characters, as
API Gateway passes such bytes on as text.

Everything here is a pure function of a ``RestRequest`` and a ``RestContext``.
"""

from __future__ import annotations

import base64
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from lamina.gateway.rest.media import matches_any
from lamina.urls.events import HOP_BY_HOP, request_time

_IDENTITY_NULLS = ("cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller")
_IDENTITY_NULLS_AFTER = ("principalOrgId", "accessKey", "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn")


@dataclass(frozen=True)
class RestRequest:
    method: str
    path: str  # within the stage, as sent (percent-encoded), without the query string
    raw_query: str
    headers: tuple[tuple[str, str], ...]  # in arrival order, repeats kept
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    secure: bool = False  # over TLS (Lamina's HTTPS listener): X-Forwarded-Proto https


@dataclass(slots=True)  # one a request, on the hot path: not frozen, whose __init__ costs more
class RestContext:
    api_id: str
    account_id: str
    stage: str
    resource_id: str
    resource_path: str  # the resource's template: /users/{id}
    path_parameters: dict[str, str]
    stage_variables: dict[str, str]
    binary_media_types: tuple[str, ...]
    domain_name: str
    request_id: str
    extended_request_id: str
    trace_id: str
    now: datetime
    forwarded_port: int
    deployment_id: str = ""
    extra: dict[str, object] = field(default_factory=dict)
    authorizer: dict[str, object] | None = None  # a Lambda authorizer's answer: principalId, context, latency
    identity: Mapping[str, object] | None = None  # an AWS_IAM method's caller: accountId, caller, userArn, ...


def _headers(req: RestRequest, ctx: RestContext) -> list[tuple[str, str]]:
    """The headers the function sees: hop-by-hop ones dropped, API Gateway's own added."""
    out: list[tuple[str, str]] = []
    forwarded: str | None = None
    for name, value in req.headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in ("x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id"):
            continue
        if lower == "x-forwarded-for":
            forwarded = value if forwarded is None else f"{forwarded}, {value}"
            continue
        out.append((name, value))
    out.append(("X-Amzn-Trace-Id", ctx.trace_id))
    out.append(("X-Forwarded-For", f"{forwarded}, {req.source_ip}" if forwarded else req.source_ip))
    out.append(("X-Forwarded-Port", str(ctx.forwarded_port)))
    out.append(("X-Forwarded-Proto", "https" if req.secure else "http"))
    return out


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def encode_body(body: bytes, content_type: str | None, binary_media_types: tuple[str, ...]) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): None for no body; base64 when the Content-Type is a binary media type."""
    if not body:
        return None, False
    if content_type is not None and matches_any(content_type, binary_media_types):
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", "replace"), False


def build_event(req: RestRequest, ctx: RestContext) -> dict[str, object]:
    headers, multi_headers = _single_and_multi(_headers(req, ctx))
    query = urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True) if req.raw_query else []
    params, multi_params = _single_and_multi(query)
    content_type = next((v for k, v in req.headers if k.lower() == "content-type"), None)
    body, is_base64 = encode_body(req.body, content_type, ctx.binary_media_types)
    user_agent = next((v for k, v in req.headers if k.lower() == "user-agent"), None)
    identity: dict[str, object] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = req.source_ip
    identity.update(dict.fromkeys(_IDENTITY_NULLS_AFTER))
    identity["userAgent"] = user_agent
    identity["user"] = None
    if ctx.identity:
        identity.update(ctx.identity)
    stage_path = f"/{ctx.stage}{req.path}"
    request_context: dict[str, object] = {
        "resourceId": ctx.resource_id,
        "resourcePath": ctx.resource_path,
        "httpMethod": req.method.upper(),
        "extendedRequestId": ctx.extended_request_id,
        "requestTime": request_time(ctx.now),
        "path": stage_path,
        "accountId": ctx.account_id,
        "protocol": req.protocol,
        "stage": ctx.stage,
        "domainPrefix": ctx.api_id,
        "requestTimeEpoch": int(ctx.now.timestamp() * 1000),
        "requestId": ctx.request_id,
        "identity": identity,
    }
    if ctx.authorizer is not None:
        request_context["authorizer"] = ctx.authorizer
    request_context["domainName"] = ctx.domain_name
    request_context["apiId"] = ctx.api_id
    return {
        "resource": ctx.resource_path,
        "path": req.path,
        "httpMethod": req.method.upper(),
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": params or None,
        "multiValueQueryStringParameters": multi_params or None,
        "pathParameters": ctx.path_parameters or None,
        "stageVariables": ctx.stage_variables or None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }
