"""Extensions' own output and the Logs API, end to end: what an external extension prints is an
``extension`` record for Telemetry and Logs API subscribers (and still a line of the function's log);
the Logs API (2020-08-15) delivers its own schema over HTTP and TCP; subscriptions Lambda refuses get
its errors; an extension flooding its output neither takes the function's log budget nor stalls Lamina."""

from __future__ import annotations

import json
from typing import Any, Callable

from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke, request_id, wait_for_logs, wait_until
from tests.integration.test_extensions import extension_layer

# An extension in the shape of AWS's Logs API and Telemetry API samples, which subscribes as its file
# name says: "logs-http" to the Logs API over HTTP (schema 2021-03-18), "logs-tcp" to the Logs API over
# TCP (schema 2020-08-15), "telemetry-http" to the Telemetry API; each to platform, function and
# extension records. It listens on sandbox.localdomain first, and keeps what it receives in /tmp. It
# prints lines of its own: as it subscribes, and for each INVOKE event. Before its subscription, it
# sends ones Lambda refuses; after it, one to the other API; it keeps their answers in /tmp too.
EXTENSION = r'''#!/usr/bin/env python3
import json, os, socket, threading, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(__file__)
PORT = {"logs-http": 4244, "logs-tcp": 4245, "telemetry-http": 4246}[NAME]

def keep(records):
    with open(f"/tmp/{NAME}.records", "a") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        keep(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

def receive_tcp(listener):
    connection, _ = listener.accept()
    with connection.makefile("rb") as stream:
        for line in stream:
            keep([json.loads(line)])

if NAME == "logs-tcp":
    listener = socket.create_server(("sandbox.localdomain", PORT))
    threading.Thread(target=receive_tcp, args=(listener,), daemon=True).start()
else:
    server = HTTPServer(("sandbox.localdomain", PORT), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()

def call(method, path, body=None, headers=None):
    request = urllib.request.Request(API + path, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()

_, headers, _ = call("POST", "/2020-01-01/extension/register", b'{"events": ["INVOKE"]}', {"Lambda-Extension-Name": NAME})
identifier = headers["Lambda-Extension-Identifier"]
own = {"Lambda-Extension-Identifier": identifier}
logs = NAME.startswith("logs")
path, other = ("/2020-08-15/logs", "/2022-07-01/telemetry") if logs else ("/2022-07-01/telemetry", "/2020-08-15/logs")
destination = ({"protocol": "TCP", "URI": f"sandbox.localdomain:{PORT}"} if NAME == "logs-tcp"
               else {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{PORT}/records"})
subscription = {
    "schemaVersion": {"logs-http": "2021-03-18", "logs-tcp": "2020-08-15"}.get(NAME, "2022-12-13"),
    "types": ["platform", "function", "extension"], "buffering": {"timeoutMs": 25}, "destination": destination,
}
refused = [
    b"{not json", json.dumps({**subscription, "types": []}).encode(),
    json.dumps({**subscription, "types": ["platform", "logs"]}).encode(),
    json.dumps({**subscription, "destination": {"protocol": "HTTP", "URI": "http://169.254.169.254:80/"}}).encode(),
    json.dumps({**subscription, "destination": {"protocol": "TCP", "URI": "http://sandbox.localdomain:1/"}}).encode(),
    json.dumps({**subscription, "buffering": {"maxItems": 10}}).encode(),
    json.dumps({**subscription, "schemaVersion": "1999-01-01"}).encode(),
]
answers = [call("PUT", path, body, own)[::2] for body in refused]
answers.append(call("PUT", path, json.dumps(subscription).encode(), {"Lambda-Extension-Identifier": "not-one"})[::2])
status, _, text = call("PUT", path, json.dumps(subscription).encode(), own)
print(f"[{NAME}] subscribed: {status} {text}", flush=True)
other_schema = "2022-12-13" if logs else "2021-03-18"
answers.append(call("PUT", other, json.dumps({**subscription, "schemaVersion": other_schema}).encode(), own)[::2])
with open(f"/tmp/{NAME}.answers", "w") as f:
    json.dump(answers, f)
while True:
    _, _, event = call("GET", "/2020-01-01/extension/event/next", headers=own)
    print(f"[{NAME}] invoke {json.loads(event)['requestId']}", flush=True)
'''

FUNCTION = """
def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""

def handler(event, context):
    print("hello from", context.aws_request_id)
    return {f"{name}.{kind}": read(f"/tmp/{name}.{kind}") for name in ("logs-http", "logs-tcp", "telemetry-http")
            for kind in ("records", "answers")}
"""

NAMES = ("logs-http", "logs-tcp", "telemetry-http")


def records_of(got: dict[str, str], name: str) -> list[dict[str, Any]]:
    """What extension ``name`` received, as the function read it."""
    return [json.loads(line) for line in got[f"{name}.records"].splitlines() if line.strip()]


def test_extension_lines_and_the_logs_api_reach_subscribers_in_their_schemas(
    client: Any, lamina: LaminaProcess, fn_name: str
) -> None:
    layer = extension_layer(client, f"logs-{fn_name}", {f"extensions/{name}": EXTENSION for name in NAMES})
    deploy(client, fn_name, FUNCTION, Layers=[layer])
    # One environment: what its extensions received is in its /tmp (an invocation that found it still
    # finishing the last one is throttled, and tried again).
    client.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=1)
    first, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in first, body
    rid = request_id(first)

    def after_first() -> dict[str, Any] | None:
        try:
            response, got, _ = invoke(client, fn_name, {})
        except client.exceptions.TooManyRequestsException:
            return None
        assert "FunctionError" not in response, got
        reported = all(
            any(r["type"] == "platform.report" and r["record"]["requestId"] == rid for r in records_of(got, name))
            for name in NAMES
        )  # fmt: skip
        invoked = all(any(r["record"] == f"[{name}] invoke {rid}" for r in records_of(got, "telemetry-http"))
                      for name in NAMES)  # fmt: skip
        return got if reported and invoked else None

    got = wait_until(after_first)
    for name in NAMES:
        assert all(set(r) == {"time", "type", "record"} and r["time"].endswith("Z") for r in records_of(got, name))

    # The Logs API, over HTTP, schema 2021-03-18: its own platform records, lines with their newline.
    logs = records_of(got, "logs-http")
    platform = [r for r in logs if r["type"].startswith("platform.")]
    assert not any(r["type"].startswith("platform.init") for r in logs)  # the Telemetry API's alone
    subscribed = [r["record"] for r in platform if r["type"] == "platform.logsSubscription"]
    assert {"name": "logs-http", "state": "Subscribed", "types": ["platform", "function", "extension"]} in subscribed
    extensions = {r["record"]["name"]: r["record"] for r in platform if r["type"] == "platform.extension"}
    assert extensions["logs-tcp"] == {"name": "logs-tcp", "state": "Ready", "events": ["INVOKE"]}
    assert set(extensions) == set(NAMES)
    invocation = [r for r in platform if r["type"] != "platform.logsSubscription" and r["type"] != "platform.extension"]
    assert [r["type"] for r in invocation[:4]] == ["platform.start", "platform.runtimeDone", "platform.end", "platform.report"]
    assert invocation[0]["record"] == {"requestId": rid, "version": "$LATEST"}
    assert invocation[1]["record"] == {"requestId": rid, "status": "success"}
    assert invocation[2]["record"] == {"requestId": rid}
    report = invocation[3]["record"]
    assert set(report) == {"requestId", "metrics"} and report["requestId"] == rid
    assert report["metrics"]["memorySizeMB"] == 128 and "initDurationMs" in report["metrics"]
    assert {"type": "function", "record": f"hello from {rid}\n"} in [{k: r[k] for k in ("type", "record")} for r in logs]
    lines = {(r["type"], r["record"]) for r in logs if r["type"] in ("function", "extension")}
    assert ("extension", "[logs-http] subscribed: 200 OK\n") in lines
    assert ("extension", f"[telemetry-http] invoke {rid}\n") in lines
    assert not any("[logs-" in text or "[telemetry-" in text for kind, text in lines if kind == "function")

    # The Logs API over TCP, schema 2020-08-15: the same records but platform.runtimeDone.
    tcp = records_of(got, "logs-tcp")
    kinds = [r["type"] for r in tcp if r["type"].startswith("platform.") and r["record"].get("requestId") == rid]
    assert kinds[:3] == ["platform.start", "platform.end", "platform.report"]
    assert {"type": "extension", "record": f"[logs-tcp] invoke {rid}\n"} in [{k: r[k] for k in ("type", "record")} for r in tcp]

    # The Telemetry API, with extension records: the lines as they were printed.
    telemetry = records_of(got, "telemetry-http")
    assert {(r["type"], r["record"]) for r in telemetry if r["type"] in ("function", "extension")} >= {
        ("function", f"hello from {rid}"), ("extension", f"[logs-http] invoke {rid}"),
        ("extension", "[telemetry-http] subscribed: 200 OK"),
    }  # fmt: skip
    kinds = [r["type"] for r in telemetry]
    assert "platform.initStart" in kinds and "platform.end" not in kinds and "platform.logsSubscription" not in kinds

    # The function's log keeps the extensions' lines, as Lambda's log stream does.
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda lines: f"[logs-tcp] invoke {rid}" in lines)
    assert f"[logs-tcp] invoke {rid}" in messages and "[logs-http] subscribed: 200 OK" in messages

    # Subscriptions Lambda refuses: each API's validation error; an unknown extension: 403; and an
    # extension subscribed to one API cannot subscribe to the other.
    for name in NAMES:
        answers = json.loads(got[f"{name}.answers"])
        validation = "Logs.ValidationError" if name.startswith("logs") else "ValidationError"
        for status, text in answers[:7]:
            assert status == 400 and json.loads(text)["errorType"] == validation, (name, status, text)
        status, text = answers[7]
        assert status == 403 and json.loads(text)["errorType"] == "Extension.InvalidExtensionIdentifier"
        status, text = answers[8]
        other = "ValidationError" if name.startswith("logs") else "Logs.ValidationError"
        assert status == 400 and json.loads(text)["errorType"] == other and "already" in json.loads(text)["errorMessage"]


# -- an extension flooding its output ------------------------------------------------------------

# Registers, then prints 100-byte lines as fast as it can, forever, from a thread of its own, while it
# takes its events as any extension does.
FLOODER = r'''#!/usr/bin/env python3
import os, sys, threading, urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension/"
request = urllib.request.Request(API + "register", data=b'{"events": ["INVOKE"]}', method="POST",
                                 headers={"Lambda-Extension-Name": os.path.basename(__file__)})
with urllib.request.urlopen(request) as response:
    identifier = response.headers["Lambda-Extension-Identifier"]

def flood():
    block = ("x" * 99 + "\n") * 1000
    while True:
        sys.stdout.write(block)
        sys.stdout.flush()

threading.Thread(target=flood, daemon=True).start()
while True:
    next_event = urllib.request.Request(API + "event/next", headers={"Lambda-Extension-Identifier": identifier})
    with urllib.request.urlopen(next_event) as response:
        response.read()
'''

PRINTS_LINES = """
def handler(event, context):
    for n in range(event["lines"]):
        print("fn-" + str(n).rjust(96, "-"))  # 100 bytes a line with its newline
    return event["lines"]
"""


def test_an_extension_flooding_its_output_takes_neither_the_functions_log_nor_the_server(
    make_server: Callable[..., LaminaProcess], fn_name: str
) -> None:
    limit = int(0.05 * 1024 * 1024)
    server = make_server(LAMINA_LOG_INVOCATION_MB="0.05")
    client = server.client()
    layer = extension_layer(client, f"flood-{fn_name}", {"extensions/flooder": FLOODER})
    deploy(client, fn_name, PRINTS_LINES, Layers=[layer])
    lines = 300  # 300 * (100 + 26) bytes: within the invocation's budget, were it shared with nobody
    rids = []
    for _ in range(3):
        response, body, _ = invoke(client, fn_name, {"lines": lines})
        assert "FunctionError" not in response and body == lines, body
        rids.append(request_id(response))
        assert client.list_functions(MaxItems=1)["Functions"]  # the API answers meanwhile
    messages = wait_for_logs(server.endpoint, fn_name, lambda ms: any(m.startswith(f"REPORT RequestId: {rids[-1]}") for m in ms))
    for rid in rids:
        start = next(i for i, m in enumerate(messages) if m.startswith(f"START RequestId: {rid}"))
        report = next(i for i, m in enumerate(messages) if m.startswith(f"REPORT RequestId: {rid}"))
        printed = [m for m in messages[start:report] if m.startswith("fn-")]
        assert printed == ["fn-" + str(n).rjust(96, "-") for n in range(lines)]  # every line of the function's
    # What the extension printed beyond its own budget was dropped, and the log says so.
    notices = [m for m in messages if m.startswith("Lamina: ") and "of the extensions' output" in m]
    assert notices and all(m.endswith(f"the log of one invocation is limited to {limit} bytes") for m in notices)
    assert any(m == "x" * 99 for m in messages)  # what fit its budget was kept


# -- a runtime that fails, as Logs API subscribers see it ------------------------------------------

# Subscribes to the Logs API's platform records, and prints each one it receives (as an extension's
# line, it reaches the function's log, where the test reads it even after its environment is gone).
WATCHER = r'''#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        for record in json.loads(self.rfile.read(int(self.headers["Content-Length"]))):
            print("[watcher] " + json.dumps(record), flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

server = HTTPServer(("sandbox.localdomain", 4247), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
request = urllib.request.Request(API + "/2020-01-01/extension/register", data=b'{"events": ["INVOKE"]}',
                                 headers={"Lambda-Extension-Name": "watcher"}, method="POST")
with urllib.request.urlopen(request) as response:
    identifier = response.headers["Lambda-Extension-Identifier"]
subscription = {"schemaVersion": "2021-03-18", "types": ["platform"], "buffering": {"timeoutMs": 25},
                "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4247/"}}
request = urllib.request.Request(API + "/2020-08-15/logs", data=json.dumps(subscription).encode(),
                                 headers={"Lambda-Extension-Identifier": identifier}, method="PUT")
urllib.request.urlopen(request).close()
while True:
    request = urllib.request.Request(API + "/2020-01-01/extension/event/next",
                                     headers={"Lambda-Extension-Identifier": identifier})
    with urllib.request.urlopen(request) as response:
        response.read()
'''

SLEEPS = "import time\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return 'done'\n"


def test_a_timeout_is_a_platform_fault_and_a_timeout_runtime_done(client: Any, lamina: LaminaProcess, fn_name: str) -> None:
    layer = extension_layer(client, f"watch-{fn_name}", {"extensions/watcher": WATCHER})
    deploy(client, fn_name, SLEEPS, Layers=[layer], Timeout=1)
    response, body, _ = invoke(client, fn_name, {"sleep": 5})
    assert response.get("FunctionError") == "Unhandled" and body["errorType"] == "Sandbox.Timedout", body
    rid = request_id(response)

    def received() -> list[dict[str, Any]] | None:
        messages = wait_for_logs(lamina.endpoint, fn_name, lambda lines: True, timeout=1)
        records = [json.loads(m.removeprefix("[watcher] ")) for m in messages if m.startswith("[watcher] ")]
        done = any(r["type"] == "platform.report" and r["record"]["requestId"] == rid for r in records)
        return records if done else None

    records = wait_until(received)
    ours = [r for r in records if r["type"] == "platform.fault" or r["record"].get("requestId") == rid]
    assert [r["type"] for r in ours] == [
        "platform.start", "platform.fault", "platform.runtimeDone", "platform.end", "platform.report",
    ], records  # fmt: skip
    assert ours[1]["record"].endswith(f"{rid} Task timed out after 1.00 seconds")
    assert ours[2]["record"] == {"requestId": rid, "status": "timeout"}
