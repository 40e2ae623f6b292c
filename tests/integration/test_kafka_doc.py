"""docs/kafka.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server and a real Kafka broker of the test's own (the walkthrough's
topic name is fixed). The blocks that show what arrived run once it has arrived."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.functions import wait_for_logs, wait_until
from tests.kafka import make_kafka  # noqa: F401  (the fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "kafka.md"
VENV_BIN = Path(sys.executable).parent
BLOCK = re.compile(r"```(?P<lang>sh|python|)\n(?P<body>.*?)```", re.S)


def _backlog(endpoint: str) -> Any:
    with urllib.request.urlopen(f"{endpoint}/lamina/v1/event-source-mappings", timeout=30) as resp:
        return [row["backlog"] for row in json.loads(resp.read())["mappings"]]


def test_the_walkthrough_runs_as_written(make_server: Any, make_kafka: Any, tmp_path: Path) -> None:  # noqa: F811
    broker = make_kafka()
    server = make_server(tmp_path / "data")
    text = DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint).replace("127.0.0.1:9092", broker.bootstrap)
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "LAMINA_ENDPOINT": server.endpoint,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    blocks = list(BLOCK.finditer(text.split("## What a Kafka mapping takes")[0]))
    assert [b["lang"] for b in blocks] == ["sh", "python", "sh", "", "sh", "", "sh", ""]
    exports = ""
    shown = ""
    for block in blocks:
        body = block["body"]
        if block["lang"] == "":  # what the block before it prints (the POLLERS column aside: it varies)
            expected = [line.split() for line in body.strip().splitlines()]
            got = [line.split() for line in shown.strip().splitlines()[-len(expected):]]
            if "POLLERS" in body:
                expected, got = [row[:-1] for row in expected], [row[:-1] for row in got]
            assert got == expected, shown
            continue
        if "lamina logs" in body:
            wait_for_logs(server.endpoint, "printer", lambda lines: sum("orders-" in line for line in lines) >= 3,
                          timeout=60)  # fmt: skip
        if "lamina mappings" in body:
            wait_until(lambda: _backlog(server.endpoint) == [0], timeout=60)
        if block["lang"] == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=60)  # fmt: skip
        else:
            exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
            result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=120)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        shown = result.stdout
