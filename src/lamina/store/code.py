"""Content-addressed storage of function code zips, guarded against hostile archives.

Layout under ``root``::

    zips/<sha256 hex>.zip       the uploaded bytes, written once (temp file, then os.replace)
    unzipped/<sha256 hex>/      the extracted tree, read-only, published by one rename
    zips/.*  unzipped/.*        work in progress or trash; swept when a store is opened

The zip is the source of truth; an unzipped tree is a cache that ``extract`` rebuilds.
``put`` checks a zip completely before it writes anything, and ``extract`` checks it again
before it creates anything; what is refused, and how, is in ``lamina.store.zipcheck``.

Concurrency. The API is synchronous and blocking; async callers run it in a worker thread.
Concurrent ``put`` and ``extract`` of the same digest are safe: the loser of a race finds
the winner's result. Deleting a digest while it is being extracted is the caller's problem.
One store should own a root at a time: opening one removes work in progress older than an
hour, which only a crash leaves behind.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from lamina.settings import Limits
from lamina.store import trees, zipcheck

_STALE_AFTER_SECONDS: Final = 3600.0

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
_ZIP_NAME: Final = re.compile(r"([0-9a-f]{64})\.zip")


@dataclass(frozen=True)
class CodeArtifact:
    """A stored zip, as AWS describes code: ``CodeSha256`` and ``CodeSize``."""

    sha256_b64: str
    """Base64 of the raw SHA-256 digest of the zip's bytes: AWS's ``CodeSha256``."""
    digest: str
    """Hex SHA-256 of the zip's bytes: the name it is stored under."""
    size: int
    """Zipped size in bytes: AWS's ``CodeSize``."""
    unzipped_size: int
    """Bytes of file and symlink content once extracted, as counted, not as declared."""


class CodeStore:
    """Code zips on local disk, named by their SHA-256; see the module docstring."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self._limits = limits
        self._zips = root / "zips"
        self._unzipped = root / "unzipped"
        self._zips.mkdir(parents=True, exist_ok=True)
        self._unzipped.mkdir(parents=True, exist_ok=True)
        # Other users reach no package. Unzipped trees stay readable by all (0444 files, 0555
        # directories) because sandboxed environments, each with a uid of its own, read theirs
        # through a bind mount, which does not pass through this directory.
        os.chmod(root, 0o700)
        _sweep(self._zips, self._unzipped, older_than=time.time() - _STALE_AFTER_SECONDS)

    def put(self, data: bytes) -> CodeArtifact:
        """Check ``data`` as a code zip and store it; storing the same bytes again is a no-op.

        Raises ``RequestTooLarge`` or ``InvalidParameterValue`` and writes nothing if the zip
        is refused. Every member is decompressed once to check it, in bounded memory.
        """
        unzipped_size = zipcheck.check_upload(data, self._limits)
        raw = hashlib.sha256(data).digest()
        artifact = CodeArtifact(
            sha256_b64=base64.b64encode(raw).decode("ascii"),
            digest=raw.hex(),
            size=len(data),
            unzipped_size=unzipped_size,
        )
        path = self.zip_path(artifact.digest)
        if not path.exists():
            _write_atomically(path, data)
        return artifact

    def zip_path(self, digest: str) -> Path:
        """Where the zip named ``digest`` is, or would be; ``ValueError`` if it is no digest."""
        return self._zips / f"{_checked(digest)}.zip"

    def read(self, digest: str) -> bytes:
        """The stored zip's bytes; ``FileNotFoundError`` if nothing is stored under ``digest``."""
        return self.zip_path(digest).read_bytes()

    def extract(self, digest: str) -> Path:
        """The read-only unzipped tree of ``digest``, extracting it first if needed.

        The tree appears at its path by one rename of a finished temporary tree, so the path
        never holds half a tree after a crash. It is a cache: files are not fsynced, since a
        tree damaged by a power loss can be deleted and extracted again from the zip.
        Raises ``FileNotFoundError`` if no zip is stored, ``InvalidParameterValue`` if the zip
        turns out to be unacceptable (a damaged file, or limits lowered since it was stored).
        """
        final = self._unzipped / _checked(digest)
        if final.is_dir():
            return final
        with open(self.zip_path(digest), "rb") as file:
            size = os.fstat(file.fileno()).st_size
            with zipcheck.open_zip(file) as archive:
                plan = zipcheck.check_archive(archive, self._limits, size)
                work = Path(tempfile.mkdtemp(prefix=f".{digest}.", suffix=".tmp", dir=self._unzipped))
                try:
                    zipcheck.unpack(archive, plan, self._limits, work)
                    trees.seal(work)
                except BaseException:
                    trees.remove(work)
                    raise
        try:
            os.rename(work, final)
        except OSError:
            trees.remove(work)
            if final.is_dir():
                return final  # extracted meanwhile by another thread or process
            raise
        return final

    def tree(self, digest: str) -> tuple[trees.Entry, ...]:
        """What ``extract`` creates for ``digest``, read from the zip's metadata and its symlinks'
        targets without creating anything; raises as ``extract`` does."""
        with open(self.zip_path(digest), "rb") as file:
            size = os.fstat(file.fileno()).st_size
            with zipcheck.open_zip(file) as archive:
                return zipcheck.check_archive(archive, self._limits, size).tree()

    def delete(self, digest: str) -> None:
        """Remove the zip and its unzipped tree; safe to call twice, or for unknown digests.

        The tree is renamed aside before it is removed, so a crash never leaves a partial
        tree where ``extract`` would take it for a finished one; the zip goes last.
        """
        final = self._unzipped / _checked(digest)
        trash = self._unzipped / f".{digest}.{secrets.token_hex(8)}.trash"
        with contextlib.suppress(FileNotFoundError):
            os.rename(final, trash)
            trees.remove(trash)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.zip_path(digest))

    def digests(self) -> set[str]:
        """The digests of every stored zip."""
        return {match[1] for path in self._zips.iterdir() if (match := _ZIP_NAME.fullmatch(path.name))}


def _checked(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a hex SHA-256 digest: {digest!r}")
    return digest


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), 0o400)  # only Lamina reads zips (code downloads, extraction)
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _sweep(*directories: Path, older_than: float) -> None:
    """Remove work in progress and trash (dot names) last modified before ``older_than``."""
    for directory in directories:
        for path in directory.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.name.startswith(".") and path.lstat().st_mtime < older_than:
                    trees.remove(path)
