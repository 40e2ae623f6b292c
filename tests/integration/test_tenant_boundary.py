"""The tenant boundary, attacked: a function trying to reach Lamina's API, the host and other Laminas.

Each environment has a network namespace of its own: 127.0.0.1 there is its own loopback, with
its Runtime API at 9001 and Lamina's API at Lamina's port (where it does what its role allows); nothing of the
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

from tests.conftest import LaminaProcess, deploy, lambda_client, make_zip
from tests.functions import invoke
from tests.netns import RemoteHost
from tests.roles import make_role

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
    """Lamina's API with the SDK the runtime carries and the function's own credentials (its role's
    session), and without: unsigned, and with the development key pair."""
    import boto3, botocore.exceptions
    from botocore.config import Config

    victim, my_arn = event["victim"], event["my_arn"]
    config = Config(retries={"max_attempts": 0})
    lam, bus = boto3.client("lambda", config=config), boto3.client("events", config=config)
    iot, scheduler = boto3.client("iot", config=config), boto3.client("scheduler", config=config)

    def attempt(call, **kwargs):
        try:
            answer = call(**kwargs)
        except botocore.exceptions.ClientError as exc:
            return {"error": exc.response["Error"]["Code"], "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
        answer.pop("ResponseMetadata", None)
        if "Payload" in answer:
            answer["Payload"] = json.loads(answer["Payload"].read())
        return {"ok": json.loads(json.dumps(answer, default=str))}

    development = boto3.client("lambda", aws_access_key_id="test", aws_secret_access_key="test",
                               aws_session_token=None, config=config)
    return {
        "list": attempt(lam.list_functions),
        "get_config": attempt(lam.get_function_configuration, FunctionName=victim),
        "get_function": attempt(lam.get_function, FunctionName=victim),
        "update_handler": attempt(lam.update_function_configuration, FunctionName=victim, Handler="app.leak"),
        "event_config": attempt(lam.put_function_event_invoke_config, FunctionName=victim,
                                DestinationConfig={"OnSuccess": {"Destination": my_arn}}),
        "delete": attempt(lam.delete_function, FunctionName=victim),
        "invoke": attempt(lam.invoke, FunctionName=victim, Payload=b'{"echo": "chained"}', LogType="Tail"),
        "put_events": attempt(bus.put_events, Entries=[{"Source": "from.me", "DetailType": "t", "Detail": "{}"}]),
        "put_rule": attempt(bus.put_rule, Name="hijack", EventPattern='{"source": ["x"]}'),
        "put_targets": attempt(bus.put_targets, Rule="hijack", Targets=[{"Id": "x", "Arn": my_arn}]),
        "iot_rule": attempt(iot.create_topic_rule, ruleName="invocations", topicRulePayload={
            "sql": "SELECT * FROM '#'", "actions": [{"lambda": {"functionArn": my_arn}}]}),
        "schedule": attempt(scheduler.create_schedule, Name="invocations", ScheduleExpression="rate(1 minute)",
                            FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": my_arn, "RoleArn": my_arn}),
        "development_key": attempt(development.invoke, FunctionName=victim, Payload=b'{"echo": "dev"}'),
        "unsigned": api(event["port"], "POST", "/2015-03-31/functions/%s/invocations" % victim, {"echo": "unsigned"}),
        "logs": api(event["port"], "GET", "/lamina/v1/functions/%s/logs" % victim),
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


DENIED = ("list", "get_config", "get_function", "update_handler", "event_config", "delete", "invoke", "put_events",
          "put_rule", "put_targets", "iot_rule", "schedule")  # fmt: skip


def test_from_inside_a_function_reaches_only_what_its_role_allows(
    lamina: LaminaProcess, functions: tuple[Any, str, str]
) -> None:
    """The attacker's role is the development mode's (AWSLambdaBasicExecutionRole: logs only)."""
    client, attacker, victim = functions
    before = client.get_function_configuration(FunctionName=victim)
    seen = attack(client, attacker, "control_api", port=port_of(lamina), victim=victim,
                  my_arn=before["FunctionArn"].replace(victim, attacker))  # fmt: skip
    for key in DENIED:
        assert seen[key].get("error") == "AccessDeniedException", (key, seen[key])
    # Not signed, or signed with the development pair (never accepted inside an environment): refused.
    assert seen["development_key"].get("status") == 403, seen["development_key"]
    assert seen["unsigned"]["status"] == 403 and seen["logs"]["status"] == 403, (seen["unsigned"], seen["logs"])
    after = client.get_function_configuration(FunctionName=victim)
    assert after["Handler"] == before["Handler"] and after["RevisionId"] == before["RevisionId"]
    assert "DestinationConfig" not in json.dumps(client.list_function_event_invoke_configs(FunctionName=victim))


def test_a_role_that_allows_it_reads_another_functions_variables_and_invokes_it(
    lamina: LaminaProcess, functions: tuple[Any, str, str], fn_name: str
) -> None:
    client, _, victim = functions
    victim_arn = client.get_function_configuration(FunctionName=victim)["FunctionArn"]
    role = make_role(lamina.endpoint, f"reader-{fn_name}"[:64], [
        {"Effect": "Allow", "Action": ["lambda:GetFunction", "lambda:InvokeFunction"], "Resource": victim_arn}])
    client.create_function(FunctionName=fn_name, Runtime="python3.11", Role=role, Handler="app.handler",
                           Code={"ZipFile": make_zip({"app.py": ATTACKER})}, Timeout=60, MemorySize=256)
    client.get_waiter("function_active_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    seen = attack(client, fn_name, "control_api", port=port_of(lamina), victim=victim,
                  my_arn=victim_arn.replace(victim, fn_name))  # fmt: skip
    variables = seen["get_function"]["ok"]["Configuration"]["Environment"]["Variables"]
    assert variables == {"SECRET_OF_boundary_victim": "s3cr3t"}, seen["get_function"]
    assert seen["invoke"]["ok"]["Payload"] == {"echo": "chained"}, seen["invoke"]
    for key in ("list", "update_handler", "event_config", "delete", "put_events", "put_rule"):
        assert seen[key].get("error") == "AccessDeniedException", (key, seen[key])


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
    assert seen["var"] == ["runtime", "task", "tmp"], seen["var"]  # /var/runtime: the runtime's files, as on AWS
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
