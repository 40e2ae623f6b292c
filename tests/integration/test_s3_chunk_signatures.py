"""Chunk-signed uploads from a real client: minio-go v7, which signs every 64 KiB chunk of its
uploads (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, and ``...-PAYLOAD-TRAILER`` with a checksum)
when it speaks plain HTTP, in a small Go program (``go/s3chunks``) built once and cached
(``build_cache("go")``, as test_provided.py builds Go functions).

Uploads of several sizes go through a relay on loopback that records what minio-go sent (so the
tests know its chunks were signed) and are read back with boto3; the relay also changes one byte
of a chunk in flight, and requests minio-go made are replayed by hand with one thing changed (a
byte, a signature, a chunk dropped or moved, the end cut): each is SignatureDoesNotMatch, nothing
is stored and the previous version stays.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests.conftest import LaminaProcess
from tests.integration.test_provided import GO_CACHE, GO_FUNCTIONS, go_tool
from tests.objects import bucket_name, s3_client

KiB, MiB = 1024, 1024 * 1024
_CHUNK_HEADER = re.compile(rb"[0-9a-f]+;chunk-signature=[0-9a-f]{64}\r\n")


def build_s3chunks() -> Path:
    """``go/s3chunks`` built once per hash of its sources, go.mod, go.sum and the toolchain."""
    go = go_tool()
    if go is None:
        pytest.skip("Go is not installed: run scripts/install/go.sh")
    source = GO_FUNCTIONS / "s3chunks"
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    found = re.search(r"go1\.(\d+)", version)
    if found is None or int(found[1]) < 26:  # minio-go v7.4 needs Go 1.26
        pytest.skip(f"minio-go v7.4 needs Go 1.26 or later; {go} is {version}")
    digest = hashlib.sha256(version.encode())
    for path in sorted(source.iterdir()):
        if path.suffix == ".go" or path.name in ("go.mod", "go.sum"):
            digest.update(f"{path.name}\0".encode() + path.read_bytes() + b"\0")
    binary = GO_CACHE / "bin" / f"s3chunks-{digest.hexdigest()[:20]}" / "s3chunks"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local",
               "GOMODCACHE": str(GO_CACHE / "mod"), "GOCACHE": str(GO_CACHE / "build")}  # fmt: skip
        with tempfile.TemporaryDirectory(dir=binary.parent) as tmp:
            out = Path(tmp) / "s3chunks"
            build = subprocess.run([go, "build", "-trimpath", "-o", str(out), "."], cwd=source, env=env,
                                   capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
            assert build.returncode == 0, f"go build failed:\n{build.stdout}\n{build.stderr}"
            out.replace(binary)  # atomic: a concurrent run sees a whole binary or none
    return binary


@pytest.fixture(scope="module")
def s3chunks() -> Path:
    return build_s3chunks()


@dataclass
class Relay:
    """A TCP relay on loopback to Lamina's port that records what each connection sends, and,
    with ``tamper`` set, flips one byte of a body once: the byte ``tamper`` bytes after the first
    chunk header (``<size>;chunk-signature=<sig>\\r\\n``) that a connection sends."""

    upstream: int
    tamper: int | None = None
    streams: list[bytearray] = field(default_factory=list)  # what each connection sent, in order
    tampered: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._start(self._accept)

    @property
    def sent(self) -> bytes:
        with self._lock:
            return b"\n".join(self.streams)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="relay")
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            stream = bytearray()
            with self._lock:
                self._sockets += [client, server]
                self.streams.append(stream)
            self._start(self._pump, client, server, stream)
            self._start(self._pump, server, client, None)

    def _pump(self, source: socket.socket, sink: socket.socket, stream: bytearray | None) -> None:
        try:
            while data := source.recv(256 * KiB):
                if stream is not None:
                    data = self._record(stream, data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _record(self, stream: bytearray, data: bytes) -> bytes:
        with self._lock:
            start = len(stream)
            stream += data
            if self.tamper is None or self.tampered:
                return data
            # The connection's first chunk header, wherever the reads split it: searched from the start,
            # as the byte may come reads after the header (a later header would move it, or past the end).
            header = _CHUNK_HEADER.search(stream)
            if header is None or header.end() + self.tamper >= len(stream):
                return data
            at = header.end() + self.tamper - start  # in this read: the header was not whole before it
            changed = bytearray(data)
            changed[at] ^= 0x01
            self.tampered = True
            return bytes(changed)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()
        for thread in self._threads:
            thread.join(timeout=10)


@pytest.fixture
def relay(lamina: LaminaProcess) -> Iterator[Relay]:
    port = urlsplit(lamina.endpoint).port
    assert port is not None
    made = Relay(port)
    yield made
    made.close()


def upload(binary: Path, port: int, uploads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What minio-go answered for each upload (``code``: S3's error code if refused)."""
    done = subprocess.run([str(binary), f"127.0.0.1:{port}", "test", "test"], input=json.dumps(uploads),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


_REQUEST_LINE = re.compile(rb"(?:GET|HEAD|PUT|POST|DELETE) \S+ HTTP/1\.1\r\n")


def requests_sent(relay: Relay) -> list[dict[str, str]]:
    """The head of each request the relay saw: its request line (``line``) and its headers (lower-cased)."""
    heads = []
    for stream in relay.streams:
        for found in _REQUEST_LINE.finditer(stream):
            head = bytes(stream[found.start() : stream.index(b"\r\n\r\n", found.start())]).decode("latin-1")
            line, *fields = head.split("\r\n")
            heads.append({"line": line, **{k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}})
    return heads


def bodies(lamina: LaminaProcess) -> set[str]:
    return {p.name for p in (lamina.data_dir / "objects").rglob("*") if p.is_file()}


def wait_until(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def bucket(lamina: LaminaProcess) -> str:
    name = bucket_name("chunks")
    s3_client(lamina.endpoint).create_bucket(Bucket=name)
    return name


def _write(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def test_minio_go_chunk_signed_uploads_are_stored_and_read_back_with_boto3(
    lamina: LaminaProcess, relay: Relay, s3chunks: Path, bucket: str, tmp_path: Path
) -> None:
    sizes = {"empty": 0, "one-byte": 1, "one-chunk": 64 * KiB, "many-chunks": 9 * MiB + 7}
    files = {name: _write(tmp_path, name, size) for name, size in sizes.items()}
    multipart = _write(tmp_path, "multipart", 12 * MiB + 3)  # three parts of 5 MiB, 5 MiB and 2 MiB
    uploads: list[dict[str, Any]] = [{"bucket": bucket, "key": name, "file": str(path)} for name, path in files.items()]
    uploads += [
        {"bucket": bucket, "key": "trailer", "file": str(files["many-chunks"]), "checksum": "crc32c"},
        {"bucket": bucket, "key": "multipart", "file": str(multipart), "partSize": 5 * MiB},
        {"bucket": bucket, "key": "multipart-trailer", "file": str(multipart), "partSize": 5 * MiB, "checksum": "crc32c"},
    ]  # fmt: skip
    results = upload(s3chunks, relay.port, uploads)
    assert [(r["key"], r.get("code")) for r in results] == [(u["key"], None) for u in uploads]
    # minio-go signed its chunks: what it sent is what Lamina verified.
    heads = requests_sent(relay)
    puts = [(head["line"].split(" ")[1].split("?")[0].rpartition("/")[2], head["x-amz-content-sha256"],
             "partNumber=" in head["line"]) for head in heads if head["line"].startswith("PUT")]  # fmt: skip
    signed, trailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    assert sorted(puts) == sorted([(name, signed, False) for name in sizes] + [("trailer", trailer, False)]
                                  + [("multipart", signed, True)] * 3 + [("multipart-trailer", trailer, True)] * 3)
    assert sum(head.get("x-amz-trailer") == "x-amz-checksum-crc32c" for head in heads) == 4
    sent = relay.sent.lower()
    assert len(_CHUNK_HEADER.findall(sent)) >= 2 * (9 * MiB // (64 * KiB)) + 2 * (12 * MiB // (64 * KiB))
    s3 = s3_client(lamina.endpoint)
    for result, expected in zip(results, [*files.values(), files["many-chunks"], multipart, multipart]):
        got = s3.get_object(Bucket=bucket, Key=result["key"])
        data = got["Body"].read()
        assert hashlib.sha256(data).digest() == hashlib.sha256(expected.read_bytes()).digest(), result["key"]
        assert got["ContentLength"] == expected.stat().st_size and "ContentEncoding" not in got
    assert s3.head_object(Bucket=bucket, Key="multipart")["ETag"].endswith('-3"')


@pytest.mark.parametrize("kind", ["single", "multipart"])
def test_a_chunk_changed_in_flight_is_refused_and_the_previous_version_stays(
    lamina: LaminaProcess, relay: Relay, s3chunks: Path, bucket: str, tmp_path: Path, kind: str
) -> None:
    s3 = s3_client(lamina.endpoint)
    s3.put_object(Bucket=bucket, Key="kept", Body=b"the previous version")
    before = bodies(lamina)
    path = _write(tmp_path, "upload", 12 * MiB if kind == "multipart" else 300 * KiB)
    relay.tamper = 100 * KiB  # a byte of the second chunk
    sent: dict[str, Any] = {"bucket": bucket, "key": "kept", "file": str(path)}
    if kind == "multipart":
        sent["partSize"] = 5 * MiB
    [result] = upload(s3chunks, relay.port, [sent])
    assert relay.tampered
    assert (result.get("code"), result.get("status")) == ("SignatureDoesNotMatch", 403), result
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"the previous version"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # minio-go aborted its upload
    # Nothing of the refused upload is kept: a part another connection was still sending when
    # minio-go gave up is removed once its connection ends.
    assert wait_until(lambda: bodies(lamina) == before), bodies(lamina) - before
    # The same upload, untouched, is stored.
    relay.tamper = None
    [result] = upload(s3chunks, relay.port, [sent])
    assert result.get("code") is None, result
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == path.read_bytes()


# -- minio-go's own requests, replayed with one thing changed -------------------------------------


@dataclass(frozen=True)
class Captured:
    head: list[tuple[str, str]]  # headers, in order, Content-Length excluded
    line: str  # the request line
    chunks: list[tuple[bytes, bytes]]  # (header line without CRLF, data), the final 0-byte one included
    end: bytes  # what follows the final chunk's header (CRLF, or the trailers)

    def body(self, chunks: list[tuple[bytes, bytes]] | None = None) -> bytes:
        parts = [header + b"\r\n" + data + (b"\r\n" if data else b"") for header, data in (chunks or self.chunks)]
        return b"".join(parts) + self.end


def capture(sent: bytes) -> Captured:
    """The one PUT in ``sent``, taken apart."""
    head, _, rest = sent.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = [(name, value.strip()) for name, _, value in (f.partition(":") for f in fields)]
    length = int(next(v for k, v in headers if k.lower() == "content-length"))
    body, chunks = rest[:length], []
    while True:
        header, _, body = body.partition(b"\r\n")
        size = int(header.split(b";")[0], 16)
        chunks.append((header, body[:size]))
        if size == 0:
            return Captured([(k, v) for k, v in headers if k.lower() != "content-length"], line, chunks, body)
        body = body[size + 2 :]


def send(conn: http.client.HTTPConnection, captured: Captured, body: bytes) -> tuple[int, dict[str, str]]:
    method, target, _ = captured.line.split(" ")
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    for name, value in captured.head:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    answer = response.read()
    return response.status, ({c.tag: c.text or "" for c in ElementTree.fromstring(answer)} if answer else {})


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_minio_gos_requests_replayed_with_one_change_are_refused_on_a_connection_that_goes_on(
    lamina: LaminaProcess, relay: Relay, s3chunks: Path, bucket: str, tmp_path: Path
) -> None:
    s3 = s3_client(lamina.endpoint)
    path = _write(tmp_path, "upload", 200 * KiB)  # chunks of 64, 64, 64 and 8 KiB, and the final one
    [result] = upload(s3chunks, relay.port, [{"bucket": bucket, "key": "replayed", "file": str(path)}])
    assert result.get("code") is None, result
    [stream] = relay.streams  # one connection, one request
    captured = capture(bytes(stream))
    assert [len(data) for _, data in captured.chunks] == [64 * KiB] * 3 + [8 * KiB, 0]
    s3.put_object(Bucket=bucket, Key="replayed", Body=b"the previous version")
    before = bodies(lamina)
    first, second, third, fourth, final = captured.chunks
    wrong = first[0][:-1] + (b"0" if first[0].endswith(b"1") else b"1")
    changed = {
        "a byte of the data": [first, (second[0], _flip(second[1], 1000)), third, fourth, final],
        "a chunk's signature": [(wrong, first[1]), second, third, fourth, final],
        "a chunk's signature left out": [(first[0].split(b";")[0], first[1]), second, third, fourth, final],
        "two chunks swapped": [first, third, second, fourth, final],
        "a chunk sent twice": [first, second, second, third, fourth, final],
        "a chunk dropped": [first, third, fourth, final],
        "the final chunk's signature": [first, second, third, fourth, (final[0][:-8] + b"00000000", b"")],
    }
    port = urlsplit(lamina.endpoint).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for what, chunks in changed.items():
            status, error = send(conn, captured, captured.body(chunks))
            assert (status, error.get("Code")) == (403, "SignatureDoesNotMatch"), what
            assert error["AWSAccessKeyId"] == "test" and error["RequestId"], what
        # The body cut after a chunk: its final chunk (and its signature) never comes.
        status, error = send(conn, captured, captured.body([first, second])[:-len(captured.end)])
        assert (status, error.get("Code")) == (403, "SignatureDoesNotMatch")
        assert s3.get_object(Bucket=bucket, Key="replayed")["Body"].read() == b"the previous version"
        assert bodies(lamina) == before
        # The same connection, the request as minio-go sent it: stored (each refusal was the change's).
        assert send(conn, captured, captured.body()) == (200, {})
    finally:
        conn.close()
    assert s3.get_object(Bucket=bucket, Key="replayed")["Body"].read() == path.read_bytes()


def test_chunks_claimed_signed_under_signature_version_2_are_refused(lamina: LaminaProcess, bucket: str) -> None:
    """Version 2 signs no body, so it has no seed for chunk signatures to chain: an upload that says
    its chunks are signed (and signs that header) is refused, not stored with chunks nobody checked."""
    from botocore.auth import HmacV1Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "5",
               "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}  # fmt: skip
    request = AWSRequest(method="PUT", url=f"{lamina.endpoint}/{bucket}/v2", data=body, headers=headers)
    HmacV1Auth(Credentials("test", "test")).add_auth(request)
    prepared = request.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(lamina.endpoint).port, timeout=30)
    try:
        conn.request("PUT", f"/{bucket}/v2", body=body, headers=dict(prepared.headers.items()))
        response = conn.getresponse()
        error = {c.tag: c.text for c in ElementTree.fromstring(response.read())}
    finally:
        conn.close()
    assert (response.status, error["Code"]) == (403, "SignatureDoesNotMatch")
    assert "Contents" not in s3_client(lamina.endpoint).list_objects_v2(Bucket=bucket)
