"""What an AWS_PROXY integration's ``IntegrationUri`` names, and the checks AWS makes on it
(``integration_from``: CreateIntegration's and UpdateIntegration's, and an import's). Pure.

Accepted: a function's ARN (``arn:aws:lambda:<region>:<account>:function:<name>[:<version or
alias>]``) or API Gateway's invocation URI for it
(``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations``).
Whether the function exists is not checked here (AWS does not either): a request to a route whose
function is missing is answered 500.
"""

from __future__ import annotations

import re
from typing import Mapping

from lamina.gateway.http.errors import BadRequest
from lamina.gateway.http.inputs import new_id, string
from lamina.gateway.http.model import DEFAULT_TIMEOUT_MS, Integration

_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]{1,64}(:(\$LATEST|[a-zA-Z0-9-_]+))?$")
_INVOCATION_URI = re.compile(r"^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<arn>.+)/invocations$")
PAYLOAD_VERSIONS = ("1.0", "2.0")
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 50, 30000


def function_arn(uri: str) -> str | None:
    """The function ARN ``uri`` names, or None if it names none."""
    invocation = _INVOCATION_URI.match(uri)
    arn = invocation["arn"] if invocation else uri
    return arn if _FUNCTION_ARN.match(arn) else None


def integration_from(integration: Integration | None, body: Mapping[str, object]) -> Integration:
    """``integration`` (None: a new one) with ``body``'s members (CreateIntegration's), checked."""
    kind = body.get("integrationType", "AWS_PROXY" if integration else None)
    if kind != "AWS_PROXY":
        raise BadRequest(f"Unsupported integration type {kind}: Lamina serves AWS_PROXY (Lambda) integrations")
    uri = string(body, "integrationUri", max_len=2048) or (integration.uri if integration else None)
    if uri is None:
        raise BadRequest("Invalid input: IntegrationUri is required for AWS_PROXY integrations")
    function = function_arn(uri)
    if function is None:
        raise BadRequest(f"Invalid integration URI specified: {uri}")
    version = string(body, "payloadFormatVersion", max_len=64) or (
        integration.payload_format_version if integration else None)
    if version is None:
        raise BadRequest("PayloadFormatVersion is required for AWS_PROXY integrations")
    if version not in PAYLOAD_VERSIONS:
        raise BadRequest(f"Invalid PayloadFormatVersion {version}: supported values are 1.0 and 2.0")
    timeout = body.get("timeoutInMillis", integration.timeout_ms if integration else DEFAULT_TIMEOUT_MS)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not (MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS):
        raise BadRequest(f"Timeout must be between {MIN_TIMEOUT_MS} ms and {MAX_TIMEOUT_MS} ms")
    method = body.get("integrationMethod")
    if method not in (None, "POST"):
        raise BadRequest("IntegrationMethod must be POST for AWS_PROXY integrations")
    description = string(body, "description") if "description" in body else (
        integration.description if integration else None)
    return Integration(integration.integration_id if integration else new_id(), uri, function, version, timeout,
                       description, integration.managed if integration else False)  # fmt: skip
