"""Serving HTTP APIs at their execute-api addresses (``lamina.gateway.endpoint``'s contract).

What a request goes through, in order:

1. the API (``HttpApis.find``; unknown, or its execute-api endpoint disabled: the directory's 403);
2. the stage (``routing.resolve_stage``: a named stage's first path segment, else ``$default``)
   and what it serves (its deployment); none → 404 ``{"message":"Not Found"}``;
3. a CORS preflight, when the API has a CorsConfiguration: answered here (204), never routed;
4. the route (``routing.select``) and its integration; none → 404;
5. authorization: a route's authorizer decides (``authorizing.py``); refused, its answer is sent
   and nothing is invoked; allowed, the event carries ``requestContext.authorizer``. An
   ``AWS_IAM`` route takes a SigV4 signature for ``execute-api`` of a caller IAM allows
   ``execute-api:Invoke`` (``authorizers/iam.py``; the body is read first: the signature covers
   it); the caller is ``requestContext.authorizer.iam`` (payload 2.0) or fills
   ``requestContext.identity`` (1.0);
6. the event (``events.event_v2`` / ``event_v1``), invoked through the invoker of the function's
   account (``gateway/reach.py``: another account's function in its own cell, if its policy allows
   the API; never this account's function of the same name), as the Invoke API invokes (its
   limits, throttling, logs and billing), waiting at most the integration's TimeoutInMillis (503
   after that; the invocation itself runs on to its end, as on AWS);
7. the result mapped (``responses``): a function error or a result API Gateway cannot map → 500.
   With CORS configured, the API's CORS headers replace any the function set, as on AWS.

Large bodies and payloads are encoded and parsed in worker threads (``jsonbody.INLINE_BYTES``).
The request and the answer are plain values (``gateway.exchange``): the front door serves plain
requests through ``answer``; aiohttp's middleware serves the rest through ``serve``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Mapping

from aiohttp import web
from multidict import CIMultiDict

from lamina import ids, jsonbody, jsonwrite
from lamina.api.context import Services
from lamina.api.errors import RequestTimeout
from lamina.errors import ApiError, RequestTooLarge
from lamina.gateway.aiohttp_exchange import AiohttpExchange
from lamina.gateway.exchange import ApiAnswer, ApiRequest, Early
from lamina.gateway.http import responses
from lamina.gateway.authorizers import iam
from lamina.gateway.authorizers.decision import Refuse
from lamina.gateway.http.authorizer_events import Builder, route_arn, with_authorizer, with_identity
from lamina.gateway.http.authorizing import Authorized, HttpAuthorizing, refusal
from lamina.gateway.http.control import HttpApis
from lamina.gateway.http.state import Table
from lamina.gateway.http.events import describe, event_v1, event_v2
from lamina.gateway.http.model import Integration
from lamina.gateway.http.routing import Match, resolve_stage, select
from lamina.gateway.reach import InvokerOf, Reach, nowhere
from lamina.iam.context import transport_keys
from lamina.invoke.service import InvokeRequest, InvokeSource
from lamina.model import UrlCors
from lamina.urls import cors
from lamina.urls.events import Caller as EventCaller
from lamina.urls.responses import UrlResponse

log = logging.getLogger(__name__)


class HttpApiEndpoints:
    """The ``Endpoints`` of HTTP APIs (a ``PlainEndpoints`` too): registered in ``Services.apis``."""

    def __init__(self, apis: HttpApis, services: Services, invoker_of: InvokerOf = nowhere) -> None:
        self._apis = apis
        self._svc = services
        self._reach = Reach(services.invoker, services.settings, invoker_of)
        self._aiohttp = AiohttpExchange(self)
        self._authorizing = HttpAuthorizing(services.invoker, services.settings)  # its answers and JWKS kept

    def serves(self, api_id: str) -> bool:
        state = self._apis.find(api_id)
        return state is not None and not state.api.disable_execute_api_endpoint

    async def serve(self, request: web.Request, api_id: str, path: str) -> web.StreamResponse:
        return await self._aiohttp.serve(request, api_id, path)

    def body_timed_out(self, request: ApiRequest, api_id: str) -> ApiAnswer:
        """The answer to a request whose body did not arrive in time (the connection then closes)."""
        state = self._apis.find(api_id)
        api_cors = state.api.cors if state is not None else None
        return _with_cors(_write(responses.message(408, "Request Timeout"), ids.request_id(), close=True), api_cors,
                          request.headers.get("Origin"))  # fmt: skip

    async def answer(self, request: ApiRequest, api_id: str, path: str, early: Early) -> ApiAnswer:
        request_id = ids.request_id()
        state = self._apis.find(api_id)
        if state is None:
            return _write(responses.NOT_FOUND, request_id)
        api_cors = state.api.cors
        origin = request.headers.get("Origin")
        stage = resolve_stage(state.stages, path)
        table = state.tables.get(stage[0]) if stage else None
        if stage is None or table is None:
            return _write(responses.NOT_FOUND, request_id)
        preflight = cors.is_preflight(request.method, origin, request.headers.get("Access-Control-Request-Method"))
        if api_cors is not None and preflight:
            return _write(UrlResponse(204, cors.preflight_headers(api_cors, origin), b""), request_id)
        match = select(table.routes, request.method, stage[1])
        integration = table.targets.get(match.route_key) if match else None
        if match is None or integration is None:
            return _with_cors(_write(responses.NOT_FOUND, request_id), api_cors, origin)
        # Authorization: a route's authorizer decides before anything is invoked.
        authorized: Authorized | None = None
        identity: Mapping[str, object] | None = None
        body: bytes | None = None
        guard = table.guards.get(match.route_key)
        if guard is not None and guard.iam:
            read = await self._read(request)
            if isinstance(read, UrlResponse):
                return _with_cors(_write(read, request_id, close=read.status == 408), api_cors, origin)
            body = read
            checked = self._iam_caller(request, api_id, state.api.api_id, path, stage, body)
            if isinstance(checked, Refuse):
                return _with_cors(_write(refusal(checked), request_id), api_cors, origin)
            authorized, identity = Authorized({"iam": _iam_member(checked)}, {}), iam.identity_v1(checked)
        elif guard is not None:
            verdict = await self._authorizing.authorize(guard, request, api_id=state.api.api_id, path=path,
                                                        route_path=stage[1], table=table, match=match,
                                                        request_id=request_id)  # fmt: skip
            if not isinstance(verdict, Authorized):
                return _with_cors(_write(refusal(verdict), request_id), api_cors, origin)
            authorized = verdict
        # The integration's timeout is a timer, not a task per request: if it fires, the 503 is sent
        # at once (and the connection closes), while this waits for the invocation to end.
        late: list[ApiAnswer] = []

        def timed_out() -> None:
            late.append(_with_cors(_write(responses.UNAVAILABLE, request_id, close=True), api_cors, origin))
            early(late[0])

        timer = asyncio.get_running_loop().call_later(integration.timeout_ms / 1000, timed_out)
        try:
            response = await self._invoke(request, state.api.api_id, path, table, match, integration, request_id,
                                          authorized, identity, body)  # fmt: skip
        except RequestTimeout:
            response = responses.message(408, "Request Timeout")
        except Exception:
            log.exception("HTTP API %s route %s failed", api_id, match.route_key)
            response = responses.INTERNAL_ERROR
        finally:
            timer.cancel()
        if late:  # what the function answered after the timeout is dropped, as API Gateway does
            return late[0]
        return _with_cors(_write(response, request_id, close=response.status == 408), api_cors, origin)

    async def _read(self, request: ApiRequest) -> bytes | UrlResponse:
        """The request's body, or the answer to one too large (413) or too slow (408)."""
        limit = self._svc.settings.limits.sync_payload_bytes
        if request.content_length is not None and request.content_length > limit:
            return responses.TOO_LARGE
        try:
            return await request.read()
        except RequestTooLarge:
            return responses.TOO_LARGE
        except RequestTimeout:
            return responses.message(408, "Request Timeout")

    def _iam_caller(self, request: ApiRequest, asked: str, api_id: str, path: str, stage: tuple[str, str],
                    body: bytes) -> EventCaller | Refuse:  # fmt: skip
        """The caller of an AWS_IAM route (``asked``: the id the request named; ``path``: within the
        API, as sent; ``stage``: its name and the path within it), or the refusal."""
        s = self._svc.settings
        arn = iam.invoke_arn(s.region, s.account_id, api_id, stage[0], request.method, stage[1])
        signed = iam.Signed(request.method, iam.signed_path(asked, path, request.headers.get("Host", "")),
                            request.raw_query, tuple((str(k), v) for k, v in request.headers.items()), body)  # fmt: skip
        ring = request.ring if request.ring is not None else self._svc.keys
        return iam.authorize(signed, ring, self._svc.iam, region=s.region, api_account=s.account_id, arn=arn,
                             api_policy=None, now=datetime.now(timezone.utc), rest=False,
                             transport=transport_keys(request.secure, request.remote))  # fmt: skip

    async def _invoke(self, request: ApiRequest, api_id: str, path: str, table: Table, match: Match,
                      integration: Integration, request_id: str, authorized: Authorized | None,
                      identity: Mapping[str, object] | None, read: bytes | None) -> UrlResponse:  # fmt: skip
        svc = self._svc
        body = read if read is not None else await self._read(request)
        if isinstance(body, UrlResponse):
            return body
        req, ctx = describe(request, svc.settings, api_id, path, table, match, request_id, body)
        v1 = integration.payload_format_version == "1.0"
        build: Builder = event_v1 if v1 else event_v2
        if identity is not None:  # AWS_IAM: payload 1.0 has its caller in requestContext.identity
            build = with_identity(build, identity) if v1 else with_authorizer(build, authorized.v2 if authorized else {})
        elif authorized is not None:
            build = with_authorizer(build, authorized.member(integration.payload_format_version))
        now_ms = int(time.time() * 1000)
        if len(body) <= jsonbody.INLINE_BYTES:
            payload = jsonwrite.compact(build(req, ctx, now_ms))
        else:
            payload = await asyncio.to_thread(lambda: jsonwrite.compact(build(req, ctx, now_ms)))
        route = route_arn(svc.settings.region, ctx.account_id, api_id, ctx.stage, req.method, ctx.resource)
        source = InvokeSource("apigateway.amazonaws.com", route, ctx.account_id)
        call = InvokeRequest(function=integration.function_arn, payload=payload, request_id=request_id, built=True,
                             source=source)  # fmt: skip
        invoker = self._reach.invoker(integration.function_arn)
        if invoker is None:
            log.info("HTTP API %s: %s names %s, which no cell here has", api_id, match.route_key, integration.function_arn)
            return responses.INTERNAL_ERROR
        try:
            result = await invoker.invoke(call)
        except RequestTooLarge:
            return responses.TOO_LARGE
        except ApiError as exc:  # throttled, the function gone, ...: API Gateway says no more than this
            log.info("HTTP API %s could not invoke %s: %s %s", api_id, integration.function_arn, exc.code, exc.message)
            return responses.INTERNAL_ERROR
        if result.function_error:
            return responses.INTERNAL_ERROR
        if len(result.payload) <= jsonbody.INLINE_BYTES:
            return responses.response_v1(result.payload) if v1 else responses.response_v2(result.payload)
        if v1:
            return await asyncio.to_thread(responses.response_v1, result.payload, responses.read_large_v1)
        return await asyncio.to_thread(responses.response_v2, result.payload, responses.read_large)


def _iam_member(caller: EventCaller) -> dict[str, object]:
    """``requestContext.authorizer.iam`` of payload 2.0, as AWS fills it."""
    return {"accessKey": caller.access_key, "accountId": caller.account_id, "callerId": caller.caller_id,
            "cognitoIdentity": None, "principalOrgId": None, "userArn": caller.user_arn, "userId": caller.user_id}


def _write(response: UrlResponse, request_id: str, *, close: bool = False) -> ApiAnswer:
    if any(name.lower() == "apigw-requestid" for name, _ in response.headers):
        replaced = CIMultiDict(response.headers)  # the function's value replaced where it stands
        replaced["apigw-requestid"] = request_id
        return ApiAnswer(response.status, list(replaced.items()), response.body, close)
    return ApiAnswer(response.status, [*response.headers, ("apigw-requestid", request_id)], response.body, close)


def _with_cors(answer: ApiAnswer, api_cors: UrlCors | None, origin: str | None) -> ApiAnswer:
    if api_cors is None:
        return answer
    headers = [(k, v) for k, v in answer.headers if not k.lower().startswith("access-control-")]
    headers.extend(cors.response_headers(api_cors, origin))
    answer.headers = headers
    return answer
