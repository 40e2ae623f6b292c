"""The ``lamina`` command line, against real folders, real sockets and a real HTTP server.

``serving`` runs an ``http.server`` on an ephemeral loopback port that answers as Lamina would,
from a function the test gives, and records every request it gets.
"""

from __future__ import annotations

import argparse
import base64
import http.server
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from lamina.cli.client import LambdaClient
from lamina.cli.deploy import failure_reason, is_ready, wait_until_ready
from lamina.cli.errors import DeployError, ExitCode, UsageError
from lamina.cli.functions import function_rows
from lamina.cli.invoke import format_function_error, load_payload
from lamina.cli.logs import format_event
from lamina.cli.main import build_parser, endpoint_of, main, server_settings
from lamina.cli.output import format_table
from lamina.cli.package import list_files, package_directory
from lamina.cli.shapes import LogEvent

LAMINA = Path(sys.executable).parent / "lamina"

# -- a real HTTP server answering like Lamina ----------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> dict[str, object]:
        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


Answer = Callable[[Request], Reply]


def json_reply(value: object, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, json.dumps(value).encode(), (("Content-Type", "application/json"), *headers))


def aws_error(status: int, code: str, message: str, key: str = "message") -> Reply:
    return json_reply({"Type": "User", key: message}, status, (("X-Amzn-ErrorType", code),))


@contextmanager
def serving(answer: Answer) -> Iterator[tuple[str, list[Request]]]:
    """Yield the server's endpoint and the list its requests are appended to."""
    received: list[Request] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self.rfile.read(length),
            )
            received.append(request)
            reply = answer(request)
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test's captured stderr for the CLI's own output

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    # Bound and listening already: requests made before serve_forever starts simply queue.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-lamina")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def config(name: str, state: str = "Active", update: str = "Successful", **extra: object) -> dict[str, object]:
    return {"FunctionName": name, "Runtime": "python3.12", "State": state, "LastUpdateStatus": update, **extra}


# -- packaging -------------------------------------------------------------------------------


def make_project(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "app.py").write_text("def handler(event, context):\n    return event\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "bootstrap").write_text("#!/bin/sh\nexec python3 app.py\n")
    (root / "bootstrap").chmod(0o700)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "x.pyc").write_bytes(b"\x00")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "stray.pyc").write_bytes(b"\x00")
    return root


def test_package_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    root = make_project(tmp_path / "fn")
    first = package_directory(root)
    # Touch every file: a later mtime must not change the bytes.
    later = time.time() + 3600
    for path in root.rglob("*"):
        os.utime(path, (later, later))
    second = package_directory(root)
    assert first.data == second.data
    assert first.file_count == 3


def test_package_skips_caches_and_git_and_sorts_entries(tmp_path: Path) -> None:
    root = make_project(tmp_path / "fn")
    assert list_files(root) == ["app.py", "bootstrap", "pkg/__init__.py"]
    with zipfile.ZipFile(io.BytesIO(package_directory(root).data)) as archive:
        assert archive.namelist() == ["app.py", "bootstrap", "pkg/__init__.py"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert archive.read("app.py").startswith(b"def handler")


def test_package_keeps_the_exec_bit(tmp_path: Path) -> None:
    root = make_project(tmp_path / "fn")
    with zipfile.ZipFile(io.BytesIO(package_directory(root).data)) as archive:
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert stat.S_ISREG(modes["bootstrap"])
    assert stat.S_IMODE(modes["bootstrap"]) == 0o755
    assert stat.S_IMODE(modes["app.py"]) == 0o644


def test_package_refuses_a_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not a folder"):
        package_directory(tmp_path / "nope")
    (tmp_path / "empty" / "__pycache__").mkdir(parents=True)
    with pytest.raises(UsageError, match="no files to deploy"):
        package_directory(tmp_path / "empty")


# -- argument parsing ------------------------------------------------------------------------


def test_deploy_arguments() -> None:
    args = build_parser().parse_args(
        ["deploy", "./fn", "--name", "hello", "--runtime", "python3.12", "--handler", "app.handler",
         "--memory", "256", "--timeout", "10", "--env", "A=1", "--env", "B=x=y", "--description", "hi"]
    )
    assert (args.command, args.path, args.name, args.memory, args.timeout) == (
        "deploy", Path("./fn"), "hello", 256, 10
    )
    assert dict(args.env) == {"A": "1", "B": "x=y"}
    assert args.json is False


def test_dev_debug_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    common = ["dev", "./fn", "--name", "f", "--runtime", "python3.12", "--handler", "app.handler"]
    assert parser.parse_args(common).debug is None
    assert parser.parse_args([*common, "--debug"]).debug == "attach"
    waiting = parser.parse_args([*common, "--debug=wait", "--debug-port", "0"])
    assert (waiting.debug, waiting.debug_port) == ("wait", 0)
    assert parser.parse_args(["dev", "--debug", "--name", "f", "--runtime", "r", "--handler", "h", "./fn"]).debug == "attach"
    assert main([*common, "--debug=later"]) == ExitCode.USAGE
    assert "invalid choice: 'later'" in capsys.readouterr().err
    assert main([*common, "--debug-port", "x"]) == ExitCode.USAGE


def test_json_and_endpoint_are_accepted_before_or_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--json", "--endpoint", "http://h:1", "ls"])
    after = parser.parse_args(["ls", "--json", "--endpoint", "http://h:1"])
    for args in (before, after):
        assert args.json is True
        assert endpoint_of(args, {}) == "http://h:1"


def test_endpoint_comes_from_flag_then_environment_then_default() -> None:
    parser = build_parser()
    assert endpoint_of(parser.parse_args(["ls"]), {}) == "http://127.0.0.1:9000"
    assert endpoint_of(parser.parse_args(["ls"]), {"LAMINA_ENDPOINT": "http://e:2"}) == "http://e:2"
    flagged = parser.parse_args(["ls", "--endpoint", "http://f:3"])
    assert endpoint_of(flagged, {"LAMINA_ENDPOINT": "http://e:2"}) == "http://f:3"


def test_server_settings_take_flags_over_environment() -> None:
    args = build_parser().parse_args(["server", "--port", "9123", "--data-dir", "/tmp/lamina-x"])
    settings = server_settings(args, {"LAMINA_HOST": "0.0.0.0", "LAMINA_PORT": "1"})
    assert (settings.host, settings.port, settings.data_dir) == ("0.0.0.0", 9123, Path("/tmp/lamina-x"))


def test_a_bad_env_pair_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["deploy", ".", "--name", "f", "--runtime", "python3.12", "--handler", "a.b", "--env", "NOEQUALS"])
    assert code == ExitCode.USAGE
    assert "expected KEY=VALUE" in capsys.readouterr().err


def test_missing_required_options_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy", "."]) == ExitCode.USAGE
    assert "--name" in capsys.readouterr().err


def test_a_malformed_endpoint_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--endpoint", "127.0.0.1:9000"]) == ExitCode.USAGE
    assert "--endpoint must look like http://127.0.0.1:9000" in capsys.readouterr().err


# -- no server ---------------------------------------------------------------------------------


def test_cannot_reach_lamina_from_the_installed_command() -> None:
    port = closed_port()
    done = subprocess.run(
        [str(LAMINA), "ls"],
        env={**os.environ, "LAMINA_ENDPOINT": f"http://127.0.0.1:{port}"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"lamina: cannot reach Lamina at http://127.0.0.1:{port} (connection refused). "
        "Start it with `lamina server`, or set --endpoint / LAMINA_ENDPOINT.\n"
    )


def test_cannot_reach_lamina_through_main(capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    assert main(["invoke", "f", "--endpoint", endpoint]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"cannot reach Lamina at {endpoint} (connection refused)" in err
    assert "Traceback" not in err


# -- payloads ----------------------------------------------------------------------------------


def test_payload_must_be_json_before_anything_is_sent(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(lambda request: json_reply({})) as (endpoint, received):
        code = main(["invoke", "f", "--payload", "{not json", "--endpoint", endpoint])
    assert code == ExitCode.USAGE
    assert received == []
    assert "lamina: --payload is not valid JSON" in capsys.readouterr().err


def test_payload_from_a_file(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(b'{"name": "world"}')
    assert load_payload(f"@{event}") == b'{"name": "world"}'
    assert load_payload(None) == b"{}"
    assert load_payload("@-", stdin=io.BytesIO(b"[1, 2]")) == b"[1, 2]"
    event.write_bytes(b"name=world")
    with pytest.raises(UsageError, match="event.json is not valid JSON"):
        load_payload(f"@{event}")
    with pytest.raises(UsageError, match="cannot read payload file"):
        load_payload(f"@{tmp_path / 'missing.json'}")


# -- ls ------------------------------------------------------------------------------------------


def paged_functions(request: Request) -> Reply:
    assert (request.method, request.path) == ("GET", "/2015-03-31/functions")
    if "Marker" not in request.query:
        first = config("alpha", MemorySize=128, Timeout=3, LastModified="2024-05-01T12:00:00.000+0000")
        return json_reply({"Functions": [first], "NextMarker": "page-2"})
    assert request.query["Marker"] == ["page-2"]
    return json_reply({"Functions": [config("beta", MemorySize=512, Timeout=30)]})


def test_ls_follows_next_marker_through_every_page(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(paged_functions) as (endpoint, received):
        assert main(["ls", "--endpoint", endpoint]) == ExitCode.OK
    assert [request.query.get("Marker") for request in received] == [None, ["page-2"]]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "RUNTIME", "MEMORY", "TIMEOUT", "STATE", "LAST", "MODIFIED"]
    assert lines[1].split()[:6] == ["alpha", "python3.12", "128", "MB", "3", "s"]
    assert lines[2].split() == ["beta", "python3.12", "512", "MB", "30", "s", "Active", "-"]


def test_ls_json(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(paged_functions) as (endpoint, _):
        assert main(["--json", "ls", "--endpoint", endpoint]) == ExitCode.OK
    listed = json.loads(capsys.readouterr().out)
    assert [item["FunctionName"] for item in listed["Functions"]] == ["alpha", "beta"]


def test_ls_with_no_functions_says_how_to_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(lambda request: json_reply({"Functions": []})) as (endpoint, _):
        assert main(["ls", "--endpoint", endpoint]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "lamina init hello" in out and "cd hello && lamina deploy" in out


def test_function_rows_fill_missing_fields() -> None:
    assert function_rows([{"FunctionName": "x"}]) == [["x", "-", "-", "-", "-", "-"]]


def test_format_table_pads_columns() -> None:
    assert format_table(("A", "BB"), [("xyz", "1")]) == "A    BB\nxyz  1"


# -- invoke ------------------------------------------------------------------------------------

FUNCTION_ERROR = {
    "errorMessage": "boom",
    "errorType": "ValueError",
    "requestId": "r-1",
    "stackTrace": ['  File "/var/task/app.py", line 2, in handler\n    raise ValueError("boom")\n'],
}


def failing_invoke(request: Request) -> Reply:
    return json_reply(
        FUNCTION_ERROR,
        headers=(
            ("X-Amz-Function-Error", "Unhandled"),
            ("X-Amz-Log-Result", base64.b64encode(b"START RequestId: r-1\nboom\n").decode()),
        ),
    )


def test_invoke_function_error_exits_1_and_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(failing_invoke) as (endpoint, received):
        code = main(["invoke", "hello", "--payload", '{"a": 1}', "--logs", "--qualifier", "7", "--endpoint", endpoint])
    assert code == ExitCode.FAILURE
    (request,) = received
    assert (request.method, request.path) == ("POST", "/2015-03-31/functions/hello/invocations")
    assert request.query == {"Qualifier": ["7"]}
    assert request.headers["x-amz-invocation-type"] == "RequestResponse"
    assert request.headers["x-amz-log-type"] == "Tail"
    assert request.body == b'{"a": 1}'
    out, err = capsys.readouterr()
    assert out == ""
    assert "START RequestId: r-1\nboom\n" in err
    assert "hello failed: ValueError: boom" in err
    assert '  File "/var/task/app.py", line 2, in handler' in err
    assert '      raise ValueError("boom")' in err


def test_invoke_function_error_in_json_mode(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(failing_invoke) as (endpoint, _):
        assert main(["invoke", "hello", "--json", "--endpoint", endpoint]) == ExitCode.FAILURE
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["FunctionError"] == "Unhandled"
    assert document["Payload"] == FUNCTION_ERROR
    assert err == ""  # the document says it all; stderr does not say it again


def test_invoke_prints_the_result_as_pretty_json(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(lambda request: Reply(200, b'{"hello":"world"}')) as (endpoint, received):
        assert main(["invoke", "hello", "--endpoint", endpoint]) == ExitCode.OK
    assert received[0].body == b"{}"
    assert "x-amz-log-type" not in received[0].headers
    assert capsys.readouterr().out == '{\n  "hello": "world"\n}\n'


def test_invoke_async_sends_an_event(capsys: pytest.CaptureFixture[str]) -> None:
    reply = Reply(202, b"", (("x-amzn-RequestId", "req-9"),))
    with serving(lambda request: reply) as (endpoint, received):
        assert main(["invoke", "hello", "--async", "--endpoint", endpoint]) == ExitCode.OK
    assert received[0].headers["x-amz-invocation-type"] == "Event"
    assert capsys.readouterr().out == "Queued an event for hello (request req-9).\n"


def test_format_function_error_without_the_usual_shape() -> None:
    assert format_function_error("f", "Unhandled", b"oops") == "f failed (Unhandled): oops"
    assert format_function_error("f", "Unhandled", b'{"errorMessage": "m"}') == "f failed: Unhandled: m"


# -- AWS errors and rm --------------------------------------------------------------------------


def test_aws_errors_are_printed_with_their_code(capsys: pytest.CaptureFixture[str]) -> None:
    missing = aws_error(404, "ResourceNotFoundException", "Function not found: hello", key="Message")
    with serving(lambda request: missing) as (endpoint, received):
        assert main(["rm", "hello", "--endpoint", endpoint]) == ExitCode.FAILURE
    assert (received[0].method, received[0].path) == ("DELETE", "/2015-03-31/functions/hello")
    err = capsys.readouterr().err
    assert err == (
        "lamina: ResourceNotFoundException: Function not found: hello. "
        "See the deployed functions with `lamina ls`.\n"
    )


def test_rm_deletes(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(lambda request: Reply(204)) as (endpoint, _):
        assert main(["rm", "hello", "--endpoint", endpoint]) == ExitCode.OK
    assert capsys.readouterr().out == "Deleted hello.\n"


def test_an_error_without_a_json_body_still_reads_well(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(lambda request: Reply(500, b"Internal Server Error")) as (endpoint, _):
        assert main(["ls", "--endpoint", endpoint]) == ExitCode.FAILURE
    assert capsys.readouterr().err == "lamina: HTTP 500: Internal Server Error\n"


# -- deploy ------------------------------------------------------------------------------------


class UpdatingLamina:
    """Answers a deploy of an existing function: create conflicts, each update takes two polls."""

    def __init__(self) -> None:
        self.polls_left = 0

    def __call__(self, request: Request) -> Reply:
        route = (request.method, request.path)
        if route == ("POST", "/2015-03-31/functions"):
            return aws_error(409, "ResourceConflictException", "Function already exist: hello")
        if request.method == "PUT" and request.path.startswith("/2015-03-31/functions/hello/"):
            self.polls_left = 1
            return json_reply(config("hello", update="InProgress"))
        if route == ("GET", "/2015-03-31/functions/hello/configuration"):
            if self.polls_left:
                self.polls_left -= 1
                return json_reply(config("hello", update="InProgress"))
            return json_reply(config("hello"))
        return aws_error(400, "InvalidParameterValueException", f"unexpected {route}")


def deploy_argv(root: Path, endpoint: str, *extra: str) -> list[str]:
    return ["deploy", str(root), "--name", "hello", "--runtime", "python3.12", "--handler", "app.handler",
            "--endpoint", endpoint, *extra]


def test_deploy_updates_an_existing_function(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "fn")
    with serving(UpdatingLamina()) as (endpoint, received):
        code = main(deploy_argv(root, endpoint, "--memory", "256", "--env", "GREETING=hi"))
    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.OK, "")
    calls = [(request.method, request.path.rsplit("/", 1)[-1]) for request in received]
    assert calls == [
        ("POST", "functions"),
        ("PUT", "code"),
        ("GET", "configuration"),
        ("GET", "configuration"),
        ("PUT", "configuration"),
        ("GET", "configuration"),
        ("GET", "configuration"),
    ]
    create = received[0].json()
    assert create["FunctionName"] == "hello"
    assert create["Role"] == "arn:aws:iam::000000000000:role/lamina"
    assert create["Environment"] == {"Variables": {"GREETING": "hi"}}
    assert "Timeout" not in create
    code_update = received[1].json()
    zipped = base64.b64decode(str(code_update["ZipFile"]))
    assert zipped == package_directory(root).data
    assert received[4].json() == {
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "MemorySize": 256,
        "Environment": {"Variables": {"GREETING": "hi"}},
    }  # no Role: an update keeps the function's own
    assert f"Packaging {root} (3 files," in out
    assert "Creating function hello... it exists; updating." in out
    assert f"lamina --endpoint {endpoint} invoke hello --payload '{{}}'" in out


def test_deploy_reports_a_function_that_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "fn")

    def failing(request: Request) -> Reply:
        if request.method == "POST":
            return json_reply(config("hello", state="Pending", update="InProgress"), 201)
        return json_reply(config("hello", state="Failed", update="Failed", StateReason="bad handler"))

    with serving(failing) as (endpoint, received):
        code = main(deploy_argv(root, endpoint))
    assert code == ExitCode.FAILURE
    assert [request.method for request in received] == ["POST", "GET"]
    out, err = capsys.readouterr()
    assert out.endswith("Creating function hello... \n")
    assert err == "lamina: hello failed: bad handler\n"


def test_deploy_json_prints_the_final_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "fn")
    with serving(lambda request: json_reply(config("hello"), 201 if request.method == "POST" else 200)) as (endpoint, _):
        code = main(deploy_argv(root, endpoint, "--json"))
    assert code == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["State"] == "Active"


def test_waiting_gives_up_at_the_deadline() -> None:
    with serving(lambda request: json_reply(config("hello", state="Pending"))) as (endpoint, received):
        with pytest.raises(DeployError, match=r"not ready after 0 s \(State=Pending"):
            wait_until_ready(LambdaClient(endpoint), "hello", deadline=0)
    assert len(received) == 1


def test_readiness_of_configurations() -> None:
    assert is_ready({"State": "Active", "LastUpdateStatus": "Successful"})
    assert is_ready({"State": "Active"})
    assert not is_ready({"State": "Active", "LastUpdateStatus": "InProgress"})
    assert not is_ready({"State": "Pending"})
    assert failure_reason({"State": "Pending"}) is None
    assert failure_reason({"State": "Active", "LastUpdateStatus": "Failed", "LastUpdateStatusReason": "r"}) == "r"


# -- logs ----------------------------------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


NOON = 1_714_564_800_000  # 2024-05-01T12:00:00Z


def test_format_event_does_not_double_newlines(utc: None) -> None:
    event: LogEvent = {"cursor": 1, "timestamp": NOON + 45_007, "logStream": "s", "message": "hello\n"}
    assert format_event(event) == "12:00:45.007 hello"


def test_format_event_puts_each_line_of_a_traceback_on_its_own_line(utc: None) -> None:
    message = "[ERROR] ValueError: boom\rTraceback (most recent call last):\r  File \"app.py\", line 4\n"
    event: LogEvent = {"cursor": 1, "timestamp": NOON, "logStream": "s", "message": message}
    assert format_event(event).split("\n") == [
        "12:00:00.000 [ERROR] ValueError: boom",
        "             Traceback (most recent call last):",
        '               File "app.py", line 4',
    ]


def test_logs_prints_every_event(utc: None, capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        {"cursor": 5, "timestamp": NOON, "logStream": "s", "message": "START RequestId: r\n"},
        {"cursor": 6, "timestamp": NOON + 1, "logStream": "s", "message": "no newline"},
    ]
    with serving(lambda request: json_reply({"events": events, "nextCursor": 6})) as (endpoint, received):
        assert main(["logs", "hello", "--since", "4", "--endpoint", endpoint]) == ExitCode.OK
    (request,) = received
    assert request.path == "/lamina/v1/functions/hello/logs"
    assert request.query == {"since": ["4"], "limit": ["1000"], "wait": ["0"]}
    assert capsys.readouterr().out == "12:00:00.000 START RequestId: r\n12:00:00.001 no newline\n"


def test_logs_follow_stops_quietly_on_ctrl_c() -> None:
    following = threading.Event()

    def answer(request: Request) -> Reply:
        if request.query["wait"] == ["20"]:
            following.set()
        event = {"cursor": 1, "timestamp": NOON, "logStream": "s", "message": "first\n"}
        return json_reply({"events": [] if following.is_set() else [event], "nextCursor": 1})

    with serving(answer) as (endpoint, received):
        process = subprocess.Popen(
            [str(LAMINA), "logs", "hello", "--follow", "--endpoint", endpoint],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert following.wait(timeout=30)
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert (process.returncode, err) == (0, "")
    assert out.endswith(" first\n")
    assert received[1].query["since"] == ["1"]


def test_logs_of_an_unknown_function(capsys: pytest.CaptureFixture[str]) -> None:
    missing = aws_error(404, "ResourceNotFoundException", "Function not found: nope", key="Message")
    with serving(lambda request: missing) as (endpoint, _):
        assert main(["logs", "nope", "--endpoint", endpoint]) == ExitCode.FAILURE
    assert "lamina: ResourceNotFoundException: Function not found: nope" in capsys.readouterr().err


# -- queue ---------------------------------------------------------------------------------------


def test_queue_shows_depth_and_oldest_age_per_function(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"function": "busy", "depth": 12, "inFlight": 2, "oldestAgeSeconds": 95.5},
        {"function": "idle", "depth": 0, "inFlight": 1, "oldestAgeSeconds": 0},
    ]

    def reply(request: Request) -> Reply:
        if request.path == "/lamina/v1/outbox":
            return json_reply({"messages": [], "nextAfter": None})
        assert (request.method, request.path) == ("GET", "/lamina/v1/queue")
        return json_reply({"functions": rows})

    with serving(reply) as (endpoint, _):
        assert main(["queue", "--endpoint", endpoint]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["FUNCTION", "QUEUED", "IN", "FLIGHT", "OLDEST"]
    assert lines[1].split() == ["busy", "12", "2", "1", "min", "35", "s"]
    assert lines[2].split() == ["idle", "0", "1", "-"]
    assert len(lines) == 3  # nothing in the outbox, nothing said of it
    with serving(reply) as (endpoint, _):
        assert main(["--json", "queue", "--endpoint", endpoint]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == {"functions": rows}


def test_an_empty_queue_says_so_and_points_to_a_waiting_outbox(capsys: pytest.CaptureFixture[str]) -> None:
    letter = {"id": 3, "target": "arn:aws:sqs:us-east-1:000000000000:dlq", "kind": "dead-letter", "function": "f",
              "requestId": "r", "body": "{}", "attributes": {}, "createdMs": 0}  # fmt: skip

    def reply(request: Request) -> Reply:
        if request.path == "/lamina/v1/outbox":
            assert request.query["limit"] == ["1"]
            return json_reply({"messages": [letter], "nextAfter": 3})
        return json_reply({"functions": []})

    with serving(reply) as (endpoint, _):
        assert main(["queue", "--endpoint", endpoint]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "queue is empty" in out
    assert "waiting in the outbox: `lamina outbox` lists them" in out


def test_outbox_reads_every_page(capsys: pytest.CaptureFixture[str]) -> None:
    def message(i: int) -> dict[str, object]:
        return {"id": i, "target": "arn:aws:sns:us-east-1:000000000000:t", "kind": "destination", "function": "f",
                "requestId": f"r-{i}", "body": '{"version": "1.0"}', "attributes": {}, "createdMs": 0}  # fmt: skip

    def reply(request: Request) -> Reply:
        assert request.path == "/lamina/v1/outbox"
        after = int(request.query["after"][0])
        return json_reply({"messages": [message(after + 1)], "nextAfter": after + 1 if after < 2 else None})

    with serving(reply) as (endpoint, received):
        assert main(["outbox", "--endpoint", endpoint]) == ExitCode.OK
    assert [r.query["after"] for r in received] == [["0"], ["1"], ["2"]]
    out = capsys.readouterr().out
    assert all(f"#{i}  destination for arn:aws:sns:us-east-1:000000000000:t  from f (r-{i})" in out for i in (1, 2, 3))
    assert "3 message(s)" in out


def test_schedule_rows_show_group_name_expression_zone_state_and_next_firing() -> None:
    from lamina.cli.schedules import schedule_rows

    rows = schedule_rows([
        ({"Name": "b", "GroupName": "default", "State": "ENABLED", "NextFiring": 1780315200.0},
         {"ScheduleExpression": "cron(0 9 ? * MON-FRI *)", "ScheduleExpressionTimezone": "Europe/London"}),
        ({"Name": "a", "GroupName": "default", "State": "DISABLED"},
         {"ScheduleExpression": "rate(1 day)", "ScheduleExpressionTimezone": "UTC"}),
    ])  # fmt: skip
    assert rows == [
        ["default/a", "rate(1 day)", "DISABLED", "-"],
        ["default/b", "cron(0 9 ? * MON-FRI *) Europe/London", "ENABLED", "2026-06-01 12:00:00 UTC"],
    ]
def test_api_rows_show_urls_and_sorted_routes() -> None:
    from lamina.cli.apis import api_rows

    rows = api_rows([
        ({"apiId": "bbbbbbbbbb", "name": "zeta", "apiEndpoint": "http://b"}, []),
        ({"apiId": "aaaaaaaaaa", "name": "alpha", "apiEndpoint": "http://a"},
         [{"routeKey": "GET /x"}, {"routeKey": "$default"}]),
    ])  # fmt: skip
    assert rows == [["HTTP", "aaaaaaaaaa", "alpha", "http://a", "$default, GET /x"],
                    ["HTTP", "bbbbbbbbbb", "zeta", "http://b", "-"]]  # fmt: skip


def test_rest_api_rows_have_a_url_for_each_stage() -> None:
    from lamina.cli.apis import rest_rows

    rows = rest_rows([
        ({"id": "cccccccccc", "name": "shop"}, [{"stageName": "prod"}, {"stageName": "dev"}]),
        ({"id": "dddddddddd", "name": "new"}, []),
    ], 9000)  # fmt: skip
    assert rows == [
        ["REST", "dddddddddd", "new", "-", "-"],
        ["REST", "cccccccccc", "shop", "http://cccccccccc.execute-api.localhost:9000/dev/", "-"],
        ["REST", "cccccccccc", "shop", "http://cccccccccc.execute-api.localhost:9000/prod/", "-"],
    ]


def test_logs_since_reads_durations_times_and_cursors() -> None:
    from lamina.cli.logs import Since, since_value

    now = 1_700_000_000.0
    assert since_value("42", now) == Since(cursor=42)
    assert since_value("15m", now) == Since(start_ms=int((now - 900) * 1000))
    assert since_value("1w", now) == Since(start_ms=int((now - 7 * 86400) * 1000))
    assert since_value("2024-01-01T00:00:00+00:00", now) == Since(start_ms=1_704_067_200_000)
    for bad in ("", "1y", "-5m", "soon", "15 m", "9999999999d"):
        with pytest.raises(argparse.ArgumentTypeError):
            since_value(bad, now)
