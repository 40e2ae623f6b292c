"""A REST API's Lambda authorizers enforced before the integration is called.

For a method with a TOKEN or REQUEST authorizer (from the deployment's snapshot):

1. its identity sources are read (``authorizers.identity``); one missing or empty, or a TOKEN that
   does not match the authorizer's ``identityValidationExpression``, is 401 without calling it;
2. a kept answer for the same authorizer and identity values is used if younger than the
   authorizer's ``authorizerResultTtlInSeconds`` (0: nothing is kept); else the authorizer's
   function is invoked synchronously with the TOKEN or REQUEST event (``authorizer_events``);
3. the answer is decided against this request's method ARN (``decision.decide_rest``): a kept
   policy is evaluated again for each request, as on AWS. A function error is ``Failed``: 401 if
   its message is ``Unauthorized``, else 500.

Answers are kept per stage and deployment, so a new deployment of the stage starts afresh. At most
``service.MAX_KEPT_ANSWERS`` are kept in all (the oldest go first), however many tokens callers
make up.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from lamina.gateway.authorizers import identity
from lamina.gateway.authorizers.asking import AuthorizerCalls
from lamina.gateway.authorizers.cache import AnswerCache
from lamina.gateway.authorizers.decision import REST_ERROR, REST_UNAUTHORIZED, Allow, Failed, Refuse, decide_rest
from lamina.gateway.rest.authorizer_events import method_arn, request_event, request_view, token_event
from lamina.gateway.rest.authorizers import Authorizer
from lamina.gateway.rest.events import RestContext, RestRequest
from lamina.gateway.rest.integrations import resolve_function
from lamina.invoke.service import Invoker

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 29.0  # as long as API Gateway waits for an integration


@dataclass(frozen=True)
class _Question:
    authorizer: Authorizer
    function: str
    values: tuple[str, ...]  # the identity sources' values, in order
    arn: str

    def event(self, req: RestRequest, ctx: RestContext) -> dict[str, object]:
        if self.authorizer.type == "TOKEN":
            return token_event(self.values[0], self.arn)
        return request_event(req, ctx, self.arn)


@dataclass(frozen=True)
class Tested:
    """What TestInvokeAuthorizer answers: the status a caller would get, the function's answer."""

    status: int
    answer: Mapping[str, object] | None
    latency_ms: int


@dataclass(frozen=True)
class Authorized:
    """Allowed: what the integration's event carries as ``requestContext.authorizer``."""

    context: dict[str, object]


class Authorizing:
    def __init__(self, invoker: Invoker, region: str, kept: AnswerCache[Mapping[str, object]],
                 clock: Callable[[], float] = time.monotonic, timeout_seconds: float = TIMEOUT_SECONDS) -> None:  # fmt: skip
        """``kept``: the answers kept, keyed ``((api_id, stage), deployment_id, authorizer_id, values)``
        so that FlushStageAuthorizersCache forgets a stage's with ``kept.forget((api_id, stage))``.
        An authorizer that has not answered in ``timeout_seconds`` is a failure (500)."""
        self._region = region
        self._clock = clock
        self._kept = kept
        self._calls = AuthorizerCalls(invoker, timeout_seconds, name="rest-authorizer")


    async def authorize(self, authorizer: Authorizer | None, deployment_id: str, req: RestRequest,
                        ctx: RestContext) -> Authorized | Refuse:  # fmt: skip
        question = self._question(authorizer, req, ctx)
        if isinstance(question, Refuse):
            return question
        key = ((ctx.api_id, ctx.stage), deployment_id, question.authorizer.id, question.values)
        started = self._clock()
        answer: object | Failed | None = self._kept.get(key, started) if question.values else None
        latency = 0
        if answer is None:
            answer = await self._calls.ask(question.function, question.event(req, ctx))
            latency = round((self._clock() - started) * 1000)
            if isinstance(answer, Mapping) and question.values:
                self._kept.put(key, answer, question.authorizer.ttl, self._clock())
        decided = decide_rest(answer, question.arn)
        if isinstance(decided, Refuse):
            return decided
        return Authorized(_with_latency(decided, latency))

    async def test_invoke(self, authorizer: Authorizer, req: RestRequest, ctx: RestContext) -> Tested:
        """TestInvokeAuthorizer: the authorizer asked about ``req``, nothing kept."""
        question = self._question(authorizer, req, ctx)
        if isinstance(question, Refuse):
            return Tested(question.status, None, 0)
        started = self._clock()
        answer = await self._calls.ask(question.function, question.event(req, ctx))
        latency = round((self._clock() - started) * 1000)
        decided = decide_rest(answer, question.arn)
        return Tested(200 if isinstance(decided, Allow) else decided.status,
                      answer if isinstance(answer, Mapping) else None, latency)  # fmt: skip

    def _question(self, authorizer: Authorizer | None, req: RestRequest, ctx: RestContext) -> _Question | Refuse:
        """What to ask whom, or the refusal that needs no asking."""
        if authorizer is None or authorizer.type not in ("TOKEN", "REQUEST"):
            # A method whose authorizer Lamina does not enforce (Cognito) is closed, never open.
            log.warning("REST API %s: %s %s has an authorizer Lamina does not enforce", ctx.api_id, req.method,
                        ctx.resource_path)  # fmt: skip
            return REST_ERROR
        function = resolve_function(authorizer.function() or "", ctx.stage_variables)
        if not function:
            return REST_ERROR
        sources = authorizer.sources()
        with_context = any(s.place is identity.Place.CONTEXT for s in sources)
        values = identity.values(sources, request_view(req, ctx, with_context=with_context))
        if values is None:
            return REST_UNAUTHORIZED
        expression = authorizer.validation_expression
        if authorizer.type == "TOKEN" and expression and re.fullmatch(expression, values[0]) is None:
            return REST_UNAUTHORIZED
        arn = method_arn(self._region, ctx.account_id, ctx.api_id, ctx.stage, req.method, req.path)
        return _Question(authorizer, function, values, arn)



def _with_latency(allowed: Allow, latency_ms: int) -> dict[str, object]:
    out = dict(allowed.authorizer)
    principal = out.pop("principalId", None)
    return {"principalId": principal, **out, "integrationLatency": latency_ms}
