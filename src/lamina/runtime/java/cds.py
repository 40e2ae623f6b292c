"""Class-data-sharing archives of AWS's Java runtime interface client, one per host JDK: a JVM that
maps one starts its runtime about twice as fast (the classes of the client, its JSON serialisation
and the JDK it uses are already parsed and verified).

An archive is made in two steps (``python3 cds.py RIC_DIR [JAVA ...]``, from
``scripts/install/java.sh``): a training run starts the runtime exactly as an environment starts it
(``bootstrap.sh``, the same flags), with ``-XX:DumpLoadedClassList``, against a one-shot Runtime
API served here, and handles a few events with ``Trainer.java``; then ``-Xshare:dump`` archives the
classes it loaded, with the same flags again (a JVM whose module options differ from the archive's
rejects part of it, and says so on its output). Archives live in ``RIC_DIR/cds/``, named by the
JDK they belong to: its path, ``release`` file and ``libjvm.so``, so that a JDK updated in place
simply has none (a JVM given an archive of another build would print warnings into every
function's log), and by Lamina's framed runtime jar (``framed.py``) when there is one: the runtime
starts with it on its class path, and so does the training run, so a jar rebuilt or added since
makes the archive another one. The training API speaks HTTP only: the framed client, refused, goes
on over HTTP, so the archive holds the classes of both. Archives need JDK 11 or later.

Standard library only: this file also runs as a script, outside Lamina's environment.
"""

from __future__ import annotations

import glob
import hashlib
import http.server
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Sequence

try:
    from lamina.runtime.java.framed import jar_path
except ImportError:  # run as a script: framed.py is beside this file
    from framed import jar_path  # type: ignore[no-redef,import-not-found]

HERE = Path(__file__).resolve().parent
BOOTSTRAP = HERE / "bootstrap.sh"
TRAINER = HERE / "Trainer.java"
TRAINER_HANDLER = "lamina.training.Trainer::handleRequest"
JNI_PROPERTY = "com.amazonaws.services.lambda.runtime.api.client.runtimeapi.NativeClient.JNI"
MIN_MAJOR = 11  # application class-data sharing in OpenJDK
TRAINING_EVENTS = 3
_RELEASE_VERSION = re.compile(r'^JAVA_VERSION="([^"]+)"', re.MULTILINE)


def major_version(version: str) -> int | None:
    """The feature release of a Java version string: "1.8.0_392" -> 8, "17.0.15" -> 17, "25-ea" -> 25."""
    match = re.match(r"(\d+)(?:\.(\d+))?", version)
    if not match:
        return None
    first = int(match[1])
    return int(match[2]) if first == 1 and match[2] else first


def runtime_flags(major: int) -> list[str]:
    """The JVM flags of AWS's Java runtimes besides the memory-sized ones (``bootstrap.sh`` adds those).

    An archive is made with these same flags: a JVM whose module options differ from the ones the
    archive was made with rejects part of it, and says so on its output.
    """
    flags = ["-XX:+UseSerialGC", "-Xshare:auto", "-Djava.net.preferIPv4Stack=true"]
    if major >= 17:  # Lambda's java17 and later stop tiered compilation at C1: faster cold starts
        flags += ["-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1"]
    if major >= 22:  # the client loads its JNI library with System.load: Java 22+ warns at every start
        flags.append("--enable-native-access=ALL-UNNAMED")
    return flags


def release_major(java: Path) -> int | None:
    """The major version the ``release`` file of ``java``'s JDK names (``java`` is its real path)."""
    try:
        match = _RELEASE_VERSION.search((java.parent.parent / "release").read_text())
    except OSError:
        return None
    return major_version(match[1]) if match else None


def native_library(ric_dir: Path) -> Path | None:
    """The client's JNI library for this machine, unpacked in ``RIC_DIR/jni``; None if it is not."""
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch_64", "arm64": "aarch_64"}.get(
        platform.machine().lower()
    )
    if machine is None:
        return None
    libc = "linux" if platform.libc_ver()[0] == "glibc" else "linux_musl"
    path = ric_dir / "jni" / f"libaws-lambda-jni.{libc}-{machine}.so"
    return path if path.is_file() else None


def _jdk_id(java: Path) -> str | None:
    home = java.parent.parent
    try:
        release = (home / "release").read_bytes()
        jvm = (home / "lib" / "server" / "libjvm.so").stat()
    except OSError:
        return None
    digest = hashlib.sha256(str(java).encode() + b"\0" + release + f"\0{jvm.st_size}:{jvm.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _jar_id(ric_dir: Path) -> str:
    """The archive name's part that names the framed runtime's jar ("" without one)."""
    jar = jar_path(ric_dir)
    if jar is None:
        return ""
    try:
        return "-" + hashlib.sha256(jar.read_bytes()).hexdigest()[:8]
    except OSError:
        return ""


def archive_path(ric_dir: Path, java: Path) -> Path | None:
    """Where the archive of ``java`` (a real path) is or would be; None for a JDK that cannot have one."""
    major = release_major(java)
    jdk = _jdk_id(java)
    if major is None or major < MIN_MAJOR or jdk is None:
        return None
    return ric_dir / "cds" / f"java{major}-{jdk}{_jar_id(ric_dir)}.jsa"


def existing_archive(ric_dir: Path, java: Path) -> Path | None:
    path = archive_path(ric_dir, java)
    return path if path is not None and path.is_file() else None


# -- training ---------------------------------------------------------------------------------


class _TrainingApi(http.server.BaseHTTPRequestHandler):
    """A Runtime API that serves ``TRAINING_EVENTS`` events, then one that ends the run."""

    protocol_version = "HTTP/1.1"
    served = 0
    answered = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        cls = type(self)
        cls.served += 1
        event: dict[str, object] = {"exit": True}
        if cls.served <= TRAINING_EVENTS:
            event = {"n": cls.served, "name": "training", "items": [{"sku": "a", "quantity": 2}], "ok": True}
        body = json.dumps(event).encode()
        self.send_response(200)
        for name, value in (
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4())),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:cds-training"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ("Content-Length", str(len(body))),
        ):
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/response"):
            type(self).answered += 1
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _compile_trainer(java: Path, ric_dir: Path, task_root: Path) -> None:
    javac = java.parent / "javac"
    compiler = str(javac) if javac.is_file() else shutil.which("javac")
    if compiler is None:
        raise RuntimeError("no javac to compile the training function")
    core = sorted(glob.glob(str(ric_dir / "lib" / "aws-lambda-java-core-*.jar")))
    if not core:
        raise RuntimeError(f"no aws-lambda-java-core jar in {ric_dir / 'lib'}")
    subprocess.run([compiler, "--release", "11", "-nowarn", "-cp", core[0], "-d", str(task_root), str(TRAINER)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip


def train(ric_dir: Path, java: Path) -> Path:
    """Make the archive of ``java`` (a real path); its path, or RuntimeError saying why not."""
    target = archive_path(ric_dir, java)
    major = release_major(java)
    if target is None or major is None:
        raise RuntimeError(f"{java}: no archive for this JDK (JDK {MIN_MAJOR}+ with a release file needed)")
    with tempfile.TemporaryDirectory(prefix="lamina-cds-") as work:
        task_root = Path(work) / "task"
        task_root.mkdir()
        _compile_trainer(java, ric_dir, task_root)

        class Api(_TrainingApi):  # counters of this run only
            served = 0
            answered = 0

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
        thread = threading.Thread(target=server.serve_forever, name="cds-training-api", daemon=True)
        thread.start()
        classes = Path(work) / "classes.lst"
        jar = jar_path(ric_dir)
        classpath = _classpath(ric_dir, jar)
        flags = [*runtime_flags(major), f"-XX:DumpLoadedClassList={classes}"]
        jni = native_library(ric_dir)
        if jni is not None:
            flags.append(f"-D{JNI_PROPERTY}={jni}")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TMPDIR": work, "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}", "_HANDLER": TRAINER_HANDLER,
            "LAMBDA_TASK_ROOT": str(task_root), "AWS_LAMBDA_FUNCTION_NAME": "cds-training",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cds-training", "AWS_LAMBDA_LOG_STREAM_NAME": "training",
        }  # fmt: skip
        try:
            run = subprocess.run(["/bin/sh", str(BOOTSTRAP), str(java), str(ric_dir), "-", str(jar or "-"), *flags],
                                 cwd=task_root, env=env, capture_output=True, text=True, timeout=300,
                                 check=False)  # fmt: skip
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
        if run.returncode != 0 or Api.answered != TRAINING_EVENTS or not classes.is_file():
            raise RuntimeError(f"{java}: the training run failed (exit {run.returncode}, "
                               f"{Api.answered} responses):\n{run.stdout[-2000:]}{run.stderr[-2000:]}")  # fmt: skip
        scratch = Path(work) / "archive.jsa"
        dump_flags = [flag for flag in runtime_flags(major) if not flag.startswith("-Xshare:")]
        dump = subprocess.run(
            [str(java), *dump_flags, "-Xshare:dump", f"-XX:SharedClassListFile={classes}",
             f"-XX:SharedArchiveFile={scratch}", "-classpath", classpath],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if dump.returncode != 0 or not scratch.is_file():
            raise RuntimeError(f"{java}: -Xshare:dump failed (exit {dump.returncode}):\n{dump.stdout[-2000:]}"
                               f"{dump.stderr[-2000:]}")  # fmt: skip
        _check(java, classpath, scratch, runtime_flags(major))
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        partial = target.with_suffix(".partial")
        shutil.copyfile(scratch, partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    return target


def _classpath(ric_dir: Path, jar: Path | None) -> str:
    """The class path ``bootstrap.sh`` gives the runtime."""
    lib = str(ric_dir / "lib" / "*")
    return f"{lib}:{jar}" if jar is not None else lib


def _check(java: Path, classpath: str, archive: Path, flags: list[str]) -> None:
    """The archive must map silently: a JVM that cannot use it says so on the function's output."""
    run = subprocess.run(
        [str(java), "-XX:MaxHeapSize=108m", *flags, f"-XX:SharedArchiveFile={archive}", "-classpath", classpath,
         "-version"], capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    said = run.stdout + run.stderr
    if run.returncode != 0 or "[warning]" in said or "[error" in said or "shared archive" in said.lower():
        raise RuntimeError(f"{java}: the new archive does not load cleanly:\n{said}")


# -- command line -----------------------------------------------------------------------------


def _host_javas() -> list[str]:
    found = sorted(glob.glob("/usr/lib/jvm/*/bin/java")) + sorted(glob.glob("/usr/java/*/bin/java"))
    if os.environ.get("JAVA_HOME"):
        found.append(os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    found += [value for key, value in sorted(os.environ.items()) if re.fullmatch(r"LAMINA_JAVA\d+(_AL2)?", key)]
    on_path = shutil.which("java")
    if on_path:
        found.append(on_path)
    return found


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: cds.py RIC_DIR [JAVA ...]   (default: every JDK found on this host)")
        return 0 if argv else 2
    ric_dir = Path(argv[0]).resolve()
    seen: set[Path] = set()
    for candidate in list(argv[1:]) or _host_javas():
        path = Path(candidate)
        java = (path / "bin" / "java" if path.is_dir() else path).resolve()
        if java in seen or not java.is_file():
            continue
        seen.add(java)
        target = archive_path(ric_dir, java)
        if target is None:
            print(f"java: cds: {java}: skipped (JDK {MIN_MAJOR}+ needed)")
        elif target.is_file():
            print(f"java: cds: {java}: archive present ({target.name})")
        else:
            started = time.monotonic()
            try:
                made = train(ric_dir, java)
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                print(f"java: cds: WARNING: {exc}\n  (its functions start without an archive: slower cold starts)")
                continue
            print(f"java: cds: {java}: archive made in {time.monotonic() - started:.1f} s ({made})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
