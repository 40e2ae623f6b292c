"""AWS's own Python runtime interface client, unmodified, as a function's runtime.

The function is a custom runtime (``provided.al2023``): its package holds awslambdaric and its
dependencies, as ``pip install --target`` would lay them out, and a ``bootstrap`` that starts it,
exactly as AWS documents for bringing your own runtime client.
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.conftest import deploy, make_zip

HANDLER = '''
import os
def handler(event, context):
    print("via awslambdaric", context.aws_request_id)
    return {"echo": event, "fn": context.function_name, "left": context.get_remaining_time_in_millis(),
            "arn": context.invoked_function_arn}

def fail(event, context):
    raise KeyError("missing")
'''


def _distribution_files(name: str) -> dict[str, bytes]:
    dist = importlib.metadata.distribution(name)
    files: dict[str, bytes] = {}
    for entry in dist.files or []:
        path = Path(str(dist.locate_file(entry)))
        if path.is_file() and "__pycache__" not in entry.parts:
            files[str(entry)] = path.read_bytes()
    return files


def _package() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"app.py": HANDLER}
    for name in ("awslambdaric", "simplejson", "snapshot-restore-py"):
        files.update(_distribution_files(name))
    # The interpreter the vendored native extension was built for (its real path: a virtualenv's
    # folder may be out of the sandbox's sight, the interpreter's installation is not).
    python = os.path.realpath(sys.executable)
    files["bootstrap"] = f'#!/bin/sh\ncd "$LAMBDA_TASK_ROOT"\nexec {python} -m awslambdaric "$_HANDLER"\n'
    return files


def test_awslambdaric_runs_a_function(client: Any, fn_name: str) -> None:
    files = _package()
    config = client.create_function(
        FunctionName=fn_name, Runtime="provided.al2023", Role="arn:aws:iam::000000000000:role/x",
        Handler="app.handler", Timeout=10,
        Code={"ZipFile": make_zip(files, modes={"bootstrap": 0o755})},
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    assert config["Runtime"] == "provided.al2023"

    for round_ in range(2):
        response = client.invoke(FunctionName=fn_name, Payload=json.dumps({"round": round_}), LogType="Tail")
        assert "FunctionError" not in response, response["Payload"].read()
        body = json.loads(response["Payload"].read())
        assert body["echo"] == {"round": round_}
        assert body["fn"] == fn_name
        assert 0 < body["left"] <= 10_000
        assert body["arn"].endswith(f":function:{fn_name}")
        log = base64.b64decode(response["LogResult"]).decode()
        assert f"via awslambdaric {response['ResponseMetadata']['RequestId']}" in log

    client.update_function_configuration(FunctionName=fn_name, Handler="app.fail")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    response = client.invoke(FunctionName=fn_name)
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
    assert any("app.py" in frame for frame in error["stackTrace"])


def test_awslambdaric_reports_an_import_error(client: Any, fn_name: str) -> None:
    files = _package()
    files["app.py"] = "import not_a_module\n"
    deploy(client, fn_name, files, runtime="provided.al2023")
    response = client.invoke(FunctionName=fn_name)
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'app'" in error["errorMessage"]


def test_a_bootstrap_that_cannot_run_is_an_invalid_entrypoint(client: Any, fn_name: str) -> None:
    client.create_function(
        FunctionName=fn_name, Runtime="provided.al2023", Role="arn:aws:iam::000000000000:role/x",
        Handler="app.handler", Code={"ZipFile": make_zip({"bootstrap": "#!/bin/sh\n"}, modes={"bootstrap": 0o644})},
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    response = client.invoke(FunctionName=fn_name)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.InvalidEntrypoint"
