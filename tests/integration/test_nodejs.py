"""Node.js functions (``nodejsNN.x``), end to end through boto3, checked against AWS's Node.js runtime.

The shapes asserted here are those of AWS's runtime interface client (npm ``aws-lambda-ric``, which
the managed nodejs runtimes run): ``{errorType, errorMessage, trace}`` error documents, the
``Runtime.*`` init error types and messages, "Invoke Error" / "Uncaught Exception" log lines, the
context object's fields in their order, and console lines ``<time>\\t<request id>\\tINFO\\t<text>``.
The last tests run aws-lambda-ric itself, unmodified, as a custom runtime, and compare what it
produces with what Lamina's runtime produces for the same code.

The runtime under test is ``nodejsNN.x`` for the host's ``node`` (NN its major version).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest
from botocore.exceptions import ClientError

from lamina.runtime.families import nodejs as nodejs_family
from tests.conftest import ROOT, LaminaProcess, build_cache, deploy, make_zip
from tests.environments import wait_identity_gone
from tests.functions import (
    arn, assert_platform_error, assert_unhandled, invoke, invoke_in_a_row, request_id, wait_for_logs,
)  # fmt: skip


def host_node() -> tuple[str, int] | None:
    """The host's node (real path) and its major version, or None without one."""
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "-p", "process.versions.node.split('.')[0] + ' ' + process.execPath"],
                             capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    except OSError:
        return None
    major, _, path = out.stdout.strip().partition(" ")
    return (str(Path(path).resolve()), int(major)) if out.returncode == 0 and major.isdigit() else None


HOST = host_node()
pytestmark = pytest.mark.skipif(HOST is None, reason="no node on this host: run scripts/install/nodejs.sh")
NODE, MAJOR = HOST if HOST is not None else ("", 0)
RUNTIME = f"nodejs{MAJOR}.x"

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


# What a handler returns to name its environment: its PID namespace and uid (its pid is always 1).
IDENTITY = "require('fs').readlinkSync('/proc/self/ns/pid') + '|' + process.getuid()"


def deploy_js(client: Any, name: str, code: str | dict[str, str | bytes], *, handler: str = "index.handler",
              runtime: str | None = None, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    files = {"index.js": code} if isinstance(code, str) else code
    return deploy(client, name, files, handler=handler, runtime=runtime or RUNTIME, **kwargs)


def assert_node_error(response: dict[str, Any], body: Any, error_type: str) -> None:
    """AWS's Node.js error document: errorType, errorMessage and trace, nothing else."""
    assert_unhandled(response, body, error_type)
    assert set(body) == {"errorType", "errorMessage", "trace"}, body
    assert isinstance(body["trace"], list) and all(isinstance(line, str) for line in body["trace"]), body


# -- code -------------------------------------------------------------------------------------

HELLO_CJS = """
const os = require('os');
exports.handler = async (event, context) => {
  return { message: `Hello, ${event.name}!`, node: process.versions.node, platform: os.platform() };
};
"""

HELLO_MJS = """
import { readFile } from 'node:fs/promises';
import { greet } from './lib/greet.mjs';

const config = JSON.parse(await readFile(new URL('./config.json', import.meta.url), 'utf8'));  // top-level await

export const handler = async (event) => ({ message: greet(event.name), from: config.from, esm: typeof require });
"""

PROBE = """
exports.handler = async (event, context) => ({
  env: process.env,
  cwd: process.cwd(),
  execArgv: process.execArgv,
  hasGc: typeof gc === 'function',
  keys: Object.keys(context),
  context: JSON.parse(JSON.stringify(context)),
  clientContext: context.clientContext === undefined ? 'undefined' : context.clientContext,
  identity: context.identity === undefined ? 'undefined' : context.identity,
  remaining: context.getRemainingTimeInMillis(),
  waits: context.callbackWaitsForEmptyEventLoop,
});
"""

COUNTER = """
let count = 0;
const started = Date.now();
exports.handler = async (event, context) => ({ count: ++count, started, stream: context.logStreamName });
"""

CALLBACKS = """
exports.waits = (event, context, callback) => {
  setTimeout(() => console.log('timer fired'), 300);
  callback(null, 'waited');  // sent once the event loop is empty: after the timer
};
exports.nowait = (event, context, callback) => {
  context.callbackWaitsForEmptyEventLoop = false;
  setTimeout(() => console.log('late timer'), 2000);
  callback(null, 'immediate');
};
exports.later = (event, context, callback) => {
  setTimeout(() => callback(null, { later: true, rid: context.awsRequestId }), 50);
};
exports.never = (event, context) => {
  setTimeout(() => console.log('nothing to say'), 20);
};
exports.error = (event, context, callback) => callback(new Error('callback failed'));
exports.text = (event, context, callback) => callback('plain words');
exports.twice = (event, context, callback) => {
  callback(null, 'first');
  callback(null, 'second');
};
exports.legacy = (event, context) => context.succeed({ legacy: true });
exports.promise = (event) => new Promise((resolve) => setTimeout(() => resolve({ promised: event.n }), 20));
"""

LOGGING = """
console.log('at init');
exports.handler = async (event, context) => {
  console.log('plain %s and %d', 'formatted', 42);
  console.info({ nested: { x: 1 } });
  console.warn('careful');
  console.error('bad', new Error('shown'));
  console.debug('details');
  console.log('first line\\nsecond line');
  process.stdout.write('raw write\\n');
  return context.awsRequestId;
};
"""

ERRORS = """
class ValidationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ValidationError';
    this.field = 'email';
  }
}
exports.custom = async () => { throw new ValidationError('email is required'); };
exports.type = async (event) => event.missing.property;
exports.sync = () => { throw new RangeError('out of range'); };
exports.text = async () => { throw 'just a string'; };
exports.circular = async () => {
  const result = {};
  result.self = result;
  return result;
};
"""

UNHANDLED = """
exports.handler = async (event, context) => {
  if (event.reject) {
    Promise.reject(new Error('nobody caught me'));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (event.throwLater) {
    setTimeout(() => { throw new TypeError('thrown from a timer'); }, 10);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (event.throwAfterResponse) setTimeout(() => { throw new Error('after the response'); }, 100);
  return IDENTITY;
};
""".replace("IDENTITY", IDENTITY)

MISBEHAVE = """
exports.handler = async (event, context) => {
  if (event.sleep) await new Promise((resolve) => setTimeout(resolve, event.sleep));
  if (event.exit !== undefined) process.exit(event.exit);
  if (event.allocate) {
    const kept = [];
    for (;;) kept.push(new Array(1000).fill(kept.length));
  }
  return IDENTITY;
};
""".replace("IDENTITY", IDENTITY)


# -- 1. handlers and modules ------------------------------------------------------------------


def test_hello_commonjs(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, HELLO_CJS)
    response, body, log = invoke(client, fn_name, {"name": "Lamina"})
    assert "FunctionError" not in response, body
    assert body == {"message": "Hello, Lamina!", "node": body["node"], "platform": "linux"}
    assert body["node"].split(".")[0] == str(MAJOR)
    assert f"START RequestId: {request_id(response)} Version: $LATEST" in log


def test_es_module_mjs_with_top_level_await(client: Any, fn_name: str) -> None:
    files: dict[str, str | bytes] = {
        "index.mjs": HELLO_MJS,
        "lib/greet.mjs": "export const greet = (name) => `Hello, ${name}!`;\n",
        "config.json": '{"from": "config.json"}',
    }
    deploy_js(client, fn_name, files)
    response, body, _ = invoke(client, fn_name, {"name": "ESM"})
    assert "FunctionError" not in response, body
    assert body == {"message": "Hello, ESM!", "from": "config.json", "esm": "undefined"}


def test_es_module_js_with_package_type_module(client: Any, fn_name: str) -> None:
    files: dict[str, str | bytes] = {
        "package.json": '{"name": "fn", "type": "module"}',
        "app.js": "import helper from './helper.cjs';\n"
                  "export const handler = async () => ({ esm: typeof require, helper });\n",
        "helper.cjs": "module.exports = 'from commonjs';\n",
    }
    deploy_js(client, fn_name, files, handler="app.handler")
    response, body, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    assert body == {"esm": "undefined", "helper": "from commonjs"}


def test_handler_in_a_subdirectory_and_nested_export(client: Any, fn_name: str) -> None:
    files: dict[str, str | bytes] = {
        "src/app.js": "const util = require('./util');\nconst pad = require('left-pad');\n"
                      "exports.api = { v1: { handler: async (e) => ({ up: util.up(e.s), pad: pad(e.s) }) } };\n",
        "src/util.js": "exports.up = (s) => s.toUpperCase();\n",
        "node_modules/left-pad/package.json": '{"name": "left-pad", "main": "lib.js"}',
        "node_modules/left-pad/lib.js": "module.exports = (s) => '  ' + s;\n",
    }  # fmt: skip
    deploy_js(client, fn_name, files, handler="src/app.api.v1.handler")
    response, body, _ = invoke(client, fn_name, {"s": "ab"})
    assert "FunctionError" not in response, body
    assert body == {"up": "AB", "pad": "  ab"}


@pytest.mark.skipif(MAJOR >= 24, reason="nodejs24.x and later refuse callback handlers (tested below)")
def test_callback_handlers(client: Any, fn_name: str) -> None:
    def run(handler: str, payload: Any = None) -> tuple[dict[str, Any], Any, str]:
        name = f"{fn_name}-{handler}"
        deploy_js(client, name, CALLBACKS, handler=f"index.{handler}", Timeout=10)
        return invoke(client, name, payload if payload is not None else {})

    def duration_ms(log: str) -> float:
        found = re.search(r"\tDuration: ([\d.]+) ms", log)
        assert found, log
        return float(found[1])

    response, body, log = run("waits")
    assert body == "waited" and "timer fired" in log, log  # the response waited for the event loop
    assert duration_ms(log) >= 290, log

    response, body, log = run("nowait")
    assert body == "immediate" and "late timer" not in log, log
    assert duration_ms(log) < 1500, log

    response, body, _ = run("later")
    assert body == {"later": True, "rid": request_id(response)}

    response, body, _ = run("never")
    assert "FunctionError" not in response and body is None  # the loop emptied: null

    response, body, log = run("error")
    assert_node_error(response, body, "Error")
    assert body["errorMessage"] == "callback failed"
    assert "\tERROR\tInvoke Error \t{" in log

    response, body, _ = run("text")
    assert_node_error(response, body, "string")
    assert body == {"errorType": "string", "errorMessage": "plain words", "trace": []}

    assert run("twice")[1] == "first"
    assert run("legacy")[1] == {"legacy": True}
    assert run("promise", {"n": 3})[1] == {"promised": 3}


@pytest.mark.skipif(MAJOR < 24, reason="callback handlers work before nodejs24.x")
def test_callback_handlers_are_refused_from_nodejs24(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, CALLBACKS, handler="index.waits")
    response, body, _ = invoke(client, fn_name, {})
    assert_node_error(response, body, "Runtime.CallbackHandlerDeprecated")


STREAMING = """
exports.text = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType('text/plain');
  responseStream.write('hello ');
  responseStream.write(Buffer.from('streaming '));
  responseStream.end(context.awsRequestId);
});
exports.http = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { a: 'b' } });
  stream.write('body');
  stream.end();
});
exports.unfinished = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('never ended');
});
"""


def test_response_streaming_handlers_are_buffered(client: Any, fn_name: str) -> None:
    def run(handler: str) -> tuple[dict[str, Any], bytes]:
        name = f"{fn_name}-{handler}"
        deploy_js(client, name, STREAMING, handler=f"index.{handler}")
        response = client.invoke(FunctionName=name, Payload=b"{}")
        return response, response["Payload"].read()

    response, body = run("text")
    assert "FunctionError" not in response, body
    assert body == f"hello streaming {request_id(response)}".encode()

    response, body = run("http")
    assert body == b'{"statusCode":201,"headers":{"a":"b"}}' + bytes(8) + b"body"  # AWS's prelude and delimiter

    response, body = run("unfinished")
    assert response.get("FunctionError") == "Unhandled", body
    assert json.loads(body) == {"errorType": "string", "errorMessage": "Response stream is not finished.", "trace": []}


# -- 2. context and environment ---------------------------------------------------------------


def test_context_and_environment_variables(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, PROBE, MemorySize=256, Timeout=7, Environment={"Variables": {"GREETING": "hi"}})
    client_context = {"client": {"installation_id": "i-1", "app_title": "Demo"}, "custom": {"k": "v"},
                      "env": {"platform": "Linux"}}  # fmt: skip
    encoded = base64.b64encode(json.dumps(client_context).encode()).decode()
    response, body, _ = invoke(client, fn_name, {}, ClientContext=encoded)
    assert "FunctionError" not in response, body
    rid = request_id(response)

    # The fields of AWS's Node.js context object, in its order.
    assert body["keys"] == [
        "callbackWaitsForEmptyEventLoop", "succeed", "fail", "done", "functionVersion", "functionName",
        "memoryLimitInMB", "logGroupName", "logStreamName", "clientContext", "identity", "invokedFunctionArn",
        "awsRequestId", "tenantId", "getRemainingTimeInMillis",
    ]  # fmt: skip
    context = body["context"]
    stream = context["logStreamName"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]+", stream), stream
    assert context == {
        "callbackWaitsForEmptyEventLoop": True, "functionVersion": "$LATEST", "functionName": fn_name,
        "memoryLimitInMB": "256", "logGroupName": f"/aws/lambda/{fn_name}", "logStreamName": stream,
        "clientContext": client_context, "invokedFunctionArn": arn(fn_name), "awsRequestId": rid,
    }  # fmt: skip
    assert body["clientContext"] == client_context
    assert body["identity"] == "undefined"
    assert 0 < body["remaining"] <= 7000
    assert body["waits"] is True

    env = body["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{RUNTIME}"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn_name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == stream
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert env["_HANDLER"] == "index.handler"
    assert env["TZ"] == ":UTC"
    assert env["GREETING"] == "hi"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"]), env["AWS_LAMBDA_RUNTIME_API"]
    assert env["NODE_PATH"].split(":")[:2] == [f"/opt/nodejs/node{MAJOR}/node_modules", "/opt/nodejs/node_modules"]
    assert body["cwd"] in env["NODE_PATH"].split(":")
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime" and "/var/runtime" in env["NODE_PATH"].split(":")
    assert not [key for key in env if key.startswith("LAMINA_")]
    # V8's heap is sized from the memory setting, as by AWS's bootstrap: a tenth for the new space.
    assert "--max-old-space-size=231" in body["execArgv"] and "--max-semi-space-size=12" in body["execArgv"]
    assert body["hasGc"] is True


def test_warm_environment_keeps_module_state(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, COUNTER)
    results, logs = invoke_in_a_row(client, fn_name, 3)
    assert [r["count"] for r in results] == [1, 2, 3]
    assert len({(r["stream"], r["started"]) for r in results}) == 1
    assert "Init Duration: " in logs[0]
    assert "Init Duration: " not in logs[1] and "Init Duration: " not in logs[2]


# -- 3. logs ----------------------------------------------------------------------------------


def test_console_lines_in_aws_format(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, LOGGING)
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    rid = request_id(response)
    assert body == rid
    lines = log.split("\n")  # (not splitlines: a message keeps its "\r"s)

    def line(level: str, text: str) -> str:
        pattern = re.compile(rf"{ISO}\t{re.escape(rid)}\t{level}\t{re.escape(text)}")
        found = [entry for entry in lines if pattern.fullmatch(entry)]
        assert len(found) == 1, (level, text, log)
        return found[0]

    line("INFO", "plain formatted and 42")
    line("INFO", "{ nested: { x: 1 } }")
    line("WARN", "careful")
    line("DEBUG", "details")
    line("INFO", "first line\rsecond line")  # one log line: newlines become carriage returns
    error = [entry for entry in lines if f"\t{rid}\tERROR\tbad Error: shown\r    at " in entry]
    assert len(error) == 1, log
    assert "raw write" in lines  # process.stdout is not the console: written as it is

    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any(x.startswith("REPORT ") for x in m))
    init = [m for m in messages if m.endswith("\tINFO\tat init")]
    assert len(init) == 1 and re.fullmatch(rf"{ISO}\tundefined\tINFO\tat init", init[0]), messages


def test_json_log_format_and_level(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, LOGGING, Environment={"Variables": {"AWS_LAMBDA_LOG_FORMAT": "JSON",
                                                                   "AWS_LAMBDA_LOG_LEVEL": "WARN"}})  # fmt: skip
    response, body, log = invoke(client, fn_name, {})
    assert "FunctionError" not in response, body
    records = [json.loads(entry) for entry in log.splitlines() if entry.startswith("{")]
    assert [r["level"] for r in records] == ["WARN", "ERROR"], log  # INFO and DEBUG are below WARN
    warn, error = records
    assert warn["message"] == "careful" and warn["requestId"] == request_id(response)
    assert re.fullmatch(ISO, warn["timestamp"])
    assert error["errorType"] == "Error" and error["errorMessage"] == "shown"
    assert error["stackTrace"][0] == "Error: shown"


def test_logging_config_json_records_filtered_by_the_application_level(
    lamina: LaminaProcess, client: Any, fn_name: str,
) -> None:  # fmt: skip
    """LoggingConfig (not the variables): every console method writes AWS's JSON record, those below
    ApplicationLogLevel are dropped (console.log is INFO), and the platform's lines are records too."""
    deploy_js(client, fn_name, LOGGING, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"})
    response, _, _ = invoke(client, fn_name, {})
    rid = request_id(response)
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any('"type":"platform.report"' in x for x in m))
    records = [json.loads(m) for m in messages if m.startswith("{")]
    app = [r for r in records if "level" in r]
    assert [(r["level"], r.get("requestId")) for r in app] == [("INFO", None)] + [
        (level, rid) for level in ("INFO", "INFO", "WARN", "ERROR", "DEBUG", "INFO")
    ], app  # fmt: skip
    # Before the first invocation there is no request id: AWS's record leaves the key out.
    assert list(app[0]) == ["timestamp", "level", "message"], app[0]
    assert all(list(r)[:4] == ["timestamp", "level", "requestId", "message"] for r in app[1:]), app
    assert all(re.fullmatch(ISO, r["timestamp"]) for r in app), app
    init, plain, nested, warn, error, debug, multi = app
    assert (init["message"], plain["message"], warn["message"], debug["message"]) == (
        "at init", "plain formatted and 42", "careful", "details")  # fmt: skip
    assert nested["message"] == {"nested": {"x": 1}}  # one object: kept as JSON, not formatted
    assert multi["message"] == "first line\nsecond line"  # one record: its newline is inside the JSON string
    assert error["message"].startswith("bad Error: shown\n    at ")
    assert (error["errorType"], error["errorMessage"], error["stackTrace"][0]) == ("Error", "shown", "Error: shown")
    assert "raw write" in messages  # process.stdout is not the console: written as it is
    kinds = [r["type"] for r in records if "type" in r]
    assert kinds == ["platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                     "platform.runtimeDone", "platform.report"], kinds  # fmt: skip


def test_logging_config_json_error_level_keeps_errors_only(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    code = ("exports.handler = async () => { console.warn('dropped'); console.error('kept');"
            " throw new TypeError('boom'); };")
    deploy_js(client, fn_name, code, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR",
                                                    "SystemLogLevel": "WARN"})  # fmt: skip
    response, body, _ = invoke(client, fn_name, {})
    assert_node_error(response, body, "TypeError")
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any("Invoke Error" in x or "boom" in x for x in m))
    records = [json.loads(m) for m in messages]  # all JSON: no platform records (WARN), no text
    assert [r["level"] for r in records] == ["ERROR", "ERROR"], records
    kept, invoke_error = records
    assert kept["message"] == "kept"
    # The runtime's "Invoke Error" is the error itself as the record's message, as AWS's runtime logs it.
    assert invoke_error["message"]["errorType"] == "TypeError" and invoke_error["message"]["errorMessage"] == "boom"
    assert invoke_error["message"]["stackTrace"][0] == "TypeError: boom"


# -- 4. errors --------------------------------------------------------------------------------


def test_thrown_error_shape(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, ERRORS, handler="index.custom")
    response, body, log = invoke(client, fn_name, {})
    assert_node_error(response, body, "ValidationError")
    assert body["errorMessage"] == "email is required"
    assert body["trace"][0] == "ValidationError: email is required"
    assert any(re.search(r"\(/.*index\.js:\d+:\d+\)$", frame) for frame in body["trace"]), body["trace"]
    logged = [entry for entry in log.splitlines() if f"\t{request_id(response)}\tERROR\tInvoke Error \t" in entry]
    assert len(logged) == 1, log
    document = json.loads(logged[0].split("\tInvoke Error \t", 1)[1])
    assert document["errorType"] == "ValidationError" and document["field"] == "email"
    assert document["stack"] == body["trace"]
    assert f"REPORT RequestId: {request_id(response)}" in log

    for handler, error_type, message in [
        ("type", "TypeError", "Cannot read properties of undefined (reading 'property')"),
        ("sync", "RangeError", "out of range"),
        ("text", "string", "just a string"),
        ("circular", "Error", "Unable to stringify response body"),
    ]:
        name = f"{fn_name}-{handler}"
        deploy_js(client, name, ERRORS, handler=f"index.{handler}")
        response, body, _ = invoke(client, name, {})
        assert_node_error(response, body, error_type)
        assert body["errorMessage"] == message, body


def test_unhandled_rejection_ends_the_environment(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, UNHANDLED)
    _, identity, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"reject": True})
    assert_node_error(response, body, "Runtime.UnhandledPromiseRejection")
    assert body["errorMessage"] == "Error: nobody caught me"
    assert body["trace"][0] == "Runtime.UnhandledPromiseRejection: Error: nobody caught me"
    assert "\tERROR\tUnhandled Promise Rejection \t{\"errorType\":\"Runtime.UnhandledPromiseRejection\"" in log, log
    # As AWS's runtime does, it exits once the error is reported (status 128); the next event gets a
    # new environment.
    assert wait_identity_gone(identity), "the environment outlived its unhandled rejection"


def test_uncaught_exception_in_a_timer_ends_the_environment(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, UNHANDLED)
    _, identity, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"throwLater": True})
    assert_node_error(response, body, "TypeError")
    assert body["errorMessage"] == "thrown from a timer"
    assert "\tERROR\tUncaught Exception \t{\"errorType\":\"TypeError\"" in log, log
    assert wait_identity_gone(identity), "the environment outlived its uncaught exception"


def test_uncaught_exception_after_the_response_ends_the_environment(lamina: LaminaProcess, client: Any,
                                                                     fn_name: str) -> None:  # fmt: skip
    deploy_js(client, fn_name, UNHANDLED)
    response, identity, _ = invoke(client, fn_name, {"throwAfterResponse": True})
    assert "FunctionError" not in response, identity  # the response was sent before the timer fired
    assert wait_identity_gone(identity), "the environment outlived its uncaught exception"
    messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any("after the response" in x for x in m))
    assert any("\tERROR\tUncaught Exception \t{\"errorType\":\"Error\",\"errorMessage\":\"after the response\"" in m
               for m in messages), messages  # fmt: skip


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"index.js": "require('not-a-module-anywhere');\nexports.handler = async () => 1;\n"}, "index.handler",
         "Runtime.ImportModuleError", "Error: Cannot find module 'not-a-module-anywhere'\nRequire stack:\n- "),
        ({"index.js": "exports.handler = async () => 1;\n"}, "nothere.handler",
         "Runtime.ImportModuleError", "Error: Cannot find module 'nothere'\nRequire stack:\n- "),
        ({"index.js": "exports.other = async () => 1;\n"}, "index.handler",
         "Runtime.HandlerNotFound", "index.handler is undefined or not exported"),
        ({"index.js": "exports.handler = 42;\n"}, "index.handler",
         "Runtime.HandlerNotFound", "index.handler is not a function"),
        ({"index.js": "exports.handler = async () => {\n  return 1;\n"}, "index.handler",
         "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ({"index.mjs": "export const handler = async () => { return 1 }}\n"}, "index.handler",
         "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ({"index.mjs": "import x from 'not-a-package';\nexport const handler = async () => x;\n"}, "index.handler",
         "Error", "Cannot find package 'not-a-package' imported from "),
        ({"index.js": "throw new TypeError('bad configuration');\n"}, "index.handler",
         "TypeError", "bad configuration"),
        ({"index.js": "exports.handler = async () => 1;\n"}, "index", "Runtime.MalformedHandlerName", "Bad handler"),
    ],
    ids=["import-error", "missing-module", "handler-not-found", "not-a-function", "syntax-error", "esm-syntax-error",
         "esm-missing-package", "init-throws", "malformed-handler"],
)  # fmt: skip
def test_init_errors(client: Any, fn_name: str, files: dict[str, str | bytes], handler: str, error_type: str,
                     message: str) -> None:  # fmt: skip
    deploy_js(client, fn_name, files, handler=handler)
    for _ in range(2):  # every invocation tries to initialise again, and fails the same way
        response, body, log = invoke(client, fn_name, {})
        assert_node_error(response, body, error_type)
        assert body["errorMessage"].startswith(message), body
        # The stack's first line names the error ("Error [ERR_MODULE_NOT_FOUND]: ..." for ES modules).
        head = body["trace"][0]
        assert head.startswith(error_type) and head.endswith(body["errorMessage"].split("\n")[0]), body
        assert re.search(rf"{ISO}\tundefined\tERROR\tUncaught Exception \t\{{\"errorType\":\"{re.escape(error_type)}\"",
                         log), log  # fmt: skip
        assert f"REPORT RequestId: {request_id(response)}" in log


def test_timeout(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, MISBEHAVE, Timeout=1)
    _, stream1, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"sleep": 5000})
    assert_platform_error(response, body, "Sandbox.Timedout")
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    assert "Task timed out after 1.00 seconds" in log
    response, stream2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response and stream2 != stream1
    assert wait_identity_gone(stream1), "the timed-out environment is still running"


def test_process_exit_is_a_runtime_exit_error(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, MISBEHAVE)
    _, stream1, _ = invoke(client, fn_name, {})
    response, body, log = invoke(client, fn_name, {"exit": 2})
    assert_platform_error(response, body, "Runtime.ExitError")
    assert body["errorMessage"].endswith("Runtime exited with error: exit status 2"), body
    assert f"REPORT RequestId: {request_id(response)}" in log
    response, stream2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response and stream2 != stream1


def test_out_of_memory(client: Any, fn_name: str) -> None:
    deploy_js(client, fn_name, MISBEHAVE, MemorySize=128, Timeout=30)
    _, identity1, _ = invoke(client, fn_name, {})
    response, body, _ = invoke(client, fn_name, {"allocate": True})
    assert response.get("FunctionError") == "Unhandled", body
    # Whichever comes first stops it: the memory limit (Runtime.OutOfMemory), or V8's heap limit,
    # sized below the memory as on AWS (Node aborts: Runtime.ExitError).
    assert body["errorType"] in ("Runtime.OutOfMemory", "Runtime.ExitError"), body
    response, identity2, _ = invoke(client, fn_name, {})
    assert "FunctionError" not in response and identity2 != identity1


# -- 5. layers, NODE_PATH, interpreters -------------------------------------------------------


def test_layers_node_modules_are_on_node_path(client: Any, fn_name: str) -> None:
    layer = client.publish_layer_version(LayerName=f"nodelib-{fn_name}"[:64], Content={"ZipFile": make_zip({
        "nodejs/node_modules/greeting/index.js": "module.exports = (n) => `hi ${n}`;\n",
        f"nodejs/node{MAJOR}/node_modules/versioned/index.js": "module.exports = 'for this major';\n",
    })})  # fmt: skip
    code = (
        "const greeting = require('greeting');\nconst versioned = require('versioned');\n"
        "exports.handler = async (e) => ({ greeting: greeting(e.n), versioned });\n"
    )
    deploy_js(client, fn_name, code, Layers=[layer["LayerVersionArn"]])
    response, body, _ = invoke(client, fn_name, {"n": "there"})
    assert "FunctionError" not in response, body
    assert body["greeting"] == "hi there" and body["versioned"] == "for this major"

    # A NODE_PATH of the function's own replaces the default, as on AWS.
    own = f"{fn_name}-own"
    deploy_js(client, own, code, Layers=[layer["LayerVersionArn"]],
              Environment={"Variables": {"NODE_PATH": "/opt/nodejs/node_modules"}})  # fmt: skip
    response, body, _ = invoke(client, own, {"n": "x"})
    assert_node_error(response, body, "Runtime.ImportModuleError")
    assert body["errorMessage"].startswith("Error: Cannot find module 'versioned'"), body


def _other_majors() -> list[str]:
    """nodejsNN.x names this host cannot serve (no node of that major on it)."""
    names = [f"nodejs{n}.x" for n in (18, 20, 22, 24) if n != MAJOR]
    return [name for name in names if nodejs_family.resolve(name, {}) is None]


def test_runtime_without_a_matching_node_is_unavailable(make_server: Callable[..., LaminaProcess],
                                                        fn_name: str) -> None:  # fmt: skip
    others = _other_majors()
    if not others:
        pytest.skip("this host has a node for every nodejs runtime")
    other = others[0]
    variable = "LAMINA_" + other.upper().replace(".", "_")
    # Pointing another major's variable at this host's node does not make it that version.
    server = make_server(**{variable: NODE, f"LAMINA_NODEJS{MAJOR}_X": NODE})
    client = server.client()
    with pytest.raises(ClientError) as exc:
        deploy_js(client, fn_name, HELLO_CJS, runtime=other)
    error = exc.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert f"The runtime {other} is not available on this Lamina host" in error["Message"]
    assert RUNTIME in error["Message"] and variable in error["Message"]

    deploy_js(client, fn_name, HELLO_CJS)  # the variable of the host's own major works
    response, body, _ = invoke(client, fn_name, {"name": "override"})
    assert body["message"] == "Hello, override!", body


# -- 6. the Runtime API client's HTTP/1.1 ------------------------------------------------------

CLIENT_SCRIPT = """
const { RuntimeApiClient } = (await import(process.argv[1])).default;  // module.exports of client.cjs
const client = new RuntimeApiClient(process.argv[2]);
const seen = [];
for (let i = 0; i < 3; i++) {
  const { body, headers } = await client.next();
  const id = headers['lambda-runtime-aws-request-id'];
  seen.push({ id, body, deadline: headers['lambda-runtime-deadline-ms'] });
  const echo = JSON.stringify({ echo: JSON.parse(body) });
  await new Promise((resolve) => client.postResponse(id, echo, 'application/json', resolve));
}
const error = { errorType: 'Bad\\nType', errorMessage: 'm', trace: [] };
await new Promise((resolve) => client.postError('e-1', error, resolve));
console.log(JSON.stringify(seen));
"""


def _read_request(conn: socket.socket, buffer: bytearray) -> tuple[str, dict[str, str], bytes]:
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            raise ConnectionError("client closed")
        buffer += data
    end = buffer.index(b"\r\n\r\n")
    request_line, *lines = buffer[:end].decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(buffer) < end + 4 + length:
        buffer += conn.recv(65536)
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    return request_line, headers, body


def test_runtime_api_client_reads_any_http11_framing() -> None:
    """Responses split across reads, 1xx interim answers, chunked bodies, Connection: close and bodies
    that run to the end of the connection, from a raw socket server; UTF-8 bodies both ways."""
    event = '{"name": "\u00e9t\u00e9 \U0001f600"}'.encode()
    invocation = "Content-Type: application/json\r\nLambda-Runtime-Deadline-Ms: 1700000000000\r\n"
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\nX-Trailer: 1\r\n\r\n" % (5, event[:5], len(event) - 5, event[5:])
    sized = (invocation + "Content-Length: %d\r\n\r\n" % len(event)).encode()
    answers = [  # (bytes to send, in pieces; close the connection afterwards)
        ([b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-1\r\n", sized, event[:3], event[3:]], False),
        ([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"], False),
        ([b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-2\r\nTransfer-Encoding: chunked\r\n"
          + invocation.encode() + b"\r\n", chunked], False),
        ([b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"], True),
        ([b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r-3\r\nConnection: close\r\n"
          + invocation.encode() + b"\r\n" + event], True),
        ([b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"], False),
        ([b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"], False),
    ]  # fmt: skip
    received: list[tuple[str, dict[str, str], bytes]] = []
    failure: list[BaseException] = []

    def serve(listener: socket.socket) -> None:
        try:
            pending = list(answers)
            while pending:
                conn, _ = listener.accept()
                with conn:
                    buffer = bytearray()
                    while pending:
                        received.append(_read_request(conn, buffer))
                        pieces, close = pending.pop(0)
                        for piece in pieces:
                            conn.sendall(piece)
                            time.sleep(0.02)
                        if close:
                            break
        except BaseException as exc:  # reported by the assertions below
            failure.append(exc)

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(30)
        thread = threading.Thread(target=serve, args=(listener,))
        thread.start()
        try:
            client_url = (ROOT / "src" / "lamina" / "runtime" / "nodejs" / "client.cjs").as_uri()
            out = subprocess.run([NODE, "--input-type=module", "-e", CLIENT_SCRIPT, client_url,
                                  f"127.0.0.1:{listener.getsockname()[1]}"],
                                 capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        finally:
            thread.join(60)
    assert not failure, failure
    assert out.returncode == 0, out.stderr
    text = event.decode()
    assert json.loads(out.stdout) == [{"id": f"r-{n}", "body": text, "deadline": "1700000000000"} for n in (1, 2, 3)]
    assert [r[0] for r in received] == [
        line for n in (1, 2, 3) for line in ("GET /2018-06-01/runtime/invocation/next HTTP/1.1",
                                             f"POST /2018-06-01/runtime/invocation/r-{n}/response HTTP/1.1")
    ] + ["POST /2018-06-01/runtime/invocation/e-1/error HTTP/1.1"]  # fmt: skip
    for _, headers, body in received[1:6:2]:
        assert json.loads(body) == {"echo": json.loads(event)} and int(headers["content-length"]) == len(body)
    assert received[-1][1]["lambda-runtime-function-error-type"] == "Bad%0AType", received[-1]  # no header injection


# -- 7. AWS's own runtime interface client, unmodified, as a custom runtime -----------------------

RIC_VERSION = "3.3.0"  # the client of the nodejs18.x to nodejs22.x managed runtimes (4.x needs Node 22+)


def _node_headers_dir() -> str | None:
    prefix = Path(NODE).parent.parent
    return str(prefix) if (prefix / "include" / "node" / "node.h").is_file() else None


def ric_package() -> Path:
    """aws-lambda-ric npm-installed (its native client compiled), cached in ``build_cache("nodejs")``."""
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    key = hashlib.sha256(f"{RIC_VERSION} {NODE} {version}".encode()).hexdigest()[:16]
    cache = build_cache("nodejs") / f"aws-lambda-ric-{RIC_VERSION}-{key}"
    module = cache / "node_modules" / "aws-lambda-ric"
    if (module / "dist" / "rapid-client.node").is_file():
        return module
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: run scripts/install/nodejs.sh")
    cache.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache.parent, prefix="build-"))
    try:
        (work / "package.json").write_text(json.dumps({
            "name": "lamina-ric-test", "version": "1.0.0", "private": True,
            "allowScripts": {"aws-lambda-ric": True},  # its install scripts build the native client
        }))  # fmt: skip
        env = dict(os.environ, npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false")
        headers = _node_headers_dir()
        if headers:
            env["npm_config_nodedir"] = headers  # node-gyp would otherwise download Node's headers
        result = subprocess.run([npm, "install", "--no-save", f"aws-lambda-ric@{RIC_VERSION}"], cwd=work, env=env,
                                capture_output=True, text=True, timeout=1200, check=False)  # fmt: skip
        built = work / "node_modules" / "aws-lambda-ric" / "dist" / "rapid-client.node"
        if result.returncode != 0 or not built.is_file():
            pytest.fail(f"npm install aws-lambda-ric@{RIC_VERSION} failed (exit {result.returncode}):\n"
                        f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}")  # fmt: skip
        try:
            work.rename(cache)
        except OSError:  # built meanwhile by another worker or run: theirs is as good
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return module


def ric_files(code: Mapping[str, str | bytes]) -> dict[str, str | bytes]:
    """A provided.al2023 package: the function's code, aws-lambda-ric, and a bootstrap that starts it."""
    module = ric_package()
    files: dict[str, str | bytes] = dict(code)
    for path in sorted(module.rglob("*")):
        relative = path.relative_to(module)
        if path.is_file() and relative.parts[0] in ("bin", "dist", "package.json", "LICENSE", "NOTICE"):
            files[f"node_modules/aws-lambda-ric/{relative}"] = path.read_bytes()
    client = "$LAMBDA_TASK_ROOT/node_modules/aws-lambda-ric/bin/index.mjs"
    files["bootstrap"] = f'#!/bin/sh\nexec {NODE} "{client}" "$_HANDLER"\n'
    return files


COMPARED: dict[str, str | bytes] = {
    "index.js": PROBE.replace("exports.handler", "exports.probe") + CALLBACKS + ERRORS + """
exports.handler = async (event, context) => {
  console.log('hello from', event.who);
  return { who: event.who, context: JSON.parse(JSON.stringify(context)), keys: Object.keys(context) };
};
exports.reject = async () => {
  Promise.reject(new Error('nobody caught me'));
  await new Promise((resolve) => setTimeout(resolve, 500));
};
""",
    "broken.js": "require('not-a-module-anywhere');\n",
    "syntax.js": "exports.handler = async () => {\n",
}


def _same_error(mine: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Equal up to the runtimes' own file paths and line numbers."""
    assert set(mine) == set(theirs), (mine, theirs)
    assert mine["errorType"] == theirs["errorType"], (mine, theirs)
    assert mine["errorMessage"].split("\n")[0] == theirs["errorMessage"].split("\n")[0], (mine, theirs)
    assert mine["trace"][:1] == theirs["trace"][:1], (mine, theirs)


@pytest.mark.slow
def test_aws_lambda_ric_agrees_with_lamina(client: Any, fn_name: str) -> None:
    for hidden in (Path.home(), Path("/tmp")):
        if Path(NODE).is_relative_to(hidden.resolve()) and hidden.resolve() != Path("/"):
            pytest.skip(f"{NODE} is under {hidden}, which a sandboxed custom runtime cannot see")
    package = ric_files(COMPARED)

    count = iter(range(100))

    def both(handler: str, payload: Any) -> tuple[tuple[dict[str, Any], Any, str], tuple[dict[str, Any], Any, str]]:
        results = []
        n = next(count)
        for runtime, files in ((RUNTIME, COMPARED), ("provided.al2023", package)):
            name = f"{fn_name[:40]}-{n}-{'ric' if runtime.startswith('provided') else 'lamina'}"
            deploy(client, name, files, handler=handler, runtime=runtime, Timeout=10)
            results.append(invoke(client, name, payload))
        return results[0], results[1]

    (r1, mine, log1), (r2, theirs, log2) = both("index.handler", {"who": "both"})
    assert "FunctionError" not in r2, theirs
    for body, response in ((mine, r1), (theirs, r2)):
        assert body["who"] == "both" and body["context"]["awsRequestId"] == request_id(response)
    assert mine["keys"] == theirs["keys"]
    assert set(mine["context"]) == set(theirs["context"])
    for log, response in ((log1, r1), (log2, r2)):
        assert re.search(rf"^{ISO}\t{re.escape(request_id(response))}\tINFO\thello from both$", log, re.M), log

    for handler in ("index.custom", "index.type", "index.text", "index.circular", "index.error", "index.reject",
                    "index.nope", "broken.handler", "syntax.handler"):  # fmt: skip
        (r1, mine, log1), (r2, theirs, log2) = both(handler, {})
        assert r1.get("FunctionError") == r2.get("FunctionError") == "Unhandled", (handler, mine, theirs)
        _same_error(mine, theirs)
        label = re.search(r"\tERROR\t([A-Za-z ]+) \t\{", log2)
        assert label and f"\tERROR\t{label[1]} \t{{" in log1, (handler, log1, log2)

    if MAJOR >= 24:
        return  # callback handlers are refused from nodejs24.x on
    for handler, payload in [("index.waits", {}), ("index.later", {}), ("index.never", {}), ("index.twice", {}),
                             ("index.legacy", {}), ("index.promise", {"n": 1})]:  # fmt: skip
        (r1, mine, _), (r2, theirs, _) = both(handler, payload)
        if handler == "index.later":
            mine["rid"] = theirs["rid"] = None
        assert mine == theirs, (handler, mine, theirs)
