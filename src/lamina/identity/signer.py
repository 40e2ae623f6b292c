"""Computing a request's SigV4 signature, for ``sigv4.verify``: by lamina_native when it is built
and agrees with awscrt, else by awscrt.

lamina_native (native/: AWS's aws-sigv4 crate, in Rust) is asked once, at import, to sign a fixed
set of requests; it is used only if it computes exactly what awscrt computes (``native_agrees``),
and even then a request it declines is signed by awscrt. awscrt's binding is called directly
(``_config``, ``_sign``: a third of the cost of its Python wrapper gone) only if, asked once at
import, it signs exactly as the public ``aws_sign_request`` does; a release that changed it gets the
public API. Both are given the same arguments (``Signing``), never a verdict: comparing the
signature with the client's is ``sigv4``'s.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import queue
from datetime import datetime, timezone
from typing import Callable, Sequence
from urllib.parse import unquote

import _awscrt  # type: ignore[import-not-found]  # awscrt's C binding (no stubs): see _config
from awscrt import auth, http

log = logging.getLogger(__name__)

AMZ_DATE = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Headers awscrt adds to what it signs (and refuses to find in a request).
ADDED = frozenset({"x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "authorization"})
_V4 = auth.AwsSigningAlgorithm.V4
_BY_HEADERS = auth.AwsSignatureType.HTTP_REQUEST_HEADERS
_BY_QUERY = auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
_BODY_HEADER = auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
_NO_BODY_HEADER = auth.AwsSignedBodyHeaderType.NONE


# lamina_native.signature's arguments (lamina_native.pyi): method, path, query, signed headers,
# key id, secret, session token, region, service, X-Amz-Date (epoch seconds), payload, a presigned
# URL's X-Amz-Expires (None: the Authorization header), S3's URI rules, SignedHeaders as sent.
Signing = tuple[str, str, str, Sequence[tuple[str, str]], str, str, str | None, str, str, int, str, int | None, bool,
                 str]  # fmt: skip


def amz_query(raw: str) -> dict[str, str]:
    """The query's SigV4 parameters (lower-cased names: S3 reads them so), decoded; the first of repeats."""
    found: dict[str, str] = {}
    for pair in raw.split("&"):
        name, _, value = pair.partition("=")
        lowered = unquote(name).lower()
        if lowered.startswith("x-amz-") and lowered not in found:
            found[lowered] = unquote(value.replace("+", " "))
    return found


def signature(signing: Signing) -> str | None:
    """The signature of ``signing``, natively if lamina_native agreed at import and takes the
    request, else by awscrt; None if awscrt will not sign one of its headers, or signs others."""
    if NATIVE is not None:
        found = NATIVE(*signing)
        if found is not None:
            return found
    return crt_signature(*signing)


@functools.lru_cache(maxsize=256)
def _provider(access_key_id: str, secret_access_key: str, session_token: str | None) -> auth.AwsCredentialsProvider:
    """A key's static credentials for awscrt, made once per key (not per request: it costs a few µs)."""
    return auth.AwsCredentialsProvider.new_static(access_key_id, secret_access_key, session_token)


def crt_signature(method: str, path: str, query: str, signed_headers: Sequence[tuple[str, str]], access_key_id: str,
                   secret_access_key: str, token: str | None, region: str, service: str, time: int,
                   body_value: str, expires: int | None, s3: bool, signed: str) -> str | None:  # fmt: skip
    """The signature awscrt computes, from ``lamina_native.signature``'s arguments (``signed``:
    SignedHeaders as sent); None if awscrt will not sign one of the headers, or signs others."""
    signed_at = datetime.fromtimestamp(time, timezone.utc)
    headers = [(name, value) for name, value in signed_headers if name not in ADDED]  # awscrt adds them itself
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
        added = amz_query(done.path.partition("?")[2])
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


# lamina_native.signature (its arguments: Signing's).
Signer = Callable[[str, str, str, Sequence[tuple[str, str]], str, str, str | None, str, str, int, str, int | None,
                    bool, str], str | None]  # fmt: skip


def import_native() -> Signer | None:
    """lamina_native's signer (native/: built with Lamina when Rust's cargo is there), or None."""
    try:
        from lamina_native import signature
    except ImportError:
        return None
    native: Signer = signature  # typed by lamina_native.pyi when it is installed
    return native


def native_agrees(native: Signer) -> bool:
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
            signing: Signing = (method, path, query, headers, "AKIDNATIVECHECK", "native-check-secret", token,
                                 "eu-west-1", service, int(date.timestamp()), payload, expires, s3, signed)  # fmt: skip
            made = native(*signing)
            if made is None or made != crt_signature(*signing):
                return False
        return True
    except Exception:  # noqa: BLE001 - a module of another shape: awscrt it is
        return False


def native_signer() -> Signer | None:
    native = import_native()
    if native is None:
        return None
    if not native_agrees(native):
        log.warning("lamina_native computes other SigV4 signatures than awscrt: awscrt computes them all")
        return None
    return native


NATIVE = native_signer()


def native_signatures() -> bool:
    """Whether lamina_native computes signatures (built, and agreeing with awscrt)."""
    return NATIVE is not None
