"""Architectures (runtime/architecture.py): ELF headers read, how an executable runs on a host, and
which functions a host refuses, with plain values."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue
from lamina.runtime import architecture as a


def elf(machine: int, *, little: bool = True) -> bytes:
    """The first 64 bytes of an ELF executable for ``machine`` (e_machine)."""
    if little:
        fields = (2).to_bytes(2, "little") + machine.to_bytes(2, "little")
    else:
        fields = (2).to_bytes(2, "big") + machine.to_bytes(2, "big")
    return b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + bytes(9) + fields + bytes(44)


def test_elf_headers_name_their_architecture() -> None:
    assert a.elf_architecture(elf(62)) == a.X86_64
    assert a.elf_architecture(elf(183)) == a.ARM64
    assert a.elf_architecture(elf(183, little=False)) == a.ARM64
    assert a.elf_architecture(elf(40)) == ""  # 32-bit ARM: ELF, but neither of Lambda's
    assert a.elf_architecture(b"#!/bin/sh\necho hi\n" + bytes(20)) is None
    assert a.elf_architecture(b"\x7fELF") is None  # too short to say


@pytest.mark.parametrize(
    ("function_arch", "header", "fails"),
    [
        (a.ARM64, elf(183), False),
        (a.ARM64, elf(62), True),
        (a.X86_64, elf(183), True),
        (a.X86_64, elf(62), False),
        (a.X86_64, elf(40), True),
        (a.ARM64, b"#!/bin/bash\n" + bytes(20), False),  # a script: its interpreter is the host's
        (a.X86_64, b"just some text, not a program", True),
        (a.X86_64, b"", True),
    ],
)  # fmt: skip
def test_what_fails_with_exec_format_error(function_arch: str, header: bytes, fails: bool) -> None:
    assert a.mismatch(function_arch, header) is fails


def test_how_an_executable_runs_on_a_host() -> None:
    assert a.choose(a.X86_64, a.X86_64, None, False) == a.NATIVE
    assert a.choose(a.ARM64, a.ARM64, None, False) == a.NATIVE
    emulated = a.choose(a.ARM64, a.X86_64, "/usr/bin/qemu-aarch64-static", False)
    assert emulated == a.Emulation(emulator="/usr/bin/qemu-aarch64-static")
    assert emulated.command(["/var/task/bootstrap"]) == ["/usr/bin/qemu-aarch64-static", "/var/task/bootstrap"]
    # binfmt_misc first: the bootstrap's own children are emulated too.
    through_binfmt = a.choose(a.ARM64, a.X86_64, "/usr/bin/qemu-aarch64-static", True)
    assert through_binfmt == a.Emulation(binfmt=True)
    assert through_binfmt.command(["/var/task/bootstrap"]) == ["/var/task/bootstrap"]
    assert a.choose(a.ARM64, a.X86_64, None, False) is None
    assert a.choose(a.X86_64, a.ARM64, None, False) is None


def test_host_architectures_and_emulator_names() -> None:
    assert a.host_architecture("x86_64") == a.X86_64 and a.host_architecture("aarch64") == a.ARM64
    assert a.host_architecture("riscv64") is None
    assert a.emulator_name(a.ARM64) == "qemu-aarch64-static"
    assert a.emulator_name(a.X86_64) == "qemu-x86_64-static"


def test_binfmt_registration_is_read_from_its_directory(tmp_path: Path) -> None:
    assert not a.binfmt_registered(a.ARM64, tmp_path)  # not mounted
    (tmp_path / "status").write_text("enabled\n")
    assert not a.binfmt_registered(a.ARM64, tmp_path)  # no entry
    (tmp_path / "qemu-aarch64").write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n")
    assert a.binfmt_registered(a.ARM64, tmp_path)
    (tmp_path / "qemu-aarch64").write_text("disabled\n")
    assert not a.binfmt_registered(a.ARM64, tmp_path)
    (tmp_path / "qemu-aarch64").write_text("enabled\n")
    (tmp_path / "status").write_text("disabled\n")
    assert not a.binfmt_registered(a.ARM64, tmp_path)


def test_a_host_without_emulation_refuses_custom_runtimes_for_the_other_architecture() -> None:
    def nothing(arch: str) -> a.Emulation | None:
        return a.NATIVE if arch == a.X86_64 else None

    with pytest.raises(InvalidParameterValue) as refused:
        a.check("provided.al2023", (a.ARM64,), how=nothing)
    assert "qemu-aarch64-static" in refused.value.message and "qemu-user-static" in refused.value.message
    a.check("provided.al2023", (a.X86_64,), how=nothing)
    # Interpreted runtimes run on the host's interpreter, whatever the architecture.
    a.check("python3.12", (a.ARM64,), how=nothing)
    a.check("nodejs20.x", (a.ARM64,), how=nothing)
    a.check("provided.al2023", (a.ARM64,), how=lambda arch: a.Emulation(emulator="/usr/bin/qemu-aarch64-static"))


def test_finding_the_emulator_on_this_host(tmp_path: Path) -> None:
    host = a.host_architecture()
    other = a.ARM64 if host == a.X86_64 else a.X86_64
    asked: list[tuple[str, str]] = []

    def which(name: str, path: str) -> str | None:
        asked.append((name, path))
        return f"/usr/bin/{name}" if name == a.emulator_name(other) else None

    assert a.find(host, which=which, binfmt_dir=tmp_path) == a.NATIVE and not asked  # nothing to look for
    assert a.find(other, which=which, binfmt_dir=tmp_path) == a.Emulation(emulator=f"/usr/bin/{a.emulator_name(other)}")
    assert asked == [(a.emulator_name(other), a.SEARCH)]  # only where the sandbox sees it
    assert a.find(other, which=lambda name, path: None, binfmt_dir=tmp_path) is None
    (tmp_path / "status").write_text("enabled\n")
    (tmp_path / f"qemu-{a.QEMU_NAMES[other]}").write_text("enabled\n")
    assert a.find(other, which=lambda name, path: None, binfmt_dir=tmp_path) == a.Emulation(binfmt=True)
