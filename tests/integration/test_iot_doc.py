"""docs/iot.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its Python
block, against a real server and a real Mosquitto."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.mosquitto import Mosquitto, mosquitto  # noqa: F401  (the fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "iot.md"
VENV_BIN = Path(sys.executable).parent
BLOCK = re.compile(r"```(?P<lang>sh|python)\n(?P<body>.*?)```", re.S)


def test_the_walkthrough_runs_as_written(make_server: Any, mosquitto: Mosquitto, tmp_path: Path) -> None:
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    text = (DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint)
            .replace("mqtt://127.0.0.1:1883", mosquitto.url).replace("port=1883", f"port={mosquitto.port}"))  # fmt: skip
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ['PATH']}", "LAMINA_ENDPOINT": server.endpoint,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    blocks = list(BLOCK.finditer(text))
    assert [b["lang"] for b in blocks] == ["sh", "sh", "python", "sh"]
    exports = ""
    for block in blocks[:3]:
        body = block["body"]
        if block["lang"] == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=env,
                                    cwd=tmp_path, timeout=60)  # fmt: skip
            assert result.returncode == 0, result.stderr
            continue
        exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
        result = subprocess.run(["bash", "-euc", exports + body], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=120)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        if "lamina iot rules" in body:
            # The rule is subscribed in the background: list again until it is (before publishing).
            deadline = time.monotonic() + 60
            while "connected, 1 subscription" not in result.stdout and time.monotonic() < deadline:
                time.sleep(0.2)
                result = subprocess.run(["bash", "-euc", exports + "lamina iot rules"], capture_output=True,
                                        text=True, env=env, cwd=tmp_path, timeout=60)  # fmt: skip
            assert re.search(r"too_warm\s+home/\+/temp\s+thermo\s+ENABLED", result.stdout), result.stdout
            assert f"broker: {mosquitto.url} connected, 1 subscription" in result.stdout
    logs = blocks[3]["body"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = subprocess.run(["bash", "-c", exports + logs], capture_output=True, text=True, env=env,
                                cwd=tmp_path, timeout=60)  # fmt: skip
        if 'too warm: {"room": "kitchen", "temp": 28}' in result.stdout:
            break
        time.sleep(0.2)
    lines = [line.split(" ", 1)[1] for line in result.stdout.strip().splitlines()]  # after each line's time
    assert lines == ['too warm: {"room": "kitchen", "temp": 28}'], result.stdout
