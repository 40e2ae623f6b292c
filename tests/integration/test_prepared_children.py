"""The fork server's prepared children (forkserver.py's pool): a sandboxed spawn of a shape already
seen goes to a child forked ahead, which becomes exactly the environment a fresh fork would (its
uid, its identity, its code, nothing of the server's descriptors), and no prepared child outlives
the fork server. Lamina runs as root here, so environments are sandboxed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from lamina.sandbox.spawn import Process, Sandbox, SpawnRequest, Zygote
from tests.environments import read_all

# What the environment reports of itself: its uid, who /etc/passwd says it is, its code, its
# descriptors (the listing's own included), and whether /tmp takes a write.
REPORT = """if True:
    import json, os
    with open("/tmp/probe", "w") as f:
        f.write("x")
    print(json.dumps({"uid": os.getuid(), "passwd": open("/etc/passwd").read(), "code": sorted(os.listdir("/var/task")),
                      "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")), "pid": os.getpid()}))
"""


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (its threads' children)."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        found.update(int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return found


def _names(pids: set[int]) -> set[str]:
    """The processes' names (``comm``); one that has gone meanwhile is left out."""
    names = set()
    for pid in pids:
        try:
            names.add(Path(f"/proc/{pid}/comm").read_text().strip())
        except FileNotFoundError:
            pass
    return names


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _until(condition: object, what: str) -> None:
    for _ in range(1000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


def test_a_prepared_child_becomes_the_environment_and_none_outlives_the_server(tmp_path: Path) -> None:
    interpreter = Path(sys.base_prefix).resolve()
    (tmp_path / "root").mkdir()
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "handler.py").write_text("")
    python = os.path.realpath(sys.executable)  # the interpreter itself: the sandbox sees only ``keep``

    def sandbox(uid: int) -> Sandbox:
        return Sandbox(uid=uid, code=tmp_path / "code", keep=(interpreter,), root=tmp_path / "root", tmp_mb=16)

    async def run(zygote: Zygote, uid: int) -> tuple[Process, int, dict[str, object]]:
        read_fd, write_fd = os.pipe()
        request = SpawnRequest(argv=[python, "-c", REPORT], cwd=Path("/tmp"), env={}, output_fd=write_fd,
                               sandbox=sandbox(uid))  # fmt: skip
        try:
            process = await zygote.spawn(request, exec_argv=True)
        finally:
            os.close(write_fd)
        code = await asyncio.wait_for(process.exited, 30)
        output = await asyncio.to_thread(read_all, read_fd)
        assert code == 0, output
        return process, code, json.loads(output)

    async def scenario() -> None:
        zygote = Zygote(sys.executable)
        await zygote.start()
        assert zygote._proc is not None
        server = zygote._proc.pid
        try:
            first, _, seen = await run(zygote, 1_999_999_001)
            assert not first.prepared  # the first of its shape: nothing was prepared for it yet
            assert seen["uid"] == 1_999_999_001 and "sbx_user1051:x:1999999001:" in str(seen["passwd"])
            # The pool fills once the server has been idle a moment.
            # A child is counted as soon as it is forked; it names itself a moment later.
            await _until(lambda: len(_children(server)) >= 2 and _names(_children(server)) == {"lamina-prepared"},
                         "the fork server prepared children, named lamina-prepared")  # fmt: skip
            pooled = _children(server)
            assert _names(pooled) == {"lamina-prepared"}
            second, _, seen = await run(zygote, 1_999_999_002)
            assert second.prepared and second.pid in pooled
            assert seen["uid"] == 1_999_999_002 and "sbx_user1051:x:1999999002:" in str(seen["passwd"])
            assert "1999999001" not in str(seen["passwd"])
            assert seen["code"] == ["handler.py"] and seen["pid"] == 1
            assert len(seen["fds"]) == 4, seen  # type: ignore[arg-type]  # 0-2 and the listing: nothing of the server's
            await _until(lambda: len(_children(server)) >= 2, "the fork server refilled its pool")
            pooled = _children(server)
            assert pooled
        finally:
            await zygote.close()
        await _until(lambda: not any(_alive(pid) for pid in pooled), "prepared children died with the server")

    asyncio.run(scenario())
