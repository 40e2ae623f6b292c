"""Starting execution environment processes through a per-interpreter fork server.

``Spawner.spawn`` returns a ``Process`` whatever the route. Every environment is forked by a
``Zygote`` (``forkserver.py``), which also puts it in its sandbox (``enter.py``: namespaces, a root
filesystem of its own, its uid, seccomp; cgroups) before any function code runs. Python runtimes fork
from a zygote of their own interpreter that has the runtime already imported; other runtimes
fork from a zygote of Lamina's interpreter and exec their ``bootstrap``. If a zygote cannot be
started or dies, a new one is started next time; meanwhile an environment that needs no sandbox
falls back to a plain fork/exec (and says so), and one that must be sandboxed fails.

A fork server is started on its first spawn, or ahead of it with ``Spawner.warm`` (when a function
of its runtime is created): starting one takes a few hundred milliseconds of an interpreter's
start-up and imports, and, with a ``template`` root, the mounts of the roots' fixed part. Warmed,
a function's first cold start (or the first burst of them) does not wait for that.

Contract of ``Process``: ``exited`` resolves with the exit code (negative: killed by that
signal) once the process is gone; ``kill`` sends SIGKILL to its whole process group and is safe
to call at any time, any number of times.
"""

from __future__ import annotations

import array
import asyncio
import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from lamina.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ZYGOTE_SCRIPT = Path(__file__).resolve().parent / "forkserver.py"
# A fork server answers each spawn in about a millisecond; a burst of a thousand queues up.
SPAWN_REPLY_TIMEOUT_S = 60.0
# Where an environment's processes find the extensions' output pipe (``SpawnRequest.extension_output_fd``).
EXTENSION_OUTPUT_FD = 3


class SpawnError(Exception):
    """The process could not be started (the message says why)."""


@dataclass
class Process:
    pid: int
    prepared: bool = False  # forked ahead by the fork server's pool (forkserver.py), not for this request
    exited: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def kill(self) -> None:
        if self.exited.done():
            return
        # The group, for whatever the runtime started; the pid itself too, for the moment after a
        # fork before the child has made its own session.
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@dataclass(frozen=True)
class Sandbox:
    """What the zygote's child does as root before it runs anything of the function's (``enter.py``)."""

    uid: int  # the unprivileged user the environment runs as
    code: Path  # the function's code: seen read-only at /var/task
    keep: tuple[Path, ...]  # directories seen read-only where they are (the runtime's installation)
    root: Path  # an empty directory where the fork server builds the roots' fixed part (enter.Template)
    tmp_mb: int  # size of the private /tmp
    opt: Path | None = None  # the function's merged layers, mounted read-only at /opt
    netns_fd: int | None = None  # the network namespace to join (network.py's), passed with the request
    seccomp: bytes | None = None  # a compiled system-call filter (sandbox/seccomp.py), installed last
    # What it sees in /var/runtime (a tmpfs of its own): names and the host paths bound there, read-only.
    runtime: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"uid": self.uid, "code": str(self.code), "keep": [str(p) for p in self.keep], "root": str(self.root),
                "tmp_mb": self.tmp_mb, "opt": str(self.opt) if self.opt else None, "runtime": dict(self.runtime),
                "seccomp": base64.b64encode(self.seccomp).decode() if self.seccomp else None}  # fmt: skip


@dataclass(frozen=True)
class SpawnRequest:
    argv: Sequence[str]  # run by exec; for a Python runtime, what a plain fork/exec would run
    cwd: Path
    env: Mapping[str, str]
    output_fd: int  # the write end of the environment's stdout/stderr pipe
    # The write end of a second pipe, which the environment's processes see as descriptor
    # ``EXTENSION_OUTPUT_FD`` (its external extensions' output: extension_processes.py); None: none.
    extension_output_fd: int | None = None
    cgroup_procs: Sequence[Path] = ()  # the child joins these cgroups before running any function code
    sandbox: Sandbox | None = None
    # Resource limits of the environment, as on Lambda: 1,024 open files.
    rlimits: Mapping[str, tuple[int, int]] = field(default_factory=lambda: {"nofile": (1024, 1024)})


class Zygote:
    """One fork server for one Python interpreter; with ``template``, it builds the fixed part of
    sandboxed roots there as it starts (``enter.Template``) rather than on its first sandboxed spawn."""

    def __init__(self, interpreter: str, template: Path | None = None) -> None:
        self.interpreter = interpreter
        self.template = template
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._next_id = 0
        self._replies: dict[int, asyncio.Future[dict[str, object]]] = {}
        self._children: dict[int, Process] = {}
        self._early_exits: dict[int, int] = {}
        self._ready: asyncio.Future[None] | None = None
        self._send_lock = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self._sock is not None and self._proc is not None and self._proc.poll() is None

    async def start(self, timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(
                [self.interpreter, "-u", "-s", str(ZYGOTE_SCRIPT), str(theirs.fileno()),
                 *([str(self.template)] if self.template is not None else [])],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"},
            )  # fmt: skip
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._on_message)
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except BaseException:
            await self.close()
            raise

    async def spawn(self, request: SpawnRequest, *, exec_argv: bool) -> Process:
        """Fork a child for ``request``; it execs ``request.argv`` if ``exec_argv``, else runs the runtime."""
        if not self.alive:
            raise SpawnError("the fork server is not running")
        assert self._sock is not None
        self._next_id += 1
        request_id = self._next_id
        doc = {
            "id": request_id, "cwd": str(request.cwd), "env": dict(request.env),
            "cgroup_procs": [str(p) for p in request.cgroup_procs],
            "exec": list(request.argv) if exec_argv else None,
            "sandbox": request.sandbox.to_json() if request.sandbox else None,
            "netns": bool(request.sandbox and request.sandbox.netns_fd is not None),
            "rlimits": {name: list(limits) for name, limits in request.rlimits.items()},
            "extension_output": EXTENSION_OUTPUT_FD if request.extension_output_fd is not None else None,
        }  # fmt: skip
        reply: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        fds = array.array("i", [request.output_fd])
        if request.sandbox is not None and request.sandbox.netns_fd is not None:
            fds.append(request.sandbox.netns_fd)
        if request.extension_output_fd is not None:
            fds.append(request.extension_output_fd)
        try:
            await self._send(json.dumps(doc).encode(), fds)
            answer = await asyncio.wait_for(reply, SPAWN_REPLY_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self._replies.pop(request_id, None)
            raise SpawnError(f"the fork server did not answer: {exc}") from exc
        if "pid" not in answer:
            raise SpawnError(str(answer.get("error", "unknown error")))
        pid = int(str(answer["pid"]))
        process = Process(pid, prepared=answer.get("prepared") is True)
        early = self._early_exits.pop(pid, None)
        if early is not None:
            process.exited.set_result(early)
        else:
            self._children[pid] = process
        return process

    async def _send(self, data: bytes, fds: array.array[int]) -> None:
        """Send one request; when the socket's buffer is full (a burst of spawns), wait for room.

        Sends are serialised: one sender at a time waits for the socket to be writable.
        """
        loop = asyncio.get_running_loop()
        async with self._send_lock:
            while True:
                assert self._sock is not None
                try:
                    self._sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                    return
                except BlockingIOError:
                    writable: asyncio.Future[None] = loop.create_future()
                    fd = self._sock.fileno()

                    def wake() -> None:
                        if not writable.done():
                            writable.set_result(None)

                    loop.add_writer(fd, wake)
                    try:
                        await writable
                    finally:
                        loop.remove_writer(fd)

    def _on_message(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            doc = json.loads(data)
            if "exit" in doc:
                pid, status = int(doc["exit"]), int(doc["status"])
                child = self._children.pop(pid, None)
                if child is None:
                    self._early_exits[pid] = status
                elif not child.exited.done():
                    child.exited.set_result(status)
            elif "ready" in doc:
                if self._ready is not None and not self._ready.done():
                    self._ready.set_result(None)
            else:
                reply = self._replies.pop(int(doc["id"]), None)
                if reply is not None and not reply.done():
                    reply.set_result(doc)

    def _lost(self) -> None:
        """The zygote died: its children are orphans now; fail whatever waited on it."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(SpawnError("the fork server exited"))
        self._replies.clear()
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(SpawnError("the fork server exited during start-up"))
        for child in self._children.values():
            child.kill()
            if not child.exited.done():
                child.exited.set_result(-signal.SIGKILL)
        self._children.clear()

    async def close(self) -> None:
        """Stop the zygote (its children are killed with it); safe to call twice."""
        self._lost()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            await asyncio.to_thread(self._proc.wait)
            self._proc = None


class Spawner:
    """Starts environment processes; owns one zygote per Python interpreter (``template``: where the
    zygotes build sandboxed roots' fixed part, when environments are sandboxed)."""

    def __init__(self, use_zygotes: bool = True, *, template: Path | None = None) -> None:
        self._use_zygotes = use_zygotes
        self._template = template
        self._zygotes: dict[str, Zygote] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._warming: set[asyncio.Task[None]] = set()

    def warm(self, python: str | None = None) -> None:
        """Start the zygote of ``python`` (else Lamina's interpreter, which forks every other runtime)
        ahead of its first spawn, in a task of the spawner's own; nothing to do if it runs already.
        A zygote that fails to start is logged, and tried again on the first spawn."""
        if not self._use_zygotes:
            return
        python = python or sys.executable
        zygote = self._zygotes.get(python)
        if zygote is not None and zygote.alive:
            return
        task = asyncio.create_task(self._warm(python), name=f"lamina-forkserver-{Path(python).name}")
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def _warm(self, python: str) -> None:
        await self._zygote(python)

    async def spawn(self, request: SpawnRequest, *, python: str | None = None) -> Process:
        """Start ``request``: a Python runtime's environment with ``python`` (its interpreter), else
        ``request.argv`` (a custom runtime's bootstrap)."""
        if self._use_zygotes:
            zygote = await self._zygote(python or sys.executable)
            if zygote is not None:
                try:
                    return await zygote.spawn(request, exec_argv=python is None)
                except SpawnError as exc:
                    if request.sandbox is not None:
                        raise
                    log.warning("fork server failed (%s); starting the environment directly", exc)
            elif request.sandbox is not None:
                raise SpawnError("the fork server that sandboxes environments could not be started")
        return await _popen(request)

    async def _zygote(self, python: str) -> Zygote | None:
        lock = self._starting.setdefault(python, asyncio.Lock())
        async with lock:
            zygote = self._zygotes.get(python)
            if zygote is not None and zygote.alive:
                return zygote
            zygote = Zygote(python, self._template)
            try:
                await zygote.start()
            except Exception as exc:
                log.warning("could not start a fork server for %s: %s", python, exc)
                return None
            self._zygotes[python] = zygote
            return zygote

    async def close(self) -> None:
        for task in list(self._warming):
            await cancel_and_wait(task)
        for zygote in self._zygotes.values():
            await zygote.close()
        self._zygotes.clear()


async def _popen(request: SpawnRequest) -> Process:
    """fork/exec ``request.argv``; exit is watched through a pidfd (no thread per process)."""
    loop = asyncio.get_running_loop()
    argv, fd = list(request.argv), request.extension_output_fd
    if fd is not None and fd != EXTENSION_OUTPUT_FD:  # Popen keeps a descriptor's number: move it, then exec
        move = f"import os, sys; os.dup2({fd}, {EXTENSION_OUTPUT_FD}); os.close({fd}); os.execvp(sys.argv[1], sys.argv[1:])"
        argv = [sys.executable, "-c", move, *argv]
    pass_fds = (fd,) if fd is not None else ()
    try:
        proc = subprocess.Popen(
            argv, cwd=request.cwd, env=dict(request.env), stdin=subprocess.DEVNULL,
            stdout=request.output_fd, stderr=request.output_fd, start_new_session=True, pass_fds=pass_fds,
        )  # fmt: skip
    except OSError as exc:
        raise SpawnError(f"{' '.join(request.argv)}: {exc.strerror}") from exc
    process = Process(proc.pid)
    for procs in request.cgroup_procs:
        try:
            procs.write_text(str(proc.pid))
        except OSError as exc:
            log.warning("could not put process %d in its cgroup: %s", proc.pid, exc)
    pidfd = os.pidfd_open(proc.pid)

    def on_exit() -> None:
        code = proc.poll()
        if code is None:
            return
        loop.remove_reader(pidfd)
        os.close(pidfd)
        if not process.exited.done():
            process.exited.set_result(code)

    loop.add_reader(pidfd, on_exit)
    return process
