"""docs/rabbitmq.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block (aio-pika), against a real server and a real RabbitMQ node; the output it shows is
what they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.rabbitmq import VHOST, RabbitMQ, rabbitmq  # noqa: F401  (the fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "rabbitmq.md"
VENV_BIN = Path(sys.executable).parent
BLOCK = re.compile(r"```(?P<lang>sh|python|)\n(?P<body>.*?)```", re.S)
DOC_BROKER = "amqp://guest:guest@127.0.0.1:5672"


def test_the_walkthrough_runs_as_written(make_server: Any, rabbitmq: RabbitMQ, tmp_path: Path) -> None:  # noqa: F811
    server = make_server(LAMINA_RABBITMQ_BROKERS=f"orders-broker={rabbitmq.url(VHOST)}")
    text = DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint).replace(DOC_BROKER, rabbitmq.url(VHOST))
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "LAMINA_ENDPOINT": server.endpoint,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    blocks = list(BLOCK.finditer(text))
    assert [b["lang"] for b in blocks] == ["", "", "sh", "python", "sh", ""]
    assert "orders-broker=" + rabbitmq.url(VHOST) in blocks[1]["body"]  # how the server above was started
    exports = ""
    shown = ""
    for block in blocks[2:5]:
        body = block["body"]
        if block["lang"] == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=60)  # fmt: skip
        else:
            exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
            result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=180)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        shown = result.stdout
    assert shown.strip().splitlines() == blocks[5]["body"].strip().splitlines()
