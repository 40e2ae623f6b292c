"""Integrations: which PutIntegration requests AWS accepts, and which function a Lambda proxy calls.

Every integration type AWS knows is accepted and stored (SAM and Terraform send what they send);
Lamina serves ``AWS_PROXY`` integrations whose URI is Lambda's Invoke path::

    arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations

A method whose integration is any other (``MOCK``, ``HTTP``, ``AWS``, ``HTTP_PROXY``, or
``AWS_PROXY`` to Firehose) answers ``500 {"message": "Internal server error"}`` when called.
The function ARN may name stage variables (``function:${stageVariables.fn}``): they are replaced
at call time from the stage's variables.
"""

from __future__ import annotations

import re
import urllib.parse

from lamina.gateway.rest.errors import BadRequest

TYPES = ("HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY")
_LAMBDA_URI = re.compile(r"^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<fn>.+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


def validate_integration(type_: str, uri: str | None, http_method: str | None, timeout_ms: int | None) -> None:
    """BadRequest, in AWS's words, for an integration AWS would refuse."""
    if type_ not in TYPES:
        raise BadRequest(f"1 validation error detected: Value '{type_}' at 'putIntegrationInput.type' failed to "
                         f"satisfy constraint: Member must satisfy enum value set: [{', '.join(TYPES)}]")  # fmt: skip
    if timeout_ms is not None and not 50 <= timeout_ms <= 29_000:
        raise BadRequest("Timeout should be between 50 ms and 29000 ms")
    if type_ == "MOCK":
        return
    if not http_method:
        raise BadRequest("Enumeration value for HttpMethod must be non-empty")
    if type_ in ("HTTP", "HTTP_PROXY"):
        parsed = urllib.parse.urlsplit(_STAGE_VARIABLE.sub("x", uri or ""))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise BadRequest("Invalid HTTP endpoint specified for URI")
        return
    parts = (uri or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "apigateway":
        raise BadRequest("Invalid ARN specified in the request")
    if not parts[5].startswith(("path/", "action/")):
        raise BadRequest("AWS ARN for integration must contain path or action")
    if type_ == "AWS_PROXY" and parts[4] not in ("lambda", "firehose"):
        raise BadRequest("Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose "
                         "stream invocations.")  # fmt: skip


def function_of(type_: str, uri: str | None) -> str | None:
    """The function (an ARN, maybe naming stage variables) a Lambda proxy integration invokes, else None."""
    if type_ != "AWS_PROXY" or uri is None:
        return None
    match = _LAMBDA_URI.match(uri)
    return match["fn"] if match else None


def resolve_function(function: str, variables: dict[str, str]) -> str | None:
    """``function`` with its stage variables replaced; None if one is not set."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = variables.get(match[1])
        if found is None:
            missing = True
            return ""
        return found

    resolved = _STAGE_VARIABLE.sub(value, function)
    return None if missing else resolved
