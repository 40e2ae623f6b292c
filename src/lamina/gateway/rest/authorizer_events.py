"""What a REST API's Lambda authorizer is asked, as API Gateway asks it; pure functions of the request.

- ``method_arn``: ``arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}``, the
  request's method and path (without its leading slash), which the answer's policy is evaluated
  against;
- ``token_event``: ``{"type": "TOKEN", "authorizationToken", "methodArn"}``;
- ``request_event``: ``{"type": "REQUEST", "methodArn"}`` and the members of the proxy event that
  describe the request (``resource``, ``path``, ``httpMethod``, headers and query string, single and
  multi-valued, ``pathParameters``, ``stageVariables``, ``requestContext``), without its body;
- ``request_view``: what identity sources read of the request (``authorizers.identity``).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import replace

from lamina.gateway.authorizers.identity import RequestView
from lamina.gateway.rest.events import RestContext, RestRequest, build_event

_REQUEST_MEMBERS = ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext")  # fmt: skip


def method_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method.upper()}/{path.removeprefix('/')}"


def token_event(token: str, arn: str) -> dict[str, object]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}


def request_event(req: RestRequest, ctx: RestContext, arn: str) -> dict[str, object]:
    proxy = build_event(replace(req, body=b""), replace(ctx, authorizer=None))
    event: dict[str, object] = {"type": "REQUEST", "methodArn": arn}
    event.update((k, proxy[k]) for k in _REQUEST_MEMBERS)
    if event["pathParameters"] is None:
        event["pathParameters"] = {}  # as AWS's samples show it
    return event


def request_view(req: RestRequest, ctx: RestContext, *, with_context: bool = True) -> RequestView:
    """Headers by lower-cased name and query parameters by name, repeats joined by commas; the
    context's values as ``context.<name>`` reads them (``identity.sourceIp``, ``requestId``, ...),
    unless ``with_context`` is false (no source reads them: they are not built)."""
    headers: dict[str, str] = {}
    for name, value in req.headers:
        lower = name.lower()
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(req.raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    context: dict[str, str] = {}
    proxy_context = build_event(replace(req, body=b""), replace(ctx, authorizer=None))["requestContext"] if with_context else None
    if isinstance(proxy_context, dict):
        for key, value in proxy_context.items():
            if isinstance(value, dict):
                context.update((f"{key}.{k}", str(v)) for k, v in value.items() if v is not None)
            elif value is not None:
                context[key] = str(value)
    return RequestView(headers, query, context, dict(ctx.stage_variables))
