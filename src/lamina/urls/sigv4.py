"""Checking the SigV4 signature of a request to an ``AWS_IAM`` function URL.

The request must be signed for service ``lambda`` in Lamina's region with the one credential pair
Lamina knows (``LAMINA_ACCESS_KEY_ID`` / ``LAMINA_SECRET_ACCESS_KEY``), in the ``Authorization``
header (query-string presigning is not accepted), with an ``X-Amz-Date`` no more than five minutes
from now. The signature is recomputed with botocore's own ``SigV4Auth`` over the request as it was
received, restricted to the headers the client says it signed, and compared in constant time.

botocore is imported only when a signature is checked: it comes with ``lamina[clients]`` (boto3).
``verify`` never raises for what the client sent; it returns the ``Caller`` or a ``Refusal``
whose reason Lamina logs (the client only ever sees AWS's 403 ``Forbidden``).
"""

from __future__ import annotations

import hmac
import importlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from lamina.urls.events import Caller

SERVICE = "lambda"
MAX_CLOCK_SKEW = timedelta(minutes=5)
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str  # scheme://host/<raw path>[?<raw query>], as the client addressed it
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str = ""
    account_id: str = "000000000000"

    def __repr__(self) -> str:  # never the secret, in logs or tracebacks
        return f"Credentials(access_key_id={self.access_key_id!r}, account_id={self.account_id!r})"


@dataclass(frozen=True)
class Refusal:
    reason: str


def verify(req: SignedRequest, credentials: Credentials, region: str, now: datetime) -> Caller | Refusal:
    """The caller of a correctly signed request, or why it is refused."""
    authorization = req.header("authorization")
    if not authorization:
        return Refusal("the request is not signed (no Authorization header)")
    match = _AUTHORIZATION.match(authorization)
    if not match:
        return Refusal("the Authorization header is not an AWS4-HMAC-SHA256 signature")
    scope = match["credential"].split("/")
    if len(scope) != 5:
        return Refusal("the signature's credential scope is malformed")
    access_key, day, scope_region, service, terminator = scope
    if access_key != credentials.access_key_id:
        return Refusal(f"unknown access key {access_key}")
    if (scope_region, service, terminator) != (region, SERVICE, "aws4_request"):
        return Refusal(f"signed for {service} in {scope_region}, not for {SERVICE} in {region}")
    amz_date = req.header("x-amz-date") or ""
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        return Refusal("no valid X-Amz-Date header")
    if amz_date[:8] != day:
        return Refusal("the credential scope's date is not the X-Amz-Date's")
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        return Refusal(f"signature expired or not yet current: signed at {amz_date}")
    signed = match["signed"].split(";")
    if "host" not in signed:
        return Refusal("the Host header is not signed")
    headers: dict[str, str] = {}
    for name in signed:
        value = req.header(name)
        if value is None:
            return Refusal(f"signed header {name} is missing")
        headers[name] = value
    try:
        expected = signature(req, headers, amz_date, credentials, region)
    except ImportError:
        return Refusal("botocore is not installed: install lamina[clients] to serve AWS_IAM function URLs")
    if not hmac.compare_digest(expected, match["signature"]):
        return Refusal("the signature does not match")
    account = credentials.account_id
    return Caller(access_key=access_key, account_id=account, caller_id=account,
                  user_arn=f"arn:aws:iam::{account}:root", user_id=account)  # fmt: skip


def signature(req: SignedRequest, headers: dict[str, str], amz_date: str, credentials: Credentials,
              region: str) -> str:  # fmt: skip
    """botocore's SigV4 signature of ``req`` with exactly ``headers`` signed, at ``amz_date``."""
    auth: Any = importlib.import_module("botocore.auth")
    awsrequest: Any = importlib.import_module("botocore.awsrequest")
    botocredentials: Any = importlib.import_module("botocore.credentials")
    request = awsrequest.AWSRequest(method=req.method, url=req.url, headers=headers, data=req.body)
    request.context["timestamp"] = amz_date
    signer = auth.SigV4Auth(
        botocredentials.Credentials(credentials.access_key_id, credentials.secret_access_key), SERVICE, region
    )
    to_sign = awsrequest.HTTPHeaders()
    for name, value in headers.items():
        to_sign[name] = value
    # botocore leaves a few headers (User-Agent, Expect, ...) out of what it signs; the client's
    # list is the truth here, so sign exactly the headers it named.
    signer.headers_to_sign = lambda _request: to_sign
    canonical = signer.canonical_request(request)
    result: str = signer.signature(signer.string_to_sign(request, canonical), request)
    return result
