"""The embedded S3 across restarts: what was acknowledged is there after a kill -9, an upload cut
off by the kill leaves nothing behind, multipart uploads in progress survive, and bodies no record
names are swept at start."""

from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from tests.objects import s3_client
from tests import signing

MiB = 1024 * 1024


def files(folder: Any) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_a_kill_mid_upload_leaves_no_partial_object(make_server: Any, tmp_path: Any) -> None:
    server = make_server(tmp_path / "data")
    s3 = s3_client(server.endpoint)
    s3.create_bucket(Bucket="durable")
    s3.put_object(Bucket="durable", Key="kept", Body=b"acknowledged")
    uid = s3.create_multipart_upload(Bucket="durable", Key="mp")["UploadId"]
    part = s3.upload_part(Bucket="durable", Key="mp", UploadId=uid, PartNumber=1, Body=b"p" * (5 * MiB))["ETag"]
    port = urlsplit(server.endpoint).port
    assert port is not None
    sock = socket.create_connection(("127.0.0.1", port))
    sign = "".join(f"{k}: {v}\r\n" for k, v in signing.s3_headers("PUT", f"http://s3.localhost:{port}/durable/partial").items())
    head = f"PUT /durable/partial HTTP/1.1\r\nHost: s3.localhost:{port}\r\nContent-Length: {8 * MiB}\r\n{sign}\r\n"
    sock.sendall(head.encode() + b"x" * (4 * MiB))
    incoming = tmp_path / "data" / "objects" / "incoming"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(p.stat().st_size > 0 for p in incoming.iterdir()):
        time.sleep(0.05)
    assert any(p.stat().st_size > 0 for p in incoming.iterdir())  # the upload is being written: kill it there
    server.kill()
    sock.close()

    again = make_server(tmp_path / "data")
    s3 = s3_client(again.endpoint)
    assert s3.get_object(Bucket="durable", Key="kept")["Body"].read() == b"acknowledged"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="durable")["Contents"]] == ["kept"]
    assert files(incoming) == []
    assert len(files(tmp_path / "data" / "objects" / "bodies")) == 2  # "kept" and the part
    assert [p["ETag"] for p in s3.list_parts(Bucket="durable", Key="mp", UploadId=uid)["Parts"]] == [part]
    s3.complete_multipart_upload(Bucket="durable", Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part}]})  # fmt: skip
    assert s3.head_object(Bucket="durable", Key="mp")["ContentLength"] == 5 * MiB
    assert len(files(tmp_path / "data" / "objects" / "bodies")) == 2  # the part's body went with its upload

    # What a crash between a body's rename and its commit would leave, a body no object names, and
    # a body half-written: both are removed at the next start.
    again.stop()
    bodies = tmp_path / "data" / "objects" / "bodies"
    (bodies / "0123456789abcdef").write_bytes(b"orphan")
    (incoming / "fedcba").write_bytes(b"half")
    third = make_server(tmp_path / "data")
    assert s3_client(third.endpoint).get_object(Bucket="durable", Key="kept")["Body"].read() == b"acknowledged"
    assert len(files(bodies)) == 2 and files(incoming) == []
