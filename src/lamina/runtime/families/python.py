"""Python: ``python3.X`` on a host interpreter, running Lamina's runtime (``runtime/python``).

Environments fork from a zygote of the interpreter (``sandbox/forkserver.py``) with the
runtime already imported. Interpreters are resolved once to their real path: starting
``python3.12`` through a version-manager shim costs ~100 ms per spawn. As on AWS, the runtime is
``/var/runtime/bootstrap.py`` and ``PYTHONPATH`` is ``/var/runtime`` (where boto3 is too); output is
unbuffered and no bytecode is written by the interpreter's flags (``-u -B``), not by variables.

``python3.X`` runs only on Python 3.X, never on another minor version: the language's syntax and
standard library change with each one, so code that imports here would fail on AWS (or the other
way round). ``LAMINA_PYTHON3_13`` may name the interpreter, which must be 3.13.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Missing, Runtime, probe, runtime_of
from lamina.settings import runtime_variable

BOOTSTRAP = Path(__file__).resolve().parent.parent / "python" / "bootstrap.py"
_NAME = re.compile(r"^python3\.(\d+)$")


def owns(name: str) -> bool:
    return bool(_NAME.match(name))


def _candidates(minor: int) -> list[str]:
    name = f"python3.{minor}"
    found = []
    on_path = shutil.which(name)
    if on_path:
        found.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found += sorted(glob.glob(f"{pyenv_root}/versions/3.{minor}.*/bin/{name}"), reverse=True)
    found += [f"/usr/local/bin/{name}", f"/usr/bin/{name}"]
    return found


_PROBE = "import sys, platform; print(sys.version_info[1]); print(sys.executable); print(platform.python_version())"


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    match = _NAME.match(name)
    if not match:
        return None
    minor = int(match[1])
    candidates = [overrides[name]] if name in overrides else _candidates(minor)
    for candidate in candidates:
        out = probe([candidate, "-c", _PROBE])
        lines = out.splitlines() if out else []
        if len(lines) == 3 and lines[0] == str(minor):
            real, version = lines[1], lines[2]
            prefix = Path(real).resolve().parent.parent
            return Runtime(
                name, "python", (real, "-u", "-B", "{runtime_dir}/bootstrap.py"), zygote_python=real, keep=(prefix,),
                env={"PYTHONPATH": "{runtime_dir}"}, home=BOOTSTRAP.parent, files={BOOTSTRAP.name: BOOTSTRAP},
                interpreter=real, version=version, requires=_required(candidate, real),
            )  # fmt: skip
    return missing(name, minor, overrides)


def missing(name: str, minor: int, overrides: Mapping[str, str]) -> Missing:
    variable = runtime_variable(name)
    install = (f"pyenv install 3.{minor} (or the distribution's python3.{minor} package, where it has one), "
               f"or point {variable} at a python3.{minor}")  # fmt: skip
    if name in overrides:
        found = f"{variable} names {overrides[name]}, which is not a working Python 3.{minor}"
    else:
        found = f"python3.{minor} is not on PATH, in pyenv's versions, /usr/local/bin or /usr/bin"
    return Missing(f"a Python 3.{minor} interpreter (python3.{minor})", install, found)


def _required(candidate: str, real: str) -> tuple[Path, ...]:
    """The interpreter, and the path it was found by when that is another one (a link, a shim)."""
    return tuple(dict.fromkeys(Path(p) for p in (real, shutil.which(candidate) or candidate)))


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))
