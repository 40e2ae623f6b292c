"""Several servers on one PostgreSQL behave as one: concurrency limits hold across them (units of
concurrency leased from the database, scheduler/units.py), a dead server's units come back when its
leases end; the outbox's messages are claimed, each delivered once; what one server changes (IAM,
STS sessions, concurrency, code signing, layers' permissions) the other follows at once; a function
left Pending by a server that died is prepared by another. Real server processes on a real
PostgreSQL (tests/postgres.py), driven by boto3."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests import postgres
from tests.conftest import ROLE, deploy, make_zip
from tests.functions import wait_until
from tests.integration.test_async import FAST, send
from tests.integration.test_concurrency import health
from tests.mapping_helpers import make_queue, sqs_client
from tests.postgres import Postgres, scalar

SLEEPER = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"slept": event.get("sleep", 0)}
"""
LEASE = {"LAMINA_CONCURRENCY_LEASE_SECONDS": "5"}  # renewed every 1.7 s, even on a busy machine

postgres_server, postgres_db = postgres.postgres_server, postgres.postgres_db  # the fixtures, for the tests here


@pytest.fixture
def url(postgres_server: Postgres, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)


def settings(url: str, tmp_path: Path, **env: str) -> dict[str, str]:
    return {"LAMINA_DATABASE_URL": url, "LAMINA_CODE_DIR": str(tmp_path / "shared"), **LEASE, **env}


def replicas(make_server: Any, url: str, tmp_path: Path, **env: str) -> tuple[Any, Any]:
    shared = settings(url, tmp_path, **env)
    return make_server(tmp_path / "one", **shared), make_server(tmp_path / "two", **shared)


def in_background(client: Any, name: str, sleep: float) -> tuple[threading.Thread, list[Any]]:
    """An invocation that sleeps ``sleep`` seconds, in a thread; its result lands in the list."""
    results: list[Any] = []

    def run() -> None:
        try:
            response = client.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}).encode())
            results.append(json.loads(response["Payload"].read()))
        except Exception as exc:  # its server was killed
            results.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def throttle_reason(client: Any, name: str) -> str | None:
    """The Reason an invocation is throttled with, or None if it ran."""
    try:
        client.invoke(FunctionName=name, Payload=b"{}")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "TooManyRequestsException", exc.response
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        return str(exc.response["Reason"])
    return None


def leased(url: str, pool: str) -> int:
    """The units of ``pool`` the servers hold (an invocation is counted before its unit is taken)."""
    held = scalar(url, f"SELECT sum(units) FROM lamina.concurrency_leases WHERE pool = '{pool}'")
    return int(held or 0)


def in_use(*servers: Any) -> int:
    return sum(int(health(server.endpoint)["inUse"]) for server in servers)


def test_reserved_concurrency_holds_across_servers_and_a_dead_ones_units_come_back(
    make_server: Any, url: str, tmp_path: Path,
) -> None:  # fmt: skip
    one, two = replicas(make_server, url, tmp_path)
    a, b = one.client(), two.client()
    deploy(a, "pg-capped", SLEEPER, Timeout=60)
    # A reservation put through one server is followed by the other, without a restart.
    a.put_function_concurrency(FunctionName="pg-capped", ReservedConcurrentExecutions=2)
    wait_until(lambda: b.get_function_concurrency(FunctionName="pg-capped").get("ReservedConcurrentExecutions") == 2)

    # One runs through each server: the two units are held, one by each; a third is throttled at both.
    first, first_result = in_background(a, "pg-capped", 30)
    wait_until(lambda: in_use(one) == 1 and leased(url, "pg-capped") == 1)
    second, second_result = in_background(b, "pg-capped", 12)
    wait_until(lambda: in_use(two) == 1 and leased(url, "pg-capped") == 2)
    assert throttle_reason(a, "pg-capped") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert throttle_reason(b, "pg-capped") == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert in_use(one, two) == 2

    # kill -9 the first with its invocation running: its unit comes back when its lease ends, while
    # the second's invocation still runs (so two at once again, never three).
    one.kill()
    wait_until(lambda: throttle_reason(b, "pg-capped") is None, timeout=20)
    assert second.is_alive()
    second.join(30)
    assert second_result == [{"slept": 12}]
    first.join(5)
    assert first_result and isinstance(first_result[0], Exception)  # its server died under it


def test_the_account_concurrency_holds_across_servers(make_server: Any, url: str, tmp_path: Path) -> None:
    one, two = replicas(make_server, url, tmp_path, LAMINA_ACCOUNT_CONCURRENCY="2")
    a, b = one.client(), two.client()
    deploy(a, "pg-shared-limit", SLEEPER, Timeout=60)
    deploy(a, "pg-other", SLEEPER, Timeout=60)  # another function without a reservation: the same pool
    wait_until(lambda: b.get_function(FunctionName="pg-other")["Configuration"]["State"] == "Active")

    threads = [in_background(a, "pg-shared-limit", 6)]
    wait_until(lambda: in_use(one) == 1 and leased(url, "") == 1)
    threads.append(in_background(b, "pg-other", 6))
    wait_until(lambda: in_use(two) == 1 and leased(url, "") == 2)
    for client in (a, b):
        for name in ("pg-shared-limit", "pg-other"):
            assert throttle_reason(client, name) == "ConcurrentInvocationLimitExceeded"
    for thread, results in threads:
        thread.join(30)
        assert results == [{"slept": 6}]
    # Once they ended, each server can run them again (units given back or still held, two in all).
    assert throttle_reason(b, "pg-shared-limit") is None
    assert throttle_reason(a, "pg-other") is None


def test_two_servers_deliver_each_outbox_message_once(make_server: Any, url: str, tmp_path: Path) -> None:
    env = settings(url, tmp_path, LAMINA_EVENTS_OUTBOX_POLL="0.05", **FAST)  # both relays look all the time
    one = make_server(tmp_path / "one", **env)
    a = one.client()
    _, queue_arn = make_queue(sqs_client(one.endpoint), "pg-records")
    deploy(a, "pg-recorded", SLEEPER)
    a.put_function_event_invoke_config(FunctionName="pg-recorded",
                                       DestinationConfig={"OnSuccess": {"Destination": queue_arn}})  # fmt: skip
    two = make_server(tmp_path / "two", **env)  # knows the queue from its start
    b = two.client()
    sent = {send(client, "pg-recorded", {"i": i}) for i in range(6) for client in (a, b)}

    # Each success record goes through the outbox to the queue: once, whichever server relays it.
    left = "SELECT json_build_object('queued', (SELECT count(*) FROM lamina.queue_messages), 'outbox', " \
           "(SELECT json_agg(json_build_object('id', id, 'by', claimed_by)) FROM lamina.outbox))"
    try:
        wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.queue_messages") >= len(sent)
                   and scalar(url, "SELECT count(*) FROM lamina.outbox") == 0, timeout=120)  # fmt: skip
    except AssertionError:
        raise AssertionError(f"not delivered in time: {scalar(url, left)}") from None
    records = "SELECT array_agg(body::jsonb -> 'requestContext' ->> 'requestId') FROM lamina.queue_messages"
    assert sorted(scalar(url, records)) == sorted(sent)


def test_an_outbox_message_that_commits_after_a_higher_id_is_delivered(make_server: Any, url: str,
                                                                       tmp_path: Path) -> None:  # fmt: skip
    """PostgreSQL gives an id at the insert and makes it visible at the commit, so a lower id can
    appear after a higher one was relayed: the relay must still find it."""
    import psycopg

    env = settings(url, tmp_path, LAMINA_EVENTS_OUTBOX_POLL="0.05", **FAST)
    server = make_server(tmp_path / "one", **env)
    client = server.client()
    sqs = sqs_client(server.endpoint)
    queue_url, queue_arn = make_queue(sqs, "pg-late")
    deploy(client, "pg-late-recorded", SLEEPER)
    client.put_function_event_invoke_config(FunctionName="pg-late-recorded",
                                            DestinationConfig={"OnSuccess": {"Destination": queue_arn}})  # fmt: skip
    insert = ("INSERT INTO lamina.outbox (target, kind, function, request_id, body, attributes, created_ms) "
              "VALUES (%s, 'destination', 'pg-late-recorded', 'held', %s, '{}', %s)")  # fmt: skip
    with psycopg.connect(url) as held:  # a transaction of its own, left open: its id is taken, not visible
        held.execute(insert, (queue_arn, b'{"held": true}', int(time.time() * 1000)))
        sent = send(client, "pg-late-recorded", {"after": True})  # its record takes a higher id, and is relayed
        wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.queue_messages") == 1, timeout=60)
        held.commit()
    bodies = "SELECT array_agg(body) FROM lamina.queue_messages"
    try:
        wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.queue_messages") == 2, timeout=30)
    except AssertionError:
        raise AssertionError(f"the held message was never relayed: {scalar(url, bodies)}") from None
    assert scalar(url, "SELECT count(*) FROM lamina.outbox") == 0
    assert any(sent in body for body in scalar(url, bodies))


def test_what_one_server_changes_the_other_follows_at_once(make_server: Any, url: str, tmp_path: Path) -> None:
    one, two = replicas(make_server, url, tmp_path)
    a, b = one.client(), two.client()
    # An IAM user and its access key made through one server sign requests at the other.
    iam = boto3.client("iam", endpoint_url=one.endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")  # fmt: skip
    iam.create_user(UserName="pg-user")
    iam.put_user_policy(UserName="pg-user", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="pg-user")["AccessKey"]
    as_user = boto3.client("lambda", endpoint_url=two.endpoint, region_name="us-east-1",
                           aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    wait_until(lambda: listed(as_user))
    iam.delete_access_key(UserName="pg-user", AccessKeyId=key["AccessKeyId"])  # and a deleted one no longer does
    wait_until(lambda: not listed(as_user))
    # Credentials of a session started through one server's AssumeRole sign requests at the other.
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="pg-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="pg-role", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}]}))
    sts = boto3.client("sts", endpoint_url=one.endpoint, region_name="us-east-1", aws_access_key_id="test",
                       aws_secret_access_key="test")  # fmt: skip
    assumed = sts.assume_role(RoleArn=role, RoleSessionName="pg-session")["Credentials"]
    as_role = boto3.client("lambda", endpoint_url=two.endpoint, region_name="us-east-1",
                           aws_access_key_id=assumed["AccessKeyId"], aws_secret_access_key=assumed["SecretAccessKey"],
                           aws_session_token=assumed["SessionToken"])  # fmt: skip
    wait_until(lambda: listed(as_role))

    # Code-signing configurations and layers' permissions.
    config = a.create_code_signing_config(AllowedPublishers={"SigningProfileVersionArns": [PROFILE]})
    arn = config["CodeSigningConfig"]["CodeSigningConfigArn"]
    wait_until(lambda: found(lambda: b.get_code_signing_config(CodeSigningConfigArn=arn)))
    layer = a.publish_layer_version(LayerName="pg-layer", Content={"ZipFile": make_zip({"python/x.py": ""})})
    a.add_layer_version_permission(LayerName="pg-layer", VersionNumber=layer["Version"], StatementId="one",
                                   Action="lambda:GetLayerVersion", Principal="123456789012")  # fmt: skip
    wait_until(lambda: found(lambda: b.get_layer_version_policy(LayerName="pg-layer", VersionNumber=layer["Version"])))

    # Provisioned concurrency put through one server counts at the other (against the reservation).
    deploy(a, "pg-provisioned", SLEEPER)
    version = a.publish_version(FunctionName="pg-provisioned")["Version"]
    a.put_function_concurrency(FunctionName="pg-provisioned", ReservedConcurrentExecutions=1)
    a.put_provisioned_concurrency_config(FunctionName="pg-provisioned", Qualifier=version,
                                         ProvisionedConcurrentExecutions=1)  # fmt: skip
    wait_until(lambda: found(lambda: b.get_provisioned_concurrency_config(FunctionName="pg-provisioned",
                                                                          Qualifier=version)))  # fmt: skip
    assert throttle_reason(b, "pg-provisioned") == "ReservedFunctionConcurrentInvocationLimitExceeded"  # $LATEST


PROFILE = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/release/abcdef1234"


def listed(client: Any) -> bool:
    try:
        client.list_functions()
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403, exc.response
        return False
    return True


def found(call: Any) -> bool:
    try:
        call()
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("ResourceNotFoundException",
                                                 "ProvisionedConcurrencyConfigNotFoundException"), exc.response
        return False
    return True


def test_a_function_left_pending_by_a_server_that_died_is_prepared_by_another(
    make_server: Any, url: str, tmp_path: Path,
) -> None:  # fmt: skip
    claims = {"LAMINA_ASYNC_CLAIM_SECONDS": "2"}
    one = make_server(tmp_path / "one", **settings(url, tmp_path, LAMINA_STATE_DELAY="600", **claims))  # never done
    two = make_server(tmp_path / "two", **settings(url, tmp_path, **claims))
    a, b = one.client(), two.client()
    a.create_function(FunctionName="pg-pending", Runtime="python3.11", Role=ROLE, Handler="app.handler",
                      Code={"ZipFile": make_zip({"app.py": SLEEPER})})  # fmt: skip
    wait_until(lambda: found(lambda: b.get_function(FunctionName="pg-pending")))
    assert b.get_function(FunctionName="pg-pending")["Configuration"]["State"] == "Pending"
    one.kill()  # while it prepares the code: its claim ends, and the other takes the function over
    wait_until(lambda: b.get_function(FunctionName="pg-pending")["Configuration"]["State"] == "Active", timeout=30)
    response = b.invoke(FunctionName="pg-pending", Payload=b'{"sleep": 0}')
    assert json.loads(response["Payload"].read()) == {"slept": 0}
    assert scalar(url, "SELECT count(*) FROM lamina.preparations") == 0
