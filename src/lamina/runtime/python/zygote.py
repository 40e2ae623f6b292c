"""A fork server for Python execution environments (a "zygote", as in the SOCK paper).

Started once per interpreter as ``<python> -u zygote.py <fd>``: it imports the runtime
(``bootstrap.py`` beside it) and the standard library the runtime needs, then waits on the unix
SEQPACKET socket ``<fd>`` for spawn requests. Each request forks a child that is already past
interpreter start-up and runtime imports; the child enters its environment (session, cgroup,
output pipe, working directory, environment variables, limits) and runs the runtime's ``main``.
A fork costs a few milliseconds where a fresh interpreter costs tens. With ``exec``, the child
execs that program instead (a custom runtime's ``bootstrap``) once it is in its environment.

With ``sandbox`` (Lamina runs as root), the child is created in new PID, mount and IPC
namespaces: it is PID 1 of its own tree and sees only its own processes; the directories in
``hide`` (Lamina's state, root's home) are covered by an empty read-only tmpfs; its code is
mounted read-only at /var/task (as on Lambda), the directories in ``keep`` (interpreters) are
bind-mounted back where they were, read-only, and its merged layers ``opt`` over /opt; /tmp is
a fresh tmpfs of ``tmp_mb``, also seen at /var/tmp and /dev/shm; then it drops to ``uid`` with
no supplementary groups and no way to regain privileges. Last, before the runtime runs, it
installs the system-call filter ``seccomp`` (base64 of a compiled BPF program, built by
sandbox/seccomp.py); if that fails, the child exits rather than run unfiltered.

Protocol (one JSON document per datagram):

    -> {"id": N, "cwd": ..., "env": {...}, "cgroup_procs": [path, ...], "rlimits": {name: [soft, hard]},
        "exec": [argv...] | null, "sandbox": null | {"uid": U, "hide": [dir, ...], "code": dir, "keep": [dir, ...], "tmp_mb": M,
                                   "opt": dir|null, "seccomp": base64|null}}
       with one file descriptor attached (SCM_RIGHTS): the environment's stdout/stderr pipe
    <- {"id": N, "pid": P}  or  {"id": N, "error": "..."}
    <- {"exit": P, "status": S}     when a child ends (S: exit code, or -signal)
    <- {"ready": true}              once, after start-up

When the socket closes (Lamina is gone), the zygote kills every child it made and exits.
Standard library only; Python 3.9+.
"""

import array
import base64
import ctypes
import gc
import importlib
import importlib.util
import platform
import json
import os
import resource
import selectors
import signal
import socket
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

# Standard modules functions commonly import (directly, or through boto3, requests and the like):
# imported once here, they cost a forked environment nothing.
_PRELOAD = (
    "asyncio", "base64", "concurrent.futures", "dataclasses", "datetime", "decimal", "email.parser",
    "hashlib", "hmac", "http.client", "logging", "ssl", "threading", "typing", "urllib.parse",
    "urllib.request", "uuid", "zlib",
)  # fmt: skip
for _name in _PRELOAD:
    try:
        importlib.import_module(_name)
    except ImportError:
        pass

# Import the runtime now, in the zygote, so that every child starts with it loaded.
_spec = importlib.util.spec_from_file_location("_lamina_bootstrap", os.path.join(_HERE, "bootstrap.py"))
bootstrap = importlib.util.module_from_spec(_spec)
sys.modules["_lamina_bootstrap"] = bootstrap
_spec.loader.exec_module(bootstrap)

_RLIMITS = {
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
}
_MAX_MESSAGE = 1 << 20

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
TASK_ROOT = "/var/task"


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _mount(source, target, fstype, flags, data=None):
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        "mount %s" % target,
    )


def _fork_into_namespaces():
    """fork(), with the child in new PID, mount and IPC namespaces (a raw clone, as fork does it)."""
    if _SYS_CLONE is None:
        raise OSError("namespaces are not supported on %s" % platform.machine())
    flags = signal.SIGCHLD | _CLONE_NEWPID | _CLONE_NEWNS | _CLONE_NEWIPC
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = ctypes.PyDLL(None, use_errno=True).syscall(_SYS_CLONE, flags, 0, 0, 0, 0)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, "clone: %s" % os.strerror(err))
    return pid


def _enter_sandbox(sandbox):
    """In the child, in its new namespaces: hide Lamina's state, private /tmp and /proc, drop root."""
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing below propagates to the host
    # (target, source): the code at /var/task as on Lambda, kept directories where they are,
    # the function's layers in place of the host's /opt.
    mounts = [(TASK_ROOT, sandbox["code"])] + [(p, p) for p in sandbox["keep"] if os.path.isdir(p)]
    if sandbox.get("opt"):
        mounts.append(("/opt", sandbox["opt"]))
    fds = [(target, os.open(source, os.O_PATH | os.O_DIRECTORY)) for target, source in mounts]
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=%dm,mode=1777" % sandbox["tmp_mb"])
    for shared in ("/var/tmp", "/dev/shm"):  # world-writable places of the host: this one's own
        if os.path.isdir(shared):
            _mount("/tmp", shared, None, _MS_BIND)
    covered = []
    for hidden in sandbox["hide"]:
        if os.path.isdir(hidden):  # (not if it was under /tmp: the new /tmp covers it already)
            _mount("tmpfs", hidden, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=755")
            covered.append(hidden)
    for path, fd in fds:  # each kept path leads to what it was before, read-only
        os.makedirs(path, exist_ok=True)
        _mount("/proc/self/fd/%d" % fd, path, None, _MS_BIND | _MS_REC)
        _mount(None, path, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
        os.close(fd)
    for hidden in covered:
        _mount(None, hidden, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, "size=1m,mode=755")
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    uid = sandbox["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install_seccomp(encoded):
    """Install a compiled seccomp filter (an array of 8-byte ``sock_filter``); needs no_new_privs."""
    program = base64.b64decode(encoded)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def _send(sock, doc):
    sock.send(json.dumps(doc).encode())


def _child(request, output_fd, closing):
    """Runs in the forked child: enter the environment, then become the runtime. Never returns."""
    code = 1
    try:
        for fd in closing:
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()
        for procs in request.get("cgroup_procs") or ():
            with open(procs, "w") as f:
                f.write("0")  # "0" is the writer itself, whatever its pid namespace
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        if request.get("sandbox"):
            _enter_sandbox(request["sandbox"])
        for name, (soft, hard) in (request.get("rlimits") or {}).items():
            resource.setrlimit(_RLIMITS[name], (soft, hard))
        os.chdir(request["cwd"])
        if (request.get("sandbox") or {}).get("seccomp"):
            _install_seccomp(request["sandbox"]["seccomp"])
        if request.get("exec"):
            argv = request["exec"]
            os.execve(argv[0], argv, request["env"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        sys.argv = [os.path.join(_HERE, "bootstrap.py")]
        bootstrap.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # the environment could not be entered: say why on its output
        code = 127
        try:
            os.write(2, ("[ERROR] Runtime failed to start: %s\n" % (exc,)).encode())
        except OSError:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


def _reap(sock, children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        _send(sock, {"exit": pid, "status": code})


def serve(sock):
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    children = set()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "signal")
    _send(sock, {"ready": True})
    fd_size = array.array("i").itemsize
    while True:
        for key, _ in selector.select():
            if key.data == "signal":
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                _reap(sock, children)
                continue
            data, ancdata, _, _ = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(fd_size))
            if not data:  # Lamina is gone: so are its environments
                for pid in children:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except OSError:
                        pass
                return
            fds = array.array("i")
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[: len(payload) - (len(payload) % fd_size)])
            request = json.loads(data)
            if len(fds) != 1:
                for fd in fds:
                    os.close(fd)
                _send(sock, {"id": request.get("id"), "error": "expected exactly one output descriptor"})
                continue
            try:
                pid = _fork_into_namespaces() if request.get("sandbox") else os.fork()
            except OSError as exc:
                os.close(fds[0])
                _send(sock, {"id": request["id"], "error": "fork failed: %s" % exc})
                continue
            if pid == 0:
                _child(request, fds[0], [sock.fileno(), wake_r, wake_w, selector.fileno()])
            os.close(fds[0])
            children.add(pid)
            _send(sock, {"id": request["id"], "pid": pid})


def main():
    # Children share the zygote's memory copy-on-write; a garbage collection in a child would walk
    # (and so copy) every object inherited. Frozen objects are left out of collections.
    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(sock)
    finally:
        sock.close()


if __name__ == "__main__":
    main()
