"""S3's older signature (version 2), still what boto3 presigns S3 URLs with in us-east-1.

``Authorization: AWS <key>:<signature>``, or ``AWSAccessKeyId``, ``Signature`` and ``Expires`` in
the query. The string to sign is recomputed with botocore's own ``HmacV1Auth`` (imported only
here, when such a request arrives: botocore comes with ``lamina[clients]``; without it, version 2
is refused and SigV4 asked for). Outcomes are identity/sigv4.py's ``Caller`` or ``Refusal``.
"""

from __future__ import annotations

import hmac
import importlib
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from lamina.identity.principals import Caller, KeyRing
from lamina.identity.sigv4 import MAX_SKEW_S3, MAX_EXPIRES_SECONDS, Failure, Refusal, SignedRequest

PREFIX = "AWS "


def is_v2(req: SignedRequest) -> bool:
    authorization = req.header("authorization")
    if authorization is not None:
        return authorization.startswith(PREFIX)
    names = {unquote(pair.partition("=")[0]) for pair in req.query.split("&")}
    return "AWSAccessKeyId" in names and "Signature" in names


def verify(req: SignedRequest, ring: KeyRing, *, auth_path: str, accounts: frozenset[str], region: str,
           now: datetime) -> Caller | Refusal:  # fmt: skip
    """``auth_path``: ``/<bucket>/<key>`` as sent (percent-encoded), whichever style addressed it."""
    query = {unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in req.query.split("&") if p)}
    authorization = req.header("authorization")
    if authorization is not None:
        key_id, colon, signature = authorization[len(PREFIX):].strip().rpartition(":")
        if not colon or not key_id:
            return Refusal(Failure.INCOMPLETE, "the Authorization header is not AWS KEY:SIGNATURE")
        expires: str | None = None
    else:
        key_id, signature, expires = query["AWSAccessKeyId"], query["Signature"], query.get("Expires")
        if expires is None or not expires.isdigit():
            return Refusal(Failure.INCOMPLETE, "a presigned URL without Expires", key_id)
    key = ring.find(key_id)
    if key is None or key.principal.account_id not in accounts:
        return Refusal(Failure.UNKNOWN_KEY, f"no key {key_id} here", key_id)
    if expires is not None:
        at = datetime.fromtimestamp(int(expires), timezone.utc)
        if now > at:
            return Refusal(Failure.EXPIRED, f"presigned until {expires}", key_id, at, now, expires_seconds=0)
        if at - now > timedelta(seconds=MAX_EXPIRES_SECONDS):
            return Refusal(Failure.BAD_EXPIRES, "presigned for more than 7 days", key_id)
    else:
        dated = req.header("x-amz-date") or req.header("date") or ""
        try:
            signed_at = parsedate_to_datetime(dated)
        except (TypeError, ValueError):
            return Refusal(Failure.INCOMPLETE, "no valid Date or X-Amz-Date", key_id)
        if abs(now - signed_at) > MAX_SKEW_S3:
            return Refusal(Failure.SKEWED, f"signed at {dated}", key_id, signed_at, now, MAX_SKEW_S3)
    token = req.header("x-amz-security-token") or query.get("x-amz-security-token")
    if (token or None) != key.session_token or (
        key.session_token is not None and key.expires_at is not None and now >= key.expires_at
    ):
        failure = Failure.INVALID_TOKEN if (token or None) != key.session_token else Failure.EXPIRED_TOKEN
        return Refusal(failure, f"the security token of key {key_id}", key_id)
    # A bucket's own resource is "/<bucket>/" as S3 and botocore sign it, whether or not the path ends so.
    paths = [auth_path]
    if auth_path.count("/") == 1 and len(auth_path) > 1:
        paths.append(auth_path + "/")
    try:
        expected = [_signature(req, key.secret_access_key, query, expires, path) for path in paths]
    except ImportError:
        return Refusal(Failure.INCOMPLETE, "S3's signature version 2 needs botocore (lamina[clients]); sign with SigV4",
                       key_id)  # fmt: skip
    if not any(hmac.compare_digest(one.encode(), signature.encode()) for one in expected):
        return Refusal(Failure.MISMATCH, "the signature (version 2) does not match", key_id)
    return Caller(key, region, "s3")


def _signature(req: SignedRequest, secret: str, query: dict[str, str], expires: str | None, auth_path: str) -> str:
    botoauth: Any = importlib.import_module("botocore.auth")
    awsrequest: Any = importlib.import_module("botocore.awsrequest")
    credentials: Any = importlib.import_module("botocore.credentials")
    headers = awsrequest.HTTPHeaders()
    for name, value in req.headers:
        lowered = name.lower()
        if lowered in ("content-md5", "content-type") or lowered.startswith("x-amz-"):
            headers[lowered] = value
    if expires is not None:  # a presigned URL's x-amz-* parameters are signed as headers
        for name, value in query.items():
            if name.lower().startswith("x-amz-"):
                headers[name.lower()] = value
    date = expires if expires is not None else ("" if "x-amz-date" in headers else (req.header("date") or ""))

    class _Signer(botoauth.HmacV1Auth):  # type: ignore[misc]
        def _get_date(self) -> str:
            return date

    signer = _Signer(credentials.Credentials("", secret))
    split = urlsplit(f"http://host{auth_path}?{req.query}")
    result: str = signer.sign_string(signer.canonical_string(req.method, split, headers, auth_path=auth_path))
    return result
