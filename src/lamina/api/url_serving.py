"""Serving function URLs over HTTP, on Lamina's own port, ahead of the Lambda API.

A URL answers at two addresses (``lamina.urls.addresses``):

    http://<url-id>.lambda-url.<region>.localhost:<port>/<path>   routed by the Host header
    http://<host>:<port>/lamina/v1/urls/<url-id>/<path>            the same, without DNS

``function_urls`` is the application's first middleware: a request for either address never
reaches the Lambda API's routes, errors or guard. What a request goes through, in order:

1. the URL, by url-id: unknown (or deleted) → 403 ``{"Message": null}``, as AWS answers;
2. a CORS preflight, when the URL has ``Cors``: answered here, without invoking;
3. ``AWS_IAM``: the SigV4 signature (``lamina.urls.sigv4``) → 403 ``{"Message": "Forbidden"}``;
4. the payload-2.0 event (``lamina.urls.events``), invoked through the same ``Invoker`` as the
   Invoke API (its limits, throttling, logs and billing); the request id is the event's
   ``requestContext.requestId``;
5. the result mapped to HTTP (``lamina.urls.responses``): a function error → 502, a throttle →
   429, with the URL's CORS headers added. ``RESPONSE_STREAM`` URLs are mapped as streams but
   sent whole, once the function has finished. A payload larger than ``jsonbody.INLINE_BYTES``
   is mapped in a worker thread, its JSON read by SQLite (``responses.read_large``): a function
   cannot stall the event loop with what it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import datetime, timezone

from aiohttp import web
from multidict import CIMultiDict

from lamina import ids, jsonbody
from lamina.api.context import Services, read_body, services
from lamina.api.errors import Handler, RequestTimeout
from lamina.errors import ApiError, RequestTooLarge, ResourceNotFound, ServiceError, TooManyRequests
from lamina.invoke.service import InvokeRequest
from lamina.model import LATEST, FunctionUrlConfig, InvokeMode, UrlAuthType
from lamina.urls import addresses, cors
from lamina.urls.events import Caller, EventContext, UrlRequest, build_event
from lamina.urls.responses import (
    BAD_GATEWAY,
    FORBIDDEN,
    NO_SUCH_URL,
    NO_TARGET,
    UrlResponse,
    error,
    function_response,
    read_large,
    streamed_response,
)
from lamina.urls.sigv4 import Credentials, Refusal, SignedRequest, verify

log = logging.getLogger(__name__)


def _target(request: web.Request, region: str) -> tuple[str, str] | None:
    """(url-id, the function's raw path) if the request is for a function URL."""
    host = addresses.parse_host(request.host)
    if host is not None:
        url_id, host_region = host
        # Another region's URL is not served here: it is as unknown as on AWS's endpoint for this region.
        return (url_id if host_region == region else "", request.rel_url.raw_path)
    return addresses.split_path_form(request.rel_url.raw_path)


@web.middleware
async def function_urls(request: web.Request, handler: Handler) -> web.StreamResponse:
    svc = services(request)
    target = _target(request, svc.settings.region)
    if target is None:
        return await handler(request)
    url_id, path = target
    request_id = ids.request_id()
    url = svc.urls.resolve(url_id)
    if url is None:
        return _write(NO_SUCH_URL, request_id)
    origin = request.headers.get("Origin")
    preflight = cors.is_preflight(request.method, origin, request.headers.get("Access-Control-Request-Method"))
    if url.cors is not None and preflight:
        return _write(UrlResponse(200, cors.preflight_headers(url.cors, origin), b""), request_id)
    try:
        response = await _serve(request, svc, url, path, request_id)
    except RequestTimeout as exc:
        timed_out = _write(error(exc.status, exc.message, exc.code), request_id)
        timed_out.force_close()
        return timed_out
    except Exception:
        log.exception("function URL %s (%s) failed", url.url_id, url.function)
        response = error(500, "Internal Server Error")
    if url.cors is not None:
        extra = cors.response_headers(url.cors, origin)
        response = UrlResponse(response.status, response.headers + extra, response.body)
    return _write(response, request_id)


async def _serve(
    request: web.Request, svc: Services, url: FunctionUrlConfig, path: str, request_id: str
) -> UrlResponse:
    limit = svc.settings.limits.sync_payload_bytes
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    try:
        body = await read_body(request)
    except web.HTTPRequestEntityTooLarge:
        return _too_large(limit)
    now = datetime.now(timezone.utc)
    headers = tuple((str(k), v) for k, v in request.headers.items())
    caller: Caller | None = None
    if url.auth_type is UrlAuthType.AWS_IAM:
        signed = SignedRequest(request.method, f"{request.scheme}://{request.host}{request.raw_path}", headers, body)
        s = svc.settings
        verdict = verify(signed, Credentials(s.access_key_id, s.secret_access_key, s.account_id), s.region, now)
        if isinstance(verdict, Refusal):
            log.info("function URL %s refused a request: %s", url.url_id, verdict.reason)
            return FORBIDDEN
        caller = verdict
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    event = build_event(
        UrlRequest(
            method=request.method, raw_path=path, raw_query=request.rel_url.raw_query_string, headers=headers,
            body=body, source_ip=request.remote or "", protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        ),
        EventContext(
            url_id=url.url_id, domain_name=addresses.domain_name(url.url_id, svc.settings.region),
            request_id=request_id, now=now, trace_id=_trace_id(),
            forwarded_port=int(sockname[1]) if sockname else svc.settings.port, caller=caller,
        ),
    )  # fmt: skip
    try:
        result = await svc.invoker.invoke(InvokeRequest(
            function=url.function, payload=json.dumps(event).encode(),
            qualifier=None if url.qualifier == LATEST else url.qualifier, request_id=request_id,
        ))  # fmt: skip
    except TooManyRequests as exc:
        throttled = error(429, exc.message, exc.code)
        return UrlResponse(429, throttled.headers + tuple(exc.headers().items()), throttled.body)
    except ResourceNotFound:
        return NO_TARGET  # the URL's alias is gone (the URL stays, as on AWS)
    except RequestTooLarge:
        return _too_large(limit)
    except ServiceError as exc:
        log.warning("function URL %s could not invoke %s: %s", url.url_id, url.function, exc.message)
        return BAD_GATEWAY
    except ApiError as exc:
        return error(exc.status, exc.message, exc.code)
    if result.function_error:
        return BAD_GATEWAY
    # A stream is mapped as a stream, and sent whole.
    mapping = streamed_response if url.invoke_mode is InvokeMode.RESPONSE_STREAM else function_response
    if len(result.payload) <= jsonbody.INLINE_BYTES:
        return mapping(result.payload)
    return await asyncio.to_thread(mapping, result.payload, read_large)


def _too_large(limit: int) -> UrlResponse:
    return error(413, f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
                 RequestTooLarge.code)  # fmt: skip


def _trace_id() -> str:
    return f"Root={ids.trace_root()}"


def _write(response: UrlResponse, request_id: str) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict(response.headers)
    headers["x-amzn-RequestId"] = request_id
    return web.Response(status=response.status, body=response.body, headers=headers)
