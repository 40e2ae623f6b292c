"""The data plane: REST APIs' stages served at execute-api addresses (``lamina.gateway.endpoint``).

A request's path begins with the stage's name; the rest is matched against the resources of the
stage's deployment (``paths.Tree``), never the API's current ones. What a request goes through:

1. stage, resource and method: a miss is ``403 {"message":"Missing Authentication Token"}``;
2. a method with a Lambda authorizer asks it first (``authorizing.py``): a refusal is answered
   as API Gateway answers it, an allowance reaches the event as ``requestContext.authorizer``;
   an ``AWS_IAM`` method takes a SigV4 signature for ``execute-api`` of a caller IAM allows
   ``execute-api:Invoke`` (``authorizers/iam.py``), who reaches the event as
   ``requestContext.identity``;
3. a method with ``apiKeyRequired``: Lamina has no API keys or usage plans, so no key is ever
   valid: ``403 {"message":"Forbidden"}``, as AWS answers a request without one (never served open);
4. a ``MOCK`` integration is answered from its templates and integration responses (``mock.py``);
   any other integration Lamina does not serve (not a Lambda proxy): 500;
5. the event (``events.build_event``), invoked synchronously through the invoker of the function's
   account (``gateway/reach.py``: another account's function in its own cell, if its policy allows
   the API; never this account's function of the same name), with its limits, throttling, logs and
   billing, for at most the integration's ``timeoutInMillis`` (29 s by default): past it
   ``504 {"message": "Endpoint request timed out"}`` (the invocation runs on);
6. the result (``responses.proxy_response``); a function error or a malformed result is 502, an
   invocation Lambda refuses (throttled, function gone, not allowed) 500, as AWS answers.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from aiohttp import web

from lamina import ids, jsonbody, jsonwrite
from lamina.api.context import read_body
from lamina.api.errors import RequestTimeout
from lamina.errors import ApiError
from lamina.gateway import addresses
from lamina.api.authentication import KEY_RING
from lamina.gateway.authorizers import iam
from lamina.gateway.authorizers.decision import Refuse
from lamina.gateway.reach import InvokerOf, Reach, nowhere
from lamina.gateway.rest import mock, paths
from lamina.gateway.rest.authorizer_events import method_arn
from lamina.gateway.rest.authorizing import Authorized, Authorizing
from lamina.gateway.rest.events import RestContext, RestRequest, build_event
from lamina.gateway.rest.integrations import resolve_function
from lamina.gateway.rest.responses import (
    BAD_GATEWAY, FORBIDDEN, INTERNAL_ERROR, MISSING_AUTHENTICATION_TOKEN, TIMED_OUT, TOO_LARGE, GatewayResponse, proxy_response,
    read_large, refusal,
)  # fmt: skip
from lamina.gateway.rest.service import RestApiService
from lamina.invoke.service import InvokeRequest, InvokeSource, Invoker
from lamina.iam.context import transport_keys
from lamina.iam.errors import MalformedPolicyDocument
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.settings import Settings
from lamina.urls.events import Caller as EventCaller

if TYPE_CHECKING:
    from lamina.iam.service import IamService

log = logging.getLogger(__name__)
# API Gateway's own limit on a request's payload (10 MB); Lambda's 6 MB applies to the event after it.
MAX_PAYLOAD = 10 * 1024 * 1024


class RestEndpoints:
    """Every REST API, as the execute-api listener asks for them."""

    def __init__(self, apis: RestApiService, invoker: Invoker, settings: Settings, *,
                 invoker_of: InvokerOf = nowhere, iam: IamService | None = None) -> None:  # fmt: skip
        self._apis = apis
        self._reach = Reach(invoker, settings, invoker_of)
        self._iam = iam  # AWS_IAM methods' callers' policies (None: no IAM, a verified signature suffices)
        self._settings = settings
        self._authorizing = Authorizing(invoker, settings.region, apis.authorizer_answers)
        # Answers sent when an integration timed out, while its invocation runs on in the handler.
        self._late: set[asyncio.Task[web.Response]] = set()

    def serves(self, api_id: str) -> bool:
        return self._apis.find(api_id) is not None

    async def serve(self, request: web.Request, api_id: str, path: str) -> web.StreamResponse:
        ids_ = _RequestIds(ids.request_id(), base64.b64encode(secrets.token_bytes(10)).decode(),
                           f"Root={ids.trace_root()}")  # fmt: skip
        slow_body = False
        try:
            response = await self._serve(request, api_id, path, ids_)
        except RequestTimeout:  # the request's body did not arrive in time
            response, slow_body = TIMED_OUT, True
        except Exception:
            log.exception("REST API %s failed on %s %s", api_id, request.method, path)
            response = INTERNAL_ERROR
        if isinstance(response, web.Response):  # answered already: the integration timed out
            return response
        answer = _answer(response, ids_)
        if slow_body:
            answer.force_close()
        return answer

    def _answer_late(self, request: web.Request, response: web.Response) -> asyncio.Task[web.Response]:
        """Send ``response`` now, from a task of its own, while the request's handler is still waiting."""
        task = asyncio.create_task(_send(request, response), name=f"rest-api-timeout-{response.headers.get('x-amzn-RequestId')}")
        self._late.add(task)
        task.add_done_callback(self._late.discard)
        return task

    async def _serve(self, request: web.Request, api_id: str, path: str,
                     ids_: _RequestIds) -> GatewayResponse | web.Response:  # fmt: skip
        state = self._apis.find(api_id)
        stage_name, _, rest = path[1:].partition("/")
        stage = state.stages.get(stage_name) if state is not None else None
        deployment = state.deployments.get(stage.deployment_id) if state and stage else None
        if state is None or stage is None or deployment is None:
            return MISSING_AUTHENTICATION_TOKEN
        found = state.tree(deployment).match("/" + rest)
        route = paths.pick_method(found.value, request.method) if found is not None else None
        if found is None or route is None:
            return MISSING_AUTHENTICATION_TOKEN
        if request.content_length is not None and request.content_length > MAX_PAYLOAD:
            return TOO_LARGE
        try:
            body = await read_body(request)
        except web.HTTPRequestEntityTooLarge:
            return TOO_LARGE
        now = datetime.now(timezone.utc)
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        variables = dict(stage.variables)  # one copy, for the event and the function's name
        rest_request, context = (
            RestRequest(
                method=request.method, path="/" + rest, raw_query=request.rel_url.raw_query_string,
                headers=tuple(request.headers.items()), body=body,
                source_ip=request.remote or "", protocol=f"HTTP/{request.version.major}.{request.version.minor}",
                secure=request.secure,
            ),
            RestContext(
                api_id=api_id, account_id=self._settings.account_id, stage=stage.name,
                resource_id=route.resource_id, resource_path=route.path, path_parameters=found.path_parameters,
                stage_variables=variables, binary_media_types=state.api.binary_media_types,
                domain_name=addresses.domain_name(api_id), request_id=ids_.request_id,
                extended_request_id=ids_.extended_request_id, trace_id=ids_.trace_id, now=now,
                forwarded_port=int(sockname[1]) if sockname else self._settings.port,
            ),
        )  # fmt: skip
        if route.authorization_type in ("CUSTOM", "COGNITO_USER_POOLS"):
            authorizer = deployment.authorizers.get(route.authorizer_id or "")
            verdict = await self._authorizing.authorize(authorizer, deployment.id, rest_request, context)
            if not isinstance(verdict, Authorized):
                return refusal(verdict)
            context = replace(context, authorizer=verdict.context)
        elif route.authorization_type == "AWS_IAM":
            caller = self._iam_caller(request, api_id, path, "/" + rest, body, state.api.extra.get("policy"), context,
                                      now)  # fmt: skip
            if not isinstance(caller, EventCaller):
                return refusal(caller)
            context = replace(context, identity=iam.identity_v1(caller))
        if route.api_key_required:  # no key is valid where there are none (docs/rest-apis.md)
            return FORBIDDEN
        if route.integration_type == "MOCK":
            return mock.answer(route.mock or {}, _mock_request(request, body, found.path_parameters))
        function = resolve_function(route.function, variables) if route.function else None
        if function is None:
            log.warning("REST API %s: %s %s has no Lambda proxy integration Lamina serves", api_id, route.http_method, route.path)
            return INTERNAL_ERROR
        invoker = self._reach.invoker(function)
        if invoker is None:
            log.info("REST API %s: %s %s names %s, which no cell here has", api_id, route.http_method, route.path,
                     function)  # fmt: skip
            return INTERNAL_ERROR
        if len(body) <= jsonbody.INLINE_BYTES:
            payload = _payload(rest_request, context)
        else:  # a large body's encoding (base64, JSON escapes) in a worker thread
            payload = await asyncio.to_thread(_payload, rest_request, context)
        # The integration's timeout is a timer, not a task per request: if it fires, a task of its own
        # answers 504 (and the connection closes), while this handler waits for the invocation to end
        # (the function runs on, as on AWS; its result is dropped).
        late: list[asyncio.Task[web.Response]] = []

        def timed_out() -> None:
            answer = _answer(TIMED_OUT, ids_)
            answer.force_close()
            late.append(self._answer_late(request, answer))

        source = InvokeSource("apigateway.amazonaws.com", method_arn(self._settings.region, context.account_id, api_id,
                              context.stage, route.http_method, route.path), context.account_id)  # fmt: skip
        call = InvokeRequest(function=function, payload=payload, request_id=ids_.request_id, built=True, source=source)
        timer = asyncio.get_running_loop().call_later(route.timeout_ms / 1000, timed_out)
        try:
            result = await invoker.invoke(call)
        except ApiError as exc:
            if late:
                return await late[0]
            log.info("REST API %s could not invoke %s: %s %s", api_id, function, exc.code, exc.message)
            return INTERNAL_ERROR
        except Exception:
            if late:
                log.exception("REST API %s failed on %s %s", api_id, request.method, request.path)
                return await late[0]
            raise
        finally:
            timer.cancel()
        if late:
            return await late[0]
        if result.function_error:
            return BAD_GATEWAY
        accept = request.headers.get("Accept")
        if len(result.payload) <= jsonbody.INLINE_BYTES:
            return proxy_response(result.payload, accept, state.api.binary_media_types)
        return await asyncio.to_thread(proxy_response, result.payload, accept, state.api.binary_media_types, read_large)


    def _iam_caller(self, request: web.Request, api_id: str, path: str, within: str, body: bytes, policy: object,
                    context: RestContext, now: datetime) -> EventCaller | Refuse:  # fmt: skip
        """The caller of an AWS_IAM method (``path``: within the API, as sent; ``within``: within its
        stage), or the refusal."""
        s = self._settings
        arn = iam.invoke_arn(s.region, context.account_id, api_id, context.stage, request.method, within)
        resource_policy = _policy(policy)
        if isinstance(resource_policy, Refuse):
            return resource_policy
        signed = iam.Signed(request.method, iam.signed_path(api_id, path, request.headers.get("Host", "")),
                            request.rel_url.raw_query_string, tuple(request.headers.items()), body)  # fmt: skip
        return iam.authorize(signed, request.app[KEY_RING], self._iam, region=s.region, api_account=context.account_id,
                             arn=arn, api_policy=resource_policy, now=now, rest=True,
                             transport=transport_keys(request.secure, request.remote or ""))  # fmt: skip


def _policy(text: object) -> Policy | None | Refuse:
    """A REST API's resource policy (its ``policy``: JSON, as UpdateRestApi stores it), or a refusal
    when it cannot be read: a policy that cannot be read allows no one, rather than everyone."""
    if text is None or text == "":
        return None
    try:
        return _parsed(text if isinstance(text, str) else json.dumps(text))
    except MalformedPolicyDocument:
        log.warning("a REST API's resource policy cannot be read; its AWS_IAM methods refuse every caller")
        return Refuse(403, {"Message": "User is not authorized to access this resource"},
                      {"x-amzn-ErrorType": "AccessDeniedException"})  # fmt: skip


@functools.lru_cache(maxsize=256)  # read once per distinct text, not once per request
def _parsed(text: str) -> Policy:
    return parse(text, PolicyKind.RESOURCE)


def _mock_request(request: web.Request, body: bytes, path_parameters: dict[str, str]) -> mock.MockRequest:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return mock.MockRequest(request.headers.get("Content-Type"), request.headers.get("Accept"), body, headers,
                            {k: v for k, v in request.query.items()}, path_parameters)  # fmt: skip


@dataclass(frozen=True)
class _RequestIds:
    request_id: str  # the event's requestContext.requestId and the invocation's request id
    extended_request_id: str
    trace_id: str


def _answer(response: GatewayResponse, ids_: _RequestIds) -> web.Response:
    answer = web.Response(status=response.status, body=response.body)  # its headers: a new CIMultiDict
    headers = answer.headers
    headers.extend(response.headers)
    # What API Gateway adds to every answer.
    headers["x-amzn-RequestId"] = ids_.request_id
    headers["x-amz-apigw-id"] = ids_.extended_request_id
    headers["X-Amzn-Trace-Id"] = ids_.trace_id
    return answer


async def _send(request: web.Request, response: web.Response) -> web.Response:
    await response.prepare(request)
    await response.write_eof()
    return response


def _payload(request: RestRequest, context: RestContext) -> bytes:
    return jsonwrite.compact(build_event(request, context))
