"""Functions' instruction set architectures (``x86_64``, ``arm64``) and how this host runs them.

Lambda runs a function on the architecture its ``Architectures`` names. Lamina runs on one host:

- interpreted and bytecode runtimes (Python, Node.js, Ruby, Java, .NET) run on the host's own
  interpreter whatever the function's architecture: their code does not depend on it. A package
  carrying native code built for the other architecture (an aarch64 wheel on an x86_64 host) fails
  to load it, as it would on Lambda with the wrong architecture;
- a custom runtime's ``bootstrap`` (``provided.al2023``, ``provided.al2``, ``provided``) is the
  function's own executable. Built for the host's architecture, it runs as it is; built for the
  other one, it runs under user-mode emulation (QEMU's ``qemu-aarch64-static`` on an x86_64 host,
  Debian's qemu-user-static): through binfmt_misc where the host has registered the emulator there
  (then programs the bootstrap starts are emulated too), else by running the emulator with the
  bootstrap as its argument. A host with neither refuses such functions when they are created.
- an executable built for another architecture than the function's is refused as Lambda's
  execution environment refuses it: ``fork/exec /var/task/bootstrap: exec format error``
  (Runtime.InvalidEntrypoint), even where binfmt_misc would have run it.

The decisions are pure (``elf_architecture``, ``choose``, ``mismatch``); ``find`` and ``check``
look at the host.
"""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lamina.errors import InvalidParameterValue
from lamina.runtime.families import provided

X86_64, ARM64 = "x86_64", "arm64"
# ELF's e_machine values for the two architectures.
_MACHINES = {62: X86_64, 183: ARM64}
# What ``platform.machine()`` says on hosts of each architecture.
_HOSTS = {"x86_64": X86_64, "amd64": X86_64, "aarch64": ARM64, "arm64": ARM64}
# QEMU's name for each architecture: its emulator ``qemu-<name>-static``, its binfmt_misc entry ``qemu-<name>``.
QEMU_NAMES = {X86_64: "x86_64", ARM64: "aarch64"}
# Where an emulator is looked for: under /usr, which every sandbox's root has (sandbox/enter.py), so
# that the emulator runs inside the environment's sandbox at the same path.
SEARCH = "/usr/bin:/usr/local/bin"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
EXEC_FORMAT_ERROR = "exec format error"


def host_architecture(machine: str | None = None) -> str | None:
    """The host's architecture as Lambda names it (``None``: neither of Lambda's)."""
    return _HOSTS.get((machine if machine is not None else platform.machine()).lower())


def emulator_name(arch: str) -> str:
    return f"qemu-{QEMU_NAMES[arch]}-static"


def elf_architecture(header: bytes) -> str | None:
    """The architecture of the executable whose first bytes are ``header`` (at least 20): ``x86_64``
    or ``arm64``; ``""`` for an ELF file of another machine; ``None`` for a file that is not ELF
    (a script, whose interpreter is the host's)."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return _MACHINES.get(machine, "")


def mismatch(function_arch: str, header: bytes) -> bool:
    """Whether the executable whose first bytes are ``header`` fails to execute in a function of
    ``function_arch`` with "exec format error": an ELF file of another machine, or a file that is
    neither ELF nor a ``#!`` script (whose interpreter is the host's)."""
    arch = elf_architecture(header)
    if arch is None:
        return not header.startswith(b"#!")
    return arch != function_arch


@dataclass(frozen=True)
class Emulation:
    """How a function's executable runs on this host: as it is (natively, or through binfmt_misc),
    or as the argument of ``emulator`` (its path, seen at the same path inside the sandbox)."""

    emulator: str | None = None
    binfmt: bool = False

    def command(self, argv: list[str]) -> list[str]:
        return [self.emulator, *argv] if self.emulator else argv


NATIVE = Emulation()


def choose(arch: str, host: str | None, emulator: str | None, binfmt: bool) -> Emulation | None:
    """How an executable for ``arch`` runs on a ``host`` with ``emulator`` (the path of
    ``qemu-<arch>-static``, if installed) and binfmt_misc registered for ``arch`` or not; ``None``:
    it cannot. binfmt_misc first: it emulates the programs the executable starts as well."""
    if arch == host:
        return NATIVE
    if binfmt:
        return Emulation(binfmt=True)
    if emulator:
        return Emulation(emulator=emulator)
    return None


def binfmt_registered(arch: str, directory: Path = BINFMT_DIR) -> bool:
    """Whether binfmt_misc is enabled with an enabled entry for QEMU's emulation of ``arch``."""
    try:
        if (directory / "status").read_text().strip() != "enabled":
            return False
        return (directory / f"qemu-{QEMU_NAMES[arch]}").read_text().startswith("enabled")
    except OSError:
        return False


def find(arch: str, *, which: Callable[..., str | None] = shutil.which, binfmt_dir: Path = BINFMT_DIR) -> Emulation | None:
    """How this host runs an executable for ``arch`` (see ``choose``), looking at the host."""
    host = host_architecture()
    if arch == host:
        return NATIVE
    emulator = which(emulator_name(arch), path=SEARCH)
    return choose(arch, host, emulator, binfmt_registered(arch, binfmt_dir))


def check(runtime: str, architectures: tuple[str, ...], *, how: Callable[[str], Emulation | None] = find) -> None:
    """Refuse a function (its runtime's name, its architectures) this host cannot run: a custom
    runtime for an architecture it neither has nor emulates. ``InvalidParameterValue`` names what
    to install."""
    if not provided.owns(runtime):
        return
    for arch in architectures:
        if how(arch) is None:
            raise InvalidParameterValue(
                f"This Lamina host ({platform.machine()}) cannot run {arch} functions with a custom runtime: "
                f"it has neither the {emulator_name(arch)} emulator nor binfmt_misc registered for {arch}. "
                f"Install QEMU's user-mode emulation (Debian: apt-get install qemu-user-static), "
                f"or build the bootstrap for {host_architecture() or platform.machine()}."
            )
