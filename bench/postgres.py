"""A PostgreSQL server for the table_changes scenario: a cluster made by initdb in a temporary
folder of its own (not the run's scratch folder, private to the user running it, when the server
runs as another), with ``wal_level = logical``, on a loopback port of its own, started and stopped by
``Processes`` like the servers (run as the ``postgres`` user when the run is root's: PostgreSQL
refuses to run as root). Its durability settings are PostgreSQL's defaults (fsync on), as a user's
database has them. scripts/install/postgresql.sh installs Debian's package; LAMINA_POSTGRES_BIN
names another bin folder.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Processes, ServerProcess

MISSING = "PostgreSQL is not installed (scripts/install/postgresql.sh)"
PASSWORD = "bench-pw"
SUPERUSER = "postgres"
SETTINGS = {"wal_level": "logical", "max_replication_slots": "16", "max_wal_senders": "16"}


def bin_dir() -> Path | None:
    configured = os.environ.get("LAMINA_POSTGRES_BIN")
    if configured:
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)  # fmt: skip
    if found:
        return found[-1].parent
    which = shutil.which("postgres")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run_as() -> str | None:
    return SUPERUSER if os.geteuid() == 0 else None


@dataclass(frozen=True)
class Cluster:
    server: ServerProcess
    port: int
    directory: Path  # removed by ``remove`` once the server has stopped

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"


    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


async def start(processes: Processes) -> Cluster:
    """initdb into a new temporary folder, then the server, ready to accept connections."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError(MISSING)
    user = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="lamina-bench-postgres-"))
    try:
        return await _start(processes, binaries, user, directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


async def _start(processes: Processes, binaries: Path, user: str | None, directory: Path) -> Cluster:
    password_file = directory / "password"
    password_file.write_text(PASSWORD + "\n")
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (directory, password_file):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    data = directory / "data"
    initdb = await asyncio.create_subprocess_exec(
        str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, user=user, cwd=directory,
    )  # fmt: skip
    output, _ = await initdb.communicate()
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb exited with {initdb.returncode}:\n{output.decode(errors='replace')}")
    port = _free_port()
    options = {**SETTINGS, "port": str(port), "listen_addresses": "127.0.0.1",
               "unix_socket_directories": str(directory)}  # fmt: skip
    argv = [str(binaries / "postgres"), "-D", str(data)]
    for key, value in options.items():
        argv += ["-c", f"{key}={value}"]
    if user is not None:
        argv = ["runuser", "-u", user, "--", *argv]
    server = ServerProcess("postgres", argv, ready=r"database system is (?P<url>ready) to accept connections",
                           env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, log=directory / "postgres.log",
                           cwd=directory)  # fmt: skip
    await processes.start(server)
    return Cluster(server, port, directory)
