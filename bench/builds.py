"""The deployment packages of the ``runtimes`` scenario that need a build, built as AWS documents.

- Java: ``mvn package`` of ``bench/hello/java`` (against ``aws-lambda-java-core``): the classes at
  the root of the package and the dependencies in ``lib/``, the .zip layout Lambda's Java runtimes
  load.
- C#: ``mcs -target:library`` of ``bench/hello/dotnet/Function.cs`` against the
  ``Amazon.Lambda.Core`` and ``Amazon.Lambda.Serialization.SystemTextJson`` assemblies of
  Lamina's .NET runtime (``/usr/local/lib/lamina/dotnet/current``, or under
  ``~/.local/share/lamina/dotnet`` when not root), as docs/runtimes/dotnet.md does.
- Go: ``CGO_ENABLED=0 GOOS=linux go build -tags lambda.norpc -o bootstrap`` of
  ``bench/hello/go`` (aws-lambda-go, from the Go module proxy on the first build).

Each package is built once per change of its inputs: the sources, the toolchain's version and,
for C#, the assemblies it is compiled against. It is kept in ``.cache/bench/runtimes/KIND-KEY/``
(git ignores ``.cache``), where it appears by one rename of a finished folder, so an interrupted
build leaves nothing that a later run would take for a package. Go's module and build caches
are kept beside it. A missing toolchain raises ``Missing``, whose message says what to install;
a build that fails raises ``BuildFailed`` with the end of its output. A build that outlives its
time limit, or an interrupted run, kills the build's process group (the build's own children).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.types import Progress

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "bench" / "hello"
CACHE = ROOT / ".cache" / "bench" / "runtimes"
BUILD_TIMEOUT_S = 900.0
DOTNET_BUILDS = (Path("/usr/local/lib/lamina/dotnet"), Path.home() / ".local" / "share" / "lamina" / "dotnet")
CORE_DLL = "Amazon.Lambda.Core.dll"
SERIALIZER_DLL = "Amazon.Lambda.Serialization.SystemTextJson.dll"


class Missing(Exception):
    """A toolchain the build needs is not installed (the message says which, and how to get it)."""


class BuildFailed(Exception):
    """The toolchain is there but the build failed (the message ends with its last output)."""


@dataclass(frozen=True)
class Package:
    """A deployment package's files by name, which of them are executable, and how it was obtained."""

    files: Mapping[str, bytes]
    executable: frozenset[str]
    how: str  # "cached" or "built in N s"


async def _run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
               timeout: float = BUILD_TIMEOUT_S) -> tuple[int, str]:  # fmt: skip
    """Run a build step in a process group of its own; its exit status and output (stderr included)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=None if env is None else dict(env), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except BaseException:  # timed out or interrupted: the build and what it started go too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def _output(argv: Sequence[str], cwd: Path = ROOT) -> str:
    """What a version query prints (exit status ignored): part of a cache key."""
    return (await _run(argv, cwd, timeout=60.0))[1]


def _tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def _key(sources: Path, *extra: bytes) -> str:
    """A digest of every file under ``sources`` (name and content) and of ``extra``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in sources.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(sources)).encode() + b"\0" + path.read_bytes() + b"\0")
    for item in extra:
        digest.update(item + b"\0")
    return digest.hexdigest()[:20]


def _read(package: Path, how: str) -> Package:
    files: dict[str, bytes] = {}
    executable: set[str] = set()
    for path in sorted(p for p in package.rglob("*") if p.is_file()):
        name = path.relative_to(package).as_posix()
        files[name] = path.read_bytes()
        if path.stat().st_mode & stat.S_IXUSR:
            executable.add(name)
    return Package(files, frozenset(executable), how)


async def _cached(kind: str, key: str, build: Callable[[Path], Awaitable[None]], progress: Progress) -> Package:
    """The package ``kind`` with inputs ``key``: from the cache, or built by ``build(work)`` into ``work/package``."""
    final = CACHE / f"{kind}-{key}"
    if (final / "package").is_dir():
        return _read(final / "package", "cached")
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Created by the benchmark suite: nothing here belongs in git.\n*\n")
    progress(f"building the {kind} hello world into {final.relative_to(ROOT)} (once per change of its inputs)")
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=CACHE))
    try:
        await build(work)
        if not (work / "package").is_dir():
            raise BuildFailed(f"the {kind} build left no package")
        for leftover in work.iterdir():
            if leftover.name != "package":
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        try:
            os.rename(work, final)
        except OSError:
            if not (final / "package").is_dir():
                raise
            shutil.rmtree(work)  # built meanwhile by another run
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return _read(final / "package", f"built in {time.monotonic() - started:.0f} s")


async def java(progress: Progress) -> Package:
    """``bench/hello/java`` built with Maven: ``example/Hello.class`` and ``lib/aws-lambda-java-core-*.jar``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Missing("no Maven (mvn) on PATH: scripts/install/java.sh installs a JDK 17 and Maven")
    sources = HELLO / "java"
    key = _key(sources, (await _output([mvn, "-B", "-v"])).encode())

    async def build(work: Path) -> None:
        project = work / "project"
        shutil.copytree(sources, project)
        status, out = await _run([mvn, "-q", "-B", "package"], project)
        if status != 0:
            raise BuildFailed(f"mvn package failed ({status}):\n{_tail(out)}")
        os.rename(project / "target" / "lambda", work / "package")

    return await _cached("java", key, build, progress)


def dotnet_references() -> Path | None:
    """The folder of Lamina's built .NET runtime whose assemblies functions compile against, if any."""
    builds = DOTNET_BUILDS if os.geteuid() == 0 else DOTNET_BUILDS[::-1]
    for folder in builds:
        current = folder / "current"
        if (current / CORE_DLL).is_file() and (current / SERIALIZER_DLL).is_file():
            return current.resolve()
    return None


async def dotnet(progress: Progress) -> Package:
    """``bench/hello/dotnet/Function.cs`` compiled with mcs: ``HelloWorld.dll`` (and its ``.mdb``)."""
    mcs = shutil.which("mcs")
    if mcs is None:
        raise Missing("no Mono C# compiler (mcs) on PATH: scripts/install/dotnet.sh installs Mono")
    refs = dotnet_references()
    if refs is None:
        raise Missing(f"Lamina's .NET runtime is not built (no {CORE_DLL} under "
                      f"{' or '.join(str(d / 'current') for d in DOTNET_BUILDS)}): scripts/install/dotnet.sh builds it")  # fmt: skip
    sources = HELLO / "dotnet"
    references = [refs / CORE_DLL, refs / SERIALIZER_DLL]
    key = _key(sources, (await _output([mcs, "--version"])).encode(), *(r.read_bytes() for r in references))

    async def build(work: Path) -> None:
        (work / "package").mkdir()
        argv = [mcs, "-nologo", "-target:library", "-debug", f"-out:{work / 'package' / 'HelloWorld.dll'}"]
        argv += [f"-r:{r}" for r in references] + [str(sources / "Function.cs")]
        status, out = await _run(argv, work)
        if status != 0:
            raise BuildFailed(f"mcs failed ({status}):\n{_tail(out)}")

    return await _cached("dotnet", key, build, progress)


def go_tool() -> str | None:
    found = shutil.which("go")
    return found or next((p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if os.access(p, os.X_OK)), None)


async def go(progress: Progress) -> Package:
    """``bench/hello/go`` built with aws-lambda-go into an executable ``bootstrap``."""
    tool = go_tool()
    if tool is None:
        raise Missing("no Go toolchain (go) found: scripts/install/go.sh installs one")
    sources = HELLO / "go"
    key = _key(sources, (await _output([tool, "version"])).encode())
    env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local",
           "GOMODCACHE": str(CACHE / "gomodcache"), "GOCACHE": str(CACHE / "gocache")}  # fmt: skip

    async def build(work: Path) -> None:
        project = work / "project"
        shutil.copytree(sources, project)
        (work / "package").mkdir()
        argv = [tool, "build", "-tags", "lambda.norpc", "-o", str(work / "package" / "bootstrap"), "."]
        status, out = await _run(argv, project, env)
        if status != 0:
            raise BuildFailed(f"go build failed ({status}):\n{_tail(out)}")

    return await _cached("go", key, build, progress)


def files_of(folder: Path, how: str = "as written") -> Package:
    """A package that needs no build: the files of ``folder`` (an example) as they are."""
    return _read(folder, how)
