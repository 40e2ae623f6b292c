"""identity/sigv4.py against requests botocore signs: what passes, and each way one is refused.

Every test runs twice: with signatures computed by lamina_native (native/; skipped where it is not
built), none of them left to awscrt, and with awscrt alone."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.identity.keys import Keys, root_key
from lamina.identity.principals import AccessKey
from lamina.identity import signer, sigv4
from lamina.identity.sigv4 import Failure, Refusal, SignedRequest, verify

ACCOUNT = "123456789012"
KEY = root_key("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ACCOUNT)
OTHER = root_key("AKIAOTHERKEY00000000", "another-secret-of-sorts", "210987654321")
ACCOUNTS = frozenset({ACCOUNT})


class _Temporary:
    def __init__(self, key: AccessKey) -> None:
        self.key = key

    def find(self, access_key_id: str) -> AccessKey | None:
        return self.key if access_key_id == self.key.access_key_id else None


@pytest.fixture(autouse=True, params=["native", "awscrt"])
def implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which computes the signatures: lamina_native (awscrt then must never be asked), or awscrt."""
    if request.param == "awscrt":
        monkeypatch.setattr(signer, "NATIVE", None)
        yield request.param
        return
    if signer.NATIVE is None:
        pytest.skip("lamina_native is not built (native/: it needs Rust's cargo)")
    asked: list[object] = []
    crt = signer.crt_signature

    def recorded(*signing: Any) -> str | None:
        asked.append(signing)
        return crt(*signing)

    monkeypatch.setattr(signer, "crt_signature", recorded)
    yield request.param
    assert not asked, f"lamina_native declined {asked}"


def _ring(*extra: AccessKey) -> Keys:
    keys = Keys([KEY, OTHER])
    for key in extra:
        keys.add(_Temporary(key))
    return keys


def _sign(method: str, url: str, body: bytes = b"", *, service: str = "lambda", region: str = "us-east-1",
          key: AccessKey = KEY, headers: dict[str, str] | None = None, presign: int | None = None,
          token: str | None = None, s3: bool = False, secret: str | None = None) -> SignedRequest:  # fmt: skip
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    credentials = Credentials(key.access_key_id, secret or key.secret_access_key, token)
    if presign is not None:
        signer: SigV4Auth = (S3SigV4QueryAuth if s3 else SigV4QueryAuth)(credentials, service, region, expires=presign)
    else:
        signer = (S3SigV4Auth if s3 else SigV4Auth)(credentials, service, region)
    signer.add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    sent = [(name, value) for name, value in prepared.headers.items()]
    sent.append(("Host", split.netloc))
    return SignedRequest(method, split.path, split.query, sent, None if s3 else body)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _refused(req: SignedRequest, failure: Failure, *, s3: bool = False, now: datetime | None = None,
             ring: Keys | None = None) -> Refusal:  # fmt: skip
    verdict = verify(req, ring or _ring(), region="us-east-1", accounts=ACCOUNTS, now=now or _now(), s3=s3)
    assert isinstance(verdict, Refusal), verdict
    assert verdict.failure is failure, verdict
    return verdict


def _passes(req: SignedRequest, *, s3: bool = False, now: datetime | None = None, ring: Keys | None = None) -> None:
    verdict = verify(req, ring or _ring(), region="us-east-1", accounts=ACCOUNTS, now=now or _now(), s3=s3)
    assert not isinstance(verdict, Refusal), verdict
    assert verdict.key is not None and verdict.account_id == ACCOUNT


@pytest.mark.parametrize("path", [
    "/2015-03-31/functions/my-fn/invocations",
    "/2015-03-31/functions/my%20fn/invocations",
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/configuration",
    "/2015-03-31/functions/caf%C3%A9%2Fx/policy",
    "/a/./b/../c",
])  # fmt: skip
def test_lambda_requests_signed_by_botocore_pass(path: str) -> None:
    _passes(_sign("POST", f"http://127.0.0.1:9000{path}?Qualifier=a&b=2&b=1", b'{"x": 1}',
                  headers={"Content-Type": "application/json", "X-Custom": "a   b  c"}))  # fmt: skip


@pytest.mark.parametrize("key", ["plain.txt", "with space/and+plus", "a//b/../c", "caf\u00e9/\u65e5\u672c", "x%2Fy", "./."])
def test_s3_requests_signed_by_botocore_pass(key: str) -> None:
    from urllib.parse import quote

    body = b"object body"
    url = f"http://127.0.0.1:9000/bucket/{quote(key, safe='/~')}"
    _passes(_sign("PUT", url, body, service="s3", s3=True,
                  headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}), s3=True)  # fmt: skip
    _passes(_sign("GET", url, service="s3", s3=True, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}), s3=True)


def test_presigned_urls_pass_until_they_expire() -> None:
    s3 = _sign("GET", "http://127.0.0.1:9000/bucket/key%20x?versionId=1", service="s3", s3=True, presign=60)
    _passes(s3, s3=True)
    _refused(s3, Failure.EXPIRED, s3=True, now=_now() + timedelta(seconds=120))
    lam = _sign("GET", "http://127.0.0.1:9000/2015-03-31/functions/f", presign=60)
    _passes(lam)
    _refused(lam, Failure.EXPIRED, now=_now() + timedelta(seconds=61))


def test_presigned_for_more_than_seven_days_is_refused() -> None:
    _refused(_sign("GET", "http://127.0.0.1:9000/bucket/k", service="s3", s3=True, presign=7 * 86400 + 1),
             Failure.BAD_EXPIRES, s3=True)  # fmt: skip


def test_unsigned_wrong_secret_unknown_key() -> None:
    _refused(SignedRequest("GET", "/2015-03-31/functions", "", [("Host", "h")], b""), Failure.MISSING)
    _refused(_sign("GET", "http://h/2015-03-31/functions", secret="not-the-secret"), Failure.MISMATCH)
    stranger = root_key("AKIASTRANGER00000000", "whatever-secret", ACCOUNT)
    _refused(_sign("GET", "http://h/2015-03-31/functions", key=stranger), Failure.UNKNOWN_KEY)


def test_a_key_of_an_account_not_served_is_refused() -> None:
    _refused(_sign("GET", "http://h/2015-03-31/functions", key=OTHER), Failure.UNKNOWN_KEY)


def test_tampering_is_refused() -> None:
    signed = _sign("POST", "http://h/2015-03-31/functions/f/invocations", b'{"a": 1}')
    _refused(SignedRequest(signed.method, signed.path, signed.query, signed.headers, b'{"a": 2}'), Failure.MISMATCH)
    _refused(SignedRequest(signed.method, "/2015-03-31/functions/g/invocations", signed.query, signed.headers,
                           signed.body), Failure.MISMATCH)  # fmt: skip
    _refused(SignedRequest(signed.method, signed.path, "Qualifier=2", signed.headers, signed.body), Failure.MISMATCH)
    _refused(SignedRequest("PUT", signed.path, signed.query, signed.headers, signed.body), Failure.MISMATCH)


def test_the_clock_skew_is_bounded() -> None:
    signed = _sign("GET", "http://h/2015-03-31/functions")
    _passes(signed, now=_now() + timedelta(minutes=4))
    _refused(signed, Failure.SKEWED, now=_now() + timedelta(minutes=6))
    _refused(signed, Failure.SKEWED, now=_now() - timedelta(minutes=6))
    s3 = _sign("GET", "http://h/bucket/k", service="s3", s3=True, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
    _passes(s3, s3=True, now=_now() + timedelta(minutes=14))
    _refused(s3, Failure.SKEWED, s3=True, now=_now() + timedelta(minutes=16))


def test_another_region_is_refused() -> None:
    _refused(_sign("GET", "http://h/2015-03-31/functions", region="eu-west-1"), Failure.WRONG_SCOPE)


def test_a_service_asked_for_must_be_the_scopes() -> None:
    signed = _sign("GET", "http://h/my/path", service="s3")
    assert isinstance(verify(signed, _ring(), region="us-east-1", accounts=ACCOUNTS, now=_now(), service="lambda"),
                      Refusal)  # fmt: skip
    lam = _sign("GET", "http://h/my/path")
    assert not isinstance(verify(lam, _ring(), region="us-east-1", accounts=ACCOUNTS, now=_now(), service="lambda"),
                          Refusal)  # fmt: skip


def test_content_sha256_must_be_the_bodys() -> None:
    signed = _sign("POST", "http://h/2015-03-31/functions/f/invocations", b"{}",
                   headers={"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})  # fmt: skip
    _passes(signed)
    _refused(SignedRequest(signed.method, signed.path, signed.query, signed.headers, b"[]"), Failure.CONTENT_SHA256)
    put = _sign("PUT", "http://h/bucket/k", service="s3", s3=True)
    odd = [(k, "NOT-A-HASH" if k.lower() == "x-amz-content-sha256" else v) for k, v in put.headers]
    _refused(SignedRequest(put.method, put.path, put.query, odd, None), Failure.CONTENT_SHA256, s3=True)


def test_s3_streaming_seed_signatures_pass() -> None:
    for value in ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
        _passes(_sign("PUT", "http://h/bucket/k", service="s3", s3=True,
                      headers={"X-Amz-Content-SHA256": value, "Content-Encoding": "aws-chunked"}), s3=True)  # fmt: skip


def test_temporary_keys_need_their_token_until_they_expire() -> None:
    later = _now() + timedelta(hours=1)
    temporary = AccessKey("ASIATEMPORARY0000000", "temp-secret", KEY.principal, session_token="the-token",
                          expires_at=later)  # fmt: skip
    ring = _ring(temporary)
    _passes(_sign("GET", "http://h/2015-03-31/functions", key=temporary, token="the-token"), ring=ring)
    _passes(_sign("GET", "http://h/bucket/k", key=temporary, token="the-token", service="s3", s3=True, presign=60),
            s3=True, ring=ring)  # fmt: skip
    _refused(_sign("GET", "http://h/2015-03-31/functions", key=temporary, token="another"), Failure.INVALID_TOKEN,
             ring=ring)  # fmt: skip
    _refused(_sign("GET", "http://h/2015-03-31/functions", key=temporary), Failure.INVALID_TOKEN, ring=ring)
    expired = AccessKey("ASIATEMPORARY0000000", "temp-secret", KEY.principal, session_token="the-token",
                        expires_at=_now() - timedelta(seconds=1))  # fmt: skip
    _refused(_sign("GET", "http://h/2015-03-31/functions", key=expired, token="the-token"), Failure.EXPIRED_TOKEN,
             ring=_ring(expired))  # fmt: skip


def test_a_token_with_a_long_term_key_is_refused() -> None:
    _refused(_sign("GET", "http://h/2015-03-31/functions", token="made-up"), Failure.INVALID_TOKEN)


def test_malformed_authorization_is_incomplete() -> None:
    headers = [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x"),
               ("X-Amz-Date", "20240101T000000Z")]  # fmt: skip
    _refused(SignedRequest("GET", "/", "", headers, b""), Failure.INCOMPLETE)


def test_a_verified_request_is_verified_again_each_time() -> None:
    signed = _sign("POST", "http://h/2015-03-31/functions/f/invocations", b"{}")
    _passes(signed)
    _refused(SignedRequest(signed.method, signed.path, signed.query, signed.headers, b"{ }"), Failure.MISMATCH)
    _passes(signed)


def _replaced(req: SignedRequest, name: str, value: str) -> SignedRequest:
    headers = [(n, value if n.lower() == name else v) for n, v in req.headers]
    return SignedRequest(req.method, req.path, req.query, headers, req.body)


def test_what_is_read_once_per_distinct_text_never_carries_a_verdict_to_another_request() -> None:
    # Requests alike but for the secret, the date, the region or the service: each is decided on its own,
    # after one with the same Authorization scope or X-Amz-Date has passed.
    url = "http://h/2015-03-31/functions/f/invocations"
    good = _sign("POST", url, b"{}")
    _passes(good)
    _refused(_sign("POST", url, b"{}", secret="not-the-secret"), Failure.MISMATCH)
    _passes(good)
    # Another second: the date is parsed anew, so the signature (made for the first) does not match.
    amz_date = good.header("x-amz-date") or ""
    earlier = (datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ") - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
    if earlier[:8] == amz_date[:8]:  # the same day: a scope that still reads well
        _refused(_replaced(good, "x-amz-date", earlier), Failure.MISMATCH)
    # The same scope text with another region or service in it is another entry.
    authorization = good.header("authorization") or ""
    _refused(_replaced(good, "authorization", authorization.replace("/us-east-1/", "/eu-west-1/")), Failure.WRONG_SCOPE)
    other_service = _replaced(good, "authorization", authorization.replace("/lambda/", "/sqs/"))
    verdict = verify(other_service, _ring(), region="us-east-1", accounts=ACCOUNTS, now=_now(), service="lambda")
    assert isinstance(verdict, Refusal) and verdict.failure is Failure.WRONG_SERVICE, verdict
    assert (verdict.service, verdict.signed_service) == ("lambda", "sqs")
    _refused(other_service, Failure.MISMATCH)  # any service: then the signature is not sqs's
    _passes(_sign("POST", url, b"{}", region="us-east-1"))


def test_dates_and_scopes_are_read_as_written() -> None:
    assert sigv4._amz_date("20240101T120000Z") == datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert sigv4._amz_date("20240101T120001Z") == datetime(2024, 1, 1, 12, 0, 1, tzinfo=timezone.utc)
    assert sigv4._amz_date("20241301T120000Z") is None
    assert sigv4._scope("K/20240101/us-east-1/lambda/aws4_request", "host") == (
        ("K", "20240101", "us-east-1", "lambda"), ("host",))
    assert sigv4._scope("K/20240101/eu-west-1/sqs/aws4_request", "host;x-amz-date") == (
        ("K", "20240101", "eu-west-1", "sqs"), ("host", "x-amz-date"))
    assert isinstance(sigv4._scope("K/20240101/eu-west-1/sqs/aws4_request", "x-amz-date"), Refusal)
    head = "AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host"
    assert sigv4._authorization_scope(head) == ("K/20240101/us-east-1/lambda/aws4_request", "host")
    assert sigv4._authorization_scope(head.replace("AWS4", "AWS5")) is None


@pytest.mark.parametrize("presigned", [False, True])
@pytest.mark.parametrize("s3", [False, True])
def test_the_signing_config_is_the_one_awscrts_constructor_makes(presigned: bool, s3: bool) -> None:
    from awscrt import auth, http

    credentials = signer._provider(KEY.access_key_id, KEY.secret_access_key, None)
    date = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    kind = auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS if presigned else auth.AwsSignatureType.HTTP_REQUEST_HEADERS
    body = auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256 if s3 else auth.AwsSignedBodyHeaderType.NONE
    value = hashlib.sha256(b"x").hexdigest()
    made = signer._config(kind, credentials, "eu-west-1", "s3" if s3 else "lambda", date, not s3, value, body,
                         60 if presigned else 0)  # fmt: skip
    public = auth.AwsSigningConfig(
        algorithm=auth.AwsSigningAlgorithm.V4, signature_type=kind, credentials_provider=credentials,
        region="eu-west-1", service="s3" if s3 else "lambda", date=date, use_double_uri_encode=not s3,
        should_normalize_uri_path=not s3, signed_body_value=value, signed_body_header_type=body,
        expiration_in_seconds=60 if presigned else None)  # fmt: skip
    for name in auth.AwsSigningConfig._attributes:
        assert getattr(made, name) == getattr(public, name), name

    def signed(config: auth.AwsSigningConfig, ours: bool) -> tuple[str, str | None]:
        request = http.HttpRequest("PUT", "/a//b/../c%20d?x=1", http.HttpHeaders([("host", "h"), ("x-y", "z")]))
        done = signer._sign(request, config) if ours else auth.aws_sign_request(request, config).result()
        return done.path, done.headers.get("Authorization")

    assert signed(made, True) == signed(public, False)


def test_awscrts_binding_is_called_directly_only_while_it_signs_as_its_public_api() -> None:
    assert signer._BINDING_AGREES  # the installed awscrt: the fast path (a release that changed it fails here)


def test_the_public_api_verifies_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an awscrt whose binding changed gets: every request verified through the public API."""
    monkeypatch.setattr(signer, "_BINDING_AGREES", False)
    _passes(_sign("POST", "http://127.0.0.1:9000/2015-03-31/functions/f/invocations?Qualifier=a", b'{"x": 1}',
                  headers={"Content-Type": "application/json"}))  # fmt: skip
    _passes(_sign("GET", "http://127.0.0.1:9000/bucket/key%20x", service="s3", s3=True, presign=60), s3=True)
    _refused(_sign("POST", "http://127.0.0.1:9000/2015-03-31/functions/f/invocations", b"{}", secret="wrong"),
             Failure.MISMATCH)  # fmt: skip
