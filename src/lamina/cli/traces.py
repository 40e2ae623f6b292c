"""A function's error and its log tail as a person reads them, whatever runtime reported them.

Each runtime reports a failure in the same envelope (``errorType``, ``errorMessage``,
``stackTrace``) but fills it in its own way:

- Python: each frame a string of two lines (``File "...", line N, in f`` and the source line);
- Node.js: the frames under ``trace``, the first of them ``Type: message`` again;
- Ruby, Java: each frame one string (``at f (file:N:C)``, ``file:N:in `f'``, ``Cls.m(File.java:N)``);
- Go (aws-lambda-go): each frame an object ``{"path", "line", "label"}``;
- .NET: frames as strings, and the inner exceptions nested as ``cause`` (``causes`` for an
  AggregateException), each an envelope of its own.

Log records hold a multi-line text (a traceback) as one line with ``\\r`` between its lines, as
Lambda's runtimes write them; a terminal would draw those lines over each other, so they are
turned into line breaks. Everything here is pure: text in, text out.
"""

from __future__ import annotations

from typing import Mapping

INDENT = "  "
MAX_CAUSE_DEPTH = 16  # a hostile body's nesting is cut here rather than followed


def readable_lines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` as ``\\n``, and the no-break spaces Python's runtime indents
    frames with (so CloudWatch keeps the indentation) as spaces: text printable on a terminal."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")


def render_frame(frame: object) -> list[str]:
    """One stack frame as lines: a string as it came (split on its line breaks), Go's object as
    ``label (path:line)``, anything else as compact text."""
    if isinstance(frame, Mapping):
        label, path, line = frame.get("label"), frame.get("path"), frame.get("line")
        if path is not None or label is not None:
            where = f"{path}:{line}" if line is not None else str(path)
            return [f"{label} ({where})" if label else where]
        return [", ".join(f"{key}={value}" for key, value in frame.items())]
    return [part.rstrip() for part in readable_lines(str(frame)).rstrip("\n").split("\n")]


def render_error(error: Mapping[str, object], fallback_type: str, depth: int = 0) -> list[str]:
    """An error envelope as lines: ``Type: message``, its frames indented, then its causes'."""
    error_type = str(error.get("errorType") or fallback_type)
    message = readable_lines(str(error.get("errorMessage") or "")).rstrip("\n")
    head, *rest = f"{error_type}: {message}".rstrip(": ").split("\n")
    lines = [head, *(INDENT + line for line in rest)]
    trace = error.get("stackTrace", error.get("trace"))
    if isinstance(trace, list) and trace:
        if trace[0] == f"{error_type}: {message}":  # Node.js's: the error's own line, said above
            trace = trace[1:]
        for frame in trace:
            lines.extend(INDENT + line for line in render_frame(frame))
    elif isinstance(trace, str) and trace:
        lines.extend(INDENT + line for line in readable_lines(trace).rstrip("\n").split("\n"))
    causes: list[object] = []
    if isinstance(error.get("cause"), Mapping):
        causes.append(error["cause"])
    if isinstance(error.get("causes"), list):
        causes.extend(error["causes"])  # type: ignore[arg-type]  # checked just above
    for cause in causes:
        if not isinstance(cause, Mapping):
            continue
        if depth + 1 >= MAX_CAUSE_DEPTH:
            lines.append("Caused by: ... (more causes not shown)")
            break
        nested = render_error(cause, "Exception", depth + 1)
        lines.append(f"Caused by: {nested[0]}")
        lines.extend(nested[1:])
    return lines
