"""Which requests are S3's, and for which bucket and key (pure).

A request is S3's when its Host is ``<bucket>.s3.localhost[:port]`` (virtual-hosted style: the
bucket in the Host, the key in the path) or ``s3.localhost[:port]``, or when it is signed for the
service ``s3``: the Authorization header's credential scope ``<key>/<date>/<region>/s3/aws4_request``
or a presigned URL's ``X-Amz-Credential`` query parameter, or S3's older signature (version 2:
``Authorization: AWS <key>:<signature>``, ``AWSAccessKeyId`` and ``Signature`` in the query).
Those other than virtual-hosted are path-style: ``/<bucket>/<key>``. Anything else is not S3's, and the Lambda API's paths keep their
meaning. Signatures are not verified (no request's is, yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

HOST_SUFFIX = ".s3.localhost"
_SCOPE = re.compile(r"Credential=[^,\s]*/s3/aws4_request")
# S3's own older signature (version 2), which boto3 still uses for URLs presigned in us-east-1:
# ``Authorization: AWS <key>:<signature>``, or ``AWSAccessKeyId=...&Signature=...`` in the query.
_V2_QUERY = re.compile(r"(?:^|&)AWSAccessKeyId=[^&]*&(?:.*&)?Signature=|(?:^|&)Signature=[^&]*&(?:.*&)?AWSAccessKeyId=")
_QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=[^&]*(?:/|%2F)s3(?:/|%2F)aws4_request", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Target:
    bucket: str | None  # None: the service (ListBuckets)
    key: str | None  # None: the bucket itself


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host
    return host.rsplit(":", 1)[0] if ":" in host else host


def target(host: str, raw_path: str, authorization: str | None, query: str) -> Target | None:
    """``raw_path``: the request target's path as sent (percent-encoded), ``query`` its query string."""
    name = _hostname(host)
    if name.endswith(HOST_SUFFIX):
        bucket = name[: -len(HOST_SUFFIX)]
        key = unquote(raw_path[1:]) if raw_path.startswith("/") else unquote(raw_path)
        return Target(bucket, key or None)
    signed = authorization is not None and (
        _SCOPE.search(authorization) is not None or authorization.startswith("AWS ")
    )
    signed = signed or ("X-Amz-Credential" in query and _QUERY_SCOPE.search(query) is not None) or (
        _V2_QUERY.search(query) is not None
    )
    if name != "s3.localhost" and not signed:
        return None
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not path:
        return Target(None, None)
    bucket, slash, key = path.partition("/")
    return Target(unquote(bucket), unquote(key) if slash and key else None)
