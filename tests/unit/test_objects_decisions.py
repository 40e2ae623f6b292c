"""The object store's pure decisions, with plain values: names, routing, operations, ranges and
conditions, listings, ETags, aws-chunked decoding, checksums and XML."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest

from lamina.objects import checksums, errors
from lamina.objects.chunked import ChunkDecoder
from lamina.objects.etags import multipart_etag
from lamina.objects.listing import list_keys
from lamina.objects.names import check_key, valid_bucket_name
from lamina.objects.operations import operation
from lamina.objects.ranges import ByteRange, Outcome, byte_range, precondition
from lamina.objects.routing import Target, target
from lamina.objects.xmlio import document, parse, text

SIGNED = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
LAMBDA = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=x"


@pytest.mark.parametrize("name", ["abc", "my-bucket.data", "a" * 63, "0-9"])
def test_valid_bucket_names(name: str) -> None:
    assert valid_bucket_name(name)


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper", "a..b", "a.-b", "-ab", "ab-", "..", "../x", "10.0.0.1",
                                  "xn--x", "sthree-x", "x-s3alias", "x--ol-s3", "under_score", "a b", ""])  # fmt: skip
def test_invalid_bucket_names(name: str) -> None:
    assert not valid_bucket_name(name)


def test_keys_are_bounded_in_utf8_bytes() -> None:
    check_key("é" * 512)  # 1,024 bytes
    with pytest.raises(errors.KeyTooLong):
        check_key("é" * 512 + "x")


def test_routing() -> None:
    assert target("bkt.s3.localhost:9000", "/a/b%20c", None, "") == Target("bkt", "a/b c")
    assert target("bkt.s3.localhost", "/", None, "") == Target("bkt", None)
    assert target("s3.localhost:9000", "/bkt/k/..%2Fx", None, "") == Target("bkt", "k/../x")
    assert target("127.0.0.1:9000", "/bkt/key", SIGNED, "") == Target("bkt", "key")
    assert target("127.0.0.1:9000", "/", SIGNED, "") == Target(None, None)
    assert target("127.0.0.1:9000", "/bkt/", SIGNED, "") == Target("bkt", None)
    presigned = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
    assert target("127.0.0.1:9000", "/bkt/k", None, presigned) == Target("bkt", "k")
    assert target("127.0.0.1:9000", "/bkt/k", None, "AWSAccessKeyId=a&Signature=s&Expires=1") == Target("bkt", "k")
    assert target("127.0.0.1:9000", "/bkt/k", "AWS key:signature", "") == Target("bkt", "k")
    # Not S3's: the Lambda API and everything else keep their meaning.
    assert target("127.0.0.1:9000", "/2015-03-31/functions", LAMBDA, "") is None
    assert target("127.0.0.1:9000", "/bkt/k", None, "") is None
    assert target("abc.execute-api.localhost", "/bkt/k", None, "") is None
    assert target("127.0.0.1", "/x", None, "X-Amz-Credential=AK%2F2025%2Fus-east-1%2Flambda%2Faws4_request") is None


def test_operations() -> None:
    obj, bucket, service = Target("b", "k"), Target("b", None), Target(None, None)
    assert operation("GET", service, {}, False) == "ListBuckets"
    assert operation("PUT", service, {}, False) is None
    cases = [
        ("PUT", bucket, {}, False, "CreateBucket"), ("GET", bucket, {"list-type": "2"}, False, "ListObjectsV2"),
        ("GET", bucket, {}, False, "ListObjects"), ("POST", bucket, {"delete": ""}, False, "DeleteObjects"),
        ("GET", bucket, {"uploads": ""}, False, "ListMultipartUploads"),
        ("GET", bucket, {"notification": ""}, False, "GetBucketNotificationConfiguration"),
        ("PUT", bucket, {"tagging": ""}, False, "PutBucketTagging"), ("POST", bucket, {}, False, None),
        ("PUT", obj, {}, False, "PutObject"), ("PUT", obj, {}, True, "CopyObject"),
        ("PUT", obj, {"partNumber": "1", "uploadId": "u"}, False, "UploadPart"),
        ("PUT", obj, {"partNumber": "1", "uploadId": "u"}, True, "UploadPartCopy"),
        ("POST", obj, {"uploads": ""}, False, "CreateMultipartUpload"),
        ("POST", obj, {"uploadId": "u"}, False, "CompleteMultipartUpload"),
        ("DELETE", obj, {"uploadId": "u"}, False, "AbortMultipartUpload"),
        ("GET", obj, {"uploadId": "u"}, False, "ListParts"), ("GET", obj, {"acl": ""}, False, "GetObjectAcl"),
        ("DELETE", obj, {"tagging": ""}, False, "DeleteObjectTagging"), ("POST", obj, {}, False, None),
        ("PATCH", obj, {}, False, None),
    ]  # fmt: skip
    for method, t, query, copy, expected in cases:
        assert operation(method, t, query, copy) == expected, (method, t, query)


def test_byte_ranges() -> None:
    assert byte_range(None, 10) is None
    assert byte_range("bytes=0-0", 10) == ByteRange(0, 0)
    assert byte_range("bytes=2-", 10) == ByteRange(2, 9)
    assert byte_range("bytes=-4", 10) == ByteRange(6, 9)
    assert byte_range("bytes=-40", 10) == ByteRange(0, 9)
    assert byte_range("bytes=5-500", 10) == ByteRange(5, 9)
    assert byte_range("bytes=5-500", 10).content_range(10) == "bytes 5-9/10"  # type: ignore[union-attr]
    for ignored in ("bytes=0-1,3-4", "items=0-1", "bytes=4-2", "garbage", "bytes=-"):
        assert byte_range(ignored, 10) is None, ignored
    for unsatisfiable in ("bytes=10-", "bytes=10-20", "bytes=-0"):
        with pytest.raises(errors.InvalidRange):
            byte_range(unsatisfiable, 10)
    with pytest.raises(errors.InvalidRange):
        byte_range("bytes=0-", 0)


def test_preconditions_in_s3s_order() -> None:
    t = 1_700_000_000  # Last-Modified, epoch seconds
    before, after = "Tue, 14 Nov 2023 22:00:00 GMT", "Wed, 15 Nov 2023 00:00:00 GMT"  # around t (22:13:20)
    assert precondition({}, "e", t) is Outcome.SERVE
    assert precondition({"If-Match": '"e"'}, "e", t) is Outcome.SERVE
    assert precondition({"If-Match": '"x", "e"'}, "e", t) is Outcome.SERVE
    assert precondition({"If-Match": "*"}, "e", t) is Outcome.SERVE
    assert precondition({"If-Match": '"x"'}, "e", t) is Outcome.FAILED
    assert precondition({"If-Unmodified-Since": before}, "e", t) is Outcome.FAILED
    assert precondition({"If-Match": '"e"', "If-Unmodified-Since": before}, "e", t) is Outcome.SERVE  # If-Match wins
    assert precondition({"If-None-Match": '"e"'}, "e", t) is Outcome.NOT_MODIFIED
    assert precondition({"If-Modified-Since": after}, "e", t) is Outcome.NOT_MODIFIED
    assert precondition({"If-Modified-Since": before}, "e", t) is Outcome.SERVE
    assert precondition({"If-None-Match": '"x"', "If-Modified-Since": after}, "e", t) is Outcome.SERVE
    assert precondition({"If-Modified-Since": "not a date"}, "e", t) is Outcome.SERVE


def test_listing() -> None:
    keys = sorted(["a", "b/1", "b/2", "b/c/3", "c/1", "d"])
    page = list_keys(keys, delimiter="/")
    assert (page.keys, page.prefixes, page.truncated) == (["a", "d"], ["b/", "c/"], False)
    page = list_keys(keys, delimiter="/", max_keys=2)
    assert (page.keys, page.prefixes, page.truncated, page.last) == (["a"], ["b/"], True, "b/")
    page = list_keys(keys, delimiter="/", after="b/")  # continuing after a common prefix skips all of it
    assert (page.keys, page.prefixes) == (["d"], ["c/"])
    page = list_keys(keys, prefix="b/", delimiter="/")
    assert (page.keys, page.prefixes) == (["b/1", "b/2"], ["b/c/"])
    page = list_keys(keys, prefix="b/", after="b/1")
    assert page.keys == ["b/2", "b/c/3"]
    page = list_keys(keys, after="zzz")
    assert (page.keys, page.truncated) == ([], False)
    page = list_keys(keys, max_keys=0)
    assert (page.keys, page.truncated) == ([], True)
    assert list_keys(keys, prefix="b", delimiter="/").prefixes == ["b/"]
    assert list_keys(["a", "a/"], prefix="a/").keys == ["a/"]


def test_multipart_etag() -> None:
    parts = [b"one", b"two"]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert multipart_etag([hashlib.md5(p).hexdigest() for p in parts]) == expected


def test_chunk_decoding_fed_byte_by_byte() -> None:
    body = b"5;chunk-signature=ab\r\nhello\r\n3\r\n wo\r\n0\r\nx-amz-checksum-crc32:AAAA\r\nx-amz-trailer-signature:s\r\n\r\n"
    decoder = ChunkDecoder()
    out = b"".join(b"".join(decoder.feed(body[i : i + 1])) for i in range(len(body)))
    assert out == b"hello wo" and decoder.finish() == {"x-amz-checksum-crc32": "AAAA", "x-amz-trailer-signature": "s"}
    plain = ChunkDecoder()
    assert b"".join(plain.feed(b"3\r\nabc\r\n0\r\n\r\n")) == b"abc" and plain.finish() == {}


@pytest.mark.parametrize("body", [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n", b"-3\r\nabc\r\n", b"0\r\nno colon\r\n\r\n",
                                  b"0\r\n\r\nextra", b"1" * 5000])  # fmt: skip
def test_malformed_chunks(body: bytes) -> None:
    with pytest.raises(errors.InvalidRequest):
        ChunkDecoder().feed(body)


def test_a_truncated_chunked_body_is_incomplete() -> None:
    decoder = ChunkDecoder()
    decoder.feed(b"5\r\nhel")
    with pytest.raises(errors.IncompleteBody):
        decoder.finish()


def test_checksums() -> None:
    crc = base64.b64encode(zlib.crc32(b"data").to_bytes(4, "big")).decode()
    sums = checksums.Checksums("crc32")
    sums.update(b"da")
    sums.update(b"ta")
    assert sums.value() == crc and sums.md5() == hashlib.md5(b"data").digest()
    sums.verify(crc)
    with pytest.raises(errors.BadDigest):
        sums.verify(base64.b64encode(b"\0\0\0\0").decode())
    with pytest.raises(errors.InvalidRequest, match="Value for x-amz-checksum-crc32 header is invalid."):
        sums.verify("AAAA")
    # CRC32C and CRC64NVME: the check values of their specifications ("123456789").
    for algorithm, check in (("crc32c", 0xE3069283), ("crc64nvme", 0xAE8B14860A799888)):
        c = checksums.Checksums(algorithm)
        c.update(b"123456789")
        assert int.from_bytes(base64.b64decode(c.value() or ""), "big") == check
    for algorithm, reference in (("sha512", hashlib.sha512(b"data").digest()), ("md5", hashlib.md5(b"data").digest())):
        c = checksums.Checksums(algorithm)
        c.update(b"data")
        assert c.value() == base64.b64encode(reference).decode()
    checksums.check_md5(base64.b64encode(hashlib.md5(b"x").digest()).decode(), hashlib.md5(b"x").digest())
    with pytest.raises(errors.BadDigest):
        checksums.check_md5(base64.b64encode(hashlib.md5(b"y").digest()).decode(), hashlib.md5(b"x").digest())
    with pytest.raises(errors.InvalidDigest):
        checksums.check_md5("short", hashlib.md5(b"x").digest())
    assert checksums.requested_algorithm({"x-amz-trailer": "x-amz-checksum-crc32c"}) == ("crc32c", None, True)
    assert checksums.requested_algorithm({"x-amz-checksum-sha256": "v"}) == ("sha256", "v", False)
    assert checksums.requested_algorithm({}) == (None, None, False)
    with pytest.raises(errors.InvalidRequest):
        checksums.requested_algorithm({"x-amz-trailer": "x-amz-checksum-md4"})


def test_xml_both_ways() -> None:
    doc = document("R", [("Key", "a<b>&\"c\r\x01"), ("L", [("X", "1")])])
    assert b'<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>a&lt;b&gt;&amp;&quot;c&#xD;\xef\xbf\xbd</Key>' in doc
    root = parse(b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet></Delete>', "Delete")
    assert text(root, "Quiet") == "true" and text(root, "Missing") is None
    for bad in (b"<Delete>", b"<Other/>", b'<!DOCTYPE x [<!ENTITY a "b">]><Delete/>', b""):
        with pytest.raises(errors.MalformedXML):
            parse(bad, "Delete")
