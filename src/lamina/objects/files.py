"""Object bodies on disk: ``<data dir>/objects/bodies/<name>``, each written whole or not at all.

A body streams into ``objects/incoming/<name>``; ``keep`` fsyncs it and renames it into
``bodies/`` (then fsyncs the folder), and only then is its record committed. A crash before the
commit leaves a file no record names: ``sweep`` (at start) removes those and whatever
``incoming/`` holds, so no partial object is ever seen. Names are random: no bucket name or key
becomes a path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Callable, Iterable


class Incoming:
    """A body being written; ``discard`` removes it (safe twice, and after ``Bodies.keep``)."""

    def __init__(self, path: Path) -> None:
        self.name = path.name
        self.path = path
        self.file: BinaryIO = open(path, "xb")
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def discard(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class Bodies:
    def __init__(self, root: Path) -> None:
        self.bodies = root / "bodies"
        self.incoming = root / "incoming"

    def sweep(self, keep: set[str] | None) -> int:
        """Blocking: make the folders, empty ``incoming/``, remove bodies not in ``keep`` (None: only
        make the folders); returns how many files were removed."""
        self.bodies.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.incoming.mkdir(parents=True, exist_ok=True, mode=0o700)
        if keep is None:
            return 0
        removed = 0
        for folder, wanted in ((self.incoming, set[str]()), (self.bodies, keep)):
            for entry in os.scandir(folder):
                if entry.name not in wanted:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                    removed += 1
        return removed

    def start(self) -> Incoming:
        return Incoming(self.incoming / uuid.uuid4().hex)

    def path(self, name: str) -> Path:
        return self.bodies / name

    async def keep(self, body: Incoming) -> str:
        """Make ``body`` durable under its name in ``bodies/``; returns the name."""
        await asyncio.to_thread(self._keep, body)
        return body.name

    def _keep(self, body: Incoming) -> None:
        body.file.flush()
        os.fsync(body.file.fileno())
        body.file.close()
        os.rename(body.path, self.bodies / body.name)
        fd = os.open(self.bodies, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def remove(self, names: Iterable[str]) -> None:
        """Remove bodies no record names any more (a crash before this leaves them to ``sweep``)."""
        paths = [self.bodies / n for n in names]
        if paths:
            await asyncio.to_thread(_unlink_all, paths)

    async def concatenate(self, names: list[str], seen: Callable[[bytes], None] | None = None) -> Incoming:
        """A new body made of the bodies ``names`` in order (a completed multipart upload); ``seen``
        is shown each piece as it is copied (a checksum of the whole)."""
        body = self.start()
        try:
            await asyncio.to_thread(self._concatenate, body, names, seen)
        except BaseException:
            body.discard()
            raise
        return body

    def _concatenate(self, body: Incoming, names: list[str], seen: Callable[[bytes], None] | None) -> None:
        for name in names:
            with open(self.bodies / name, "rb") as part:
                while chunk := part.read(1024 * 1024):
                    body.write(chunk)
                    if seen is not None:
                        seen(chunk)


def _unlink_all(paths: list[Path]) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
