"""Network namespaces for execution environments, prepared ahead of demand (loopback only)."""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import struct
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from lamina.settings import Settings

_CLONE_NEWNET = 0x40000000
RUNTIME_API_PORT = 9001
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass
class Namespace:
    fd: int
    runtime_api: socket.socket
    api: socket.socket | None
    outbound: bool = False
    address: str | None = None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.runtime_api.close()
        if self.api is not None:
            self.api.close()


def bring_up_loopback() -> None:
    """Set ``lo`` up in the calling thread's network namespace (a new one starts with it down)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock.fileno(), siocgifflags, request))[1]
        fcntl.ioctl(sock.fileno(), siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def _listener(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


class NetworkPool:
    def __init__(self, settings: Settings, *, api_port: int | None, size: int = 16) -> None:
        self._api_port = api_port
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="lamina-netns")
        self._host = os.open("/proc/self/ns/net", os.O_RDONLY)
        self._lock = threading.Lock()

    async def start(self) -> None:
        pass

    async def take(self, *, outbound: bool) -> Namespace:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._prepare)

    def _prepare(self) -> Namespace:
        if _libc.unshare(_CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        try:
            bring_up_loopback()
            fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            runtime_api = _listener(RUNTIME_API_PORT)
            api = _listener(self._api_port) if self._api_port else None
            return Namespace(fd, runtime_api, api)
        finally:
            if _libc.setns(self._host, _CLONE_NEWNET) != 0:
                os._exit(70)

    async def close(self) -> None:
        self._executor.shutdown()
        os.close(self._host)
