"""Which Lambda runtimes this host can run, and the command that starts an environment of each.

A runtime name maps to a family (``python``, ``provided``) and, for interpreted families, to an
interpreter found on the host. Interpreters are resolved once to their real path: starting
``python3.12`` through a version-manager shim costs ~100 ms per spawn.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lamina.errors import InvalidParameterValue, ValidationError

PYTHON_BOOTSTRAP = Path(__file__).parent / "python" / "bootstrap.py"

# Every runtime identifier Lambda's API accepts (botocore's Runtime enum, current ones).
LAMBDA_RUNTIMES: tuple[str, ...] = (
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
    "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
    "java8.al2", "java11", "java17", "java21", "java25",
    "dotnet8", "dotnet10",
    "ruby3.2", "ruby3.3", "ruby3.4",
    "provided", "provided.al2", "provided.al2023",
)  # fmt: skip

_PYTHON = re.compile(r"^python3\.(\d+)$")
_PROVIDED = frozenset({"provided", "provided.al2", "provided.al2023"})


@dataclass(frozen=True)
class Runtime:
    name: str
    family: str  # "python" | "provided"
    executable: str  # the interpreter; for "provided", the code's own ./bootstrap

    def command(self, task_root: Path) -> list[str]:
        if self.family == "python":
            return [self.executable, "-u", str(PYTHON_BOOTSTRAP)]
        return [str(task_root / "bootstrap")]


def _probe_python(candidate: str, minor: int) -> str | None:
    """The real path of ``candidate`` if it is a working Python 3.<minor>, else None."""
    try:
        out = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[1]); print(sys.executable)"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2 or lines[0] != str(minor):
        return None
    return lines[1]


def _python_candidates(minor: int) -> list[str]:
    name = f"python3.{minor}"
    found = []
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found += sorted(glob.glob(f"{pyenv_root}/versions/3.{minor}.*/bin/{name}"), reverse=True)
    found += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    return found


class RuntimeRegistry:
    """Resolves runtime names to ``Runtime``s; thread-safe, each interpreter probed once."""

    def __init__(self, interpreters: Mapping[str, str] | None = None) -> None:
        self._overrides = dict(interpreters or {})
        self._cache: dict[str, Runtime | None] = {}
        self._lock = threading.Lock()

    def _resolve(self, name: str) -> Runtime | None:
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._discover(name)
            return self._cache[name]

    def _discover(self, name: str) -> Runtime | None:
        if name in _PROVIDED:
            return Runtime(name, "provided", "bootstrap")
        match = _PYTHON.match(name)
        if not match:
            return None
        minor = int(match[1])
        candidates = [self._overrides[name]] if name in self._overrides else _python_candidates(minor)
        for candidate in candidates:
            real = _probe_python(candidate, minor)
            if real:
                return Runtime(name, "python", real)
        return None

    def available(self) -> list[str]:
        return [name for name in LAMBDA_RUNTIMES if self._resolve(name) is not None]

    def get(self, name: str) -> Runtime:
        """The runtime for ``name``; a clear API error if Lambda has no such runtime or this host lacks it."""
        if name not in LAMBDA_RUNTIMES:
            raise ValidationError(
                f"1 validation error detected: Value '{name}' at 'runtime' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(LAMBDA_RUNTIMES)}]"
            )
        runtime = self._resolve(name)
        if runtime is None:
            raise InvalidParameterValue(
                f"The runtime {name} is not available on this Lamina host (no interpreter for it was found). "
                f"Available runtimes: {', '.join(self.available()) or 'none'}. Install it, or point "
                f"LAMINA_{name.upper().replace('.', '_')} at its executable."
            )
        return runtime
