"""Merging layers: the pure merge and check with plain values, and LayerOverlays on real trees.

The real-tree tests put a CodeStore in ``tmp_path / "data" / "code"`` as the server does, so the
merge directory (``layers-merged/.merge.<random>``) is four levels below ``tmp_path``, and plant
sentinels in ``tmp_path`` for hostile layers to aim at.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue
from lamina.settings import Limits
from lamina.store import trees
from lamina.store.code import CodeStore
from lamina.store.overlay import LayerOverlays, Placed, check, merge
from lamina.store.trees import Entry, Kind

D, F, L = Kind.DIRECTORY, Kind.FILE, Kind.SYMLINK
MERGE_DEPTH = 4  # data/code/layers-merged/.merge.<random>, below tmp_path
AIM = "/".join(["sub"] * MERGE_DEPTH + [".."] * MERGE_DEPTH)


def entry(path: str, kind: Kind = F, target: str = "") -> Entry:
    return Entry(tuple(path.split("/")), kind, target)


def shape(merged: list[Placed]) -> dict[str, tuple[str, int]]:
    """path -> (kind or '-> target', layer)"""
    return {
        "/".join(p.parts): (f"-> {p.target}" if p.kind is L else p.kind.value, p.layer) for p in merged
    }


# -- deciding ---------------------------------------------------------------------------------


def test_later_layers_win_and_directories_merge() -> None:
    first = [entry("a", D), entry("a/one.txt"), entry("a/two.txt"), entry("top.txt")]
    second = [entry("a", D), entry("a/two.txt"), entry("b", D)]
    assert shape(merge([first, second])) == {
        "a": ("directory", 0), "a/one.txt": ("file", 0), "a/two.txt": ("file", 1), "b": ("directory", 1),
        "top.txt": ("file", 0),
    }  # fmt: skip


def test_a_directory_replaces_a_link_and_is_never_merged_through_it() -> None:
    first = [entry("data", D), entry("data/keep.txt"), entry("lib", L, "data"), entry("up", L, AIM)]
    second = [entry("lib", D), entry("lib/new.txt"), entry("up", D), entry("up/escaped.txt")]
    assert shape(merge([first, second])) == {
        "data": ("directory", 0), "data/keep.txt": ("file", 0), "lib": ("directory", 1),
        "lib/new.txt": ("file", 1), "up": ("directory", 1), "up/escaped.txt": ("file", 1),
    }  # fmt: skip


def test_a_file_or_link_replaces_a_whole_directory() -> None:
    first = [entry("a", D), entry("a/deep", D), entry("a/deep/x.txt"), entry("b", D), entry("b/y.txt")]
    second = [entry("a"), entry("b", L, "a")]
    assert shape(merge([first, second])) == {"a": ("file", 1), "b": ("-> a", 1)}


def test_the_merge_is_in_top_down_name_order() -> None:
    merged = merge([[entry("b", D), entry("b/z"), entry("a-b"), entry("b/a")], [entry("a", D), entry("a/x")]])
    assert [p.parts for p in merged] == [("a",), ("a", "x"), ("a-b",), ("b",), ("b", "a"), ("b", "z")]


def test_an_entry_listed_before_its_directory_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        merge([[entry("a/x")]])


def test_links_that_leave_the_merged_tree_are_refused_naming_the_link_and_its_layer() -> None:
    aim, sub = [entry("up", L, AIM)], [entry("sub", L, ".")]
    check(merge([aim]))  # each passes alone
    check(merge([sub]))
    with pytest.raises(InvalidParameterValue) as exc:
        check(merge([aim, sub]))
    assert f"'up' -> '{AIM}' of layer 1 in Layers does not resolve inside /opt" in exc.value.message
    with pytest.raises(InvalidParameterValue):
        check(merge([sub, [entry("x", D), entry("x/out", L, "../sub/..")]]))


def test_a_later_layer_replacing_the_escaping_link_makes_the_tree_acceptable() -> None:
    check(merge([[entry("up", L, AIM)], [entry("sub", L, ".")], [entry("up", D), entry("up/x.txt")]]))
    check(merge([[entry("up", L, AIM)], [entry("sub", L, ".")], [entry("sub", D)]]))


# -- acting, on real trees --------------------------------------------------------------------


def layer_zip(files: dict[str, str], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            archive.writestr(info, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> tuple[CodeStore, LayerOverlays]:
    code = CodeStore(tmp_path / "data" / "code", Limits())
    overlays = LayerOverlays(tmp_path / "data" / "code" / "layers-merged", code)
    overlays.clear()
    return code, overlays


def plant(root: Path) -> None:
    (root / "private").mkdir(mode=0o700)
    (root / "doomed").mkdir()
    (root / "doomed" / "keep.txt").write_text("keep")


def untouched(root: Path) -> bool:
    return (
        not (root / "escaped.txt").exists()
        and stat.S_IMODE((root / "private").stat().st_mode) == 0o700
        and list((root / "private").iterdir()) == []
        and (root / "doomed" / "keep.txt").read_text() == "keep"
    )


def listing(tree: Path) -> dict[str, str]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            relative = str(path.relative_to(tree))
            if path.is_symlink():
                found[relative] = f"-> {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = f"dir {stat.S_IMODE(path.lstat().st_mode):o}"
            else:
                found[relative] = path.read_text()
    return found


def test_the_attack_of_the_issue_is_merged_inside_the_tree(
    tmp_path: Path, store: tuple[CodeStore, LayerOverlays]
) -> None:
    code, overlays = store
    plant(tmp_path)
    aim = code.put(layer_zip({}, {"up": AIM})).digest
    reach = code.put(layer_zip(
        {"up/escaped.txt": "planted", "up/private/": "", "up/private/planted.txt": "planted", "up/doomed": "planted"},
        {"sub": "."},
    )).digest  # fmt: skip
    overlays.check([aim, reach])
    merged = overlays.merged([aim, reach])
    assert untouched(tmp_path)
    assert merged.parent == tmp_path / "data" / "code" / "layers-merged"
    assert stat.S_IMODE(merged.stat().st_mode) == 0o555
    assert listing(merged) == {
        "sub": "-> .", "up": "dir 555", "up/doomed": "planted", "up/escaped.txt": "planted",
        "up/private": "dir 555", "up/private/planted.txt": "planted",
    }  # fmt: skip
    # Files are hard links into the layer's own unzipped tree: no copy.
    assert (merged / "up" / "escaped.txt").stat().st_ino == (code.extract(reach) / "up" / "escaped.txt").stat().st_ino
    assert overlays.merged([aim, reach]) == merged  # built once


def test_a_merged_tree_that_leaves_itself_is_refused_and_nothing_is_created(
    tmp_path: Path, store: tuple[CodeStore, LayerOverlays]
) -> None:
    code, overlays = store
    plant(tmp_path)
    aim = code.put(layer_zip({"python/ok.py": "OK = 1\n"}, {"up": AIM})).digest
    sub = code.put(layer_zip({}, {"sub": "."})).digest
    with pytest.raises(InvalidParameterValue) as from_zips:
        overlays.check([aim, sub])
    with pytest.raises(InvalidParameterValue) as from_trees:
        overlays.merged([aim, sub])
    assert from_zips.value.message == from_trees.value.message
    assert list((tmp_path / "data" / "code" / "layers-merged").iterdir()) == []
    assert untouched(tmp_path)


def test_the_merge_reads_the_unzipped_trees_as_they_are(
    tmp_path: Path, store: tuple[CodeStore, LayerOverlays]
) -> None:
    """An unzipped tree changed on disk (here a directory replaced by a link out) is checked as it is."""
    code, overlays = store
    plant(tmp_path)
    first = code.put(layer_zip({"lib/x.txt": "x"})).digest
    second = code.put(layer_zip({"lib/y.txt": "y"})).digest
    tree = code.extract(first)
    os.chmod(tree, 0o755)
    trees.remove(tree / "lib")
    os.symlink("../" * 6, tree / "lib")
    os.chmod(tree, 0o555)
    with pytest.raises(InvalidParameterValue, match="'lib'"):
        overlays.merged([first, first])
    # A later layer's directory replaces the link: merged without writing through it.
    merged = overlays.merged([first, second])
    assert listing(merged) == {"lib": "dir 555", "lib/y.txt": "y"}
    assert untouched(tmp_path) and not (tmp_path / "y.txt").exists()


def test_clear_removes_merged_trees_without_following_their_links(
    tmp_path: Path, store: tuple[CodeStore, LayerOverlays]
) -> None:
    code, overlays = store
    plant(tmp_path)
    layers = [code.put(layer_zip({"a/b.txt": "b"}, {"out": "a", "doomed": "a"})).digest,
              code.put(layer_zip({"c.txt": "c"})).digest]  # fmt: skip
    overlays.merged(layers)
    os.symlink(tmp_path / "doomed", tmp_path / "data" / "code" / "layers-merged" / "planted-link")
    overlays.clear()
    assert list((tmp_path / "data" / "code" / "layers-merged").iterdir()) == []
    assert untouched(tmp_path)
