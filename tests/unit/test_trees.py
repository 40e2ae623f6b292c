"""store/trees.py on real trees (links never followed, any depth), and the depth bound of zips."""

from __future__ import annotations

import io
import os
import stat
import time
import zipfile
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue
from lamina.settings import Limits
from lamina.store import trees
from lamina.store.code import CodeStore
from lamina.store.trees import Entry, Kind
from lamina.store.zipcheck import MAX_DEPTH

# Deeper than Python's recursion limit: a recursive walk fails on it.
VERY_DEEP = 1200


def nest(root: Path, depth: int) -> None:
    """``depth`` directories, one in the other, under ``root``, made without long paths."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        with open(os.open("bottom.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("bottom")
    finally:
        os.close(fd)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory the trees below link to: nothing in it may change."""
    target = tmp_path / "outside"
    target.mkdir(mode=0o700)
    (target / "keep.txt").write_text("keep")
    return target


def intact(outside: Path) -> bool:
    return stat.S_IMODE(outside.stat().st_mode) == 0o700 and [p.name for p in outside.iterdir()] == ["keep.txt"]


def test_entries_lists_links_as_links_and_directories_first(tmp_path: Path, outside: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f.txt").write_text("f")
    os.symlink(outside, tree / "a" / "out")
    os.symlink("b", tree / "a" / "in")
    os.mkfifo(tree / "pipe")
    fd = trees.open_dir(tree)
    try:
        assert list(trees.entries(fd)) == [
            Entry(("a",), Kind.DIRECTORY), Entry(("pipe",), Kind.OTHER),
            Entry(("a", "b"), Kind.DIRECTORY), Entry(("a", "in"), Kind.SYMLINK, "b"),
            Entry(("a", "out"), Kind.SYMLINK, str(outside)), Entry(("a", "b", "f.txt"), Kind.FILE),
        ]  # fmt: skip
    finally:
        os.close(fd)


def test_open_dir_refuses_a_link(tmp_path: Path, outside: Path) -> None:
    os.symlink(outside, tmp_path / "link")
    with pytest.raises(OSError):
        trees.open_dir(tmp_path / "link")


def test_seal_and_remove_never_follow_links(tmp_path: Path, outside: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    os.symlink(outside, tree / "sub" / "out")
    os.symlink(outside, tree / "out")
    trees.seal(tree)
    assert stat.S_IMODE(tree.stat().st_mode) == stat.S_IMODE((tree / "sub").stat().st_mode) == 0o555
    assert intact(outside)
    trees.remove(tree)
    assert not tree.exists() and intact(outside)


def test_remove_takes_a_link_or_a_file_itself_and_nothing_is_fine(tmp_path: Path, outside: Path) -> None:
    os.symlink(outside, tmp_path / "link")
    trees.remove(tmp_path / "link")
    (tmp_path / "file").write_text("x")
    trees.remove(tmp_path / "file")
    trees.remove(tmp_path / "nothing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"] and intact(outside)


def test_very_deep_trees_are_sealed_and_removed_without_recursion(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    nest(tree, VERY_DEEP)
    trees.seal(tree)
    trees.remove(tree)
    assert not tree.exists()


def test_opening_a_store_sweeps_a_very_deep_tree_left_by_an_earlier_version(tmp_path: Path) -> None:
    left = tmp_path / "unzipped" / f".{'0' * 64}.abc.tmp"
    left.mkdir(parents=True)
    nest(left, VERY_DEEP)
    an_hour_ago = time.time() - 7200
    os.utime(left, (an_hour_ago, an_hour_ago))
    CodeStore(tmp_path, Limits())
    assert list((tmp_path / "unzipped").iterdir()) == []


def nested_zip(depth: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for level in range(1, depth):
            archive.writestr("d/" * level, "")
        archive.writestr("d/" * (depth - 1) + "bottom.txt", "bottom")
    return buffer.getvalue()


def test_zips_nested_up_to_the_limit_are_accepted_and_extracted(tmp_path: Path) -> None:
    code = CodeStore(tmp_path, Limits())
    tree = code.extract(code.put(nested_zip(MAX_DEPTH)).digest)
    assert tree.joinpath(*["d"] * (MAX_DEPTH - 1), "bottom.txt").read_text() == "bottom"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000])
def test_zips_nested_deeper_are_refused_at_upload(tmp_path: Path, depth: int) -> None:
    code = CodeStore(tmp_path, Limits())
    with pytest.raises(InvalidParameterValue) as exc:
        code.put(nested_zip(depth))
    assert f"levels deep, more than the limit of {MAX_DEPTH}" in exc.value.message
    assert code.digests() == set()


def test_a_plans_tree_is_what_extract_creates(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lib/deep/x.py", "x")  # its directories are implicit
        archive.writestr("empty/", "")
        archive.writestr("top.txt", "t")
        link = zipfile.ZipInfo("lib/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "deep/x.py")
    code = CodeStore(tmp_path, Limits())
    digest = code.put(buffer.getvalue()).digest
    fd = trees.open_dir(code.extract(digest))
    try:
        assert code.tree(digest) == tuple(sorted(trees.entries(fd), key=lambda e: e.parts))
    finally:
        os.close(fd)
