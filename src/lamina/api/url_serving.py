"""Serving function URLs over HTTP, on Lamina's own port, ahead of the Lambda API.

A URL answers at two addresses (``lamina.urls.addresses``):

    http://<url-id>.lambda-url.<region>.localhost:<port>/<path>   routed by the Host header
    http://<host>:<port>/lamina/v1/urls/<url-id>/<path>            the same, without DNS

``function_urls`` is the application's first middleware: a request for either address never
reaches the Lambda API's routes, errors or guard (nor the execute-api middleware: a URL's Host or
path comes first, whatever else the request names). What a request goes through, in order:

1. the URL, by url-id: unknown (or deleted) → 403 ``{"Message": null}``, as AWS answers;
2. a CORS preflight, when the URL has ``Cors``: answered here, without invoking;
3. ``AWS_IAM``: the SigV4 signature (``lamina.identity.sigv4``, against the same keys as every
   other request), then the caller's permission to ``lambda:InvokeFunctionUrl`` with
   ``lambda:FunctionUrlAuthType`` AWS_IAM (``authorization.url_allowed``: identity policies, the
   function's resource policy, as AWS decides it) → 403 ``{"Message": "Forbidden"}``;
4. the payload-2.0 event (``lamina.urls.events``), invoked through the same ``Invoker`` as the
   Invoke API (its limits, throttling, logs and billing); the request id is the event's
   ``requestContext.requestId``;
5. the result mapped to HTTP (``lamina.urls.responses``): a function error → 502, a throttle →
   429, with the URL's CORS headers added. ``RESPONSE_STREAM`` URLs are mapped as streams but
   sent whole, once the function has finished. A payload larger than ``jsonbody.INLINE_BYTES``
   is mapped in a worker thread, its JSON read by SQLite (``responses.read_large``): a function
   cannot stall the event loop with what it returns.

The request and the answer are plain values (``gateway.exchange``), so one piece of code,
``UrlServing``, serves both planes: the front door (``lamina.dataplane``) answers plain requests
with it, and ``function_urls`` the requests on connections aiohttp owns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone

from aiohttp import web
from multidict import CIMultiDict

from lamina import ids, jsonbody
from lamina.api.authentication import KEY_RING
from lamina.api.authorization import url_allowed
from lamina.api.context import CELLS, CellLookup, Services
from lamina.api.errors import Handler, RequestTimeout
from lamina.api.scopes import LAMBDA
from lamina.iam.context import transport_keys
from lamina.errors import ApiError, RequestTooLarge, ResourceNotFound, ServiceError, TooManyRequests
from lamina.gateway.aiohttp_exchange import plain, response
from lamina.gateway.exchange import ApiAnswer, ApiRequest
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
from lamina.identity.principals import KeyRing
from lamina.identity.sigv4 import Refusal, SignedRequest, verify

log = logging.getLogger(__name__)

Located = tuple[str, str]
"""(url-id, the function's raw path) of a request for a function URL; the url-id is ``""`` for
another region's URL (as unknown here as on AWS's endpoint for this region)."""


class UrlServing:
    """Function URLs served on plain values (``gateway.exchange``): by ``function_urls`` for the
    connections aiohttp owns, and by the front door (``lamina.dataplane``) for plain requests."""

    def __init__(self, cells: CellLookup, ring: KeyRing) -> None:
        self._cells = cells  # which cell has a URL, by its url-id (lamina.cells.registry)
        self.ring = ring  # what signatures are verified against (AWS_IAM URLs)

    def locate(self, host: str, raw_path: str) -> Located | None:
        """Where a request for ``host`` and ``raw_path`` (without its query) goes, if to a function URL."""
        named = addresses.parse_host(host)
        if named is not None:
            url_id, region = named
            found = self._cells.with_url(url_id)
            return (url_id if found is not None and region == found[0].settings.region else "", raw_path)
        return addresses.split_path_form(raw_path)

    async def answer(self, request: ApiRequest, located: Located, address: str) -> ApiAnswer:
        """The answer to ``request`` (``address``: ``scheme://host/<target as sent>``, what an
        ``AWS_IAM`` URL's signature covers). It never raises for what the client or the function did."""
        request_id = ids.request_id()
        found = self._before_body(request, located[0], request_id)
        if isinstance(found, ApiAnswer):
            return found
        svc, url = found
        try:
            response = await self._serve(request, svc, url, located[1], address, request_id)
        except RequestTimeout as exc:
            return _answer(error(exc.status, exc.message, exc.code), request_id, close=True)
        except Exception:
            log.exception("function URL %s (%s) failed", url.url_id, url.function)
            response = error(500, "Internal Server Error")
        if url.cors is not None:
            extra = cors.response_headers(url.cors, request.headers.get("Origin"))
            response = UrlResponse(response.status, response.headers + extra, response.body)
        return _answer(response, request_id)

    def body_timed_out(self, request: ApiRequest, located: Located) -> ApiAnswer:
        """The answer to ``request`` (its body unread) whose body did not arrive in time: what
        ``answer`` says without reading a body (an unknown URL, a preflight), else a 408 after
        which the connection closes."""
        request_id = ids.request_id()
        found = self._before_body(request, located[0], request_id)
        if isinstance(found, ApiAnswer):
            return found
        late = RequestTimeout("The request body did not arrive in time.")
        return _answer(error(late.status, late.message, late.code), request_id, close=True)

    def _before_body(self, request: ApiRequest, url_id: str,
                     request_id: str) -> tuple[Services, FunctionUrlConfig] | ApiAnswer:  # fmt: skip
        """The URL and its cell, or the answer given before any body is read: an unknown URL's, a preflight's."""
        found = self._cells.with_url(url_id) if url_id else None
        if found is None:
            return _answer(NO_SUCH_URL, request_id)
        url = found[1]
        origin = request.headers.get("Origin")
        if url.cors is not None and cors.is_preflight(request.method, origin,
                                                      request.headers.get("Access-Control-Request-Method")):  # fmt: skip
            return _answer(UrlResponse(200, cors.preflight_headers(url.cors, origin), b""), request_id)
        return found

    async def _serve(self, request: ApiRequest, svc: Services, url: FunctionUrlConfig, path: str, address: str,
                     request_id: str) -> UrlResponse:  # fmt: skip
        limit = svc.settings.limits.sync_payload_bytes
        if request.content_length is not None and request.content_length > limit:
            return _too_large(limit)
        try:
            body = await request.read()
        except RequestTooLarge:
            return _too_large(limit)
        now = datetime.now(timezone.utc)
        headers = tuple((str(k), v) for k, v in request.headers.items())
        caller: Caller | None = None
        if url.auth_type is UrlAuthType.AWS_IAM:
            target = address.partition("://")[2].partition("/")[2]
            raw_path, _, raw_query = ("/" + target).partition("?")
            s = svc.settings
            verdict = verify(SignedRequest(request.method, raw_path, raw_query, headers, body), self.ring,
                             region=s.region, accounts=None, now=now, service=LAMBDA)  # fmt: skip
            if isinstance(verdict, Refusal):
                log.info("function URL %s refused a request: %s", url.url_id, verdict.detail)
                return FORBIDDEN
            qualifier = None if url.qualifier == LATEST else url.qualifier
            if not await url_allowed(svc, verdict, url.function, qualifier,
                                     transport_keys(request.secure, request.remote)):  # fmt: skip
                log.info("function URL %s refused %s: not allowed lambda:InvokeFunctionUrl", url.url_id,
                         verdict.principal.arn)  # fmt: skip
                return FORBIDDEN
            key = verdict.key
            caller = Caller(access_key=key.access_key_id, account_id=verdict.account_id,
                            caller_id=verdict.principal.user_id, user_arn=verdict.principal.arn,
                            user_id=verdict.principal.user_id)  # fmt: skip
        event = build_event(
            UrlRequest(
                method=request.method, raw_path=path, raw_query=request.raw_query, headers=headers, body=body,
                source_ip=request.remote, protocol=request.protocol, secure=request.secure,
            ),
            EventContext(
                url_id=url.url_id, domain_name=addresses.domain_name(url.url_id, svc.settings.region),
                request_id=request_id, now=now, trace_id=_trace_id(),
                forwarded_port=request.local_port if request.local_port is not None else svc.settings.port,
                caller=caller,
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


@web.middleware
async def function_urls(request: web.Request, handler: Handler) -> web.StreamResponse:
    serving = UrlServing(request.app[CELLS], request.app[KEY_RING])
    located = serving.locate(request.host, request.rel_url.raw_path)
    if located is None:
        return await handler(request)
    address = f"{request.scheme}://{request.host}{request.raw_path}"
    return response(await serving.answer(plain(request), located, address))


def _too_large(limit: int) -> UrlResponse:
    return error(413, f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
                 RequestTooLarge.code)  # fmt: skip


def _trace_id() -> str:
    return f"Root={ids.trace_root()}"


def _answer(response: UrlResponse, request_id: str, *, close: bool = False) -> ApiAnswer:
    """The response with its request id, as the headers aiohttp writes them: a function's own
    ``x-amzn-RequestId`` is replaced where it stands."""
    headers: CIMultiDict[str] = CIMultiDict(response.headers)
    headers["x-amzn-RequestId"] = request_id
    return ApiAnswer(response.status, list(headers.items()), response.body, close)
