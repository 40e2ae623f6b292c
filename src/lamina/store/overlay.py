"""The /opt of a function with layers: its layers' trees merged in order, later ones winning.

Decide, then act. ``merge`` lays the layers' trees (lists of ``trees.Entry``) over each other
and returns the merged tree, without I/O: a later layer's entry replaces what an earlier one had
at its path, except that a directory over a directory merges the two. A later layer's directory
where an earlier one had a symlink replaces the link, so nothing is ever placed through a link.
``check`` then refuses a merged tree any of whose symlinks resolves outside it, by the rule each
zip passed on its own (``trees.link_escapes``): layers that pass alone may not pass together
(``up -> sub/sub/../..`` in one, ``sub -> .`` in the next).

``LayerOverlays.check`` decides this from the layers' zips, for CreateFunction and
UpdateFunctionConfiguration to refuse before anything is stored. ``LayerOverlays.merged`` builds
the tree once per sequence of layer digests under ``<root>/<hash>/``, from the layers' unzipped
trees as they are on disk, checked again: every directory is opened relative to its parent's
descriptor with ``O_NOFOLLOW``, every entry created relative to one, in a new directory that holds
only what the merged tree lists, so no operation ever follows a link. Files are hard links into
the layers' own unzipped trees (no copy); the tree is made read-only and published by one rename,
like an unzipped tree. It is a cache: ``clear`` removes them all.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lamina.errors import InvalidParameterValue
from lamina.store import trees
from lamina.store.code import CodeStore
from lamina.store.trees import Entry, Kind


@dataclass(frozen=True)
class Placed:
    """One path of a merged tree and the layer it comes from (its index in the merge's order)."""

    parts: tuple[str, ...]
    kind: Kind
    layer: int
    target: str = ""


class _Directory:
    __slots__ = ("layer", "children")

    def __init__(self, layer: int) -> None:
        self.layer = layer
        self.children: dict[str, _Directory | Placed] = {}


def merge(layers: Sequence[Iterable[Entry]]) -> list[Placed]:
    """The tree of ``layers`` laid over each other in order, each directory before what it holds,
    siblings in name order. Each layer must list a directory before what it holds; anything but
    directories, files and symlinks is left out."""
    root = _Directory(-1)
    for index, entries in enumerate(layers):
        for entry in entries:
            if entry.kind is Kind.OTHER or not entry.parts:
                continue
            parent = root
            for name in entry.parts[:-1]:
                below = parent.children.get(name)
                if not isinstance(below, _Directory):
                    raise ValueError(f"{'/'.join(entry.parts)!r} is listed before its directory")
                parent = below
            name = entry.parts[-1]
            if entry.kind is not Kind.DIRECTORY:
                parent.children[name] = Placed(entry.parts, entry.kind, index, entry.target)
            elif not isinstance(parent.children.get(name), _Directory):
                parent.children[name] = _Directory(index)
    merged: list[Placed] = []
    pending: list[tuple[tuple[str, ...], _Directory | Placed]] = [((), root)]
    while pending:
        parts, node = pending.pop()
        if isinstance(node, Placed):
            merged.append(node)
            continue
        if parts:
            merged.append(Placed(parts, Kind.DIRECTORY, node.layer))
        pending.extend(((*parts, name), below) for name, below in sorted(node.children.items(), reverse=True))
    return merged


def check(merged: Sequence[Placed]) -> None:
    """Refuse (``InvalidParameterValue``) a merged tree with a symlink that resolves outside it."""
    links = {placed.parts: placed.target for placed in merged if placed.kind is Kind.SYMLINK}
    for placed in merged:
        if placed.kind is Kind.SYMLINK and trees.link_escapes(placed.parts, links):
            raise InvalidParameterValue(
                f"Layers cannot be merged: the symlink {'/'.join(placed.parts)!r} -> {placed.target!r} of "
                f"layer {placed.layer + 1} in Layers does not resolve inside /opt once the layers are merged. "
                "Point it to a file or directory the layers hold, or replace it with the file itself."
            )


class LayerOverlays:
    def __init__(self, root: Path, code: CodeStore) -> None:
        self._root = root
        self._code = code

    def clear(self) -> None:
        trees.remove(self._root)
        self._root.mkdir(parents=True, exist_ok=True)

    def check(self, digests: Sequence[str]) -> None:
        """Refuse (``InvalidParameterValue``) layers whose merged tree would not pass ``check``,
        decided from their zips without unzipping them (blocking: run it in a thread). One layer
        alone passed the same rule when its zip was stored."""
        if len(digests) < 2 or self._final(digests).is_dir():
            return  # built already, so checked already
        layers = [self._code.tree(digest) for digest in digests]
        if any(entry.kind is Kind.SYMLINK for layer in layers for entry in layer):
            check(merge(layers))

    def merged(self, digests: Sequence[str]) -> Path:
        """The read-only tree of the layers ``digests`` merged in order (blocking: run it in a thread).

        Raises ``InvalidParameterValue`` if a layer's zip or the merged tree is refused; nothing
        is then created, and nothing outside ``root`` is ever touched.
        """
        final = self._final(digests)
        if final.is_dir():
            return final
        sources: list[int] = []
        try:
            for digest in digests:
                sources.append(trees.open_dir(self._code.extract(digest)))
            layout = merge([list(trees.entries(fd)) for fd in sources])
            check(layout)
            self._root.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".merge.", dir=self._root))
            try:
                _build(layout, sources, work)
            except BaseException:
                trees.remove(work)
                raise
        finally:
            for fd in sources:
                os.close(fd)
        try:
            os.rename(work, final)
        except OSError:
            trees.remove(work)
            if not final.is_dir():
                raise
        return final


    def _final(self, digests: Sequence[str]) -> Path:
        return self._root / hashlib.sha256(",".join(digests).encode()).hexdigest()


def _build(layout: Sequence[Placed], sources: Sequence[int], work: Path) -> None:
    """Create ``layout`` in the empty directory ``work``, its files linked from the directories
    ``sources`` (one per layer), its directories (``work`` too) made read-only once filled."""
    dest = trees.open_dir(work)
    into = _Cursor(dest, leave=lambda fd: os.fchmod(fd, 0o555))
    layers = [_Cursor(fd) for fd in sources]
    try:
        for placed in layout:
            parent, name = placed.parts[:-1], placed.parts[-1]
            at = into.at(parent)
            if placed.kind is Kind.DIRECTORY:
                os.mkdir(name, 0o700, dir_fd=at)
                into.at(placed.parts)  # entered now, so that it is sealed once left even if empty
            elif placed.kind is Kind.SYMLINK:
                os.symlink(placed.target, name, dir_fd=at)
            else:
                _link_or_copy(name, layers[placed.layer].at(parent), at)
        into.at(())
        os.fchmod(dest, 0o555)
    finally:
        for cursor in (into, *layers):
            cursor.close()
        os.close(dest)


def _link_or_copy(name: str, source: int, dest: int) -> None:
    try:
        os.link(name, name, src_dir_fd=source, dst_dir_fd=dest, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EXDEV, errno.EPERM):
            raise
    # Too many links to one file, another file system, or protected_hardlinks: a copy, then.
    reading = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=source)
    with open(reading, "rb") as original:
        mode = stat.S_IMODE(os.fstat(original.fileno()).st_mode)
        writing = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dest)
        with open(writing, "wb") as copy:
            shutil.copyfileobj(original, copy)
            os.fchmod(copy.fileno(), mode & 0o555)


class _Cursor:
    """Descriptors of the directories along one path below a root descriptor, each opened
    relative to its parent without following links. Moved through a tree in top-down order, it
    opens each directory once; ``leave`` is called on a directory's descriptor as it is left."""

    def __init__(self, root: int, leave: Callable[[int], None] | None = None) -> None:
        self._fds = [root]
        self._parts: list[str] = []
        self._leave = leave

    def at(self, parts: tuple[str, ...]) -> int:
        """The descriptor of the directory ``parts`` below the root."""
        common = 0
        while common < min(len(parts), len(self._parts)) and parts[common] == self._parts[common]:
            common += 1
        while len(self._parts) > common:
            fd = self._fds.pop()
            self._parts.pop()
            try:
                if self._leave is not None:
                    self._leave(fd)
            finally:
                os.close(fd)
        for name in parts[common:]:
            self._fds.append(trees.open_dir(name, self._fds[-1]))
            self._parts.append(name)
        return self._fds[-1]

    def close(self) -> None:
        """Close every descriptor it opened (not the root's), without calling ``leave``."""
        while len(self._fds) > 1:
            with contextlib.suppress(OSError):
                os.close(self._fds.pop())
        self._parts.clear()
