"""A fork server for execution environments (a "zygote", as in the SOCK paper).

Started once per interpreter as ``<python> -u -s forkserver.py <fd> [<root>]``: it imports the Python
runtime (``runtime/python/bootstrap.py``) and the standard library the runtime needs, then waits
on the unix SEQPACKET socket ``<fd>`` for spawn requests. Each request forks a child that is
already past interpreter start-up and runtime imports; the child enters its environment (session,
cgroup, output pipe, sandbox, working directory, environment variables, limits) and runs the
runtime's ``main``. A fork costs a few milliseconds where a fresh interpreter costs tens. With
``exec``, the child execs that program instead (another language's runtime, a custom runtime's
``bootstrap``) once it is in its environment.

With ``sandbox`` (Lamina runs as root), the child is created in new PID, mount and IPC namespaces
and takes the steps of ``enter.py`` beside this file: its network namespace, a root filesystem of
its own, its uid, ``no_new_privs``, its seccomp filter.

Protocol (one JSON document per datagram):

    -> {"id": N, "cwd": ..., "env": {...}, "cgroup_procs": [path, ...], "rlimits": {name: [soft, hard]},
        "exec": [argv...] | null, "sandbox": null | enter.enter's plan}
       with file descriptors attached (SCM_RIGHTS): the environment's stdout/stderr pipe, then,
       with a sandbox, the network namespace to join (optional), then, with ``"extension_output": N``,
       the extensions' output pipe, which the child gets as descriptor N
    <- {"id": N, "pid": P, "prepared": bool}  or  {"id": N, "error": "..."}
    <- {"exit": P, "status": S}     when a child ends (S: exit code, or -signal)
    <- {"ready": true}              once, after start-up (with ``<root>``: once the template is built there)

Prepared children: after a sandboxed request, the fork server keeps ``POOL_SIZE`` children of the
same shape (the plan's root, ``keep``, ``tmp_mb`` and ``runtime``) forked ahead into their namespaces, with
``enter.prepare`` done (their /tmp, the runtime's directories bound, /etc/passwd and /etc/group
ready to be written), each blocked on a socket of its own. A request of that shape goes to one of
them (``"prepared": true`` in the reply): it receives the request and its descriptors and takes only
the environment's own steps (``enter.finish``: network namespace, code, identity, read-only root,
pivot, uid, seccomp). The pool is refilled once no request has come for ``REFILL_IDLE_S``, so that
refilling never competes with the cold starts of a burst; at most ``POOL_SHAPES`` shapes are kept
(the most recently used). A prepared child is nobody's environment until it is assigned: it runs
nothing of a function's, its exit is not reported, it is named ``lamina-prepared``
(``/proc/<pid>/comm``, the fork server's name again once assigned), and it dies with the fork
server (its socket closes, and ``PR_SET_PDEATHSIG``).

When the socket closes (Lamina is gone), the fork server kills every child it made (prepared ones
included) and exits.
Standard library only; Python 3.9+.
"""

import array
import base64
import gc
import importlib
import importlib.util
import json
import os
import resource
import selectors
import signal
import socket
import sys
import time

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]
_BOOTSTRAP = os.path.join(os.path.dirname(_HERE), "runtime", "python", "bootstrap.py")

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
def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bootstrap = _load("_lamina_bootstrap", _BOOTSTRAP)
enter = _load("_lamina_enter", os.path.join(_HERE, "enter.py"))

_RLIMITS = {
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "core": resource.RLIMIT_CORE,
}
_MAX_MESSAGE = 1 << 20
_MAX_FDS = 3  # a request's descriptors: output, network namespace, extensions' output
POOL_SIZE = 2  # prepared children kept per shape
POOL_SHAPES = 4  # shapes kept prepared, the most recently used
REFILL_IDLE_S = 0.01  # the pool is refilled once no request came for this long (not within a burst)
_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
PREPARED_NAME = b"lamina-prepared"  # a prepared child's name (/proc/<pid>/comm) until it is assigned

_TEMPLATES = {}


def _template(path):
    """The fixed part of sandboxed roots (enter.Template), built at ``path`` by the first spawn that needs it."""
    if path not in _TEMPLATES:
        _TEMPLATES[path] = enter.Template(path)
    return _TEMPLATES[path]


def _send(sock, doc):
    sock.send(json.dumps(doc).encode())


def _close_all_but(keep):
    """Close every descriptor but 0-2 and ``keep``: the fork server's socket, its pool's sockets, its
    selector; nothing of the server's or of another environment's reaches a child."""
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _detach():
    """A child's first steps: default signal handling, a session of its own, stdin from /dev/null."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


def _split(request, fds):
    """A request's descriptors: (output, network namespace or -1, extensions' output or -1), or
    None if they are not those it announces."""
    netns = bool(request.get("sandbox") and request.get("netns"))
    extensions = bool(request.get("extension_output"))
    if len(fds) != 1 + netns + extensions:
        return None
    return fds[0], fds[1] if netns else -1, fds[-1] if extensions else -1


def _child(request, fds, template):
    """Runs in the forked child: enter the environment, then become the runtime. Never returns."""
    _run(request, fds, template, prepared=False)


def _prepared_child(shape, template, sock):
    """Runs in a prepared child: take the shape's steps, wait for an environment, become it. Never returns."""
    try:
        _close_all_but((sock.fileno(),))
        enter._libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        with open("/proc/self/comm", "rb") as f:
            name = f.read().rstrip(b"\n")
        enter._libc.prctl(_PR_SET_NAME, PREPARED_NAME, 0, 0, 0)  # not an environment yet: so it says
        _detach()
        enter.prepare(shape, template)
        fd_size = array.array("i").itemsize
        data, ancdata, _, _ = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(_MAX_FDS * fd_size))
        fds = _descriptors(ancdata)
        sock.close()
        enter._libc.prctl(_PR_SET_NAME, name, 0, 0, 0)
        request = json.loads(data) if data else None
        split = _split(request, fds) if request is not None else None
    except BaseException:
        os._exit(1)
    if split is None:  # the fork server is gone, or let this child go
        os._exit(0)
    _run(request, split, template, prepared=True)


def _run(request, fds, template, prepared):
    """Enter the environment (the rest of it, if ``prepared``), then become the runtime. Never returns.
    ``fds``: the request's descriptors, as ``_split`` returns them."""
    output_fd, netns_fd, extension_fd = fds
    code = 1
    try:
        if not prepared:
            _close_all_but((output_fd, netns_fd, extension_fd))
            _detach()
        for procs in request.get("cgroup_procs") or ():  # one system call each, not a text file's
            fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, b"0")  # "0" is the writer itself, whatever its pid namespace
            finally:
                os.close(fd)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        if request.get("sandbox"):
            if prepared:
                enter.finish(request["sandbox"], template, netns_fd)
            else:
                enter.enter(request["sandbox"], template, netns_fd)
        for name, (soft, hard) in (request.get("rlimits") or {}).items():
            resource.setrlimit(_RLIMITS[name], (soft, hard))
        os.chdir(request["cwd"])
        if extension_fd >= 0:  # where the environment expects it, kept across exec
            target = int(request["extension_output"])
            if extension_fd != target:
                os.dup2(extension_fd, target)
                os.close(extension_fd)
            else:
                os.set_inheritable(target, True)
        if (request.get("sandbox") or {}).get("seccomp"):  # last: nothing of Lamina's runs after it
            enter.install_seccomp(base64.b64decode(request["sandbox"]["seccomp"]))
        if request.get("exec"):
            argv = request["exec"]
            os.execve(argv[0], argv, request["env"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()  # the C library's time zone, from the function's TZ (the zygote's is none)
        sys.dont_write_bytecode = True  # as ``python -B`` would (a runtime started afresh is)
        sys.argv = [_BOOTSTRAP]
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


def _descriptors(ancdata):
    fd_size = array.array("i").itemsize
    fds = array.array("i")
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - (len(payload) % fd_size)])
    return list(fds)


def _shape(sandbox):
    """What a prepared child must have been prepared for to take ``sandbox``: its ``enter.prepare`` inputs."""
    runtime = tuple(sorted((sandbox.get("runtime") or {}).items()))
    return (sandbox["root"], tuple(sandbox.get("keep") or ()), sandbox["tmp_mb"], runtime)


class Pool:
    """Prepared children by shape (see the module docstring). ``pooled``: their pids, unassigned."""

    def __init__(self):
        self.shapes = {}  # shape -> [(pid, socket), ...], in order of use (the last the most recent)
        self.pooled = set()

    def take(self, shape, data, fds):
        """Hand the request ``data`` (as received) to a prepared child of ``shape``; its pid, or None if there is none."""
        if shape in self.shapes:
            self.shapes[shape] = self.shapes.pop(shape)  # the most recently used now
        else:
            self.shapes[shape] = []
            while len(self.shapes) > POOL_SHAPES:
                self._drop(next(iter(self.shapes)))
        ready = self.shapes[shape]
        while ready:
            pid, sock = ready.pop(0)
            try:
                sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
            except OSError:  # it died before it could take it: reaped silently
                _kill(pid)
                continue
            finally:
                sock.close()
            self.pooled.discard(pid)
            return pid
        return None

    def short(self):
        """A shape with fewer prepared children than ``POOL_SIZE``, or None."""
        for shape in reversed(self.shapes):
            if len(self.shapes[shape]) < POOL_SIZE:
                return shape
        return None

    def fill(self, shape):
        """Fork one prepared child of ``shape``."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            template = _template(shape[0])
            pid = enter.fork_into_namespaces()
        except OSError:
            ours.close()
            theirs.close()
            self._drop(shape)
            return
        if pid == 0:
            _prepared_child({"root": shape[0], "keep": list(shape[1]), "tmp_mb": shape[2], "runtime": dict(shape[3])},
                            template, theirs)  # fmt: skip
        theirs.close()
        self.pooled.add(pid)
        self.shapes[shape].append((pid, ours))

    def exited(self, pid):
        """A prepared child ended before it was assigned (it could not be prepared, or was killed):
        stop preparing its shape until a request asks for it again. True if it was one."""
        if pid not in self.pooled:
            return False
        self.pooled.discard(pid)
        for shape, ready in list(self.shapes.items()):
            if any(p == pid for p, _ in ready):
                self._drop(shape)
        return True

    def _drop(self, shape):
        for pid, sock in self.shapes.pop(shape, ()):
            sock.close()
            _kill(pid)

    def close(self):
        for shape in list(self.shapes):
            self._drop(shape)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _reap(sock, children, pool):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pool.exited(pid) or pid not in children:
            continue
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
    pool = Pool()
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "control")
    selector.register(wake_r, selectors.EVENT_READ, "signal")
    _send(sock, {"ready": True})
    fd_size = array.array("i").itemsize
    try:
        while True:
            short = pool.short()
            events = selector.select(REFILL_IDLE_S if short is not None else None)
            if not events and short is not None:  # nothing asked for a while: prepare children
                while short is not None and not selector.select(0):
                    pool.fill(short)
                    short = pool.short()
                continue
            for key, _ in events:
                if key.data == "signal":
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    _reap(sock, children, pool)
                    continue
                data, ancdata, _, _ = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(_MAX_FDS * fd_size))
                if not data:  # Lamina is gone: so are its environments
                    for pid in children:
                        try:
                            os.killpg(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    return
                fds = _descriptors(ancdata)
                request = json.loads(data)
                split = _split(request, fds)
                if split is None:
                    for fd in fds:
                        os.close(fd)
                    _send(sock, {"id": request.get("id"), "error": "unexpected descriptors: %d" % len(fds)})
                    continue
                pid = pool.take(_shape(request["sandbox"]), data, fds) if request.get("sandbox") else None
                prepared = pid is not None
                try:
                    if pid is None:
                        # Built here, once, in the fork server's own mount namespace: not in every child.
                        template = _template(request["sandbox"]["root"]) if request.get("sandbox") else None
                        pid = enter.fork_into_namespaces() if request.get("sandbox") else os.fork()
                except OSError as exc:
                    for fd in fds:
                        os.close(fd)
                    _send(sock, {"id": request["id"], "error": "fork failed: %s" % exc})
                    continue
                if pid == 0:
                    _child(request, split, template)
                for fd in fds:
                    os.close(fd)
                children.add(pid)
                _send(sock, {"id": request["id"], "pid": pid, "prepared": prepared})
    finally:
        pool.close()


def main():
    if len(sys.argv) > 2:  # the sandboxed roots' template, built now rather than on the first spawn
        try:
            _template(sys.argv[2])
        except OSError:
            pass  # the first sandboxed spawn tries again, and says why it failed
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
