"""Node.js: ``nodejsNN.x`` on a host ``node`` of major version NN, running Lamina's runtime
(``runtime/nodejs``, JavaScript, Node's standard library only).

An environment starts as ``/bin/sh /var/runtime/bootstrap.sh <node> <NN>`` (the runtime's files are
in /var/runtime, the AWS SDK in /var/runtime/node_modules, as on AWS): the script sizes V8's heap
from the function's memory, as AWS's bootstrap does, then execs ``node index.cjs``. NODE_PATH is
AWS's (``node_path``), unless the function sets its own. Interpreters are found on PATH, in the usual
install places and in nvm's and n's version directories, and resolved once to their real path;
``LAMINA_NODEJS22_X=/path/to/node`` picks one (it must be that major version).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Missing, Runtime, entries, probe, runtime_of
from lamina.settings import runtime_variable

RUNTIME_DIR = Path(__file__).resolve().parent.parent / "nodejs"
BOOTSTRAP = RUNTIME_DIR / "bootstrap.sh"
_NAME = re.compile(r"^nodejs(\d+)\.x$")
_PROBE = "console.log(process.versions.node.split('.')[0]); console.log(process.execPath); console.log(process.versions.node)"


def node_path(major: str) -> str:
    """AWS's NODE_PATH for ``nodejs<major>.x``: layers' directories, the runtime's SDK, the runtime, the code."""
    return f"/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:{{sdk_node_modules}}:{{runtime_dir}}:{{task_root}}"


def owns(name: str) -> bool:
    return bool(_NAME.match(name))


def _version_dirs(pattern: str) -> list[str]:
    """Matching installations, newest first (v20.10 before v20.9)."""

    def key(path: str) -> tuple[int, ...]:
        found = re.search(r"(\d+)\.(\d+)\.(\d+)", path)
        return tuple(int(part) for part in found.groups()) if found else ()

    return sorted(glob.glob(pattern), key=key, reverse=True)


def _candidates(major: int) -> list[str]:
    found = [path for path in (shutil.which(f"node{major}"), shutil.which("node"), shutil.which("nodejs")) if path]
    nvm_dir = os.environ.get("NVM_DIR", os.path.expanduser("~/.nvm"))
    found += _version_dirs(f"{nvm_dir}/versions/node/v{major}.*/bin/node")
    n_prefix = os.environ.get("N_PREFIX", "/usr/local")
    found += _version_dirs(f"{n_prefix}/n/versions/node/{major}.*/bin/node")
    found += ["/usr/local/bin/node", "/usr/bin/node", "/usr/bin/nodejs"]
    unique: dict[str, str] = {}  # each installation once (``nodejs`` is often a link to ``node``)
    for path in found:
        if os.path.isfile(path):
            unique.setdefault(os.path.realpath(path), path)
    return list(unique.values())


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    match = _NAME.match(name)
    if not match:
        return None
    major = match[1]
    candidates = [overrides[name]] if name in overrides else _candidates(int(major))
    others: dict[str, str] = {}  # other versions found: real path -> version
    for candidate in candidates:
        out = probe([candidate, "-e", _PROBE])
        lines = out.splitlines() if out else []
        if len(lines) != 3:
            continue
        real = str(Path(lines[1]).resolve())
        if lines[0] != major:
            others[real] = lines[2]
            continue
        prefix = Path(real).parent.parent
        return Runtime(
            name, "nodejs", ("/bin/sh", "{runtime_dir}/bootstrap.sh", real, major), keep=(prefix,),
            env={"NODE_PATH": node_path(major)}, home=RUNTIME_DIR,
            files=entries(RUNTIME_DIR, suffixes=(".sh", ".cjs", ".mjs")),
            interpreter=real, version=lines[2], requires=tuple(dict.fromkeys((Path(real), Path(candidate)))),
        )  # fmt: skip
    return missing(name, major, overrides, others)


def missing(name: str, major: str, overrides: Mapping[str, str], others: Mapping[str, str]) -> Missing:
    """Node.js ``major`` is not here: nodejsNN.x runs only on that major version (AWS's does; the
    language and Node's APIs change between them)."""
    variable = runtime_variable(name)
    install = (f"Node.js {major} from nodejs.org, NodeSource or nvm (nvm install {major}), then point {variable} at "
               f"its node unless it is the node on PATH (scripts/install/nodejs.sh installs the distribution's nodejs "
               f"and what the runtime's tests need)")  # fmt: skip
    if name in overrides:
        found = f"{variable} names {overrides[name]}, which is not a working node {major}"
    elif others:
        found = "found only " + ", ".join(f"node {version} at {path}" for path, version in others.items())
    else:
        found = "no node on PATH, in nvm's or n's versions, /usr/local/bin or /usr/bin"
    return Missing(f"a Node.js {major} interpreter (node)", install, found)


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))
