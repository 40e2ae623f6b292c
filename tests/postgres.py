"""A real PostgreSQL server for the tests: a cluster made by initdb in a temporary directory,
listening on a free loopback port (its unix socket inside that directory too), run as the
``postgres`` user when the tests run as root (PostgreSQL refuses to run as root), stopped at the
end by its PID. scripts/install/postgresql.sh installs Debian's package; LAMINA_POSTGRES_BIN names
another bin folder.

``postgres_server`` (session) is one server with ``wal_level = logical``; ``postgres_db`` gives
each test a database of its own on it. ``Postgres(settings=...)`` starts others (another
wal_level, say). The superuser is ``postgres`` with password ``PASSWORD`` over TCP.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import brokers

PASSWORD = "s3cret-pw"
SUPERUSER = "postgres"

LOGICAL = {
    "wal_level": "logical",
    "max_replication_slots": "64",
    "max_wal_senders": "16",
    # A test cluster: nothing in it must survive a crash of the machine.
    "fsync": "off",
    "full_page_writes": "off",
}


def postgres_bin() -> Path | None:
    configured = os.environ.get("LAMINA_POSTGRES_BIN")
    if configured:
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: _version(p.parent.parent.name))
    if found:
        return found[-1].parent
    which = shutil.which("postgres")
    return Path(which).parent if which else None


def _version(name: str) -> tuple[int, ...]:
    """A version folder's name (``15``, ``9.6``) as numbers; anything else first."""
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return ()


def _run_as() -> str | None:
    """The user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
    return SUPERUSER if os.geteuid() == 0 else None


class Postgres:
    """One cluster. ``start`` waits until it accepts connections; ``stop`` ends it by its PID
    (SIGINT: PostgreSQL's fast shutdown); ``url(database)`` connects as the superuser."""

    def __init__(self, bin_dir: Path, settings: Mapping[str, str] = LOGICAL) -> None:
        self.bin_dir = bin_dir
        self.settings = dict(settings)
        self.port = brokers.free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        # Not under pytest's tmp_path: its folders are private to root, and the server runs as postgres.
        self.directory = Path(tempfile.mkdtemp(prefix="lamina-postgres-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        user = _run_as()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        password_file = self.directory / "password"
        password_file.write_text(PASSWORD + "\n")
        if user is not None:
            os.chown(password_file, pwd.getpwnam(user).pw_uid, -1)
        done = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={password_file}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, user=user, cwd=self.directory,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60) -> Postgres:
        options = {
            **self.settings,
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.directory),
        }
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data)]
        for key, value in options.items():
            args += ["-c", f"{key}={value}"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, user=_run_as(), cwd=self.directory)
        brokers.wait_until(self.proc, self._ready, timeout, f"postgres (log: {self.log})")
        return self

    def _ready(self) -> bool:
        done = subprocess.run([str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                              capture_output=True)  # fmt: skip
        return done.returncode == 0

    def psql(self, statement: str, database: str = "postgres") -> str:
        """Runs ``statement`` (one or more, in one transaction unless they say otherwise) through
        psql over the unix socket; its unaligned output."""
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", str(self.directory), "-p", str(self.port), "-U", SUPERUSER,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", statement],
            capture_output=True, text=True, user=_run_as(),
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    def create_database(self, name: str | None = None) -> str:
        """A new database (named ``name`` or at random); its name."""
        name = name or f"db_{uuid.uuid4().hex[:12]}"
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def stop(self, timeout: float = 30) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres(settings: Mapping[str, str] = LOGICAL) -> Postgres:
    bin_dir = postgres_bin()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        pytest.skip("PostgreSQL is not installed (scripts/install/postgresql.sh)")
    server = Postgres(bin_dir, settings)
    try:
        return server.start()
    except BaseException:
        server.remove()
        raise


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture
def postgres_db(postgres_server: Postgres) -> str:
    """The name of a database of this test's own on the session's server."""
    return postgres_server.create_database()


def sql(url: str, *statements: str) -> None:
    """Each statement in a transaction of its own."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def scalar(url: str, query: str) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query.encode()).fetchone()
        return row[0] if row else None
