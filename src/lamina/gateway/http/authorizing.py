"""HTTP APIs' authorizers enforced before a route's integration is invoked.

For a route with a Lambda (``REQUEST``) authorizer, from the deployment the stage serves:

1. its identity sources are read (``authorizers.identity``); with caching on (TTL above 0) one
   missing or empty is ``401 {"message":"Unauthorized"}`` without calling it;
2. an answer kept for the same authorizer and identity values is used while younger than the
   authorizer's ``AuthorizerResultTtlInSeconds``; else the function is invoked synchronously with
   the payload 1.0 or 2.0 event (``authorizer_events``), for at most ``TIMEOUT_SECONDS`` (AWS: 10 s;
   the invocation runs on to its end);
3. the answer is decided against the route ARN (``decision.decide_http``: a simple response when
   the authorizer enables them, else an IAM policy, evaluated again for each request): ``403
   {"message":"Forbidden"}`` when refused; a function error, a timeout or an answer that is
   neither is ``500 {"message":"Internal Server Error"}``.

For a route with a JWT authorizer: the token is its identity source's value (``Bearer`` or not),
verified with the issuer's keys (``jwks.KeySets``, fetched by this server, never by a function)
against the authorizer's issuer and audiences and the route's scopes (``tokens.verify``).

Allowed, the integration's event carries ``requestContext.authorizer``: for payload 2.0
``{"lambda": context}`` or ``{"jwt": {"claims", "scopes"}}``; for payload 1.0, REST's shape: the
context's members with ``principalId`` (when the answer had one) and ``integrationLatency``, or
``{"claims", "scopes"}``. Answers are kept per stage, deployment, authorizer and identity values,
at most ``MAX_KEPT_ANSWERS`` in all (the oldest go first), however many tokens callers make up.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping

from lamina.gateway.authorizers import identity, tokens
from lamina.gateway.authorizers.asking import AuthorizerCalls
from lamina.gateway.authorizers.cache import AnswerCache
from lamina.gateway.authorizers.decision import HTTP_ERROR, UNAUTHORIZED, Failed, Refuse, decide_http
from lamina.gateway.authorizers.jwks import KeySets
from lamina.gateway.exchange import ApiRequest
from lamina.gateway.http.authorizer_events import request_event_v1, request_event_v2, request_view, route_arn
from lamina.gateway.http.authorizers import Guard
from lamina.gateway.http.state import Table
from lamina.gateway.http.events import describe
from lamina.gateway.http.model import Authorizer
from lamina.gateway.http.routing import Match
from lamina.invoke.service import Invoker
from lamina.settings import Settings
from lamina.urls.responses import JSON, UrlResponse

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0  # API Gateway's quota: "Timeout for Lambda authorizer response", 10,000 ms
JWKS_TIMEOUT_SECONDS = 1.5  # its "Timeout for JSON Web Key Set endpoint", 1,500 ms
MAX_KEPT_ANSWERS = 10_000


@dataclass(frozen=True)
class Authorized:
    """Allowed: ``requestContext.authorizer`` of the integration's event, by its payload format."""

    v2: Mapping[str, object]
    v1: Mapping[str, object]

    def member(self, payload_format_version: str) -> Mapping[str, object]:
        return self.v1 if payload_format_version == "1.0" else self.v2


def refusal(refused: Refuse) -> UrlResponse:
    """A refusal as the response API Gateway sends: its JSON body, compact, and its headers."""
    body = json.dumps(dict(refused.body), separators=(",", ":")).encode()
    return UrlResponse(refused.status, (("Content-Type", JSON), *refused.headers.items()), body)


@lru_cache(maxsize=1024)
def _sources(expressions: tuple[str, ...]) -> tuple[identity.IdentitySource, ...]:
    return tuple(identity.IdentitySource.parse(e) for e in expressions)  # checked when the authorizer was stored


class HttpAuthorizing:
    def __init__(self, invoker: Invoker, settings: Settings, keys: KeySets | None = None,
                 clock: Callable[[], float] = time.monotonic, timeout_seconds: float = TIMEOUT_SECONDS) -> None:  # fmt: skip
        self._settings = settings
        self._keys = keys or KeySets(settings.jwks_urls, timeout_seconds=JWKS_TIMEOUT_SECONDS)
        self._kept: AnswerCache[Mapping[str, object]] = AnswerCache(MAX_KEPT_ANSWERS)
        self._clock = clock
        self._calls = AuthorizerCalls(invoker, timeout_seconds, name="http-authorizer")

    async def authorize(self, guard: Guard, request: ApiRequest, *, api_id: str, path: str, route_path: str,
                        table: Table, match: Match, request_id: str) -> Authorized | Refuse:  # fmt: skip
        """Whether the request (``path``: as sent; ``route_path``: within its stage) may reach its route."""
        try:
            return await self._authorize(guard, request, api_id, path, route_path, table, match, request_id)
        except Exception:
            log.exception("HTTP API %s: authorizing %s failed", api_id, match.route_key)
            return HTTP_ERROR

    async def _authorize(self, guard: Guard, request: ApiRequest, api_id: str, path: str, route_path: str,
                         table: Table, match: Match, request_id: str) -> Authorized | Refuse:  # fmt: skip
        authorizer = guard.authorizer
        if authorizer is None:  # never served open
            return HTTP_ERROR
        req, ctx = describe(request, self._settings, api_id, path, table, match, request_id)
        now_ms = int(time.time() * 1000)
        view = request_view(req, ctx, now_ms)
        if authorizer.type == "JWT":
            return await self._jwt(authorizer, guard.scopes, view)
        arn = route_arn(self._settings.region, ctx.account_id, api_id, ctx.stage, req.method, route_path)
        sources = _sources(authorizer.identity_source)
        cached = authorizer.ttl > 0
        if cached:
            values = identity.values(sources, view)
            if values is None:
                return UNAUTHORIZED
        else:  # nothing is kept: the authorizer is asked with what there is
            values = _present(sources, view)
        key = ((api_id, ctx.stage), table.stage.deployment_id, authorizer.authorizer_id, values)
        started = self._clock()
        answer: object | Failed | None = self._kept.get(key, started) if cached else None
        latency = 0
        if answer is None:
            build = request_event_v1 if authorizer.payload_format_version == "1.0" else request_event_v2
            answer = await self._calls.ask(authorizer.function_arn or "", build(req, ctx, now_ms, arn, values))
            latency = round((self._clock() - started) * 1000)
            if cached and isinstance(answer, Mapping):
                self._kept.put(key, answer, authorizer.ttl, self._clock())
        simple = authorizer.simple_responses and authorizer.payload_format_version == "2.0"
        decided = decide_http(answer, arn, simple=simple)
        if isinstance(decided, Refuse):
            return decided
        context = decided.authorizer.get("lambda")
        flat = dict(context) if isinstance(context, Mapping) else {}
        principal = answer.get("principalId") if isinstance(answer, Mapping) else None
        if isinstance(principal, str):
            flat["principalId"] = principal
        return Authorized(decided.authorizer, {**flat, "integrationLatency": latency})

    async def _jwt(self, authorizer: Authorizer, scopes: tuple[str, ...], view: identity.RequestView) -> Authorized | Refuse:
        values = identity.values(_sources(authorizer.identity_source), view)
        if values is None:
            return UNAUTHORIZED
        token = tokens.bearer(values[0])
        issuer = authorizer.issuer or ""
        keys = await self._keys.keys(issuer, tokens.unverified_key_id(token))
        verdict = tokens.verify(token, tokens.JwtConfiguration(issuer, authorizer.audience), keys, scopes)
        if isinstance(verdict, Refuse):
            return verdict
        jwt = verdict.authorizer.get("jwt")
        return Authorized(verdict.authorizer, dict(jwt) if isinstance(jwt, Mapping) else {})


def _present(sources: tuple[identity.IdentitySource, ...], view: identity.RequestView) -> tuple[str, ...]:
    """The values of the sources the request has, in order."""
    found = (identity.values((source,), view) for source in sources)
    return tuple(value[0] for value in found if value)


