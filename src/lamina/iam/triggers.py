"""Lamina's own triggers (event bus rules, API Gateway APIs, bucket notifications, log subscription
filters) invoke a function only if its resource-based policy allows their service principal
(AddPermission with ``--principal events.amazonaws.com --source-arn ...``), as AWS requires.

Outside the development mode a refusal is ``AccessDeniedException`` (the trigger treats it as its
service treats a failed invocation: the bus retries and dead-letters, an API answers 500;
PutSubscriptionFilter refuses the filter). In the development mode it is logged once per function,
service and source, and allowed: existing setups deploy triggers without permissions. A trigger of
another account (its ``aws:SourceAccount`` is not the function's) is never let through so: the
function's account must have allowed it, as AWS requires of cross-account integrations. There a
source is decided once and remembered, so a warm API reads no policy per request; outside it every
invocation reads the function's current policy.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Callable

from lamina.control.policy import PolicyService
from lamina.errors import AccessDenied, ResourceNotFound
from lamina.iam.context import context_of, service_requester
from lamina.iam.evaluate import Request, decide
from lamina.iam.policy import Policy, PolicyKind, parse
from lamina.invoke.service import InvokeSource
from lamina.settings import Settings

log = logging.getLogger(__name__)


def decision(source: InvokeSource, function_arn: str, account: str, policy: Policy | None, now: datetime) -> bool:
    """Whether ``policy`` (the function's, None: it has none) lets ``source`` invoke it (pure)."""
    context = context_of(None, now, {"aws:SourceArn": source.arn, "aws:SourceAccount": source.account,
                                     "lambda:FunctionArn": function_arn})  # fmt: skip
    request = Request(service_requester(source.service), "lambda:InvokeFunction", function_arn, account, context)
    return decide(request, (), policy).allowed


class TriggerPermissions:
    def __init__(self, policies: PolicyService, settings: Settings, now: Callable[[], datetime] | None = None) -> None:
        self._policies = policies
        self._settings = settings
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._decided: set[tuple[str, str | None, str, str]] = set()  # development mode: sources seen

    async def _policy(self, function: str, qualifier: str | None) -> Policy | None:
        try:
            stored = await self._policies.get(function, qualifier)
        except ResourceNotFound:
            return None
        return parse(self._policies.render_policy(stored), PolicyKind.RESOURCE)

    async def check(self, function: str, qualifier: str | None, source: InvokeSource) -> None:
        """Refuse (AccessDenied) an invocation by ``source`` its function's policy does not allow;
        in the development mode, say so once and allow it."""
        key = (function, qualifier, source.service, source.arn)
        development = self._settings.development_mode and source.account == self._settings.account_id
        if development and key in self._decided:
            return
        arn = self._settings.function_arn(function, qualifier)
        allowed = decision(source, arn, self._settings.account_id, await self._policy(function, qualifier), self._now())
        if development:
            self._decided.add(key)
            if not allowed:
                log.warning("%s invoked %s for %s without a permission in the function's resource-based policy; "
                            "AWS would refuse it (aws lambda add-permission --principal %s --source-arn ...); "
                            "allowed in the development mode", source.service, arn, source.arn,
                            source.service)  # fmt: skip
            return
        if not allowed:
            raise AccessDenied(f"User: {source.service} is not authorized to perform: lambda:InvokeFunction on "
                               f"resource: {arn} because no resource-based policy allows the "
                               "lambda:InvokeFunction action")  # fmt: skip
