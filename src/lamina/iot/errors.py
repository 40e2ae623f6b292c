"""AWS IoT's errors for the topic-rule operations (botocore's ``iot`` error shapes: code, status;
the message member is ``message``)."""

from __future__ import annotations

from lamina.errors import ApiError


class IotInvalidRequest(ApiError):
    code = "InvalidRequestException"
    status = 400


class SqlParse(ApiError):
    code = "SqlParseException"
    status = 400


class IotResourceAlreadyExists(ApiError):
    code = "ResourceAlreadyExistsException"
    status = 409


class IotUnauthorized(ApiError):
    """AWS IoT answers an operation on a rule that does not exist with this, not a 404: the
    operations' error lists in botocore's model have no ResourceNotFoundException."""

    code = "UnauthorizedException"
    status = 401
