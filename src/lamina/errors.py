"""Lamina's one exception tree.

::

    LaminaError
    ├── ApiError                      an AWS-shaped error: HTTP status + X-Amzn-ErrorType + JSON body
    │   ├── InvalidParameterValue     400  a value is well-formed but not acceptable
    │   ├── ValidationError           400  a value breaks the API model's constraints
    │   ├── InvalidRequestContent     400  the request body is not valid JSON
    │   ├── PolicyLengthExceeded      400  a resource-based policy would pass its size limit
    │   ├── AccessDenied              403  the caller may not do this
    │   ├── ResourceNotFound          404
    │   ├── ProvisionedConcurrencyConfigNotFound  404
    │   ├── ResourceConflict          409
    │   ├── PreconditionFailed        412
    │   ├── RequestTooLarge           413
    │   ├── UnsupportedMediaType      415
    │   ├── TooManyRequests           429  carries Reason and Retry-After
    │   ├── ServiceError              500  a fault of Lamina's, never of the caller
    │   └── InvalidRuntime            502  Invoke: the function's runtime cannot run on this host
    └── store.errors.StoreError       the store's own (NotFound, Conflict, StaleRevision): no wording of
                                      AWS's; ``lamina.api.errors.from_store`` gives them Lambda's

Everything raised to the HTTP layer is an ``ApiError`` or a ``StoreError``; anything else is reported as a
``ServiceException`` by ``lamina.api.errors``, the one module that renders errors on the wire.
Each class knows its code, status and which casing AWS uses for the message member
(``message`` for most, ``Message`` for a few), as botocore's model defines them.
"""

from __future__ import annotations

from typing import ClassVar


class LaminaError(Exception):
    """Base of every error Lamina raises on purpose."""


class ApiError(LaminaError):
    code: ClassVar[str] = "ServiceException"
    status: ClassVar[int] = 500
    message_key: ClassVar[str] = "message"
    error_type: ClassVar[str] = "User"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, object]:
        return {"Type": self.error_type, self.message_key: self.message}

    def headers(self) -> dict[str, str]:
        return {}


class InvalidParameterValue(ApiError):
    code = "InvalidParameterValueException"
    status = 400


class InvalidRuntime(ApiError):
    """Invoke's answer when the function's runtime cannot run (AWS: "The runtime or runtime version
    specified is not supported"); here, when its toolchain went away from the host."""

    code = "InvalidRuntimeException"
    status = 502
    message_key = "Message"


class ValidationError(ApiError):
    code = "ValidationException"
    status = 400


class InvalidRequestContent(ApiError):
    code = "InvalidRequestContentException"
    status = 400


class PolicyLengthExceeded(ApiError):
    code = "PolicyLengthExceededException"
    status = 400


class AccessDenied(ApiError):
    code = "AccessDeniedException"
    status = 403
    message_key = "Message"


class ResourceNotFound(ApiError):
    code = "ResourceNotFoundException"
    status = 404
    message_key = "Message"


class ProvisionedConcurrencyConfigNotFound(ApiError):
    code = "ProvisionedConcurrencyConfigNotFoundException"
    status = 404


class ResourceConflict(ApiError):
    code = "ResourceConflictException"
    status = 409


class PreconditionFailed(ApiError):
    code = "PreconditionFailedException"
    status = 412


class RequestTooLarge(ApiError):
    code = "RequestTooLargeException"
    status = 413


class UnsupportedMediaType(ApiError):
    code = "UnsupportedMediaTypeException"
    status = 415


class TooManyRequests(ApiError):
    code = "TooManyRequestsException"
    status = 429

    def __init__(self, message: str, *, reason: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds

    def body(self) -> dict[str, object]:
        return {**super().body(), "Reason": self.reason, "retryAfterSeconds": str(self.retry_after_seconds)}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class ServiceError(ApiError):
    code = "ServiceException"
    status = 500
    message_key = "Message"
    error_type = "Service"


def function_not_found(arn: str) -> ResourceNotFound:
    return ResourceNotFound(f"Function not found: {arn}")


def url_exists(function_arn: str) -> ResourceConflict:
    """CreateFunctionUrlConfig's answer when the function (``function_arn``, qualified or not) has one."""
    return ResourceConflict(f"Failed to create function url config for [functionArn = {function_arn}]. "
                            "Error message:  FunctionUrlConfig exists for this Lambda function")  # fmt: skip


def stale_revision(read_with: str = "GetFunction/GetAlias") -> PreconditionFailed:
    """Lambda's answer to a RevisionId that is not the latest; ``read_with`` names the API that
    reads the latest (GetPolicy for a function's policy, GetLayerVersionPolicy for a layer's)."""
    return PreconditionFailed("The Revision Id provided does not match the latest Revision Id. "
                              f"Call the {read_with} API to retrieve the latest Revision Id")  # fmt: skip


API_ERRORS: tuple[type[ApiError], ...] = (
    InvalidParameterValue,
    ValidationError,
    InvalidRequestContent,
    PolicyLengthExceeded,
    AccessDenied,
    ResourceNotFound,
    ProvisionedConcurrencyConfigNotFound,
    ResourceConflict,
    PreconditionFailed,
    RequestTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    ServiceError,
)
