"""The embedded S3 through the AWS CLI (``aws s3`` and ``aws s3api``), presigned URLs used with plain
HTTP, and virtual-hosted-style addressing (``<bucket>.s3.localhost``)."""

from __future__ import annotations

import hashlib
import http.client
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LaminaProcess
from tests import signing
from tests.objects import bucket_name, s3_client

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


def aws(endpoint: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return done


def test_aws_cli_copies_syncs_lists_and_removes(lamina: LaminaProcess, tmp_path: Path) -> None:
    """``aws s3`` and ``aws s3api`` as they are (each run of the CLI costs seconds: few runs, checked with boto3)."""
    s3 = s3_client(lamina.endpoint)
    bucket = bucket_name("cli")
    aws(lamina.endpoint, "s3", "mb", f"s3://{bucket}", cwd=tmp_path)
    folder = tmp_path / "site"
    for i in range(40):
        (folder / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{i % 4}" / f"f{i}.txt").write_text(f"file {i}\n" * (i + 1))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1024 * 1024) * 20)  # 20 MB: the CLI uploads it in parts
    aws(lamina.endpoint, "s3", "sync", str(folder), f"s3://{bucket}/site", cwd=tmp_path)
    aws(lamina.endpoint, "s3", "cp", str(big), f"s3://{bucket}/big.bin", cwd=tmp_path)
    listed = aws(lamina.endpoint, "s3", "ls", "--recursive", f"s3://{bucket}/", cwd=tmp_path).stdout
    assert len(listed.splitlines()) == 41 and "site/d3/f39.txt" in listed
    # A second sync finds nothing to send.
    assert aws(lamina.endpoint, "s3", "sync", str(folder), f"s3://{bucket}/site", cwd=tmp_path).stdout == ""
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024 and head["ETag"].endswith('-3"')
    assert s3.get_object(Bucket=bucket, Key="site/d2/f38.txt")["Body"].read() == (folder / "d2" / "f38.txt").read_bytes()
    back = tmp_path / "back.bin"
    aws(lamina.endpoint, "s3", "cp", f"s3://{bucket}/big.bin", str(back), cwd=tmp_path)
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()
    got = aws(lamina.endpoint, "s3api", "get-object", "--bucket", bucket, "--key", "site/d0/f0.txt", "out.txt",
              cwd=tmp_path)  # fmt: skip
    assert '"ContentType": "text/plain"' in got.stdout and (tmp_path / "out.txt").read_text() == "file 0\n"
    aws(lamina.endpoint, "s3", "rm", "--recursive", f"s3://{bucket}/site", cwd=tmp_path)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["big.bin"]
    aws(lamina.endpoint, "s3", "rb", "--force", f"s3://{bucket}", cwd=tmp_path)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("signature", ["s3v4", "s3"])
def test_presigned_urls_work_with_plain_http(lamina: LaminaProcess, signature: str) -> None:
    """Signature version 4 (X-Amz-Credential) and 2 (AWSAccessKeyId, boto3's default in us-east-1)."""
    s3 = s3_client(lamina.endpoint, signature_version=signature)
    bucket = bucket_name("pre")
    s3.create_bucket(Bucket=bucket)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p/x.bin"}, ExpiresIn=300)
    assert ("X-Amz-Credential" if signature == "s3v4" else "AWSAccessKeyId") in put_url
    # Version 2 signs Content-Type: the URL was signed with none, so none is sent (urllib would add one).
    request = urllib.request.Request(put_url, data=b"presigned body", method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200 and response.headers["ETag"] == f'"{hashlib.md5(b"presigned body").hexdigest()}"'
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/x.bin"}, ExpiresIn=300)
    with urllib.request.urlopen(get_url) as response:
        assert response.read() == b"presigned body"
    assert s3.get_object(Bucket=bucket, Key="p/x.bin")["Body"].read() == b"presigned body"


def test_virtual_hosted_style(lamina: LaminaProcess) -> None:
    """``<bucket>.s3.localhost`` names the bucket in the Host; the name does not resolve here, so
    boto3's virtual-hosted requests are sent to Lamina's address with their Host kept."""
    s3 = s3_client(lamina.endpoint)
    bucket = bucket_name("vh")
    s3.create_bucket(Bucket=bucket)
    port = urlsplit(lamina.endpoint).port
    assert port is not None
    vhost = s3_client(f"http://s3.localhost:{port}", s3={"addressing_style": "virtual"})
    sent: list[str] = []

    def to_loopback(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        sent.append(parts.hostname or "")
        request.headers["Host"] = parts.netloc
        request.url = request.url.replace(f"//{parts.netloc}", f"//127.0.0.1:{port}", 1)

    vhost.meta.events.register("before-send.s3", to_loopback)
    vhost.put_object(Bucket=bucket, Key="dir/v.txt", Body=b"virtual")
    assert vhost.get_object(Bucket=bucket, Key="dir/v.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in vhost.list_objects_v2(Bucket=bucket)["Contents"]] == ["dir/v.txt"]
    assert sent and all(h == f"{bucket}.s3.localhost" for h in sent)
    # The Host alone makes a request S3's: unsigned, it is refused as S3 refuses it (XML).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/dir/v.txt", headers={"Host": f"{bucket}.s3.localhost:{port}"})
    answer = conn.getresponse()
    assert answer.status == 403 and b"<Code>AccessDenied</Code>" in answer.read()
    for host, path in ((f"{bucket}.s3.localhost:{port}", "/dir/v.txt"), (f"s3.localhost:{port}", f"/{bucket}/dir/v.txt")):
        sign = signing.headers("GET", f"http://{host}{path}", service="s3")
        conn.request("GET", path, headers={"Host": host, **sign})
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (200, b"virtual")
    conn.close()
