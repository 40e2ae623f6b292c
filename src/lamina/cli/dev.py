"""``lamina dev``: deploy a folder, then redeploy it on every save, and run it if asked.

The folder is deployed as ``lamina deploy`` deploys it; then watchfiles (a well-kept watcher, in
Rust) reports changes under it, a burst of saves at once (``debounce``), and each burst becomes
one UpdateFunctionCode: the package made again, sent, and the function waited for until its new
code is live (new environments run it; warm ones of the old code are retired by the server). With
``payload``, the function is invoked after each deploy and its answer and log tail printed: an error
as the runtime reported it, its stack frames with file and line. A failed deploy or invocation is
reported and the watch goes on; Ctrl-C ends it.

Files that are not code are not watched: version control folders, editors' swap and backup files,
Python's bytecode caches.

With ``debug`` (``--debug``), the server debugs the function while the watch goes on
(``lamina/debug``): a debugger attaches at 127.0.0.1:PORT (debugpy for Python, Node's inspector for
Node.js); each reload starts environments of the new code, to attach to again. Ctrl-C ends the
debug session with the watch.
"""

from __future__ import annotations

import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterable

from lamina.cli.client import LambdaClient
from lamina.cli.deploy import deploy, wait_until_ready
from lamina.cli.errors import CliError
from lamina.cli.invoke import invoke
from lamina.cli.output import Console, format_size
from lamina.cli.package import load_package
from lamina.cli.progress import QUIET, Progress
from lamina.cli.shapes import FunctionSpec

DEBOUNCE_MS = 50  # saves this close together are one change (an editor writes a file in steps)
READY_POLL_SECONDS = 0.02  # how often a reload asks whether the new code is live
_IGNORED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".mypy_cache", ".pytest_cache", ".idea", ".vscode"}
_IGNORED_SUFFIXES = (".swp", ".swx", ".tmp", "~", ".pyc")


@dataclass(frozen=True)
class DebugRequest:
    """``--debug[=wait]`` and ``--debug-port``."""

    wait: bool
    port: int | None


def watched(path: str) -> bool:
    """Whether a change to ``path`` is a change to the function's code."""
    parts = Path(path).parts
    return not any(part in _IGNORED_DIRS for part in parts) and not path.endswith(_IGNORED_SUFFIXES) \
        and not Path(path).name.startswith(".#")  # fmt: skip


def develop(
    client: LambdaClient, console: Console, spec: FunctionSpec, directory: Path, *, payload: bytes | None,
    invoke_prefix: str = "lamina", changes: Callable[[Path], Iterable[Iterable[tuple[object, str]]]] | None = None,
    progress: Progress = QUIET,
    debug: DebugRequest | None = None,
) -> None:  # fmt: skip
    """Deploy ``directory``, then redeploy it on each change ``changes`` reports (watchfiles by
    default: its first batch, empty, says it is watching), invoking with ``payload`` after each
    deploy when given; with ``debug``, debugged meanwhile. Returns when ``changes`` ends."""
    batches = iter((changes or _watch)(directory))
    next(batches, None)  # watching from now on: a save during the first deploy is not missed
    deploy(client, console, spec, directory, invoke_prefix=invoke_prefix, progress=progress)
    if debug is None:
        _loop(client, console, spec, directory, batches, payload)
        return
    session = client.start_debugging(spec.name, wait=debug.wait, port=debug.port)
    language = "debugpy" if session.get("Language") == "python" else "Node.js inspector"
    waits = "; each new environment waits for it before it imports the handler" if debug.wait else ""
    console.say(f"Debugging {spec.name}: attach a debugger ({language}) to 127.0.0.1:{session.get('Port')}{waits}")
    try:
        _loop(client, console, spec, directory, batches, payload)
    finally:
        try:
            client.stop_debugging(spec.name)
        except CliError as exc:
            console.warn(f"Could not end the debug session: {exc}")


def _loop(client: LambdaClient, console: Console, spec: FunctionSpec, directory: Path,
          batches: Iterable[Iterable[tuple[object, str]]], payload: bytes | None) -> None:  # fmt: skip
    if payload is not None:
        _run(client, console, spec.name, payload)
    console.say(f"Watching {directory} for changes (Ctrl-C to stop)...")
    for batch in batches:
        paths = sorted({str(path) for _, path in batch if watched(str(path))})
        if not paths:
            continue
        started = time.monotonic()
        try:
            package = load_package(directory)
            client.update_function_code(spec.name, package.data)
            wait_until_ready(client, spec.name, interval=READY_POLL_SECONDS)
        except CliError as exc:
            console.warn(f"Not deployed: {exc}")
            continue
        took_ms = (time.monotonic() - started) * 1000
        changed = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} files"
        console.say(f"Reloaded {spec.name} in {took_ms:.0f} ms ({changed} changed, {format_size(len(package.data))})")
        if payload is not None:
            _run(client, console, spec.name, payload)


def _run(client: LambdaClient, console: Console, name: str, payload: bytes) -> None:
    try:
        invoke(client, console, name, payload, tail_logs=True)
    except CliError as exc:
        console.warn(f"Invoke failed: {exc}")


def _watch(directory: Path) -> Iterable[Iterable[tuple[object, str]]]:
    import watchfiles  # imported only by `lamina dev`

    # yield_on_timeout: an empty batch first (and every rust_timeout while nothing changes)
    return watchfiles.watch(directory, debounce=DEBOUNCE_MS, step=10, rust_timeout=500, yield_on_timeout=True,
                            raise_interrupt=False)  # fmt: skip
