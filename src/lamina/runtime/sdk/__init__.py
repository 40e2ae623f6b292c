"""The AWS SDKs inside functions' runtimes, where AWS's managed runtimes carry them.

AWS's python runtimes carry boto3 (after the function's code and layers on ``sys.path``), its
nodejs18.x and later runtimes the AWS SDK for JavaScript v3 (``/var/runtime/node_modules``, after
the function's own ``node_modules`` and layers' ``/opt/nodejs``). Lamina pins what it puts there
in the files beside this module (``python/requirements.txt``, ``nodejs/package-lock.json``) and
installs it once per machine, with pip and npm, under ``LAMINA_SDK_DIR`` (``~/.cache/lamina/sdk``):
``install.py``, run by ``scripts/install/sdk.sh``, which the README's commands run.

Each installed tree is named by a digest of the pinned file it comes from, so a change of the pins
installs a new tree beside the old one, and a server only ever sees a complete tree (each is put in
place by one rename). ``Sdks`` says where the trees are for a base directory: pure, no I/O but
``exists``. A tree that is not installed is simply absent: functions then run without that SDK
(the server says so once at start-up).

How a runtime is told: ``variables(family, minor)`` are private variables its bootstrap reads and
removes before the function's code runs (``_LAMINA_SDK_PYTHON``: the directory the Python runtime
puts on ``sys.path`` after ``/opt/python``; ``_LAMINA_SDK_NODE_MODULES``: the ``node_modules``
the Node.js runtime puts on ``NODE_PATH`` where AWS has ``/var/runtime/node_modules``, and that its
ES module loader falls back to). A sandboxed environment sees them where AWS has them, in
/var/runtime (``files``: bound there by name, read-only); an environment on the host is told their
host paths.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import entries

HERE = Path(__file__).resolve().parent
PYTHON_REQUIREMENTS = HERE / "python" / "requirements.txt"
NODE_MANIFEST = HERE / "nodejs" / "package.json"
NODE_LOCK = HERE / "nodejs" / "package-lock.json"

SDK_DIR_VARIABLE = "LAMINA_SDK_DIR"
DEFAULT_DIR = "~/.cache/lamina/sdk"
PYTHON_VARIABLE = "_LAMINA_SDK_PYTHON"
NODE_VARIABLE = "_LAMINA_SDK_NODE_MODULES"

# The Python trees: the lowest minor version each is for (python3.9's botocore wants urllib3 1.26,
# later ones take urllib3 2).
PYTHON_TREES = (9, 10)


def digest(*files: Path) -> str:
    """A short digest of ``files``' contents: the name of the tree installed from them."""
    h = hashlib.sha256()
    for file in files:
        h.update(file.read_bytes())
    return h.hexdigest()[:16]


def default_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(SDK_DIR_VARIABLE) or DEFAULT_DIR).expanduser()


def python_tree_for(minor: int) -> int:
    """The Python tree a ``python3.<minor>`` runtime uses (its lowest minor version)."""
    return max(tree for tree in PYTHON_TREES if tree <= minor) if minor >= PYTHON_TREES[0] else PYTHON_TREES[0]


@dataclass(frozen=True)
class Sdks:
    """Where the SDKs' trees are under ``base`` (whether or not they are installed)."""

    base: Path

    @property
    def python_root(self) -> Path:
        return self.base / "python" / digest(PYTHON_REQUIREMENTS)

    def python_dir(self, minor: int) -> Path:
        """What a ``python3.<minor>`` runtime puts on ``sys.path`` (boto3, botocore, ...)."""
        return self.python_root / f"3.{python_tree_for(minor)}"

    @property
    def node_root(self) -> Path:
        return self.base / "nodejs" / digest(NODE_LOCK)

    @property
    def node_modules(self) -> Path:
        """What a ``nodejsNN.x`` runtime resolves ``@aws-sdk/*`` from."""
        return self.node_root / "node_modules"

    def installed(self) -> dict[str, bool]:
        """Which SDKs are installed: ``{"python": ..., "nodejs": ...}``."""
        return {"python": self.python_root.is_dir(), "nodejs": self.node_modules.is_dir()}

    def kept(self) -> tuple[Path, ...]:
        """The installed trees, where they are on the host (sandboxed environments see their entries
        in /var/runtime instead: ``files``)."""
        return tuple(p for p in (self.python_root, self.node_root) if p.is_dir())

    def variables(self, family: str, runtime_name: str, *, runtime_dir: str | None = None) -> dict[str, str]:
        """The private variables that tell a runtime of ``family`` where its SDK is; none if it is
        not installed (or the family has none: AWS's java, dotnet and provided runtimes carry no SDK).
        With ``runtime_dir`` (a sandboxed environment's /var/runtime, where ``files`` are bound),
        where the environment sees it; else where it is on the host."""
        if family == "python":
            path = self.python_dir(int(runtime_name.rpartition(".")[2]))
            if not path.is_dir():
                return {}
            return {PYTHON_VARIABLE: runtime_dir or str(path)}
        if family == "nodejs" and self.node_modules.is_dir():
            return {NODE_VARIABLE: f"{runtime_dir}/node_modules" if runtime_dir else str(self.node_modules)}
        return {}

    def files(self, family: str, runtime_name: str) -> dict[str, Path]:
        """What a sandboxed environment of ``family`` sees of its SDK in /var/runtime, by name, as on
        AWS: boto3, botocore and the rest beside the Python runtime; ``node_modules`` for Node.js."""
        if family == "python":
            path = self.python_dir(int(runtime_name.rpartition(".")[2]))
            return entries(path) if path.is_dir() else {}
        if family == "nodejs" and self.node_modules.is_dir():
            return {"node_modules": self.node_modules}
        return {}
