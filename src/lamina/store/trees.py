"""File trees as the stores handle them: what a tree holds, and walking real ones safely.

Deciding: an ``Entry`` is one path of a tree (a directory, a file or a symlink with its target),
and ``link_escapes`` says whether a symlink, resolved as the kernel would among a tree's other
links, stays inside the tree. Code zips (``zipcheck``) and merged layers (``overlay``) are both
checked by it.

Acting: ``walk`` visits a real tree through directory file descriptors. Every directory is
opened relative to its parent's descriptor with ``O_NOFOLLOW``, so a symlink anywhere in a tree
is only ever the link itself, never what it points to, whatever a tenant's zip put there. Nothing
here recurses: a tree of any depth costs one open descriptor a level, never a Python frame.
``seal`` and ``remove`` are built on it.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# The kernel gives up after 40 links in one lookup; so does link_escapes.
MAX_LINK_HOPS: Final = 40
_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Kind(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "special file"  # a FIFO, socket or device: never created by the stores


@dataclass(frozen=True)
class Entry:
    """One path of a tree: its components below the tree's root, its kind, a symlink's target."""

    parts: tuple[str, ...]
    kind: Kind
    target: str = ""


def link_escapes(link: tuple[str, ...], links: Mapping[tuple[str, ...], str]) -> bool:
    """Whether following ``link`` leaves the tree (or loops), resolved as the kernel would.

    ``links`` maps every symlink of the tree to its target. Other links are followed too: a
    lexical check is fooled by ``up -> .`` beside ``dir/out -> ../up/..``. Paths that are not
    links count as directories, whether or not they exist: a dangling link stays inside.
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
        if hops > MAX_LINK_HOPS or target.startswith("/"):
            return True
        pending.extend(target.split("/")[::-1])
    return False


# Acting: real trees, through directory descriptors.


def open_dir(name: str | Path, dir_fd: int | None = None) -> int:
    """A descriptor of the directory ``name`` (relative to ``dir_fd`` if given), refusing a symlink
    as its last component (``OSError``: ELOOP or ENOTDIR)."""
    return os.open(name, _DIRECTORY_FLAGS, dir_fd=dir_fd)


class Visit(enum.Enum):
    ENTER = "enter"
    LEAVE = "leave"


@dataclass(frozen=True)
class Directory:
    """A directory as ``walk`` visits it: ``fd`` is open until the walk moves on."""

    visit: Visit
    parts: tuple[str, ...]
    fd: int
    children: tuple[tuple[str, Kind], ...]
    """Its entries' names and kinds (links not followed), sorted, as listed on entering."""


def walk(root_fd: int) -> Iterator[Directory]:
    """Every directory of the tree at ``root_fd`` (the root included), entered top-down and left
    once everything below it was left, children in name order.

    The caller keeps ``root_fd``; the others are opened here, with ``O_NOFOLLOW`` relative to their
    parent's descriptor, and closed when the walk leaves them or is closed. Subdirectories are the
    children listed as directories on entering; the caller may remove other children meanwhile.
    """
    stack: list[tuple[Directory, Iterator[str]]] = []
    try:
        directory = Directory(Visit.ENTER, (), root_fd, _children(root_fd))
        stack.append((directory, _subdirectories(directory)))
        yield directory
        while stack:
            directory, pending = stack[-1]
            name = next(pending, None)
            if name is None:
                stack.pop()
                yield Directory(Visit.LEAVE, directory.parts, directory.fd, directory.children)
                if directory.fd != root_fd:
                    os.close(directory.fd)
                continue
            fd = open_dir(name, directory.fd)
            try:
                child = Directory(Visit.ENTER, (*directory.parts, name), fd, _children(fd))
            except BaseException:
                os.close(fd)
                raise
            stack.append((child, _subdirectories(child)))
            yield child
    finally:
        for directory, _ in stack:
            if directory.fd != root_fd:
                os.close(directory.fd)


def _subdirectories(directory: Directory) -> Iterator[str]:
    return (name for name, kind in directory.children if kind is Kind.DIRECTORY)


def _children(fd: int) -> tuple[tuple[str, Kind], ...]:
    # Kinds are read while the listing is open: a DirEntry may stat through its scandir's descriptor.
    with os.scandir(fd) as listing:
        return tuple(sorted((entry.name, _kind(entry)) for entry in listing))


def _kind(entry: os.DirEntry[str]) -> Kind:
    if entry.is_symlink():
        return Kind.SYMLINK
    if entry.is_dir(follow_symlinks=False):
        return Kind.DIRECTORY
    if entry.is_file(follow_symlinks=False):
        return Kind.FILE
    return Kind.OTHER


def entries(root_fd: int) -> Iterator[Entry]:
    """Every path below the tree at ``root_fd``, each directory before what it holds."""
    for directory in walk(root_fd):
        if directory.visit is Visit.ENTER:
            for name, kind in directory.children:
                target = os.readlink(name, dir_fd=directory.fd) if kind is Kind.SYMLINK else ""
                yield Entry((*directory.parts, name), kind, target)


def seal(tree: Path) -> None:
    """Make every directory of ``tree`` read-only (0555), deepest first, ``tree`` itself last."""
    root = open_dir(tree)
    try:
        for directory in walk(root):
            if directory.visit is Visit.LEAVE:
                os.fchmod(directory.fd, 0o555)
    finally:
        os.close(root)


def remove(tree: Path) -> None:
    """Remove ``tree`` whose directories may be read-only; a symlink (or file) is removed itself,
    and links inside are never followed. Nothing there is not an error."""
    try:
        root = open_dir(tree)
    except FileNotFoundError:
        return
    except OSError:
        # ELOOP or ENOTDIR: a symlink or a file, which goes itself.
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISDIR(os.lstat(tree).st_mode):
                raise
            os.unlink(tree)
        return
    try:
        for directory in walk(root):
            if directory.visit is Visit.ENTER:
                os.fchmod(directory.fd, 0o700)  # read-only directories: their entries can go
                for name, kind in directory.children:
                    if kind is not Kind.DIRECTORY:
                        os.unlink(name, dir_fd=directory.fd)
            else:
                for name, kind in directory.children:
                    if kind is Kind.DIRECTORY:
                        os.rmdir(name, dir_fd=directory.fd)
    finally:
        os.close(root)
    os.rmdir(tree)

