"""CloudFormation's errors, as botocore's model names them (query protocol: rendered by
api/query.py with the code in ``<Error><Code>``)."""

from __future__ import annotations

from lamina.iam.errors import QueryError


class StackValidationError(QueryError):
    """CloudFormation's catch-all: a bad template, a stack that does not exist, no updates."""

    code = "ValidationError"
    status = 400


class AlreadyExists(QueryError):
    code = "AlreadyExistsException"
    status = 400


class InsufficientCapabilities(QueryError):
    code = "InsufficientCapabilitiesException"
    status = 400


class ChangeSetNotFound(QueryError):
    code = "ChangeSetNotFound"
    status = 404


class InvalidChangeSetStatus(QueryError):
    code = "InvalidChangeSetStatus"
    status = 400


class LimitExceeded(QueryError):
    code = "LimitExceededException"
    status = 400


class TemplateError(StackValidationError):
    """A template CloudFormation refuses (``Template format error: ...``, ``Template error: ...``)."""


def format_error(detail: str) -> TemplateError:
    return TemplateError(f"Template format error: {detail}")


class ResourceFailed(Exception):
    """A provider could not create, update or delete a resource: ``reason`` is the event's
    ResourceStatusReason. Not an API error: it fails the stack's operation, not a request."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
