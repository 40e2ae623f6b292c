"""``lamina invoke``: send a JSON payload to a function and show what it returned.

A function error (``X-Amz-Function-Error``, still HTTP 200) is shown on stderr as
``errorType: errorMessage`` with the stack trace, and the command exits 1. With ``--json`` the
one JSON document says it all (``FunctionError``, ``LogResult``, ``Payload``) and stderr stays quiet.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import BinaryIO

from lamina.cli.client import LambdaClient
from lamina.cli.errors import CliError, ExitCode, LambdaApiError, UsageError
from lamina.cli.output import Console, json_or_text, pretty_body
from lamina.cli.shapes import InvokeResult
from lamina.cli.traces import readable_lines, render_error

DEFAULT_PAYLOAD = "{}"


def load_payload(argument: str | None, *, stdin: BinaryIO | None = None) -> bytes:
    """The bytes to send for ``--payload``: inline JSON, ``@file``, or ``@-`` for stdin.

    Raises UsageError unless the bytes are UTF-8 JSON, so nothing malformed reaches the function.
    """
    text = DEFAULT_PAYLOAD if argument is None else argument
    source = "--payload"
    if text.startswith("@"):
        source = text[1:]
        try:
            data = (stdin or sys.stdin.buffer).read() if source == "-" else Path(source).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read payload file {source}: {exc.strerror or exc}.") from None
    else:
        data = text.encode()
    try:
        json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{source} is not UTF-8 text; a payload must be JSON.") from None
    except ValueError as exc:
        raise UsageError(
            f"{source} is not valid JSON ({exc}). Pass a JSON document, "
            """e.g. --payload '{"name": "world"}', or a file with --payload @event.json."""
        ) from None
    return data


def format_function_error(name: str, kind: str, body: bytes) -> str:
    """A function's error body as a person reads it: ``errorType: errorMessage``, its stack frames
    and its inner exceptions, whatever the runtime (``lamina.cli.traces``)."""
    parsed = json_or_text(body)
    if not isinstance(parsed, dict):
        return f"{name} failed ({kind}): {readable_lines(pretty_body(body))}"
    head, *rest = render_error(parsed, kind)
    return "\n".join([f"{name} failed: {head}", *rest])


def invoke(
    client: LambdaClient,
    console: Console,
    name: str,
    payload: bytes,
    *,
    qualifier: str | None = None,
    asynchronous: bool = False,
    tail_logs: bool = False,
) -> ExitCode:
    try:
        result = client.invoke(name, payload, qualifier=qualifier, asynchronous=asynchronous, tail_logs=tail_logs)
    except LambdaApiError as exc:
        if exc.code == "RequestTooLargeException":
            raise CliError(f"{exc.message} Send a smaller payload (6 MB synchronous, 1 MB with --async).") from None
        raise
    # With --json, stdout's document carries the log tail and the error: nothing is said twice on stderr.
    console.emit(_as_json(result))
    if result.log_tail is not None and not console.json_mode:
        console.warn(readable_lines(result.log_tail))
    if result.function_error is not None:
        if not console.json_mode:
            console.warn(format_function_error(name, result.function_error, result.payload))
        return ExitCode.FAILURE
    if asynchronous:
        request = f" (request {result.request_id})" if result.request_id else ""
        console.say(f"Queued an event for {name}{request}.")
    elif result.payload:
        console.say(pretty_body(result.payload))
    return ExitCode.OK


def _as_json(result: InvokeResult) -> dict[str, object]:
    document: dict[str, object] = {"StatusCode": result.status}
    if result.executed_version is not None:
        document["ExecutedVersion"] = result.executed_version
    if result.function_error is not None:
        document["FunctionError"] = result.function_error
    if result.log_tail is not None:
        document["LogResult"] = result.log_tail
    if result.request_id is not None:
        document["RequestId"] = result.request_id
    document["Payload"] = json_or_text(result.payload)
    return document
