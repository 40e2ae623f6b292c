"""CodeStore against real zips built in memory, hostile ones included."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue, RequestTooLarge
from lamina.settings import Limits
from lamina.store.code import CodeStore
from lamina.store.zipcheck import COULD_NOT_UNZIP

MiB = 1024 * 1024
LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
# Byte offsets of fields after each header's signature position.
LOCAL_FLAGS, LOCAL_CRC, LOCAL_USIZE = 6, 14, 22
CENTRAL_FLAGS, CENTRAL_METHOD, CENTRAL_CRC, CENTRAL_USIZE, CENTRAL_OFFSET = 8, 10, 16, 24, 42

Member = tuple[str | zipfile.ZipInfo, bytes]


def unix(name: str, mode: int, method: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = mode << 16
    info.compress_type = method
    return info


def link(name: str, target: str) -> Member:
    return unix(name, stat.S_IFLNK | 0o777, zipfile.ZIP_STORED), target.encode()


def make_zip(*members: Member, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def patch(data: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite a field in every header carrying ``signature``."""
    out = bytearray(data)
    start = out.find(signature)
    assert start >= 0
    while start >= 0:
        struct.pack_into(fmt, out, start + offset, value)
        start = out.find(signature, start + 1)
    return bytes(out)


def declare_size(data: bytes, size: int) -> bytes:
    data = patch(data, LOCAL, LOCAL_USIZE, "<L", size)
    return patch(data, CENTRAL, CENTRAL_USIZE, "<L", size)


def store_at(root: Path, **limits: int) -> CodeStore:
    return CodeStore(root, replace(Limits(), **limits))


def assert_nothing_stored(root: Path) -> None:
    assert sorted(root.rglob("*")) == [root / "unzipped", root / "zips"]


def refuse(root: Path, data: bytes, match: str, **limits: int) -> InvalidParameterValue:
    store = store_at(root, **limits)
    with pytest.raises(InvalidParameterValue, match=match) as caught:
        store.put(data)
    assert_nothing_stored(root)
    assert store.digests() == set()
    return caught.value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "code"


# The happy path.


def test_put_then_extract_gives_a_read_only_tree_keeping_exec_bits(root: Path) -> None:
    members: list[Member] = [
        (unix("handler.py", stat.S_IFREG | 0o644), b"def handler(event, context):\n    return 1\n"),
        (unix("bootstrap", stat.S_IFREG | 0o755), b"#!/bin/sh\n"),
        (unix("lib/", stat.S_IFDIR | 0o755), b""),
        (unix("lib/util.py", stat.S_IFREG | 0o600), b"X = 1\n"),
        ("pkg/deep/mod.py", b"Y = 2\n"),  # parent directories implied
    ]
    data = make_zip(*members)
    store = CodeStore(root, Limits())

    artifact = store.put(data)
    tree = store.extract(artifact.digest)

    raw = hashlib.sha256(data).digest()
    assert artifact.sha256_b64 == base64.b64encode(raw).decode()
    assert artifact.digest == raw.hex()
    assert artifact.size == len(data)
    assert artifact.unzipped_size == sum(len(content) for _, content in members)
    assert store.digests() == {artifact.digest}
    assert store.read(artifact.digest) == data
    assert store.zip_path(artifact.digest) == root / "zips" / f"{artifact.digest}.zip"
    assert tree == root / "unzipped" / artifact.digest
    assert (tree / "handler.py").read_bytes().startswith(b"def handler")
    assert (tree / "pkg/deep/mod.py").read_text() == "Y = 2\n"

    def mode(path: str) -> int:
        return stat.S_IMODE((tree / path).stat().st_mode)

    files = ("handler.py", "bootstrap", "lib/util.py", "pkg/deep/mod.py")
    assert [mode(p) for p in files] == [0o444, 0o555, 0o444, 0o444]
    assert [mode(p) for p in (".", "lib", "pkg", "pkg/deep")] == [0o555] * 4
    assert sorted(p.name for p in (root / "unzipped").iterdir()) == [artifact.digest]


def test_put_and_extract_are_idempotent(root: Path) -> None:
    store = CodeStore(root, Limits())
    data = make_zip(("index.py", b"print(1)\n"))

    first, second = store.put(data), store.put(data)
    tree = store.extract(first.digest)
    inode = tree.stat().st_ino

    assert first == second
    assert store.extract(first.digest) == tree
    assert tree.stat().st_ino == inode
    assert [p.name for p in (root / "zips").iterdir()] == [f"{first.digest}.zip"]


def test_relative_symlinks_inside_the_tree_are_recreated(root: Path) -> None:
    store = CodeStore(root, Limits())
    data = make_zip(
        ("lib/v1/x.txt", b"one"),
        link("lib/current", "v1"),
        link("top", "lib/current/x.txt"),
        link("dangling", "lib/not-there"),
    )

    tree = store.extract(store.put(data).digest)

    assert os.readlink(tree / "lib/current") == "v1"
    assert (tree / "top").read_text() == "one"
    assert os.readlink(tree / "dangling") == "lib/not-there"


def test_highly_compressible_small_files_are_not_bombs(root: Path) -> None:
    store = CodeStore(root, Limits())

    artifact = store.put(make_zip(("zeros.bin", bytes(MiB))))

    assert artifact.unzipped_size == MiB


def test_delete_removes_zip_and_read_only_tree_and_is_safe_twice(root: Path) -> None:
    store = CodeStore(root, Limits())
    kept = store.put(make_zip(("a.py", b"a")))
    gone = store.put(make_zip(("dir/b.py", b"b"), link("dir/c", "b.py")))
    store.extract(gone.digest)

    store.delete(gone.digest)
    store.delete(gone.digest)

    assert store.digests() == {kept.digest}
    assert not (root / "unzipped" / gone.digest).exists()
    assert list((root / "unzipped").iterdir()) == []
    with pytest.raises(FileNotFoundError):
        store.read(gone.digest)
    with pytest.raises(FileNotFoundError):
        store.extract(gone.digest)


def test_digests_are_checked_before_they_become_paths(root: Path) -> None:
    store = CodeStore(root, Limits())

    for bad in ("../" + "0" * 61, "A" * 64, "abc"):
        with pytest.raises(ValueError, match="digest"):
            store.zip_path(bad)
        with pytest.raises(ValueError, match="digest"):
            store.delete(bad)


def test_opening_a_store_sweeps_stale_work_in_progress_only(root: Path) -> None:
    CodeStore(root, Limits())
    stale_file, fresh_file = root / "zips/.stale.zip.tmp", root / "zips/.fresh.zip.tmp"
    stale_tree = root / "unzipped/.stale.tmp"
    for file in (stale_file, fresh_file):
        file.write_bytes(b"partial")
    (stale_tree / "sub").mkdir(parents=True)
    (stale_tree / "sub/file").write_bytes(b"x")
    for path in (stale_tree / "sub", stale_tree):
        path.chmod(0o555)
    an_hour_ago = time.time() - 3700
    for path in (stale_file, stale_tree):
        os.utime(path, (an_hour_ago, an_hour_ago))

    store = CodeStore(root, Limits())

    assert not stale_file.exists() and not stale_tree.exists()
    assert fresh_file.exists()
    assert store.digests() == set()


# Refusals: each writes nothing.


def test_a_zip_over_the_zipped_limit_is_too_large(root: Path) -> None:
    store = store_at(root, zipped_code_bytes=100)

    with pytest.raises(RequestTooLarge, match="^Zipped size must be smaller than 100 bytes$"):
        store.put(make_zip(("a.bin", os.urandom(200)), method=zipfile.ZIP_STORED))
    assert_nothing_stored(root)


def test_not_a_zip_is_refused_with_aws_wording(root: Path) -> None:
    error = refuse(root, b"this is not a zip file", "Could not unzip")

    assert error.message == COULD_NOT_UNZIP
    assert error.status == 400


def test_a_truncated_zip_is_refused(root: Path) -> None:
    data = make_zip(("a.py", b"print(1)\n" * 100))

    refuse(root, data[: len(data) - 30], "Could not unzip")


def test_corrupt_compressed_data_is_refused(root: Path) -> None:
    data = bytearray(make_zip(("a.txt", os.urandom(4000))))
    start = data.find(LOCAL) + 30 + len("a.txt")
    data[start + 100 : start + 140] = bytes(40)

    refuse(root, bytes(data), "'a.txt' is corrupt")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("/etc/cron.d/evil", "absolute path"),
        ("\\evil.py", "absolute path"),
        ("C:/evil.py", "absolute path"),
        ("c:evil.py", "absolute path"),
        ("../evil.py", "'..' component"),
        ("lib/../../evil.py", "'..' component"),
        ("..\\evil.py", "'..' component"),
        ("lib\\..\\..\\evil.py", "'..' component"),
    ],
)
def test_entries_that_could_land_outside_the_tree_are_refused(root: Path, name: str, problem: str) -> None:
    data = make_zip(("ok.py", b"ok"), (name, b"evil"))

    error = refuse(root, data, problem)

    assert repr(name) in error.message


@pytest.mark.parametrize(
    "members",
    [
        [link("evil", "/etc/passwd")],
        [link("evil", "../outside")],
        [link("lib/evil", "../../outside")],
        [link("lib/evil", "x/../../../outside")],
        # Lexically inside, yet out once "up" is followed, as the kernel would.
        [link("up", "."), link("lib/evil", "../up/..")],
        [link("a", "b"), link("b", "a")],
    ],
    ids=["absolute", "parent", "grandparent", "hidden-parent", "through-another-link", "loop"],
)
def test_symlinks_that_leave_the_tree_are_refused(root: Path, members: list[Member]) -> None:
    refuse(root, make_zip(("lib/ok.py", b"ok"), *members), "symlink")


def test_entries_inside_a_symlink_are_refused(root: Path) -> None:
    data = make_zip(("sub/x.py", b"x"), link("link", "sub"), ("link/y.py", b"y"))

    refuse(root, data, "'link/y.py' is inside 'link', which is a symlink")


def test_entries_inside_a_file_are_refused(root: Path) -> None:
    refuse(root, make_zip(("a", b"file"), ("a/b", b"inside")), "'a/b' is inside 'a', which is a file")


def test_duplicate_entries_are_refused(root: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        exact = make_zip(("a.py", b"1"), ("a.py", b"2"))
    refuse(root, exact, "'a.py' and 'a.py' are the same path")
    refuse(root, make_zip(("a.py", b"1"), ("./a.py", b"2")), "'a.py' and './a.py' are the same path")
    refuse(root, make_zip(("d/", b""), ("d//", b"")), "are the same path")


def test_an_entry_expanding_beyond_the_ratio_is_a_bomb(root: Path) -> None:
    data = make_zip(("ok.py", b"ok"), ("zeros.bin", bytes(20 * MiB)))
    assert len(data) < 100_000

    error = refuse(root, data, "zip bomb")

    assert "'zeros.bin' expands" in error.message
    assert "limit of 200" in error.message


def test_many_small_entries_expanding_beyond_the_ratio_overall_are_a_bomb(root: Path) -> None:
    data = make_zip(*[(f"zeros{i}.bin", bytes(MiB // 2)) for i in range(8)])

    refuse(root, data, "the zip expands .* zip bomb")


def test_too_many_entries_are_refused(root: Path) -> None:
    data = make_zip(*[(f"f{i}.py", b"") for i in range(4)])

    refuse(root, data, "holds 4 entries, more than the limit of 3", max_zip_entries=3)
    # Trailing bytes hide the end record from the early count; zipfile's own count still applies.
    refuse(root, data + b"trailing bytes", "holds 4 entries, more than the limit of 3", max_zip_entries=3)


def test_more_declared_bytes_than_the_unzipped_limit_are_refused(root: Path) -> None:
    data = make_zip(("a.bin", os.urandom(600)), ("b.bin", os.urandom(600)))

    error = refuse(root, data, "Unzipped size", unzipped_code_bytes=1000)

    assert error.message == "Unzipped size must be smaller than 1000 bytes"


def test_encrypted_entries_are_refused(root: Path) -> None:
    data = make_zip(("secret.py", b"x = 1\n"))
    data = patch(data, LOCAL, LOCAL_FLAGS, "<H", 0x1)
    data = patch(data, CENTRAL, CENTRAL_FLAGS, "<H", 0x1)

    refuse(root, data, "'secret.py' is encrypted.*without a password")


def test_unsupported_compression_methods_are_refused(root: Path) -> None:
    data = patch(make_zip(("a.py", b"x = 1\n")), CENTRAL, CENTRAL_METHOD, "<H", 9)  # Deflate64

    refuse(root, data, "compression method 9")


def test_overlapping_entries_are_refused(root: Path) -> None:
    data = make_zip(("a.py", b"a" * 100), ("b.py", b"b" * 100))

    refuse(root, patch(data, CENTRAL, CENTRAL_OFFSET, "<L", 0), "overlap")


# Lying headers: the real bytes are counted, whatever the header says.


def test_an_entry_shorter_than_its_header_declares_is_refused(root: Path) -> None:
    data = make_zip(("a.txt", b"x" * 1000), method=zipfile.ZIP_STORED)

    refuse(root, declare_size(data, 2000), "'a.txt' holds 1000 bytes but its header declares 2000")


def test_an_entry_longer_than_its_header_declares_is_refused(root: Path) -> None:
    data = make_zip(("a.txt", b"x" * 10_000))

    refuse(root, declare_size(data, 100), "'a.txt' is corrupt")


def test_an_entry_longer_than_declared_with_a_forged_crc_is_cut_at_the_declared_size(root: Path) -> None:
    data = declare_size(make_zip(("a.txt", b"x" * 10_000)), 100)
    forged_crc = zlib.crc32(b"x" * 100)
    data = patch(patch(data, LOCAL, LOCAL_CRC, "<L", forged_crc), CENTRAL, CENTRAL_CRC, "<L", forged_crc)

    # zipfile stops at the declared size, so the tail is never written: the tree holds
    # exactly what the header says, and no more than the limits allow.
    store = CodeStore(root, Limits())
    tree = store.extract(store.put(data).digest)
    assert (tree / "a.txt").read_bytes() == b"x" * 100


def test_extract_counts_real_bytes_of_a_zip_damaged_on_disk(root: Path) -> None:
    store = CodeStore(root, Limits())
    data = make_zip(("a.txt", b"x" * 1000), method=zipfile.ZIP_STORED)
    digest = store.put(data).digest
    path = store.zip_path(digest)
    path.chmod(0o644)
    path.write_bytes(declare_size(data, 2000))

    with pytest.raises(InvalidParameterValue, match="holds 1000 bytes but its header declares 2000"):
        store.extract(digest)

    assert list((root / "unzipped").iterdir()) == []


def test_extract_applies_the_limits_of_the_store_reading_the_zip(root: Path) -> None:
    digest = CodeStore(root, Limits()).put(make_zip(("a.bin", os.urandom(2000)))).digest

    with pytest.raises(InvalidParameterValue, match="^Unzipped size must be smaller than 1000 bytes$"):
        store_at(root, unzipped_code_bytes=1000).extract(digest)

    assert list((root / "unzipped").iterdir()) == []


def test_random_damage_is_either_accepted_whole_or_refused_as_invalid(root: Path) -> None:
    store = store_at(root, unzipped_code_bytes=MiB)
    original = make_zip(
        ("handler.py", b"def handler(event, context):\n    return event\n" * 20),
        (unix("bin/run", stat.S_IFREG | 0o755, zipfile.ZIP_STORED), b"#!/bin/sh\nexec true\n"),
        (unix("lib/", stat.S_IFDIR | 0o755), b""),
        link("lib/run", "../bin/run"),
    )
    rng = random.Random(20240101)
    accepted = 0
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            digest = store.put(bytes(data)).digest
        except InvalidParameterValue:
            continue
        accepted += 1
        tree = store.extract(digest)
        assert tree.is_dir()
        store.delete(digest)
    assert 0 < accepted < 300
    assert_nothing_stored(root)
