"""A function's fork server is started as the function is created, with the sandboxed roots'
template already built, so that its first cold start (or first burst of them) does not wait for
either; the first invoke then uses that fork server (Lamina runs as root here: sandboxed)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import deploy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxed environments need root")

HANDLER = "import os\n\ndef handler(event, context):\n    return {'parent': os.getppid()}\n"


def fork_servers(server_pid: int) -> list[int]:
    """The server's children that are fork servers."""
    found = []
    for task in os.listdir(f"/proc/{server_pid}/task"):
        for child in Path(f"/proc/{server_pid}/task/{task}/children").read_text().split():
            try:
                if "forkserver.py" in Path(f"/proc/{child}/cmdline").read_text():
                    found.append(int(child))
            except OSError:
                pass
    return found


def test_creating_a_function_starts_its_fork_server_with_the_template_built(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    assert server.proc is not None
    assert fork_servers(server.proc.pid) == []  # nothing is started before a function asks for it
    client = server.client()
    deploy(client, "warm", HANDLER)
    deadline = time.monotonic() + 30
    while not (servers := fork_servers(server.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(servers) == 1, "no fork server was started for the new function"
    template = str((tmp_path / "data" / "environments" / ".root").resolve())
    while time.monotonic() < deadline:  # built as it starts, before it says it is ready
        mounts = [line.split()[4] for line in Path(f"/proc/{servers[0]}/mountinfo").read_text().splitlines()]
        if template in mounts:
            break
        time.sleep(0.05)
    assert template in mounts and template + "/usr" in mounts
    assert not any(m.startswith(template) for m in Path("/proc/self/mountinfo").read_text().split())  # not the host's
    answer = client.invoke(FunctionName="warm", Payload=b"{}")
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert fork_servers(server.proc.pid) == servers  # the first invoke used it: no second one
