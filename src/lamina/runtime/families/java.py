"""Java: ``java8.al2``, ``java11``, ``java17``, ``java21``, ``java25`` on a host JDK of that major
version, running AWS's own Java runtime interface client
(``com.amazonaws:aws-lambda-java-runtime-interface-client``).

The client is installed by ``scripts/install/java.sh`` into ``$LAMINA_JAVA_RIC_DIR`` (default
``/usr/local/lib/lamina/java``): its jars in ``lib/``, its native Runtime API client unpacked in
``jni/``, Lamina's main class in ``lamina-runtime.jar`` (``runtime/java/framed.py``), a
class-data-sharing archive of it all per JDK in ``cds/`` (``runtime/java/cds.py``). An environment
runs ``runtime/java/bootstrap.sh``, which sizes the JVM from the function's memory and execs ``java
... LaminaRuntime $_HANDLER``: AWS's runtime loop, handler loading, serialisation, context and
logging, with the Runtime API spoken over Lamina's framed channel (without the jar, AWS's own
``AWSLambda``, over HTTP). The client loads the function's classes from its code (the
task root, then ``lib/*.jar``, then layers' ``/opt/java/lib``) in a class loader of its own, as on
Lambda. A JDK is found from ``LAMINA_JAVA<N>`` (its ``java`` or its home), ``JAVA_HOME``,
``/usr/lib/jvm/*`` and ``java`` on the PATH, by the major version its ``release`` file names.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Mapping

from lamina.runtime.families import Missing, Runtime, entries, runtime_of
from lamina.settings import runtime_variable
from lamina.runtime.java.cds import (
    BOOTSTRAP, JNI_PROPERTY, existing_archive, major_version, native_library, release_major, runtime_flags,
)  # fmt: skip
from lamina.runtime.java.framed import built_from, jar_path, sources_digest

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
    full = _full_version(java)
    return major_version(full) if full else None


def _full_version(java: Path) -> str | None:
    """The version ``java -version`` names ("17.0.15"); None if it does not run."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION_OUTPUT.search(out.stderr)
    return match[1] if out.returncode == 0 and match else None


def find_java(major: int, candidates: list[str], others: dict[Path, int] | None = None) -> tuple[Path, str] | None:
    """The first candidate that is a working ``java`` of version ``major``, and its full version;
    ``others`` collects the JDKs of other versions met on the way."""
    seen: set[Path] = set()
    for candidate in candidates:
        java = _executable(candidate)
        if java is None or java in seen:
            continue
        seen.add(java)
        declared = _version(java)
        if declared != major:
            if others is not None and declared is not None:
                others[java] = declared
            continue
        full = _full_version(java)
        if full is not None and major_version(full) == major:
            return java, full
    return None


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    match = _NAME.match(name)
    if not match:
        return None
    major = int(match[1])
    others: dict[Path, int] = {}
    found = find_java(major, [overrides[name]] if name in overrides else _candidates(), others)
    if found is None:
        return missing_jdk(name, major, overrides, others)
    java, version = found
    ric = ric_dir()
    if not _ric_installed(ric):
        return Missing(
            f"AWS's Java runtime interface client (aws-lambda-java-runtime-interface-client) in {ric}",
            f"scripts/install/java.sh (it fetches the client from Maven Central), or set {RIC_DIR_VARIABLE} "
            "to where it is installed", f"found JDK {version} at {java}",
        )  # fmt: skip
    java_home = java.parent.parent
    jar = jar_path(ric)
    return Runtime(
        name, "java", ("/bin/sh", str(BOOTSTRAP), str(java), str(ric), str(existing_archive(ric, java) or "-"),
                       str(jar or "-"), *jvm_flags(major, ric)),
        keep=(java_home, ric, BOOTSTRAP.parent), home=ric, files=entries(ric),
        interpreter=str(java), version=version, requires=(java, ric / "lib"), note=framed_note(ric, jar),
    )  # fmt: skip


def framed_note(ric: Path, jar: Path | None) -> str:
    """What the start-up log says when Java functions do not get the framed channel as built now."""
    if jar is None:
        return (f"no {ric / 'lamina-runtime.jar'}: Java functions run AWS's client over HTTP (slower warm "
                "invocations); scripts/install/java.sh builds it")
    if built_from(jar) != sources_digest():
        return f"{jar} was built from other sources than this Lamina's: scripts/install/java.sh rebuilds it"
    return ""


def missing_jdk(name: str, major: int, overrides: Mapping[str, str], others: Mapping[Path, int]) -> Missing:
    """No JDK ``major``: a Java runtime runs only on its own version (class files of a newer one do
    not load on an older JVM, and AWS runs each on exactly that one)."""
    variable = runtime_variable(name)
    package = "openjdk-8-jdk-headless" if major == 8 else f"openjdk-{major}-jdk-headless"
    install = (f"a JDK {major} (the distribution's {package} where it has one, else Eclipse Temurin {major} "
               f"from adoptium.net), then scripts/install/java.sh; point {variable} at it unless it is in "
               f"/usr/lib/jvm or JAVA_HOME")  # fmt: skip
    if name in overrides:
        found = f"{variable} names {overrides[name]}, which is not a working JDK {major}"
    elif others:
        found = "found only " + ", ".join(f"JDK {v} at {path}" for path, v in others.items())
    else:
        found = "no java in JAVA_HOME, /usr/lib/jvm, /usr/java or on PATH"
    return Missing(f"a JDK {major} (java {major})", install, found)


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))
