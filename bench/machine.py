"""The machine a run was measured on, for the report (figures mean little without it)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench import memory

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Machine:
    cpus: int  # usable by this process (nproc)
    cpu_model: str
    mem_total_mb: int
    mem_available_mb: int
    load_average: tuple[float, float, float]  # 1, 5 and 15 minutes, when the run began: others' work skews figures
    kernel: str
    python: str
    node: str | None
    wrk: str | None
    lamina_commit: str

    def describe(self) -> str:
        return (f"{self.cpus} CPUs ({self.cpu_model}), {self.mem_total_mb:,} MB memory "
                f"({self.mem_available_mb:,} MB available), load average {self.load_average[0]:.2f}, "
                f"Linux {self.kernel}, Python {self.python}, "
                f"node {self.node or 'absent'}, wrk {'present' if self.wrk else 'absent'}, "
                f"Lamina {self.lamina_commit}")  # fmt: skip


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run(*argv: str, cwd: Path = ROOT) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _lamina() -> str:
    """Which Lamina the servers run (the one their interpreter imports): its commit, or its folder."""
    where = _run(sys.executable, "-c", "import lamina, os; print(os.path.dirname(lamina.__file__))")
    if where is None:
        return "not importable"
    commit = _run("git", "rev-parse", "--short", "HEAD", cwd=Path(where))
    if commit is None:
        return f"from {where}"
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no", cwd=Path(where))
    return commit + (" with uncommitted changes" if dirty else "") + ("" if Path(where).is_relative_to(ROOT) else f" ({where})")


def describe() -> Machine:
    node = shutil.which("node")
    return Machine(
        cpus=len(os.sched_getaffinity(0)), cpu_model=_cpu_model(),
        mem_total_mb=memory.meminfo_kb("MemTotal") // 1024,
        mem_available_mb=memory.meminfo_kb("MemAvailable") // 1024, load_average=os.getloadavg(),
        kernel=platform.release(), python=platform.python_version(),
        node=_run(node, "--version") if node else None, wrk=shutil.which("wrk"), lamina_commit=_lamina(),
    )  # fmt: skip
