"""Lamina as the system under test: a server of its own per scenario, and the API calls the suite makes.

Every server runs ``python -m lamina server --port 0`` from the suite's interpreter, with a data
directory in a temporary directory and only the ``LAMINA_*`` variables the scenario asks for.
Functions are created through the Lambda REST API (the JSON body boto3 sends) and waited for
until Active, so a scenario's first invoke is the function's first.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import sys
import time
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.load import Endpoint, HttpConnection, LoadError, Response
from bench.procs import Processes, ServerProcess

ROOT = Path(__file__).resolve().parent.parent
ROLE = "arn:aws:iam::000000000000:role/lamina-bench"
RUNTIME = "python3.11"
FUNCTIONS = "/2015-03-31/functions"
HEALTH = "/lamina/v1/health"


def invoke_path(name: str) -> str:
    return f"{FUNCTIONS}/{name}/invocations"


def succeeded(answers: list[Response]) -> tuple[list[Response], list[Response]]:
    """Invoke answers split into those that ran the function successfully and the others."""
    good: list[Response] = []
    bad: list[Response] = []
    for answer in answers:
        (good if answer.status == 200 and "x-amz-function-error" not in answer.headers else bad).append(answer)
    return good, bad


def error_message(response: Response) -> str:
    """What a failed invoke says: the function error's or the API error's message, else the body."""
    try:
        doc = json.loads(response.body)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for key in ("errorMessage", "message", "Message"):
            if isinstance(doc.get(key), str):
                return f"{response.status} {doc.get('errorType') or doc.get('Type') or ''}: {doc[key]}".strip()
    return f"{response.status}: {response.body[:200].decode(errors='replace')}"


def make_zip(files: Mapping[str, str | bytes], executable: Collection[str] = ()) -> bytes:
    """A deployment package: ``files`` by name, mode 0755 for those in ``executable``, else 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            zf.writestr(info, content)
    return buf.getvalue()


@dataclass
class Lamina:
    """A running Lamina server and a keep-alive connection for control calls."""

    server: ServerProcess
    url: str
    control: HttpConnection

    @property
    def pid(self) -> int:
        return self.server.pid

    def endpoint(self, function: str, body: bytes = b"{}") -> Endpoint:
        return Endpoint(self.url, invoke_path(function), body)

    async def call(self, method: str, path: str, doc: object | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:  # fmt: skip
        body = b"" if doc is None else json.dumps(doc).encode()
        return await self.control.request(method, path, body, headers)

    async def create_function(self, name: str, source: str, *, memory_mb: int = 128, timeout_s: int = 60) -> None:
        """Create ``name`` from ``source`` (as ``app.py``) and wait until it is Active."""
        created = await self.create(name, RUNTIME, "app.handler", make_zip({"app.py": source}),
                                    memory_mb=memory_mb, timeout_s=timeout_s)  # fmt: skip
        if created.status != 201:
            raise LoadError(f"CreateFunction {name}: {created.status} {created.body[:300]!r}")
        await self.wait_active(name)

    async def create(self, name: str, runtime: str, handler: str, package: bytes, *, memory_mb: int = 128,
                     timeout_s: int = 60) -> Response:  # fmt: skip
        """CreateFunction with ``package`` (a .zip) as its code; the answer as it came (not waited for)."""
        doc = {"FunctionName": name, "Runtime": runtime, "Role": ROLE, "Handler": handler,
               "Code": {"ZipFile": base64.b64encode(package).decode()}, "MemorySize": memory_mb,
               "Timeout": timeout_s}  # fmt: skip
        return await self.call("POST", FUNCTIONS, doc)

    async def wait_active(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            got = await self.call("GET", f"{FUNCTIONS}/{name}/configuration")
            state = json.loads(got.body).get("State") if got.status == 200 else None
            if state == "Active":
                return
            if state == "Failed" or time.monotonic() > deadline:
                raise LoadError(f"function {name} did not become Active: {got.status} {got.body[:300]!r}")
            await asyncio.sleep(0.005)  # a state poll, as boto3's function_active_v2 waiter does

    async def health(self) -> dict[str, object]:
        got = await self.call("GET", HEALTH)
        if got.status != 200:
            raise LoadError(f"health: {got.status} {got.body[:200]!r}")
        doc: dict[str, object] = json.loads(got.body)
        return doc


def server_env(extra: Mapping[str, str], src: Path | None = None) -> dict[str, str]:
    """The suite's environment without its ``LAMINA_*`` variables, plus ``extra``; with ``src`` first on
    ``PYTHONPATH`` when given, so that ``import lamina`` finds that checkout's before the installed one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMINA_")}
    env.update(extra)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(src), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


async def start_lamina(processes: Processes, data_dir: Path, name: str = "lamina", *, src: Path | None = None,
                       **settings: str) -> Lamina:  # fmt: skip
    """A Lamina server with ``LAMINA_*`` ``settings`` (e.g. ``LAMINA_ACCOUNT_CONCURRENCY="64"``), running the
    Lamina the suite imports, or the one under ``src`` (a baseline checkout's) when given."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(
        name, [sys.executable, "-m", "lamina", "server", "--port", "0", "--data-dir", str(data_dir)],
        ready=r"^Lamina listening on (?P<url>http://\S+)", env=server_env(settings, src), cwd=ROOT,
        log=data_dir.parent / f"{name}.log",
    )  # fmt: skip
    await processes.start(server)
    return Lamina(server, server.url, HttpConnection(server.url))
