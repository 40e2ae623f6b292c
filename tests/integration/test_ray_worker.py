"""A node's worker (placement/worker.py) attacked on its own, without Ray: a real ``NodeWorker`` in a
process of its own, spoken to over its TCP channel. Past the secret, what a server sends is still
checked: a package whose bytes are not the digest it names, a zip that escapes its folder, a
malformed start, an oversized frame; none is stored or started, each is answered, and the worker
goes on serving."""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_zip, server_env

SECRET = "s" * 64
WORKER = f"""
import asyncio, sys
from lamina.placement.worker import NodeWorker

async def main():
    worker = NodeWorker({SECRET!r})
    host, port = await worker.start("127.0.0.1", "test-node")
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await worker.close()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    data = tmp_path_factory.mktemp("worker")
    proc = subprocess.Popen([sys.executable, "-c", WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=server_env(LAMINA_DATA_DIR=str(data), LAMINA_NETWORK_RANGE="100.120.0.0/16",
                                           LAMINA_PORT="4566"))  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    port = int(proc.stdout.readline())
    yield port, data
    proc.stdin.close()  # the worker's cue to close
    proc.wait(30)
    proc.stdout.close()


def frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">II", 4 + len(head) + len(body), len(head)) + head + body


class Channel:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        hello = {"op": "hello", "secret": SECRET, "region": "us-east-1", "max_response_bytes": 6 << 20,
                 "init_timeout_s": 10, "outbound": False, "invocation_bytes": 1 << 20, "api": ["127.0.0.1", 1]}  # fmt: skip
        self.sock.sendall(frame(hello))
        assert self.read()[0]["op"] == "welcome"

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()

    def read(self) -> tuple[dict[str, Any], bytes]:
        size, head = struct.unpack(">II", self._exactly(8))
        rest = self._exactly(size - 4)
        return json.loads(rest[:head]), rest[head:]

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def ask(self, header: dict[str, Any], body: bytes = b"") -> dict[str, Any]:
        self.sock.sendall(frame(header, body))
        while True:
            answer, _ = self.read()
            if answer.get("id") == header["id"]:
                return answer


def stored(data: Path) -> list[Path]:
    return list(data.glob("ray-worker-*/code/zips/*.zip"))


def test_a_package_that_is_not_its_digest_is_not_stored(worker: tuple[int, Path]) -> None:
    port, data = worker
    with Channel(port) as channel:
        answer = channel.ask({"op": "code", "id": 1, "digest": "0" * 64}, make_zip({"app.py": "x = 1\n"}))
        assert answer["op"] == "error" and "not " + "0" * 64 in answer["message"]
        before = stored(data)
        answer = channel.ask({"op": "code", "id": 2, "digest": "../../etc"}, b"not a zip")
        assert answer["op"] == "error"
        assert stored(data) == before


def test_a_zip_that_escapes_its_folder_is_refused(worker: tuple[int, Path]) -> None:
    port, data = worker
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../escaped.py", "x = 1\n")
    with Channel(port) as channel:
        answer = channel.ask({"op": "code", "id": 1, "digest": "f" * 64}, buf.getvalue())
    assert answer["op"] == "error"
    assert not list(data.rglob("escaped.py"))


def test_a_malformed_start_is_answered_and_starts_nothing(worker: tuple[int, Path]) -> None:
    port, data = worker
    with Channel(port) as channel:
        assert channel.ask({"op": "start", "id": 1, "env": "e", "fn": "{not json"})["op"] == "error"
        assert channel.ask({"op": "start", "id": 2})["op"] == "error"
        assert channel.ask({"op": "invoke", "id": 3, "env": "nobody", "request_id": "r", "function_arn": "a",
                            "timeout_s": 1})["gone"] is True  # fmt: skip
    assert not list(data.glob("ray-worker-*/environments/e"))


def test_an_oversized_frame_ends_the_session_not_the_worker(worker: tuple[int, Path]) -> None:
    port, _ = worker
    with Channel(port) as channel:
        channel.sock.sendall(struct.pack(">II", (64 << 20) + 1, 2) + b"{}")
        with pytest.raises(ConnectionError):
            channel.read()
    with Channel(port) as channel:
        assert channel.ask({"op": "stop", "id": 1, "env": "none"})["op"] == "stopped"  # still serving
