"""The servers the suite starts: each a child process that is ready once it prints its URL.

Lifecycle: ``start`` spawns the process (in a process group of its own) with its output on a
pipe, and reads the pipe until the line matching ``ready``. Then the pipe is handed to a ``cat``
that copies the rest into ``log`` (a chatty server, like serverless-offline with a line per
invocation, must neither block on a full pipe nor cost the load generator's process a wake-up
per line). ``stop`` sends SIGTERM to the process it started, waits up to a deadline, then SIGKILLs
it; processes the server left in its own process group are stopped too, and then the ``cat``.
``stop`` is safe to call twice and after a failed ``start``. ``Processes`` owns every server of a
run and stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path


class ServerError(Exception):
    """A server did not start or stopped unexpectedly (the message has its last output)."""


class ServerProcess:
    def __init__(self, name: str, argv: Sequence[str], *, ready: str, env: Mapping[str, str], log: Path,
                 cwd: Path | None = None) -> None:  # fmt: skip
        self.name = name
        self.argv = list(argv)
        self.ready = re.compile(ready)  # with a group named "url"
        self.env = dict(env)
        self.log = log
        self.cwd = cwd
        self.url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._copier: asyncio.subprocess.Process | None = None
        self._head: list[str] = []

    @property
    def pid(self) -> int:
        assert self._proc is not None, f"{self.name} was not started"
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    def tail(self, lines: int = 40) -> str:
        """The server's last lines of output, for error messages."""
        try:
            rest = self.log.read_text(errors="replace").splitlines(keepends=True)
        except OSError:
            rest = []
        return "".join((self._head + rest)[-lines:])

    async def start(self, timeout: float = 60.0) -> str:
        """Spawn the server and wait for its readiness line; its URL, or ``ServerError``."""
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                env=self.env, cwd=self.cwd, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            os.close(read_fd)
            raise ServerError(f"{self.name} could not start: {exc}") from exc
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(os.dup(read_fd), "rb", buffering=0))  # fmt: skip
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = (await reader.readline()).decode(errors="replace")
                    if not line:
                        raise ServerError(f"{self.name} exited before it was ready:\n{self.tail()}")
                    self._head.append(line)
                    match = self.ready.search(line)
                    if match:
                        self.url = match["url"]
                        break
            transport.close()
            os.set_blocking(read_fd, True)  # the event loop made the shared file description non-blocking
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log, "ab") as log:
                self._copier = await asyncio.create_subprocess_exec("cat", stdin=read_fd, stdout=log)
        except TimeoutError as exc:
            await self.stop()
            raise ServerError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.tail()}") from exc
        except BaseException:
            await self.stop()
            raise
        finally:
            transport.close()
            os.close(read_fd)
        return self.url

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; the exit code (None if never started)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._end_group(proc.pid)
        copier, self._copier = self._copier, None
        if copier is not None:  # it ends at end of file, once no process holds the pipe open
            try:
                await asyncio.wait_for(copier.wait(), 5)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    copier.kill()
                await copier.wait()
        return proc.returncode

    @staticmethod
    def _end_group(pgid: int) -> None:
        """Stop what the server left in the process group it was started in (its group id is its pid)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                return

    def kill_now(self) -> None:
        """Last resort when the event loop is gone: SIGKILL the process, its group, the copier."""
        for proc in (self._proc, self._copier):
            if proc is not None and proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
        if self._proc is not None:
            self._end_group(self._proc.pid)


class Processes:
    """Every server of a run; ``stop_all`` stops them newest first and is safe to call twice."""

    def __init__(self) -> None:
        self._servers: list[ServerProcess] = []

    async def start(self, server: ServerProcess, timeout: float = 60.0) -> ServerProcess:
        self._servers.append(server)
        await server.start(timeout)
        return server

    async def stop(self, server: ServerProcess) -> None:
        await server.stop()
        if server in self._servers:
            self._servers.remove(server)

    async def stop_all(self) -> None:
        while self._servers:
            await self._servers.pop().stop()

    def kill_all(self) -> None:
        while self._servers:
            self._servers.pop().kill_now()


def cpu_seconds(pid: int | None) -> float | None:
    """The CPU time (user and system, all threads) process ``pid`` has used, or None if it is gone or unnamed."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
