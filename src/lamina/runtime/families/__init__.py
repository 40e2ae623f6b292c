"""Runtime families: each module knows one language's runtimes and how to start them.

A family module exposes ``find(name, overrides) -> Runtime | Missing | None``: the ``Runtime`` for
a Lambda runtime name it owns (``python3.12``, ``nodejs22.x`` ...) when the host can run it, else
``Missing``: what the host lacks (the interpreter, the runtime client, the compiler, the built
runtime, the JDK) and the command that installs it; ``None`` when the name is not its own.
``resolve(name, overrides)`` is ``find``'s ``Runtime`` or ``None``. ``owns(name)`` says whether the
name is the family's at all. Finding may probe interpreters; ``RuntimeRegistry`` caches the answers
(a ``Missing`` only for a few seconds, so that a toolchain installed meanwhile is found).

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
    # What it runs on, as ``lamina runtimes`` shows it: the interpreter's real path and its version.
    interpreter: str = ""
    version: str = ""
    # Set when the host's interpreter is not the version AWS runs for this name (ruby3.3 on Ruby
    # 3.1): code that works here may fail on AWS, so it is said at CreateFunction and in the listing.
    mismatch: str = ""
    # Files it cannot run without (the interpreter, the path it was found through): one missing
    # means the runtime went away since it was found, and it is looked for again.
    requires: tuple[Path, ...] = ()
    # How it runs other than the way Lamina means it to (a part of it not installed), for the log.
    note: str = ""

    def present(self) -> bool:
        """Whether every file it needs is still there (a few ``stat`` calls)."""
        return all(os.path.exists(path) for path in self.requires)

    def command(self, task_root: Path, runtime_dir: str | None = None) -> list[str]:
        return [fill(arg, task_root=str(task_root), runtime_dir=runtime_dir or str(self.home or "")) for arg in self.argv]


@dataclass(frozen=True)
class Missing:
    """Why this host cannot run a runtime: what is missing, the command that installs it, and
    what was found instead (an interpreter of another version, what an override names)."""

    what: str  # "a Ruby 3 interpreter (ruby)"
    install: str  # "scripts/install/ruby.sh (Debian's ruby package)"
    found: str = ""  # "LAMINA_RUBY3_3 names /opt/ruby, which does not run"

    def sentence(self) -> str:
        found = f"; {self.found}" if self.found else ""
        return f"missing {self.what}{found}. Install it: {self.install}"


def runtime_of(found: Runtime | Missing | None) -> Runtime | None:
    """``find``'s answer as ``resolve`` gives it."""
    return found if isinstance(found, Runtime) else None


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
