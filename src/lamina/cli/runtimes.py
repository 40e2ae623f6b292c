"""``lamina runtimes``: every runtime Lambda has, as the server runs it (``GET /lamina/v1/runtimes``):
the interpreter's version and path, a warning where that version is not the one AWS runs for the
name, or what is missing and the command that installs it."""

from __future__ import annotations

from typing import Mapping, Sequence

from lamina.cli.client import LambdaClient
from lamina.cli.output import Console, format_table

HEADERS = ("RUNTIME", "STATUS", "VERSION", "RUNS ON")
AVAILABLE, MISMATCH, UNAVAILABLE = "available", "version differs", "not available"


def _text(report: Mapping[str, object], key: str) -> str:
    value = report.get(key)
    return value if isinstance(value, str) else ""


def status_of(report: Mapping[str, object]) -> str:
    if report.get("available") is not True:
        return UNAVAILABLE
    return MISMATCH if _text(report, "warning") else AVAILABLE


def runtime_rows(reports: Sequence[Mapping[str, object]]) -> list[list[str]]:
    rows = []
    for report in reports:
        available = report.get("available") is True
        runs_on = _text(report, "interpreter") or ("the package's bootstrap" if available else "-")
        rows.append([_text(report, "runtime"), status_of(report), _text(report, "version") or "-", runs_on])
    return rows


def notes(reports: Sequence[Mapping[str, object]]) -> list[str]:
    """What the table cannot say: each warning, and for each missing runtime what is missing and how
    to install it."""
    lines = []
    for report in reports:
        name = _text(report, "runtime")
        if report.get("available") is True:
            if _text(report, "warning"):
                lines.append(f"{name}: warning: {_text(report, 'warning')}")
            continue
        found = f"; {_text(report, 'found')}" if _text(report, "found") else ""
        lines.append(f"{name}: missing {_text(report, 'missing')}{found}")
        lines.append(f"    install: {_text(report, 'install')}")
    return lines


def show_runtimes(client: LambdaClient, console: Console) -> None:
    reports = client.runtimes()
    console.emit({"runtimes": reports})
    console.say(format_table(HEADERS, runtime_rows(reports)))
    extra = notes(reports)
    if extra:
        console.say()
        console.say("\n".join(extra))
