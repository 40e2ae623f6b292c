"""Verifying a request's AWS Signature Version 4: the ``Authorization`` header or a presigned URL.

``verify`` takes a request as it arrived (method, raw path and query, headers, the body or its
declared hash), finds the key it names in a ``KeyRing``, checks what SigV4 bounds (the credential
scope's region and day, the clock skew: 5 minutes, S3 15; a presigned URL's ``X-Amz-Expires``: at
most 7 days, not past; a temporary key's ``X-Amz-Security-Token`` and expiry), then recomputes
the signature over exactly the headers the client signed, and compares it in constant time. The
signature is computed by lamina_native (native/: AWS's aws-sigv4 crate, in Rust) when it is built
and, asked once at import, computes awscrt's signatures; else, and for a request it declines, by
awscrt (AWS's own C implementation). awscrt's binding is called directly (``_config``,
``_sign``: a third of the cost of its Python wrapper gone) only if, asked once at import, it signs
exactly as the public ``aws_sign_request`` does; a release that changed it gets the public API. Every request is checked: nothing
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
import logging
import queue
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Container, Iterable, NamedTuple, Sequence
from urllib.parse import unquote

import _awscrt  # type: ignore[import-not-found]  # awscrt's C binding (no stubs): see _signature
from awscrt import auth, http

from lamina.identity.principals import AccessKey, Caller, KeyRing

log = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
MAX_SKEW_S3 = timedelta(minutes=15)
MAX_EXPIRES_SECONDS = 7 * 24 * 3600
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# What S3 accepts in X-Amz-Content-SHA256 besides a hash: aws-chunked uploads, signed chunk by
# chunk (the seed signature is this request's) or not, with trailers or not.
STREAMING = frozenset({"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                       "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})  # fmt: skip
AMZ_DATE = "%Y%m%dT%H%M%SZ"
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
# Headers awscrt adds to what it signs (and refuses to find in a request).
_ADDED = frozenset({"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization"})
_V4 = auth.AwsSigningAlgorithm.V4
_BY_HEADERS = auth.AwsSignatureType.HTTP_REQUEST_HEADERS
_BY_QUERY = auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
_BODY_HEADER = auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
_NO_BODY_HEADER = auth.AwsSignedBodyHeaderType.NONE


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
    query = _query(req.query)
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


def _query(raw: str) -> dict[str, str]:
    """The query's SigV4 parameters (lower-cased names: S3 reads them so), decoded; the first of repeats."""
    found: dict[str, str] = {}
    for pair in raw.split("&"):
        name, _, value = pair.partition("=")
        lowered = unquote(name).lower()
        if lowered.startswith("x-amz-") and lowered not in found:
            found[lowered] = unquote(value.replace("+", " "))
    return found


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


@functools.lru_cache(maxsize=256)
def _provider(access_key_id: str, secret_access_key: str, session_token: str | None) -> auth.AwsCredentialsProvider:
    """A key's static credentials for awscrt, made once per key (not per request: it costs a few µs)."""
    return auth.AwsCredentialsProvider.new_static(access_key_id, secret_access_key, session_token)


def _signature(req: SignedRequest, parts: _Parts, key: AccessKey, body_value: str, signed_at: datetime,
               s3: bool) -> str | None:  # fmt: skip
    """The signature ``key`` makes over ``req`` with exactly the client's signed headers, computed
    natively if lamina_native agreed at import and takes the request, else by awscrt; None if the
    client signed a header awscrt never signs (or one the request lacks)."""
    signing = _signing(req, parts, key, body_value, signed_at, s3)
    if signing is None:
        return None
    if _NATIVE is not None:
        found = _NATIVE(*signing)
        if found is not None:
            return found
    return _crt_signature(*signing)


# lamina_native.signature's arguments (lamina_native.pyi): method, path, query, signed headers,
# key id, secret, session token, region, service, X-Amz-Date (epoch seconds), payload, a presigned
# URL's X-Amz-Expires (None: the Authorization header), S3's URI rules, SignedHeaders as sent.
_Signing = tuple[str, str, str, Sequence[tuple[str, str]], str, str, str | None, str, str, int, str, int | None, bool,
                 str]  # fmt: skip


def _signing(req: SignedRequest, parts: _Parts, key: AccessKey, body_value: str, signed_at: datetime,
             s3: bool) -> _Signing | None:  # fmt: skip
    """What a signature over ``req`` is computed from (either way); None if the client signed a
    header awscrt never signs, or one the request lacks."""
    headers: list[tuple[str, str]] = []
    by_name = req.by_name
    for name in parts.signed_headers:
        if name in _UNSIGNABLE:
            return None
        value = by_name.get(name)
        if value is None:
            if name in _ADDED:
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


def _crt_signature(method: str, path: str, query: str, signed_headers: Sequence[tuple[str, str]], access_key_id: str,
                   secret_access_key: str, token: str | None, region: str, service: str, time: int,
                   body_value: str, expires: int | None, s3: bool, signed: str) -> str | None:  # fmt: skip
    """The signature awscrt computes, from ``lamina_native.signature``'s arguments (``signed``:
    SignedHeaders as sent); None if awscrt will not sign one of the headers, or signs others."""
    signed_at = datetime.fromtimestamp(time, timezone.utc)
    headers = [(name, value) for name, value in signed_headers if name not in _ADDED]  # awscrt adds them itself
    target = f"{path}?{query}" if query else path
    credentials = _provider(access_key_id, secret_access_key, token)
    make, sign = (_config, _sign) if _BINDING_AGREES else (_public_config, _public_sign)
    config = make(_BY_HEADERS if expires is None else _BY_QUERY, credentials, region, service, signed_at, not s3,
                  body_value, _BODY_HEADER if "x-amz-content-sha256" in signed.split(";") else _NO_BODY_HEADER,
                  expires or 0)  # fmt: skip
    try:
        done = sign(http.HttpRequest(method, target, http.HttpHeaders(headers)), config)
    except Exception:  # awscrt refused the request (a header it will not sign): no signature matches
        return None
    if expires is not None:
        added = _query(done.path.partition("?")[2])
        found, expected_names = added.get("x-amz-signature"), added.get("x-amz-signedheaders")
    else:  # AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...: awscrt's own form
        made = done.headers.get("Authorization") or ""
        found = made.rpartition("Signature=")[2]
        expected_names = made.partition("SignedHeaders=")[2].partition(",")[0]
    if expected_names != signed:
        return None  # awscrt signed other headers than the client did (one it skips)
    return found


def _config(signature_type: auth.AwsSignatureType, credentials: auth.AwsCredentialsProvider, region: str,
            service: str, date: datetime, double_encode: bool, body_value: str,
            body_header: auth.AwsSignedBodyHeaderType, expires: int) -> auth.AwsSigningConfig:  # fmt: skip
    """awscrt's SigV4 signing config, made by its binding as ``AwsSigningConfig()`` makes it but
    without the constructor's Python-side checks (what is passed here is always of the right
    types): a third of what building the config costs. ``expires``: 0 for none.
    tests/unit/test_sigv4_verify.py checks it against the public constructor."""
    config: auth.AwsSigningConfig = auth.AwsSigningConfig.__new__(auth.AwsSigningConfig)
    config._priv_should_sign_cb = None  # what its should_sign_header property reads
    config._binding = _awscrt.signing_config_new(
        _V4, signature_type, credentials, region, service, date, date.timestamp(),
        None, double_encode, double_encode, body_value, body_header, expires, False,
    )  # fmt: skip
    return config


def _sign(request: http.HttpRequest, config: auth.AwsSigningConfig) -> http.HttpRequest:
    """``request`` signed in place, as ``auth.aws_sign_request`` signs it, without its
    ``concurrent.futures.Future`` (a lock and a condition per request): with static credentials
    awscrt's signer calls back before it returns, and the queue is then already filled; were it
    ever to complete on one of its own threads, ``get`` waits for it."""
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    _awscrt.sign_request_aws(request, config, done.put)
    error = done.get(timeout=10)
    if error:
        raise RuntimeError(f"awscrt could not sign the request (error {error})")
    return request


def _public_config(signature_type: auth.AwsSignatureType, credentials: auth.AwsCredentialsProvider, region: str,
                   service: str, date: datetime, double_encode: bool, body_value: str,
                   body_header: auth.AwsSignedBodyHeaderType, expires: int) -> auth.AwsSigningConfig:  # fmt: skip
    """``_config`` through awscrt's public constructor."""
    return auth.AwsSigningConfig(
        algorithm=_V4, signature_type=signature_type, credentials_provider=credentials, region=region,
        service=service, date=date, use_double_uri_encode=double_encode, should_normalize_uri_path=double_encode,
        signed_body_value=body_value, signed_body_header_type=body_header, expiration_in_seconds=expires or None,
    )  # fmt: skip


def _public_sign(request: http.HttpRequest, config: auth.AwsSigningConfig) -> http.HttpRequest:
    """``_sign`` through awscrt's public function."""
    return auth.aws_sign_request(request, config).result(timeout=10)


def _binding_agrees() -> bool:
    """Whether ``_config`` and ``_sign`` (awscrt's C binding called directly, which an awscrt release
    may change) sign a request exactly as awscrt's public API does, by header and by query. Asked
    once, at import: if not, every request is verified through the public API (slower, never wrong)."""
    try:
        credentials = auth.AwsCredentialsProvider.new_static("AKIDBINDINGCHECK", "binding-check-secret", "token")
        date = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
        made = []
        for make, sign in ((_config, _sign), (_public_config, _public_sign)):
            for kind, expires in ((_BY_HEADERS, 0), (_BY_QUERY, 300)):
                request = http.HttpRequest("POST", "/a%20b/c?x=1&y=2", http.HttpHeaders([("host", "h:1"), ("a", "b")]))
                config = make(kind, credentials, "eu-west-1", "lambda", date, True, "e" * 64, _BODY_HEADER, expires)
                signed = sign(request, config)
                made.append((signed.path, list(signed.headers)))
        return made[:2] == made[2:]
    except Exception:  # noqa: BLE001 - a binding that changed shape: the public API it is
        return False


_BINDING_AGREES = _binding_agrees()


# lamina_native.signature (its arguments: _Signing's).
_Signer = Callable[[str, str, str, Sequence[tuple[str, str]], str, str, str | None, str, str, int, str, int | None,
                    bool, str], str | None]  # fmt: skip


def _import_native() -> _Signer | None:
    """lamina_native's signer (native/: built with Lamina when Rust's cargo is there), or None."""
    try:
        from lamina_native import signature
    except ImportError:
        return None
    native: _Signer = signature  # typed by lamina_native.pyi when it is installed
    return native


def _native_agrees(native: _Signer) -> bool:
    """Whether ``native`` computes, for a fixed set of requests (by header and presigned; S3's URI
    rules and the others'; session tokens; odd paths and queries; X-Amz-Content-SHA256 signed or
    not), the very signature awscrt computes. Asked once, at import: if not, awscrt computes every
    signature (slower, never wrong)."""
    date = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    stamp = date.strftime(AMZ_DATE)
    body = hashlib.sha256(b'{"x": 1}').hexdigest()
    # method, path, query, headers, token, service, payload, expires, s3, signed
    cases: list[tuple[str, str, str, list[tuple[str, str]], str | None, str, str, int | None, bool, str]] = [
        ("POST", "/2015-03-31/functions/a%20b/invocations", "Qualifier=%24LATEST&b=2&b=1&a=",
         [("content-type", "application/json"), ("host", "h:1"), ("x-amz-date", stamp), ("x-custom", "a   b  c")],
         None, "lambda", body, None, False, "content-type;host;x-amz-date;x-custom"),
        ("POST", "/a/./b/../c%2Fd//e", "",
         [("host", "h"), ("x-amz-content-sha256", body), ("x-amz-date", stamp), ("x-amz-security-token", "tok")],
         "tok", "lambda", body, None, False, "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"),
        ("PUT", "/bucket/a//b/../c%2Fd%20e", "partNumber=1&uploadId=x%2By",
         [("host", "s3.h"), ("x-amz-content-sha256", UNSIGNED_PAYLOAD), ("x-amz-date", stamp)],
         None, "s3", UNSIGNED_PAYLOAD, None, True, "host;x-amz-content-sha256;x-amz-date"),
        ("GET", "/bucket/k%20x", "versionId=1", [("host", "s3.h")], "tok", "s3", UNSIGNED_PAYLOAD, 300, True, "host"),
        ("GET", "/a/./b/../c", "x=%C3%A9", [("host", "h")], None, "sqs", hashlib.sha256(b"").hexdigest(), 60, False,
         "host"),
    ]  # fmt: skip
    try:
        for method, path, query, headers, token, service, payload, expires, s3, signed in cases:
            signing: _Signing = (method, path, query, headers, "AKIDNATIVECHECK", "native-check-secret", token,
                                 "eu-west-1", service, int(date.timestamp()), payload, expires, s3, signed)  # fmt: skip
            made = native(*signing)
            if made is None or made != _crt_signature(*signing):
                return False
        return True
    except Exception:  # noqa: BLE001 - a module of another shape: awscrt it is
        return False


def _native_signer() -> _Signer | None:
    native = _import_native()
    if native is None:
        return None
    if not _native_agrees(native):
        log.warning("lamina_native computes other SigV4 signatures than awscrt: awscrt computes them all")
        return None
    return native


_NATIVE = _native_signer()


def native_signatures() -> bool:
    """Whether lamina_native computes signatures (built, and agreeing with awscrt)."""
    return _NATIVE is not None
