"""Runtime families: each module knows one language's runtimes and how to start them.

A family module exposes ``resolve(name, overrides) -> Runtime | None``: the ``Runtime`` for a
Lambda runtime name it owns (``python3.12``, ``nodejs22.x`` ...) when the host can run it,
``None`` when the name is not its own or no interpreter for it is installed. ``owns(name)``
says whether the name is the family's at all. Resolution runs once per name (it may probe
interpreters); the result is cached by ``RuntimeRegistry``.

Where a runtime's own files are: on AWS in ``/var/runtime`` (``LAMBDA_RUNTIME_DIR``). A sandboxed
environment sees the runtime's ``files`` there, each bound read-only by name; an environment on the
host (no sandbox) runs them from ``home``, where Lamina keeps them. ``"{runtime_dir}"`` in ``argv``
and ``env`` stands for whichever of the two the environment has, ``"{task_root}"`` for its code's.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Runtime:
    name: str
    family: str
    # The command that starts an environment; "{task_root}" in an item stands for the code's path,
    # "{runtime_dir}" for the runtime's directory.
    argv: tuple[str, ...]
    # Python only: the interpreter whose fork server (with the runtime pre-imported) starts environments.
    zygote_python: str | None = None
    # Directories the sandbox keeps visible, read-only (the interpreter's installation).
    keep: tuple[Path, ...] = ()
    # Variables the runtime needs besides Lambda's own (e.g. where layers' libraries are).
    env: Mapping[str, str] = field(default_factory=dict)
    # The runtime's directory on the host (LAMBDA_RUNTIME_DIR of an environment without a sandbox).
    home: Path | None = None
    # What a sandboxed environment sees in /var/runtime: names and the host files or directories bound there.
    files: Mapping[str, Path] = field(default_factory=dict)

    def command(self, task_root: Path, runtime_dir: str | None = None) -> list[str]:
        return [fill(arg, task_root=str(task_root), runtime_dir=runtime_dir or str(self.home or "")) for arg in self.argv]


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced (other braces left as they are)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def entries(directory: Path, *, suffixes: tuple[str, ...] = ()) -> dict[str, Path]:
    """A directory's entries by name (only those ending in one of ``suffixes``, if any): what a
    runtime binds into /var/runtime. Empty if the directory is not there."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return {}
    return {name: directory / name for name in names
            if not name.startswith(".") and name != "__pycache__" and (not suffixes or name.endswith(suffixes))}  # fmt: skip


def probe(argv: Sequence[str], timeout: float = 10) -> str | None:
    """What ``argv`` prints on stdout, stripped, or None if it cannot run or fails."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
