"""Shared fixtures: a real Lamina server in a subprocess on an ephemeral port, and real clients."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests import parallel

ROOT = Path(__file__).resolve().parent.parent


def build_cache(kind: str) -> Path:
    """Where the tests keep what they build for many runs (Java jars, Go binaries and modules, .NET
    assemblies, Node.js's runtime client), each under a key of what it is built from: outside the
    checkout, in ``~/.cache/lamina/test-builds/<kind>`` (``LAMINA_TEST_BUILD_CACHE`` overrides the
    first part), so that every clone on the machine (CI's fresh one too) builds them once. Builds
    are put in place by one rename, so that several runs or workers may share it."""
    root = os.environ.get("LAMINA_TEST_BUILD_CACHE") or Path.home() / ".cache" / "lamina" / "test-builds"
    return Path(root) / kind
ROLE = "arn:aws:iam::000000000000:role/lamina-test"


def make_zip(files: Mapping[str, str | bytes], modes: Mapping[str, int] | None = None) -> bytes:
    """A deployment package holding ``files`` (name -> content), with optional unix modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


# -- running on pytest-xdist's workers (tests/parallel.py) ----------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    parallel.record_units(config, items)


@pytest.hookimpl(optionalhook=True)  # these two with pytest-xdist only
def pytest_configure_node(node: Any) -> None:
    parallel.configure_node(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` (scripts/test's): each module, and each group of modules that share a
    broker, on one worker."""
    return parallel.make_scheduler(config, log) if config.getvalue("dist") == "loadgroup" else None


def pytest_unconfigure(config: pytest.Config) -> None:
    parallel.forget_units(config)


# -- Lamina's server ------------------------------------------------------------------------------


@dataclass
class LaminaProcess:
    """A running ``lamina server``; ``stop`` sends SIGTERM and waits, ``kill`` is kill -9.

    What it prints is read into ``output`` as it comes, by a thread of its own: a server whose
    output nobody read would stop, its event loop blocked on a full pipe, once it had printed a
    pipe's worth (64 KB; a broker that is down can have that logged in a second)."""

    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[str] | None = None
    endpoint: str = ""
    output: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def start(self, timeout: float = 30) -> LaminaProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lamina", "server", "--port", "0", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env, cwd=ROOT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("Lamina listening on "):
                self.endpoint = line.split()[-1]
                self._reader = threading.Thread(target=self._read, name="lamina-output", daemon=True)
                self._reader.start()
                return self
        self.stop()
        raise RuntimeError("Lamina did not start:\n" + "".join(self.output))

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    def _collect(self) -> None:
        """The rest of the output, once the process has ended."""
        if self.proc is not None and self.proc.stdout is not None:
            if self._reader is not None:
                self._reader.join()
                self._reader = None
            else:
                self.output.extend(self.proc.stdout.readlines())
            self.proc.stdout.close()

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._collect()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._collect()

    def client(self) -> Any:
        return lambda_client(self.endpoint)


def lambda_client(endpoint: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 0}, read_timeout=120, **config),
    )


# Settings a server is started with as the tests were: where a runtime is installed (the tests
# look for it there too).
KEPT_SETTINGS = ("LAMINA_JAVA_RIC_DIR",)


def server_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMINA_") or k in KEPT_SETTINGS}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def lamina(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    """One server for the session's tests that do not restart or reconfigure it."""
    server = LaminaProcess(tmp_path_factory.mktemp("lamina-data"), server_env()).start()
    yield server
    server.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    """A factory of servers of the test's own (data dir and environment), stopped after the test."""
    started: list[LaminaProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> LaminaProcess:
        server = LaminaProcess(data_dir or tmp_path / "data", server_env(**env)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        if server.proc is not None and server.proc.poll() is None:
            server.stop()


@pytest.fixture(scope="session")
def client(lamina: LaminaProcess) -> Any:
    return lamina.client()


_counter = iter(range(1_000_000))


@pytest.fixture
def fn_name(request: pytest.FixtureRequest) -> str:
    """A function name unique to the test, so tests can share a server."""
    base = request.node.name.replace("[", "-").replace("]", "").replace(".", "-")[:50]
    return f"{base}-{next(_counter)}"


def deploy(client: Any, name: str, code: str | Mapping[str, str | bytes], *, handler: str = "app.handler",
           runtime: str = "python3.11", role: str = ROLE, **kwargs: Any) -> dict[str, Any]:  # fmt: skip
    """Create a function from source (``app.py``) or a file mapping, and wait until it is Active."""
    files = {"app.py": code} if isinstance(code, str) else code
    config = client.create_function(
        FunctionName=name, Runtime=runtime, Role=role, Handler=handler,
        Code={"ZipFile": make_zip(files, modes={"bootstrap": 0o755})}, **kwargs,
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return dict(config)
