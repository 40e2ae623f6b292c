"""The Python runtime (src/lamina/runtime/python/bootstrap.py) against a Runtime API served here.

Each test runs the real bootstrap in a subprocess, pointed at a small Runtime API server on
127.0.0.1 that hands out queued events and records what the runtime posts back. When the queue is
empty the server drops the connection, which is how an environment is torn down: the runtime must
then exit quietly with status 0.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lamina.runtime.families import python as python_family

BOOTSTRAP = Path(__file__).resolve().parents[2] / "src" / "lamina" / "runtime" / "python" / "bootstrap.py"

NEXT = "/2018-06-01/runtime/invocation/next"
INIT_ERROR = "/2018-06-01/runtime/init/error"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
LOG_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
BAD_JSON_MESSAGE = "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"


@dataclass
class Post:
    path: str
    headers: Message
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def kind(self) -> str:
        return self.path.rsplit("/", 1)[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.api.lock:
            self.server.api.connections += 1

    def parse_request(self) -> bool:
        if self.raw_requestline.startswith(b"LAMINA1"):
            # The runtime's first try, in Lamina's framed encoding: refused as bad HTTP, so that
            # the runtime speaks HTTP from then on. Not counted among the HTTP connections.
            with self.server.api.lock:
                self.server.api.connections -= 1
                self.server.api.framed_tries += 1
        return super().parse_request()

    def do_GET(self) -> None:
        api = self.server.api
        api.requests.append(("GET", self.path, self.client_address[1]))
        if self.path != NEXT:
            self._reply(404, b'{"errorType": "NotFound"}', {})
            return
        try:
            item = api.events.get(timeout=10)
        except queue.Empty:
            item = None
        if item is None:
            # No more events: drop the connection without an answer, as at teardown.
            api.events.put(None)
            self.close_connection = True
            return
        body, headers = item
        if api.next_style == "chunked":
            self._reply_chunked(body, headers)
        elif api.next_style == "eof":
            self._reply_until_close(body, headers)
        elif api.next_style == "unusual":
            self._reply_unusual(body, headers)
        else:
            self._reply(200, body, headers)
        if api.drop_after_event:
            # Close the connection without announcing it, as a server does with an idle
            # keep-alive connection while a long invocation runs.
            self.close_connection = True

    def do_POST(self) -> None:
        api = self.server.api
        api.requests.append(("POST", self.path, self.client_address[1]))
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        api.posts.append(Post(self.path, self.headers, body))
        status = api.statuses.pop(0) if api.statuses else 202
        if status == 413:
            answer = b'{"errorMessage": "Exceeded maximum allowed payload size.", "errorType": "RequestEntityTooLarge"}'
        else:
            answer = b'{"status": "OK"}'
        self._reply(status, answer, {"Content-Type": "application/json"})
        if api.drop_after_post:
            # Close the kept-alive connection between invocations, without announcing it.
            self.close_connection = True

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reply_chunked(self, body: bytes, headers: dict[str, str]) -> None:
        # Chunks of uneven sizes, each written on its own, one with an extension and one in
        # upper-case hex, then a trailer.
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sizes = [1, 2, 997, 70_000, 1 << 20]
        pos = 0
        while pos < len(body):
            piece = body[pos : pos + sizes[0]]
            pos += len(piece)
            size_line = b"%x;name=value" % len(piece) if sizes[0] == 2 else b"%X" % len(piece)
            self.wfile.write(size_line + b"\r\n" + piece + b"\r\n")
            sizes = sizes[1:] + sizes[:1]
        self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")

    def _reply_until_close(self, body: bytes, headers: dict[str, str]) -> None:
        # No Content-Length: the body ends with the connection.
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def _reply_unusual(self, body: bytes, headers: dict[str, str]) -> None:
        # An interim "100 Continue" first; lower-case names, blanks around values, no reason.
        lines = [b"HTTP/1.1 100 Continue", b"", b"HTTP/1.1 200"]
        lines += [b"%s:  %s \t" % (name.lower().encode(), value.encode()) for name, value in headers.items()]
        lines += [b"content-length: %d" % len(body), b"", b""]
        self.wfile.write(b"\r\n".join(lines) + body)


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    api: RuntimeAPI


class RuntimeAPI:
    def __init__(self) -> None:
        self.events: queue.Queue[tuple[bytes, dict[str, str]] | None] = queue.Queue()
        self.posts: list[Post] = []
        self.requests: list[tuple[str, str, int]] = []
        self.statuses: list[int] = []  # answers to the next POSTs (202 once exhausted)
        self.connections = 0
        self.framed_tries = 0
        self.drop_after_event = False
        self.drop_after_post = False
        self.next_style = "length"  # how events are sent: "length", "chunked", "eof", "unusual"
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.api = self
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()
        self._count = 0

    def add(
        self,
        event: Any = None,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        request_id: str | None = None,
        deadline_ms: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        self._count += 1
        request_id = request_id or "req-%d" % self._count
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 3000
        all_headers = {
            "Content-Type": content_type,
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
        }
        all_headers.update(headers or {})
        self.events.put((json.dumps(event).encode() if body is None else body, all_headers))
        return request_id

    def close(self) -> None:
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def api() -> Any:
    server = RuntimeAPI()
    try:
        yield server
    finally:
        server.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(
    api: RuntimeAPI,
    task_root: Path,
    handler: str = "app.handler",
    *,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    bootstrap: Path = BOOTSTRAP,
) -> subprocess.CompletedProcess[str]:
    api.events.put(None)  # after the queued events, tear the environment down
    full_env = {
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": "fn",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": "us-east-1",
        "TZ": ":UTC",
        "LANG": "C.UTF-8",
    }
    full_env.update(env or {})
    return decoded(subprocess.run(
        [python, "-u", str(bootstrap)],
        env=full_env,
        cwd=str(task_root),
        capture_output=True,
        timeout=20,
    ))


def decoded(proc: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[str]:
    # Decoded here rather than by subprocess, which would turn the "\r" of error logs into "\n".
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def assert_clean_exit(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


# ------------------------------------------------------------------------------------------------


def test_success_state_output_and_keep_alive(api: RuntimeAPI, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "COUNT = 0\n"
        "def handler(event, context):\n"
        "    global COUNT\n"
        "    COUNT += 1\n"
        "    print('hello from', context.aws_request_id)\n"
        "    return {'count': COUNT, 'event': event}\n",
    )
    api.add({"a": 1, "nested": {"list": [1, 2.5, None, True]}})
    api.add([1, "two"])
    api.add("just a string")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)

    assert [p.path for p in api.posts] == [f"/2018-06-01/runtime/invocation/req-{i}/response" for i in (1, 2, 3)]
    assert api.posts[0].body == b'{"count": 1, "event": {"a": 1, "nested": {"list": [1, 2.5, null, true]}}}'
    assert api.posts[1].json == {"count": 2, "event": [1, "two"]}
    assert api.posts[2].json == {"count": 3, "event": "just a string"}
    assert all(p.headers["Content-Type"] == "application/json" for p in api.posts)
    assert "hello from req-1\nhello from req-2\nhello from req-3\n" in proc.stdout

    # All invocations went over one kept-alive connection; the only other connection is the
    # attempt to reconnect once the server dropped it.
    invocation_ports = {port for method, path, port in api.requests[: 2 * 3]}
    assert len(invocation_ports) == 1
    assert api.connections == 2
    assert api.framed_tries == 1  # it tried frames first, then spoke HTTP


def test_event_is_decoded_only_for_application_json(api: RuntimeAPI, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "def handler(event, context):\n"
        "    if isinstance(event, bytes):\n"
        "        return {'type': 'bytes', 'hex': event.hex()}\n"
        "    return {'type': type(event).__name__}\n",
    )
    api.add(body=b"\x00\xffraw", content_type="application/octet-stream")
    api.add(body=b'{"a": 1}', content_type="application/json; charset=utf-8")
    api.add(body=b'{"a": 1}')
    api.add(body=b"{not json")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)

    assert api.posts[0].json == {"type": "bytes", "hex": "00ff726177"}
    assert api.posts[1].json == {"type": "bytes", "hex": b'{"a": 1}'.hex()}
    assert api.posts[2].json == {"type": "dict"}
    assert api.posts[3].kind == "error"
    assert api.posts[3].json == {
        "errorMessage": "Unable to unmarshal input: " + BAD_JSON_MESSAGE,
        "errorType": "Runtime.UnmarshalError",
        "requestId": "req-4",
        "stackTrace": [],
    }


CONTEXT_SOURCE = """\
import os

def handler(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if cc is None else {
            "custom": cc.custom,
            "env": cc.env,
            "client": None if cc.client is None else [
                cc.client.installation_id, cc.client.app_title, cc.client.app_version_name,
                cc.client.app_version_code, cc.client.app_package_name,
            ],
        },
        "w3c": context.w3c(),
        "tenant_id": context.tenant_id,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
    }
"""


def test_context(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "app.py", CONTEXT_SOURCE)
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "Title", "app_version_code": "7"},
        "custom": {"k": "v"},
        "env": {"platform": "Android"},
        "w3c": {"traceparent": "00-abc-def-01", "baggage": 5},
    }
    api.add(
        {},
        deadline_ms=int(time.time() * 1000) + 5000,
        headers={
            "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}),
            "Lambda-Runtime-Aws-Tenant-Id": "tenant-a",
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
        },
    )
    api.add({}, deadline_ms=int(time.time() * 1000) - 1000)
    api.add({}, headers={"Lambda-Runtime-Client-Context": "{oops"})
    proc = run(api, tmp_path)
    assert_clean_exit(proc)

    first = api.posts[0].json
    remaining = first.pop("remaining")
    assert 3000 < remaining <= 5000
    assert first == {
        "function_name": "fn",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
        "memory_limit_in_mb": "256",  # a string, as in the managed runtime
        "aws_request_id": "req-1",
        "log_group_name": "/aws/lambda/fn",
        "log_stream_name": "2024/01/01/[$LATEST]0123456789abcdef",
        "identity": ["cid", "pool"],
        "client_context": {
            "custom": {"k": "v"},
            "env": {"platform": "Android"},
            "client": ["inst-1", "Title", None, "7", None],
        },
        "w3c": {"traceparent": "00-abc-def-01"},
        "tenant_id": "tenant-a",
        "trace": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
    }

    second = api.posts[1].json
    assert second["remaining"] == 0
    assert second["identity"] == [None, None]
    assert second["client_context"] is None
    assert second["w3c"] == {}
    assert second["tenant_id"] is None
    assert second["trace"] is None  # removed when the invocation carries no trace header
    assert second["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:fn"

    assert api.posts[2].kind == "error"
    assert api.posts[2].json == {
        "errorMessage": "Unable to parse Client Context JSON: " + BAD_JSON_MESSAGE,
        "errorType": "Runtime.LambdaContextUnmarshalError",
        "requestId": "req-3",
        "stackTrace": [],
    }


RAISING_SOURCE = """\
def inner(x):
    raise ValueError("boom " + x)


def handler(event, context):
    if event.get("fail"):
        inner(event["fail"])
    return "ok"
"""


def check_raising_function(api: RuntimeAPI, app: Path, proc: subprocess.CompletedProcess[str]) -> None:
    assert_clean_exit(proc)
    error, ok = api.posts
    assert error.path == "/2018-06-01/runtime/invocation/req-1/error"
    assert error.headers[ERROR_TYPE] == "ValueError"
    assert error.headers["Content-Type"] == "application/json"
    body = error.json
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "boom x"
    assert body["errorType"] == "ValueError"
    assert body["requestId"] == "req-1"
    assert body["stackTrace"] == [
        f'  File "{app}", line 7, in handler\n    inner(event["fail"])\n',
        f'  File "{app}", line 2, in inner\n    raise ValueError("boom " + x)\n',
    ]
    # The environment keeps serving after a function error.
    assert ok.kind == "response" and ok.json == "ok"

    nbsp = "\u00a0"
    expected_log = (
        "[ERROR] ValueError: boom x\rTraceback (most recent call last):\r"
        f'{nbsp * 2}File "{app}", line 7, in handler\r{nbsp * 4}inner(event["fail"])\r'
        f'{nbsp * 2}File "{app}", line 2, in inner\r{nbsp * 4}raise ValueError("boom " + x)\n'
    )
    assert expected_log in proc.stdout


def test_handler_exception(api: RuntimeAPI, tmp_path: Path) -> None:
    app = write(tmp_path / "app.py", RAISING_SOURCE)
    api.add({"fail": "x"})
    api.add({})
    proc = run(api, tmp_path)
    check_raising_function(api, app, proc)
    assert "bootstrap.py" not in api.posts[0].body.decode()


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({}, "nomod.handler", "Runtime.ImportModuleError", "Unable to import module 'nomod': No module named 'nomod'"),
        (
            {"app.py": "import not_installed_dependency\n"},
            "app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'app': No module named 'not_installed_dependency'",
        ),
        (
            {"app.py": "def handler(event, context):\n    return 1\n"},
            "app.nothere",
            "Runtime.HandlerNotFound",
            "Handler 'nothere' missing on module 'app'",
        ),
        ({}, "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)"),
        ({}, "sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    ],
    ids=["missing-module", "missing-dependency", "handler-missing", "malformed-handler", "builtin-module"],
)
def test_init_errors(
    api: RuntimeAPI, tmp_path: Path, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    for name, text in files.items():
        write(tmp_path / name, text)
    api.add({})
    proc = run(api, tmp_path, handler)
    assert_init_error(api, proc, error_type, message)
    assert api.posts[0].json["stackTrace"] == []


def assert_init_error(api: RuntimeAPI, proc: subprocess.CompletedProcess[str], error_type: str, message: str) -> None:
    assert proc.returncode == 1
    assert [p.path for p in api.posts] == [INIT_ERROR]
    assert not any(path == NEXT for _, path, _ in api.requests)
    post = api.posts[0]
    assert post.headers[ERROR_TYPE] == error_type
    body = post.json
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorType"] == error_type
    assert body["errorMessage"] == message
    assert body["requestId"] == ""
    assert re.search(rf"^\[WARNING\]\t{LOG_TIME}\t\tLAMBDA_WARNING: Unhandled exception\. ", proc.stdout, re.M)
    assert f"[ERROR] {error_type}: {message}\rTraceback (most recent call last):" in proc.stdout


def test_init_syntax_error(api: RuntimeAPI, tmp_path: Path) -> None:
    app = write(tmp_path / "app.py", "x = 1\ndef handler(event, context)\n    return 1\n")
    proc = run(api, tmp_path)
    body = api.posts[0].json
    message = body["errorMessage"]
    # The wording of the parser's message varies across Python versions.
    assert message.startswith("Syntax error in module 'app': ") and message.endswith("(app.py, line 2)")
    assert_init_error(api, proc, "Runtime.UserCodeSyntaxError", message)
    assert body["stackTrace"] == [f'  File "{app}" Line 2\n    def handler(event, context)\n']


def test_init_exception_at_import(api: RuntimeAPI, tmp_path: Path) -> None:
    app = write(tmp_path / "app.py", "import os\nraise RuntimeError('bad config')\n")
    proc = run(api, tmp_path)
    assert_init_error(api, proc, "RuntimeError", "bad config")
    trace = api.posts[0].json["stackTrace"]
    assert trace[-1] == f"  File \"{app}\", line 2, in <module>\n    raise RuntimeError('bad config')\n"
    assert not any("bootstrap.py" in frame for frame in trace)


@pytest.mark.parametrize(
    ("execution_env", "unicode_json"),
    [(None, b'"\\u00e9\\u2603"'), ("AWS_Lambda_python3.12", '"é☃"'.encode())],
    ids=["ascii", "python3.12-env"],
)
def test_marshalling(api: RuntimeAPI, tmp_path: Path, execution_env: str | None, unicode_json: bytes) -> None:
    write(
        tmp_path / "app.py",
        "from decimal import Decimal\n"
        "def handler(event, context):\n"
        "    kind = event['kind']\n"
        "    if kind == 'set':\n"
        "        return {1, 2}\n"
        "    if kind == 'special':\n"
        "        return {'d': Decimal('1.10'), 'big': Decimal('12345678901234567890.000000001'),\n"
        "                'dnan': Decimal('NaN'), 'inf': float('inf'), 'b': b'bytes', 'u': '\\u00e9\\u2603',\n"
        "                't': (1, 2)}\n"
        "    if kind == 'bytes':\n"
        "        return b'\\x01raw'\n"
        "    return None\n",
    )
    for kind in ("set", "special", "bytes", "none"):
        api.add({"kind": kind})
    env = {"AWS_EXECUTION_ENV": execution_env} if execution_env else {}
    proc = run(api, tmp_path, env=env)
    assert_clean_exit(proc)

    error, special, raw, none = api.posts
    assert error.kind == "error"
    assert error.headers[ERROR_TYPE] == "Runtime.MarshalError"
    assert error.json == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "req-1",
        "stackTrace": [],
    }
    marshal_log = "[ERROR] Runtime.MarshalError: Unable to marshal response: Object of type set is not JSON serializable"
    assert marshal_log + "\r" in proc.stdout
    assert special.body == (
        b'{"d": 1.10, "big": 12345678901234567890.000000001, "dnan": NaN, "inf": Infinity, "b": "bytes", "u": '
        + unicode_json
        + b', "t": [1, 2]}'
    )
    assert raw.body == b"\x01raw"
    assert raw.headers["Content-Type"] == "application/unknown"
    assert none.body == b"null"


def test_logging(api: RuntimeAPI, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "import logging\n"
        "logger = logging.getLogger()\n"
        "logging.getLogger(__name__).warning('at import')\n"
        "def handler(event, context):\n"
        "    logger.info('hidden at the default level')\n"
        "    logger.warning('careful %s', 1)\n"
        "    logger.setLevel(logging.INFO)\n"
        "    logging.getLogger('child').info('now visible')\n"
        "    context.log('via context\\n')\n",
    )
    api.add({}, request_id="11111111-2222-3333-4444-555555555555")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert re.search(rf"^\[WARNING\]\t{LOG_TIME}\t\tat import\n", proc.stdout, re.M)
    rid = "11111111-2222-3333-4444-555555555555"
    assert re.search(rf"^\[WARNING\]\t{LOG_TIME}\t{rid}\tcareful 1\n", proc.stdout, re.M)
    assert re.search(rf"^\[INFO\]\t{LOG_TIME}\t{rid}\tnow visible\n", proc.stdout, re.M)
    assert "hidden" not in proc.stdout
    assert "via context\n" in proc.stdout


def test_logging_level_and_json_format(api: RuntimeAPI, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "import logging\n"
        "def handler(event, context):\n"
        "    logging.getLogger('mine').debug('debug %s', 'on', extra={'k': 'v'})\n"
        "    raise KeyError('action')\n",
    )
    api.add({})
    proc = run(api, tmp_path, env={"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_FORMAT": "JSON"})
    assert_clean_exit(proc)
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    debug, error = records
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", debug.pop("timestamp"))
    assert debug == {"level": "DEBUG", "message": "debug on", "logger": "mine", "requestId": "req-1", "k": "v"}
    assert error["level"] == "ERROR"
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'action'"
    assert error["requestId"] == "req-1"
    assert api.posts[0].json["errorMessage"] == "'action'"


def test_response_too_large_keeps_serving(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return event\n")
    api.statuses = [413]
    api.add("x" * 100_000)
    api.add("small")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.kind for p in api.posts] == ["response", "response"]
    assert api.posts[1].json == "small"


def test_result_posted_after_server_closed_idle_connection(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "app.py", "import time\ndef handler(event, context):\n    time.sleep(0.1)\n    return event\n")
    api.drop_after_event = True
    api.add(1)
    api.add(2)
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.json for p in api.posts] == [1, 2]
    assert [p.kind for p in api.posts] == ["response", "response"]
    # Each result went out on a new connection, opened when the old one turned out closed.
    assert api.connections == 4


@pytest.mark.parametrize("style", ["chunked", "unusual"])
def test_event_framing(api: RuntimeAPI, tmp_path: Path, style: str) -> None:
    api.next_style = style
    api.add({"a": 1}, headers={"Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"})
    api.add(body=b"\x00\xffraw", content_type="application/octet-stream")
    write(tmp_path / "app.py", "def handler(event, context):\n    return [repr(event), context.aws_request_id]\n")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.json for p in api.posts] == [["{'a': 1}", "req-1"], [repr(b"\x00\xffraw"), "req-2"]]
    # The connection was kept alive throughout; the only other one is the attempt to reconnect
    # once the server dropped it.
    assert len({port for method, path, port in api.requests[:4]}) == 1
    assert api.connections == 2


def test_event_without_length_ends_with_the_connection(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return event\n")
    api.next_style = "eof"
    api.add({"n": 1})
    api.add(body=b"", content_type="application/octet-stream")
    api.add(body=b"\x00\xffraw", content_type="application/octet-stream")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.body for p in api.posts] == [b'{"n": 1}', b"", b"\x00\xffraw"]
    # Each event's connection ended with it: its result went out on the next one, which then
    # served the next event.
    ports = [port for method, path, port in api.requests]
    assert ports[1] != ports[0] and ports[2] == ports[1] and ports[3] != ports[2]
    assert api.connections == 5


def test_reconnects_when_server_closes_between_invocations(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return event\n")
    api.drop_after_post = True
    for n in range(4):
        api.add(n)
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.json for p in api.posts] == [0, 1, 2, 3]
    # Each invocation's GET and POST shared a connection; the next GET found it closed and went
    # out on a new one.
    pairs = [api.requests[i : i + 2] for i in range(0, 8, 2)]
    assert [[method for method, _, _ in pair] for pair in pairs] == [["GET", "POST"]] * 4
    assert all(pair[0][2] == pair[1][2] for pair in pairs)
    assert len({pair[0][2] for pair in pairs}) == 4
    assert api.connections == 5


@pytest.mark.parametrize("style", ["length", "chunked"])
def test_large_event_and_result(api: RuntimeAPI, tmp_path: Path, style: str) -> None:
    write(
        tmp_path / "app.py",
        "def handler(event, context):\n"
        "    if isinstance(event, bytes):\n"
        "        return event[::-1]\n"
        "    if isinstance(event, str):\n"
        "        return event\n"
        "    return {'size': len(event['data']), 'data': event['data'].upper()}\n",
    )
    api.next_style = style
    data = "".join(chr(97 + i % 26) for i in range(5 * 1024 * 1024))
    raw = bytes(range(256)) * (5 * 4096 + 1)
    api.add({"data": data})
    api.add(body=raw, content_type="application/octet-stream")
    api.add("small")
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    big, reversed_raw, small = api.posts
    assert big.json == {"size": len(data), "data": data.upper()}
    assert int(big.headers["Content-Length"]) == len(big.body) > 5 * 1024 * 1024
    assert reversed_raw.body == raw[::-1]
    assert reversed_raw.headers["Content-Type"] == "application/unknown"
    assert small.json == "small"
    assert api.connections == 2


def test_non_ascii_error_type(api: RuntimeAPI, tmp_path: Path) -> None:
    write(
        tmp_path / "app.py",
        "class Ошибка(Exception):\n"
        "    pass\n"
        "def handler(event, context):\n"
        "    raise Ошибка('é')\n",
    )
    api.add({})
    api.add({})
    proc = run(api, tmp_path)
    assert_clean_exit(proc)
    assert [p.kind for p in api.posts] == ["error", "error"]
    for post in api.posts:
        # Sent as UTF-8 bytes; the server reads header bytes as ISO-8859-1.
        assert post.headers[ERROR_TYPE].encode("latin-1").decode("utf-8") == "Ошибка"
        assert post.json["errorType"] == "Ошибка"
        assert post.json["errorMessage"] == "é"
    assert api.connections == 2


def test_handler_in_nested_path(api: RuntimeAPI, tmp_path: Path) -> None:
    write(tmp_path / "pkg" / "sub" / "mod.py", "def handler(event, context):\n    return __name__\n")
    api.add({})
    proc = run(api, tmp_path, "pkg/sub/mod.handler")
    assert_clean_exit(proc)
    assert api.posts[0].json == "pkg.sub.mod"


def test_sys_path_and_runtime_dir_hidden(api: RuntimeAPI, tmp_path: Path) -> None:
    runtime_dir = tmp_path / "runtime"
    runtime_dir.mkdir()
    bootstrap = Path(shutil.copy(BOOTSTRAP, runtime_dir / "bootstrap.py"))
    write(runtime_dir / "sibling.py", "VALUE = 1\n")
    task = tmp_path / "task"
    write(
        task / "app.py",
        "import sys\n"
        "def handler(event, context):\n"
        "    try:\n"
        "        import sibling\n"
        "        hidden = False\n"
        "    except ImportError:\n"
        "        hidden = True\n"
        "    return {'path': sys.path[:3], 'hidden': hidden, 'runtime_dir_on_path': %r in sys.path}\n"
        % str(runtime_dir),
    )
    api.add({})
    proc = run(api, task, bootstrap=bootstrap)
    assert_clean_exit(proc)
    version = "python%d.%d" % sys.version_info[:2]
    assert api.posts[0].json == {
        "path": [str(task), f"/opt/python/lib/{version}/site-packages", "/opt/python"],
        "hidden": True,
        "runtime_dir_on_path": False,
    }


def test_exits_quietly_when_runtime_api_is_gone(tmp_path: Path) -> None:
    write(tmp_path / "app.py", "def handler(event, context):\n    return 1\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = decoded(subprocess.run(
        [sys.executable, "-u", str(BOOTSTRAP)],
        env={
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "_HANDLER": "app.handler",
            "LAMBDA_TASK_ROOT": str(tmp_path),
        },
        cwd=str(tmp_path),
        capture_output=True,
        timeout=20,
    ))
    assert_clean_exit(proc)
    assert proc.stdout == ""


def _interpreter(version: str) -> str | None:
    """The host's Python ``version``, found as Lamina finds it for the python3.x runtimes."""
    runtime = python_family.resolve(f"python{version}", {})
    return runtime.zygote_python if runtime else None


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_environment_interpreters(api: RuntimeAPI, tmp_path: Path, version: str) -> None:
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} interpreter installed")
    app = write(tmp_path / "app.py", RAISING_SOURCE)
    api.add({"fail": "x"})
    api.add({})
    proc = run(api, tmp_path, python=python)
    check_raising_function(api, app, proc)
