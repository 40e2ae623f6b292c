"""Pure parts of the CLI's development loop: error rendering for every runtime's shape, progress
lines, and the function a template.yaml describes (with hostile templates)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lamina.cli.errors import UsageError
from lamina.cli.invoke import format_function_error
from lamina.cli.progress import Progress, upload_line
from lamina.cli.template import MAX_TEMPLATE_BYTES, function_in_template, read_template
from lamina.cli.traces import MAX_CAUSE_DEPTH, readable_lines, render_error


def test_go_frames_are_label_path_and_line() -> None:
    body = {"errorMessage": "boom", "errorType": "errorString", "stackTrace": [
        {"path": "github.com/aws/aws-lambda-go@v1.47.0/lambda/errors.go", "line": 39, "label": "lambdaPanicResponse"},
        {"path": "/src/main.go", "line": 12, "label": "handler"}]}  # fmt: skip
    assert format_function_error("f", "Unhandled", json.dumps(body).encode()).splitlines() == [
        "f failed: errorString: boom",
        "  lambdaPanicResponse (github.com/aws/aws-lambda-go@v1.47.0/lambda/errors.go:39)",
        "  handler (/src/main.go:12)",
    ]


def test_dotnet_causes_nest_and_aggregate_causes_are_all_shown() -> None:
    body = {"errorType": "AggregateException", "errorMessage": "two failed", "stackTrace": ["at A.B()"],
            "causes": [{"errorType": "IOException", "errorMessage": "disk", "stackTrace": ["at C.D()"],
                        "cause": {"errorType": "Win32Exception", "errorMessage": "denied"}},
                       {"errorType": "TimeoutException", "errorMessage": "slow"}]}  # fmt: skip
    assert format_function_error("f", "Unhandled", json.dumps(body).encode()).splitlines() == [
        "f failed: AggregateException: two failed", "  at A.B()",
        "Caused by: IOException: disk", "  at C.D()", "Caused by: Win32Exception: denied",
        "Caused by: TimeoutException: slow",
    ]


def test_python_frames_and_carriage_returns() -> None:
    body = {"errorType": "KeyError", "errorMessage": "'x'\rsecond", "stackTrace": [
        '  File "/var/task/app.py", line 2, in handler\n    return event["x"]\n']}  # fmt: skip
    assert format_function_error("f", "Unhandled", json.dumps(body).encode()).splitlines() == [
        "f failed: KeyError: 'x'", "  second", '    File "/var/task/app.py", line 2, in handler',
        '      return event["x"]',
    ]
    assert readable_lines("a\r\u00a0\u00a0b\r\nc") == "a\n  b\nc"


def test_hostile_error_bodies() -> None:
    deep: dict[str, object] = {"errorType": "E0", "errorMessage": "m"}
    node = deep
    for depth in range(1, 5000):  # deeper than any runtime nests; a recursion would blow up
        child: dict[str, object] = {"errorType": f"E{depth}"}
        node["cause"] = child
        node = child
    assert format_function_error("f", "Unhandled", b"{}") == "f failed: Unhandled"
    lines = render_error(deep, "Unhandled")
    assert len(lines) == MAX_CAUSE_DEPTH + 1 and lines[-1] == "Caused by: ... (more causes not shown)"
    odd = {"errorType": 7, "errorMessage": None, "stackTrace": [None, 3, {"weird": True}, ["x"]], "cause": "no"}
    assert format_function_error("f", "Unhandled", json.dumps(odd).encode()).splitlines() == [
        "f failed: 7", "  None", "  3", "  weird=True", "  ['x']"]
    assert format_function_error("f", "Unhandled", b"\xff\r\n") == "f failed (Unhandled): \ufffd\n"


def test_progress_is_silent_unless_enabled_and_never_on_stdout() -> None:
    stream = io.StringIO()
    Progress(stream).upload(10, 100)  # not a terminal, not asked
    assert stream.getvalue() == ""
    clock = iter([0.0, 0.1, 1.0, 1.1])
    shown = Progress(stream, enabled=True, clock=lambda: next(clock))
    for sent in (10, 20, 30, 100):
        shown.upload(sent, 100)
    # thinned out to one report a quarter second, the last always shown
    assert stream.getvalue().splitlines() == [upload_line(10, 100), upload_line(30, 100), upload_line(100, 100)]
    assert upload_line(0, 0).endswith("(100%)")


TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::Role
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: orders
      Runtime: python3.12
      Handler: app.handler
      Code: src
      Role: !GetAtt Role.Arn
      MemorySize: 512
      Environment:
        Variables: {STAGE: dev, LIMIT: 3}
"""


def test_the_function_a_template_describes() -> None:
    found = function_in_template(TEMPLATE, Path("/p"))
    assert (found.name, found.runtime, found.handler, found.code, found.memory_mb) == (
        "orders", "python3.12", "app.handler", Path("/p/src"), 512)
    assert found.environment == {"STAGE": "dev", "LIMIT": "3"}
    serverless = function_in_template("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                                      "      CodeUri: build/\n      FunctionName: !Sub '${AWS::StackName}-f'\n", Path("."))
    assert serverless.code == Path("build") and serverless.name is None  # an intrinsic is left to --name


@pytest.mark.parametrize(("body", "said"), [
    ("Resources: [1, 2", "YAML not well-formed"),
    ("a: &x [1]\nb: *x\n", "Template format error"),  # aliases (an alias bomb's means) are refused
    ("Resources: {}\n", "exactly one function"),
    (TEMPLATE + "  Other:\n    Type: AWS::Lambda::Function\n", "found: Fn, Other"),
    (TEMPLATE.replace("Code: src", "Code: {S3Bucket: b, S3Key: k}"), "must name a local folder"),
    (TEMPLATE.replace("Code: src", "Code: s3://b/k"), "must name a local folder"),
    ("[" * 10000, "Template format error"),
    ("- just a list\n", "Template format error"),
])  # fmt: skip
def test_hostile_templates_are_refused_plainly(body: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        function_in_template(body, Path("."))


def test_an_oversized_template_is_not_read_whole(tmp_path: Path) -> None:
    huge = tmp_path / "template.yaml"
    huge.write_bytes(b"#" * (MAX_TEMPLATE_BYTES + 1))
    with pytest.raises(UsageError, match="is larger than"):
        read_template(huge)


def test_the_installer_shows_a_line_per_package_pip_fetches() -> None:
    """scripts/venv.sh's filter over pip's own output (scripts/up used to be ~40 s of silence)."""
    import subprocess

    root = Path(__file__).resolve().parents[2]
    transcript = ("Obtaining file:///src\nCollecting aiohttp>=3.14.4 (from lamina==0.1.0)\n  Using cached aiohttp.whl\n"
                  "Requirement already satisfied: pip in ./.venv\nCollecting yarl<2.0,>=1.17.0 (from aiohttp)\n"
                  "Installing collected packages: yarl, aiohttp\nSuccessfully installed aiohttp yarl\n")  # fmt: skip
    done = subprocess.run(["bash", "-c", ". scripts/venv.sh && lamina_pip_progress"], input=transcript, cwd=root,
                          capture_output=True, text=True, timeout=30, check=True)  # fmt: skip
    assert done.stdout.splitlines() == ["    fetching aiohttp>=3.14.4 (1)", "    fetching yarl<2.0,>=1.17.0 (2)",
                                        "    installing 2 packages...", "    done."]  # fmt: skip
