"""The ``apigateway`` service's errors: AWS's codes and statuses (botocore's model), body ``{"message": ...}``."""

from __future__ import annotations

from lamina.errors import ApiError


class _GatewayError(ApiError):
    def body(self) -> dict[str, object]:
        return {"message": self.message}


class NotFound(_GatewayError):
    code = "NotFoundException"
    status = 404


class BadRequest(_GatewayError):
    code = "BadRequestException"
    status = 400


class Conflict(_GatewayError):
    code = "ConflictException"
    status = 409


class LimitExceeded(_GatewayError):
    code = "LimitExceededException"
    status = 429


INVALID_RESOURCE = "Invalid Resource identifier specified"
INVALID_METHOD = "Invalid Method identifier specified"
INVALID_STAGE = "Invalid Stage identifier specified"
INVALID_DEPLOYMENT = "Invalid Deployment identifier specified"
INVALID_RESPONSE = "Invalid Response status code specified"
NO_INTEGRATION = "No integration defined for method"


def api_not_found(account_id: str, api_id: str) -> NotFound:
    return NotFound(f"Invalid API identifier specified {account_id}:{api_id}")
