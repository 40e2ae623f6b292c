"""Execution environments placed on a Ray cluster's nodes (LAMINA_RAY_ADDRESS, placement/): a real
cluster of three nodes on this machine (bench/ray_cluster.py) and real servers, driven by boto3.

Python and Node.js functions run on the nodes, spread across them under concurrency (the health
answer names the nodes and what each holds); their logs, REPORT lines and usage are the same as
local ones'; a function on a node calls Lamina's API through boto3 with its role's credentials,
and cannot reach the node's worker. The worker's listener refuses connections that do not
authenticate. A node killed under load (its process group, SIGKILL): synchronous invocations in
flight there fail with Runtime.ExitError, the others succeed on the remaining nodes, and every
accepted Event invocation is delivered. Then two API replicas on one PostgreSQL serve one set of
functions from the same nodes while another node is killed, and then one replica is killed with
events it accepted running on the nodes: nothing accepted is lost.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LaminaProcess, deploy, make_zip, server_env
from tests.functions import wait_until
from tests.integration.test_async import FAST, RECORDER, lines, send
from tests.integration.test_logs_api import logs_client
from tests.integration.test_nodejs import HOST as NODE_HOST, RUNTIME as NODE_RUNTIME
from tests.integration.test_usage import wait_for_requests
from tests import postgres
from bench.ray_cluster import RayCluster, RayNode

NODES = 3
# PostgreSQL's fixtures (tests/postgres.py), for the replicas' test.
postgres_server, postgres_db = postgres.postgres_server, postgres.postgres_db

SLOW = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"done": event.get("n")}
"""

LATE = """
import json, time
def handler(event, context):
    time.sleep(event["sleep"])
    print("DELIVERED", context.aws_request_id, json.dumps(event))
"""

CALLER = """
import boto3
from botocore.exceptions import ClientError
def handler(event, context):
    who = boto3.client("sts").get_caller_identity()["Arn"]
    try:
        boto3.client("lambda").list_functions()
        listed = "allowed"
    except ClientError as exc:
        listed = exc.response["Error"]["Code"]
    return {"who": who, "listed": listed}
"""

PROBE = """
import socket
def handler(event, context):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((event["host"], event["port"]))
        return "reached"
    except OSError as exc:
        return "refused: " + type(exc).__name__
"""


def health(server: LaminaProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/lamina/v1/health", timeout=10) as r:
        return dict(json.loads(r.read()))


def nodes_of(server: LaminaProcess) -> list[dict[str, Any]]:
    return list(health(server).get("rayNodes", []))


def start_server(data: Path, cluster: RayCluster, **env: str) -> LaminaProcess:
    server = LaminaProcess(data, server_env(LAMINA_RAY_ADDRESS=cluster.address, RAY_USAGE_STATS_ENABLED="0",
                                            **FAST, **env)).start(timeout=120)  # fmt: skip
    wait_until(lambda: len(nodes_of(server)) >= len(cluster.alive), timeout=90)
    return server


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    ray = RayCluster().start(NODES)
    yield ray
    ray.stop()


@pytest.fixture(scope="module")
def server(cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    lamina = start_server(tmp_path_factory.mktemp("ray-server"), cluster)
    yield lamina
    lamina.stop()


def invoke(client: Any, name: str, payload: object, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    return {"status": response["StatusCode"], "error": response.get("FunctionError"),
            "body": json.loads(response["Payload"].read()), "log": response.get("LogResult")}  # fmt: skip


def test_python_on_a_node_with_its_logs_and_usage(server: LaminaProcess) -> None:
    client = server.client()
    deploy(client, "ray-echo", RECORDER)
    answer = invoke(client, "ray-echo", {"n": 1}, LogType="Tail")
    assert answer["status"] == 200 and answer["error"] is None and answer["body"] == {"ok": True, "echo": {"n": 1}}
    tail = base64.b64decode(answer["log"]).decode()
    assert "DELIVERED" in tail and "REPORT RequestId:" in tail and "Init Duration" in tail
    # The worker's records reached the server's recorder: CloudWatch Logs and the ledger have them.
    logs = logs_client(server.endpoint)
    events = wait_until(lambda: [e["message"] for e in logs.filter_log_events(logGroupName="/aws/lambda/ray-echo")["events"]
                                 if e["message"].startswith("REPORT")])  # fmt: skip
    assert "Billed Duration" in events[0]
    usage = wait_for_requests(server.endpoint, 1)
    assert usage["total"]["requests"] >= 1
    assert sum(n["environments"] for n in nodes_of(server)) >= 1


def test_environments_spread_across_the_nodes(server: LaminaProcess) -> None:
    client = server.client()
    deploy(client, "ray-spread", SLOW)
    threads = [threading.Thread(target=invoke, args=(client, "ray-spread", {"sleep": 1.5})) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [n["environments"] for n in nodes_of(server)]
    assert len(held) == NODES and all(count >= 2 for count in held), held  # most memory left first: even


def test_code_and_layers_are_shipped_to_the_node(server: LaminaProcess, cluster: RayCluster) -> None:
    client = server.client()
    layer = client.publish_layer_version(LayerName="ray-shared", Content={"ZipFile": make_zip({
        "python/shared_words.py": "WORD = 'from a layer'\n"})})  # fmt: skip
    config = deploy(client, "ray-layered", "import shared_words\ndef handler(e, c):\n    return shared_words.WORD\n",
                    Layers=[layer["LayerVersionArn"]])  # fmt: skip
    assert invoke(client, "ray-layered", {})["body"] == "from a layer"
    # The node has the packages under its own data directory, by their SHA-256: shipped, not shared.
    for sha in (config["CodeSha256"], layer["Content"]["CodeSha256"]):
        digest = base64.b64decode(sha).hex()
        assert list(cluster.directory.glob(f"node*/lamina/ray-worker-*/code/zips/{digest}.zip")), digest


@pytest.mark.skipif(NODE_HOST is None, reason="no node on this host: run scripts/install/nodejs.sh")
def test_nodejs_on_a_node(server: LaminaProcess) -> None:
    client = server.client()
    code = "exports.handler = async (event) => ({ js: event.n * 2, pid: process.pid });"
    deploy(client, "ray-js", {"index.js": code}, handler="index.handler", runtime=NODE_RUNTIME)
    answer = invoke(client, "ray-js", {"n": 21})
    assert answer["error"] is None and answer["body"] == {"js": 42, "pid": 1}, answer


def test_a_function_on_a_node_calls_lamina_with_its_role(server: LaminaProcess) -> None:
    client = server.client()
    deploy(client, "ray-caller", CALLER)
    answer = invoke(client, "ray-caller", {})
    assert answer["error"] is None, answer
    # Its role's credentials, authorized by IAM: AWSLambdaBasicExecutionRole does not list functions.
    assert answer["body"]["listed"] == "AccessDeniedException"
    assert answer["body"]["who"].startswith("arn:aws:sts::000000000000:assumed-role/lamina-test/ray-caller")


def test_a_function_cannot_reach_the_worker(server: LaminaProcess) -> None:
    client = server.client()
    deploy(client, "ray-probe", PROBE)
    for node in nodes_of(server):
        host, port = node["address"].rsplit(":", 1)
        assert invoke(client, "ray-probe", {"host": host, "port": int(port)})["body"].startswith("refused"), node
        assert invoke(client, "ray-probe", {"host": "127.0.0.1", "port": int(port)})["body"].startswith("refused")


def _answer(address: str, data: bytes) -> bytes:
    """What the worker at ``address`` answers ``data`` with before it closes the connection."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
        return received


def _frame(header: dict[str, Any], body: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">II", 4 + len(head) + len(body), len(head)) + head + body


def test_the_worker_refuses_who_does_not_authenticate(server: LaminaProcess) -> None:
    address = nodes_of(server)[0]["address"]
    hello = {"op": "hello", "region": "us-east-1", "max_response_bytes": 1, "init_timeout_s": 1, "outbound": True,
             "invocation_bytes": 1, "api": ["127.0.0.1", 1]}  # fmt: skip
    assert _answer(address, _frame({**hello, "secret": "guessed"})) == b""  # a wrong secret
    assert _answer(address, _frame({**hello})) == b""  # none
    assert _answer(address, _frame({"op": "start", "env": "x", "fn": "{}", "task_root": "/"})) == b""  # no hello
    assert _answer(address, struct.pack(">II", 1 << 30, 8) + b"x" * 1024) == b""  # a frame over the cap
    assert _answer(address, struct.pack(">II", 12, 8) + b"not json") == b""
    assert _answer(address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    # The worker still serves: its server's invocations go on.
    assert invoke(server.client(), "ray-echo", {"n": 2})["error"] is None


def _load(client: Any, name: str, count: int, results: list[dict[str, Any]]) -> None:
    for n in range(count):
        results.append(invoke(client, name, {"sleep": 0.8, "n": n}))


def _busy_node(cluster: RayCluster, servers: list[LaminaProcess]) -> RayNode:
    """A node holding environments of ``servers[0]``: not the head (its loss is the cluster's), nor
    one a server's Ray driver is attached to (on one machine, a driver attaches to any node's
    raylet; on its own machine, to its own node's)."""
    spared = {os.getpgid(n["pid"]) for s in servers for n in nodes_of(s) if n["driver"]}
    for node in nodes_of(servers[0]):
        if node["environments"] and node["pid"]:
            found = [n for n in cluster.alive[1:] if n.pgid == os.getpgid(node["pid"]) and n.pgid not in spared]
            if found:
                return found[0]
    raise AssertionError("no node holds an environment that may be killed")


def _kill_under_load(cluster: RayCluster, servers: list[LaminaProcess]) -> None:
    """Sync invocations in flight and Event invocations accepted by ``servers`` while a node that
    runs some is killed: the sync ones succeed or fail as a lost environment does (some do: they
    were in flight there), every accepted event is delivered."""
    clients = [s.client() for s in servers]
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=_load, args=(clients[i % len(clients)], "ray-load", 6, results)) for i in range(6)]
    for t in threads:
        t.start()
    accepted = [send(clients[i % len(clients)], "ray-events", {"i": i}) for i in range(20)]
    time.sleep(1.5)
    cluster.kill(_busy_node(cluster, servers))
    accepted += [send(clients[i % len(clients)], "ray-events", {"i": i}) for i in range(20, 40)]
    for t in threads:
        t.join()
    assert len(results) == 36
    failed = [r for r in results if r["error"] is not None]
    for r in failed:
        assert r["body"]["errorType"] == "Runtime.ExitError" and "was lost" in r["body"]["errorMessage"], r
    assert 1 <= len(failed) <= 6, failed  # those in flight there; the rest ran on the remaining nodes
    delivered: Counter[str] = Counter()

    def all_delivered() -> bool:
        delivered.clear()
        delivered.update(rid for rid, _ in lines(servers[0].endpoint, "ray-events", "DELIVERED"))
        return set(accepted) <= set(delivered)

    wait_until(all_delivered, timeout=60)
    print(f"{len(failed)} synchronous invocations lost with the node; {len(accepted)} events, "
          f"{sum(delivered.values()) - len(set(delivered))} delivered twice")  # fmt: skip


def test_a_node_killed_under_load_loses_nothing_accepted(server: LaminaProcess, cluster: RayCluster) -> None:
    client = server.client()
    deploy(client, "ray-load", SLOW)
    deploy(client, "ray-events", RECORDER)
    _kill_under_load(cluster, [server])
    wait_until(lambda: len(nodes_of(server)) == NODES - 1, timeout=60)
    # A node that joins gets a worker, and environments.
    cluster.add()
    wait_until(lambda: len(nodes_of(server)) == NODES, timeout=90)


def test_two_replicas_on_postgresql_share_the_nodes(cluster: RayCluster, postgres_server: postgres.Postgres,
                                                    postgres_db: str, tmp_path: Path) -> None:  # fmt: skip
    url = postgres_server.url(postgres_db)
    cluster.add()  # four alive: whichever two nodes the replicas' drivers attach to, one more may be killed
    cluster.settled()  # the node killed before is dead to Ray: no replica's driver attaches to it
    # A replica killed holds its accepted events for LAMINA_ASYNC_CLAIM_SECONDS: then the other takes them.
    shared = {"LAMINA_DATABASE_URL": url, "LAMINA_CODE_DIR": str(tmp_path / "code"), "LAMINA_ASYNC_CLAIM_SECONDS": "2"}
    replicas = [start_server(tmp_path / f"replica{i}", cluster, **shared) for i in range(2)]
    try:
        a, b = (r.client() for r in replicas)
        deploy(a, "ray-load", SLOW)
        deploy(a, "ray-events", RECORDER)
        assert invoke(b, "ray-load", {"n": 7})["body"] == {"done": 7}  # one set of functions
        assert len(nodes_of(replicas[1])) == len(cluster.alive)
        _kill_under_load(cluster, replicas)
        # Then a replica, killed with events it accepted still running on the nodes or queued (each
        # sleeps before it says it was delivered: none is done when the replica dies). The other
        # replica takes them over once their claim ends and delivers them.
        deploy(a, "ray-late", LATE)
        accepted = [send(b, "ray-late", {"sleep": 1.5, "i": i}) for i in range(12)]
        replicas[1].kill()
        wait_until(lambda: set(accepted) <= {rid for rid, _ in lines(replicas[0].endpoint, "ray-late", "DELIVERED")},
                   timeout=90)  # fmt: skip
    finally:
        for replica in replicas:
            if replica.proc is not None and replica.proc.poll() is None:
                replica.stop()


def test_a_cluster_that_is_not_there_is_said_at_start(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "lamina", "server", "--port", "0", "--data-dir", str(tmp_path / "d")],
                          env=server_env(LAMINA_RAY_ADDRESS=f"127.0.0.1:{port}"), capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"cannot join the Ray cluster at LAMINA_RAY_ADDRESS=127.0.0.1:{port}: nothing answers there" in proc.stderr
    assert "Traceback" not in proc.stderr
