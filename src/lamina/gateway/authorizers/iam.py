"""``AWS_IAM`` authorization of REST API methods and HTTP API routes, as API Gateway decides it.

A request must be signed with Signature Version 4 for service ``execute-api`` in the API's region
(``identity.sigv4.verify``, against the same keys as every other request: a root key, an IAM user's
key, a role session's temporary key), over the request exactly as sent (the execute-api Host or the
``/_aws/execute-api/<api-id>/`` path, the query, the body). The verified caller must then be allowed
``execute-api:Invoke`` on ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``
(the request's own path within the stage, decoded), as IAM decides it (``iam.evaluate.decide``):
the caller's identity policies, and a REST API's resource policy (its ``policy``) when it has one;
a caller of another account needs both. The root of the API's account is allowed. Their conditions
may name ``aws:SourceIp`` (the client's address) and ``aws:SecureTransport`` (true over Lamina's
HTTPS listener), as API Gateway's resource policies commonly do.

Every refusal is a 403 with API Gateway's words and ``x-amzn-ErrorType``: no signature is
``Missing Authentication Token``; a key Lamina does not know (or a session token that is not its)
``The security token included in the request is invalid.``; a wrong signature, a stale one or one
for another region or service, the words SigV4 refusals have; a caller not allowed, ``User: <arn>
is not authorized to perform: execute-api:Invoke on resource: <arn>`` (``with an explicit deny``
when a policy denies it). REST APIs write that last one under ``Message``, as AWS does.

Pure but for reading the caller's policies (``IamService.policies_of``, in memory).
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Mapping, Sequence

from lamina.gateway import addresses
from lamina.gateway.authorizers.decision import Refuse
from lamina.iam.context import context_of, requester_of
from lamina.iam.evaluate import Decision, Request, decide
from lamina.iam.policy import Policy
from lamina.identity import refusals
from lamina.identity.principals import Caller, KeyRing
from lamina.identity.sigv4 import Failure, Refusal, SignedRequest, verify
from lamina.urls.events import Caller as EventCaller

if TYPE_CHECKING:
    from lamina.iam.service import IamService

log = logging.getLogger(__name__)

ACTION = "execute-api:Invoke"
SERVICE = "execute-api"


@dataclass(frozen=True)
class Signed:
    """What the signature of a request to an API covers: the request as the client sent it."""

    method: str
    raw_path: str  # the whole path as sent (the /_aws/execute-api/<id> prefix included), without the query
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


def invoke_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The resource ``execute-api:Invoke`` is decided on: ``path`` is the request's within its stage, as sent."""
    decoded = urllib.parse.unquote(path).removeprefix("/")
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method.upper()}/{decoded}"


def signed_path(api_id: str, path: str, host: str) -> str:
    """The path the client signed (``path``: within the API, as sent): ``path`` itself when ``host``
    (the Host header) is the API's own, else behind the path form's prefix."""
    return path if addresses.parse_host(host) == api_id else f"{addresses.PATH_PREFIX}{api_id}{path}"


def authorize(signed: Signed, ring: KeyRing, iam: IamService | None, *, region: str, api_account: str,
              arn: str, api_policy: Policy | None, now: datetime, rest: bool,
              transport: Mapping[str, str]) -> EventCaller | Refuse:  # fmt: skip
    """The caller of an ``AWS_IAM`` method or route, or API Gateway's refusal (``rest``: a REST API's
    words; ``transport``: the connection's ``aws:SecureTransport`` and ``aws:SourceIp``, which the
    policies' conditions may name)."""
    request = SignedRequest(signed.method, signed.raw_path, signed.raw_query, signed.headers, signed.body)
    verdict = verify(request, ring, region=region, accounts=None, now=now, service=SERVICE)
    if isinstance(verdict, Refusal):
        log.info("execute-api %s refused a signature: %s", arn, verdict.detail)
        return _refused(verdict)
    decision = _decision(verdict, iam, api_account, arn, api_policy, now, transport)
    if not decision.allowed:
        log.info("execute-api %s refused %s: %s", arn, verdict.principal.arn, decision.value)
        message = f"User: {verdict.principal.arn} is not authorized to perform: {ACTION} on resource: {arn}"
        if decision in (Decision.IDENTITY_DENY, Decision.RESOURCE_DENY):
            message += " with an explicit deny"
        return Refuse(403, {"Message" if rest else "message": message}, {"x-amzn-ErrorType": "AccessDeniedException"})
    principal = verdict.principal
    return EventCaller(access_key=verdict.key.access_key_id, account_id=principal.account_id,
                       caller_id=principal.user_id, user_arn=principal.arn, user_id=principal.user_id)  # fmt: skip


def _decision(caller: Caller, iam: IamService | None, api_account: str, arn: str, api_policy: Policy | None,
              now: datetime, transport: Mapping[str, str]) -> Decision:  # fmt: skip
    if iam is None:  # no IAM on this server: a verified signature of the API's account is enough
        return Decision.ALLOW if caller.account_id == api_account else Decision.IMPLICIT_DENY
    principal = caller.principal
    request = Request(requester_of(principal), ACTION, arn, api_account, context_of(principal, now, transport))
    return decide(request, iam.policies_of(principal), api_policy)


def _refused(refusal: Refusal) -> Refuse:
    failure = refusal.failure
    if failure is Failure.MISSING:
        return _refuse("MissingAuthenticationTokenException", refusals.MISSING)
    if failure in (Failure.UNKNOWN_KEY, Failure.INVALID_TOKEN):
        return _refuse("UnrecognizedClientException", refusals.INVALID_KEY)
    if failure is Failure.EXPIRED_TOKEN:
        return _refuse("ExpiredTokenException", refusals.EXPIRED_TOKEN)
    if failure is Failure.INCOMPLETE:
        return _refuse("IncompleteSignatureException",
                       f"Authorization header requires a valid SigV4 signature ({refusal.detail}).")  # fmt: skip
    if failure in (Failure.SKEWED, Failure.EXPIRED):
        return _refuse("InvalidSignatureException", refusals.skew_message(refusal))
    if failure is Failure.WRONG_SERVICE:
        return _refuse("InvalidSignatureException", refusals.wrong_service(SERVICE))
    if failure is Failure.WRONG_SCOPE:
        return _refuse("InvalidSignatureException", refusals.WRONG_REGION + f"'{refusal.region}' is not served here.")
    return _refuse("InvalidSignatureException", refusals.MISMATCH)


def _refuse(error_type: str, message: str) -> Refuse:
    return Refuse(403, {"message": message}, {"x-amzn-ErrorType": error_type})


def identity_v1(caller: EventCaller | None) -> Mapping[str, object]:
    """The members of a payload-1.0 event's ``requestContext.identity`` that an IAM caller fills."""
    if caller is None:
        return {}
    return {"accountId": caller.account_id, "caller": caller.caller_id, "accessKey": caller.access_key,
            "userArn": caller.user_arn, "user": caller.user_id}  # fmt: skip
