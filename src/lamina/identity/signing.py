"""Signing requests with SigV4 (awscrt): what Lamina's own clients send, and the URLs it presigns.

``sign`` gives the headers to add to a request (``Authorization``, ``X-Amz-Date``, and
``X-Amz-Security-Token`` for a temporary key); ``presign`` a URL that carries its signature in its
query (GetFunction's ``Code.Location``, as AWS's is a presigned S3 URL).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from awscrt import auth, http


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def _config(credentials: Credentials, region: str, service: str, when: datetime, *, presign_seconds: int | None,
            body_value: str, body_header: bool = False) -> auth.AwsSigningConfig:  # fmt: skip
    s3 = service == "s3"  # S3's URIs: no double encoding, no normalization (keys may hold // and ..)
    return auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4,
        signature_type=(auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if presign_seconds is not None
                        else auth.AwsSignatureType.HTTP_REQUEST_HEADERS),  # fmt: skip
        credentials_provider=auth.AwsCredentialsProvider.new_static(
            credentials.access_key_id, credentials.secret_access_key, credentials.session_token
        ),
        region=region,
        service=service,
        date=when,
        use_double_uri_encode=not s3,
        should_normalize_uri_path=not s3,
        signed_body_value=body_value,
        signed_body_header_type=(auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256 if body_header
                                 else auth.AwsSignedBodyHeaderType.NONE),  # fmt: skip
        expiration_in_seconds=presign_seconds,
    )


def sign(method: str, url: str, headers: dict[str, str], body: bytes, credentials: Credentials, *,
         region: str, service: str = "lambda", now: datetime | None = None) -> dict[str, str]:  # fmt: skip
    """The headers that sign this request (to add to ``headers``, which must name no Host: the
    URL's is signed). An ``X-Amz-Content-SHA256`` among ``headers`` is what is signed of the body
    (S3's ``UNSIGNED-PAYLOAD``, for instance)."""
    split = urlsplit(url)
    target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    declared = next((v for k, v in headers.items() if k.lower() == "x-amz-content-sha256"), None)
    kept = [(k, v) for k, v in headers.items() if k.lower() != "x-amz-content-sha256"]
    request = http.HttpRequest(method, target, http.HttpHeaders([("Host", split.netloc), *kept]))
    when = now or datetime.now(timezone.utc)
    config = _config(credentials, region, service, when, presign_seconds=None, body_header=declared is not None,
                     body_value=declared or hashlib.sha256(body).hexdigest())  # fmt: skip
    signed = auth.aws_sign_request(request, config).result()
    names = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
    return {name: value for name in names if (value := signed.headers.get(name)) is not None}


def presign(method: str, url: str, credentials: Credentials, *, region: str, service: str = "lambda",
            expires_seconds: int = 600, now: datetime | None = None) -> str:  # fmt: skip
    """``url`` with its SigV4 signature in its query, good for ``expires_seconds``."""
    split = urlsplit(url)
    target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    request = http.HttpRequest(method, target, http.HttpHeaders([("Host", split.netloc)]))
    when = now or datetime.now(timezone.utc)
    config = _config(credentials, region, service, when, presign_seconds=expires_seconds,
                     body_value=hashlib.sha256(b"").hexdigest())  # fmt: skip
    signed = auth.aws_sign_request(request, config).result()
    path, _, query = str(signed.path).partition("?")
    return urlunsplit((split.scheme, split.netloc, path, query, ""))
