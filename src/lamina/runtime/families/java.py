"""Java: ``java8.al2``, ``java11``, ``java17``, ``java21``, ``java25`` on a host JDK of that major
version, running AWS's own Java runtime interface client
(``com.amazonaws:aws-lambda-java-runtime-interface-client``).

The client is installed by ``scripts/install/java.sh`` into ``$LAMINA_JAVA_RIC_DIR`` (default
``/usr/local/lib/lamina/java``): its jars in ``lib/``, its native Runtime API client unpacked in
``jni/``, a class-data-sharing archive of it per JDK in ``cds/`` (``runtime/java/cds.py``). An
environment runs ``runtime/java/bootstrap.sh``, which sizes the JVM from the function's memory and
execs ``java ... AWSLambda $_HANDLER``; the client loads the function's classes from its code (the
task root, then ``lib/*.jar``, then layers' ``/opt/java/lib``) in a class loader of its own, as on
Lambda. A JDK is found from ``LAMINA_JAVA<N>`` (its ``java`` or its home), ``JAVA_HOME``,
``/usr/lib/jvm/*`` and ``java`` on the PATH, by the major version its ``release`` file names.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Runtime, entries
from lamina.runtime.java.cds import (
    BOOTSTRAP, JNI_PROPERTY, existing_archive, major_version, native_library, release_major, runtime_flags,
)  # fmt: skip

log = logging.getLogger(__name__)

DEFAULT_RIC_DIR = Path("/usr/local/lib/lamina/java")
RIC_DIR_VARIABLE = "LAMINA_JAVA_RIC_DIR"

_NAME = re.compile(r"^java(\d+)(?:\.al2)?$")
_VERSION_OUTPUT = re.compile(r'version "([^"]+)"')


def owns(name: str) -> bool:
    return bool(_NAME.match(name))


def jvm_flags(major: int, ric_dir: Path) -> list[str]:
    """AWS's JVM flags besides the memory-sized ones (``bootstrap.sh`` adds those), and the client's
    JNI library (else the client unpacks it to /tmp at every start)."""
    flags = runtime_flags(major)
    jni = native_library(ric_dir)
    if jni is not None:
        flags.append(f"-D{JNI_PROPERTY}={jni}")
    return flags


def ric_dir() -> Path:
    return Path(os.environ.get(RIC_DIR_VARIABLE) or DEFAULT_RIC_DIR)


def _ric_installed(directory: Path) -> bool:
    return bool(glob.glob(str(directory / "lib" / "aws-lambda-java-runtime-interface-client-*.jar")))


def _candidates() -> list[str]:
    found = []
    if os.environ.get("JAVA_HOME"):
        found.append(os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    found += sorted(glob.glob("/usr/lib/jvm/*/bin/java"), reverse=True)
    found += sorted(glob.glob("/usr/java/*/bin/java"), reverse=True)
    on_path = shutil.which("java")
    if on_path:
        found.append(on_path)
    return found


def _executable(candidate: str) -> Path | None:
    """The real path of a ``java`` given as the executable or as a JDK's home."""
    path = Path(candidate)
    if path.is_dir():
        path = path / "bin" / "java"
    real = path.resolve()
    return real if real.is_file() and os.access(real, os.X_OK) else None


def _version(java: Path) -> int | None:
    """The major version of ``java``: from its JDK's ``release`` file, else from ``java -version``."""
    return release_major(java) or _probe_version(java)


def _probe_version(java: Path) -> int | None:
    """What ``java -version`` says its version is; None if it does not run."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_OUTPUT.search(out.stderr)
    return major_version(match[1]) if out.returncode == 0 and match else None


def find_java(major: int, candidates: list[str]) -> Path | None:
    """The first candidate that is a working ``java`` of version ``major``."""
    seen: set[Path] = set()
    for candidate in candidates:
        java = _executable(candidate)
        if java is None or java in seen:
            continue
        seen.add(java)
        if _version(java) == major and _probe_version(java) == major:
            return java
    return None


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    match = _NAME.match(name)
    if not match:
        return None
    major = int(match[1])
    java = find_java(major, [overrides[name]] if name in overrides else _candidates())
    if java is None:
        return None
    ric = ric_dir()
    if not _ric_installed(ric):
        log.warning("%s: found %s, but not AWS's Java runtime interface client in %s (run scripts/install/java.sh, "
                    "or set %s)", name, java, ric, RIC_DIR_VARIABLE)  # fmt: skip
        return None
    java_home = java.parent.parent
    return Runtime(
        name, "java", ("/bin/sh", str(BOOTSTRAP), str(java), str(ric), str(existing_archive(ric, java) or "-"),
                       *jvm_flags(major, ric)),
        keep=(java_home, ric, BOOTSTRAP.parent), home=ric, files=entries(ric),
    )  # fmt: skip
