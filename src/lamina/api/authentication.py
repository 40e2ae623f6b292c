"""Every request to Lamina's API is signed: the middleware that verifies it (identity/sigv4.py).

It runs after function URLs' and execute-api addresses' middlewares (their requests have their
own authorization: a URL's AuthType, an API's authorizers) and before everything else: S3, the
Lambda API, EventBridge, SQS, Scheduler, IoT, API Gateway's management APIs and Lamina's own
``/lamina/v1/...``. Not verified: ``GET /lamina/v1/health``, the object-events intake (its own
token). Code downloads (``GET /lamina/v1/code/...``: GetFunction's and GetLayerVersion's
``Location``) are presigned URLs, signed with the caller's own key (``code_locator``). A signature
must be scoped to the service the request is for (api/scopes.py), as each of AWS's endpoints
insists on its own. A request refused is answered in its protocol's shape
(identity/refusals.py; S3's XML here), but for an unsigned S3 request a bucket's policy opens to
everyone (the anonymous principal: ``request[ANONYMOUS]``, no ``Caller``, the bucket owner's cell);
one verified carries its ``Caller`` (``request[CALLER]``)
to the handlers and to the authorization that follows, and an S3 upload whose chunks are signed
its ``ChunkSigner`` (``request[CHUNK_SIGNER]``, identity/chunks.py), with which objects/receive.py
checks each chunk as it arrives.

Which ring of keys a request is verified against is the application's (``KEY_RING``): the
operator's API accepts every key Lamina knows; the API inside execution environments never the
development pair (identity/keys.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from aiohttp import web

from lamina import ids
from lamina.api import awsjson, scopes
from lamina.api.authorization import anonymous_allowed
from lamina.api.cells import owner_cell, place, s3_bucket
from lamina.api.context import CELL, CELLS, read_body, services
from lamina.api.errors import MAX_REQUEST_BYTES, REQUEST_ID, Handler, RequestTimeout, error_response
from lamina.errors import ApiError, RequestTooLarge
from lamina.identity.chunks import CHUNK_SIGNER, chunk_signer, signs_chunks
from lamina.identity.keys import development_key
from lamina.identity.principals import ANONYMOUS, CALLER, Caller, KeyRing, caller_of
from lamina.identity.signing import Credentials, presign
from lamina.identity import sigv2
from lamina.identity.refusals import Protocol, query_error, refused
from lamina.identity.signer import AMZ_DATE
from lamina.identity.sigv4 import Failure, Refusal, SignedRequest, verify
from lamina.objects import routing, wire
from lamina.objects import errors as s3

log = logging.getLogger(__name__)

KEY_RING = web.AppKey("key_ring", KeyRing)  # what this application's requests are verified against
_UNVERIFIED_PREFIXES = ("/lamina/v1/object-events/", "/console/")
_UNVERIFIED_GETS = frozenset({"/lamina/v1/health", "/metrics", "/console"})
CODE_URL_SECONDS = 600  # how long a code package's presigned URL is good for (AWS's: 10 minutes)
_SQS_CONTENT_TYPE = "application/x-amz-json-1.0"
_HASHED_ASIDE = 1024 * 1024  # bodies larger than this are hashed in a thread


def protocol(request: web.Request, is_s3: bool) -> Protocol:
    """Which protocol's errors the request is answered with."""
    if is_s3:
        return Protocol.S3
    if request.method == "POST" and request.path == "/":
        target = request.headers.get("X-Amz-Target", "")
        if target.startswith("AmazonSQS."):
            return Protocol.SQS
        if target:
            return Protocol.JSON
        return Protocol.QUERY  # Action=...&Version=...: IAM, STS
    return Protocol.REST_JSON


def unverified(method: str, path: str) -> bool:
    """Requests no signature covers: the health check, Prometheus's scrapes (api/metrics.py decides
    those), the web console (console/access.py decides those), and what has its own proof."""
    return (method == "GET" and path in _UNVERIFIED_GETS) or path.startswith(_UNVERIFIED_PREFIXES)


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    raw_path, _, query = request.raw_path.partition("?")
    host = request.headers.get("Host", "")
    is_s3 = routing.target(host, raw_path, request.headers.get("Authorization"), query) is not None
    # An S3 request is verified whatever its path: a bucket may be called "console" or "metrics".
    if not is_s3 and unverified(request.method, request.path):
        return await handler(request)
    svc = services(request)
    settings = svc.settings
    if not settings.verify_signatures:  # a measurement's baseline only (refused off loopback at start)
        request[CALLER] = Caller(development_key(settings.account_id), settings.region, "lambda")
        return await handler(request)
    kind = protocol(request, is_s3)
    try:
        body = None if is_s3 else await read_body(request)
    except RequestTimeout as exc:
        response = _render(kind, exc, request, raw_path)
        response.force_close()
        return response
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[MAX_REQUEST_BYTES]
        too_large = RequestTooLarge(f"Request must be smaller than {limit} bytes for the operation")
        return _render(kind, too_large, request, raw_path)
    # A large body is hashed in a thread: 65 MB takes a tenth of a second the event loop cannot spare.
    digest = await asyncio.to_thread(_sha256, body) if body is not None and len(body) > _HASHED_ASIDE else None
    signed = SignedRequest(request.method, raw_path, query, tuple(request.headers.items()), body, digest)
    # Any account a key belongs to, any region a cell may be of (lamina.cells): the caller's cell answers.
    ring, regions, now = request.app[KEY_RING], request.app[CELLS].regions, datetime.now(timezone.utc)
    if is_s3 and sigv2.is_v2(signed):
        verdict = sigv2.verify(signed, ring, auth_path=_auth_path(host, raw_path), accounts=None,
                               region=settings.region, now=now)  # fmt: skip
    else:
        service = "s3" if is_s3 else scopes.service_of(request.method, request.path, query, request.headers, body)
        verdict = verify(signed, ring, region=regions, accounts=None, now=now, s3=is_s3, service=service)
    if isinstance(verdict, Refusal):
        if is_s3 and verdict.failure is Failure.MISSING and await _anonymous(request):
            return await handler(request)
        log.info("refused %s %s: %s", request.method, raw_path, verdict.detail)
        error = s3_refused(verdict, signed, settings.region) if kind is Protocol.S3 else refused(kind, verdict)
        return _render(kind, error, request, raw_path)
    request[CALLER] = verdict
    if is_s3 and signs_chunks(signed.header("x-amz-content-sha256")):  # its chunks are checked as they come
        signer = chunk_signer(verdict, signed)
        if signer is None:  # a presigned URL, or signature version 2: no seed for the chunks to chain
            log.info("refused %s %s: chunk-signed without a SigV4 Authorization header", request.method, raw_path)
            return _render(kind, s3_refused(Refusal(Failure.MISMATCH, "no seed signature"), signed), request, raw_path)
        request[CHUNK_SIGNER] = signer
    try:
        await place(request, verdict)
    except ApiError as exc:
        return _render(kind, exc, request, raw_path)
    return await handler(request)


async def _anonymous(request: web.Request) -> bool:
    """Whether an unsigned S3 request goes on as the anonymous principal: its bucket's policy allows
    everyone what it asks (api/authorization.py); then its cell is the bucket owner's. Never a
    body whose chunks claim to be signed (there is no seed signature to check them against)."""
    raw_path, _, query = request.raw_path.partition("?")
    target = routing.target(request.headers.get("Host", ""), raw_path, None, query)
    bucket = s3_bucket(request, target) if target is not None else None
    if target is None or bucket is None or signs_chunks(request.headers.get("x-amz-content-sha256")):
        return False
    home = services(request)
    there = home if home.objects is not None and home.objects.exists(bucket) else \
        await owner_cell(request.app[CELLS], home, bucket)  # fmt: skip
    if there is None or not anonymous_allowed(request, target, there):
        return False
    request[CELL], request[ANONYMOUS] = there, True
    return True


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def code_locator(request: web.Request) -> Callable[[str], str]:
    """Where a code package (by digest) is downloaded from: a URL presigned with the key that
    signed ``request``, for ``CODE_URL_SECONDS``, as AWS's Location is a presigned S3 URL."""
    base = f"{request.scheme}://{request.host}/lamina/v1/code/"
    caller, region = caller_of(request), services(request).settings.region  # the caller's cell's
    if caller is None or not services(request).settings.verify_signatures:
        return lambda digest: f"{base}{digest}.zip"
    key = caller.key
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    return lambda digest: presign("GET", f"{base}{digest}.zip", credentials, region=region,
                                  expires_seconds=CODE_URL_SECONDS)  # fmt: skip


def _auth_path(host: str, raw_path: str) -> str:
    """S3's resource as signature version 2 signs it: ``/<bucket>/<key>``, whichever the style."""
    name = host.strip().lower().rsplit(":", 1)[0]
    if name.endswith(routing.HOST_SUFFIX):
        return "/" + name[: -len(routing.HOST_SUFFIX)] + raw_path
    return raw_path


def _render(kind: Protocol, error: ApiError, request: web.Request, raw_path: str) -> web.Response:
    request_id = str(request.get(REQUEST_ID) or ids.request_id())
    if kind is Protocol.S3:
        return wire.error(error, request_id.replace("-", "")[:16].upper(), raw_path, head=request.method == "HEAD")
    if kind is Protocol.SQS:
        return awsjson.render_error(error, request_id, _SQS_CONTENT_TYPE)
    if kind is Protocol.JSON:
        return awsjson.render_error(error, request_id)
    if kind is Protocol.QUERY:
        return web.Response(status=error.status, body=query_error(error, request_id), content_type="text/xml",
                            headers={"x-amzn-RequestId": request_id})  # fmt: skip
    return error_response(error, request_id)


def s3_refused(refusal: Refusal, request: SignedRequest, served: str | None = None) -> ApiError:
    """S3's error for ``refusal``, with the members S3's <Error> carries (``served``: the region an
    invalid one is answered with, as expected instead)."""
    failure, key_id = refusal.failure, refusal.access_key_id or ""
    if failure is Failure.MISSING:
        return s3.AccessDenied("Access Denied")
    if failure is Failure.UNKNOWN_KEY:
        return s3.InvalidAccessKeyId("The AWS Access Key Id you provided does not exist in our records.",
                                     AWSAccessKeyId=key_id)  # fmt: skip
    if failure is Failure.INVALID_TOKEN:
        return s3.InvalidToken("The provided token is malformed or otherwise invalid.")
    if failure is Failure.EXPIRED_TOKEN:
        return s3.ExpiredToken("The provided token has expired.")
    if failure is Failure.SKEWED and refusal.signed_at is not None and refusal.now is not None:
        return s3.RequestTimeTooSkewed(
            "The difference between the request time and the current time is too large.",
            RequestTime=refusal.signed_at.strftime(AMZ_DATE), ServerTime=_iso(refusal.now),
            MaxAllowedSkewMilliseconds=str(int(refusal.max_skew.total_seconds() * 1000)),
        )  # fmt: skip
    if failure is Failure.EXPIRED and refusal.signed_at is not None and refusal.now is not None:
        expires = refusal.signed_at.timestamp() + (refusal.expires_seconds or 0)
        return s3.AccessDenied("Request has expired", **{
            "X-Amz-Expires": str(refusal.expires_seconds), "Expires": _iso(datetime.fromtimestamp(expires, timezone.utc)),
            "ServerTime": _iso(refusal.now)})  # fmt: skip
    if failure is Failure.BAD_EXPIRES:
        return s3.AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    if failure is Failure.WRONG_SCOPE:
        return s3.AuthorizationHeaderMalformed(
            f"The authorization header is malformed; the region '{refusal.region}' is wrong; expecting "
            f"'{served or _served_region(request, refusal)}'", Region=served or _served_region(request, refusal))  # fmt: skip
    if failure is Failure.WRONG_SERVICE:  # S3's words, the signed service's name quoted (cut short)
        wrong = f'incorrect service "{(refusal.signed_service or "")[:64]}". This endpoint belongs to "s3".'
        if request.header("authorization") is None:  # a presigned URL's X-Amz-Credential
            return s3.AuthorizationQueryParametersError(f"Error parsing the X-Amz-Credential parameter; {wrong}")
        return s3.AuthorizationHeaderMalformed(f"The authorization header is malformed; {wrong}")
    if failure is Failure.INCOMPLETE:
        return s3.AuthorizationHeaderMalformed(f"The authorization header is malformed; {refusal.detail}.")
    if failure is Failure.MISSING_CONTENT_SHA256:
        return s3.InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    if failure is Failure.CONTENT_SHA256:
        return s3.InvalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD or a valid sha256 value.")  # fmt: skip
    return s3.SignatureDoesNotMatch(
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method.", AWSAccessKeyId=key_id, **_s3_canonical(request))  # fmt: skip


def _s3_canonical(request: SignedRequest) -> dict[str, str]:
    """The StringToSign and CanonicalRequest S3 puts in a SignatureDoesNotMatch (what the client's
    signature should have covered), from botocore's S3 signer; none without botocore, or for a
    presigned URL (verification never depends on these: awscrt decides)."""
    authorization = request.header("authorization") or ""
    amz_date, credential = request.header("x-amz-date"), authorization.partition("Credential=")[2].partition(",")[0]
    signed = authorization.partition("SignedHeaders=")[2].partition(",")[0].split(";")
    scope = credential.split("/")
    if not amz_date or len(scope) != 5 or not signed:
        return {}
    try:
        botoauth: Any = importlib.import_module("botocore.auth")
        awsrequest: Any = importlib.import_module("botocore.awsrequest")
        credentials: Any = importlib.import_module("botocore.credentials")
    except ImportError:
        return {}
    headers = awsrequest.HTTPHeaders()
    for name in signed:
        value = request.header(name)
        if value is not None:
            headers[name] = value
    target = request.path + (f"?{request.query}" if request.query else "")
    aws = awsrequest.AWSRequest(method=request.method, url=f"http://{request.header('host') or 'localhost'}{target}",
                                headers=headers)  # fmt: skip
    aws.context["timestamp"] = amz_date
    signer = botoauth.S3SigV4Auth(credentials.Credentials(scope[0], ""), scope[3], scope[2])
    signer.headers_to_sign = lambda _request: headers  # exactly the client's list
    signer.payload = lambda _request: request.header("x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
    try:
        canonical = str(signer.canonical_request(aws))
        return {"StringToSign": str(signer.string_to_sign(aws, canonical)), "CanonicalRequest": canonical}
    except Exception:  # a request botocore cannot read: the error goes without them
        return {}


def _served_region(request: SignedRequest, refusal: Refusal) -> str:
    return refusal.detail.rpartition(" ")[2]  # "signed for region X, not Y"


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
