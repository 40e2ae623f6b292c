"""A request to an HTTP API route as the event its Lambda integration receives. Pure functions.

Payload format 2.0 is the function URL event (``lamina.urls.events``, which builds the shared
parts: headers lower-cased and joined with commas, cookies split out, query parameters joined,
text or base64 bodies) with what a route adds: its ``routeKey``, ``pathParameters``,
``stageVariables`` and the stage. Payload format 1.0 is the REST-API-like shape: header names as
sent, each with its last value in ``headers`` and all in ``multiValueHeaders`` (the same for the
query string), ``null`` for what is absent, and ``requestContext.identity``.

On AWS, ``rawPath`` (and 1.0's ``path``) of a named stage's request starts with the stage's name;
``$default``'s has none. The captured events these shapes follow are in tests/data/aws_events/.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from lamina.urls.events import HOP_BY_HOP, UrlRequest, encode_body, http_context, query_parameters, request_headers
from lamina import ids
from lamina.gateway import addresses
from lamina.urls.events import request_time_ms

if TYPE_CHECKING:
    from lamina.gateway.exchange import ApiRequest
    from lamina.gateway.http.routing import Match
    from lamina.gateway.http.state import Table
    from lamina.settings import Settings


@dataclass(slots=True)  # one a request, on the hot path: not frozen, whose __init__ costs more
class RouteContext:
    """What the event says about the API, its stage and the route taken."""

    api_id: str
    account_id: str
    domain_name: str
    stage: str
    route_key: str
    resource: str  # the route's path ("/pets/{id}"), or "$default": 1.0's resource and resourcePath
    route_id: str
    path_parameters: Mapping[str, str]
    stage_variables: Mapping[str, str]
    request_id: str
    trace_id: str
    forwarded_port: int


def event_v2(req: UrlRequest, ctx: RouteContext, now_ms: int) -> dict[str, object]:
    """The payload-format-2.0 event, members in AWS's order: the function URL event's parts
    (``lamina.urls.events``) with the route's."""
    headers, cookies = request_headers(req, ctx.forwarded_port, ctx.trace_id)
    event: dict[str, object] = {
        "version": "2.0", "routeKey": ctx.route_key, "rawPath": req.raw_path, "rawQueryString": req.raw_query,
    }  # fmt: skip
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if req.raw_query:
        params = query_parameters(req.raw_query)
        if params:
            event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": ctx.account_id,
        "apiId": ctx.api_id,
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.api_id,
        "http": http_context(req, headers),
        "requestId": ctx.request_id,
        "routeKey": ctx.route_key,
        "stage": ctx.stage,
        "time": request_time_ms(now_ms),
        "timeEpoch": now_ms,
    }
    if ctx.path_parameters:
        event["pathParameters"] = dict(ctx.path_parameters)
    if ctx.stage_variables:
        event["stageVariables"] = dict(ctx.stage_variables)
    is_base64 = False
    if req.body:
        event["body"], is_base64 = encode_body(req.body, headers.get("content-type"))
    event["isBase64Encoded"] = is_base64
    return event


def _headers_v1(req: UrlRequest, ctx: RouteContext) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in req.headers:
        if name.lower() not in HOP_BY_HOP:
            headers.setdefault(name, []).append(value)
    forwarded = next((v for k, v in headers.items() if k.lower() == "x-forwarded-for"), None)
    for added in ("X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id"):
        for key in [k for k in headers if k.lower() == added.lower()]:
            del headers[key]
    headers["X-Forwarded-For"] = [f"{', '.join(forwarded)}, {req.source_ip}" if forwarded else req.source_ip]
    headers["X-Forwarded-Port"] = [str(ctx.forwarded_port)]
    headers["X-Forwarded-Proto"] = ["https" if req.secure else "http"]
    headers["X-Amzn-Trace-Id"] = [ctx.trace_id]
    return headers


def event_v1(req: UrlRequest, ctx: RouteContext, now_ms: int) -> dict[str, object]:
    """The payload-format-1.0 event, members in AWS's order."""
    multi_headers = _headers_v1(req, ctx)
    multi_query: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True):
        multi_query.setdefault(key, []).append(value)
    user_agent = next((v[-1] for k, v in multi_headers.items() if k.lower() == "user-agent"), "")
    content_type = next((v[-1] for k, v in multi_headers.items() if k.lower() == "content-type"), None)
    body: str | None = None
    is_base64 = False
    if req.body:
        body, is_base64 = encode_body(req.body, content_type)
    path = urllib.parse.unquote(req.raw_path)
    identity: dict[str, object] = {
        "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
        "principalOrgId": None, "sourceIp": req.source_ip, "user": None, "userAgent": user_agent, "userArn": None,
    }  # fmt: skip
    request_context: dict[str, object] = {
        "accountId": ctx.account_id, "apiId": ctx.api_id, "domainName": ctx.domain_name,
        "domainPrefix": ctx.api_id, "extendedRequestId": ctx.request_id, "httpMethod": req.method.upper(),
        "identity": identity, "path": path, "protocol": req.protocol, "requestId": ctx.request_id,
        "requestTime": request_time_ms(now_ms),
        "requestTimeEpoch": now_ms, "resourceId": ctx.route_key, "resourcePath": ctx.resource, "stage": ctx.stage,
    }  # fmt: skip
    return {
        "version": "1.0",
        "resource": ctx.resource,
        "path": path,
        "httpMethod": req.method.upper(),
        "headers": {k: v[-1] for k, v in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": request_context,
        "pathParameters": dict(ctx.path_parameters) or None,
        "stageVariables": dict(ctx.stage_variables) or None,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def describe(request: ApiRequest, settings: Settings, api_id: str, path: str, table: Table, match: Match,
             request_id: str, body: bytes = b"") -> tuple[UrlRequest, RouteContext]:  # fmt: skip
    """The request and its route as an event describes them (the integration's, with ``body``; a
    Lambda authorizer's, without: authorizers are not sent the body)."""
    req = UrlRequest(
        method=request.method, raw_path=path, raw_query=request.raw_query, headers=tuple(request.headers.items()),
        body=body, source_ip=request.remote, protocol=request.protocol, secure=request.secure,
    )  # fmt: skip
    ctx = RouteContext(
        api_id=api_id, account_id=settings.account_id, domain_name=addresses.domain_name(api_id),
        stage=table.stage.name, route_key=match.route_key, resource=table.resources.get(match.route_key, match.route_key),
        route_id=match.route_key, path_parameters=match.path_parameters, stage_variables=table.stage.stage_variables,
        request_id=request_id, trace_id=f"Root={ids.trace_root()}",
        forwarded_port=request.local_port or settings.port,
    )  # fmt: skip
    return req, ctx
