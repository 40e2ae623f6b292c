"""What an HTTP API's Lambda authorizer is asked, and what the integration then learns. Pure.

- ``route_arn``: ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``, the
  request's method and its path within the stage (without the leading slash); an IAM policy answer
  is evaluated against it.
- ``request_event_v2`` (payload format 2.0): ``version``, ``type`` ("REQUEST"), ``routeArn``,
  ``identitySource`` (the identity values, a list), then the integration's 2.0 event's members that
  describe the request, without its body (``routeKey``, ``rawPath``, ``rawQueryString``,
  ``cookies``, ``headers``, ``queryStringParameters``, ``requestContext``, ``pathParameters``,
  ``stageVariables``; absent ones left out, as there).
- ``request_event_v1`` (payload format 1.0, REST-like): ``version``, ``type``, ``methodArn``,
  ``identitySource`` and ``authorizationToken`` (both the values joined by commas), then the 1.0
  event's ``resource``, ``path``, ``httpMethod``, ``headers``, ``queryStringParameters``,
  ``pathParameters`` (``{}`` when none), ``stageVariables``, ``requestContext``. These follow AWS's
  samples (tests/unit/test_http_authorizer_events.py compares them key for key).
- ``request_view``: what identity sources read of a request (``authorizers.identity``);
- ``with_authorizer``: an event builder whose events carry ``requestContext.authorizer``.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable, Mapping, Sequence

from lamina.gateway.authorizers.identity import RequestView
from lamina.gateway.http.events import RouteContext, event_v1, event_v2
from lamina.urls.events import UrlRequest, query_parameters, request_time

Builder = Callable[[UrlRequest, RouteContext, int], dict[str, object]]
_MEMBERS_V2 = ("routeKey", "rawPath", "rawQueryString", "cookies", "headers", "queryStringParameters",
               "requestContext", "pathParameters", "stageVariables")  # fmt: skip
_MEMBERS_V1 = ("resource", "path", "httpMethod", "headers", "queryStringParameters", "pathParameters",
               "stageVariables", "requestContext")  # fmt: skip


def route_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method.upper()}/{path.removeprefix('/')}"


def request_event_v2(req: UrlRequest, ctx: RouteContext, now_ms: int, arn: str,
                     identity: Sequence[str]) -> dict[str, object]:  # fmt: skip
    full = event_v2(replace(req, body=b""), ctx, now_ms)
    event: dict[str, object] = {"version": "2.0", "type": "REQUEST", "routeArn": arn, "identitySource": list(identity)}
    event.update((k, full[k]) for k in _MEMBERS_V2 if k in full)
    return event


def request_event_v1(req: UrlRequest, ctx: RouteContext, now_ms: int, arn: str,
                     identity: Sequence[str]) -> dict[str, object]:  # fmt: skip
    full = event_v1(replace(req, body=b""), ctx, now_ms)
    joined = ",".join(identity)
    event: dict[str, object] = {"version": "1.0", "type": "REQUEST", "methodArn": arn, "identitySource": joined,
                                "authorizationToken": joined}  # fmt: skip
    event.update((k, full[k]) for k in _MEMBERS_V1)
    if event["pathParameters"] is None:
        event["pathParameters"] = {}  # as AWS's sample shows it
    return event


def request_view(req: UrlRequest, ctx: RouteContext, now_ms: int) -> RequestView:
    """Headers by lower-cased name and query parameters by name, repeats joined by commas; the
    context variables ``$context.<name>`` reads (``requestId``, ``identity.sourceIp``, ...)."""
    headers: dict[str, str] = {}
    for name, value in req.headers:
        lower = name.lower()
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    context = {
        "accountId": ctx.account_id, "apiId": ctx.api_id, "domainName": ctx.domain_name,
        "domainPrefix": ctx.api_id, "httpMethod": req.method.upper(), "identity.sourceIp": req.source_ip,
        "identity.userAgent": headers.get("user-agent", ""), "path": urllib.parse.unquote(req.raw_path),
        "protocol": req.protocol, "requestId": ctx.request_id, "requestTime": request_time(
            datetime.fromtimestamp(now_ms / 1000, timezone.utc)), "requestTimeEpoch": str(now_ms),
        "routeKey": ctx.route_key, "stage": ctx.stage,
    }  # fmt: skip
    query = query_parameters(req.raw_query) if req.raw_query else {}
    return RequestView(headers, query, context, dict(ctx.stage_variables))


def with_identity(build: Builder, identity: Mapping[str, object]) -> Builder:
    """``build`` (payload 1.0), its events' ``requestContext.identity`` filled with ``identity`` (an
    AWS_IAM route's caller: accessKey, accountId, caller, user, userArn), as API Gateway fills it."""

    def built(req: UrlRequest, ctx: RouteContext, now_ms: int) -> dict[str, object]:
        event = build(req, ctx, now_ms)
        context = event.get("requestContext")
        found = context.get("identity") if isinstance(context, dict) else None
        if isinstance(found, dict):
            found.update(identity)
        return event

    return built


def with_authorizer(build: Builder, authorizer: Mapping[str, object]) -> Builder:
    """``build``, its events carrying ``authorizer`` as ``requestContext.authorizer``."""

    def built(req: UrlRequest, ctx: RouteContext, now_ms: int) -> dict[str, object]:
        event = build(req, ctx, now_ms)
        context = event.get("requestContext")
        if isinstance(context, dict):
            context["authorizer"] = dict(authorizer)
        return event

    return built
