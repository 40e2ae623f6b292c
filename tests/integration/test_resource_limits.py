"""Limits a function cannot step over from inside: the memory its sockets hold and the size of
the files it writes.

Socket buffers are kernel memory the function makes the kernel hold for it: loopback TCP
connections it never reads from, UDP sockets it sends to and never reads. cgroup v2 charges them
to the memory limit; cgroup v1 only when the environment's cgroup has a socket limit
(``memory.kmem.tcp.limit_in_bytes``, which then counts UDP too). Without it a 128 MB function held
gigabytes. The function measures what the kernel holds for its sockets (``SO_MEMINFO``) and stops
once that passes twice its memory size, so a host without the limit is not driven far.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import LaminaProcess, deploy
from tests.environments import namespace_processes
from tests.functions import invoke

MB = 1024 * 1024
MEMORY_MB = 128
EPHEMERAL_MB = 600

HOARDER = r'''
import errno, os, socket, struct

MB = 1024 * 1024
SO_MEMINFO = 55
RMEM_ALLOC, WMEM_QUEUED = 0, 5  # SK_MEMINFO_* indexes


def held(sock):
    """What the kernel holds for this socket: data received and not read, sent and not delivered."""
    info = struct.unpack("9I", sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 9 * 4))
    return info[RMEM_ALLOC] + info[WMEM_QUEUED]


def tcp(stop):
    """Loopback connections, each filled until a send would block; nothing is read."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    pairs, queued, end, idle = [], 0, "stopped", 0
    chunk = b"x" * 65536
    while queued < stop:
        try:
            client = socket.create_connection(server.getsockname())
            pairs.append((client, server.accept()[0]))
        except OSError as exc:
            end = errno.errorcode[exc.errno]
            break
        client.setblocking(False)
        sent = 0
        while True:
            try:
                sent += client.send(chunk)
            except (BlockingIOError, InterruptedError):
                break
        queued += sent
        idle = idle + 1 if sent == 0 else 0
        if idle == 50:
            end = "blocked"
            break
    total = sum(held(a) + held(b) for a, b in pairs)
    return {"sockets": 2 * len(pairs), "queued": queued, "held": total, "end": end}


def udp(stop):
    """Sockets with the largest receive buffer the host allows, sent datagrams they never read."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receivers, total, end, idle = [], 0, "stopped", 0
    datagram = b"x" * 60000
    while total < stop:
        try:
            receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        except OSError as exc:
            end = errno.errorcode[exc.errno]
            break
        receivers.append(receiver)
        receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
        receiver.bind(("127.0.0.1", 0))
        before, unchanged = 0, 0
        while unchanged < 2:  # what its buffer does not take is dropped: send until nothing more stays
            try:
                sender.sendto(datagram, receiver.getsockname())
            except OSError:
                break
            now = held(receiver)
            unchanged, before = (unchanged + 1 if now == before else 0), now
        total += before
        idle = idle + 1 if before == 0 else 0
        if idle == 50:
            end = "blocked"
            break
    return {"sockets": len(receivers), "held": total, "end": end}


def big_file(path, size):
    """Write the last byte a file of ``size`` may have, then one past it, then grow it past."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        result = {"last_byte": os.pwrite(fd, b"x", size - 1)}
        attempts = {"past": lambda: os.pwrite(fd, b"y", size), "grow": lambda: os.ftruncate(fd, size + 1)}
        for name, attempt in attempts.items():
            try:
                attempt()
                result[name] = "written"
            except OSError as exc:
                result[name] = errno.errorcode[exc.errno]
        return result
    finally:
        os.close(fd)
        os.unlink(path)


def handler(event, context):
    kind = event["kind"]
    if kind == "whoami":
        return {"pidns": os.readlink("/proc/self/ns/pid"), "uid": os.getuid()}
    if kind == "file":
        return big_file(event["path"], event["size"])
    return {"tcp": tcp, "udp": udp}[kind](event["stop_mb"] * MB)
'''


@pytest.fixture(scope="module")
def hoarder(lamina: LaminaProcess) -> Iterator[Any]:
    client = lamina.client()
    name = f"hoarder-{os.getpid()}"
    deploy(client, name, HOARDER, Timeout=60, MemorySize=MEMORY_MB, EphemeralStorage={"Size": EPHEMERAL_MB})

    def run(kind: str, **event: Any) -> dict[str, Any]:
        response, body, log = invoke(client, name, {"kind": kind, **event})
        assert "FunctionError" not in response, (body, log)
        return dict(body)

    yield run
    client.delete_function(FunctionName=name)


# -- socket memory ----------------------------------------------------------------------------


def test_tcp_buffers_are_bounded_by_the_memory_size(hoarder: Any) -> None:
    seen = hoarder("tcp", stop_mb=2 * MEMORY_MB)
    # It ends at its 1,024 descriptors, or when no connection takes more; long before twice its size.
    assert seen["end"] in ("EMFILE", "blocked"), seen
    assert seen["held"] < 2 * MEMORY_MB * MB, seen


def test_udp_buffers_are_bounded_by_the_memory_size(hoarder: Any) -> None:
    seen = hoarder("udp", stop_mb=2 * MEMORY_MB)
    assert seen["end"] in ("EMFILE", "blocked"), seen
    assert seen["held"] < 2 * MEMORY_MB * MB, seen


def memory_cgroup(pid: int) -> Path | None:
    """The v1 memory cgroup directory of ``pid``; None on cgroup v2."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, rel = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup") / controllers / rel.lstrip("/")
    return None


def test_the_socket_limit_is_the_memory_size(hoarder: Any) -> None:
    me = hoarder("whoami")
    pids = namespace_processes(me["pidns"], me["uid"])
    assert pids
    memory = memory_cgroup(pids[0])
    if memory is None:
        pytest.skip("cgroup v2 charges socket buffers to memory.max: there is no separate limit")
    assert (memory / "memory.kmem.tcp.limit_in_bytes").read_text().strip() == str(MEMORY_MB * MB)


# -- file size --------------------------------------------------------------------------------


def test_no_file_grows_past_the_ephemeral_storage_size(hoarder: Any) -> None:
    # (a megabyte past it: /tmp, that size, fills first and says ENOSPC, as on Lambda)
    seen = hoarder("file", path="/tmp/sparse", size=(EPHEMERAL_MB + 1) * MB)
    assert seen == {"last_byte": 1, "past": errno.errorcode[errno.EFBIG], "grow": errno.errorcode[errno.EFBIG]}
