"""The seccomp policy as data: which arguments its masked tests match, and that it compiles."""

from __future__ import annotations

import itertools
import os
import random

from lamina.sandbox.seccomp import CLONE_NAMESPACES, POLICY, Rule, build_filter

ALLOWED_PERSONAS = {0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF}


def matches(rule: Rule, argument: int) -> bool:
    """Whether ``rule`` denies a call with this first argument (what the compiled filter tests)."""
    return not rule.when or any(argument & mask == value for mask, value in rule.when)


def rule(syscall: str) -> Rule:
    return next(r for r in POLICY if r.syscall == syscall)


def personas() -> set[int]:
    """Every 32-bit value with at most three bits set or clear, and a sample of the rest."""
    values = set(ALLOWED_PERSONAS)
    for count in range(4):
        for bits in itertools.combinations(range(32), count):
            value = sum(1 << bit for bit in bits)
            values |= {value, value ^ 0xFFFFFFFF}
    sampler = random.Random(10)
    values |= {sampler.getrandbits(32) for _ in range(20000)}
    return values


def test_personality_is_denied_for_every_persona_but_the_usual_ones() -> None:
    personality = rule("personality")
    wrong = [hex(p) for p in personas() if matches(personality, p) == (p in ALLOWED_PERSONAS)]
    assert wrong == []
    # The kernel reads 32 bits: what lies above them changes nothing.
    assert matches(personality, 1 << 32 | 0x0040000) and not matches(personality, 1 << 32)


def test_clone_is_denied_with_any_namespace_flag_and_allowed_without() -> None:
    clone = rule("clone")
    fork_like = 0x01200011  # CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD, as glibc's fork
    thread_like = 0x003D0F00  # CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | ...
    assert not matches(clone, fork_like) and not matches(clone, thread_like)
    for flag in CLONE_NAMESPACES:
        assert matches(clone, flag) and matches(clone, fork_like | flag) and matches(clone, thread_like | flag)


def test_unshare_of_files_or_fs_is_allowed_but_not_of_a_namespace() -> None:
    unshare = rule("unshare")
    assert not matches(unshare, 0x400 | 0x200)  # CLONE_FILES | CLONE_FS
    assert matches(unshare, 0x80)  # CLONE_NEWTIME, which clone cannot ask for
    assert all(matches(unshare, flag) for flag in CLONE_NAMESPACES)


def test_the_policy_compiles_for_this_machine() -> None:
    filt = build_filter()
    assert filt.program and len(filt.program) % 8 == 0
    assert set(filt.denied) | set(filt.absent) == {r.syscall for r in POLICY}
    if os.uname().machine == "x86_64":
        assert filt.absent == ()
    elif os.uname().machine == "aarch64":
        assert set(filt.absent) <= {"iopl", "ioperm", "uselib", "ustat", "sysfs", "_sysctl", "create_module",
                                    "query_module", "get_kernel_syms"}  # fmt: skip
