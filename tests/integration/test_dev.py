"""``lamina dev``: a folder deployed, then redeployed on every save, invoked after each deploy."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from lamina.cli.dev import watched
from tests.conftest import LaminaProcess


def lines_of(stream: IO[str]) -> tuple["queue.Queue[str]", threading.Thread]:
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:
            found.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, name="lamina-dev-output", daemon=True)
    reader.start()
    return found, reader


def wait_for(found: "queue.Queue[str]", text: str, seen: list[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = found.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} never came; output so far:\n" + "\n".join(seen))


def test_a_save_redeploys_and_the_next_invocation_runs_the_new_code(lamina: LaminaProcess, tmp_path: Path,
                                                                   fn_name: str) -> None:  # fmt: skip
    code = tmp_path / "app.py"
    code.write_text("def handler(event, context):\n    return {'answer': 'first'}\n")
    env = {**os.environ, "LAMINA_ENDPOINT": lamina.endpoint}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "dev", str(tmp_path), "--name", fn_name, "--runtime", "python3.11",
         "--handler", "app.handler", "--payload", "{}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    output, reader = lines_of(proc.stdout)
    seen: list[str] = []
    try:
        wait_for(output, '"first"', seen)
        wait_for(output, "Watching", seen)
        code.write_text("def handler(event, context):\n    return {'answer': 'second'}\n")
        reloaded = wait_for(output, "Reloaded", seen)
        assert "app.py changed" in reloaded and " ms " in reloaded
        wait_for(output, '"second"', seen)
        # A mistake is reported with its file and line, and the watch goes on.
        code.write_text("def handler(event, context):\n    return {'answer': undefined_name}\n")
        wait_for(output, "NameError", seen)
        wait_for(output, "app.py", seen)
        (tmp_path / "__pycache__").mkdir(exist_ok=True)
        (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"not a change")
        code.write_text("def handler(event, context):\n    return {'answer': 'third'}\n")
        wait_for(output, '"third"', seen)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code_ = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            reader.join(10)  # the output's end: the process has exited
            proc.stdout.close()
    assert code_ == 0, seen


@pytest.mark.parametrize(("path", "expected"), [
    ("app.py", True), ("lib/util.js", True), ("node_modules/x/index.js", True), (".git/index", False),
    ("__pycache__/app.cpython-311.pyc", False), ("app.py.swp", False), ("app.py~", False), (".#app.py", False),
    ("pkg/.mypy_cache/x", False),
])  # fmt: skip
def test_what_counts_as_a_change(path: str, expected: bool) -> None:
    assert watched(path) is expected
