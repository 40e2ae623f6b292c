"""Content-addressed storage of function code zips, guarded against hostile archives.

Layout under ``root``::

    zips/<sha256 hex>.zip       the uploaded bytes, written once (temp file, then os.replace)
    unzipped/<sha256 hex>/      the extracted tree, read-only, published by one rename
    zips/.*  unzipped/.*        work in progress or trash; swept when a store is opened

The zip is the source of truth; an unzipped tree is a cache that ``extract`` rebuilds.

Refusals. ``put`` checks a zip completely before it writes anything, and ``extract`` checks
it again before it creates anything. A zip over the zipped-size quota is ``RequestTooLarge``
(413); every other refusal is ``InvalidParameterValue`` (400) whose message says what is
wrong and what to do. Refused are: data that does not unzip (bad structure, a bad CRC, an
unsupported compression method, encryption), entries that would land outside the tree
(absolute paths, drive letters, ``..`` components, also after ``\\``), duplicate entries,
entries inside a file or a symlink, symlinks whose target is absolute or resolves outside
the tree, more entries than ``Limits.max_zip_entries``, more declared or real bytes than
``Limits.unzipped_code_bytes``, entries that overlap in the archive, and likely zip bombs:
an expansion above ``Limits.max_compression_ratio`` for any entry over 1 MiB, or overall.

Declared sizes are never trusted: every member is streamed and its real bytes are counted
against its header and the total limit. ``put`` does this too, so a corrupt or lying zip is
refused at upload rather than at the first cold start.

Concurrency. The API is synchronous and blocking; async callers run it in a worker thread.
Concurrent ``put`` and ``extract`` of the same digest are safe: the loser of a race finds
the winner's result. Deleting a digest while it is being extracted is the caller's problem.
One store should own a root at a time: opening one removes work in progress older than an
hour, which only a crash leaves behind.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import hashlib
import io
import itertools
import lzma
import os
import re
import secrets
import shutil
import stat
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Final

from lamina.errors import InvalidParameterValue, RequestTooLarge
from lamina.settings import Limits

# AWS's own wording, kept verbatim where a client may recognise it.
COULD_NOT_UNZIP: Final = "Could not unzip uploaded file. Please check your file, then try to upload again."
_RETRY: Final = "Please check your file, then try to upload again."
_REPACK: Final = "Zip the code again from inside its directory (e.g. `zip -r ../function.zip .`), then upload it again."

_SUPPORTED_METHODS: Final = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_ENCRYPTED_FLAG: Final = 0x1
# Below this an entry cannot be a bomb worth the name, however well it compresses.
_BOMB_FLOOR_BYTES: Final = 1024 * 1024
_MAX_NAME_COMPONENT_BYTES: Final = 255
# Linux allows 4096 bytes a path; the rest is left for the store's own root.
_MAX_ENTRY_PATH_BYTES: Final = 3000
_MAX_LINK_TARGET_BYTES: Final = 4095
# The kernel gives up after 40 links in one lookup; so does the check below.
_MAX_LINK_HOPS: Final = 40
_LOCAL_HEADER_BYTES: Final = 30
_CHUNK_BYTES: Final = 64 * 1024
_STALE_AFTER_SECONDS: Final = 3600.0

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
_ZIP_NAME: Final = re.compile(r"([0-9a-f]{64})\.zip")
_DRIVE: Final = re.compile(r"[A-Za-z]:")
_SEPARATORS: Final = re.compile(r"[/\\]")
# signature, disk, CD disk, entries on disk, entries, CD size, CD offset, comment length
_END_OF_CENTRAL_DIR: Final = struct.Struct("<4s4H2LH")
_END_OF_CENTRAL_DIR_SIGNATURE: Final = b"PK\x05\x06"

# What reading a malformed archive can raise, from zipfile and the decompressors below it.
_UNZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


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


class _Kind(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    kind: _Kind
    mode: int
    target: str = ""


class CodeStore:
    """Code zips on local disk, named by their SHA-256; see the module docstring."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self._limits = limits
        self._zips = root / "zips"
        self._unzipped = root / "unzipped"
        self._zips.mkdir(parents=True, exist_ok=True)
        self._unzipped.mkdir(parents=True, exist_ok=True)
        _sweep(self._zips, self._unzipped, older_than=time.time() - _STALE_AFTER_SECONDS)

    def put(self, data: bytes) -> CodeArtifact:
        """Check ``data`` as a code zip and store it; storing the same bytes again is a no-op.

        Raises ``RequestTooLarge`` or ``InvalidParameterValue`` and writes nothing if the zip
        is refused. Every member is decompressed once to check it, in bounded memory.
        """
        limit = self._limits.zipped_code_bytes
        if len(data) > limit:
            raise RequestTooLarge(f"Zipped size must be smaller than {limit} bytes")
        declared_count = _declared_entry_count(data)
        if declared_count is not None:
            _check_count(declared_count, self._limits)
        with _open_zip(io.BytesIO(data)) as archive:
            entries = _plan(archive, self._limits, len(data))
            unzipped_size = _unpack(archive, entries, self._limits, None)
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
            with _open_zip(file) as archive:
                entries = _plan(archive, self._limits, size)
                work = Path(tempfile.mkdtemp(prefix=f".{digest}.", suffix=".tmp", dir=self._unzipped))
                try:
                    _unpack(archive, entries, self._limits, work)
                    _seal(work)
                except BaseException:
                    _remove_tree(work)
                    raise
        try:
            os.rename(work, final)
        except OSError:
            _remove_tree(work)
            if final.is_dir():
                return final  # extracted meanwhile by another thread or process
            raise
        return final

    def delete(self, digest: str) -> None:
        """Remove the zip and its unzipped tree; safe to call twice, or for unknown digests.

        The tree is renamed aside before it is removed, so a crash never leaves a partial
        tree where ``extract`` would take it for a finished one; the zip goes last.
        """
        final = self._unzipped / _checked(digest)
        trash = self._unzipped / f".{digest}.{secrets.token_hex(8)}.trash"
        with contextlib.suppress(FileNotFoundError):
            os.rename(final, trash)
            _remove_tree(trash)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.zip_path(digest))

    def digests(self) -> set[str]:
        """The digests of every stored zip."""
        return {match[1] for path in self._zips.iterdir() if (match := _ZIP_NAME.fullmatch(path.name))}


# Deciding: what is in an archive, and whether it is acceptable.


def _refused(problem: str, remedy: str = _REPACK) -> InvalidParameterValue:
    return InvalidParameterValue(f"Could not unzip uploaded file: {problem}. {remedy}")


def _checked(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise ValueError(f"not a hex SHA-256 digest: {digest!r}")
    return digest


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count of the end-of-central-directory record, read before zipfile builds an
    object for each entry; ``None`` when the record is not plainly at the end (zipfile decides).
    """
    start = data.rfind(_END_OF_CENTRAL_DIR_SIGNATURE, max(0, len(data) - _END_OF_CENTRAL_DIR.size - 0xFFFF))
    if start < 0 or len(data) - start < _END_OF_CENTRAL_DIR.size:
        return None
    fields = _END_OF_CENTRAL_DIR.unpack_from(data, start)
    count, comment_length = int(fields[4]), int(fields[7])
    if start + _END_OF_CENTRAL_DIR.size + comment_length != len(data) or count == 0xFFFF:
        return None
    return count


def _check_count(count: int, limits: Limits) -> None:
    if count > limits.max_zip_entries:
        raise _refused(
            f"the zip holds {count} entries, more than the limit of {limits.max_zip_entries}",
            "Package fewer files (leave out tests, docs and caches of dependencies), then upload again.",
        )


def _plan(archive: zipfile.ZipFile, limits: Limits, archive_size: int) -> list[_Entry]:
    """Every entry worth extracting, once the archive's metadata passes every check."""
    infos = archive.infolist()
    _check_count(len(infos), limits)
    entries = [entry for entry in map(_classify, infos) if entry.parts]
    _check_sizes(infos, limits, archive_size)
    _check_overlap(infos)
    _check_layout(entries)
    entries = [_with_target(archive, entry, limits) if entry.kind is _Kind.SYMLINK else entry for entry in entries]
    _check_links(entries)
    return entries


def _classify(info: zipfile.ZipInfo) -> _Entry:
    name = info.filename
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise _refused(f"entry {name!r} is encrypted", "Zip the code again without a password, then upload it again.")
    if info.compress_type not in _SUPPORTED_METHODS:
        raise _refused(
            f"entry {name!r} uses compression method {info.compress_type}, which is not supported",
            "Zip the code again with deflate (the default of zip tools), then upload it again.",
        )
    parts = _entry_parts(name)
    unix_mode = info.external_attr >> 16
    if name.endswith("/") or stat.S_ISDIR(unix_mode):
        return _Entry(info, parts, _Kind.DIRECTORY, 0o555)
    if not parts:
        raise _refused(f"entry {name!r} has no file name")
    kind = _Kind.SYMLINK if stat.S_ISLNK(unix_mode) else _Kind.FILE
    return _Entry(info, parts, kind, 0o555 if unix_mode & 0o111 else 0o444)


def _entry_parts(name: str) -> tuple[str, ...]:
    """The path components of an entry name, refusing names that could land outside the tree."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise _refused(f"entry {name!r} has an absolute path; paths must be relative to the zip's root")
    if ".." in _SEPARATORS.split(name):
        raise _refused(f"entry {name!r} has a '..' component, which would place it outside the function's directory")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    encoded = [os.fsencode(part) for part in parts]
    if any(len(part) > _MAX_NAME_COMPONENT_BYTES for part in encoded) or sum(map(len, encoded)) > _MAX_ENTRY_PATH_BYTES:
        raise _refused(f"entry {name!r} has a path too long to extract")
    return parts


def _check_sizes(infos: Sequence[zipfile.ZipInfo], limits: Limits, archive_size: int) -> None:
    declared = sum(info.file_size for info in infos)
    if declared > limits.unzipped_code_bytes:
        raise InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped_code_bytes} bytes")
    ratio = limits.max_compression_ratio
    bomb_remedy = "Zips that expand this much are refused as likely zip bombs; store such data less compressed."
    for info in infos:
        if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > ratio * info.compress_size:
            raise _refused(
                f"entry {info.filename!r} expands {info.file_size // max(info.compress_size, 1)} times "
                f"({info.compress_size} to {info.file_size} bytes), more than the limit of {ratio}",
                bomb_remedy,
            )
    if declared > _BOMB_FLOOR_BYTES and declared > ratio * archive_size:
        raise _refused(
            f"the zip expands {declared // max(archive_size, 1)} times ({archive_size} to {declared} bytes), "
            f"more than the limit of {ratio}",
            bomb_remedy,
        )


def _check_overlap(infos: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse entries sharing bytes, a trick to multiply one compressed stream (a zip bomb)."""
    spans = sorted((info.header_offset, info.compress_size, info.filename) for info in infos)
    for (offset, size, name), (next_offset, _, next_name) in itertools.pairwise(spans):
        if offset + _LOCAL_HEADER_BYTES + size > next_offset:
            raise _refused(f"entries {name!r} and {next_name!r} overlap in the archive", _RETRY)


def _check_layout(entries: Sequence[_Entry]) -> None:
    """Refuse two entries for one path, and entries inside a file or a symlink."""
    by_path: dict[tuple[str, ...], _Entry] = {}
    for entry in entries:
        if entry.parts in by_path:
            raise _refused(
                f"entries {by_path[entry.parts].info.filename!r} and {entry.info.filename!r} are the same path"
            )
        by_path[entry.parts] = entry
    for entry in entries:
        for depth in range(1, len(entry.parts)):
            parent = by_path.get(entry.parts[:depth])
            if parent is not None and parent.kind is not _Kind.DIRECTORY:
                raise _refused(
                    f"entry {entry.info.filename!r} is inside {parent.info.filename!r}, which is a {parent.kind.value}"
                )


def _with_target(archive: zipfile.ZipFile, entry: _Entry, limits: Limits) -> _Entry:
    name = entry.info.filename
    if entry.info.file_size > _MAX_LINK_TARGET_BYTES:
        raise _refused(f"symlink {name!r} has a target longer than {_MAX_LINK_TARGET_BYTES} bytes")
    buffer = io.BytesIO()
    _stream(archive, entry.info, buffer.write, 0, limits)
    try:
        target = buffer.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        raise _refused(f"symlink {name!r} has a target that is not UTF-8") from None
    if not target or "\0" in target:
        raise _refused(f"symlink {name!r} has an empty or malformed target")
    if target.startswith("/"):
        raise _refused(f"symlink {name!r} points to the absolute path {target!r}; use a relative target")
    return replace(entry, target=target)


def _check_links(entries: Iterable[_Entry]) -> None:
    links = {entry.parts: entry.target for entry in entries if entry.kind is _Kind.SYMLINK}
    for parts, target in links.items():
        if _link_escapes(parts, links):
            raise _refused(
                f"symlink {'/'.join(parts)!r} -> {target!r} does not resolve inside the function's directory",
                "Replace it with a relative link to a file in the zip, or with the file itself.",
            )


def _link_escapes(link: tuple[str, ...], links: Mapping[tuple[str, ...], str]) -> bool:
    """Whether following ``link`` leaves the tree (or loops), resolved as the kernel would.

    Other links in the archive are followed too: a lexical check is fooled by ``up -> .``
    beside ``dir/out -> ../up/..``.
    """
    resolved = list(link[:-1])
    pending = links[link].split("/")[::-1]
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return True
            resolved.pop()
            continue
        target = links.get((*resolved, part))
        if target is None:
            resolved.append(part)
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS or target.startswith("/"):
            return True
        pending.extend(target.split("/")[::-1])
    return False


# Acting: streaming members, writing files.


def _open_zip(file: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except _UNZIP_ERRORS as exc:
        raise InvalidParameterValue(COULD_NOT_UNZIP) from exc


def _stream(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: Callable[[bytes], object], used: int, limits: Limits
) -> int:
    """Copy a member's bytes to ``sink`` and return how many there were, never trusting its
    header: more or fewer bytes than declared, or more than the total limit allows, refuse it.
    """
    declared = info.file_size
    count = 0
    try:
        member = archive.open(info)
    except _UNZIP_ERRORS as exc:
        raise _refused(f"entry {info.filename!r} cannot be read ({exc})", _RETRY) from exc
    with member:
        while chunk := _read_chunk(member, info):
            count += len(chunk)
            if count > declared:
                raise _refused(
                    f"entry {info.filename!r} holds more than the {declared} bytes its header declares", _RETRY
                )
            if used + count > limits.unzipped_code_bytes:
                raise InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped_code_bytes} bytes")
            sink(chunk)
    if count != declared:
        raise _refused(f"entry {info.filename!r} holds {count} bytes but its header declares {declared}", _RETRY)
    return count


def _read_chunk(member: IO[bytes], info: zipfile.ZipInfo) -> bytes:
    try:
        return member.read(_CHUNK_BYTES)
    except _UNZIP_ERRORS as exc:
        raise _refused(f"entry {info.filename!r} is corrupt ({exc})", _RETRY) from exc


def _discard(chunk: bytes) -> None:
    pass


def _unpack(archive: zipfile.ZipFile, entries: Sequence[_Entry], limits: Limits, dest: Path | None) -> int:
    """Stream every member, counting its real bytes, and recreate the tree under ``dest``
    unless it is ``None``. Links come last, so nothing is ever written through one.
    """
    used = sum(len(os.fsencode(entry.target)) for entry in entries if entry.kind is _Kind.SYMLINK)
    if used > limits.unzipped_code_bytes:
        raise InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped_code_bytes} bytes")
    for entry in entries:
        if entry.kind is _Kind.FILE:
            if dest is None:
                used += _stream(archive, entry.info, _discard, used, limits)
            else:
                used += _write_file(archive, entry, dest, used, limits)
        elif entry.kind is _Kind.DIRECTORY and dest is not None:
            dest.joinpath(*entry.parts).mkdir(parents=True, exist_ok=True)
    if dest is not None:
        for entry in entries:
            if entry.kind is _Kind.SYMLINK:
                _write_link(entry, dest)
    return used


def _write_file(archive: zipfile.ZipFile, entry: _Entry, dest: Path, used: int, limits: Limits) -> int:
    path = dest.joinpath(*entry.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(path, flags, 0o600), "wb") as out:
        count = _stream(archive, entry.info, out.write, used, limits)
        os.fchmod(out.fileno(), entry.mode)
    return count


def _write_link(entry: _Entry, dest: Path) -> None:
    path = dest.joinpath(*entry.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(entry.target, path)
    # The plan already proved this; checking the real file system costs little.
    root = os.path.realpath(dest)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        raise _refused(f"symlink {entry.info.filename!r} -> {entry.target!r} resolves outside the function's directory")


def _seal(tree: Path) -> None:
    """Make every directory of ``tree`` read-only, deepest first, ``tree`` itself last."""
    for dirpath, _, _ in os.walk(tree, topdown=False):
        os.chmod(dirpath, 0o555)


def _remove_tree(tree: Path) -> None:
    """Remove a tree whose directories may be read-only; symlinks in it are not followed."""
    if not tree.is_dir() or tree.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tree)
        return
    for dirpath, _, _ in os.walk(tree):
        os.chmod(dirpath, 0o755)
    shutil.rmtree(tree)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with open(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), 0o444)
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
                    _remove_tree(path)
