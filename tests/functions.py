"""Invoking a function and reading what it reports, for the end-to-end tests of every runtime.

``invoke`` returns what a Lambda user sees of an invocation: the response, its decoded body and
the log tail. The error assertions check the parts of AWS's error shapes that every runtime shares;
each language's own error document (its keys, its stack trace) is checked in that language's tests.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable

from tests import signing

REGION = "us-east-1"
ACCOUNT = "000000000000"


def arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


# -- invoking ---------------------------------------------------------------------------------


def invoke_raw(client: Any, name: str, payload: bytes | str | None = None,
               **kwargs: Any) -> tuple[dict[str, Any], bytes, str]:  # fmt: skip
    """Invoke with the log tail, ``payload`` sent as it is; returns (response, payload bytes, log text)."""
    args: dict[str, Any] = {"FunctionName": name, "LogType": "Tail", **kwargs}
    if payload is not None:
        args["Payload"] = payload
    response = client.invoke(**args)
    raw = response["Payload"].read()
    log = base64.b64decode(response["LogResult"]).decode() if "LogResult" in response else ""
    return response, raw, log


def invoke(client: Any, name: str, payload: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any, str]:
    """Invoke with the log tail (``payload`` as JSON unless it is bytes or str); returns (response,
    decoded JSON body, log text)."""
    if payload is not None and not isinstance(payload, (bytes, str)):
        payload = json.dumps(payload)
    response, raw, log = invoke_raw(client, name, payload, **kwargs)
    return response, json.loads(raw) if raw else None, log


def invoke_in_a_row(client: Any, name: str, times: int) -> tuple[list[Any], list[str]]:
    """``times`` invocations one after the other with the event ``{}``, each a success: their
    bodies and their log tails."""
    bodies, logs = [], []
    for _ in range(times):
        response, body, log = invoke(client, name, {})
        assert "FunctionError" not in response, body
        bodies.append(body)
        logs.append(log)
    return bodies, logs


# -- errors -----------------------------------------------------------------------------------


def assert_unhandled(response: dict[str, Any], body: Any, error_type: str) -> None:
    """An unhandled function error, in any runtime: HTTP 200, Unhandled, an error document of ``error_type``."""
    assert response["StatusCode"] == 200
    assert response.get("FunctionError") == "Unhandled", body
    assert isinstance(body, dict), body
    assert body["errorType"] == error_type, body


def assert_platform_error(response: dict[str, Any], body: Any, error_type: str) -> None:
    """An error the platform reports (timeout, crash, out of memory): it names the request in its
    message, ``RequestId: <id> Error: ...``, and carries only its message and type, as AWS's do."""
    assert_unhandled(response, body, error_type)
    assert set(body) == {"errorMessage", "errorType"}, body
    assert isinstance(body["errorMessage"], str), body
    assert body["errorMessage"].startswith(f"RequestId: {request_id(response)} Error: "), body


# -- logs -------------------------------------------------------------------------------------


def fetch_logs(endpoint: str, name: str, since: int = 0, wait: int = 0) -> dict[str, Any]:
    query = urllib.parse.urlencode({"since": since, "wait": wait})
    url = f"{endpoint}/lamina/v1/functions/{urllib.parse.quote(name)}/logs?{query}"
    with signing.urlopen(url, timeout=30) as resp:
        return dict(json.loads(resp.read()))


def wait_for_logs(endpoint: str, name: str, done: Callable[[list[str]], bool], timeout: float = 10) -> list[str]:
    """All of the function's log lines, once ``done`` holds for them (or the timeout passes): the
    stored events' messages without the newline each ends with."""
    messages: list[str] = []
    cursor = 0
    deadline = time.monotonic() + timeout
    while True:
        page = fetch_logs(endpoint, name, cursor, wait=1)
        messages += [e["message"].removesuffix("\n") for e in page["events"]]
        cursor = page["nextCursor"]
        if done(messages) or time.monotonic() >= deadline:
            return messages


def wait_until(condition: Callable[[], Any], timeout: float = 30) -> Any:
    """``condition()``'s first true value, asked again every 0.1 s; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def run_authorizers_example(doc: Path, fence: str, endpoint: str, cwd: Path) -> tuple[list[str], list[str]]:
    """Run the shell block (```<fence>) of ``doc``'s "## Authorizers" section against ``endpoint``
    ($ENDPOINT, with the AWS CLI on PATH): (what it printed, what the section says it prints)."""
    section = doc.read_text().split("\n## Authorizers\n", 1)[1]
    script = section.split(f"```{fence}\n", 1)[1].split("```", 1)[0]
    expected = section.split("The three calls print:\n\n```\n", 1)[1].split("```", 1)[0].strip().splitlines()
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "ENDPOINT": endpoint, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines(), expected


# A walkthrough's fenced blocks: ```sh and ```python run; a bare ``` block shows what the one before printed.
DOC_BLOCK = re.compile(r"```(?P<lang>sh|python|)\n(?P<body>.*?)```", re.S)


class Walkthrough:
    """Runs a doc's blocks in order as a reader would, against ``endpoint`` ($LAMINA_ENDPOINT, the
    AWS CLI and ``lamina`` on PATH): each shell block with the ``export`` lines of those before it."""

    def __init__(self, endpoint: str, cwd: Path, shell_timeout: float = 120) -> None:
        venv_bin = Path(sys.executable).parent
        self.env = {**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}", "LAMINA_ENDPOINT": endpoint,
                    "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
        self.cwd = cwd
        self.shell_timeout = shell_timeout
        self.exports = ""

    def run(self, lang: str, body: str) -> str:
        """What the block printed; it must succeed."""
        if lang == "python":
            result = subprocess.run([sys.executable, "-c", body], capture_output=True, text=True, env=self.env,
                                    cwd=self.cwd, timeout=60)  # fmt: skip
        else:
            self.exports += "".join(line + "\n" for line in body.splitlines() if line.startswith("export "))
            result = subprocess.run(["bash", "-euc", self.exports + body], capture_output=True, text=True,
                                    env=self.env, cwd=self.cwd, timeout=self.shell_timeout)  # fmt: skip
        assert result.returncode == 0, (body, result.stdout, result.stderr)
        return result.stdout


def report_line(log: str, rid: str) -> str:
    lines = [line for line in log.splitlines() if line.startswith(f"REPORT RequestId: {rid}")]
    assert len(lines) == 1, log
    return lines[0]


def report_fields(line: str) -> dict[str, str]:
    fields = {}
    for part in line.split("\t")[1:]:
        key, _, value = part.partition(": ")
        fields[key.strip()] = value.strip()
    return fields
