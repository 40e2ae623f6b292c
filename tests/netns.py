"""Network namespaces for tests: run code inside one, and a "remote host" of the test's own.

``run_in(fd, code)`` runs Python code in a process that has joined the network namespace ``fd``
(as an environment's first process does: ``setns(fd, CLONE_NEWNET)``). ``Joined`` keeps such a
process alive and sends it code line by line, for tests where the namespace must stay in use.

``RemoteHost`` stands for a server elsewhere on the network: a process in a network namespace of
its own, with a TCP echo server on ``port`` that first answers with the address it saw the client
at; ``listen()`` gives the test a listening socket of its own there, which functions reach through
their outbound networking. Its veth (host end ``lmt<hex>``) and its /30 come from 198.18.0.0/15, the range set aside for
network tests (RFC 2544), so no traffic ever leaves this machine. It has no default route: it can
answer only the host's own address on that veth, which is what a namespace behind NAT appears as.

Everything needs root; everything is removed by ``close`` (or the ``with`` block's end).
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

JOIN = """
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).setns(int(sys.argv[1]), 0x40000000) != 0:
    sys.exit("setns: " + os.strerror(ctypes.get_errno()))
"""

# What a probe reports: "connected" (and what the server first said), "refused", "timeout",
# "unreachable" or another error's name.
PROBE = """
import errno, json, socket
def probe(host, port, timeout=1.5, read=True):
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            try:
                first = s.recv(200).decode() if read else ""
            except OSError:
                first = ""
            return {"result": "connected", "said": first}
    except ConnectionRefusedError:
        return {"result": "refused"}
    except (TimeoutError, socket.timeout):
        return {"result": "timeout"}
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return {"result": "unreachable"}
        return {"result": errno.errorcode.get(exc.errno or 0, str(exc))}
"""


def run_in(fd: int, code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new Python process inside the network namespace ``fd``."""
    return subprocess.run(
        [sys.executable, "-c", JOIN + PROBE + code, str(fd), *args],
        pass_fds=(fd,), capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def probe_from(fd: int, host: str, port: int, *, read: bool = True) -> dict[str, Any]:
    """Try a TCP connection to ``host:port`` from inside the namespace ``fd`` (see ``PROBE``); with
    ``read``, wait for what the server says first."""
    done = run_in(fd, f"print(json.dumps(probe({host!r}, {port}, read={read})))")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Joined:
    """A long-lived process inside the namespace ``fd``: ``ask(expression)`` evaluates a Python
    expression there and returns its JSON value. ``close`` ends it (by its PID)."""

    _LOOP = "\nfor line in sys.stdin:\n    print(json.dumps(eval(line)), flush=True)\n"

    def __init__(self, fd: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", JOIN + PROBE + self._LOOP, str(fd)],
            pass_fds=(fd,), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ask(self, expression: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(expression + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the process in the namespace ended ({self.process.poll()})"
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


_ECHO_SERVER = """
import ctypes, os, socket, sys, threading
if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:
    sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(64)
print("listening", flush=True)

def serve(conn, peer):
    with conn:
        conn.sendall(peer[0].encode() + b"\\n")
        while data := conn.recv(65536):
            conn.sendall(data)

while True:
    conn, peer = server.accept()
    threading.Thread(target=serve, args=(conn, peer), daemon=True).start()
"""


class RemoteHost:
    """A server "elsewhere" of the test's own (see the module docstring)."""

    def __init__(self, port: int = 7007) -> None:
        block = ipaddress.IPv4Network("198.18.0.0/15")
        base = int(block.network_address) + 4 * secrets.randbelow(block.num_addresses // 4)
        self.port = port
        self.host_address = str(ipaddress.IPv4Address(base + 1))  # this host's end of the veth
        self.address = str(ipaddress.IPv4Address(base + 2))  # the remote host
        self.link = "lmt" + secrets.token_hex(4)
        command = [sys.executable, "-c", _ECHO_SERVER, str(port)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert self.process.stdout is not None
            assert self.process.stdout.readline().strip() == "listening", "the remote host's server did not start"
            inside = ["nsenter", f"--net=/proc/{self.process.pid}/ns/net"]
            _ip("link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", str(self.process.pid))
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.link)
            _ip("link", "set", self.link, "up")
            _ip("addr", "add", f"{self.address}/30", "dev", "eth0", prefix=inside)
            _ip("link", "set", "eth0", "up", prefix=inside)
        except BaseException:
            self.close()
            raise

    def listen(self) -> socket.socket:
        """A listening TCP socket at this remote host's address (an ephemeral port), for the test's
        own threads to serve: made by a thread that joins the remote host's namespace for the
        moment (a socket stays in the namespace it was made in)."""
        made: list[socket.socket | BaseException] = []

        def make() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            there = os.open(f"/proc/{self.process.pid}/ns/net", os.O_RDONLY)
            try:
                if libc.setns(there, 0x40000000) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
                try:
                    made.append(socket.create_server((self.address, 0)))
                finally:
                    if libc.setns(home, 0x40000000) != 0:
                        os._exit(70)  # a thread left in another namespace must not go on
            except BaseException as exc:
                made.append(exc)
            finally:
                os.close(home)
                os.close(there)

        thread = threading.Thread(target=make)
        thread.start()
        thread.join()
        if isinstance(made[0], BaseException):
            raise made[0]
        return made[0]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if Path("/sys/class/net", self.link).exists():
            subprocess.run(["ip", "link", "del", self.link], capture_output=True, check=False)

    def __enter__(self) -> RemoteHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ip(*args: str, prefix: list[str] | None = None) -> None:
    done = subprocess.run([*(prefix or []), "ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class HostServer:
    """A TCP server on every address of this host (0.0.0.0), counting the connections it accepts:
    what a function must never reach."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, name="host-server", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.sendall(b"host\n")

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept (close alone does not).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=10)

    def __enter__(self) -> HostServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")
