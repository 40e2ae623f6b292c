"""CloudWatch's errors, as its query protocol names them (``code``: what every client is shown) and
as its Smithy model does (``shape``: the ``__type`` of an RPCv2 CBOR or JSON error). CloudWatch is
query-compatible: CBOR and JSON errors also carry ``x-amzn-query-error: <code>;<Sender|Receiver>``,
which botocore reads the code from.

    ApiError (lamina.errors)
      CloudWatchError
        InvalidParameterValue, MissingParameter, InvalidParameterCombination, InvalidNextToken,
        Serialization (a body that cannot be read), UnknownOperation, CloudWatchAccessDenied,
        InternalServiceFault
"""

from __future__ import annotations

from typing import ClassVar

from lamina.errors import ApiError


class CloudWatchError(ApiError):
    shape: ClassVar[str] = "InternalServiceFault"
    status = 400

    @property
    def fault(self) -> str:
        return "Receiver" if self.status >= 500 else "Sender"

    def headers(self) -> dict[str, str]:
        return {"x-amzn-query-error": f"{self.code};{self.fault}"}


class InvalidParameterValue(CloudWatchError):
    code = "InvalidParameterValue"
    shape = "InvalidParameterValueException"


class MissingParameter(CloudWatchError):
    code = "MissingParameter"
    shape = "MissingRequiredParameterException"


class InvalidParameterCombination(CloudWatchError):
    code = "InvalidParameterCombination"
    shape = "InvalidParameterCombinationException"


class InvalidNextToken(CloudWatchError):
    code = "InvalidNextToken"
    shape = "InvalidNextToken"


class Serialization(CloudWatchError):
    code = "SerializationException"
    shape = "SerializationException"


class UnknownOperation(CloudWatchError):
    code = "UnknownOperationException"
    shape = "UnknownOperationException"
    status = 404


class CloudWatchAccessDenied(CloudWatchError):
    code = "AccessDenied"
    shape = "AccessDeniedException"
    status = 403


class InternalServiceFault(CloudWatchError):
    code = "InternalServiceError"
    shape = "InternalServiceFault"
    status = 500
