"""Lamina on PostgreSQL (LAMINA_DATABASE_URL) end to end: real server processes on a real PostgreSQL
(tests/postgres.py), driven by boto3. One server through the Lambda API's life cycle; two replicas
on one database and one LAMINA_CODE_DIR; hostile names, tags and payloads; a database that is not
there at start, and one restarted under a running server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_until
from tests.integration.test_async import FAST, RECORDER, lines, send
from tests.integration.test_function_urls import call
from tests.integration.test_logs_api import logs_client
from tests.postgres import PASSWORD, Postgres, postgres_db, postgres_server, scalar, start_postgres  # noqa: F401

ECHO = """
import json
def handler(event, context):
    print("ECHO", json.dumps(event))
    return {"echo": event}
"""


@pytest.fixture
def url(postgres_server: Postgres, postgres_db: str) -> str:
    return postgres_server.url(postgres_db)


def invoke(client: Any, name: str, payload: object, **kwargs: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    assert response["StatusCode"] == 200 and "FunctionError" not in response, response
    return dict(json.loads(response["Payload"].read()))


def test_the_lambda_api_on_postgresql(make_server: Any, url: str, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data", LAMINA_DATABASE_URL=url, LAMINA_CODE_DIR=str(tmp_path / "shared"), **FAST)
    client = server.client()
    deploy(client, "pg-echo", ECHO, Tags={"team": "blue"})
    assert invoke(client, "pg-echo", {"n": 1}) == {"echo": {"n": 1}}
    version = client.publish_version(FunctionName="pg-echo")["Version"]
    assert version == "1"
    client.create_alias(FunctionName="pg-echo", Name="live", FunctionVersion=version)
    with pytest.raises(ClientError) as exists:
        client.create_alias(FunctionName="pg-echo", Name="live", FunctionVersion=version)
    assert exists.value.response["Error"]["Code"] == "ResourceConflictException"
    alias = client.get_alias(FunctionName="pg-echo", Name="live")
    with pytest.raises(ClientError) as stale:
        client.update_alias(FunctionName="pg-echo", Name="live", RevisionId="not-the-revision")
    assert stale.value.response["Error"]["Code"] == "PreconditionFailedException"
    client.update_alias(FunctionName="pg-echo", Name="live", Description="d", RevisionId=alias["RevisionId"])
    assert invoke(client, "pg-echo", {"via": "alias"}, Qualifier="live") == {"echo": {"via": "alias"}}
    arn = client.get_function(FunctionName="pg-echo")["Configuration"]["FunctionArn"]
    client.tag_resource(Resource=arn, Tags={"env": "test"})
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "blue", "env": "test"}
    # What is stored is in PostgreSQL, in the default cell's schema.
    assert scalar(url, "SELECT count(*) FROM lamina.function_versions WHERE function = 'pg-echo'") == 1
    assert scalar(url, "SELECT value FROM lamina.function_tags WHERE key = 'env'") == "test"
    assert (tmp_path / "shared" / "code" / "zips").is_dir()  # the code went to LAMINA_CODE_DIR

    deploy(client, "pg-async", RECORDER)
    request_id = send(client, "pg-async", {"async": True})
    delivered = wait_until(lambda: lines(server.endpoint, "pg-async", "DELIVERED"))
    assert delivered[0][0] == request_id and json.loads(delivered[0][1]) == {"async": True}
    wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.async_events") == 0)
    # Its log, read back through CloudWatch Logs' API, from the database's chunks.
    logs = logs_client(server.endpoint)
    wait_until(lambda: any("DELIVERED " + request_id in e["message"]
                           for e in logs.filter_log_events(logGroupName="/aws/lambda/pg-async")["events"]))  # fmt: skip
    assert scalar(url, "SELECT count(*) FROM lamina.log_chunks WHERE function = 'pg-async'") > 0

    # Everything survives a restart: it was in the database.
    assert server.stop() == 0
    again = make_server(tmp_path / "data", LAMINA_DATABASE_URL=url, LAMINA_CODE_DIR=str(tmp_path / "shared"))
    client = again.client()
    assert client.get_alias(FunctionName="pg-echo", Name="live")["Description"] == "d"
    assert invoke(client, "pg-echo", {"n": 2}, Qualifier="1") == {"echo": {"n": 2}}
    client.delete_function(FunctionName="pg-echo")
    assert scalar(url, "SELECT count(*) FROM lamina.function_aliases") == 0  # it went with its function


def test_two_replicas_serve_one_database_and_code_dir(make_server: Any, url: str, tmp_path: Path) -> None:
    shared = str(tmp_path / "shared")
    first = make_server(tmp_path / "one", LAMINA_DATABASE_URL=url, LAMINA_CODE_DIR=shared)
    deploy(first.client(), "pg-before", ECHO)
    second = make_server(tmp_path / "two", LAMINA_DATABASE_URL=url, LAMINA_CODE_DIR=shared)
    one, two = first.client(), second.client()
    assert invoke(two, "pg-before", {"from": "two"}) == {"echo": {"from": "two"}}  # read at its start
    # Made through one while the other runs: the other follows (it is notified, and reads it again).
    deploy(one, "pg-shared", ECHO)
    wait_until(lambda: "pg-shared" in [f["FunctionName"] for f in two.list_functions()["Functions"]])
    wait_until(lambda: two.get_function(FunctionName="pg-shared")["Configuration"]["State"] == "Active")
    assert invoke(two, "pg-shared", {"from": "two"}) == {"echo": {"from": "two"}}
    version = one.publish_version(FunctionName="pg-shared")["Version"]
    one.create_alias(FunctionName="pg-shared", Name="live", FunctionVersion=version)
    wait_until(lambda: _alias_version(two, "pg-shared", "live") == version)
    assert invoke(two, "pg-shared", {"via": "live"}, Qualifier="live") == {"echo": {"via": "live"}}
    one.update_function_configuration(FunctionName="pg-shared", Environment={"Variables": {"VAR": "2"}})
    wait_until(lambda: two.get_function_configuration(FunctionName="pg-shared").get("Environment") ==
               {"Variables": {"VAR": "2"}})  # fmt: skip
    # Its asynchronous-invocation configuration and its URL, set through one, are the other's too.
    one.put_function_event_invoke_config(FunctionName="pg-shared", MaximumRetryAttempts=0)
    wait_until(lambda: _retries(two, "pg-shared") == 0)
    function_url = one.create_function_url_config(FunctionName="pg-shared", AuthType="NONE")["FunctionUrl"]
    host = urlsplit(function_url).netloc
    status, _, body = wait_until(lambda: (found := call(second.endpoint, "/hello", host=host))[0] == 200 and found)
    assert json.loads(body)["echo"]["rawPath"] == "/hello"
    one.delete_function_url_config(FunctionName="pg-shared")
    assert call(first.endpoint, "/hello", host=host)[0] == 403  # as Lambda answers a URL that is gone
    wait_until(lambda: call(second.endpoint, "/hello", host=host)[0] == 403)
    # A write through one that the other makes too is refused by the database, as by one server.
    with pytest.raises(ClientError) as exists:
        deploy(two, "pg-shared", ECHO)
    assert exists.value.response["Error"]["Code"] == "ResourceConflictException"
    two.delete_function(FunctionName="pg-shared")
    wait_until(lambda: "pg-shared" not in [f["FunctionName"] for f in one.list_functions()["Functions"]])
    with pytest.raises(ClientError) as gone:
        invoke(one, "pg-shared", {})
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def _retries(client: Any, name: str) -> int | None:
    try:
        return int(client.get_function_event_invoke_config(FunctionName=name)["MaximumRetryAttempts"])
    except ClientError:
        return None


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    try:
        return str(client.get_alias(FunctionName=name, Name=alias)["FunctionVersion"])
    except ClientError:
        return None


SLOW_RECORDER = """
import json, time
def handler(event, context):
    time.sleep(0.2)
    print("DELIVERED", context.aws_request_id, json.dumps(event))
    return {"ok": True}
"""


def test_replicas_each_deliver_the_events_they_hold_and_take_over_those_of_one_that_died(
    make_server: Any, url: str, tmp_path: Path,
) -> None:  # fmt: skip
    shared = str(tmp_path / "shared")
    env = {"LAMINA_DATABASE_URL": url, "LAMINA_CODE_DIR": shared, "LAMINA_ASYNC_CLAIM_SECONDS": "2", **FAST}
    first = make_server(tmp_path / "one", LAMINA_ASYNC_WORKERS="1", **env)  # one at a time: a backlog forms
    deploy(first.client(), "pg-held", SLOW_RECORDER)
    second = make_server(tmp_path / "two", **env)
    # Both accept; each delivers what it accepted, nothing twice while both run.
    sent = [send(first.client(), "pg-held", {"i": i}) for i in range(3)]
    sent += [send(second.client(), "pg-held", {"i": i}) for i in range(3, 6)]
    wait_until(lambda: len(lines(second.endpoint, "pg-held", "DELIVERED")) >= 6)
    assert sorted(d[0] for d in lines(second.endpoint, "pg-held", "DELIVERED")) == sorted(sent)

    backlog = [send(first.client(), "pg-held", {"n": n}) for n in range(20)]
    wait_until(lambda: len(lines(second.endpoint, "pg-held", "DELIVERED")) >= 7)
    first.kill()  # kill -9 with most of its backlog still queued, and held by it
    # Its claims end and the other replica takes the events over: none is lost (one in flight at
    # the kill may run twice: at least once, as across any crash).
    wait_until(lambda: {d[0] for d in lines(second.endpoint, "pg-held", "DELIVERED")} >= set(backlog), timeout=60)
    wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.async_events") == 0)
    delivered = [d[0] for d in lines(second.endpoint, "pg-held", "DELIVERED")]
    assert len(delivered) - len(set(delivered)) <= 1


def test_hostile_names_tags_and_payloads_are_data_not_sql(make_server: Any, url: str, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data", LAMINA_DATABASE_URL=url)
    client = server.client()
    name = "x--DROP_TABLE_functions--"  # as near to SQL as a name Lambda accepts gets
    description = "it's \"quoted\"'); DELETE FROM functions; -- 100% %s"
    deploy(client, name, ECHO, Description=description)
    assert client.get_function(FunctionName=name)["Configuration"]["Description"] == description
    arn = client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    tags = {"drop_table": "x_y:z/=+-@ DROP TABLE functions", "_": "_"}  # LIKE's wildcard, SQL's words
    client.tag_resource(Resource=arn, Tags=tags)
    assert client.list_tags(Resource=arn)["Tags"] == tags
    payload = {"nul": "a\u0000b", "sql": "'); DELETE FROM functions; --", "fmt": "%s %%"}
    assert invoke(client, name, payload) == {"echo": payload}
    send(client, name, payload)  # the queue keeps a payload as bytes, NULs and all
    wait_until(lambda: scalar(url, "SELECT count(*) FROM lamina.async_events") == 0)
    # A NUL in a document (an alias's description) is kept: documents are JSON text, NUL escaped.
    client.create_alias(FunctionName=name, Name="nul", FunctionVersion="$LATEST", Description="a\u0000b'--")
    assert client.get_alias(FunctionName=name, Name="nul")["Description"] == "a\u0000b'--"
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == [name]
    assert client.list_tags(Resource=arn)["Tags"] == tags


def test_a_database_that_cannot_be_used_is_said_at_start(postgres_server: Postgres, postgres_db: str,
                                                         tmp_path: Path) -> None:  # fmt: skip
    wrong_password = postgres_server.url(postgres_db, password="not-" + PASSWORD)
    nowhere = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/{postgres_db}"
    cases = {
        wrong_password: "check the user and password in LAMINA_DATABASE_URL",
        nowhere: "check that PostgreSQL is running",
        postgres_server.url("no_such_database"): "create the database",
        "mysql://root@localhost/db": "must be a postgresql:// URL",
    }
    for bad, said in cases.items():
        server = LaminaProcess(tmp_path / "data", server_env(LAMINA_DATABASE_URL=bad))
        with pytest.raises(RuntimeError):  # it exits before it listens
            server.start()
        output = "".join(server.output)
        assert said in output and "Traceback" not in output, output
        assert PASSWORD not in output  # the URL is named without its password


def test_the_server_rides_out_a_database_restart(make_server: Any, tmp_path: Path) -> None:
    database = start_postgres()  # a server of the test's own: it is stopped under Lamina
    try:
        url = database.url(database.create_database())
        server = make_server(tmp_path / "data", LAMINA_DATABASE_URL=url)
        client = server.client()
        deploy(client, "pg-outage", ECHO)
        arn = client.get_function(FunctionName="pg-outage")["Configuration"]["FunctionArn"]
        assert invoke(client, "pg-outage", {"warm": True}) == {"echo": {"warm": True}}
        database.stop()
        started = time.monotonic()
        with pytest.raises(ClientError) as down:  # a write needs the database: refused, not left hanging
            client.tag_resource(Resource=arn, Tags={"during": "outage"})
        assert down.value.response["Error"]["Code"] == "ServiceException"
        assert down.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        with pytest.raises(ClientError) as refused:  # an event cannot be accepted: it could not be kept
            client.invoke(FunctionName="pg-outage", InvocationType="Event", Payload=b"{}")
        assert refused.value.response["Error"]["Code"] == "ServiceException"
        assert invoke(client, "pg-outage", {"still": "warm"}) == {"echo": {"still": "warm"}}  # needs no write
        assert time.monotonic() - started < 60
        database.start()
        wait_until(lambda: _tagged(client, arn), timeout=60)  # the pool connects again
        assert client.list_tags(Resource=arn)["Tags"] == {"after": "outage"}
        assert invoke(client, "pg-outage", {"back": True}) == {"echo": {"back": True}}
        assert server.stop() == 0  # while its database is there: nothing to wait for
    finally:
        database.remove()


def _tagged(client: Any, arn: str) -> bool:
    try:
        client.tag_resource(Resource=arn, Tags={"after": "outage"})
    except ClientError:
        return False
    return True
