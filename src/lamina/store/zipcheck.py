"""Checking code zips that may be hostile, and unpacking the ones that pass.

Decide, then act: ``check_archive`` reads an open archive's metadata (and its symlinks'
targets) and returns the ``Plan`` of what it would create, or refuses it; ``unpack`` then
creates that plan under a directory, streaming every member. ``check_upload`` does both for a
zip held in memory without writing anything. Everything here is synchronous and blocking.

Refusals. A zip over the zipped-size quota is ``RequestTooLarge`` (413); every other refusal
is ``InvalidParameterValue`` (400) whose message says what is wrong and what to do. Refused
are: data that does not unzip (bad structure, a bad CRC, an unsupported compression method,
encryption), entries that would land outside the tree (absolute paths, drive letters, ``..``
components, also after ``\\``), entries nested more than ``MAX_DEPTH`` levels deep, duplicate
entries, entries inside a file or a symlink, symlinks whose target is absolute or resolves
outside the tree (``trees.link_escapes``), more entries than ``Limits.max_zip_entries``, more
declared or real bytes than ``Limits.unzipped_code_bytes``, entries that overlap in the archive,
and likely zip bombs: an expansion above ``Limits.max_compression_ratio`` for any entry over
1 MiB, or overall.

Declared sizes are never trusted: every member is streamed and its real bytes are counted
against its header and the total limit. ``check_upload`` does this too, so a corrupt or lying
zip is refused at upload rather than at the first cold start.
"""

from __future__ import annotations

import io
import itertools
import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Final

from lamina.errors import InvalidParameterValue, RequestTooLarge
from lamina.settings import Limits
from lamina.store.trees import Entry, Kind, link_escapes

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
# Deeper than any real package nests (Java's package folders and node_modules stay well under 40
# levels), and shallow enough for every walk of a tree: the standard library's (os.walk,
# shutil.rmtree, Path.mkdir(parents=True)) take a Python frame a level, against a recursion limit
# of 1,000, and store/trees.py holds a file descriptor a level.
MAX_DEPTH: Final = 128
_MAX_LINK_TARGET_BYTES: Final = 4095
_LOCAL_HEADER_BYTES: Final = 30
_CHUNK_BYTES: Final = 64 * 1024

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
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    kind: Kind
    mode: int
    target: str = ""


@dataclass(frozen=True)
class Plan:
    """What a checked archive will create, made only by ``check_archive``."""

    entries: tuple[_Entry, ...]

    def tree(self) -> tuple[Entry, ...]:
        """Every path ``unpack`` creates, the directories it creates implicitly included, each
        directory before what it holds."""
        tree: dict[tuple[str, ...], Entry] = {}
        for entry in self.entries:
            for depth in range(1, len(entry.parts)):
                if (parent := entry.parts[:depth]) not in tree:
                    tree[parent] = Entry(parent, Kind.DIRECTORY)
            tree[entry.parts] = Entry(entry.parts, entry.kind, entry.target)
        return tuple(tree[parts] for parts in sorted(tree))


def check_upload(data: bytes, limits: Limits) -> int:
    """Check a whole zip held in memory and return its unzipped size; nothing is written.

    Raises ``RequestTooLarge`` or ``InvalidParameterValue`` if the zip is refused. Every
    member is decompressed once to count its real bytes, in bounded memory.
    """
    limit = limits.zipped_code_bytes
    if len(data) > limit:
        raise RequestTooLarge(f"Zipped size must be smaller than {limit} bytes")
    declared_count = _declared_entry_count(data)
    if declared_count is not None:
        _check_count(declared_count, limits)
    with open_zip(io.BytesIO(data)) as archive:
        return _unpack(archive, check_archive(archive, limits, len(data)).entries, limits, None)


def open_zip(file: IO[bytes]) -> zipfile.ZipFile:
    """``file`` opened as a zip; ``InvalidParameterValue`` in AWS's wording if it is none."""
    try:
        return zipfile.ZipFile(file)
    except _UNZIP_ERRORS as exc:
        raise InvalidParameterValue(COULD_NOT_UNZIP) from exc


def check_archive(archive: zipfile.ZipFile, limits: Limits, archive_size: int) -> Plan:
    """The plan of every entry worth extracting, once ``archive`` passes every check that its
    metadata and symlink targets allow; ``InvalidParameterValue`` otherwise. Members' other
    bytes are left to ``unpack``, which counts them as it goes.
    """
    infos = archive.infolist()
    _check_count(len(infos), limits)
    entries = [entry for entry in map(_classify, infos) if entry.parts]
    _check_sizes(infos, limits, archive_size)
    _check_overlap(infos)
    _check_layout(entries)
    entries = [_with_target(archive, entry, limits) if entry.kind is Kind.SYMLINK else entry for entry in entries]
    _check_links(entries)
    return Plan(tuple(entries))


def unpack(archive: zipfile.ZipFile, plan: Plan, limits: Limits, dest: Path) -> int:
    """Create the tree of ``plan`` under the directory ``dest``, and return its unzipped size.

    Real bytes are counted as members stream, so this can still refuse the archive
    (``InvalidParameterValue``) midway; ``dest`` then holds part of a tree, for the caller
    to remove. Files are not fsynced, and directories are left writable.
    """
    return _unpack(archive, plan.entries, limits, dest)


# Deciding: what is in an archive, and whether it is acceptable.


def _refused(problem: str, remedy: str = _REPACK) -> InvalidParameterValue:
    return InvalidParameterValue(f"Could not unzip uploaded file: {problem}. {remedy}")


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
        return _Entry(info, parts, Kind.DIRECTORY, 0o555)
    if not parts:
        raise _refused(f"entry {name!r} has no file name")
    kind = Kind.SYMLINK if stat.S_ISLNK(unix_mode) else Kind.FILE
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
    if len(parts) > MAX_DEPTH:
        shown = name if len(name) <= 80 else f"{name[:80]}..."
        raise _refused(
            f"entry {shown!r} is nested {len(parts)} levels deep, more than the limit of {MAX_DEPTH}",
            "Keep the package's directories less deeply nested, then upload it again.",
        )
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
            if parent is not None and parent.kind is not Kind.DIRECTORY:
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
    links = {entry.parts: entry.target for entry in entries if entry.kind is Kind.SYMLINK}
    for parts, target in links.items():
        if link_escapes(parts, links):
            raise _refused(
                f"symlink {'/'.join(parts)!r} -> {target!r} does not resolve inside the function's directory",
                "Replace it with a relative link to a file in the zip, or with the file itself.",
            )


# Acting: streaming members, writing files.


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
    used = sum(len(os.fsencode(entry.target)) for entry in entries if entry.kind is Kind.SYMLINK)
    if used > limits.unzipped_code_bytes:
        raise InvalidParameterValue(f"Unzipped size must be smaller than {limits.unzipped_code_bytes} bytes")
    for entry in entries:
        if entry.kind is Kind.FILE:
            if dest is None:
                used += _stream(archive, entry.info, _discard, used, limits)
            else:
                used += _write_file(archive, entry, dest, used, limits)
        elif entry.kind is Kind.DIRECTORY and dest is not None:
            dest.joinpath(*entry.parts).mkdir(parents=True, exist_ok=True)
    if dest is not None:
        for entry in entries:
            if entry.kind is Kind.SYMLINK:
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

