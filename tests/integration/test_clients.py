"""The Lamina CLI and the AWS CLI against a real server, as a person would use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROLE, make_zip

VENV_BIN = Path(sys.executable).parent


def lamina_cli(endpoint: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAMINA_ENDPOINT": endpoint}
    return subprocess.run([sys.executable, "-m", "lamina", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)  # fmt: skip


def aws_cli(endpoint: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "lambda", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)  # fmt: skip


def test_lamina_cli_round_trip(lamina: Any, fn_name: str, tmp_path: Path) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(
        "import os\n"
        "def handler(event, context):\n"
        "    print('cli-marker', event['x'])\n"
        "    if event['x'] < 0:\n"
        "        raise ValueError('negative')\n"
        "    return {'double': event['x'] * 2, 'greeting': os.environ['GREETING']}\n"
    )
    deployed = lamina_cli(lamina.endpoint, "deploy", str(code), "--name", fn_name, "--runtime", "python3.11",
                          "--handler", "app.handler", "--env", "GREETING=hi", "--timeout", "5")  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    assert f"lamina invoke {fn_name}" in deployed.stdout + deployed.stderr

    invoked = lamina_cli(lamina.endpoint, "invoke", fn_name, "--payload", '{"x": 21}')
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout) == {"double": 42, "greeting": "hi"}

    failed = lamina_cli(lamina.endpoint, "invoke", fn_name, "--payload", '{"x": -1}')
    assert failed.returncode == 1
    assert "ValueError" in failed.stderr and "negative" in failed.stderr

    listed = lamina_cli(lamina.endpoint, "ls")
    assert listed.returncode == 0 and fn_name in listed.stdout

    logs = lamina_cli(lamina.endpoint, "logs", fn_name)
    assert logs.returncode == 0
    assert "cli-marker 21" in logs.stdout and "REPORT RequestId:" in logs.stdout

    (code / "app.py").write_text("def handler(event, context):\n    return 'updated'\n")
    redeployed = lamina_cli(lamina.endpoint, "deploy", str(code), "--name", fn_name, "--runtime", "python3.11",
                            "--handler", "app.handler")  # fmt: skip
    assert redeployed.returncode == 0, redeployed.stderr
    assert json.loads(lamina_cli(lamina.endpoint, "invoke", fn_name).stdout) == "updated"

    removed = lamina_cli(lamina.endpoint, "rm", fn_name)
    assert removed.returncode == 0
    missing = lamina_cli(lamina.endpoint, "invoke", fn_name)
    assert missing.returncode == 1 and "ResourceNotFoundException" in missing.stderr


def test_aws_cli_round_trip(lamina: Any, fn_name: str, tmp_path: Path) -> None:
    package = tmp_path / "fn.zip"
    package.write_bytes(make_zip({"app.py": "def handler(event, context):\n    return {'got': event}\n"}))
    created = aws_cli(lamina.endpoint, "create-function", "--function-name", fn_name, "--runtime", "python3.11",
                      "--handler", "app.handler", "--role", ROLE, "--zip-file", f"fileb://{package}", cwd=tmp_path)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["FunctionName"] == fn_name

    waited = aws_cli(lamina.endpoint, "wait", "function-active-v2", "--function-name", fn_name, cwd=tmp_path)
    assert waited.returncode == 0, waited.stderr

    invoked = aws_cli(lamina.endpoint, "invoke", "--function-name", fn_name, "--payload", '{"k": "v"}', "out.json",
                      cwd=tmp_path)  # fmt: skip
    assert invoked.returncode == 0, invoked.stderr
    assert json.loads(invoked.stdout)["StatusCode"] == 200
    assert json.loads((tmp_path / "out.json").read_text()) == {"got": {"k": "v"}}

    listed = aws_cli(lamina.endpoint, "list-functions", cwd=tmp_path)
    assert fn_name in [f["FunctionName"] for f in json.loads(listed.stdout)["Functions"]]

    missing = aws_cli(lamina.endpoint, "get-function", "--function-name", "nope-" + fn_name, cwd=tmp_path)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr

    deleted = aws_cli(lamina.endpoint, "delete-function", "--function-name", fn_name, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
