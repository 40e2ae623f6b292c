"""IAM's and STS's errors, as botocore's models name them (query protocol: the code in the body's
``<Error><Code>``; ``error_type`` is its ``<Type>``, Sender or Receiver)."""

from __future__ import annotations

from lamina.errors import ApiError


class QueryError(ApiError):
    """An error of a query-protocol service (IAM, STS): rendered by api/query.py."""

    error_type = "Sender"


class NoSuchEntity(QueryError):
    code = "NoSuchEntity"
    status = 404


class EntityAlreadyExists(QueryError):
    code = "EntityAlreadyExists"
    status = 409


class MalformedPolicyDocument(QueryError):
    code = "MalformedPolicyDocument"
    status = 400


class LimitExceeded(QueryError):
    code = "LimitExceeded"
    status = 409


class DeleteConflict(QueryError):
    code = "DeleteConflict"
    status = 409


class InvalidInput(QueryError):
    code = "InvalidInput"
    status = 400


class QueryValidationError(QueryError):
    """A member breaks the model's constraints (``1 validation error detected: ...``)."""

    code = "ValidationError"
    status = 400


class QueryAccessDenied(QueryError):
    code = "AccessDenied"
    status = 403


class InvalidAction(QueryError):
    code = "InvalidAction"
    status = 400


class MissingParameter(QueryError):
    code = "MissingParameter"
    status = 400


class QueryServiceFailure(QueryError):
    code = "ServiceFailure"
    status = 500
    error_type = "Receiver"


def constraint(value: object, member: str, rule: str) -> QueryValidationError:
    """AWS's wording for one member that breaks one constraint of the model."""
    return QueryValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    )


def missing(member: str) -> QueryValidationError:
    return QueryValidationError(
        f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
        "Member must not be null"
    )
