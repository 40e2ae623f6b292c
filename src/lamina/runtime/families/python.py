"""Python: ``python3.X`` on a host interpreter, running Lamina's runtime (``runtime/python``).

Environments fork from a zygote of the interpreter (``sandbox/forkserver.py``) with the
runtime already imported. Interpreters are resolved once to their real path: starting
``python3.12`` through a version-manager shim costs ~100 ms per spawn. As on AWS, the runtime is
``/var/runtime/bootstrap.py`` and ``PYTHONPATH`` is ``/var/runtime`` (where boto3 is too); output is
unbuffered and no bytecode is written by the interpreter's flags (``-u -B``), not by variables.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Runtime, probe

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


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    match = _NAME.match(name)
    if not match:
        return None
    minor = int(match[1])
    candidates = [overrides[name]] if name in overrides else _candidates(minor)
    for candidate in candidates:
        out = probe([candidate, "-c", "import sys; print(sys.version_info[1]); print(sys.executable)"])
        lines = out.split() if out else []
        if len(lines) == 2 and lines[0] == str(minor):
            real = lines[1]
            prefix = Path(real).resolve().parent.parent
            return Runtime(
                name, "python", (real, "-u", "-B", "{runtime_dir}/bootstrap.py"), zygote_python=real, keep=(prefix,),
                env={"PYTHONPATH": "{runtime_dir}"}, home=BOOTSTRAP.parent, files={BOOTSTRAP.name: BOOTSTRAP},
            )  # fmt: skip
    return None
