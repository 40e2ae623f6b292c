"""What processes cost in memory, read from /proc (Linux only)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Footprint:
    """A process's memory in KiB: resident, proportional (shared pages split among their users),
    and unique (private pages: what the system gets back when the process ends)."""

    rss_kb: int
    pss_kb: int
    uss_kb: int

    def __add__(self, other: Footprint) -> Footprint:
        return Footprint(self.rss_kb + other.rss_kb, self.pss_kb + other.pss_kb, self.uss_kb + other.uss_kb)


NOTHING = Footprint(0, 0, 0)


def footprint(pid: int) -> Footprint | None:
    """From ``/proc/PID/smaps_rollup``; None if the process is gone or cannot be read."""
    try:
        text = (PROC / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return None
    fields: dict[str, int] = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name] = int(parts[0])
    return Footprint(fields.get("Rss", 0), fields.get("Pss", 0),
                     fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0))  # fmt: skip


def tree_footprint(pid: int, children: dict[int, list[int]]) -> Footprint:
    """``pid`` and all its descendants, added up."""
    total, stack = NOTHING, [pid]
    while stack:
        current = stack.pop()
        total = total + (footprint(current) or NOTHING)
        stack.extend(children.get(current, []))
    return total


def children_map() -> dict[int, list[int]]:
    """Every process's children, from a scan of /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = (PROC / entry.name / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(pid: int, children: dict[int, list[int]]) -> set[int]:
    found: set[int] = set()
    stack = list(children.get(pid, []))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def meminfo_kb(field: str) -> int:
    """A field of /proc/meminfo (e.g. ``MemAvailable``), in KiB."""
    for line in (PROC / "meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name == field:
            return int(rest.split()[0])
    raise KeyError(field)


def pid_namespace_depth(pid: int) -> int:
    """How many pid namespaces deep ``pid`` is, seen from ours (1: ours; more: nested ones)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return len(line.split()) - 1
    except OSError:
        pass
    return 1
