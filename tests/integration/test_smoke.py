"""The first thing a newcomer does: deploy a Python function with boto3 and invoke it."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.conftest import deploy

HELLO = '''
def handler(event, context):
    print("hello", event["name"])
    return {"greeting": "hello " + event["name"]}
'''


def test_deploy_and_invoke(client: Any, fn_name: str) -> None:
    config = deploy(client, fn_name, HELLO)
    assert config["FunctionName"] == fn_name
    response = client.invoke(FunctionName=fn_name, Payload=json.dumps({"name": "world"}), LogType="Tail")
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert json.loads(response["Payload"].read()) == {"greeting": "hello world"}
    log = base64.b64decode(response["LogResult"]).decode()
    assert "hello world" in log
    assert log.startswith("START RequestId: ")
    assert "REPORT RequestId: " in log and "Billed Duration: " in log and "Init Duration: " in log
