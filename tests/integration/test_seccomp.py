"""The system-call filter, attacked from inside a function: what sandbox/seccomp.py denies fails
with EPERM (clone3 with ENOSYS, two socket families with EAFNOSUPPORT), and what functions do every
day still works.

The function makes each call itself, through libc's ``syscall`` with the raw number of this
machine's architecture, with arguments that would do nothing harmful were the call allowed (so
that, on a host without the filter, the test fails rather than damage anything). Calls that would
succeed there (a user namespace, a clone into one, a persona without ASLR) run in a forked child.
Lamina runs as root here, so environments are sandboxed and filtered.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from lamina.sandbox.seccomp import POLICY, Filter, build_filter
from lamina.sandbox.spawn import Sandbox, SpawnRequest, Zygote
from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke
from tests.environments import read_all

# Numbers from the kernel's tables (arch/x86/entry/syscalls/syscall_64.tbl; aarch64 uses the
# generic include/uapi/asm-generic/unistd.h). Calls an architecture lacks are left out of its table.
SHARED = {
    "clone3": 435, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438,
    "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443, "open_tree_attr": 467,
}  # fmt: skip
NUMBERS = {
    "x86_64": {
        **SHARED, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
        "clone": 56, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "create_module": 174,
        "query_module": 178, "get_kernel_syms": 177, "kexec_load": 246, "kexec_file_load": 320, "reboot": 169,
        "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
        "userfaultfd": 323, "lookup_dcookie": 212, "swapon": 167, "swapoff": 168, "acct": 163, "quotactl": 179,
        "syslog": 103, "vhangup": 153, "sethostname": 170, "setdomainname": 171, "fanotify_init": 300,
        "nfsservctl": 180, "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159,
        "iopl": 172, "ioperm": 173, "open_by_handle_at": 304, "name_to_handle_at": 303, "uselib": 134,
        "ustat": 136, "sysfs": 139, "_sysctl": 156, "personality": 135, "socket": 41,
    },
    "aarch64": {
        **SHARED, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268,
        "clone": 220, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
        "kexec_file_load": 294, "reboot": 142, "keyctl": 219, "add_key": 217, "request_key": 218, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "lookup_dcookie": 18, "swapon": 224, "swapoff": 225,
        "acct": 89, "quotactl": 60, "syslog": 116, "vhangup": 58, "sethostname": 161, "setdomainname": 162,
        "fanotify_init": 262, "nfsservctl": 42, "settimeofday": 170, "clock_settime": 112,
        "clock_adjtime": 266, "adjtimex": 171, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "personality": 92, "socket": 198,
    },
}  # fmt: skip

# Calls denied whatever their arguments, with arguments that are harmless where they are allowed
# (invalid descriptors, null pointers, read-only requests, flags the kernel refuses).
BAD = 0xFFFFFFFF
ALWAYS_DENIED = {
    "setns": (-1, 0), "mount": (0, 0, 0, 0, 0), "umount2": (0, 0), "pivot_root": (0, 0), "chroot": (0,),
    "fsopen": (0, BAD), "fsconfig": (-1, BAD, 0, 0, 0), "fsmount": (-1, BAD, 0), "fspick": (-1, 0, BAD),
    "move_mount": (-1, 0, -1, 0, BAD), "open_tree": (-1, 0, BAD), "open_tree_attr": (-1, 0, BAD, 0, 0),
    "mount_setattr": (-1, 0, BAD, 0, 0),
    "ptrace": (BAD, 0, 0, 0), "process_vm_readv": (0, 0, 0, 0, 0, BAD),
    "process_vm_writev": (0, 0, 0, 0, 0, BAD), "kcmp": (0, 0, BAD, 0, 0), "pidfd_getfd": (-1, -1, BAD),
    "process_madvise": (-1, 0, 0, 0, BAD),
    "init_module": (0, 0, 0), "finit_module": (-1, 0, BAD), "delete_module": (0, BAD),
    "create_module": (0, 0), "query_module": (0, 0, 0, 0, 0), "get_kernel_syms": (0,),
    "kexec_load": (0, 0, 0, BAD), "kexec_file_load": (-1, -1, 0, 0, BAD), "reboot": (0, 0, 0, 0),
    "keyctl": (BAD, 0, 0, 0, 0), "add_key": (0, 0, 0, 0, 0), "request_key": (0, 0, 0, 0),
    "bpf": (BAD, 0, 0), "perf_event_open": (0, 0, -1, -1, BAD), "userfaultfd": (BAD,),
    "io_uring_setup": (0, 0), "io_uring_enter": (-1, 0, 0, 0, 0, 0), "io_uring_register": (-1, BAD, 0, 0),
    "lookup_dcookie": (0, 0, 0),
    "swapon": (0, 0), "swapoff": (0,), "acct": (0,), "quotactl": (0, 0, 0, 0), "quotactl_fd": (-1, 0, 0, 0),
    "syslog": (10, 0, 0), "vhangup": (), "sethostname": (0, BAD), "setdomainname": (0, BAD),
    "fanotify_init": (BAD, BAD), "nfsservctl": (0, 0, 0),
    "settimeofday": (0, 0), "clock_settime": (BAD, 0), "clock_adjtime": (BAD, 0), "adjtimex": (0,),
    "iopl": (0,), "ioperm": (0, 0, 0),
    "open_by_handle_at": (-1, 0, 0), "name_to_handle_at": (-1, 0, 0, 0, BAD),
    "uselib": (0,), "ustat": (0, 0), "sysfs": (BAD, 0, 0), "_sysctl": (0,),
}  # fmt: skip

FILTERED = r'''
import asyncio, ctypes, errno, mmap, os, platform, signal, socket, subprocess, sys, threading

NUMBERS = %(numbers)r
ALWAYS_DENIED = %(always)r
CLONE_FLAGS = {"NEWNS": 0x20000, "NEWCGROUP": 0x2000000, "NEWUTS": 0x4000000, "NEWIPC": 0x8000000,
               "NEWUSER": 0x10000000, "NEWPID": 0x20000000, "NEWNET": 0x40000000}
UNSHARE_FLAGS = dict(CLONE_FLAGS, NEWTIME=0x80)

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def raw(name, *args):
    """(result, errno) of the raw system call; a descriptor it returned is closed."""
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(NUMBERS[platform.machine()][name]), *(ctypes.c_long(a) for a in args))
    if result < 0:
        return result, ctypes.get_errno()
    if name in ("userfaultfd", "fanotify_init", "io_uring_setup", "perf_event_open", "bpf", "fsopen"):
        os.close(result)
    return result, 0


def in_child(fn):
    """Run fn() in a forked child (what it changes dies with it); its result, an errno (0: it succeeded)."""
    pid = os.fork()
    if pid == 0:
        try:
            code = fn()
        except OSError as exc:
            code = exc.errno
        except BaseException:
            code = 255
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def clone_into(flags):
    """A raw clone (a fork) into new namespaces; the child, if there is one, exits at once."""
    def attempt():
        result, err = raw("clone", flags | signal.SIGCHLD, 0, 0, 0, 0)
        if result == 0:
            os._exit(0)
        if result > 0:
            os.waitpid(result, 0)
        return err
    return in_child(attempt)


def unshare(flags):
    return in_child(lambda: 0 if libc.unshare(ctypes.c_int(flags)) == 0 else ctypes.get_errno())


def mount_tmpfs():
    return 0 if libc.mount(b"none", b"/tmp", b"tmpfs", ctypes.c_ulong(0), None) == 0 else ctypes.get_errno()


def persona(value):
    return in_child(lambda: raw("personality", value)[1])


def denied(event):
    machine = platform.machine()
    return {
        "always": {name: raw(name, *args)[1] for name, args in ALWAYS_DENIED.items() if name in NUMBERS[machine]},
        "unshare": {name: unshare(flag) for name, flag in UNSHARE_FLAGS.items()},
        "unshare_with_user": {name: unshare(0x10000000 | flag) for name, flag in UNSHARE_FLAGS.items()},
        "clone": {name: clone_into(flag) for name, flag in CLONE_FLAGS.items()},
        "clone_with_user": {name: clone_into(0x10000000 | flag) for name, flag in CLONE_FLAGS.items()},
        "clone3": raw("clone3", 0, 0)[1],
        "mount_tmpfs": in_child(mount_tmpfs),
        "personality": {hex(p): persona(p) for p in (0x0040000, 0x0400000, 0x0100000, 0x0200000, 0x1, 0x10,
                                                       0x0040008, 0x1_0040000)},
        "sockets": {family: in_child(lambda: socket.socket(family, socket.SOCK_SEQPACKET).close() or 0)
                    for family in (38, 40)},  # AF_ALG, AF_VSOCK
    }


def _echo_server():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    def serve():
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())
    threading.Thread(target=serve).start()
    return server


async def _asyncio_echo():
    async def handle(reader, writer):
        writer.write((await reader.readline()).upper())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
    writer.write(b"async\n")
    line = await reader.readline()
    writer.close()
    server.close()
    await server.wait_closed()
    return line.decode().strip()


def allowed(event):
    results = {}
    squares = []
    threads = [threading.Thread(target=lambda i=i: squares.append(i * i)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results["threads"] = sum(squares)
    results["subprocess"] = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True,
                                           text=True, check=True).stdout.strip()
    results["fork"] = in_child(lambda: 7)
    server = _echo_server()
    with socket.create_connection(server.getsockname()) as c:
        c.sendall(b"tcp")
        results["socket"] = c.recv(100).decode()
    server.close()
    results["asyncio"] = asyncio.run(_asyncio_echo())
    with mmap.mmap(-1, 1 << 20) as m:
        m[:5] = b"anon!"
        results["mmap_anonymous"] = m[:5].decode()
    with open("/tmp/mapped", "w+b") as f:
        f.write(b"\0" * 4096)
        f.flush()
        with mmap.mmap(f.fileno(), 4096) as m:
            m[:4] = b"file"
        f.seek(0)
        results["mmap_file"] = f.read(4).decode()
    results["personality_query"] = raw("personality", 0xFFFFFFFF)[1]
    results["personality_linux"] = persona(0)
    results["personality_linux32"] = persona(0x0008)
    results["unshare_files"] = unshare(0x00000400)  # CLONE_FILES: no namespace
    results["socketpair"] = len(socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM))
    results["udp"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM).family == socket.AF_INET
    return results


def handler(event, context):
    return {"denied": denied, "allowed": allowed}[event["check"]](event)
'''


def filtered_code() -> str:
    return FILTERED % {"numbers": NUMBERS, "always": ALWAYS_DENIED}


@pytest.fixture(scope="module")
def filtered(lamina: LaminaProcess) -> Iterator[Callable[[str], dict[str, Any]]]:
    client = lamina.client()
    name = f"seccomp-{os.getpid()}"
    deploy(client, name, filtered_code(), Timeout=60, MemorySize=512)

    def check(kind: str) -> dict[str, Any]:
        response, body, log = invoke(client, name, {"check": kind})
        assert "FunctionError" not in response, (body, log)
        return dict(body)

    yield check
    client.delete_function(FunctionName=name)


def machine() -> str:
    return os.uname().machine


# -- what is denied ---------------------------------------------------------------------------


def test_every_call_of_the_policy_is_tried() -> None:
    """The tests below cover the whole policy (and only calls it has)."""
    policy = {rule.syscall for rule in POLICY}
    tried = set(ALWAYS_DENIED) | {"unshare", "clone", "clone3", "personality", "socket"}
    assert tried == policy, (tried - policy, policy - tried)


def test_calls_that_reach_the_kernel_or_other_processes_are_denied(filtered: Callable[[str], dict[str, Any]]) -> None:
    seen = filtered("denied")
    expected = {name for name in ALWAYS_DENIED if name in NUMBERS[machine()]}
    assert seen["always"] == {name: errno.EPERM for name in expected}, {
        name: errno.errorcode.get(e, e) for name, e in seen["always"].items() if e != errno.EPERM
    }
    assert seen["mount_tmpfs"] == errno.EPERM


def test_no_namespaces_no_user_namespace(filtered: Callable[[str], dict[str, Any]]) -> None:
    seen = filtered("denied")
    for kind in ("unshare", "unshare_with_user", "clone", "clone_with_user"):
        assert seen[kind] == {flag: errno.EPERM for flag in seen[kind]}, (kind, seen[kind])
    assert set(seen["unshare"]) == {"NEWNS", "NEWCGROUP", "NEWUTS", "NEWIPC", "NEWUSER", "NEWPID", "NEWNET",
                                    "NEWTIME"}  # fmt: skip
    assert seen["clone3"] == errno.ENOSYS  # so that libc falls back to clone, whose flags are seen


def test_personality_only_takes_the_usual_values(filtered: Callable[[str], dict[str, Any]]) -> None:
    seen = filtered("denied")
    assert seen["personality"] == {persona: errno.EPERM for persona in seen["personality"]}, seen["personality"]


def test_crypto_and_vsock_sockets_are_refused(filtered: Callable[[str], dict[str, Any]]) -> None:
    assert filtered("denied")["sockets"] == {"38": errno.EAFNOSUPPORT, "40": errno.EAFNOSUPPORT}


# -- what still works -------------------------------------------------------------------------


def test_ordinary_programs_still_work(filtered: Callable[[str], dict[str, Any]]) -> None:
    assert filtered("allowed") == {
        "threads": sum(i * i for i in range(20)), "subprocess": "42", "fork": 7, "socket": "TCP",
        "asyncio": "ASYNC", "mmap_anonymous": "anon!", "mmap_file": "file", "personality_query": 0,
        "personality_linux": 0, "personality_linux32": 0, "unshare_files": 0, "socketpair": 2, "udp": True,
    }  # fmt: skip


# -- installing it ----------------------------------------------------------------------------


def test_start_up_log_names_the_filter(make_server: Callable[..., LaminaProcess]) -> None:
    server = make_server()
    assert server.stop() == 0
    text = "".join(server.output)
    assert f"seccomp: {len(build_filter().denied)} kinds of system call denied in each environment" in text, text
    assert "seccomp: no system-call filter" not in text, text


def test_without_libseccomp_lamina_says_so_and_runs_unfiltered(make_server: Callable[..., LaminaProcess],
                                                               tmp_path: Path, fn_name: str) -> None:  # fmt: skip
    # What pyseccomp does on a host without libseccomp, put first on the server's path.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyseccomp.py").write_text('raise RuntimeError("Unable to find libseccomp")\n')
    server = make_server(PYTHONPATH=str(shadow))
    client = server.client()
    deploy(client, fn_name, "import ctypes\n\ndef handler(event, context):\n"
                            "    return ctypes.CDLL(None).personality(0xFFFFFFFF)\n")  # fmt: skip
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, (body, log)
    assert server.stop() == 0
    text = "".join(server.output)
    assert "seccomp: no system-call filter (libseccomp cannot be loaded (Unable to find libseccomp))" in text, text


def spawn_sandboxed(tmp_path: Path, program: bytes, script: str) -> tuple[int, bytes]:
    """Run ``python -c script`` through a zygote in a sandbox with the filter ``program``."""
    interpreter = Path(sys.base_prefix).resolve()
    (tmp_path / "root").mkdir()
    sandbox = Sandbox(uid=1_999_999_999, code=tmp_path, keep=(interpreter,), root=tmp_path / "root", tmp_mb=16,
                      seccomp=program)  # fmt: skip

    async def scenario() -> tuple[int, bytes]:
        zygote = Zygote(sys.executable)
        await zygote.start()
        read_fd, write_fd = os.pipe()
        try:
            # The interpreter itself, not a virtualenv's link to it: the sandbox sees only ``keep``.
            python = os.path.realpath(sys.executable)
            request = SpawnRequest(argv=[python, "-c", script], cwd=Path("/tmp"), env={}, output_fd=write_fd,
                                   sandbox=sandbox)  # fmt: skip
            process = await zygote.spawn(request, exec_argv=True)
            os.close(write_fd)
            code = await asyncio.wait_for(process.exited, 30)
            return code, await asyncio.to_thread(read_all, read_fd)
        finally:
            await zygote.close()

    return asyncio.run(scenario())


UNSHARE_USER = """if True:
    import ctypes, errno
    libc = ctypes.CDLL(None, use_errno=True)
    print("unshared" if libc.unshare(0x10000000) == 0 else errno.errorcode[ctypes.get_errno()])
"""


def test_the_filter_holds_across_exec(tmp_path: Path) -> None:
    """A runtime the zygote execs (every language but Python) runs under the filter too."""
    filt: Filter = build_filter()
    assert spawn_sandboxed(tmp_path, filt.program, UNSHARE_USER) == (0, b"EPERM\n")


def test_a_filter_the_kernel_refuses_stops_the_environment(tmp_path: Path) -> None:
    """Never unfiltered when a filter was asked for: the child says why and exits."""
    code, output = spawn_sandboxed(tmp_path, b"\xff" * 8, "print('ran')")  # one instruction, invalid
    assert code == 127, output
    assert b"Runtime failed to start" in output and b"seccomp" in output and b"ran" not in output, output
