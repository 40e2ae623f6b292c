"""Function logs, end to end: what a function prints cannot stall Lamina, lines are split and
truncated as Lambda does, and what is kept is bounded per invocation, per function and in age."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest

from lamina.store.log_chunks import CHUNK_BYTES
from tests.conftest import LaminaProcess, deploy, lambda_client
from tests.functions import fetch_logs, invoke, request_id, wait_for_logs

MB = 1024 * 1024
MAX_LINE = 262_144 - 26 - 1  # CloudWatch Logs' largest event, less its overhead and the line's newline

# Prints without a newline, 1 MB at a time, at least 50 MB and for at least ``seconds``.
NOISY = """
import time

def handler(event, context):
    block = "x" * (1024 * 1024)
    end = time.time() + event["seconds"]
    written = 0
    while written < 50 * 1024 * 1024 or time.time() < end:
        print(block, end="", flush=True)
        written += len(block)
    return written
"""

QUIET = "def handler(event, context):\n    return event\n"


@pytest.mark.slow
def test_output_without_newlines_does_not_stall_other_functions(
    lamina: LaminaProcess, client: Any, fn_name: str
) -> None:
    noisy, quiet = f"{fn_name}-noisy", f"{fn_name}-quiet"
    deploy(client, noisy, NOISY, Timeout=120)
    deploy(client, quiet, QUIET)
    invoke(client, quiet, {"n": -1})  # warm: the invocations below are the API's and the loop's work only
    with ThreadPoolExecutor(1) as pool:
        printing = pool.submit(invoke, lambda_client(lamina.endpoint), noisy, {"seconds": 15})
        seen = []
        for n in range(20):
            response, body, _ = invoke(client, quiet, {"n": n})
            assert "FunctionError" not in response, body
            seen.append(body["n"])
            assert client.list_functions(MaxItems=1)["Functions"]  # GET /2015-03-31/functions answers
        # All of it answered while the noisy function was still printing.
        assert not printing.done(), "the other function's invocations waited for the noisy one"
        assert seen == list(range(20))
        response, written, _ = printing.result()
    assert "FunctionError" not in response, written
    assert written >= 50 * MB
    # What it printed is one line (it never wrote a newline), truncated as Lambda does.
    rid = request_id(response)
    lines = invocation_lines(wait_for_logs(lamina.endpoint, noisy, has_report(rid)), rid)
    assert lines[1:-2] == ["x" * MAX_LINE]


def stored_lines(endpoint: str, name: str) -> list[str]:
    """Every line Lamina keeps of the function's log now, oldest first."""
    messages: list[str] = []
    cursor = 0
    while True:
        page = fetch_logs(endpoint, name, cursor)
        if not page["events"]:
            return messages
        messages += [e["message"].removesuffix("\n") for e in page["events"]]
        cursor = page["nextCursor"]


def size(lines: list[str]) -> int:
    """What lines count for against the limits: their UTF-8 bytes, their newline and 26 bytes an event."""
    return sum(len(line.encode()) + 1 + 26 for line in lines)


def has_report(rid: str) -> Callable[[list[str]], bool]:
    return lambda messages: any(m.startswith(f"REPORT RequestId: {rid}") for m in messages)


def invocation_lines(messages: list[str], rid: str) -> list[str]:
    """The lines from the invocation's START to its REPORT."""
    start = messages.index(next(m for m in messages if m.startswith(f"START RequestId: {rid}")))
    report = messages.index(next(m for m in messages if m.startswith(f"REPORT RequestId: {rid}")))
    return messages[start : report + 1]


# -- lines as Lambda splits and truncates them ----------------------------------------------------

LONG_LINES = f"""
import sys

def handler(event, context):
    sys.stdout.write("a" * ({MAX_LINE} + 100) + "\\n")  # too long: kept up to the limit
    sys.stdout.write("b" * {MAX_LINE} + "\\n")  # exactly the limit: kept whole
    sys.stdout.write("€" * ({MAX_LINE} // 3 + 1) + "\\n")  # cut before the character that does not fit
    print("short")
    sys.stdout.write("unfinished")  # no newline: a line of its own when the invocation ends
    sys.stdout.flush()
    return 1
"""


def test_lines_are_split_on_newlines_and_truncated_at_256_kb(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, LONG_LINES)
    response, _, tail = invoke(client, fn_name, {})
    assert "FunctionError" not in response
    rid = request_id(response)
    lines = invocation_lines(wait_for_logs(lamina.endpoint, fn_name, has_report(rid)), rid)
    printed = lines[1:-2]
    assert printed[:2] == ["a" * MAX_LINE, "b" * MAX_LINE]
    assert printed[2] == "€" * (MAX_LINE // 3) and len(printed[2].encode()) <= MAX_LINE
    assert printed[3:] == ["short", "unfinished"]
    # The tail (X-Amz-Log-Result) is the log's last 4 KB, from a character's start.
    assert tail.endswith("\n") and "short\nunfinished\nEND RequestId: " in tail
    assert 4096 - 3 <= len(tail.encode()) <= 4096


# -- what is kept: per invocation, per function, and for how long ---------------------------------

PRINTS_LINES = """
def handler(event, context):
    for n in range(event["lines"]):
        print(str(n).rjust(99, "-"))  # 100 bytes a line with its newline
    return event["lines"]
"""


def test_an_invocation_keeps_its_log_up_to_its_limit_and_says_what_it_dropped(
    make_server: Callable[..., LaminaProcess], fn_name: str
) -> None:
    limit = int(0.05 * MB)
    server = make_server(LAMINA_LOG_INVOCATION_MB="0.05")
    client = server.client()
    deploy(client, fn_name, PRINTS_LINES)
    response, _, tail = invoke(client, fn_name, {"lines": 1000})
    assert "FunctionError" not in response
    rid = request_id(response)
    again = request_id(invoke(client, fn_name, {"lines": 3})[0])
    messages = wait_for_logs(server.endpoint, fn_name, has_report(again))

    lines = invocation_lines(messages, rid)
    kept = limit // (100 + 26)  # each line: 99 bytes, its newline and the event's overhead
    assert lines[1:-3] == [str(n).rjust(99, "-") for n in range(kept)]
    notice = (
        f"Lamina: {(1000 - kept) * 100} bytes of output ({1000 - kept} lines) were not kept: "
        f"the log of one invocation is limited to {limit} bytes"
    )
    assert lines[-3:-1] == [notice, f"END RequestId: {rid}"]
    assert lines[-1].startswith(f"REPORT RequestId: {rid}")
    assert f"{notice}\nEND RequestId: {rid}\nREPORT RequestId: {rid}" in tail
    # The next invocation has a budget of its own.
    assert invocation_lines(messages, again)[1:4] == [str(n).rjust(99, "-") for n in range(3)]


def test_a_function_keeps_its_newest_lines_up_to_its_limit(
    make_server: Callable[..., LaminaProcess], tmp_path: Path, fn_name: str
) -> None:
    limit = int(0.2 * MB)
    server = make_server(tmp_path / "data", LAMINA_LOG_FUNCTION_MB="0.2")
    client = server.client()
    deploy(client, fn_name, PRINTS_LINES)
    rids = [request_id(invoke(client, fn_name, {"lines": 200})[0]) for _ in range(16)]  # some 400 KB of log
    wait_for_logs(server.endpoint, fn_name, has_report(rids[-1]))

    lines = stored_lines(server.endpoint, fn_name)
    assert size(lines) <= limit
    assert not any(rids[0] in line for line in lines)  # the oldest went first
    last = invocation_lines(lines, rids[-1])
    assert last[1:-2] == [str(n).rjust(99, "-") for n in range(200)]
    assert size(lines) > limit - CHUNK_BYTES  # no more went than had to (a chunk at most)

    # A lower limit applies to what is stored when Lamina starts again: one below what is stored
    # (more than the limit less a chunk) and above a chunk, so that the newest chunk stays.
    assert server.stop() == 0
    lower = int(0.1 * MB)
    assert CHUNK_BYTES < lower < limit - CHUNK_BYTES < size(lines)
    server = make_server(tmp_path / "data", LAMINA_LOG_FUNCTION_MB="0.1")
    lines = wait_for_lines(server.endpoint, fn_name, lambda lines: size(lines) <= lower)
    assert lower - CHUNK_BYTES < size(lines) <= lower
    assert lines[-1].startswith(f"REPORT RequestId: {rids[-1]}")


def test_lines_older_than_the_retention_are_removed(make_server: Callable[..., LaminaProcess], fn_name: str) -> None:
    server = make_server(LAMINA_LOG_RETENTION_DAYS=str(2 / 86400))  # two seconds
    client = server.client()
    deploy(client, fn_name, PRINTS_LINES)
    rid = request_id(invoke(client, fn_name, {"lines": 10})[0])
    assert has_report(rid)(wait_for_logs(server.endpoint, fn_name, has_report(rid)))
    assert wait_for_lines(server.endpoint, fn_name, lambda lines: not lines) == []
    # New lines are kept again (until they are two seconds old).
    rid = request_id(invoke(client, fn_name, {"lines": 1})[0])
    assert has_report(rid)(wait_for_logs(server.endpoint, fn_name, has_report(rid)))


def wait_for_lines(endpoint: str, name: str, done: Callable[[list[str]], bool], timeout: float = 30) -> list[str]:
    """The function's stored lines once ``done`` holds for them (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = stored_lines(endpoint, name)
        if done(lines) or time.monotonic() >= deadline:
            return lines
        time.sleep(0.2)
