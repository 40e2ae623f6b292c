"""Which service a request's signature must be scoped to: the credential scope's service AWS's
endpoint for the request would insist on (its signing name), told from the request alone (pure).

AWS serves each service at an endpoint of its own, and refuses a signature scoped to another
(``Credential should be scoped to correct service: 'lambda'. ``); Lamina serves them all at one
address, so what the request is says which: S3's requests (objects/routing.py) ``s3``; an
``X-Amz-Target`` its JSON service's (``AWSEvents`` events, ``AmazonSQS`` sqs, ``Logs_20140328``
logs, CloudWatch's monitoring); the query protocol's ``Version`` (or its host's first label) iam,
sts, monitoring or cloudformation; CloudWatch's RPC v2 CBOR monitoring; and the rest-json APIs by
path: Lambda's dated paths and Lamina's own ``/lamina/`` lambda (what ``lamina`` signs them with),
Scheduler's scheduler, IoT's rules iot, API Gateway's (REST APIs and ``/v2/`` HTTP APIs both)
apigateway, and the ``/tags/{arn}`` they share the ARN's service. A request none of these is
(unknown paths, answered as unknown operations) is held to no service. Function URLs (``lambda``)
and execute-api addresses (``execute-api``) are verified by their own serving code. ``lamina``'s
client (cli/client.py) signs by the same rules. No I/O, no imports beyond the standard library.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import unquote

LAMBDA = "lambda"
# The query protocol's services by their Version, named as signed (the credential scope's service)
# and as hosts' first label (``sts.localhost``): api/query.py serves them.
VERSIONS = {"2010-05-08": "iam", "2011-06-15": "sts", "2010-08-01": "monitoring", "2010-05-15": "cloudformation"}
NAMES = tuple(VERSIONS.values())
FORM = "application/x-www-form-urlencoded"
# X-Amz-Target's prefix (before the ".") -> the signing name of its service.
_TARGETS = {"AWSEvents": "events", "AmazonSQS": "sqs", "Logs_20140328": "logs",
            "GraniteServiceVersion20100801": "monitoring"}  # fmt: skip
# rest-json paths by their first segment -> the signing name (botocore's signingName) of their service.
_SEGMENTS = {"lamina": LAMBDA, "schedules": "scheduler", "schedule-groups": "scheduler", "rules": "iot",
             "restapis": "apigateway", "v2": "apigateway", "service": "monitoring"}  # fmt: skip
_DATED = re.compile(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}")  # Lambda's API versions: /2015-03-31/..., /2018-10-31/...
_ARN_SERVICE = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]{1,40}):")
_TAGGED = frozenset({"scheduler", "apigateway"})  # the services whose ARNs /tags/{arn} serves
_VERSION = re.compile(rb"(?:^|&)Version=([^&]*)")


def service_of(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None) -> str | None:
    """The service a request that is not S3's must be signed for (``path``: decoded; ``query``: as
    sent; ``body``: the query protocol's form, when read), or None: a request no service of Lamina's is."""
    target = headers.get("X-Amz-Target")
    if target is not None:
        return _TARGETS.get(target.partition(".")[0])
    segment, _, rest = path.removeprefix("/").partition("/")
    if segment == "":
        return _query_service(method, query, headers, body) if not rest else None
    if _DATED.fullmatch(segment):
        return LAMBDA
    if segment == "tags":
        found = _ARN_SERVICE.match(rest)
        return found.group(1) if found is not None and found.group(1) in _TAGGED else None
    return _SEGMENTS.get(segment)


def _query_service(method: str, query: str, headers: Mapping[str, str], body: bytes | None) -> str | None:
    """The query protocol's service (IAM, STS, CloudWatch, CloudFormation): by the form's
    ``Version`` (the body's, or the URL's), else the Host's first label (``sts.localhost``)."""
    form = body if method == "POST" and body and headers.get("Content-Type", "").startswith(FORM) else query.encode()
    versions = _VERSION.findall(form)
    if versions:  # the last, as api/query.py reads a repeated member
        return VERSIONS.get(unquote(versions[-1].decode("utf-8", "replace")))
    host = headers.get("Host", "").lower()
    return next((name for name in NAMES if host.startswith((f"{name}.", f"{name}-"))), None)
