"""A refused signature as each protocol's error: the codes, statuses and messages AWS answers with.

Lambda and the other rest-json APIs (Scheduler, IoT, API Gateway's management, Lamina's own) put
the code in ``X-Amzn-ErrorType``; json-1.1 (EventBridge) and json-1.0 (SQS, query-compatible:
its legacy code in ``x-amzn-query-error``) in the body's ``__type``; the query protocol (IAM,
STS) in an XML ``ErrorResponse``. S3's are built by api/authentication.py from objects/errors.py.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime
from typing import ClassVar

from lamina.errors import ApiError
from lamina.identity.signer import AMZ_DATE
from lamina.identity.sigv4 import Failure, Refusal

MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")  # fmt: skip
INVALID_KEY = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
MISSING = "Missing Authentication Token"
WRONG_REGION = "Credential should be scoped to a valid region. "


def wrong_service(service: str | None) -> str:
    """AWS's words for a credential scoped to another service than ``service``, the one asked."""
    return f"Credential should be scoped to correct service: '{service}'. "


class Protocol(enum.Enum):
    REST_JSON = "rest-json"  # Lambda, Scheduler, IoT, API Gateway, Lamina's own
    JSON = "json"  # EventBridge (json-1.1)
    SQS = "sqs"  # json-1.0 with the query-compatible codes
    QUERY = "query"  # IAM, STS
    S3 = "s3"


class AuthError(ApiError):
    """A signature refused; ``made`` gives the class of each code and status a protocol answers with."""

    query_code: ClassVar[str] = ""  # SQS: the code for x-amzn-query-error

    def headers(self) -> dict[str, str]:
        return {"x-amzn-query-error": f"{self.query_code};Sender"} if self.query_code else {}


def made(code: str, status: int, message: str, *, query: bool = False) -> AuthError:
    """An ``AuthError`` with ``code`` and ``status``."""
    return _error_class(code, status, query)(message)


@functools.cache  # a fixed few: made once each
def _error_class(code: str, status: int, query: bool) -> type[AuthError]:
    attributes: dict[str, object] = {"code": code, "status": status, "query_code": code if query else ""}
    return type(code, (AuthError,), attributes)


def skew_message(refusal: Refusal) -> str:
    """AWS's words for a request signed too long ago (or too far ahead)."""
    signed_at, now = refusal.signed_at, refusal.now
    if signed_at is None or now is None:
        return "Signature expired"
    minutes = int(refusal.max_skew.total_seconds() // 60)
    if refusal.failure is Failure.EXPIRED and refusal.expires_seconds is not None:
        limit = signed_at.timestamp() + refusal.expires_seconds
        return f"Signature expired: {_amz(signed_at)} is now earlier than {_amz(datetime.fromtimestamp(limit, now.tzinfo))}"
    if signed_at > now:
        return (f"Signature not yet current: {_amz(signed_at)} is still later than {_amz(now + refusal.max_skew)} "
                f"({_amz(now)} + {minutes} min.)")  # fmt: skip
    return (f"Signature expired: {_amz(signed_at)} is now earlier than {_amz(now - refusal.max_skew)} "
            f"({_amz(now)} - {minutes} min.)")  # fmt: skip


def _amz(when: datetime) -> str:
    return when.strftime(AMZ_DATE)


def refused(protocol: Protocol, refusal: Refusal) -> AuthError:
    """The error ``protocol``'s service answers ``refusal`` with (not S3's: see api/authentication.py)."""
    failure = refusal.failure
    if protocol is Protocol.REST_JSON:
        return _rest_json(refusal)
    # json-1.1, json-1.0 (SQS: query codes) and query (IAM, STS) name failures alike, as AWS's
    # query-era services did.
    status_400 = protocol is Protocol.JSON  # EventBridge answers them with 400, the others 403
    if failure is Failure.MISSING:
        code = "MissingAuthenticationTokenException" if protocol is Protocol.JSON else "MissingAuthenticationToken"
        return _made(protocol, code, 400 if status_400 else 403, MISSING if protocol is Protocol.JSON else
                     "Request is missing Authentication Token")  # fmt: skip
    if failure is Failure.INCOMPLETE:
        code = "IncompleteSignatureException" if protocol is Protocol.JSON else "IncompleteSignature"
        return _made(protocol, code, 400, f"Authorization header requires a valid SigV4 signature ({refusal.detail}).")
    if failure in (Failure.UNKNOWN_KEY, Failure.INVALID_TOKEN):
        code = "UnrecognizedClientException" if protocol is Protocol.JSON else "InvalidClientTokenId"
        return _made(protocol, code, 400 if status_400 else 403, INVALID_KEY)
    if failure is Failure.EXPIRED_TOKEN:
        code = "ExpiredTokenException" if protocol is Protocol.JSON else "ExpiredToken"
        return _made(protocol, code, 400 if status_400 else 403, EXPIRED_TOKEN)
    code = "InvalidSignatureException" if protocol is Protocol.JSON else "SignatureDoesNotMatch"
    if failure in (Failure.SKEWED, Failure.EXPIRED):
        return _made(protocol, code, 400 if status_400 else 403, skew_message(refusal))
    if failure is Failure.WRONG_SCOPE:
        return _made(protocol, code, 400 if status_400 else 403, WRONG_REGION + f"'{refusal.region}' is not served here.")
    if failure is Failure.WRONG_SERVICE:
        return _made(protocol, code, 400 if status_400 else 403, wrong_service(refusal.service))
    return _made(protocol, code, 400 if status_400 else 403, MISMATCH)


def _made(protocol: Protocol, code: str, status: int, message: str) -> AuthError:
    return made(code, status, message, query=protocol is Protocol.SQS)


def _rest_json(refusal: Refusal) -> AuthError:
    failure = refusal.failure
    if failure is Failure.MISSING:
        return made("MissingAuthenticationTokenException", 403, MISSING)
    if failure is Failure.INCOMPLETE:
        return made("IncompleteSignatureException", 400,
                         f"Authorization header requires a valid SigV4 signature ({refusal.detail}).")  # fmt: skip
    if failure in (Failure.UNKNOWN_KEY, Failure.INVALID_TOKEN):
        return made("UnrecognizedClientException", 403, INVALID_KEY)
    if failure is Failure.EXPIRED_TOKEN:
        return made("ExpiredTokenException", 403, EXPIRED_TOKEN)
    if failure in (Failure.SKEWED, Failure.EXPIRED):
        return made("InvalidSignatureException", 403, skew_message(refusal))
    if failure is Failure.WRONG_SCOPE:
        return made("InvalidSignatureException", 403, WRONG_REGION + f"'{refusal.region}' is not served here.")
    if failure is Failure.WRONG_SERVICE:
        return made("InvalidSignatureException", 403, wrong_service(refusal.service))
    return made("InvalidSignatureException", 403, MISMATCH)


def query_error(error: ApiError, request_id: str) -> bytes:
    """The query protocol's ``ErrorResponse`` (IAM, STS)."""
    from xml.sax.saxutils import escape

    return (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>").encode()  # fmt: skip
