"""The command line's exit codes and its one exception tree.

::

    CliError                 1  something the user asked for did not happen
    ├── UsageError           2  the command line itself is wrong (bad --payload, missing folder)
    ├── UnreachableError     2  no connection to Lamina at all
    ├── NoAnswerError        1  connected, but no usable answer (timeout, dropped, not JSON)
    ├── LambdaApiError       1  Lamina answered with an AWS-shaped error (X-Amzn-ErrorType)
    └── DeployError          1  the function ended Failed, or never became ready in time

Every error carries the whole sentence ``main`` prints after ``lamina:``, written to say what
to do next; no command prints a traceback for any of these.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2  # argparse's own code for a bad command line
    INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C (128 + SIGINT)


class CliError(Exception):
    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    exit_code = ExitCode.USAGE


class UnreachableError(CliError):
    exit_code = ExitCode.USAGE

    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(
            f"cannot reach Lamina at {endpoint} ({reason}). "
            "Start it with `lamina server`, or set --endpoint / LAMINA_ENDPOINT."
        )
        self.endpoint = endpoint
        self.reason = reason


class NoAnswerError(CliError):
    pass


# What to do next, for the error codes a user meets most.
_HINTS = {
    "ResourceNotFoundException": "See the deployed functions with `lamina ls`.",
    "TooManyRequestsException": "Lamina is at its concurrency limit; try again shortly.",
}


class LambdaApiError(CliError):
    """An error answer from the Lambda API: HTTP status, error code and the server's message."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        text = f"{code}: {detail}" if detail else code
        hint = _HINTS.get(code)
        if hint:
            text = f"{text} {hint}" if text.endswith((".", "!", "?")) else f"{text}. {hint}"
        super().__init__(text)
        self.status = status
        self.code = code
        self.detail = detail


class DeployError(CliError):
    pass
