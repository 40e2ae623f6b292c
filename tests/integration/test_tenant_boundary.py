"""The tenant boundary, attacked: a function trying to reach Lamina's API, the host and other Laminas.

Each environment has a network namespace of its own: 127.0.0.1 there is its own loopback, with
its Runtime API at 9001 and Lamina's API (restricted to invoking) at Lamina's port; nothing of the
host's loopback, nor any other environment's, is reachable. Its root filesystem is built for it:
nothing of the host but the system's programs and libraries, a few files of /etc and its runtime.

Lamina runs as root here, so every protection applies.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, lambda_client
from tests.functions import invoke
from tests.netns import RemoteHost

ATTACKER = r'''
import json, os, socket, stat, urllib.error, urllib.request


def connect(port, host="127.0.0.1"):
    sock = socket.socket()
    sock.settimeout(3)
    try:
        sock.connect((host, port))
        return "connected"
    except OSError as exc:
        return type(exc).__name__
    finally:
        sock.close()


def api(port, method, path, body=None, headers=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return {"status": r.status, "body": r.read().decode(), "headers": dict(r.headers)}
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "body": exc.read().decode(), "headers": dict(exc.headers)}
    except OSError as exc:
        return {"status": None, "error": type(exc).__name__}


def control_api(event):
    port, victim, me = event["port"], event["victim"], event["me"]
    base = "/2015-03-31/functions/"
    return {
        "list": api(port, "GET", base),
        "get_config": api(port, "GET", base + victim + "/configuration"),
        "update_handler": api(port, "PUT", base + victim + "/configuration", {"Handler": "app.leak"}),
        "event_config": api(port, "PUT", base + victim + "/event-invoke-config",
                            {"DestinationConfig": {"OnSuccess": {"Destination": event["my_arn"]}}}),
        "delete": api(port, "DELETE", base + victim),
        "logs": api(port, "GET", "/lamina/v1/functions/%s/logs" % victim),
        "invoke": api(port, "POST", base + victim + "/invocations", {"echo": "chained"}),
        "invoke_tail": api(port, "POST", base + victim + "/invocations", {"echo": "tail"},
                           {"X-Amz-Log-Type": "Tail"}),
        "put_events": api(port, "POST", "/", {"Entries": [{"Source": "from." + me, "DetailType": "t",
                                                          "Detail": "{}"}]}, events_headers("PutEvents")),
        "put_rule": api(port, "POST", "/", {"Name": "hijack", "EventPattern": "{}"}, events_headers("PutRule")),
        # Paths that end as Invoke's do: a topic rule and a schedule named "invocations".
        "iot_rule": api(port, "POST", "/rules/invocations", {"sql": "SELECT * FROM '#'", "actions": [
            {"lambda": {"functionArn": event["my_arn"]}}]}),
        "schedule": api(port, "POST", "/schedules/invocations", {"ScheduleExpression": "rate(1 minute)",
                        "FlexibleTimeWindow": {"Mode": "OFF"}, "Target": {"Arn": event["my_arn"], "RoleArn": "r"}}),
        "put_targets": api(port, "POST", "/", {"Rule": "hijack", "Targets": [{"Id": "x", "Arn": event["my_arn"]}]},
                           events_headers("PutTargets")),
    }


def events_headers(operation):
    return {"X-Amz-Target": "AWSEvents." + operation, "Content-Type": "application/x-amz-json-1.1"}


def network(event):
    return {
        "host_server": connect(event["host_port"]),
        "other_lamina": connect(event["other_lamina_port"]),
        "own_runtime_api": connect(9001),
        "own_api": connect(event["port"]),
    }


def ports(event):
    held, failures = [], 0
    for port in event["ports"]:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen(1)
            held.append(sock)
        except OSError:
            failures += 1
            sock.close()
    bound = len(held)
    for sock in held:
        sock.close()
    return {"bound": bound, "failures": failures}


def filesystem(event):
    writable = []
    for root, dirs, files in os.walk("/", onerror=lambda exc: None):
        if root.startswith("/proc"):
            dirs[:] = []
            continue
        if os.access(root, os.W_OK):
            writable.append(root)
    with open("/etc/passwd") as f:
        passwd = f.read()
    return {
        "top": sorted(os.listdir("/")),
        "etc": sorted(os.listdir("/etc")),
        "var": sorted(os.listdir("/var")),
        "dev": sorted(os.listdir("/dev")),
        "writable": sorted(writable),
        "passwd": passwd,
        "uid": os.getuid(),
        "sys": os.path.exists("/sys/fs/cgroup"),
        "host_paths": {p: os.path.exists(p) for p in event["host_paths"]},
    }


def remote(event):
    sock = socket.socket()
    sock.settimeout(2)
    try:
        sock.connect((event["address"], event["port"]))
        return {"result": "connected", "said": sock.recv(200).decode()}
    except OSError as exc:
        return {"result": type(exc).__name__}
    finally:
        sock.close()


def handler(event, context):
    if "echo" in event:
        print("victim log line %s" % os.environ.get("SECRET_OF_" + context.function_name.replace("-", "_"), ""))
        return {"echo": event["echo"]}
    return globals()[event["attack"]](event)
'''


@pytest.fixture(scope="module")
def functions(lamina: LaminaProcess) -> Iterator[tuple[Any, str, str]]:
    client = lambda_client(lamina.endpoint)
    attacker, victim = "boundary-attacker", "boundary-victim"
    deploy(client, attacker, ATTACKER, Timeout=60, MemorySize=256)
    deploy(client, victim, ATTACKER, Timeout=10, Environment={"Variables": {"SECRET_OF_boundary_victim": "s3cr3t"}})
    yield client, attacker, victim
    for name in (attacker, victim):
        client.delete_function(FunctionName=name)


def attack(client: Any, name: str, kind: str, **event: Any) -> Any:
    response, body, log = invoke(client, name, {"attack": kind, **event})
    assert "FunctionError" not in response, (body, log)
    return body


def port_of(server: LaminaProcess) -> int:
    return int(server.endpoint.rsplit(":", 1)[1])


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on the host's loopback, as any local service (a database, another API) would be."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()
    for conn in accepted:
        conn.close()


def test_lamina_api_from_inside_only_invokes(lamina: LaminaProcess, functions: tuple[Any, str, str]) -> None:
    client, attacker, victim = functions
    before = client.get_function_configuration(FunctionName=victim)
    seen = attack(client, attacker, "control_api", port=port_of(lamina), victim=victim, me=attacker,
                  my_arn=before["FunctionArn"].replace(victim, attacker))  # fmt: skip
    for key in ("list", "get_config", "update_handler", "event_config", "delete", "logs", "put_rule", "put_targets",
                "iot_rule", "schedule"):
        assert seen[key]["status"] == 403, (key, seen[key])
        assert seen[key]["headers"].get("X-Amzn-ErrorType") == "AccessDeniedException", (key, seen[key])
    assert seen["invoke"]["status"] == 200 and json.loads(seen["invoke"]["body"]) == {"echo": "chained"}, seen
    # Chaining works; the other function's log tail does not come with it.
    assert seen["invoke_tail"]["status"] == 200, seen["invoke_tail"]
    assert "X-Amz-Log-Result" not in seen["invoke_tail"]["headers"], seen["invoke_tail"]
    # Putting events is allowed (it invokes no more than a function may invoke itself); rules are not.
    assert seen["put_events"]["status"] == 200, seen["put_events"]
    assert json.loads(seen["put_events"]["body"])["FailedEntryCount"] == 0, seen["put_events"]
    after = client.get_function_configuration(FunctionName=victim)
    assert after["Handler"] == before["Handler"] and after["RevisionId"] == before["RevisionId"]
    assert "DestinationConfig" not in json.dumps(client.list_function_event_invoke_configs(FunctionName=victim))


def test_the_host_and_other_laminas_are_out_of_reach(
    lamina: LaminaProcess, functions: tuple[Any, str, str], host_server: int, make_server: Callable[..., LaminaProcess]
) -> None:
    client, attacker, _ = functions
    other = make_server()  # another Lamina on the same host
    seen = attack(client, attacker, "network", port=port_of(lamina), host_port=host_server,
                  other_lamina_port=port_of(other))  # fmt: skip
    assert seen["host_server"] == "ConnectionRefusedError", seen  # nothing listens there in its namespace
    assert seen["other_lamina"] == "ConnectionRefusedError", seen
    assert seen["own_runtime_api"] == "connected" and seen["own_api"] == "connected", seen
    assert other.client().list_functions()["Functions"] == []  # the other Lamina saw nothing


def test_ports_a_function_binds_are_its_own(functions: tuple[Any, str, str]) -> None:
    client, attacker, _ = functions
    with socket.create_server(("127.0.0.1", 0)) as probe:
        taken_on_host = probe.getsockname()[1]
        wanted = [taken_on_host, *range(20000, 20900)]  # (1,024 open files at most, as on Lambda)
        seen = attack(client, attacker, "ports", ports=wanted)
    assert seen == {"bound": len(wanted), "failures": 0}, seen  # the host's port in use is free in there


def test_the_filesystem_is_built_not_inherited(functions: tuple[Any, str, str], tmp_path: Any) -> None:
    client, attacker, _ = functions
    host_paths = ["/home", "/root/.bashrc", "/var/log", "/run/lock", "/srv", "/etc/shadow", "/etc/ssh", str(tmp_path),
                  "/sys/fs/cgroup/memory", "/proc/1/root/etc/shadow"]  # fmt: skip
    seen = attack(client, attacker, "filesystem", host_paths=host_paths)
    assert not any(seen["host_paths"].values()), seen["host_paths"]
    assert not seen["sys"], "cgroups are not listable"
    assert set(seen["top"]) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "var", "tmp", "dev",
                                "proc", "opt", "root", "work", "home"} - {"home"}, seen["top"]  # fmt: skip
    assert seen["var"] == ["task", "tmp"], seen["var"]
    assert {"null", "zero", "random", "urandom"} <= set(seen["dev"]) and "sda" not in seen["dev"], seen["dev"]
    assert f"sbx_user1051:x:{seen['uid']}:" in seen["passwd"], seen["passwd"]
    assert "shadow" not in seen["etc"] and "ssh" not in seen["etc"], seen["etc"]
    # Its own /tmp is the only place it can write (seen also at /var/tmp and /dev/shm).
    assert seen["writable"] == ["/dev/shm", "/tmp", "/var/tmp"], seen["writable"]


@pytest.mark.skipif(shutil.which("nft") is None, reason="no nft (scripts/install/nftables.sh installs it)")
def test_outbound_networking_is_on_by_default_and_off_per_function(client: Any, fn_name: str) -> None:
    deploy(client, fn_name, ATTACKER, Timeout=10)
    try:
        with RemoteHost() as elsewhere:
            target = {"address": elsewhere.address, "port": elsewhere.port}
            reached = attack(client, fn_name, "remote", **target)
            # The remote host saw the host's address: the environment's traffic left through NAT.
            assert reached == {"result": "connected", "said": elsewhere.host_address + "\n"}, reached
            client.update_function_configuration(FunctionName=fn_name,
                                                 Environment={"Variables": {"LAMINA_OUTBOUND": "off"}})  # fmt: skip
            client.get_waiter("function_updated_v2").wait(FunctionName=fn_name)
            cut_off = attack(client, fn_name, "remote", **target)
            assert cut_off["result"] in ("OSError", "TimeoutError"), cut_off  # no route: loopback only
        with pytest.raises(ClientError) as refused:
            client.update_function_configuration(FunctionName=fn_name,
                                                 Environment={"Variables": {"LAMINA_OUTBOUND": "maybe"}})  # fmt: skip
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    finally:
        client.delete_function(FunctionName=fn_name)
