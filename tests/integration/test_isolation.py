"""Isolation, attacked: functions that try to reach other environments, Lamina's state or the host.

Each test deploys real code that performs an attack from inside its execution environment and
checks that the attack fails the way Lamina says it does: every environment is PID 1 of its own
PID namespace, with its own mount and IPC namespaces, Lamina's data directory and root's home
hidden, its code read-only, a private /tmp of EphemeralStorage's size, its own unprivileged uid,
its own network namespace (its Runtime API inside it), and cgroups for memory, processes and CPU
weight. tests/integration/test_tenant_boundary.py attacks the network, Lamina's API and the
filesystem view.

Function A is the attacker; function B is the victim, holding a secret in an environment
variable, in a file in its /tmp and in its code. A learns B's paths and endpoint from the test,
as if it had guessed them. Lamina runs as root here, so every protection applies.

Host-side checks find an environment's processes by its PID namespace (the handler reports
``/proc/self/ns/pid``, whose inode is the same seen from the host) and its uid.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import shutil
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from lamina.runtime import sdk
from lamina.settings import Settings
from tests.conftest import LaminaProcess, deploy, lambda_client, server_env
from tests.environments import namespace_processes
from tests.functions import invoke, wait_for_logs

MB = 1024 * 1024
SECRET = f"lamina-secret-{uuid.uuid4().hex}"
EPHEMERAL_MB = 512
ATTACKER_MEMORY_MB = 2048  # above /tmp's size: tmpfs pages count against the memory cgroup
MAX_PIDS = 1024

# -- code -------------------------------------------------------------------------------------

# The victim: its secret is in its environment (B_SECRET), its code (secret.txt, and here) and,
# once set up, a file in its /tmp.
VICTIM = f"""
import os

SECRET_IN_CODE = "{SECRET}"
TMP_FILE = "/tmp/victim-secret.txt"


def handler(event, context):
    if event.get("action") == "setup":
        with open(TMP_FILE, "w") as f:
            f.write(os.environ["B_SECRET"])
    return {{
        "stream": context.log_stream_name,
        "uid": os.getuid(),
        "pidns": os.readlink("/proc/self/ns/pid"),
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
        "tmp_file": TMP_FILE,
        "echo": event.get("echo"),
    }}
"""

# The attacker: one handler, one attack per event["attack"]; each reports what it saw and how
# each attempt failed ({"type": exception name, "errno": ...}), or what it got ({"ok": ...}).
ATTACKER = r'''
import errno, os, socket, sys, time

INIT_TMP = sorted(os.listdir("/tmp"))  # what /tmp held when this environment started


def attempt(fn, *args):
    try:
        return {"ok": fn(*args)}
    except Exception as exc:
        return {"type": type(exc).__name__, "errno": getattr(exc, "errno", None)}


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("latin-1")


def write(path):
    with open(path, "w") as f:
        f.write("pwned")
    return path


def walk(top, prune=()):
    """Every path under ``top`` that this environment can see (not descending into ``prune``)."""
    seen, errors = [], []
    for root, dirs, files in os.walk(top, onerror=lambda exc: errors.append([exc.filename, type(exc).__name__])):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in prune]
        seen += [os.path.join(root, name) for name in dirs + files]
    return {"paths": sorted(seen), "errors": errors}


def attack_proc(event, context):
    """Read every visible process's environment; look for B's and the server's processes."""
    child = os.fork()
    if child == 0:
        try:
            time.sleep(60)
        finally:
            os._exit(0)
    try:
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        environ = {str(p): attempt(read, "/proc/%d/environ" % p) for p in pids}
        others = {
            str(p): {"listed": p in pids, "exists": os.path.exists("/proc/%d" % p),
                     "environ": attempt(read, "/proc/%d/environ" % p)}
            for p in event["host_pids"]
        }
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
    return {"pid": os.getpid(), "child": child, "pids": pids, "environ": environ, "others": others}


def attack_tmp(event, context):
    """Look for B's /tmp file; leave a marker in this environment's /tmp."""
    marker = event["marker"]
    before = os.path.exists(marker)
    with open(marker, "w") as f:
        f.write("a")
    return {
        "stream": context.log_stream_name,
        "init_tmp": INIT_TMP,
        "victim_exists": os.path.exists(event["victim_file"]),
        "victim_read": attempt(read, event["victim_file"]),
        "marker_before": before,
    }


def attack_code(event, context):
    """Read B's code at its path; list Lamina's data directory."""
    victim = event["victim_root"]
    return {
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "own_code": "ok" in attempt(read, os.path.join(os.environ["LAMBDA_TASK_ROOT"], "app.py")),
        "victim_exists": os.path.exists(victim),
        "victim_list": attempt(os.listdir, victim),
        "victim_secret": attempt(read, os.path.join(victim, "secret.txt")),
        "victim_app": attempt(read, os.path.join(victim, "app.py")),
        "data_dir": walk(event["data_dir"]),
        "data_db": attempt(read, os.path.join(event["data_dir"], "lamina.db")),
        "data_write": attempt(write, os.path.join(event["data_dir"], "planted.txt")),
    }


def attack_privileges(event, context):
    """Change its own code; become root."""
    root = os.environ["LAMBDA_TASK_ROOT"]
    result = {
        "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "write_new": attempt(write, os.path.join(root, "planted.py")),
        "overwrite": attempt(write, os.path.join(root, "app.py")),
        "chmod": attempt(os.chmod, os.path.join(root, "app.py"), 0o777),
        "mkdir": attempt(os.mkdir, os.path.join(root, "planted")),
        "setuid": attempt(os.setuid, 0),
        "setgid": attempt(os.setgid, 0),
        "setresuid": attempt(os.setresuid, 0, 0, 0),
    }
    result["uid_after"] = os.getuid()
    return result


def attack_host_secrets(event, context):
    """Read root's home and /etc/shadow."""
    return {
        "interpreter": sys.base_prefix,
        "root": walk("/root", prune=(sys.base_prefix,)),
        "shadow": attempt(read, "/etc/shadow"),
    }


def attack_control_api(event, context):
    """Ask Lamina's own API (on loopback, like every Runtime API) for B's configuration and code."""
    import io, json, urllib.error, urllib.request, zipfile

    def get(url):
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, b""
        except OSError as exc:
            return type(exc).__name__, b""

    base = "http://127.0.0.1:%d/2015-03-31/functions/" % event["port"]
    result = {"victim_env_keys": None, "victim_code_files": None}
    result["list_status"], listed = get(base)
    if result["list_status"] == 200:
        result["listed"] = sorted(f["FunctionName"] for f in json.loads(listed)["Functions"])
    result["config_status"], config = get(base + event["victim"] + "/configuration")
    if result["config_status"] == 200:
        result["victim_env_keys"] = sorted((json.loads(config).get("Environment") or {}).get("Variables", {}))
    result["function_status"], function = get(base + event["victim"])
    if result["function_status"] == 200:
        result["code_status"], package = get(json.loads(function)["Code"]["Location"])
        if result["code_status"] == 200:
            result["victim_code_files"] = sorted(zipfile.ZipFile(io.BytesIO(package)).namelist())
    return result


def attack_namespaces(event, context):
    """Signal the server and B's processes by their host pids."""
    return {
        "pid": os.getpid(),
        "server": attempt(os.kill, event["server_pid"], 0),
        "victims": [attempt(os.kill, pid, 0) for pid in event["host_pids"]],
    }


def attack_cgroups(event, context):
    """Move itself into the cgroup of Lamina's own process (its CPU weight), or out of its own."""
    result = {}
    for name, path in (("server", event["server_cgroup"]), ("root", event["root_cgroup"])):
        result[name] = attempt(write_text, path, str(os.getpid()))
    return result


def write_text(path, text):
    with open(path, "w") as f:
        f.write(text)


def attack_fill_tmp(event, context):
    """Write to /tmp in 16 MB chunks until it refuses; then give the space back."""
    st = os.statvfs("/tmp")
    chunk = b"\x01" * (16 * 1024 * 1024)
    path = "/tmp/fill"
    written, failure = 0, None
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < event["limit_mb"] * 1024 * 1024:
            view = memoryview(chunk)
            try:
                while view:
                    n = os.write(fd, view)
                    written += n
                    view = view[n:]
            except OSError as exc:
                failure = {"type": type(exc).__name__, "errno": exc.errno}
                break
    finally:
        os.close(fd)
        os.unlink(path)
    return {"size": st.f_blocks * st.f_frsize, "written": written, "failure": failure}


def whoami(event, context):
    return {"stream": context.log_stream_name, "uid": os.getuid(), "pidns": os.readlink("/proc/self/ns/pid")}


def handler(event, context):
    return globals()[event.get("attack", "whoami")](event, context)
'''

FORK_BOMB = """
import os


def handler(event, context):
    if event.get("action") != "bomb":
        return {"stream": context.log_stream_name, "uid": os.getuid(), "pidns": os.readlink("/proc/self/ns/pid")}
    children, failure = 0, None
    while children < 5000:
        try:
            pid = os.fork()
        except OSError as exc:
            failure = exc.errno
            break
        if pid == 0:
            try:
                os.execv("/bin/sleep", ["sleep", "600"])
            finally:
                os._exit(0)
        children += 1
    return {"made": children, "errno": failure}
"""

HOG = """
def handler(event, context):
    if event.get("mb"):
        data = b"\\x01" * (event["mb"] * 1024 * 1024)  # written, so every page is touched
        return len(data)
    return "ok"
"""

# -- helpers ----------------------------------------------------------------------------------


def invoke_ok(client: Any, name: str, payload: Any) -> Any:
    response, body, log = invoke(client, name, payload)
    assert "FunctionError" not in response, (body, log)
    return body


def http_get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.read()


def retire_environments(client: Any, name: str) -> None:
    """A configuration update: Lamina retires the function's environments."""
    client.update_function_configuration(FunctionName=name, Description=f"retire {uuid.uuid4().hex}",
                                         Environment={"Variables": {"GENERATION": uuid.uuid4().hex}})  # fmt: skip
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def wait_no_processes(pidns: str, uid: int, timeout: float = 10) -> list[int]:
    """The namespace's processes left after up to ``timeout`` seconds (empty once all are gone)."""
    deadline = time.monotonic() + timeout
    while (left := namespace_processes(pidns, uid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def failed(result: dict[str, Any], *errnos: int) -> bool:
    """An attempt inside the function failed with an OSError of one of ``errnos``."""
    return "ok" not in result and result.get("errno") in errnos


def code_dir(server: LaminaProcess, name: str) -> Path:
    """Where Lamina keeps ``name``'s unzipped code on the host (by the package's SHA-256)."""
    sha = lambda_client(server.endpoint).get_function_configuration(FunctionName=name)["CodeSha256"]
    return server.data_dir.resolve() / "code" / "unzipped" / base64.b64decode(sha).hex()


def ancestors(path: str) -> set[str]:
    return {str(p) for p in Path(path).parents}


# -- fixtures ---------------------------------------------------------------------------------


@dataclass
class Pair:
    """An attacker A and a victim B deployed on one server; ``victim`` is what B said at setup."""

    server: LaminaProcess
    client: Any
    a: str
    b: str
    victim: dict[str, Any]

    def attack(self, kind: str, **event: Any) -> dict[str, Any]:
        response, body, log = invoke(self.client, self.a, {"attack": kind, **event})
        assert "FunctionError" not in response, (body, log)
        assert SECRET not in json.dumps(body) and SECRET not in log, body
        return dict(body)


def deploy_pair(server: LaminaProcess) -> Pair:
    client = lambda_client(server.endpoint)
    tag = uuid.uuid4().hex[:10]
    a, b = f"isolation-attacker-{tag}", f"isolation-victim-{tag}"
    deploy(client, b, {"app.py": VICTIM, "secret.txt": SECRET}, Timeout=10,
           Environment={"Variables": {"B_SECRET": SECRET}})  # fmt: skip
    deploy(client, a, ATTACKER, Timeout=30, MemorySize=ATTACKER_MEMORY_MB, EphemeralStorage={"Size": EPHEMERAL_MB})
    victim = invoke_ok(client, b, {"action": "setup"})
    return Pair(server, client, a, b, victim)


def remove_pair(pair: Pair) -> None:
    for name in (pair.a, pair.b):
        pair.client.delete_function(FunctionName=name)


@pytest.fixture(scope="module")
def pair(lamina: LaminaProcess) -> Iterator[Pair]:
    """A and B on the session's server (whose data directory is under the host's /tmp)."""
    deployed = deploy_pair(lamina)
    yield deployed
    remove_pair(deployed)


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[LaminaProcess]:
    """A server whose data directory is outside /tmp, as a default ``.lamina`` would be."""
    base = Path(tempfile.mkdtemp(prefix="lamina-isolation-", dir="/var/tmp"))
    base.chmod(0o755)  # as /var/lib would be: environments' uids must traverse it to their code
    server = LaminaProcess(base / "data", server_env()).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def elsewhere_pair(elsewhere: LaminaProcess) -> Iterator[Pair]:
    deployed = deploy_pair(elsewhere)
    yield deployed
    remove_pair(deployed)


@pytest.fixture(params=["data-dir-in-tmp", "data-dir-elsewhere"])
def any_pair(request: pytest.FixtureRequest) -> Pair:
    """Each of the two pairs: Lamina's data directory under /tmp (as in the tests) and elsewhere."""
    pair: Pair = request.getfixturevalue("pair" if request.param == "data-dir-in-tmp" else "elsewhere_pair")
    return pair


# -- 1. other environments' processes ---------------------------------------------------------


def test_cannot_see_other_processes_or_their_environment(pair: Pair) -> None:
    victim_pids = namespace_processes(pair.victim["pidns"], pair.victim["uid"])
    assert victim_pids, "the victim's processes should be visible from the host"
    server_pid = pair.server.proc.pid if pair.server.proc else 0
    seen = pair.attack("attack_proc", host_pids=[*victim_pids, server_pid, os.getpid()])

    assert seen["pid"] == 1
    assert seen["pids"] == sorted([1, seen["child"]]), seen["pids"]  # itself and its own child, nothing else
    # (Whatever it could read of its own processes holds no secret of B's: ``attack`` checks that.)
    for pid, other in seen["others"].items():
        assert not other["listed"] and not other["exists"], (pid, other)
        assert failed(other["environ"], errno.ENOENT), (pid, other)


# -- 2. other environments' /tmp; /tmp per environment ----------------------------------------


def test_tmp_is_private_and_per_environment(any_pair: Pair) -> None:
    pair = any_pair
    marker = f"/tmp/attacker-{uuid.uuid4().hex}"
    event = {"victim_file": pair.victim["tmp_file"], "marker": marker}

    first = pair.attack("attack_tmp", **event)
    assert not first["victim_exists"], first
    assert failed(first["victim_read"], errno.ENOENT), first
    assert not first["marker_before"], first
    again = pair.attack("attack_tmp", **event)  # the same (warm) environment keeps its /tmp
    assert again["stream"] == first["stream"] and again["marker_before"], again

    retire_environments(pair.client, pair.a)
    fresh = pair.attack("attack_tmp", **event)
    assert fresh["stream"] != first["stream"], fresh
    assert not fresh["marker_before"], fresh  # a new environment starts with a new /tmp
    assert not fresh["victim_exists"], fresh
    # Empty at start: nothing of the host's /tmp, of Lamina's data or of an earlier environment.
    assert first["init_tmp"] == [] and fresh["init_tmp"] == [], (first["init_tmp"], fresh["init_tmp"])


# -- 3. other functions' code; Lamina's data directory ----------------------------------------


def test_cannot_read_other_code_or_lamina_data(any_pair: Pair) -> None:
    pair = any_pair
    data_dir = str(pair.server.data_dir.resolve())
    # B sees its code at /var/task, as every function does; on the host it is stored by digest.
    assert pair.victim["task_root"] == "/var/task"
    victim_root = str(code_dir(pair.server, pair.b))
    assert Path(victim_root).is_relative_to(data_dir) and (Path(victim_root) / "secret.txt").is_file()
    seen = pair.attack("attack_code", victim_root=victim_root, data_dir=data_dir)

    own = seen["task_root"]
    assert own == "/var/task" and seen["own_code"], seen
    assert not seen["victim_exists"], seen
    for key in ("victim_list", "victim_secret", "victim_app"):
        assert failed(seen[key], errno.ENOENT, errno.EACCES), (key, seen[key])
    # Of Lamina's data directory, only the way to its own code shows: no database, no zips, no
    # other function's code, no other environment's files.
    visible = set(seen["data_dir"]["paths"])
    outside_own_code = {p for p in visible if not Path(p).is_relative_to(own)}
    assert outside_own_code <= ancestors(own), sorted(outside_own_code - ancestors(own))
    assert not any(Path(victim_root).name in p for p in visible), sorted(visible)
    assert failed(seen["data_db"], errno.ENOENT), seen["data_db"]
    assert failed(seen["data_write"], errno.EROFS, errno.EACCES, errno.ENOENT), seen["data_write"]
    assert not (Path(data_dir) / "planted.txt").exists()


# -- 4. its own code; root --------------------------------------------------------------------


def test_code_is_read_only_and_the_uid_is_unprivileged(pair: Pair) -> None:
    seen = pair.attack("attack_privileges")
    for key in ("write_new", "overwrite", "chmod", "mkdir"):
        assert failed(seen[key], errno.EROFS, errno.EACCES, errno.EPERM), (key, seen[key])
    assert seen["uid"] != 0 and seen["euid"] != 0 and seen["gid"] != 0 and seen["groups"] == [], seen
    assert seen["uid"] != pair.victim["uid"], seen
    for key in ("setuid", "setgid", "setresuid"):
        assert seen[key].get("type") == "PermissionError", (key, seen[key])
    assert seen["uid_after"] == seen["uid"]
    own_code = code_dir(pair.server, pair.a)
    assert not (own_code / "planted.py").exists() and not (own_code / "planted").exists()


# -- 5. root's home, /etc/shadow --------------------------------------------------------------


def test_cannot_read_roots_home_or_shadow(pair: Pair) -> None:
    seen = pair.attack("attack_host_secrets")
    assert failed(seen["shadow"], errno.ENOENT), seen["shadow"]  # not in the environment's /etc at all
    # Root's home is hidden; only the interpreter the function runs on is brought back into it
    # (read-only), with the directories leading to it. The AWS SDK trees its runtimes carry
    # (runtime/sdk, under ~/.cache/lamina/sdk by default) are seen in /var/runtime, as on AWS, not here.
    interpreter = seen["interpreter"]
    allowed = {p for p in ancestors(interpreter) | {interpreter} if p.startswith("/root/")}
    trees = [str(tree) for tree in sdk.Sdks(Settings.from_env().sdk_dir.resolve()).kept()]
    visible = set(seen["root"]["paths"])
    assert not any(p == tree or p.startswith(tree + "/") for p in visible for tree in trees), trees
    assert visible <= allowed, sorted(visible - allowed)
    hidden_on_host = [p for p in Path("/root").iterdir() if str(p) not in allowed]
    assert not any(str(p) in visible for p in hidden_on_host)


# -- 6. Lamina's API ---------------------------------------------------------------------------


def test_cannot_read_another_function_through_lambdas_api(pair: Pair) -> None:
    """Lamina's API, as A reaches it inside its own network namespace, answers no unsigned request."""
    port = int(pair.server.endpoint.rsplit(":", 1)[1])
    seen = pair.attack("attack_control_api", port=port, victim=pair.b)
    assert seen["victim_env_keys"] is None, seen  # B's environment variables (B_SECRET among them)
    assert seen["victim_code_files"] is None, seen  # B's deployment package
    assert pair.b not in seen.get("listed", []), seen


# -- 7. EphemeralStorage ----------------------------------------------------------------------


def test_tmp_is_limited_to_ephemeral_storage(pair: Pair) -> None:
    seen = pair.attack("attack_fill_tmp", limit_mb=EPHEMERAL_MB + 256)
    assert seen["size"] == EPHEMERAL_MB * MB, seen
    assert seen["failure"] == {"type": "OSError", "errno": errno.ENOSPC}, seen
    assert EPHEMERAL_MB * MB - 16 * MB <= seen["written"] <= EPHEMERAL_MB * MB, seen
    assert pair.attack("attack_fill_tmp", limit_mb=16)["failure"] is None  # the space came back


# -- 8. fork bomb -----------------------------------------------------------------------------


def test_fork_bomb_is_contained(lamina: LaminaProcess, client: Any, pair: Pair, fn_name: str) -> None:
    deploy(client, fn_name, FORK_BOMB, Timeout=60, MemorySize=2048)
    me = invoke_ok(client, fn_name, {})
    try:
        response, body, log = invoke(client, fn_name, {"action": "bomb"})
        if "FunctionError" not in response:  # it may also have died trying: either way it ended
            assert 0 < body["made"] < MAX_PIDS and body["errno"] == errno.EAGAIN, body
        bombed = namespace_processes(me["pidns"], me["uid"])
        assert 0 < len(bombed) <= MAX_PIDS, len(bombed)

        status, _ = http_get(f"{lamina.endpoint}/lamina/v1/health")
        assert status == 200
        assert invoke_ok(client, pair.b, {"echo": "fine"})["echo"] == "fine"
        messages = wait_for_logs(lamina.endpoint, fn_name, lambda m: any("limit of 1024 processes" in x for x in m))
        assert any("limit of 1024 processes" in m for m in messages), messages[-20:]
    finally:
        retire_environments(client, fn_name)
        left = wait_no_processes(me["pidns"], me["uid"])
        client.delete_function(FunctionName=fn_name)
    assert left == [], f"{len(left)} processes of the bomb's environment are still alive"


# -- 9. PID namespace -------------------------------------------------------------------------


def test_pid_namespace_hides_the_server_and_other_environments(pair: Pair) -> None:
    assert pair.server.proc is not None
    victim_pids = namespace_processes(pair.victim["pidns"], pair.victim["uid"])
    assert victim_pids
    seen = pair.attack("attack_namespaces", server_pid=pair.server.proc.pid, host_pids=victim_pids)
    assert seen["pid"] == 1
    assert seen["server"] == {"type": "ProcessLookupError", "errno": errno.ESRCH}, seen
    assert all(v == {"type": "ProcessLookupError", "errno": errno.ESRCH} for v in seen["victims"]), seen
    assert invoke_ok(pair.client, pair.b, {"echo": "alive"})["echo"] == "alive"


# -- 10. the start-up log ---------------------------------------------------------------------


def test_start_up_log_names_the_protections(make_server: Callable[..., LaminaProcess]) -> None:
    server = make_server()
    assert http_get(f"{server.endpoint}/lamina/v1/health")[0] == 200  # (serving: its signal handlers are set)
    assert server.stop() == 0
    text = "".join(server.output)
    assert "isolation: each environment has its own PID, mount, IPC and network namespaces" in text, text
    assert "cgroups v1" in text or "cgroups v2" in text, text
    assert "isolation: NONE" not in text and "cgroups: no writable" not in text, text


# -- 11. memory -------------------------------------------------------------------------------


def test_memory_limit_applies_in_the_sandbox(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, HOG, MemorySize=128, Timeout=30)
    try:
        response, body, log = invoke(client, fn_name, {"mb": 300})
        assert response.get("FunctionError") == "Unhandled", (body, log)
        assert body["errorType"] == "Runtime.OutOfMemory", body
        assert invoke_ok(client, fn_name, {}) == "ok"
    finally:
        client.delete_function(FunctionName=fn_name)


# -- 12. cgroups, seen from the host ----------------------------------------------------------


def cgroup_dirs(pid: int) -> dict[str, Path]:
    """The cgroup directory of ``pid`` for memory, pids and cpu (v1 hierarchies, else v2)."""
    dirs: dict[str, Path] = {}
    unified = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hid, controllers, rel = line.split(":", 2)
        if hid == "0" and controllers == "":
            for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
                if (mount / "cgroup.controllers").exists():
                    unified = mount / rel.lstrip("/")
                    break
        for controller in controllers.split(","):
            if controller in ("memory", "pids", "cpu"):
                mount = Path("/sys/fs/cgroup") / controllers
                dirs[controller] = (mount if mount.exists() else Path("/sys/fs/cgroup") / controller) / rel.lstrip("/")
    for controller in ("memory", "pids", "cpu"):
        if unified is not None:
            dirs.setdefault(controller, unified)
    return dirs


def test_cgroups_limit_memory_processes_and_weight_cpu(pair: Pair) -> None:
    me = pair.attack("whoami")
    pids = namespace_processes(me["pidns"], me["uid"])
    assert pids
    dirs = cgroup_dirs(pids[0])
    assert set(dirs) == {"memory", "pids", "cpu"}, dirs
    v2 = (dirs["cpu"] / "cpu.weight").exists()
    if v2:
        assert (dirs["memory"] / "memory.max").read_text().strip() == str(ATTACKER_MEMORY_MB * MB)
        assert (dirs["cpu"] / "cpu.weight").read_text().strip() == str(ATTACKER_MEMORY_MB * 100 // 1024)
    else:
        assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == str(ATTACKER_MEMORY_MB * MB)
        assert (dirs["cpu"] / "cpu.shares").read_text().strip() == str(ATTACKER_MEMORY_MB)
    assert (dirs["pids"] / "pids.max").read_text().strip() == str(MAX_PIDS)


def test_the_server_shares_the_cpu_with_its_environments_as_their_sibling(pair: Pair) -> None:
    """Lamina's own process sits in ``<its cgroup>/server`` of the cpu hierarchy, beside the cgroups
    of its environments (a function cannot join it), and leaves it when it stops."""
    assert pair.server.proc is not None
    server_cpu = cgroup_dirs(pair.server.proc.pid)["cpu"]
    me = pair.attack("whoami")
    env_cpu = cgroup_dirs(namespace_processes(me["pidns"], me["uid"])[0])["cpu"]
    assert server_cpu.name == "server" and server_cpu.parent == env_cpu.parent, (server_cpu, env_cpu)
    assert server_cpu.parent.name == f"lamina-{pair.server.proc.pid}"
    seen = pair.attack("attack_cgroups", server_cgroup=str(server_cpu / "cgroup.procs"),
                       root_cgroup=str(server_cpu.parent.parent / "cgroup.procs"))  # fmt: skip
    assert all("ok" not in outcome for outcome in seen.values()), seen  # each refused
    assert cgroup_dirs(namespace_processes(me["pidns"], me["uid"])[0])["cpu"] == env_cpu


def test_a_stopped_server_leaves_no_cgroup(make_server: Callable[..., LaminaProcess]) -> None:
    server = make_server()
    assert server.proc is not None
    base = cgroup_dirs(server.proc.pid)["cpu"].parent
    assert base.name == f"lamina-{server.proc.pid}" and base.is_dir()
    assert server.stop() == 0
    assert not base.exists()
