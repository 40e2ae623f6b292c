"""Lambda extensions end to end: external extensions from a layer's extensions/ folder register with
the Extensions API, see each invocation's INVOKE event and the environment's SHUTDOWN."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROLE, LaminaProcess, build_cache, deploy, make_zip
from tests.integration.test_function_urls import call, url_parts
from tests.integration.test_provided import go_build
from tests.functions import invoke, request_id, wait_for_logs, wait_until

# AWS's sample bash extension, in its shape: register for INVOKE and SHUTDOWN by its file name,
# then loop on next, keeping each event in /tmp and printing it.
BASH_EXTENSION = """#!/bin/bash
set -euo pipefail
OWN_FILENAME="$(basename $0)"
LAMBDA_EXTENSION_NAME="$OWN_FILENAME"
HEADERS="$(mktemp)"
echo "[${LAMBDA_EXTENSION_NAME}] Registering..."
curl -sS -LD "$HEADERS" -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register" \\
  --header "Lambda-Extension-Name: ${LAMBDA_EXTENSION_NAME}" \\
  -d "{ \\"events\\": [\\"INVOKE\\", \\"SHUTDOWN\\"]}" > /tmp/registration
EXTENSION_ID=$(grep -Fi Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
echo "[${LAMBDA_EXTENSION_NAME}] Registered: $(cat /tmp/registration) handler=${_HANDLER:-unset}"
while true; do
  EVENT=$(curl -sS -L -XGET "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/event/next" \\
    --header "Lambda-Extension-Identifier: ${EXTENSION_ID}")
  echo "$EVENT" >> /tmp/extension-events
  echo "[${LAMBDA_EXTENSION_NAME}] Event: $EVENT"
  if [[ $EVENT == *"SHUTDOWN"* ]]; then
    echo "[${LAMBDA_EXTENSION_NAME}] Shutting down"
    exit 0
  fi
done
"""

# Registers, and never asks for an event.
STUCK_EXTENSION = """#!/bin/bash
curl -sS -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register" \\
  --header "Lambda-Extension-Name: $(basename $0)" -d '{"events": ["INVOKE"]}' > /dev/null
sleep 600
"""

# Registers, then reports that it cannot initialise.
FAILING_EXTENSION = """#!/bin/bash
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register" \\
  --header "Lambda-Extension-Name: $(basename $0)" -d '{"events": ["INVOKE"]}' > /dev/null
ID=$(grep -Fi Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
curl -sS -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/init/error" \\
  --header "Lambda-Extension-Identifier: $ID" --header "Lambda-Extension-Function-Error-Type: Extension.ConfigInvalid" \\
  -d '{"errorMessage": "no configuration", "errorType": "ConfigInvalid"}' > /dev/null
sleep 600
"""

# A Python extension in the shape of AWS's telemetry samples: an HTTP listener on
# sandbox.localdomain, a subscription to platform and function records, then a loop on next. It
# keeps what it receives in /tmp.
TELEMETRY_EXTENSION = """#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(__file__)

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        records = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with open("/tmp/telemetry", "a") as f:
            for record in records:
                f.write(json.dumps(record) + "\\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(("sandbox.localdomain", 4243), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

request = urllib.request.Request(API + "/2020-01-01/extension/register", data=b'{"events": ["INVOKE"]}',
                                 headers={"Lambda-Extension-Name": NAME}, method="POST")
with urllib.request.urlopen(request) as response:
    identifier = response.headers["Lambda-Extension-Identifier"]
subscription = {
    "schemaVersion": "2022-12-13", "types": ["platform", "function"],
    "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
    "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/telemetry"},
}
request = urllib.request.Request(API + "/2022-07-01/telemetry", data=json.dumps(subscription).encode(),
                                 headers={"Lambda-Extension-Identifier": identifier}, method="PUT")
with urllib.request.urlopen(request) as response:
    print(f"[{NAME}] subscribed: {response.status} {response.read().decode()}", flush=True)
while True:
    request = urllib.request.Request(API + "/2020-01-01/extension/event/next",
                                     headers={"Lambda-Extension-Identifier": identifier})
    with urllib.request.urlopen(request) as response:
        response.read()
"""

TELEMETRY_FUNCTION = """
def handler(event, context):
    print("hello from", context.aws_request_id)
    try:
        with open("/tmp/telemetry") as f:
            return f.read()
    except FileNotFoundError:
        return ""
"""

# Exits before it registers.
CRASHING_EXTENSION = """#!/bin/bash
echo "[$(basename $0)] cannot start"
exit 3
"""

# Takes its time to register; what it prepares first is there when the function initialises.
SLOW_EXTENSION = """#!/bin/bash
sleep 1
echo prepared > /tmp/prepared-by-extension
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register" \\
  --header "Lambda-Extension-Name: $(basename $0)" -d '{"events": []}' > /dev/null
ID=$(grep -Fi Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/event/next" --header "Lambda-Extension-Identifier: $ID"
"""

# Registers for INVOKE; after each one it goes on for a while (LINGER seconds), then records the
# request id in /tmp and in the log, and only then asks for its next event.
LINGERING_EXTENSION = """#!/bin/bash
HEADERS="$(mktemp)"
curl -sS -D "$HEADERS" -XPOST "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/register" \\
  --header "Lambda-Extension-Name: $(basename $0)" -d '{"events": ["INVOKE"]}' > /dev/null
ID=$(grep -Fi Lambda-Extension-Identifier "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
while true; do
  EVENT=$(curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension/event/next" \\
    --header "Lambda-Extension-Identifier: $ID")
  RID=$(echo "$EVENT" | sed -n 's/.*"requestId": *"\\([^"]*\\)".*/\\1/p')
  sleep LINGER
  echo "$RID" >> /tmp/extension-done
  echo "[$(basename $0)] done $RID"
done
"""

# Says which environment ran it, which invocations that environment ran before, and for which of
# them the extension had finished when this one began.
SERVED_FUNCTION = """
import uuid
ENV = str(uuid.uuid4())

def read(path):
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []

def handler(event, context):
    served, done = read("/tmp/served"), read("/tmp/extension-done")
    with open("/tmp/served", "a") as f:
        f.write(context.aws_request_id + "\\n")
    return {"env": ENV, "served": served, "done": done}
"""

PYTHON_FUNCTION = """
def handler(event, context):
    try:
        with open("/tmp/extension-events") as f:
            events = f.read()
    except FileNotFoundError:
        events = ""
    return {"events": events, "requestId": context.aws_request_id}
"""

NODE_FUNCTION = """
const fs = require("fs");
exports.handler = async (event, context) => {
  let events = "";
  try { events = fs.readFileSync("/tmp/extension-events", "utf8"); } catch (e) {}
  return { events, requestId: context.awsRequestId };
};
"""


def extension_layer(client: Any, name: str, files: dict[str, str]) -> str:
    modes = {path: 0o755 for path in files}
    layer = client.publish_layer_version(LayerName=name[:64], Content={"ZipFile": make_zip(files, modes=modes)})
    return str(layer["LayerVersionArn"])


def events_of(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("runtime", ["python3.11", "nodejs20.x"])
def test_external_extension_sees_invoke_events(client: Any, lamina: LaminaProcess, fn_name: str, runtime: str) -> None:
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/sample-extension": BASH_EXTENSION})
    code = {"app.py": PYTHON_FUNCTION} if runtime.startswith("python") else {"index.js": NODE_FUNCTION}
    handler = "app.handler" if runtime.startswith("python") else "index.handler"
    deploy(client, fn_name, code, handler=handler, runtime=runtime, Layers=[layer])

    first, body1, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body1
    rid1 = request_id(first)
    # The function's log has the extension's line for its INVOKE event, before the invocation's
    # REPORT: that came only once the extension had asked for its next event.
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any(f"REPORT RequestId: {rid1}" in ln for ln in lines))
    seen = [i for i, line in enumerate(logs) if "[sample-extension] Event:" in line and rid1 in line]
    report = next(i for i, line in enumerate(logs) if f"REPORT RequestId: {rid1}" in line)
    assert seen and seen[0] < report, logs

    second, body2, _ = invoke(client, fn_name, {})
    rid2 = request_id(second)
    events = events_of(body2["events"])
    assert events[0]["eventType"] == "INVOKE" and events[0]["requestId"] == rid1
    assert events[0]["invokedFunctionArn"].endswith(f":function:{fn_name}")
    assert events[0]["tracing"]["type"] == "X-Amzn-Trace-Id" and events[0]["tracing"]["value"].startswith("Root=")
    assert isinstance(events[0]["deadlineMs"], int)
    assert body2["requestId"] == rid2

    ready = "EXTENSION\tName: sample-extension\tState: Ready\tEvents: [INVOKE,SHUTDOWN]"
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: ready in lines)
    registered = next(line for line in logs if "Registered:" in line)
    answer = json.loads(registered.split("Registered: ", 1)[1].rsplit(" handler=", 1)[0])
    assert answer == {"functionName": fn_name, "functionVersion": "$LATEST", "handler": handler}
    assert registered.endswith("handler=unset")  # the runtime's own variables are not the extensions'
    assert ready in logs

    # Updating the function retires the environment: the extension gets SHUTDOWN (spindown).
    client.update_function_configuration(FunctionName=fn_name, Description="retire")
    client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any("Shutting down" in line for line in lines))
    shutdown = [json.loads(line.split("Event: ", 1)[1]) for line in logs if '"SHUTDOWN"' in line]
    assert shutdown and shutdown[0]["shutdownReason"] == "spindown", logs
    assert any("[sample-extension] Shutting down" in line for line in logs)


def test_idle_environment_is_shut_down_for_its_extension(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_KEEP_ALIVE="1")
    client = server.client()
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/sample-extension": BASH_EXTENSION})
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    logs = wait_for_logs(server.endpoint, fn_name, lambda lines: any("Shutting down" in line for line in lines), 30)
    assert any('"shutdownReason": "spindown"' in line for line in logs), logs


def test_stopping_the_server_shuts_extensions_down(make_server: Any, tmp_path: Path, fn_name: str) -> None:
    data = tmp_path / "data"
    server = make_server(data)
    client = server.client()
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/sample-extension": BASH_EXTENSION})
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert server.stop() == 0
    again = make_server(data)  # what the environment printed as it went is in the function's log
    logs = wait_for_logs(again.endpoint, fn_name, lambda lines: any("Shutting down" in line for line in lines))
    assert any('"shutdownReason": "spindown"' in line for line in logs), logs


def test_caller_is_answered_before_the_extensions_are_done(client: Any, lamina: LaminaProcess, fn_name: str) -> None:
    # As on Lambda, the Invoke is answered as soon as the runtime posts its result; the extension
    # goes on (a second here), and the environment takes no other invocation until it called next.
    layer = extension_layer(client, f"linger-{fn_name}",
                            {"extensions/lingering": LINGERING_EXTENSION.replace("LINGER", "1")})  # fmt: skip
    deploy(client, fn_name, SERVED_FUNCTION, Layers=[layer])
    first, body1, log1 = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body1
    rid1 = request_id(first)
    # The answer's log tail ends with the function's output: the extension's line (written before
    # it calls next) and the REPORT (written after) came later.
    assert f"START RequestId: {rid1}" in log1, log1
    assert f"done {rid1}" not in log1 and "REPORT RequestId" not in log1, log1

    # Whatever ran in that environment afterwards found the extension done with every invocation
    # before it. Invoked at once, the first may still be busy and another one starts: go on until
    # the first one ran one again.
    def from_first_environment() -> dict[str, Any] | None:
        response, body, _ = invoke(client, fn_name, {})
        assert "FunctionError" not in response, body
        assert body["done"] == body["served"], body
        return body if body["env"] == body1["env"] else None

    again = wait_until(from_first_environment)
    assert again["served"][0] == rid1 and again["done"][0] == rid1, again

    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any(f"REPORT RequestId: {rid1}" in ln for ln in lines))
    done = next(i for i, line in enumerate(logs) if line == f"[lingering] done {rid1}")
    end = next(i for i, line in enumerate(logs) if line == f"END RequestId: {rid1}")
    report = next(i for i, line in enumerate(logs) if line.startswith(f"REPORT RequestId: {rid1}\t"))
    assert done < end < report, logs


def test_extension_overrunning_the_timeout_resets_the_environment(
    client: Any, lamina: LaminaProcess, fn_name: str
) -> None:  # fmt: skip
    # The function's timeout bounds its extensions too: the caller has the runtime's result, and the
    # invocation then times out; the environment is not used again.
    layer = extension_layer(client, f"overrun-{fn_name}",
                            {"extensions/lingering": LINGERING_EXTENSION.replace("LINGER", "600")})  # fmt: skip
    deploy(client, fn_name, SERVED_FUNCTION, Layers=[layer], Timeout=2)
    first, body1, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body1
    rid1 = request_id(first)
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any(f"REPORT RequestId: {rid1}" in ln for ln in lines))
    timed_out = next(i for i, line in enumerate(logs) if "Extensions did not finish within the timeout: lingering" in line)
    report = next(i for i, line in enumerate(logs) if line.startswith(f"REPORT RequestId: {rid1}\t"))
    assert timed_out < report, logs
    duration = float(logs[report].split("Duration: ", 1)[1].split(" ms", 1)[0])
    assert duration > 1000, logs[report]  # the invoke phase, extensions included, is what is billed
    _, body2, _ = invoke(client, fn_name, {})
    assert body2["env"] != body1["env"] and body2["served"] == [], body2


def test_extension_that_never_calls_next_fails_init(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/stuck": STUCK_EXTENSION})
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    response, body, log = invoke(client, fn_name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Runtime.InitTimeout", "errorMessage": "Init timed out after 10.00 seconds"}
    assert "Extensions not ready: stuck did not call next" in log, log
    assert "EXTENSION\tName: stuck\tState: Registered\tEvents: [INVOKE]" in log


def test_extension_that_exits_before_registering_fails_init(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/crashing": CRASHING_EXTENSION})
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    response, body, log = invoke(client, fn_name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Extension.Crash", body
    assert "crashing" in body["errorMessage"]
    assert "[crashing] cannot start" in log


def test_runtime_starts_once_the_extensions_registered(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/slow": SLOW_EXTENSION})
    code = "with open('/tmp/prepared-by-extension') as f:\n    AT_INIT = f.read()\n\n" \
           "def handler(event, context):\n    return AT_INIT\n"
    deploy(client, fn_name, code, Layers=[layer])
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == "prepared\n"


def test_extension_init_error_fails_init(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"ext-{fn_name}", {"extensions/failing": FAILING_EXTENSION})
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    response, body, _ = invoke(client, fn_name, {})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Extension.InitError", body
    assert body["errorMessage"] == "Extension failing reported an error: Extension.ConfigInvalid"


def test_internal_extension_registers_during_init(client: Any, fn_name: str) -> None:
    # An internal extension registers while the runtime initialises, and calls next from a thread of
    # its own; it may not take SHUTDOWN; after init, registration is closed.
    code = """
import json, os, threading, urllib.request, urllib.error, uuid

ENV = str(uuid.uuid4())
API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension"
SEEN = []

def register(name, events):
    request = urllib.request.Request(f"{API}/register", data=json.dumps({"events": events}).encode(),
                                     headers={"Lambda-Extension-Name": name}, method="POST")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read()), response.headers["Lambda-Extension-Identifier"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), None

def loop(identifier):
    while True:
        request = urllib.request.Request(f"{API}/event/next", headers={"Lambda-Extension-Identifier": identifier})
        with urllib.request.urlopen(request) as response:
            SEEN.append(json.loads(response.read())["requestId"])

AT_INIT = register("internal", ["INVOKE"])
SHUTDOWN_AT_INIT = register("internal-shutdown", ["SHUTDOWN"])
threading.Thread(target=loop, args=(AT_INIT[2],), daemon=True).start()

def handler(event, context):
    return {"init": AT_INIT[:2], "shutdown": SHUTDOWN_AT_INIT[:2], "later": register("late", [])[:2],
            "seen": list(SEEN), "env": ENV}
"""
    deploy(client, fn_name, code)
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body["init"] == [200, {"functionName": fn_name, "functionVersion": "$LATEST", "handler": "app.handler"}]
    assert body["shutdown"][0] == 400
    assert body["shutdown"][1]["errorType"] == "ShutdownEventNotSupportedForInternalExtension"
    assert body["later"][0] == 403

    def from_first_environment() -> dict[str, Any] | None:  # the first may still be busy: another starts
        _, again, _ = invoke(client, fn_name, {})
        return again if again["env"] == body["env"] else None

    assert request_id(response) in wait_until(from_first_environment)["seen"]


def test_unknown_extension_identifier_is_forbidden(client: Any, fn_name: str) -> None:
    code = """
import os, urllib.request, urllib.error

def handler(event, context):
    request = urllib.request.Request(
        f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2020-01-01/extension/event/next",
        headers={"Lambda-Extension-Identifier": "not-registered"})
    try:
        urllib.request.urlopen(request)
    except urllib.error.HTTPError as exc:
        return exc.code
"""
    deploy(client, fn_name, code)
    _, body, _ = invoke(client, fn_name, {})
    assert body == 403


def test_layer_without_extensions_is_unaffected(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"noext-{fn_name}", {"python/helper.py": "X = 1\n"})
    deploy(client, fn_name, "import helper\ndef handler(e, c):\n    return helper.X\n", Layers=[layer])
    _, body, _ = invoke(client, fn_name, {})
    assert body == 1


def test_telemetry_reaches_the_extensions_listener(client: Any, fn_name: str) -> None:
    layer = extension_layer(client, f"tel-{fn_name}", {"extensions/telemetry-extension": TELEMETRY_EXTENSION})
    deploy(client, fn_name, TELEMETRY_FUNCTION, Layers=[layer])
    # One environment: what its extension received is in its /tmp (an invocation that found it still
    # finishing the last one is throttled, and tried again).
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)
    first, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body
    rid1 = request_id(first)

    def records_of_first() -> list[dict[str, Any]] | None:
        try:
            response, text, _ = invoke(client, fn_name, {})
        except client.exceptions.TooManyRequestsException:
            return None
        assert "FunctionError" not in response, text
        records = events_of(text)
        done = any(r["type"] == "platform.report" and r["record"]["requestId"] == rid1 for r in records)
        return records if done else None

    records = wait_until(records_of_first)
    platform = [r for r in records if r["type"].startswith("platform.")]
    assert [r["type"] for r in platform[:7]] == [
        "platform.initStart", "platform.extension", "platform.initRuntimeDone", "platform.initReport",
        "platform.start", "platform.runtimeDone", "platform.report",
    ], records  # fmt: skip
    assert platform[1]["record"] == {"name": "telemetry-extension", "state": "Ready", "events": ["INVOKE"]}
    assert platform[0]["record"]["functionName"] == fn_name
    assert platform[0]["record"]["runtimeVersion"].startswith("python:3.11.v")
    assert platform[3]["record"]["metrics"]["durationMs"] > 0
    # The extension's own line is an extension record, which it did not subscribe to: not a function one.
    assert not any("subscribed: 200 OK" in str(r["record"]) for r in records)
    start = next(r for r in records if r["type"] == "platform.start")
    assert start["record"] == {"requestId": rid1, "version": "$LATEST"}
    assert any(r["type"] == "function" and r["record"] == f"hello from {rid1}" for r in records)
    done = next(r for r in records if r["type"] == "platform.runtimeDone")
    assert done["record"]["requestId"] == rid1 and done["record"]["status"] == "success"
    report = next(r for r in records if r["type"] == "platform.report")
    assert report["record"]["metrics"]["memorySizeMB"] == 128 and "initDurationMs" in report["record"]["metrics"]
    assert all(r["time"].endswith("Z") for r in records)


def test_go_extension_in_the_shape_of_aws_sample(client: Any, lamina: LaminaProcess, fn_name: str) -> None:
    binary = go_build("extension")
    layer = client.publish_layer_version(
        LayerName=f"goext-{fn_name}"[:64],
        Content={"ZipFile": make_zip({"extensions/go-example-extension": binary},
                                     modes={"extensions/go-example-extension": 0o755})},
    )["LayerVersionArn"]  # fmt: skip
    deploy(client, fn_name, PYTHON_FUNCTION, Layers=[layer])
    first, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body
    rid1 = request_id(first)
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any(f"REPORT RequestId: {rid1}" in ln for ln in lines))
    assert any(f'"requestId":"{rid1}"' in line.replace(" ", "") for line in logs), logs
    _, body2, _ = invoke(client, fn_name, {})
    assert events_of(body2["events"])[0]["requestId"] == rid1
    client.delete_function(FunctionName=fn_name)
    logs = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any("Shutting down" in line for line in lines))
    assert any("[go-example-extension] Register response: " + fn_name + "/$LATEST" in line for line in logs), logs
    assert any('"shutdownReason":"spindown"' in line.replace(" ", "") for line in logs), logs


# -- Lambda Web Adapter (awslabs/aws-lambda-web-adapter, the crate lambda_web_adapter) --------------

LWA_VERSION = "0.9.1"

# Its layer's /opt/bootstrap, as the project ships it: the wrapper runs the handler script.
LWA_WRAPPER = '#!/bin/bash\n\nexec -- "${LAMBDA_TASK_ROOT}/${_HANDLER}"\n'

WEB_APP = """
import json
from http.server import BaseHTTPRequestHandler, HTTPServer

class App(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "method": "GET", "user_agent": self.headers.get("User-Agent")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", 8080), App).serve_forever()
"""


def lambda_web_adapter() -> bytes:
    """The ``lambda-adapter`` binary, built once from crates.io with cargo (skips without cargo)."""
    root = build_cache("lambda-web-adapter") / LWA_VERSION
    binary = root / "bin" / "lambda-adapter"
    if not binary.exists():
        cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
        if not Path(cargo).exists():
            pytest.skip("cargo is not installed: Lambda Web Adapter is built from crates.io")
        build = subprocess.run(
            [cargo, "install", "lambda_web_adapter", "--version", LWA_VERSION, "--locked", "--root", str(root)],
            capture_output=True, text=True, timeout=3600, check=False,
        )  # fmt: skip
        assert build.returncode == 0, f"cargo install lambda_web_adapter failed:\n{build.stderr[-4000:]}"
    return binary.read_bytes()


@pytest.mark.slow
def test_lambda_web_adapter_serves_a_web_app_behind_a_function_url(client: Any, lamina: LaminaProcess, fn_name: str) -> None:
    adapter = lambda_web_adapter()
    files = {"bootstrap": LWA_WRAPPER, "extensions/lambda-adapter": adapter}
    layer = client.publish_layer_version(
        LayerName=f"lwa-{fn_name}"[:64], Content={"ZipFile": make_zip(files, modes={name: 0o755 for name in files})},
    )["LayerVersionArn"]  # fmt: skip
    code = {"run.sh": "#!/bin/bash\nexec python3 app.py\n", "app.py": WEB_APP}
    config = client.create_function(
        FunctionName=fn_name, Runtime="python3.11", Role=ROLE, Handler="run.sh",
        Code={"ZipFile": make_zip(code, modes={"run.sh": 0o755})}, Layers=[layer], Timeout=10,
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap", "AWS_LWA_PORT": "8080"}},
    )  # fmt: skip
    assert config["Layers"][0]["Arn"] == layer
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    url = client.create_function_url_config(FunctionName=fn_name, AuthType="NONE")["FunctionUrl"]
    client.add_permission(FunctionName=fn_name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                          FunctionUrlAuthType="NONE")  # fmt: skip
    _, host = url_parts(url)
    for path in ("/hello?name=web", "/again"):
        status, _, data = call(lamina.endpoint, path, host=host, headers={"User-Agent": "lwa-test"})
        assert status == 200, data
        assert json.loads(data) == {"path": path, "method": "GET", "user_agent": "lwa-test"}
