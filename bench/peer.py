"""The peer: serverless-offline running the same no-op handler, for ratios measured in the same run.

serverless@3 with serverless-offline@13 (14 needs serverless 4, which wants an account), installed
once with npm into a cache folder (``.cache/bench/serverless``) and reused while its versions fit.
``prepare`` never raises: without node or npm, or when the install fails, it returns the reason
and the suite runs without the peer and says so. The service runs from a temporary folder; its
Python handlers run in the suite's own virtualenv's interpreter (serverless-offline puts
``$VIRTUAL_ENV/bin`` first on PATH), not a version manager's shim. Telemetry and notifications
are off, so it talks to nothing but loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.handlers import NOOP
from bench.load import Endpoint
from bench.procs import Processes, ServerProcess
from bench.types import Progress

PACKAGES = {"serverless": "3", "serverless-offline": "13"}
SERVICE, STAGE, FUNCTION = "bench", "dev", "noop"
# The invoke endpoint wants the full service-stage-function name.
FUNCTION_NAME = f"{SERVICE}-{STAGE}-{FUNCTION}"
SERVERLESS_YML = f"""\
service: {SERVICE}
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  stage: {STAGE}
  region: us-east-1
functions:
  {FUNCTION}:
    handler: app.handler
plugins:
  - serverless-offline
"""
QUIET = {"SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off", "SLS_DEPRECATION_DISABLE": "*"}


@dataclass(frozen=True)
class PeerInstall:
    """An install ready to run, or why there is none (``cli`` is None then)."""

    cli: Path | None
    versions: str
    note: str


def _version(node_modules: Path, package: str) -> str | None:
    try:
        version = json.loads((node_modules / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return str(version)


def _installed(node_modules: Path) -> str | None:
    found = {name: _version(node_modules, name) for name in PACKAGES}
    if all(v is not None and v.split(".")[0] == major for (name, major), v in zip(PACKAGES.items(), found.values())):
        return ", ".join(f"{name} {v}" for name, v in found.items())
    return None


async def prepare(cache_dir: Path, progress: Progress) -> PeerInstall:
    """Install the peer into ``cache_dir`` unless a fitting install is there; never raises."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return PeerInstall(None, "", "peer skipped: node and npm are not both on PATH")
    node_modules = cache_dir / "node_modules"
    versions = _installed(node_modules)
    if versions is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        ignore = cache_dir.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# Created by the benchmark suite: nothing here belongs in git.\n*\n")
        (cache_dir / "package.json").write_text(json.dumps({"private": True, "description": "benchmark peer"}) + "\n")
        specs = [f"{name}@{major}" for name, major in PACKAGES.items()]
        progress(f"installing the peer with npm ({' '.join(specs)}) into {cache_dir}; once only")
        proc = await asyncio.create_subprocess_exec(
            npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *specs, cwd=cache_dir,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **QUIET},
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 900)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return PeerInstall(None, "", "peer skipped: npm install did not finish within 15 minutes")
        versions = _installed(node_modules)
        if proc.returncode != 0 or versions is None:
            tail = out.decode(errors="replace").strip().splitlines()[-5:]
            return PeerInstall(None, "", f"peer skipped: npm install failed ({proc.returncode}): {' | '.join(tail)}")
    cli = node_modules / "serverless" / "bin" / "serverless.js"
    return PeerInstall(cli, versions, f"serverless-offline peer: {versions}, node {await _node_version(node)}")


async def _node_version(node: str) -> str:
    proc = await asyncio.create_subprocess_exec(node, "--version", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return out.decode().strip()


def free_port() -> int:
    """A port free on loopback now (the peer cannot be told to pick one itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Peer:
    server: ServerProcess
    url: str

    def endpoint(self, body: bytes = b"{}") -> Endpoint:
        return Endpoint(self.url, f"/2015-03-31/functions/{FUNCTION_NAME}/invocations", body)


async def start_peer(processes: Processes, install: PeerInstall, service_dir: Path, *, source: str = NOOP,
                     options: Sequence[str] = ()) -> Peer:  # fmt: skip
    """Lay out the service in ``service_dir`` (``source`` as its ``app.py``) and start ``serverless offline``
    on free loopback ports, with ``options`` of its own (e.g. ``--reloadHandler``)."""
    assert install.cli is not None
    service_dir.mkdir(parents=True, exist_ok=True)
    (service_dir / "serverless.yml").write_text(SERVERLESS_YML)
    (service_dir / "app.py").write_text(source)
    link = service_dir / "node_modules"
    if not link.exists():
        link.symlink_to(install.cli.parent.parent.parent, target_is_directory=True)
    venv = Path(sys.executable).parent.parent  # the bin/ that holds this interpreter as python3
    env = {**os.environ, **QUIET, "VIRTUAL_ENV": str(venv)}
    node = shutil.which("node") or "node"
    argv = [node, str(install.cli), "offline", "start", "--host", "127.0.0.1",
            "--lambdaPort", str(free_port()), "--httpPort", str(free_port()),
            "--websocketPort", str(free_port()), "--albPort", str(free_port()), *options]  # fmt: skip
    server = ServerProcess("serverless-offline", argv, env=env, cwd=service_dir, log=service_dir / "offline.log",
                           ready=r"Offline \[http for lambda\] listening on (?P<url>http://\S+)")  # fmt: skip
    await processes.start(server, timeout=120)
    return Peer(server, server.url)
