"""A fork server for Python execution environments (a "zygote", as in the SOCK paper).

Started once per interpreter as ``<python> -u zygote.py <fd>``: it imports the runtime
(``bootstrap.py`` beside it) and the standard library the runtime needs, then waits on the unix
SEQPACKET socket ``<fd>`` for spawn requests. Each request forks a child that is already past
interpreter start-up and runtime imports; the child enters its environment (session, cgroup,
output pipe, working directory, environment variables, limits) and runs the runtime's ``main``.
A fork costs a few milliseconds where a fresh interpreter costs tens.

Protocol (one JSON document per datagram):

    -> {"id": N, "cwd": ..., "env": {...}, "cgroup_procs": path|null, "rlimits": {name: [soft, hard]}}
       with one file descriptor attached (SCM_RIGHTS): the environment's stdout/stderr pipe
    <- {"id": N, "pid": P}  or  {"id": N, "error": "..."}
    <- {"exit": P, "status": S}     when a child ends (S: exit code, or -signal)
    <- {"ready": true}              once, after start-up

When the socket closes (Lamina is gone), the zygote kills every child it made and exits.
Standard library only; Python 3.9+.
"""

import array
import gc
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
        cgroup = request.get("cgroup_procs")
        if cgroup:
            with open(cgroup, "w") as f:
                f.write(str(os.getpid()))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        for name, (soft, hard) in (request.get("rlimits") or {}).items():
            resource.setrlimit(_RLIMITS[name], (soft, hard))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
        sys.argv = [os.path.join(_HERE, "bootstrap.py")]
        bootstrap.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # the runtime itself failed: say why on the environment's output
        try:
            os.write(2, ("[ERROR] Runtime failed to start: %r\n" % (exc,)).encode())
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
                pid = os.fork()
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
