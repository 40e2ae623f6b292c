"""The ray scenario's CPU quota per node (bench/cpu_quota.py): the arithmetic, the reading of
/proc/self/cgroup and /proc/mounts, and a real cgroup where the machine lets us make one."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path

import pytest

from bench.cpu_quota import Hierarchy, NodeCgroups, find_hierarchy, quota_files

V1_SELF = """12:pids:/
4:memory:/process_api/b4c9
3:cpu:/user.slice
2:cpuacct:/
0::/
"""
V1_MOUNTS = """tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
"""
V2_SELF = "0::/user.slice/session-1.scope\n"
V2_MOUNTS = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"


def no_controllers(mount: Path) -> str:
    return ""


def test_quota_is_the_share_of_each_period() -> None:
    assert quota_files(0.2, 1) == {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "20000"}
    assert quota_files(0.25, 2) == {"cpu.max": "25000 100000"}
    # More than a core is a quota over the period: the cgroup's threads may use several cores.
    assert quota_files(1.5, 1)["cpu.cfs_quota_us"] == "150000"
    assert quota_files(0.5, 2, period_us=10_000) == {"cpu.max": "5000 10000"}


@pytest.mark.parametrize("cores", [0, -0.2, math.nan, math.inf, 0.001])
def test_a_quota_the_kernel_would_refuse_is_an_error(cores: float) -> None:
    with pytest.raises(ValueError):
        quota_files(cores, 1)


def test_finds_the_v1_cpu_hierarchy_and_this_process_s_cgroup_in_it() -> None:
    found = find_hierarchy(V1_SELF, V1_MOUNTS, no_controllers)
    assert found == Hierarchy(1, Path("/sys/fs/cgroup/cpu"), "/user.slice")
    assert found.own_path == Path("/sys/fs/cgroup/cpu/user.slice")


def test_finds_cpu_mounted_with_cpuacct() -> None:
    mounts = "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
    found = find_hierarchy("5:cpu,cpuacct:/\n", mounts, no_controllers)
    assert found == Hierarchy(1, Path("/sys/fs/cgroup/cpu,cpuacct"), "/")


def test_finds_v2_only_where_its_controllers_include_cpu() -> None:
    assert find_hierarchy(V2_SELF, V2_MOUNTS, lambda mount: "cpuset cpu io memory pids\n") == \
        Hierarchy(2, Path("/sys/fs/cgroup"), "/user.slice/session-1.scope")  # fmt: skip
    assert find_hierarchy(V2_SELF, V2_MOUNTS, lambda mount: "cpuset io memory\n") is None
    # v1's hybrid layout: the unified mount there has no controllers; cpu is v1's.
    assert find_hierarchy(V1_SELF, V1_MOUNTS, lambda mount: "cpu") == \
        Hierarchy(1, Path("/sys/fs/cgroup/cpu"), "/user.slice")  # fmt: skip


def test_mount_points_with_escaped_spaces() -> None:
    mounts = "cgroup /mnt/cg\\040cpu cgroup rw,cpu 0 0\n"
    assert find_hierarchy("3:cpu:/\n", mounts, no_controllers) == Hierarchy(1, Path("/mnt/cg cpu"), "/")


@pytest.mark.parametrize("self_cgroup, mounts", [
    ("", ""),
    ("garbage\n3:cpu\n::\n", V1_MOUNTS),  # no line with three fields naming cpu
    ("3:cpu:relative/path\n", V1_MOUNTS),  # not an absolute cgroup
    (V1_SELF, "cgroup relative/cpu cgroup rw,cpu 0 0\n"),  # not an absolute mount point
    (V1_SELF, "cgroup /sys/fs/../../tmp cgroup rw,cpu 0 0\n"),  # a mount point climbing out
    (V1_SELF, "cgroup /sys/fs/cgroup/cpu\n\x00\x00 cgroup\n"),  # truncated lines
    (V1_SELF, "cgroup /sys/fs/cgroup/cpuacct cgroup rw,cpuacct 0 0\n"),  # cpuacct is not cpu
    ("3:cpu:/" + "a/" * 5000 + "\n", ""),  # oversized, and nothing mounted
])  # fmt: skip
def test_malformed_or_missing_input_finds_nothing(self_cgroup: str, mounts: str) -> None:
    assert find_hierarchy(self_cgroup, mounts, lambda mount: "cpu") is None


def test_a_child_joins_its_node_s_cgroup_before_exec_and_remove_leaves_nothing() -> None:
    cgroups = NodeCgroups.detect(0.2, f"bench-quota-test-{time.monotonic_ns()}")
    if isinstance(cgroups, str):
        pytest.skip(cgroups)
    try:
        node = cgroups.node(0)
        name = "cpu.max" if cgroups.hierarchy.version == 2 else "cpu.cfs_quota_us"
        assert (node / name).read_text().split()[0] == "20000"
        # The child, its own child (forked after the join) and a process in a new session all count.
        child = subprocess.Popen(["sh", "-c", "setsid sleep 60 & exec sleep 60"], preexec_fn=NodeCgroups.joiner(node),
                                 start_new_session=True)  # fmt: skip
        rel = "/" + str(node.relative_to(cgroups.hierarchy.mount))
        for _ in range(100):
            if len((node / "cgroup.procs").read_text().split()) == 2:
                break
            time.sleep(0.05)
        assert str(child.pid) in (node / "cgroup.procs").read_text().split()
        assert len((node / "cgroup.procs").read_text().split()) == 2
        assert any(line.endswith(":" + rel) for line in Path(f"/proc/{child.pid}/cgroup").read_text().splitlines())
        (node / "nested").mkdir()  # as a Lamina worker nests its environments' cgroups
    finally:
        cgroups.remove()
    assert child.wait(timeout=5) == -9
    assert not cgroups.base.exists()
    cgroups.remove()  # twice is harmless
