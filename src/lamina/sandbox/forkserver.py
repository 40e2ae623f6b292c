"""A fork server for execution environments (a "zygote", as in the SOCK paper).

Started once per interpreter as ``<python> -u -s forkserver.py <fd>``: it imports the Python
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
       with a sandbox, the network namespace to join (optional)
    <- {"id": N, "pid": P}  or  {"id": N, "error": "..."}
    <- {"exit": P, "status": S}     when a child ends (S: exit code, or -signal)
    <- {"ready": true}              once, after start-up

When the socket closes (Lamina is gone), the fork server kills every child it made and exits.
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

_TEMPLATES = {}


def _template(path):
    """The fixed part of sandboxed roots (enter.Template), built at ``path`` by the first spawn that needs it."""
    if path not in _TEMPLATES:
        _TEMPLATES[path] = enter.Template(path)
    return _TEMPLATES[path]


def _send(sock, doc):
    sock.send(json.dumps(doc).encode())


def _child(request, output_fd, netns_fd, template, closing):
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
            enter.enter(request["sandbox"], template, netns_fd)
        for name, (soft, hard) in (request.get("rlimits") or {}).items():
            resource.setrlimit(_RLIMITS[name], (soft, hard))
        os.chdir(request["cwd"])
        if (request.get("sandbox") or {}).get("seccomp"):  # last: nothing of Lamina's runs after it
            enter.install_seccomp(base64.b64decode(request["sandbox"]["seccomp"]))
        if request.get("exec"):
            argv = request["exec"]
            os.execve(argv[0], argv, request["env"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
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
            data, ancdata, _, _ = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_SPACE(2 * fd_size))
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
            if len(fds) != (2 if request.get("sandbox") and request.get("netns") else 1):
                for fd in fds:
                    os.close(fd)
                _send(sock, {"id": request.get("id"), "error": "unexpected descriptors: %d" % len(fds)})
                continue
            netns_fd = fds[1] if len(fds) > 1 else -1
            try:
                # Built here, once, in the fork server's own mount namespace: not in every child.
                template = _template(request["sandbox"]["root"]) if request.get("sandbox") else None
                pid = enter.fork_into_namespaces() if request.get("sandbox") else os.fork()
            except OSError as exc:
                for fd in fds:
                    os.close(fd)
                _send(sock, {"id": request["id"], "error": "fork failed: %s" % exc})
                continue
            if pid == 0:
                _child(request, fds[0], netns_fd, template, [sock.fileno(), wake_r, wake_w, selector.fileno()])
            for fd in fds:
                os.close(fd)
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
