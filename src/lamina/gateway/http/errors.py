"""``apigatewayv2``'s errors (aws/api/apigatewayv2/botocore-apigatewayv2-error-shapes.json):
``{"message": ...}`` bodies, the code in ``X-Amzn-ErrorType``."""

from __future__ import annotations

from lamina.errors import ApiError


class BadRequest(ApiError):
    code = "BadRequestException"
    status = 400


class NotFound(ApiError):
    code = "NotFoundException"
    status = 404

    def __init__(self, message: str, resource_type: str | None = None) -> None:
        super().__init__(message)
        self.resource_type = resource_type

    def body(self) -> dict[str, object]:
        return {**super().body(), **({"resourceType": self.resource_type} if self.resource_type else {})}


class Conflict(ApiError):
    code = "ConflictException"
    status = 409


class TooManyRequests(ApiError):
    code = "TooManyRequestsException"
    status = 429
