"""Verifying a request's AWS Signature Version 4: the ``Authorization`` header or a presigned URL.

``verify`` takes a request as it arrived (method, raw path and query, headers, the body or its
declared hash), finds the key it names in a ``KeyRing``, checks what SigV4 bounds (the credential
scope's region and day, the clock skew: 5 minutes, S3 15; a presigned URL's ``X-Amz-Expires``: at
most 7 days, not past; a temporary key's ``X-Amz-Security-Token`` and expiry), then recomputes
the signature over exactly the headers the client signed (``signer.py``: natively when lamina_native
is built and agrees with awscrt, else by awscrt, AWS's own C implementation), and compares it in
constant time. Every request is checked: nothing
is remembered of a signature found good (what is read once per distinct text, X-Amz-Date and the
Authorization header before its signature, is a parse, never a verdict).

The payload hash in the canonical request is the body's SHA-256, computed here, for every service
but S3; ``X-Amz-Content-SHA256``, when sent, must equal it. For S3 (``s3=True``) the body is not
read here (it streams to disk): the header's value is what is signed (a hash, checked against the
body as it arrives by objects/receive.py; ``UNSIGNED-PAYLOAD``; or one of the ``STREAMING-*``
values of aws-chunked uploads, whose seed signature this verifies), with S3's URI rules (no double
encoding, no path normalization: keys may hold ``//`` and ``..``).

Pure but for the signature's computation: no I/O; ``now`` is passed in. ``verify`` never raises for what
a client sent: it returns the ``Caller`` or a ``Refusal`` saying which of AWS's failures it is.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Container, Iterable, NamedTuple, Sequence
from urllib.parse import unquote

from lamina.identity import signer
from lamina.identity.principals import AccessKey, Caller, KeyRing
from lamina.identity.signer import UNSIGNED_PAYLOAD

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
MAX_SKEW_S3 = timedelta(minutes=15)
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
# What S3 accepts in X-Amz-Content-SHA256 besides a hash: aws-chunked uploads, signed chunk by
# chunk (the seed signature is this request's) or not, with trailers or not.
STREAMING = frozenset({"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                       "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})  # fmt: skip
# The Authorization header before its last comma (what stays the same from one request of a client
# to the next), and after it (the signature).
_AUTHORIZATION_SCOPE = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]+)\s*"
)
_SIGNATURE_PREFIX = "Signature="
_SHA256 = re.compile(r"[0-9a-f]{64}")
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SIGNED_HEADERS = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+(?:;[a-z0-9!#$%&'*+.^_`|~-]+)*")
# The query parameters of a presigned URL that awscrt adds back when it signs.
_QUERY_AUTH = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
                         "x-amz-signedheaders", "x-amz-signature", "x-amz-security-token"})  # fmt: skip
# Headers awscrt never signs: a signature that covers one cannot be recomputed with it.
_UNSIGNABLE = frozenset({"user-agent", "x-amzn-trace-id", "expect", "transfer-encoding"})


class Failure(enum.Enum):
    MISSING = "missing"  # no signature at all (no Authorization, no X-Amz-Signature)
    INCOMPLETE = "incomplete"  # a SigV4 signature missing a part, or malformed
    UNKNOWN_KEY = "unknown key"  # the key id is no key Lamina knows
    MISMATCH = "mismatch"  # the signature is not the one the key's secret makes
    WRONG_SCOPE = "wrong scope"  # signed for another region (or an account not served here)
    WRONG_SERVICE = "wrong service"  # signed for another service than the one the request is for
    SKEWED = "skewed"  # signed too long ago, or too far ahead
    EXPIRED = "expired"  # a presigned URL past its X-Amz-Expires
    BAD_EXPIRES = "bad expires"  # X-Amz-Expires not a number, or more than 7 days
    INVALID_TOKEN = "invalid token"  # a temporary key without its session token, or with another
    EXPIRED_TOKEN = "expired token"  # a temporary key past its expiry
    CONTENT_SHA256 = "content sha256"  # X-Amz-Content-SHA256 does not match the body, or is no value S3 takes
    MISSING_CONTENT_SHA256 = "missing content sha256"  # S3: a header-signed request without it


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: ``failure`` (each service names it its own way) and the facts
    AWS's messages quote."""

    failure: Failure
    detail: str  # for the log: what exactly was wrong
    access_key_id: str | None = None
    signed_at: datetime | None = None  # the request's X-Amz-Date
    now: datetime | None = None
    max_skew: timedelta = MAX_SKEW
    expires_seconds: int | None = None  # a presigned URL's X-Amz-Expires
    region: str | None = None  # the region it was signed for (WRONG_SCOPE)
    service: str | None = None  # the service it should have been signed for (WRONG_SERVICE)
    signed_service: str | None = None  # the one it was signed for (WRONG_SERVICE)
    content_sha256: str | None = None  # what the client said (CONTENT_SHA256)
    computed_sha256: str | None = None  # what the body's is


@dataclass(frozen=True)
class SignedRequest:
    method: str
    path: str  # as sent (percent-encoded), without the query
    query: str  # as sent, without the "?"
    headers: Sequence[tuple[str, str]]  # as received, repeats kept
    body: bytes | None  # None: not read here (S3: X-Amz-Content-SHA256 says its hash)
    body_sha256: str | None = None  # the body's hash, when the caller has it (a large body's, hashed off the loop)
    # Every header by its lower-cased name, repeats joined with commas, as SigV4 reads them (made once).
    by_name: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = {name.lower(): value for name, value in self.headers}
        if len(found) != len(self.headers):  # a repeated header: its values joined, in order
            found = {}
            for name, value in self.headers:
                key = name.lower()
                found[key] = f"{found[key]},{value}" if key in found else value
        object.__setattr__(self, "by_name", found)

    def header(self, name: str) -> str | None:
        """The header ``name`` (lower-case)."""
        return self.by_name.get(name)


class _Parts(NamedTuple):  # a tuple: made for every request, the cheapest value to make
    """A signature's parts, from the Authorization header or a presigned URL's query."""

    presigned: bool
    access_key_id: str
    day: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signed: str  # the signed headers as sent: ";"-separated
    signature: str
    amz_date: str
    token: str | None
    expires: str | None  # presigned only


def is_signed(headers: Iterable[tuple[str, str]], query: str) -> bool:
    """Whether a request carries a signature at all (an Authorization header or X-Amz-Signature)."""
    return any(k.lower() == "authorization" for k, _ in headers) or "x-amz-signature=" in query.lower()


def verify(req: SignedRequest, ring: KeyRing, *, region: str | Container[str], accounts: Container[str] | None,
           now: datetime, s3: bool = False, service: str | None = None) -> Caller | Refusal:  # fmt: skip
    """The caller of a request correctly signed with a key of ``ring``, for ``region`` (one
    region, or any of a set: lamina.cells.regions) and ``service``, when given, and one of
    ``accounts`` (None: any account of a key in ``ring``), or why it is refused. ``now``:
    timezone-aware."""
    parts = _parts(req)
    if isinstance(parts, Refusal):
        return parts
    key_id = parts.access_key_id
    key = ring.find(key_id)
    if key is None:
        return Refusal(Failure.UNKNOWN_KEY, f"no key {key_id}", key_id)
    if accounts is not None and key.principal.account_id not in accounts:
        return Refusal(Failure.UNKNOWN_KEY, f"key {key_id} is of account {key.principal.account_id}, not served here",
                       key_id)  # fmt: skip
    if not in_region(parts.region, region):
        return Refusal(Failure.WRONG_SCOPE, f"signed for region {parts.region}, not {_named(region)}", key_id,
                       region=parts.region)  # fmt: skip
    if service is not None and parts.service != service:
        return Refusal(Failure.WRONG_SERVICE, f"signed for service {parts.service[:40]!r}, not {service}", key_id,
                       region=parts.region, service=service, signed_service=parts.service)  # fmt: skip
    signed_at = _amz_date(parts.amz_date)
    if signed_at is None:
        return Refusal(Failure.INCOMPLETE, f"X-Amz-Date {parts.amz_date[:40]!r} is not a date", key_id)
    if parts.amz_date[:8] != parts.day:
        return Refusal(Failure.MISMATCH, "the credential scope's day is not X-Amz-Date's", key_id)
    skew = MAX_SKEW_S3 if s3 else MAX_SKEW
    if parts.presigned:
        expired = _expiry(parts, signed_at, now, key_id)
        if expired is not None:
            return expired
        if signed_at - now > skew:
            return Refusal(Failure.SKEWED, "presigned in the future", key_id, signed_at, now, skew)
    elif abs(now - signed_at) > skew:
        return Refusal(Failure.SKEWED, f"signed at {parts.amz_date}", key_id, signed_at, now, skew)
    token = _token(key, parts.token, now)
    if token is not None:
        return token
    body_value = _body_value(req, parts, s3, key_id)
    if isinstance(body_value, Refusal):
        return body_value
    expected = _signature(req, parts, key, body_value, signed_at, s3)
    if expected is None:
        return Refusal(Failure.MISMATCH, f"a signed header is one awscrt cannot sign ({', '.join(parts.signed_headers)})",
                       key_id)  # fmt: skip
    if not hmac.compare_digest(expected, parts.signature):
        return Refusal(Failure.MISMATCH, "the signature does not match", key_id)
    return Caller(key, parts.region, parts.service)


def in_region(signed: str, region: str | Container[str]) -> bool:
    """Whether a scope's region is ``region`` (one name), or one of them (a set)."""
    return signed == region if isinstance(region, str) else signed in region


def _named(region: str | Container[str]) -> str:
    return region if isinstance(region, str) else "a region served here"


@functools.lru_cache(maxsize=64)
def _amz_date(text: str) -> datetime | None:
    """``20240101T120000Z`` as a datetime (UTC); None if it is not one. (strptime costs 30 µs.)
    Parsed once per distinct text: many requests are signed in the same second."""
    if len(text) != 16 or _AMZ_DATE.fullmatch(text) is None:
        return None
    try:
        return datetime.fromisoformat(text)  # the basic format, Z: UTC
    except ValueError:  # month 13, and the like
        return None


def _parts(req: SignedRequest) -> _Parts | Refusal:
    authorization = req.header("authorization")
    if authorization is not None:
        # AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=<64 hex digits>
        head, _, tail = authorization.strip().rpartition(",")
        signature = tail.lstrip()
        scope = _authorization_scope(head)
        if (scope is None or not signature.startswith(_SIGNATURE_PREFIX)
                or _SHA256.fullmatch(signature, len(_SIGNATURE_PREFIX)) is None):  # fmt: skip
            return Refusal(Failure.INCOMPLETE, "the Authorization header is not an AWS4-HMAC-SHA256 signature")
        amz_date = req.header("x-amz-date")
        if amz_date is None:
            return Refusal(Failure.INCOMPLETE, "no X-Amz-Date header")
        return _made(False, scope[0], scope[1], signature[len(_SIGNATURE_PREFIX) :], amz_date,
                     req.header("x-amz-security-token"), None)  # fmt: skip
    query = signer.amz_query(req.query)
    if "x-amz-signature" not in query and "x-amz-algorithm" not in query:
        return Refusal(Failure.MISSING, "the request is not signed")
    needed = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signedheaders", "x-amz-signature",
              "x-amz-expires")  # fmt: skip
    missing = [name for name in needed if name not in query]
    if missing or query["x-amz-algorithm"] != ALGORITHM or _SHA256.fullmatch(query["x-amz-signature"]) is None:
        return Refusal(Failure.INCOMPLETE, f"a presigned URL without {', '.join(missing) or 'a SigV4 signature'}")
    return _made(True, query["x-amz-credential"], query["x-amz-signedheaders"], query["x-amz-signature"],
                 query["x-amz-date"], query.get("x-amz-security-token"), query["x-amz-expires"])  # fmt: skip


@functools.lru_cache(maxsize=256)
def _authorization_scope(head: str) -> tuple[str, str] | None:
    """(credential, signed headers) of an Authorization header's part before the signature, or None
    if it is not ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...``. Read once per distinct
    text: a client sends the same one with every request (only the signature differs)."""
    match = _AUTHORIZATION_SCOPE.fullmatch(head)
    return None if match is None else (match["credential"], match["signed"])


@functools.lru_cache(maxsize=256)
def _scope(credential: str, signed: str) -> tuple[tuple[str, str, str, str], tuple[str, ...]] | Refusal:
    """A credential's (key, day, region, service) and the signed headers' names, checked; read
    once per distinct pair (a parse of what the client sent: no verdict on a signature)."""
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope):
        return Refusal(Failure.INCOMPLETE, "the credential scope is not KEY/DAY/REGION/SERVICE/aws4_request")
    names = tuple(signed.split(";"))
    if "host" not in names or _SIGNED_HEADERS.fullmatch(signed) is None:
        return Refusal(Failure.INCOMPLETE, "SignedHeaders must name host, in lower case", scope[0])
    return (scope[0], scope[1], scope[2], scope[3]), names


def _made(presigned: bool, credential: str, signed: str, signature: str, amz_date: str, token: str | None,
          expires: str | None) -> _Parts | Refusal:  # fmt: skip
    read = _scope(credential, signed)
    if isinstance(read, Refusal):
        return read
    (key_id, day, region, service), names = read
    return _Parts(presigned, key_id, day, region, service, names, signed, signature, amz_date.strip(), token,
                  expires)  # fmt: skip


def _expiry(parts: _Parts, signed_at: datetime, now: datetime, key_id: str) -> Refusal | None:
    expires = parts.expires or ""
    if not expires.isdigit() or len(expires) > 12:
        return Refusal(Failure.BAD_EXPIRES, f"X-Amz-Expires {expires[:20]!r} is not a number of seconds", key_id)
    seconds = int(expires)
    if seconds > MAX_EXPIRES_SECONDS:
        return Refusal(Failure.BAD_EXPIRES, f"X-Amz-Expires {seconds} is more than 7 days", key_id,
                       expires_seconds=seconds)  # fmt: skip
    if now > signed_at + timedelta(seconds=seconds):
        return Refusal(Failure.EXPIRED, f"presigned at {parts.amz_date} for {seconds} s", key_id, signed_at, now,
                       expires_seconds=seconds)  # fmt: skip
    return None


def _token(key: AccessKey, token: str | None, now: datetime) -> Refusal | None:
    if key.session_token is None:
        if token is not None:
            return Refusal(Failure.INVALID_TOKEN, f"a security token sent with key {key.access_key_id}, which has none",
                           key.access_key_id)  # fmt: skip
        return None
    if token is None or not hmac.compare_digest(token.encode(), key.session_token.encode()):
        return Refusal(Failure.INVALID_TOKEN, f"the security token of key {key.access_key_id} is missing or wrong",
                       key.access_key_id)  # fmt: skip
    if key.expires_at is not None and now >= key.expires_at:
        return Refusal(Failure.EXPIRED_TOKEN, f"key {key.access_key_id} expired at {key.expires_at.isoformat()}",
                       key.access_key_id)  # fmt: skip
    return None


def _body_value(req: SignedRequest, parts: _Parts, s3: bool, key_id: str) -> str | Refusal:
    """What the canonical request says of the payload: its hash, or S3's special values."""
    declared = req.header("x-amz-content-sha256")
    if s3:
        if declared is None:
            if parts.presigned:
                return UNSIGNED_PAYLOAD
            return Refusal(Failure.MISSING_CONTENT_SHA256, "no X-Amz-Content-SHA256", key_id)
        if declared == UNSIGNED_PAYLOAD or declared in STREAMING or _SHA256.fullmatch(declared):
            return declared  # a hash is checked against the body as it arrives (objects/receive.py)
        return Refusal(Failure.CONTENT_SHA256, f"X-Amz-Content-SHA256 {declared[:80]!r} is no value S3 takes",
                       key_id, content_sha256=declared)  # fmt: skip
    computed = req.body_sha256 or hashlib.sha256(req.body or b"").hexdigest()
    if declared is not None and declared != computed:
        return Refusal(Failure.CONTENT_SHA256, "X-Amz-Content-SHA256 is not the body's", key_id,
                       content_sha256=declared, computed_sha256=computed)  # fmt: skip
    return computed


def _signature(req: SignedRequest, parts: _Parts, key: AccessKey, body_value: str, signed_at: datetime,
               s3: bool) -> str | None:  # fmt: skip
    """The signature ``key`` makes over ``req`` with exactly the client's signed headers, computed
    natively if lamina_native agreed at import and takes the request, else by awscrt; None if the
    client signed a header awscrt never signs (or one the request lacks)."""
    signing = _signing(req, parts, key, body_value, signed_at, s3)
    if signing is None:
        return None
    return signer.signature(signing)


def _signing(req: SignedRequest, parts: _Parts, key: AccessKey, body_value: str, signed_at: datetime,
             s3: bool) -> signer.Signing | None:  # fmt: skip
    """What a signature over ``req`` is computed from (either way); None if the client signed a
    header awscrt never signs, or one the request lacks."""
    headers: list[tuple[str, str]] = []
    by_name = req.by_name
    for name in parts.signed_headers:
        if name in _UNSIGNABLE:
            return None
        value = by_name.get(name)
        if value is None:
            if name in signer.ADDED:
                continue  # the signer adds it (its value is checked or made there)
            return None  # a header said signed that is not there
        headers.append((name, value))
    query = _unauthenticated(req.query) if parts.presigned else req.query
    token = key.session_token if parts.token is not None else None
    expires = int(parts.expires or 0) if parts.presigned else None
    return (req.method, req.path, query, headers, key.access_key_id, key.secret_access_key, token, parts.region,
            parts.service, int(signed_at.timestamp()), body_value, expires, s3, parts.signed)  # fmt: skip


def _unauthenticated(query: str) -> str:
    """A presigned URL's query without the signature's own parameters (the signer adds them back)."""
    return "&".join(pair for pair in query.split("&") if pair and unquote(pair.partition("=")[0]).lower() not in _QUERY_AUTH)
