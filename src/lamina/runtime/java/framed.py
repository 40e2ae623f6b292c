"""Lamina's Java runtime main class: AWS's runtime interface client with the Runtime API spoken over
Lamina's framed channel (``LaminaRuntime.java``, ``FramedRuntimeApiClient.java``), compiled into
``RIC_DIR/lamina-runtime.jar`` by ``python3 framed.py RIC_DIR`` (from ``scripts/install/java.sh``).

The jar is compiled for Java 8, the oldest JDK Lamina runs (``java8.al2``) and the level of AWS's
client itself, so every Java runtime loads it. It records the digest of the sources it was built
from: a later install rebuilds it only when they changed. Without a jar (not installed, or no
``javac`` that can target Java 8), functions run AWS's client over HTTP, as before.

Standard library only: this file also runs as a script, outside Lamina's environment.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
SOURCES = (HERE / "LaminaRuntime.java", HERE / "FramedRuntimeApiClient.java")
JAR_NAME = "lamina-runtime.jar"
MAIN_CLASS = "lamina.runtime.LaminaRuntime"
RELEASE = "8"
_STAMP = "META-INF/lamina-sources.sha256"


def jar_path(ric_dir: Path) -> Path | None:
    """The framed runtime's jar in ``ric_dir``; None when it is not there."""
    path = ric_dir / JAR_NAME
    return path if path.is_file() else None


def sources_digest() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def built_from(jar: Path) -> str | None:
    """The digest of the sources ``jar`` was built from; None if it is not a jar built here."""
    try:
        with zipfile.ZipFile(jar) as archive:
            return archive.read(_STAMP).decode().strip()
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


def _javac() -> str | None:
    on_path = shutil.which("javac")
    if on_path:
        return on_path
    found = sorted(glob.glob("/usr/lib/jvm/*/bin/javac"))
    return found[0] if found else None


def build(ric_dir: Path) -> Path:
    """Compile the sources against the client in ``ric_dir/lib`` into ``ric_dir/lamina-runtime.jar``
    (replaced atomically); its path, or RuntimeError saying why not."""
    javac = _javac()
    if javac is None:
        raise RuntimeError("no javac to compile Lamina's Java runtime")
    target = ric_dir / JAR_NAME
    with tempfile.TemporaryDirectory(prefix="lamina-java-") as work:
        classes = Path(work) / "classes"
        classes.mkdir()
        run = subprocess.run(
            [javac, "--release", RELEASE, "-Xlint:-options", "-encoding", "UTF-8", "-cp", str(ric_dir / "lib" / "*"),
             "-d", str(classes), *map(str, SOURCES)], capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if run.returncode != 0:
            raise RuntimeError(f"javac --release {RELEASE} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nMain-Class: {MAIN_CLASS}\n\n")
            jar.writestr(_STAMP, sources_digest() + "\n")
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    return target


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: framed.py RIC_DIR")
        return 0 if argv else 2
    ric_dir = Path(argv[0]).resolve()
    existing = jar_path(ric_dir)
    if existing is not None and built_from(existing) == sources_digest():
        print(f"java: framed runtime present ({existing})")
        return 0
    try:
        made = build(ric_dir)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"java: WARNING: {exc}\n  (Java functions run AWS's client over HTTP: slower warm invocations)")
        return 0
    print(f"java: framed runtime built ({made})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
