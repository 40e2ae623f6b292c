"""Chunk-signed uploads (identity/chunks.py, objects/chunked.py) against AWS's published example.

The numbers are those of the S3 API reference's examples ("Transferring payload in multiple chunks"
and "Including trailing headers"): the key pair AKIAIOSFODNN7EXAMPLE, 20130524T000000Z in
us-east-1, a 66,560-byte object of 'a' sent as a 65,536-byte chunk, a 1,024-byte chunk and the
final 0-byte chunk.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from lamina.identity.chunks import ChunkSigner, canonical_trailers, chunk_signer, signing_key
from lamina.identity.keys import Keys, root_key
from lamina.identity.principals import Caller
from lamina.identity.sigv4 import SignedRequest, verify
from lamina.objects import errors
from lamina.objects.chunked import ChunkDecoder

KEY = root_key("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "123456789012")
AMZ_DATE, SCOPE = "20130524T000000Z", "20130524/us-east-1/s3/aws4_request"
DATA = b"a" * 66_560
# The seed (the request's own signature) and each chunk's, as the example gives them.
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
SIGNATURES = ("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
              "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
              "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")  # fmt: skip
# The example with a trailing checksum (x-amz-checksum-crc32c: sOO8/Q==).
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_SIGNATURES = ("b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
                      "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
                      "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992")  # fmt: skip
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
# The example's request, as the seed signs it.
HEADERS = [("Host", "s3.amazonaws.com"), ("x-amz-date", AMZ_DATE), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
           ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
            f"x-amz-decoded-content-length;x-amz-storage-class,Signature={SEED}"),
           ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), ("Content-Encoding", "aws-chunked"),
           ("x-amz-decoded-content-length", "66560"), ("Content-Length", "66824")]  # fmt: skip
REQUEST = SignedRequest("PUT", "/examplebucket/chunkObject.txt", "", HEADERS, None)


def _signer(seed: str = SEED, *, trailer: bool = False) -> ChunkSigner:
    key = signing_key(KEY.secret_access_key, "20130524", "us-east-1", "s3")
    return ChunkSigner(key, AMZ_DATE, SCOPE, seed, KEY.access_key_id, trailer=trailer)


def _body(signatures: tuple[str, ...], *, sizes: tuple[int, ...] = (65_536, 1_024, 0), trailers: bytes = b"") -> bytes:
    out = b""
    for size, signature in zip(sizes, signatures):
        out += f"{size:x};chunk-signature={signature}\r\n".encode() + b"a" * size + (b"\r\n" if size else b"")
    return out + (trailers or b"\r\n")


def _decode(decoder: ChunkDecoder, body: bytes, step: int = 4_093) -> bytes:
    return b"".join(b"".join(decoder.feed(body[i : i + step])) for i in range(0, len(body), step))


def test_the_published_seed_verifies_and_its_scope_makes_the_signer() -> None:
    when = datetime(2013, 5, 24, tzinfo=timezone.utc)
    caller = verify(REQUEST, Keys([KEY]), region="us-east-1", accounts=None, now=when, s3=True)
    assert isinstance(caller, Caller)
    signer = chunk_signer(caller, REQUEST)
    assert signer == _signer()  # the same derived key, date, scope and seed
    assert "key" not in repr(signer).replace("access_key_id", "")  # the derived key stays out of logs


def test_the_published_chunk_signatures_chain_from_the_seed() -> None:
    signer, previous = _signer(), SEED
    for data, expected in zip((DATA[:65_536], DATA[65_536:], b""), SIGNATURES):
        previous = signer.chunk(previous, hashlib.sha256(data).hexdigest())
        assert previous == expected


def test_the_published_trailer_signature() -> None:
    signer, previous = _signer(TRAILER_SEED, trailer=True), TRAILER_SEED
    for data, expected in zip((DATA[:65_536], DATA[65_536:], b""), TRAILER_SIGNATURES):
        previous = signer.chunk(previous, hashlib.sha256(data).hexdigest())
        assert previous == expected
    canonical = canonical_trailers([("x-amz-checksum-crc32c", "sOO8/Q==")])
    assert canonical == b"x-amz-checksum-crc32c:sOO8/Q==\n"
    string = signer.trailer_string(previous, hashlib.sha256(canonical).hexdigest())
    assert string.startswith("AWS4-HMAC-SHA256-TRAILER\n20130524T000000Z\n") and signer.sign(string) == TRAILER_SIGNATURE


@pytest.mark.parametrize("step", [1, 7, 4_093, 100_000])
def test_the_published_body_decodes_with_every_signature_checked(step: int) -> None:
    body = _body(SIGNATURES)
    assert len(body) == 66_824  # the example's Content-Length
    decoder = ChunkDecoder(_signer())
    assert _decode(decoder, body, step) == DATA and decoder.finish() == {}


def test_the_published_body_with_signed_trailers_decodes() -> None:
    trailers = f"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n\r\n".encode()
    decoder = ChunkDecoder(_signer(TRAILER_SEED, trailer=True))
    assert _decode(decoder, _body(TRAILER_SIGNATURES, trailers=trailers)) == DATA
    assert decoder.finish()["x-amz-checksum-crc32c"] == "sOO8/Q=="
    # As minio-go sends it: each trailer ends in a bare LF, then CRLF before the signature.
    minio = f"x-amz-checksum-crc32c:sOO8/Q==\n\r\nx-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n\r\n".encode()
    decoder = ChunkDecoder(_signer(TRAILER_SEED, trailer=True))
    assert _decode(decoder, _body(TRAILER_SIGNATURES, trailers=minio)) == DATA and decoder.finish()


def _refused(decoder: ChunkDecoder, body: bytes) -> errors.SignatureDoesNotMatch:
    with pytest.raises(errors.SignatureDoesNotMatch) as caught:
        _decode(decoder, body)
        decoder.finish()
    assert caught.value.status == 403 and caught.value.fields["AWSAccessKeyId"] == KEY.access_key_id
    return caught.value


def test_a_changed_byte_is_refused_with_the_string_it_should_have_signed() -> None:
    body = bytearray(_body(SIGNATURES))
    body[5_000] = ord("b")
    error = _refused(ChunkDecoder(_signer()), bytes(body))
    assert error.fields["SignatureProvided"] == SIGNATURES[0]
    assert error.fields["StringToSign"].split("\n")[:4] == ["AWS4-HMAC-SHA256-PAYLOAD", AMZ_DATE, SCOPE, SEED]


@pytest.mark.parametrize("case", ["wrong", "missing", "malformed", "upper-case", "another seed", "reordered",
                                  "replayed", "final wrong", "no final chunk"])  # fmt: skip
def test_a_chunk_whose_signature_is_not_the_chains_is_refused(case: str) -> None:
    signer = _signer()
    first, second, final = SIGNATURES
    body = {
        "wrong": _body(("0" * 64, second, final)),
        "missing": _body(SIGNATURES).replace(f";chunk-signature={first}".encode(), b""),
        "malformed": _body((first[:63], second, final)),
        "upper-case": _body((first, second.upper(), final)),
        # A chunk and its signature lifted from another upload (another seed) do not chain here.
        "another seed": _body(SIGNATURES),
        # Chunks whose own signatures are right, but sent in another order: each chains the wrong previous one.
        "reordered": _body((signer.chunk(SEED, hashlib.sha256(b"a" * 1_024).hexdigest()), first, final),
                           sizes=(1_024, 65_536, 0)),
        "replayed": _body((first, first, final), sizes=(65_536, 65_536, 0)),
        "final wrong": _body((first, second, second)),
        "no final chunk": _body((first, second), sizes=(65_536, 1_024))[:-2],  # the body ends after a chunk
    }[case]
    if case == "another seed":
        signer = replace(signer, seed=TRAILER_SEED)
    _refused(ChunkDecoder(signer), body)


@pytest.mark.parametrize("case", ["missing", "wrong", "value changed", "extra trailer", "unsigned trailers"])
def test_trailers_not_signed_as_the_chain_says_are_refused(case: str) -> None:
    signature = f"x-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n"
    trailers = {
        "missing": "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n",
        "wrong": f"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{'0' * 64}\r\n\r\n",
        "value changed": f"x-amz-checksum-crc32c:AAAAAA==\r\n{signature}\r\n",
        "extra trailer": f"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-meta-x:1\r\n{signature}\r\n",
        "unsigned trailers": "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n",
    }[case]
    # Trailers on a body that declared none (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) are signed by nothing.
    signer = _signer(TRAILER_SEED, trailer=case != "unsigned trailers")
    _refused(ChunkDecoder(signer), _body(TRAILER_SIGNATURES, trailers=trailers.encode()))


def test_unsigned_bodies_are_decoded_without_signatures() -> None:
    decoder = ChunkDecoder()
    assert _decode(decoder, _body(("0" * 64, "x", ""))) == DATA and decoder.finish() == {}


def test_no_signer_without_a_sigv4_authorization_header() -> None:
    caller = Caller(KEY, "us-east-1", "s3")
    assert chunk_signer(caller, REQUEST) is not None
    unsigned = [(k, "UNSIGNED-PAYLOAD" if k == "x-amz-content-sha256" else v) for k, v in HEADERS]
    assert chunk_signer(caller, replace(REQUEST, headers=unsigned)) is None  # its chunks are not signed
    version2 = [(k, "AWS AKIAIOSFODNN7EXAMPLE:c2lnbmF0dXJl" if k == "Authorization" else v) for k, v in HEADERS]
    assert chunk_signer(caller, replace(REQUEST, headers=version2)) is None
    presigned = [(k, v) for k, v in HEADERS if k != "Authorization"]
    assert chunk_signer(caller, replace(REQUEST, headers=presigned)) is None
