"""What an AWS_PROXY integration's ``IntegrationUri`` names, and the checks AWS makes on it. Pure.

Accepted: a function's ARN (``arn:aws:lambda:<region>:<account>:function:<name>[:<version or
alias>]``) or API Gateway's invocation URI for it
(``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations``).
Whether the function exists is not checked here (AWS does not either): a request to a route whose
function is missing is answered 500.
"""

from __future__ import annotations

import re

_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]{1,64}(:(\$LATEST|[a-zA-Z0-9-_]+))?$")
_INVOCATION_URI = re.compile(r"^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<arn>.+)/invocations$")
PAYLOAD_VERSIONS = ("1.0", "2.0")
MIN_TIMEOUT_MS, MAX_TIMEOUT_MS = 50, 30000


def function_arn(uri: str) -> str | None:
    """The function ARN ``uri`` names, or None if it names none."""
    invocation = _INVOCATION_URI.match(uri)
    arn = invocation["arn"] if invocation else uri
    return arn if _FUNCTION_ARN.match(arn) else None
