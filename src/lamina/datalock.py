"""One server a data directory: a lock on ``<data dir>/server.lock``, held while the server runs.

Two servers on one directory would each believe they own its SQLite store, code and sockets, and
corrupt them. The lock is ``flock``'s: the kernel drops it when the process ends however it ends,
so a crashed server never leaves the directory locked. The file also says who holds it (pid and
address, written once the server listens), so the refusal can name the other server.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "server.lock"
MAX_HOLDER_BYTES = 4096  # what is read of the holder's note; a planted huge file is not read whole


class DataDirError(Exception):
    """The data directory cannot be claimed; the message says why and what to do."""


class DataDirInUse(DataDirError):
    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(
            f"the data directory {data_dir} is in use by another Lamina server ({holder}). Stop that server, "
            "or give this one a directory of its own: --data-dir DIR (or LAMINA_DATA_DIR)."
        )


@dataclass
class DataLock:
    path: Path
    fd: int

    def record(self, address: str) -> None:
        """Say who holds the lock: this process and where it listens."""
        note = json.dumps({"pid": os.getpid(), "address": address}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, note, 0)

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def claim(data_dir: Path) -> DataLock:
    """Lock ``data_dir`` for this process, or raise DataDirInUse naming the server that has it."""
    path = data_dir / LOCK_NAME
    # O_NOFOLLOW: a symlink planted here cannot make the server open (and truncate) another file.
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise DataDirError(f"cannot open the data directory's lock {path}: {exc.strerror or exc}. "
                           "It must be a regular file of Lamina's (remove it if it is not).") from None  # fmt: skip
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EACCES):
            os.close(fd)
            raise
        holder = describe_holder(os.pread(fd, MAX_HOLDER_BYTES, 0))
        os.close(fd)
        raise DataDirInUse(data_dir, holder) from None
    lock = DataLock(path, fd)
    lock.record("starting")
    return lock


def describe_holder(note: bytes) -> str:
    """``pid 123, http://127.0.0.1:9000`` from the lock file's note; whatever it holds, a short text."""
    try:
        value = json.loads(note.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        return "pid unknown"
    pid, address = value.get("pid"), value.get("address")
    pid_text = f"pid {pid}" if isinstance(pid, int) and not isinstance(pid, bool) else "pid unknown"
    address_text = address[:200] if isinstance(address, str) and address.isprintable() else "address unknown"
    return f"{pid_text}, {address_text}"
