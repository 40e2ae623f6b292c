"""C#: ``dotnet8`` and ``dotnet10`` on the host's Mono, running Lamina's .NET runtime (``runtime/dotnet``).

Debian packages no .NET SDK, so functions run on Mono (``mono``) and are compiled with Mono's C#
compiler (``mcs``) against Lamina's own Amazon.Lambda.Core (``scripts/install/dotnet.sh`` installs
both). The runtime's C# sources are compiled on first use into ``<root>/<digest of the sources>/``,
and compiled ahead of time to native code where Mono can (it needs binutils; it halves the cold
start, and Mono falls back to its JIT where the native images are missing or stale):
a change to the sources makes a new build, never a stale one, and environments already running keep
the build they started with. ``<root>/current`` points at the newest build; that is where functions
find ``Amazon.Lambda.Core.dll`` to compile against. ``<root>`` is /usr/local/lib/lamina/dotnet
where Lamina may write (as root), else ~/.local/share/lamina/dotnet (kept visible in the sandbox).

``python -m lamina.runtime.families.dotnet`` builds the runtime and prints its directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

from lamina.runtime.families import Missing, Runtime, entries, probe, runtime_of
from lamina.settings import runtime_variable

log = logging.getLogger(__name__)

NAMES = frozenset({"dotnet8", "dotnet10"})
SOURCES = Path(__file__).resolve().parent.parent / "dotnet"
SYSTEM_ROOT = Path("/usr/local/lib/lamina/dotnet")
RUNTIME_EXE = "Lamina.Runtime.exe"
CORE_DLL = "Amazon.Lambda.Core.dll"
SERIALIZER_DLL = "Amazon.Lambda.Serialization.SystemTextJson.dll"

# What gets compiled: (output, target, references among the outputs, source folders).
_ASSEMBLIES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    (CORE_DLL, "library", (), ("core",)),
    (SERIALIZER_DLL, "library", (CORE_DLL,), ("serialization", "shared")),
    (RUNTIME_EXE, "exe", (CORE_DLL,), ("runtime", "shared")),
)
_MCS_FLAGS = ("-nologo", "-debug", "-optimize+", "-unsafe", "-r:System.Core.dll")
_AOT = ("--aot",)


class BuildError(Exception):
    """Lamina's .NET runtime could not be compiled (the message has the compiler's output)."""


def owns(name: str) -> bool:
    return name in NAMES


def user_root() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(data) / "lamina" / "dotnet"


def source_digest() -> str:
    """A digest of every source file and of how they are compiled: the name of a build."""
    digest = hashlib.sha256(repr((_ASSEMBLIES, _MCS_FLAGS, _AOT)).encode())
    for path in sorted(SOURCES.rglob("*.cs")):
        digest.update(path.relative_to(SOURCES).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def find_mcs(mono: str | None = None) -> str | None:
    """Mono's C# compiler: beside ``mono`` if it has one, else on PATH."""
    if mono:
        beside = Path(mono).parent / "mcs"
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    return shutil.which("mcs")


def ensure_built(mcs: str | None = None, roots: Sequence[Path] | None = None, mono: str | None = None) -> Path:
    """The directory of the runtime's build for the current sources, compiling it if there is none.

    Safe to call from several processes at once: each compiles into a directory of its own and
    renames it into place; the first rename wins and the others use its build.
    """
    digest = source_digest()
    candidates = list(roots) if roots is not None else [SYSTEM_ROOT, user_root()]
    for root in candidates:
        if (root / digest / RUNTIME_EXE).is_file():
            return root / digest
    compiler = mcs or find_mcs()
    if compiler is None:
        raise BuildError("mcs (Mono's C# compiler) is not installed; run scripts/install/dotnet.sh")
    failures = []
    for root in candidates:
        try:
            return _build(compiler, mono or shutil.which("mono"), root, digest)
        except PermissionError as exc:
            failures.append(f"{root}: {exc}")
        except OSError as exc:
            if not _writable(root):
                failures.append(f"{root}: {exc}")
                continue
            raise
    raise BuildError("no place to build Lamina's .NET runtime: " + "; ".join(failures))


def _writable(root: Path) -> bool:
    existing = root
    while not existing.exists():
        existing = existing.parent
    return os.access(existing, os.W_OK)


def _build(mcs: str, mono: str | None, root: Path, digest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    final = root / digest
    work = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=root))
    try:
        for output, target, references, folders in _ASSEMBLIES:
            sources = sorted(str(p) for folder in folders for p in (SOURCES / folder).glob("*.cs"))
            argv = [mcs, *_MCS_FLAGS, f"-target:{target}", f"-out:{work / output}"]
            argv += [f"-r:{work / ref}" for ref in references] + sources
            try:
                done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise BuildError(f"cannot run {mcs}: {exc}") from exc
            if done.returncode != 0:
                raise BuildError(f"compiling {output} failed:\n{done.stdout}{done.stderr}")
        if mono:
            _compile_ahead_of_time(mono, work)
        for path in work.iterdir():
            os.chmod(path, 0o755 if path.suffix == ".so" else 0o644)
        os.chmod(work, 0o755)
        try:
            os.rename(work, final)
        except OSError:
            if not (final / RUNTIME_EXE).is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    link = root / f".current-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(digest)
    os.replace(link, root / "current")
    log.info("built Lamina's .NET runtime in %s", final)
    return final


def _compile_ahead_of_time(mono: str, work: Path) -> None:
    for output, _, _, _ in _ASSEMBLIES:
        try:
            done = subprocess.run([mono, *_AOT, output], cwd=work, capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            done = None
            log.info("no native image of %s (%s): it will be JIT-compiled", output, exc)
        if done is not None and done.returncode != 0:
            log.info("no native image of %s: it will be JIT-compiled\n%s%s", output, done.stdout, done.stderr)
        if done is None or done.returncode != 0:
            (work / f"{output}.so").unlink(missing_ok=True)


_INSTALL = "scripts/install/dotnet.sh (Debian's mono-runtime and mono-mcs: apt-get install mono-runtime mono-mcs)"


def find(name: str, overrides: Mapping[str, str]) -> Runtime | Missing | None:
    if name not in NAMES:
        return None
    candidate = overrides.get(name) or shutil.which("mono") or "/usr/bin/mono"
    version = probe([candidate, "--version"])
    if not version or not version.startswith("Mono JIT compiler"):
        variable = runtime_variable(name)
        found = (f"{variable} names {candidate}, which is not a working mono" if name in overrides
                 else "no mono on PATH or in /usr/bin")  # fmt: skip
        return Missing("Mono (mono), which runs .NET functions here", f"{_INSTALL}, or point {variable} at a mono",
                       found)  # fmt: skip
    mono = os.path.realpath(candidate)
    mcs = find_mcs(candidate)
    try:
        build = ensure_built(mcs, mono=mono)
    except BuildError as exc:
        if mcs is None:
            return Missing("Mono's C# compiler (mcs), which builds Lamina's .NET runtime", _INSTALL,
                           "Lamina's .NET runtime is not built yet")  # fmt: skip
        return Missing("Lamina's built .NET runtime (Lamina.Runtime.exe)", _INSTALL, f"building it failed: {exc}")
    except OSError as exc:
        return Missing("Lamina's built .NET runtime (Lamina.Runtime.exe)", _INSTALL, f"building it failed: {exc}")
    prefix = Path(mono).parent.parent
    mono_version = mono_release(version)
    return Runtime(
        name, "dotnet", (mono, "--debug", str(build / RUNTIME_EXE)), keep=(build, prefix),
        home=build, files=entries(build), interpreter=mono, version=f"Mono {mono_version}",
        mismatch=f"{name} runs on Mono {mono_version} here, not on .NET {name.removeprefix('dotnet')} as on AWS: "
                 "APIs Mono lacks fail here",
        requires=(Path(mono), build / RUNTIME_EXE),
    )  # fmt: skip


def mono_release(version_output: str) -> str:
    """"6.8.0.105" from ``mono --version``'s first line ("Mono JIT compiler version 6.8.0.105 (...)")."""
    words = version_output.split()
    return words[4] if len(words) > 4 and words[3] == "version" else "?"


def resolve(name: str, overrides: Mapping[str, str]) -> Runtime | None:
    return runtime_of(find(name, overrides))


if __name__ == "__main__":
    print(ensure_built())
