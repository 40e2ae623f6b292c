"""lamina_native (native/) against awscrt and botocore: many requests botocore signs (odd paths and
queries, runs of spaces, S3's rules and the others', presigned URLs, session tokens,
X-Amz-Content-SHA256 signed or not), each signature computed both ways and compared with the one
botocore put on the request; each request tampered with and refused both ways."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterator
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from lamina.identity import signer, sigv4
from lamina.identity.keys import Keys, root_key
from lamina.identity.principals import AccessKey, KeyRing
from lamina.identity.sigv4 import Failure, Refusal, SignedRequest, verify

ACCOUNT = "123456789012"
KEY = root_key("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ACCOUNT)
TEMPORARY = AccessKey("ASIATEMPORARY0000000", "temp-secret/with+odd=chars", KEY.principal,
                      session_token="FwoGZXIvYXdzE//token+with/odd=chars", expires_at=None)  # fmt: skip
# Path segments as a client would have them before encoding: spaces, unicode, slashes inside a
# segment (%2F once encoded), dots, reserved characters.
SEGMENTS = ["a", "b c", "caf\u00e9", "\u65e5\u672c", "x/y", ".", "..", "", "a+b", "~t", "p%q", "semi;colon",
            "c:d", "at@e", "eq=f", "'q'", "(p)", "!*"]  # fmt: skip
VALUES = ["1", "", "a b", "x/y", "caf\u00e9", "a+b", "=", "&amp", "~.-_", "%41"]


class _Ring:
    def __init__(self, *keys: AccessKey) -> None:
        self.keys = {key.access_key_id: key for key in keys}

    def find(self, access_key_id: str) -> AccessKey | None:
        return self.keys.get(access_key_id)


RING: KeyRing = Keys([KEY])
RING_TEMPORARY: KeyRing = _Ring(TEMPORARY)


@pytest.fixture(autouse=True)
def native() -> Iterator[signer.Signer]:
    if signer.NATIVE is None:
        pytest.skip("lamina_native is not built (native/: it needs Rust's cargo)")
    yield signer.NATIVE


@dataclass(frozen=True)
class Case:
    request: SignedRequest
    s3: bool
    key: AccessKey
    description: str
    now: datetime  # when it was signed: the clock it is verified by (a presigned URL may be good for a second)


def _path(rng: random.Random, s3: bool) -> str:
    segments = [rng.choice(SEGMENTS) for _ in range(rng.randint(0, 5))]
    if not s3 and rng.random() < 0.3:
        segments.insert(rng.randint(0, len(segments)), "")  # a //
    if s3:  # a bucket, then a key of anything (S3 keeps // and .. as they are)
        return "/bucket/" + "/".join(quote(s, safe="~") for s in segments)
    return "/" + "/".join(quote(s, safe="~") for s in segments)


def _declined(case: Case) -> bool:
    """What lamina_native leaves to awscrt: a path (not S3's) ending in a dot segment, which
    aws-sigv4 normalizes as RFC 3986 does ("/a/." to "/a/") and awscrt and botocore do not ("/a")."""
    return not case.s3 and case.request.path.endswith(("/.", "/.."))


def _query(rng: random.Random) -> str:
    pairs = []
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(["a", "b", "Qualifier", "x y", "caf\u00e9", "z", ""]) or "empty"
        value = rng.choice(VALUES)
        pairs.append((name, value))
        if rng.random() < 0.3:
            pairs.append((name, rng.choice(VALUES)))  # a repeated key
    rendered = [f"{quote(n, safe='-_.~')}={quote(v, safe='-_.~')}" for n, v in pairs]
    if rng.random() < 0.2:
        rendered.append("flag")  # a key without a value
    return "&".join(rendered)


def _case(rng: random.Random, now: datetime) -> Case:
    s3 = rng.random() < 0.4
    presign = rng.random() < 0.3
    key = TEMPORARY if rng.random() < 0.3 else KEY
    method = rng.choice(["GET", "PUT", "POST", "DELETE"]) if not presign else "GET"
    path, query = _path(rng, s3), _query(rng)
    body = b"" if presign or method in ("GET", "DELETE") else rng.choice([b"{}", b'{"x": 1}', b"\x00\xff" * 10])
    headers = {"Content-Type": "application/json"}
    if rng.random() < 0.5:
        headers["X-Custom"] = rng.choice(["a   b  c", "  lead and trail  ", "one", "x  ,  y"])
    if rng.random() < 0.3:
        headers["User-Agent"] = "Boto3/1.34 Python/3.11"  # botocore never signs it
    if not s3 and not presign and rng.random() < 0.4:
        headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()  # signed as any header
    if s3 and not presign and rng.random() < 0.4:
        headers["X-Amz-Content-SHA256"] = rng.choice(["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
    url = f"http://127.0.0.1:9000{path}" + (f"?{query}" if query else "")
    service = "s3" if s3 else rng.choice(["lambda", "sqs", "events"])
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    credentials = Credentials(key.access_key_id, key.secret_access_key, key.session_token)
    botocore_signer: SigV4Auth
    if presign:
        botocore_signer = (S3SigV4QueryAuth if s3 else SigV4QueryAuth)(credentials, service, "us-east-1",
                                                                        expires=rng.choice([1, 60, 3600, 604800]))  # fmt: skip
    else:
        botocore_signer = (S3SigV4Auth if s3 else SigV4Auth)(credentials, service, "us-east-1")
    botocore_signer._timestamp = lambda: now.strftime(signer.AMZ_DATE)  # one clock for all the cases
    botocore_signer.add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    sent = [(name, value) for name, value in prepared.headers.items()]
    sent.append(("Host", split.netloc))
    signed = SignedRequest(method, split.path, split.query, sent, None if s3 else body)
    return Case(signed, s3, key, f"{method} {prepared.url} {sent}", now)


def _cases(count: int, seed: int) -> Iterator[Case]:
    rng = random.Random(seed)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for _ in range(count):
        yield _case(rng, now)


def _computed(case: Case, compute: Callable[..., str | None]) -> tuple[str | None, str]:
    """The signature ``compute`` makes over ``case``'s request, and the one botocore put on it."""
    parts = sigv4._parts(case.request)
    assert isinstance(parts, sigv4._Parts), (parts, case.description)
    body_value = sigv4._body_value(case.request, parts, case.s3, parts.access_key_id)
    assert isinstance(body_value, str), (body_value, case.description)
    signed_at = sigv4._amz_date(parts.amz_date)
    assert signed_at is not None
    signing = sigv4._signing(case.request, parts, case.key, body_value, signed_at, case.s3)
    assert signing is not None, case.description
    return compute(*signing), parts.signature


def _verdict(case: Case, request: SignedRequest | None = None) -> object:
    ring = RING_TEMPORARY if case.key is TEMPORARY else RING
    return verify(request or case.request, ring, region="us-east-1", accounts=None, now=case.now, s3=case.s3)


@pytest.mark.parametrize("seed", range(6))
def test_native_and_awscrt_compute_the_signature_botocore_made(seed: int, native: signer.Signer) -> None:
    declined = 0
    for case in _cases(60, seed):
        by_native, sent = _computed(case, native)
        by_crt, _ = _computed(case, signer.crt_signature)
        assert by_crt == sent, case.description
        if _declined(case):
            assert by_native is None, case.description
            declined += 1
        else:
            assert by_native == sent, case.description
    assert declined < 10  # nearly all computed natively


def _tampered(case: Case) -> Iterator[SignedRequest]:
    req = case.request
    yield SignedRequest("PATCH", req.path, req.query, req.headers, req.body)
    yield SignedRequest(req.method, req.path + "x", req.query, req.headers, req.body)
    yield SignedRequest(req.method, req.path, req.query + "&tampered=1" if req.query else "tampered=1", req.headers,
                        req.body)  # fmt: skip
    yield SignedRequest(req.method, req.path, req.query,
                        [(n, v + "x" if n.lower() == "content-type" else v) for n, v in req.headers], req.body)  # fmt: skip
    if req.body is not None:
        yield SignedRequest(req.method, req.path, req.query, req.headers, req.body + b" ")


@pytest.mark.parametrize("seed", range(2))
def test_a_tampered_request_is_refused_both_ways(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for case in _cases(40, 100 + seed):
        for request in _tampered(case):
            verdicts = []
            for implementation in (signer.NATIVE, None):
                monkeypatch.setattr(signer, "NATIVE", implementation)
                verdicts.append(_verdict(case, request))
            for verdict in verdicts:
                assert isinstance(verdict, Refusal), (verdict, case.description)
                assert verdict.failure in (Failure.MISMATCH, Failure.CONTENT_SHA256), (verdict, case.description)
            monkeypatch.undo()
        assert not isinstance(_verdict(case), Refusal), case.description  # the request itself passes


def test_what_the_native_module_declines_awscrt_decides(native: signer.Signer) -> None:
    """A header value that is not visible ASCII, a target that is not a path: declined (None), never a verdict."""
    stamp = "20260102T030405Z"
    signing: signer.Signing = ("GET", "/a", "", [("host", "h"), ("x-amz-date", stamp), ("x-v", "caf\u00e9")],
                               KEY.access_key_id, KEY.secret_access_key, None, "us-east-1", "lambda", 1767323045,
                               hashlib.sha256(b"").hexdigest(), None, False, "host;x-amz-date;x-v")  # fmt: skip
    assert native(*signing) is None
    assert signer.crt_signature(*signing) is not None  # awscrt signs it: the verifier asks it
    assert native(*(signing[:1] + ("*",) + signing[2:])) is None
    assert native(*(signing[:3] + ([("host", "h"), ("x-amz-date", stamp), ("x-v", "plain")],) + signing[4:])) == (
        signer.crt_signature(*(signing[:3] + ([("host", "h"), ("x-amz-date", stamp), ("x-v", "plain")],) + signing[4:])))
    # Headers it would sign otherwise than the client did (x-amz-security-token said signed, no token).
    token = signing[:13] + ("host;x-amz-date;x-amz-security-token",)
    assert native(*token) is None
    # The Authorization header said signed; a presigned URL signing what the header form adds.
    assert native(*signing[:13], "authorization;host;x-amz-date;x-v") is None
    presigned = ("GET", "/a", "", [("host", "h"), ("x-amz-date", stamp)]) + signing[4:11] + (60, False)
    assert native(*presigned, "host;x-amz-date") is None
    plain_presigned = presigned[:3] + ([("host", "h")],) + presigned[4:]
    assert native(*plain_presigned, "host") == signer.crt_signature(*plain_presigned, "host") is not None
    # What awscrt always signs and the client did not: X-Amz-Date, a session token it sent.
    plain = signing[:3] + ([("host", "h"), ("x-amz-date", stamp)],) + signing[4:13]
    assert native(*plain, "host") is None and signer.crt_signature(*plain, "host") is None
    with_token = plain[:6] + ("the-token",) + plain[7:]
    assert native(*with_token, "host;x-amz-date") is None and signer.crt_signature(*with_token, "host;x-amz-date") is None
    assert native(*with_token, "host;x-amz-date;x-amz-security-token") == signer.crt_signature(
        *with_token, "host;x-amz-date;x-amz-security-token") is not None


def test_the_native_module_is_used_only_if_it_agrees_with_awscrt(caplog: pytest.LogCaptureFixture,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    assert signer.native_agrees(signer.import_native() or (lambda *a: None))  # the one built: it agrees
    assert not signer.native_agrees(lambda *a: "0" * 64)
    assert not signer.native_agrees(lambda *a: None)

    def broken(*a: object) -> str | None:
        raise TypeError("another shape")

    assert not signer.native_agrees(broken)
    monkeypatch.setattr(signer, "import_native", lambda: broken)
    with caplog.at_level(logging.WARNING, logger="lamina.identity.signer"):
        assert signer.native_signer() is None
    assert "awscrt computes them all" in caplog.text


@pytest.mark.parametrize("path, query", [
    ("/a", "x=a+b"), ("/a", "x=a%2bb"), ("/a", "x=a b"), ("/a", "x=="), ("/a", "=x"), ("/a", "&&x=1"), ("/a", "x=%zz"),
    ("/a", "x=%E2%82"), ("/a", "x=1;y=2"), ("/a", "x=%c3%a9"), ("/a%2fb", ""), ("/a+b", ""), ("/a%zz", ""),
    ("/a%E2%82", ""), ("/a%", ""), ("/caf%C3%A9", ""), ("/a//b/./c/../d", ""), ("/a/.", ""), ("/a/..", ""), ("", ""),
])  # fmt: skip
@pytest.mark.parametrize("s3", [False, True])
def test_an_odd_target_is_signed_as_awscrt_signs_it_or_left_to_awscrt(path: str, query: str, s3: bool,
                                                                      native: signer.Signer) -> None:  # fmt: skip
    """Where aws-sigv4 would read a target otherwise than awscrt (a raw "+" in the query, a bad
    escape, escaped bytes that are not UTF-8), the native module declines: never another signature."""
    signing: signer.Signing = ("GET", path, query, [("host", "h"), ("x-amz-date", "20260102T030405Z")],
                               KEY.access_key_id, KEY.secret_access_key, None, "us-east-1", "s3" if s3 else "lambda",
                               1767323045, signer.UNSIGNED_PAYLOAD, None, s3, "host;x-amz-date")  # fmt: skip
    by_native = native(*signing)
    assert by_native is None or by_native == signer.crt_signature(*signing)
    if (path, query) in (("/a", "x=a%2bb"), ("/a%2fb", ""), ("/caf%C3%A9", "")):
        assert by_native is not None  # the ordinary ones it computes
