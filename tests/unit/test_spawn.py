"""Starting environment processes: the zygote fork server and the fork/exec fallback, for real."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path


from lamina.sandbox.spawn import Spawner, SpawnRequest, Zygote
from tests.environments import read_all

PYTHON = sys.executable


def request(tmp_path: Path, write_fd: int, **env: str) -> SpawnRequest:
    # No AWS_LAMBDA_RUNTIME_API: the runtime reports that and exits 1, which is all these tests need.
    return SpawnRequest(argv=[PYTHON, "-c", "pass"], cwd=tmp_path, env={"PATH": "/usr/bin:/bin", **env},
                        output_fd=write_fd)  # fmt: skip


def test_zygote_forks_a_child_that_runs_the_runtime(tmp_path: Path) -> None:
    async def scenario() -> None:
        zygote = Zygote(PYTHON)
        await zygote.start()
        try:
            read_fd, write_fd = os.pipe()
            process = await zygote.spawn(request(tmp_path, write_fd), exec_argv=False)
            os.close(write_fd)
            assert await asyncio.wait_for(process.exited, 10) == 1
            assert b"AWS_LAMBDA_RUNTIME_API is not set" in await asyncio.to_thread(read_all, read_fd)
            assert process.pid != os.getpid()
        finally:
            await zygote.close()
            await zygote.close()  # safe twice

    asyncio.run(scenario())


def test_killed_child_reports_the_signal_and_its_group_dies(tmp_path: Path) -> None:
    async def scenario() -> None:
        spawner = Spawner()
        try:
            read_fd, write_fd = os.pipe()
            # A runtime that waits forever: point it at a Runtime API that accepts and never answers.
            writers: list[asyncio.StreamWriter] = []
            server = await asyncio.start_server(lambda r, w: writers.append(w), "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            req = request(tmp_path, write_fd, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", _HANDLER="x.y")
            (tmp_path / "x.py").write_text("def y(e, c):\n    return 1\n")
            process = await spawner.spawn(req, python=PYTHON)
            os.close(write_fd)
            for _ in range(1000):  # the runtime is up once it connects to its Runtime API
                if writers:
                    break
                await asyncio.sleep(0.01)
            assert writers, "the runtime never connected"
            assert os.getpgid(process.pid) == process.pid  # its own session and process group
            process.kill()
            process.kill()
            assert await asyncio.wait_for(process.exited, 10) == -signal.SIGKILL
            read_all(read_fd)
            for writer in writers:
                writer.close()
            server.close()
            await server.wait_closed()
        finally:
            await spawner.close()

    asyncio.run(scenario())


def test_fork_exec_for_other_runtimes(tmp_path: Path) -> None:
    async def scenario() -> None:
        spawner = Spawner()
        try:
            read_fd, write_fd = os.pipe()
            req = SpawnRequest(argv=["/bin/sh", "-c", "echo from-sh; exit 7"], cwd=tmp_path, env={}, output_fd=write_fd)
            process = await spawner.spawn(req)
            os.close(write_fd)
            assert await asyncio.wait_for(process.exited, 10) == 7
            assert read_all(read_fd) == b"from-sh\n"
            # A program that cannot be executed: the child says why and exits 127.
            read_fd, write_fd = os.pipe()
            missing = SpawnRequest(argv=[str(tmp_path / "missing")], cwd=tmp_path, env={}, output_fd=write_fd)
            process = await spawner.spawn(missing)
            os.close(write_fd)
            assert await asyncio.wait_for(process.exited, 10) == 127
            assert b"Runtime failed to start" in read_all(read_fd)
        finally:
            await spawner.close()

    asyncio.run(scenario())


def test_a_dead_zygote_is_replaced(tmp_path: Path) -> None:
    async def scenario() -> None:
        spawner = Spawner()
        try:
            for _ in range(2):
                read_fd, write_fd = os.pipe()
                process = await spawner.spawn(request(tmp_path, write_fd), python=PYTHON)
                os.close(write_fd)
                assert await asyncio.wait_for(process.exited, 10) == 1
                read_all(read_fd)
                zygote = spawner._zygotes[PYTHON]
                assert zygote._proc is not None
                zygote._proc.kill()  # the fork server dies; the next spawn starts a new one
                await asyncio.to_thread(zygote._proc.wait)
                for _ in range(100):
                    if not zygote.alive:
                        break
                    await asyncio.sleep(0.01)
        finally:
            await spawner.close()

    asyncio.run(scenario())


def test_a_burst_of_spawns_is_all_answered(tmp_path: Path) -> None:
    """More requests at once than the fork server's socket holds: each waits for room, none is lost."""

    async def scenario() -> None:
        zygote = Zygote(PYTHON)
        await zygote.start()
        pipes = [os.pipe() for _ in range(300)]
        try:
            processes = await asyncio.gather(
                *(zygote.spawn(request(tmp_path, write_fd), exec_argv=False) for _, write_fd in pipes)
            )
            assert len({p.pid for p in processes}) == 300
            codes = await asyncio.wait_for(asyncio.gather(*(p.exited for p in processes)), 60)
            assert set(codes) == {1}
        finally:
            for read_fd, write_fd in pipes:
                os.close(write_fd)
                read_all(read_fd)
            await zygote.close()

    asyncio.run(scenario())


def test_warm_starts_the_fork_server_before_any_spawn_and_spawns_use_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        spawner = Spawner()
        try:
            spawner.warm(PYTHON)
            for _ in range(3000):  # the task starts it: an interpreter's start-up and imports
                zygote = spawner._zygotes.get(PYTHON)
                if zygote is not None and zygote.alive:
                    break
                await asyncio.sleep(0.01)
            warmed = spawner._zygotes.get(PYTHON)
            assert warmed is not None and warmed.alive
            spawner.warm(PYTHON)  # running already: nothing more starts
            assert not spawner._warming
            read_fd, write_fd = os.pipe()
            process = await spawner.spawn(request(tmp_path, write_fd), python=PYTHON)
            os.close(write_fd)
            assert await asyncio.wait_for(process.exited, 10) == 1
            assert spawner._zygotes[PYTHON] is warmed
            read_all(read_fd)
        finally:
            await spawner.close()

    asyncio.run(scenario())


def test_a_spawner_closed_while_warming_leaves_no_fork_server() -> None:
    async def scenario() -> None:
        spawner = Spawner()
        spawner.warm(PYTHON)
        await asyncio.sleep(0)  # the task has begun starting the zygote
        await spawner.close()
        assert not spawner._warming
        assert all(not zygote.alive for zygote in spawner._zygotes.values())

    asyncio.run(scenario())


def test_warm_does_nothing_without_fork_servers() -> None:
    async def scenario() -> None:
        spawner = Spawner(use_zygotes=False)
        spawner.warm(PYTHON)
        assert not spawner._warming and not spawner._zygotes
        await spawner.close()

    asyncio.run(scenario())


def test_the_extensions_pipe_is_descriptor_3_on_both_routes(tmp_path: Path) -> None:
    """A second pipe reaches the process as descriptor 3 (what the extensions' launcher writes to),
    through the fork server and through plain fork/exec alike; its stdout stays the first pipe."""
    script = "echo to-output; echo to-extensions >&3; exec 3>&-"

    async def run(spawner: Spawner) -> tuple[bytes, bytes, int]:
        out_r, out_w = os.pipe()
        ext_r, ext_w = os.pipe()
        req = SpawnRequest(argv=["/bin/sh", "-c", script], cwd=tmp_path, env={}, output_fd=out_w,
                           extension_output_fd=ext_w)  # fmt: skip
        try:
            process = await spawner.spawn(req)
        finally:
            os.close(out_w)
            os.close(ext_w)
        code = await asyncio.wait_for(process.exited, 10)
        output, extensions = await asyncio.gather(asyncio.to_thread(read_all, out_r), asyncio.to_thread(read_all, ext_r))
        return output, extensions, code

    async def scenario() -> None:
        for spawner in (Spawner(), Spawner(use_zygotes=False)):
            try:
                assert await run(spawner) == (b"to-output\n", b"to-extensions\n", 0)
            finally:
                await spawner.close()

    asyncio.run(scenario())
