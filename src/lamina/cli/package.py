"""A deployment package: a folder zipped byte-for-byte reproducibly, or a .zip or .jar as built.

The same folder always gives the same bytes: entries are sorted by path, every timestamp is
1980-01-01 00:00:00 (the earliest a zip can hold), and permissions are reduced to 0755 for files
with any execute bit and 0644 for the rest, so neither mtimes nor the umask leak in. The execute
bit matters: a custom runtime's ``bootstrap`` must stay executable after Lambda unpacks it.
"""

from __future__ import annotations

import fnmatch
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lamina.cli.errors import UsageError

SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".git"})
SKIPPED_FILES = ("*.pyc",)

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_UNIX = 3  # the "made by" system for which unzip honours the Unix mode in external_attr


@dataclass(frozen=True)
class Package:
    data: bytes
    file_count: int
    unzipped_bytes: int


ARCHIVE_SUFFIXES = (".zip", ".jar")


def load_package(path: Path) -> Package:
    """The package for ``path``: a folder zipped, or a .zip or .jar file sent as it is (checked to be
    a readable zip here, so a wrong file is refused before anything is uploaded)."""
    if path.is_dir():
        return package_directory(path)
    if path.suffix.lower() not in ARCHIVE_SUFFIXES:
        what = "does not exist" if not path.exists() else "is neither a folder nor a .zip or .jar"
        raise UsageError(f"{path} {what}. Pass the folder that holds your function's code, or a .zip or .jar.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}.") from None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UsageError(f"{path} is not a zip archive ({exc}).") from None
    if not entries:
        raise UsageError(f"{path} has no files to deploy.")
    return Package(data=data, file_count=len(entries), unzipped_bytes=sum(info.file_size for info in entries))


def package_directory(root: Path) -> Package:
    """Zip every file under ``root`` (paths relative to it), leaving out caches and VCS data."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder. Pass the folder that holds your function's code.")
    files = list_files(root)
    if not files:
        raise UsageError(f"{root} has no files to deploy.")
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            path = root / relative
            try:
                content = path.read_bytes()
                mode = path.stat().st_mode
            except OSError as exc:
                raise UsageError(f"cannot read {path}: {exc.strerror or exc}.") from None
            archive.writestr(_entry(relative, mode), content)
            unzipped += len(content)
    return Package(data=buffer.getvalue(), file_count=len(files), unzipped_bytes=unzipped)


def list_files(root: Path) -> list[str]:
    """The POSIX paths, relative to ``root`` and sorted, of the files that go into the package."""
    found: list[str] = []
    for directory, subdirectories, filenames in os.walk(root):
        subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRECTORIES]
        base = Path(directory).relative_to(root)
        for name in filenames:
            if not any(fnmatch.fnmatch(name, pattern) for pattern in SKIPPED_FILES):
                found.append((base / name).as_posix())
    return sorted(found)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _UNIX
    permissions = 0o755 if mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH) else 0o644
    info.external_attr = (stat.S_IFREG | permissions) << 16
    return info
