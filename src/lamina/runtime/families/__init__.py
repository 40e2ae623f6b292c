"""Runtime families: each module knows one language's runtimes and how to start them.

A family module exposes ``resolve(name, overrides) -> Runtime | None``: the ``Runtime`` for a
Lambda runtime name it owns (``python3.12``, ``nodejs22.x`` ...) when the host can run it,
``None`` when the name is not its own or no interpreter for it is installed. ``owns(name)``
says whether the name is the family's at all. Resolution runs once per name (it may probe
interpreters); the result is cached by ``RuntimeRegistry``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence


@dataclass(frozen=True)
class Runtime:
    name: str
    family: str
    # The command that starts an environment; "{task_root}" in an item stands for the code's path.
    argv: tuple[str, ...]
    # Python only: the interpreter whose fork server (with the runtime pre-imported) starts environments.
    zygote_python: str | None = None
    # Directories the sandbox keeps visible, read-only (the interpreter's installation).
    keep: tuple[Path, ...] = ()
    # Variables the runtime needs besides Lambda's own (e.g. where layers' libraries are).
    env: Mapping[str, str] = field(default_factory=dict)

    def command(self, task_root: Path) -> list[str]:
        return [arg.replace("{task_root}", str(task_root)) for arg in self.argv]


def probe(argv: Sequence[str], timeout: float = 10) -> str | None:
    """What ``argv`` prints on stdout, stripped, or None if it cannot run or fails."""
    try:
        out = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None
