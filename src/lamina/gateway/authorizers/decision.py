"""What a Lambda authorizer's answer means for the request it was asked about, as API Gateway reads it.

Pure: ``decide`` takes the authorizer function's response (parsed JSON, or the name of its
error) and the request's ARN, and returns ``Allow`` (with what the integration's event carries
under ``requestContext.authorizer``) or ``Refuse`` (the status and body API Gateway answers with).

HTTP APIs (payload 2.0) accept a simple response, ``{"isAuthorized": bool, "context": {...}}``, when
the authorizer enables simple responses, and an IAM policy response otherwise; the integration sees
``{"lambda": context}``. REST APIs accept IAM policy responses only, and a context of strings,
numbers and booleans, which the integration sees as strings beside ``principalId``. An authorizer
that fails, times out or answers something else makes API Gateway answer 500; a REST authorizer
that fails with the message ``Unauthorized`` makes it answer 401.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from lamina.gateway.authorizers.policy import MalformedPolicy, Verdict, evaluate


@dataclass(frozen=True)
class Allow:
    authorizer: Mapping[str, object]  # the event's requestContext.authorizer


@dataclass(frozen=True)
class Refuse:
    status: int
    body: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    """The authorizer function did not answer: its error type and message (``errorMessage``)."""

    error_type: str
    message: str


# HTTP APIs' answers.
UNAUTHORIZED = Refuse(401, {"message": "Unauthorized"})
FORBIDDEN = Refuse(403, {"message": "Forbidden"})
HTTP_ERROR = Refuse(500, {"message": "Internal Server Error"})
# REST APIs' answers.
REST_UNAUTHORIZED = Refuse(401, {"message": "Unauthorized"})
REST_DENIED = Refuse(403, {"Message": "User is not authorized to access this resource with an explicit deny"})
REST_NOT_ALLOWED = Refuse(403, {"Message": "User is not authorized to access this resource"})
REST_ERROR = Refuse(500, {"message": None}, {"x-amzn-ErrorType": "AuthorizerConfigurationException"})


def decide_http(response: object | Failed, arn: str, *, simple: bool) -> Allow | Refuse:
    """An HTTP API authorizer's answer (payload 2.0 with ``simple`` responses enabled, or a policy)."""
    if isinstance(response, Failed) or not isinstance(response, Mapping):
        return HTTP_ERROR
    context = response.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        return HTTP_ERROR
    if simple and "isAuthorized" in response:
        authorized = response["isAuthorized"]
        if not isinstance(authorized, bool):
            return HTTP_ERROR
        return Allow({"lambda": dict(context)}) if authorized else FORBIDDEN
    try:
        verdict = evaluate(response.get("policyDocument"), arn)
    except MalformedPolicy:
        return HTTP_ERROR
    return Allow({"lambda": dict(context)}) if verdict is Verdict.ALLOW else FORBIDDEN


def decide_rest(response: object | Failed, arn: str) -> Allow | Refuse:
    """A REST API authorizer's answer (TOKEN or REQUEST): an IAM policy, a principal and a context."""
    if isinstance(response, Failed):
        return REST_UNAUTHORIZED if response.message == "Unauthorized" else REST_ERROR
    if not isinstance(response, Mapping):
        return REST_ERROR
    principal = response.get("principalId")
    context = response.get("context") or {}
    if not isinstance(principal, str) or not isinstance(context, Mapping):
        return REST_ERROR
    flat: dict[str, object] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            flat[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            flat[key] = str(value)
        else:  # objects and arrays are refused, as API Gateway refuses them
            return REST_ERROR
    try:
        verdict = evaluate(response.get("policyDocument"), arn)
    except MalformedPolicy:
        return REST_ERROR
    if verdict is Verdict.DENY:
        return REST_DENIED
    if verdict is Verdict.NO_ALLOW:
        return REST_NOT_ALLOWED
    return Allow({**flat, "principalId": principal})
