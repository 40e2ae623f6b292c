"""The embedded S3 against hostile and broken input, with raw HTTP: S3's errors, and nothing stored.

Requests carry the Host ``s3.localhost:<port>`` (what makes an unsigned request S3's)."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import time
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests import signing
from tests.conftest import LaminaProcess
from tests.objects import bucket_name, s3_client


class Raw:
    def __init__(self, lamina: LaminaProcess) -> None:
        port = urlsplit(lamina.endpoint).port
        assert port is not None
        self.port = port
        self.host = f"s3.localhost:{port}"

    def send(self, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {k.replace("_", "-"): v for k, v in headers.items()}
            conn.request(method, path, body=body, headers={"Host": self.host, **sent, **self.signature(method, path, sent)})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


    def signature(self, method: str, path: str, sent: dict[str, str]) -> dict[str, str]:
        """What signs a request with the development pair (tests/signing.py)."""
        return signing.s3_headers(method, f"http://{self.host}{path}", sent)


def error_of(body: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture(scope="module")
def raw(lamina: LaminaProcess) -> Raw:
    return Raw(lamina)


@pytest.fixture
def bucket(lamina: LaminaProcess) -> str:
    name = bucket_name("h")
    s3_client(lamina.endpoint).create_bucket(Bucket=name)
    return name


def bodies(lamina: LaminaProcess) -> set[str]:
    folder = lamina.data_dir / "objects"
    return {p.name for p in folder.rglob("*") if p.is_file()}


def wait_until(condition: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_errors_are_s3s_xml_with_a_request_id(raw: Raw, bucket: str) -> None:
    status, headers, body = raw.send("GET", f"/{bucket}/missing")
    err = error_of(body)
    assert (status, err["Code"], err["Key"]) == (404, "NoSuchKey", "missing")
    assert err["RequestId"] == headers["x-amz-request-id"] and err["HostId"]
    status, headers, body = raw.send("GET", "/no-such-bucket-here/")
    assert (status, error_of(body)["Code"], error_of(body)["BucketName"]) == (404, "NoSuchBucket", "no-such-bucket-here")
    status, headers, _ = raw.send("HEAD", f"/{bucket}/missing")
    assert status == 404 and headers["x-amz-request-id"]
    status, _, body = raw.send("POST", f"/{bucket}/k")
    assert (status, error_of(body)["Code"]) == (405, "MethodNotAllowed")
    status, _, body = raw.send("GET", f"/{bucket}?acl")
    assert (status, error_of(body)["Code"]) == (501, "NotImplemented")
    status, headers, _ = raw.send("GET", "/")
    assert status == 200 and headers["x-amz-request-id"]


@pytest.mark.parametrize("path", ["/../etc/passwd", "/..%2F..%2Fetc/passwd", "/%2E%2E/x", "/a%00b/x", "/UP/x"])
def test_bucket_names_that_try_paths_are_refused(raw: Raw, lamina: LaminaProcess, path: str) -> None:
    status, _, body = raw.send("PUT", path, b"x")
    assert (status, error_of(body)["Code"]) == (400, "InvalidBucketName")
    status, _, body = raw.send("PUT", path.rsplit("/", 1)[0] or path)
    assert status == 400


def test_a_wrong_content_md5_stores_nothing(raw: Raw, lamina: LaminaProcess, bucket: str) -> None:
    before = bodies(lamina)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, _, body = raw.send("PUT", f"/{bucket}/k", b"payload", Content_MD5=wrong)
    assert (status, error_of(body)["Code"]) == (400, "BadDigest")
    status, _, body = raw.send("PUT", f"/{bucket}/k", b"payload", Content_MD5="not base64!")
    assert (status, error_of(body)["Code"]) == (400, "InvalidDigest")
    assert raw.send("GET", f"/{bucket}/k")[0] == 404
    assert bodies(lamina) == before
    right = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    assert raw.send("PUT", f"/{bucket}/k", b"payload", Content_MD5=right)[0] == 200


def test_wrong_or_invalid_checksums_store_nothing(raw: Raw, lamina: LaminaProcess, bucket: str) -> None:
    before = bodies(lamina)
    status, _, body = raw.send("PUT", f"/{bucket}/c", b"payload", **{"x-amz-checksum-crc32": crc32(b"other")})
    assert (status, error_of(body)["Code"]) == (400, "BadDigest")
    status, _, body = raw.send("PUT", f"/{bucket}/c", b"payload", **{"x-amz-checksum-crc32": "AAAA"})
    assert (status, error_of(body)["Code"], error_of(body)["Message"]) == (
        400, "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.")  # fmt: skip
    sha = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    status, _, body = raw.send("PUT", f"/{bucket}/c", b"payload", **{"x-amz-checksum-sha256": sha})
    assert (status, error_of(body)["Code"]) == (400, "BadDigest")
    assert raw.send("GET", f"/{bucket}/c")[0] == 404 and bodies(lamina) == before


def test_a_body_not_matching_its_signed_sha256_or_without_a_length_stores_nothing(
    raw: Raw, lamina: LaminaProcess, bucket: str
) -> None:
    before = bodies(lamina)
    status, _, body = raw.send("PUT", f"/{bucket}/s", b"payload", **{"x-amz-content-sha256": hashlib.sha256(b"x").hexdigest()})
    assert (status, error_of(body)["Code"]) == (400, "XAmzContentSHA256Mismatch")
    conn = http.client.HTTPConnection("127.0.0.1", raw.port, timeout=10)
    conn.putrequest("PUT", f"/{bucket}/s", skip_host=True)
    conn.putheader("Host", raw.host)
    for name, value in raw.signature("PUT", f"/{bucket}/s", {}).items():
        conn.putheader(name, value)
    conn.endheaders()
    answer = conn.getresponse()
    assert (answer.status, error_of(answer.read())["Code"]) == (411, "MissingContentLength")
    conn.close()
    status, _, body = raw.send("PUT", f"/{bucket}/s", b"x", **{"x-amz-meta-big": "v" * 2048})
    assert (status, error_of(body)["Code"]) == (400, "MetadataTooLarge")
    assert raw.send("GET", f"/{bucket}/s")[0] == 404 and bodies(lamina) == before
    sha = hashlib.sha256(b"payload").hexdigest()
    assert raw.send("PUT", f"/{bucket}/s", b"payload", **{"x-amz-content-sha256": sha})[0] == 200


def chunked(payload: bytes, trailer: str | None = None, *, signed: bool = False, size: int = 3) -> bytes:
    signature = ";chunk-signature=" + "0" * 64 if signed else ""
    out = b""
    for i in range(0, len(payload), size):
        piece = payload[i : i + size]
        out += f"{len(piece):x}{signature}\r\n".encode() + piece + b"\r\n"
    out += f"0{signature}\r\n".encode()
    if trailer is not None:
        out += f"x-amz-checksum-crc32:{trailer}\r\n".encode()
    return out + b"\r\n"


def test_aws_chunked_bodies_are_decoded_and_their_trailers_checked(raw: Raw, lamina: LaminaProcess, bucket: str) -> None:
    payload = b"streamed in chunks"
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
               "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": "x-amz-checksum-crc32"}  # fmt: skip
    status, got, _ = raw.send("PUT", f"/{bucket}/ok", chunked(payload, crc32(payload)), **headers)
    assert status == 200 and got["x-amz-checksum-crc32"] == crc32(payload)
    assert raw.send("GET", f"/{bucket}/ok")[2] == payload
    gzipped = {**headers, "Content-Encoding": "aws-chunked,gzip"}
    assert raw.send("PUT", f"/{bucket}/gzipped", chunked(payload, crc32(payload)), **gzipped)[0] == 200
    status, got, body = raw.send("GET", f"/{bucket}/gzipped")
    assert body == payload and got["content-encoding"] == "gzip"
    before = bodies(lamina)
    # Chunk signatures that are not the chain's (test_s3_chunk_signatures.py sends right ones).
    signed = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
              "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}  # fmt: skip
    status, _, body = raw.send("PUT", f"/{bucket}/bad", chunked(payload, signed=True), **signed)
    assert (status, error_of(body)["Code"]) == (403, "SignatureDoesNotMatch")
    status, _, body = raw.send("PUT", f"/{bucket}/bad", chunked(payload, crc32(b"other")), **headers)
    assert (status, error_of(body)["Code"]) == (400, "BadDigest")
    short = {**headers, "x-amz-decoded-content-length": str(len(payload) + 5)}
    status, _, body = raw.send("PUT", f"/{bucket}/bad", chunked(payload, crc32(payload)), **short)
    assert (status, error_of(body)["Code"]) == (400, "IncompleteBody")
    status, _, body = raw.send("PUT", f"/{bucket}/bad", b"zz\r\nnot hex\r\n", **headers)
    assert status == 400
    assert raw.send("GET", f"/{bucket}/bad")[0] == 404 and bodies(lamina) == before


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "crc64nvme", "sha256", "xxhash3"])
def test_bodies_encoded_by_botocores_own_aws_chunked_wrapper(raw: Raw, bucket: str, algorithm: str) -> None:
    """botocore sends aws-chunked bodies with a trailing checksum over HTTPS; its own encoder makes
    them here, byte for byte."""
    import io

    from botocore import httpchecksum

    checksum_cls = {"crc32": httpchecksum.CrtCrc32Checksum, "crc32c": httpchecksum.CrtCrc32cChecksum,
                    "crc64nvme": httpchecksum.CrtCrc64NvmeChecksum, "sha256": httpchecksum.Sha256Checksum,
                    "xxhash3": httpchecksum.CrtXxhash3Checksum}[algorithm]  # fmt: skip
    payload = bytes(range(256)) * 400
    name = f"x-amz-checksum-{algorithm}"
    body = httpchecksum.AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=checksum_cls, checksum_name=name,
                                          chunk_size=8192).read()  # fmt: skip
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(payload)),
               "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": name,
               "x-amz-sdk-checksum-algorithm": algorithm.upper()}  # fmt: skip
    status, got, _ = raw.send("PUT", f"/{bucket}/wrapped-{algorithm}", body, **headers)
    expected = checksum_cls()
    expected.update(payload)
    assert status == 200 and got[name] == base64.b64encode(expected.digest()).decode()
    assert raw.send("GET", f"/{bucket}/wrapped-{algorithm}")[2] == payload


@pytest.mark.parametrize("framing", ["aws-chunked", "content-length"])
def test_a_body_cut_short_stores_nothing(raw: Raw, lamina: LaminaProcess, bucket: str, framing: str) -> None:
    before = bodies(lamina)
    payload = b"x" * 100_000
    if framing == "aws-chunked":
        body = chunked(payload, crc32(payload), size=16384)
        extra = (f"Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: {len(payload)}\r\n"
                 "x-amz-trailer: x-amz-checksum-crc32\r\n")  # fmt: skip
    else:
        body, extra = payload, ""
    head = (f"PUT /{bucket}/cut HTTP/1.1\r\nHost: {raw.host}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode()
    with socket.create_connection(("127.0.0.1", raw.port)) as sock:
        sock.sendall(head + body[: len(body) // 2])
        time.sleep(0.2)  # let the server take the half it was sent; what is checked is what follows
    assert raw.send("GET", f"/{bucket}/cut")[0] == 404
    # The half-written body is removed once the server sees the connection gone.
    assert wait_until(lambda: bodies(lamina) == before)
    assert raw.send("GET", f"/{bucket}/cut")[0] == 404


def test_malformed_xml_changes_nothing(raw: Raw, lamina: LaminaProcess, bucket: str) -> None:
    s3 = s3_client(lamina.endpoint)
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")

    def md5(body: bytes) -> str:
        return base64.b64encode(hashlib.md5(body).digest()).decode()

    bodies_sent = [b"<Delete><Object><Key>keep</Key></Object>", b"not xml at all",
                   b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "keep">]><Delete><Object><Key>&e;</Key></Object></Delete>',
                   b"<Delete></Delete>", b"<Other><Object><Key>keep</Key></Object></Other>"]  # fmt: skip
    for sent in bodies_sent:
        status, _, body = raw.send("POST", f"/{bucket}?delete", sent, Content_MD5=md5(sent))
        assert (status, error_of(body)["Code"]) == (400, "MalformedXML"), sent
    good = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    status, _, body = raw.send("POST", f"/{bucket}?delete", good, Content_MD5=md5(b"other"))
    assert (status, error_of(body)["Code"]) == (400, "BadDigest")
    status, _, body = raw.send("POST", f"/{bucket}?delete", good)
    assert status == 400
    many = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>"
    status, _, body = raw.send("POST", f"/{bucket}?delete", many, Content_MD5=md5(many))
    assert (status, error_of(body)["Code"]) == (400, "MalformedXML")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    status, _, body = raw.send("POST", f"/{bucket}/mp?uploadId={uid}", b"<CompleteMultipartUpload><Part>")
    assert (status, error_of(body)["Code"]) == (400, "MalformedXML")
    status, _, body = raw.send("PUT", f"/{bucket}?tagging", b"<Tagging><TagSet><Tag><Key>a")
    assert (status, error_of(body)["Code"]) == (400, "MalformedXML")
    status, _, body = raw.send("PUT", f"/{bucket}-new", b"<CreateBucketConfiguration><LocationConstraint>")
    assert (status, error_of(body)["Code"]) == (400, "MalformedXML")
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x"
    assert raw.send("HEAD", f"/{bucket}-new")[0] == 404


def test_a_large_body_streams_through(raw: Raw, lamina: LaminaProcess, bucket: str, tmp_path: Path) -> None:
    """60 MB in one PUT, beyond the Lambda API's request limit: streamed to disk, not read whole."""
    data = bytes(range(256)) * (60 * 4096)
    status, headers, _ = raw.send("PUT", f"/{bucket}/large", data)
    assert status == 200 and headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    status, _, body = raw.send("GET", f"/{bucket}/large")
    assert status == 200 and hashlib.md5(body).digest() == hashlib.md5(data).digest()


def test_a_reader_that_goes_away_mid_body_harms_nothing(raw: Raw, lamina: LaminaProcess, bucket: str) -> None:
    data = b"r" * (8 * 1024 * 1024)
    assert raw.send("PUT", f"/{bucket}/read-away", data)[0] == 200
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", raw.port)) as sock:
            sign = "".join(f"{k}: {v}\r\n" for k, v in raw.signature("GET", f"/{bucket}/read-away", {}).items())
            sock.sendall(f"GET /{bucket}/read-away HTTP/1.1\r\nHost: {raw.host}\r\n{sign}\r\n".encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    status, _, body = raw.send("GET", f"/{bucket}/read-away")
    assert status == 200 and body == data
