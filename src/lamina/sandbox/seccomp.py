"""The system-call filter of every sandboxed execution environment (seccomp-bpf).

Lambda limits the system calls of its execution environments with seccomp-bpf (AWS's Lambda
security overview, "Lambda isolation technologies"); Lamina does the same. ``build_filter``
compiles ``POLICY`` once, at start-up, with libseccomp (through pyseccomp) for this machine's
architecture; the zygote's child installs the compiled program (``Filter.program``: classic BPF,
the ``sock_filter`` array ``PR_SET_SECCOMP`` takes) as the last step before any function code
runs, after ``no_new_privs``. A filter is inherited by every process and thread the function
starts and cannot be removed.

Every other call is allowed: the environment already runs as an unprivileged uid without
capabilities, so most of what is denied here would fail anyway; the filter closes what an
unprivileged process may still do to reach the kernel's less travelled code, and holds if
a kernel bug gives back a privilege. Docker's default profile is the model (it allows a list
and denies the rest; the calls below are the ones it denies, or allows only with a capability
an environment never has).

    denied (EPERM)                         why
    unshare, clone with a CLONE_NEW* flag  a user namespace makes the function root of its own
      (user, mount, network, PID, IPC,     namespaces: the ground of most container escapes and
      UTS, cgroup, time), setns            the way into code (mounts, netfilter, ...) an
                                           unprivileged user cannot otherwise reach; the other
                                           namespaces need that first. setns is denied whole: its
                                           type argument 0 means any namespace.
    clone3 (ENOSYS)                        its flags are in memory, which a filter cannot read;
                                           ENOSYS makes libc (glibc 2.34+) fall back to clone,
                                           whose flags it can (as Docker does)
    mount, umount2, pivot_root, chroot,    the file view is Lamina's to build, not the function's
      fsopen, fsconfig, fsmount, fspick,
      move_mount, open_tree,
      open_tree_attr, mount_setattr
    ptrace, process_vm_readv/writev,       reading or steering other processes (Lambda denies
      kcmp, pidfd_getfd, process_madvise   ptrace: strace does not run there)
    init_module, finit_module,             kernel modules
      delete_module (and the obsolete
      create_module, query_module,
      get_kernel_syms)
    kexec_load, kexec_file_load, reboot    replacing or stopping the kernel
    keyctl, add_key, request_key           the kernel keyrings are not namespaced: keys are
                                           shared by uid across the host
    bpf, perf_event_open, userfaultfd,     large kernel attack surfaces that exploits favour
      io_uring_setup/enter/register,       (userfaultfd stalls the kernel at will; io_uring is
      lookup_dcookie                       off in Docker, on Android and in Chrome OS)
    swapon, swapoff, acct, quotactl,       host administration
      quotactl_fd, syslog, vhangup,
      sethostname, setdomainname,
      fanotify_init, nfsservctl
    settimeofday, clock_settime,           the clock is the host's
      clock_adjtime, adjtimex
    iopl, ioperm (x86)                     I/O ports
    open_by_handle_at, name_to_handle_at   file handles bypass the mount view (the "shocker"
                                           container escape)
    uselib, ustat, sysfs, _sysctl          obsolete, unused by any runtime
    personality, except the values Docker  ADDR_NO_RANDOMIZE turns ASLR off, READ_IMPLIES_EXEC
      allows (0, PER_LINUX32 8,            makes data executable, MMAP_PAGE_ZERO maps page 0:
      UNAME26 0x20000, 0x20008, and        aids to exploits
      0xffffffff which only asks)
    socket(AF_ALG), socket(AF_VSOCK)       (EAFNOSUPPORT, as for a family the kernel lacks) the
                                           kernel's crypto API, a recurring source of kernel
                                           bugs; vsock reaches the host and virtual machines
                                           across network namespaces

System calls of another ABI (32-bit x86 and x32 on x86_64) kill the process: their numbers
differ, so the filter would not recognise them, and no runtime uses them. A call newer than this
machine's libseccomp is allowed unless listed in ``UNIFIED_NUMBERS`` (calls added since Linux 5.1
have one number on every architecture). Not denied, though Docker does: the NUMA memory-policy
calls (mbind, set_mempolicy, get_mempolicy, move_pages: a JVM may use them and they touch only
the caller's memory or that of processes it may already signal), seccomp itself (a function may
narrow its own filter further) and landlock.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLONE_NEWTIME = 0x00000080
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
# clone's low byte is the exit signal, so CLONE_NEWTIME (0x80) can only be asked for through
# unshare and clone3.
CLONE_NAMESPACES = (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET)
UNSHARE_NAMESPACES = (*CLONE_NAMESPACES, CLONE_NEWTIME)
AF_ALG, AF_VSOCK = 38, 40

# Calls libseccomp may not know yet, by their number in the table every architecture shares
# since Linux 5.1.
UNIFIED_NUMBERS = {"open_tree_attr": 467}

ACTIONS_AVAILABLE = Path("/proc/sys/kernel/seccomp/actions_avail")
_MAX_INSTRUCTIONS = 4096  # the kernel's BPF_MAXINSNS


@dataclass(frozen=True)
class Rule:
    """Deny ``syscall`` with ``errno``: always, or only when its first argument matches one of
    ``when``: pairs (mask, value), a match when ``argument & mask == value``."""

    syscall: str
    errno: int = errno.EPERM
    when: tuple[tuple[int, int], ...] = ()


def _any_bit(bits: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    return tuple((bit, bit) for bit in bits)


def _personality_denied() -> tuple[tuple[int, int], ...]:
    """Masked tests that together match every 32-bit persona except 0, 0x8, 0x20000, 0x20008 and
    0xffffffff, each test on two bits (a filter cannot AND two tests of one argument).

    A persona outside that set has a run of set bits that ends in a clear bit; "bit i set, bit
    i+1 clear" finds it, except where the run ends at bit 3 or 17 (allowed alone): such a run,
    unless it is that bit alone, also has bit 2 (or 16) set with bit 4 (or 18) clear. 0xffffffff
    has no clear bit. The kernel reads only the low 32 bits, and so do the tests.
    """
    allowed_alone = (3, 17)
    tests = [(1 << i | 1 << (i + 1) % 32, 1 << i) for i in range(32) if i not in allowed_alone]
    tests += [(1 << (bit - 1) | 1 << (bit + 1), 1 << (bit - 1)) for bit in allowed_alone]
    return tuple(tests)


_DENIED_ALWAYS = (
    "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "open_tree_attr", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    "init_module", "finit_module", "delete_module", "create_module", "query_module", "get_kernel_syms",
    "kexec_load", "kexec_file_load", "reboot",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "lookup_dcookie",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "sethostname",
    "setdomainname", "fanotify_init", "nfsservctl",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "iopl", "ioperm",
    "open_by_handle_at", "name_to_handle_at",
    "uselib", "ustat", "sysfs", "_sysctl",
)  # fmt: skip

POLICY: tuple[Rule, ...] = (
    *(Rule(name) for name in _DENIED_ALWAYS),
    Rule("unshare", when=_any_bit(UNSHARE_NAMESPACES)),
    Rule("clone", when=_any_bit(CLONE_NAMESPACES)),
    Rule("clone3", errno.ENOSYS),
    Rule("personality", when=_personality_denied()),
    Rule("socket", errno.EAFNOSUPPORT, when=((0xFFFFFFFF, AF_ALG), (0xFFFFFFFF, AF_VSOCK))),
)


class SeccompUnavailable(Exception):
    """No filter can be built or installed here (the message says why)."""


@dataclass(frozen=True)
class Filter:
    """A compiled filter: ``program`` is what the zygote's child installs."""

    program: bytes
    denied: tuple[str, ...]  # the calls it denies, always or for some arguments
    absent: tuple[str, ...]  # the policy's calls this architecture does not have


def build_filter(policy: tuple[Rule, ...] = POLICY) -> Filter:
    """Compile ``policy`` for this machine's architecture; ``SeccompUnavailable`` if the kernel
    cannot filter system calls or libseccomp (or pyseccomp) is missing."""
    _check_kernel()
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: no libseccomp on the host
        raise SeccompUnavailable(f"libseccomp cannot be loaded ({exc})") from exc
    if sc.system_arch() not in (sc.Arch.X86_64, sc.Arch.AARCH64):  # where clone's flags come first
        raise SeccompUnavailable(f"the policy is written for x86_64 and aarch64, not {os.uname().machine}")
    try:
        filt = sc.SyscallFilter(sc.ALLOW)
        filt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
        # A binary tree of system-call numbers: an allowed call passes a few tests, not one per rule.
        filt.set_attr(sc.Attr.CTL_OPTIMIZE, 2)
        denied, absent = [], []
        for rule in policy:
            number = _number(sc, rule.syscall)
            if number is None:
                absent.append(rule.syscall)
                continue
            action = sc.ERRNO(rule.errno)
            if not rule.when:
                filt.add_rule(action, number)
            for mask, value in rule.when:
                filt.add_rule(action, number, sc.Arg(0, sc.MASKED_EQ, mask, value))
            denied.append(rule.syscall)
        program = _export(filt)
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp refused the filter: {exc}") from exc
    if not program or len(program) % 8 or len(program) // 8 > _MAX_INSTRUCTIONS:
        raise SeccompUnavailable(f"libseccomp compiled a filter the kernel would refuse ({len(program)} bytes)")
    return Filter(program, tuple(denied), tuple(absent))


def _check_kernel() -> None:
    try:
        actions = ACTIONS_AVAILABLE.read_text().split()
    except OSError as exc:
        raise SeccompUnavailable("the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)") from exc
    missing = {"allow", "errno", "kill_process"} - set(actions)
    if missing:
        raise SeccompUnavailable(f"the kernel lacks the seccomp actions {', '.join(sorted(missing))}")


def _number(sc: Any, name: str) -> int | None:
    """The call's number on this architecture, None if it has no such call."""
    number = int(sc.resolve_syscall(sc.Arch.NATIVE, name))
    if number == -1:  # unknown to this libseccomp
        return UNIFIED_NUMBERS.get(name)
    return number if number >= 0 else None  # (negative: a call of other architectures only)


def _export(filt: Any) -> bytes:
    fd = os.memfd_create("lamina-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as f:
        filt.export_bpf(f)
        f.seek(0)
        return f.read()
