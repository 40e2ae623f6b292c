"""The /opt of a function with layers: its layers' trees merged in order, later ones winning.

A merged tree is built once per sequence of layer digests under ``<root>/<hash>/`` (files are
hard links into the layers' own unzipped trees, so it costs no copy), made read-only and
published by one rename, like an unzipped tree. It is a cache: ``clear`` removes them all.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from lamina.store import trees
from lamina.store.code import CodeStore


class LayerOverlays:
    def __init__(self, root: Path, code: CodeStore) -> None:
        self._root = root
        self._code = code

    def clear(self) -> None:
        if self._root.exists():
            trees.remove(self._root)
        self._root.mkdir(parents=True, exist_ok=True)

    def merged(self, digests: Sequence[str]) -> Path:
        """The read-only tree of the layers ``digests`` merged in order (blocking: run it in a thread)."""
        final = self._root / hashlib.sha256(",".join(digests).encode()).hexdigest()
        if final.is_dir():
            return final
        self._root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".merge.", dir=self._root))
        try:
            for digest in digests:
                _overlay(self._code.extract(digest), work)
            trees.seal(work)
            os.chmod(work, 0o555)
        except BaseException:
            trees.remove(work)
            raise
        try:
            os.rename(work, final)
        except OSError:
            trees.remove(work)
            if not final.is_dir():
                raise
        return final


def _overlay(source: Path, dest: Path) -> None:
    """Lay ``source``'s tree over ``dest``: its files replace what is there."""
    for dirpath, dirnames, filenames in os.walk(source):
        relative = Path(dirpath).relative_to(source)
        target_dir = dest / relative
        target_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(target_dir, 0o755)
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            src, dst = Path(dirpath) / name, target_dir / name
            if dst.is_symlink() or dst.is_file():
                dst.unlink()
            elif dst.is_dir():
                trees.remove(dst)
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
            else:
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)
