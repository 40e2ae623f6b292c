"""What an environment's cgroups are set up with, per controller and cgroup version (plain values)."""

from __future__ import annotations

from pathlib import Path

from lamina.sandbox.cgroups import Cgroups

MB = 1 << 20


def test_v2_limits_memory_without_swap_processes_and_weighs_cpu_by_memory() -> None:
    cgroups = Cgroups({"memory": Path("/x"), "pids": Path("/x"), "cpu": Path("/x")}, 2, socket_memory=True)
    assert cgroups.settings("memory", 128 * MB, 1024, 128) == [("memory.max", b"134217728", True),
                                                                ("memory.swap.max", b"0", False)]  # fmt: skip
    assert cgroups.settings("pids", 128 * MB, 1024, 128) == [("pids.max", b"1024", True)]
    assert cgroups.settings("cpu", 128 * MB, 1024, 128) == [("cpu.weight", b"12", False)]
    assert cgroups.settings("cpu", 10240 * MB, 1024, 10240) == [("cpu.weight", b"1000", False)]
    assert cgroups.settings("cpu", MB, 1024, 1) == [("cpu.weight", b"1", False)]


def test_v1_bounds_socket_buffers_only_where_the_kernel_takes_the_limit() -> None:
    bases = {"memory": Path("/m"), "pids": Path("/p"), "cpu": Path("/c")}
    with_sockets = Cgroups(bases, 1, socket_memory=True).settings("memory", 256 * MB, 1024, 256)
    assert with_sockets == [("memory.limit_in_bytes", b"268435456", True),
                            ("memory.memsw.limit_in_bytes", b"268435456", False),
                            ("memory.kmem.tcp.limit_in_bytes", b"268435456", True)]  # fmt: skip
    without = Cgroups(bases, 1, socket_memory=False).settings("memory", 256 * MB, 1024, 256)
    assert [name for name, _, _ in without] == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
    assert Cgroups(bases, 1).settings("cpu", 128 * MB, 1024, 128) == [("cpu.shares", b"128", False)]
    assert Cgroups(bases, 1).settings("cpu", MB, 1024, 1) == [("cpu.shares", b"2", False)]
