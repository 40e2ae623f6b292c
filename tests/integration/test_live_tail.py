"""CloudWatch Logs' StartLiveTail: boto3's `logs` client and the AWS CLI read, over the event stream,
the lines real invocations write; and the requests, clients and loads that must be refused or ended."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke, wait_until
from tests import signing
from tests.roles import make_role

ACCOUNT = "000000000000"  # the default account's
CHATTY = """
import json
def handler(event, context):
    for n in range(event.get("lines", 2)):
        print(f"line {n} of {event.get('who', 'ann')}")
    print(json.dumps({"level": "ERROR", "who": event.get("who", "ann")}))
    return "ok"
"""


def logs_client(endpoint: str) -> Any:
    # StartLiveTail's model puts "stream-" before the endpoint's host; a local endpoint has no such name.
    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 0}, read_timeout=60))  # fmt: skip


def group_arn(name: str) -> str:
    return f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{name}"


def updates(stream: Any) -> Iterator[dict[str, Any]]:
    """The session's updates after its sessionStart, which it checks."""
    events = iter(stream)
    start = next(events)
    assert set(start) == {"sessionStart"}, start
    for event in events:
        assert set(event) == {"sessionUpdate"}, event
        yield event["sessionUpdate"]


def read_until(stream: Iterator[dict[str, Any]], wanted: int, most_updates: int = 60) -> list[dict[str, Any]]:
    """Results until ``wanted`` of them have come (fails after ``most_updates`` updates: a minute)."""
    found: list[dict[str, Any]] = []
    for n, update in enumerate(stream):
        assert update["sessionMetadata"] == {"sampled": False}
        found.extend(update["sessionResults"])
        if len(found) >= wanted or n >= most_updates:
            break
    return found


def test_a_session_shows_the_lines_an_invocation_writes(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    other = fn_name[:40] + "-other"
    deploy(client, other, CHATTY)
    logs = logs_client(lamina.endpoint)
    answer = logs.start_live_tail(logGroupIdentifiers=[group_arn(fn_name), f"/aws/lambda/{other}"],
                                  logEventFilterPattern="?line ?ERROR")  # fmt: skip
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    events = iter(answer["responseStream"])
    start = next(events)["sessionStart"]
    assert start["logGroupIdentifiers"] == [group_arn(fn_name), f"/aws/lambda/{other}"]
    assert start["logEventFilterPattern"] == "?line ?ERROR" and start["sessionId"] and start["requestId"]
    invoke(client, fn_name, {"lines": 2, "who": "ann"})
    invoke(client, other, {"lines": 1, "who": "bob"})
    found: list[dict[str, Any]] = []
    for n, event in enumerate(events):
        update = event["sessionUpdate"]
        assert update["sessionMetadata"] == {"sampled": False}
        found.extend(update["sessionResults"])
        if len(found) >= 5 or n > 60:
            break
    answer["responseStream"].close()
    mine = [r for r in found if r["logGroupIdentifier"] == group_arn(fn_name)]
    theirs = [r for r in found if r["logGroupIdentifier"] == f"/aws/lambda/{other}"]
    # The filter pattern keeps the printed lines; START, END and REPORT are not shown.
    assert [r["message"].strip() for r in mine] == ["line 0 of ann", "line 1 of ann",
                                                    '{"level": "ERROR", "who": "ann"}']  # fmt: skip
    assert [r["message"].strip() for r in theirs] == ["line 0 of bob", '{"level": "ERROR", "who": "bob"}']
    stream = logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn_name}")["logStreams"][0]["logStreamName"]
    for r in mine:
        assert r["logStreamName"] == stream
        assert set(r) == {"logStreamName", "logGroupIdentifier", "message", "timestamp", "ingestionTime"}
        assert r["timestamp"] <= r["ingestionTime"]


def test_streams_and_json_patterns_narrow_a_session(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    invoke(client, fn_name, {"lines": 0})  # its first environment's stream exists from now on
    logs = logs_client(lamina.endpoint)
    streams = wait_until(lambda: logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn_name}")["logStreams"])
    stream = streams[0]["logStreamName"]
    answer = logs.start_live_tail(logGroupIdentifiers=[group_arn(fn_name)], logStreamNames=[stream],
                                  logEventFilterPattern='{ $.who = "bob" }')  # fmt: skip
    session = updates(answer["responseStream"])
    for who in ("ann", "bob"):
        invoke(client, fn_name, {"lines": 3, "who": who})
    found = read_until(session, 1)
    answer["responseStream"].close()
    assert [r["message"].strip() for r in found] == ['{"level": "ERROR", "who": "bob"}']
    answer = logs.start_live_tail(logGroupIdentifiers=[group_arn(fn_name)], logStreamNamePrefixes=["2000/"])
    session = updates(answer["responseStream"])
    invoke(client, fn_name, {"lines": 1})
    # No stream starts so: nothing in the updates that come while the function prints.
    assert read_until(session, 1, most_updates=3) == []
    answer["responseStream"].close()


def test_a_function_that_joins_a_followed_group_is_followed(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    group = f"/team/{fn_name}"
    deploy(client, fn_name, CHATTY, LoggingConfig={"LogFormat": "Text", "LogGroup": group})
    logs = logs_client(lamina.endpoint)
    answer = logs.start_live_tail(logGroupIdentifiers=[group], logEventFilterPattern="ERROR")
    session = updates(answer["responseStream"])
    newcomer = fn_name[:40] + "-new"
    deploy(client, newcomer, CHATTY, LoggingConfig={"LogFormat": "Text", "LogGroup": group})  # after the start
    invoke(client, newcomer, {"who": "newcomer"})
    found = read_until(session, 1)
    answer["responseStream"].close()
    assert [(r["message"].strip(), r["logGroupIdentifier"]) for r in found] == [
        ('{"level": "ERROR", "who": "newcomer"}', group)]  # fmt: skip


def test_bad_requests_get_cloudwatch_logs_errors(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    logs = logs_client(lamina.endpoint)
    mine = group_arn(fn_name)

    def refused(**members: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as caught:
            logs.start_live_tail(**members)
        error = caught.value.response["Error"]
        return error["Code"], error["Message"]

    code, message = refused(logGroupIdentifiers=[mine] * 11)
    assert code == "InvalidParameterException" and "less than or equal to 10" in message
    assert refused(logGroupIdentifiers=[mine.replace(ACCOUNT, "210987654321")])[0] == "AccessDeniedException"
    assert refused(logGroupIdentifiers=[mine + ":*"])[0] == "InvalidParameterException"
    assert refused(logGroupIdentifiers=["arn:aws:logs:us-east-1"])[0] == "InvalidParameterException"
    assert refused(logGroupIdentifiers=[mine + "-nope"])[0] == "ResourceNotFoundException"
    code, message = refused(logGroupIdentifiers=[mine], logEventFilterPattern='{ $.level = "ERROR" ')
    assert code == "InvalidParameterException" and "filter pattern" in message
    assert refused(logGroupIdentifiers=[mine], logEventFilterPattern="x" * 2000)[0] == "InvalidParameterException"
    assert refused(logGroupIdentifiers=[mine, mine], logStreamNames=["a"])[0] == "InvalidParameterException"
    assert refused(logGroupIdentifiers=[mine], logStreamNames=["a"], logStreamNamePrefixes=["a"])[0] == (
        "InvalidParameterException")  # fmt: skip
    assert refused(logGroupIdentifiers=[mine], logStreamNames=["a"] * 101)[0] == "InvalidParameterException"


def test_another_accounts_group_is_refused_and_its_lines_never_shown(make_server: Any) -> None:
    keys = {"one": ("AKIAONE0000000001", "secret-one"), "two": ("AKIATWO0000000002", "secret-two")}
    server = make_server(LAMINA_ACCESS_KEYS="AKIAONE0000000001:secret-one:111111111111,"
                                            "AKIATWO0000000002:secret-two:222222222222")  # fmt: skip

    def clients(who: str) -> tuple[Any, Any]:
        key, secret = keys[who]
        made = {"endpoint_url": server.endpoint, "region_name": "us-east-1", "aws_access_key_id": key,
                "aws_secret_access_key": secret}  # fmt: skip
        functions = boto3.client("lambda", **made)
        deploy(functions, f"fn-{who}", CHATTY, role=make_role(server.endpoint, "runner", [], key=key, secret=secret))
        return functions, boto3.client("logs", config=Config(inject_host_prefix=False), **made)

    one, _ = clients("one")
    two, two_logs = clients("two")
    for identifier, code in [("arn:aws:logs:us-east-1:111111111111:log-group:/aws/lambda/fn-one", "AccessDeniedException"),
                             ("/aws/lambda/fn-one", "ResourceNotFoundException")]:  # fmt: skip
        with pytest.raises(ClientError) as caught:
            two_logs.start_live_tail(logGroupIdentifiers=[identifier])
        assert caught.value.response["Error"]["Code"] == code
    answer = two_logs.start_live_tail(logGroupIdentifiers=["/aws/lambda/fn-two"], logEventFilterPattern="ERROR")
    session = updates(answer["responseStream"])
    invoke(one, "fn-one", {"who": "one"})
    invoke(two, "fn-two", {"who": "two"})
    found = read_until(session, 1)
    answer["responseStream"].close()
    assert [r["message"].strip() for r in found] == ['{"level": "ERROR", "who": "two"}']


def test_a_session_ends_after_its_time_with_sessiontimeoutexception(make_server: Any) -> None:
    server = make_server(LAMINA_LIVE_TAIL_SECONDS="2")
    client = server.client()
    deploy(client, "timed", CHATTY)
    answer = logs_client(server.endpoint).start_live_tail(logGroupIdentifiers=["/aws/lambda/timed"])
    with pytest.raises(EventStreamError) as caught:
        for _ in updates(answer["responseStream"]):
            pass
    answer["responseStream"].close()
    assert caught.value.response["Error"]["Code"] == "SessionTimeoutException"


@pytest.mark.parametrize("front_door", ["on", "off"])
def test_sessions_are_bounded_and_released_when_clients_go_away(make_server: Any, front_door: str) -> None:
    """With the front door (which lends the request to aiohttp) and without it (aiohttp alone)."""
    server = make_server(LAMINA_LIVE_TAIL_SESSIONS="2", LAMINA_FRONT_DOOR=front_door)
    client = server.client()
    deploy(client, "bounded", CHATTY)
    logs = logs_client(server.endpoint)

    def start() -> Any:
        answer = logs.start_live_tail(logGroupIdentifiers=["/aws/lambda/bounded"])
        assert "sessionStart" in next(iter(answer["responseStream"]))
        return answer["responseStream"]

    first, second = start(), start()
    with pytest.raises(ClientError) as caught:
        logs.start_live_tail(logGroupIdentifiers=["/aws/lambda/bounded"])
    assert caught.value.response["Error"]["Code"] == "LimitExceededException"
    # A client that closes its stream, and one that drops the connection mid-stream, without a word.
    first.close()
    second._raw_stream.connection.sock.shutdown(socket.SHUT_RDWR)
    second.close()

    def started() -> Any:
        try:
            return start()
        except ClientError as exc:  # the sessions just closed may not have ended yet
            assert exc.response["Error"]["Code"] == "LimitExceededException"
            return None

    # Both places come back. Each one taken is held (closing it would leave one more session to end).
    held: list[Any] = []

    def both_taken() -> bool:
        stream = started()
        if stream is not None:
            held.append(stream)
        return len(held) == 2

    wait_until(both_taken, timeout=20)
    for stream in held:
        stream.close()
    last = wait_until(started, timeout=20)
    assert server.stop() == 0
    assert all("sessionUpdate" in event for event in last)
    last.close()


def test_the_aws_cli_start_live_tail_prints_new_lines(make_server: Any) -> None:
    """AWS CLI v1's ``aws logs start-live-tail`` (v1 has no ``aws logs tail``: that is v2's, over
    FilterLogEvents), run until its session times out, while the function is invoked."""
    server = make_server(LAMINA_LIVE_TAIL_SECONDS="5")
    client = server.client()
    deploy(client, "cli-tail", CHATTY)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": server.endpoint, "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}  # fmt: skip
    cli = Path(sys.executable).with_name("aws")
    tail = subprocess.Popen([str(cli), "logs", "start-live-tail", "--log-group-identifiers", group_arn("cli-tail"),
                             "--log-event-filter-pattern", "ERROR"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        while tail.poll() is None:  # printed lines come once the session has started: invoke until it ends
            invoke(client, "cli-tail", {"lines": 1, "who": "cli"})
        out, err = tail.communicate(timeout=30)
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
    assert tail.returncode == 0, err
    printed = [line for line in out.splitlines() if line.strip()]
    assert '{"level": "ERROR", "who": "cli"}' in printed
    assert "SessionTimeoutException" in printed[-1]
    assert all("line 0" not in line for line in printed)


def test_the_calls_aws_cli_v2s_logs_tail_follow_makes(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    """``aws logs tail --follow`` (AWS CLI v2 only) polls FilterLogEvents: ``interleaved``, a
    ``startTime`` moved to the last event's timestamp each round, events told apart by ``eventId``.
    Its calls, made with boto3: each round finds the new lines once, and none twice."""
    deploy(client, fn_name, CHATTY)
    logs = logs_client(lamina.endpoint)
    members: dict[str, Any] = {"logGroupName": f"/aws/lambda/{fn_name}", "interleaved": True,
                               "filterPattern": "ERROR", "startTime": 0}  # fmt: skip
    seen: set[str] = set()
    printed: list[str] = []

    def round_of_follow() -> list[str]:
        new = []
        for page in logs.get_paginator("filter_log_events").paginate(**members):
            for event in page["events"]:
                if event["eventId"] not in seen:
                    seen.add(event["eventId"])
                    new.append(event["message"].strip())
                members["startTime"] = max(members["startTime"], event["timestamp"])
        printed.extend(new)
        return new

    for who in ("ann", "bob"):
        invoke(client, fn_name, {"who": who})
        wait_until(round_of_follow)
    assert round_of_follow() == []
    assert printed == ['{"level": "ERROR", "who": "ann"}', '{"level": "ERROR", "who": "bob"}']


def test_a_users_policy_must_allow_every_group_of_a_session(make_server: Any) -> None:
    root_key, root_secret = "AKIAROOTKEYEXAMPLE01", "root-secret-for-the-live-tail-tests-000"
    server = make_server(LAMINA_ACCESS_KEYS=f"{root_key}:{root_secret}:{ACCOUNT}")
    made = {"endpoint_url": server.endpoint, "region_name": "us-east-1"}
    root_lambda = boto3.client("lambda", aws_access_key_id=root_key, aws_secret_access_key=root_secret, **made)
    role = make_role(server.endpoint, "runner", [], key=root_key, secret=root_secret)
    for name in ("team-a", "team-b"):
        deploy(root_lambda, name, CHATTY, role=role)
    iam = boto3.client("iam", aws_access_key_id=root_key, aws_secret_access_key=root_secret, **made)
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="tail-a", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:StartLiveTail",
                                                "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/team-a:*"}]}))  # fmt: skip
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = boto3.client("logs", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                         config=Config(inject_host_prefix=False, retries={"max_attempts": 0}), **made)  # fmt: skip
    answer = carol.start_live_tail(logGroupIdentifiers=["/aws/lambda/team-a"])
    assert "sessionStart" in next(iter(answer["responseStream"]))
    answer["responseStream"].close()
    for groups in (["/aws/lambda/team-b"], ["/aws/lambda/team-a", group_arn("team-b")]):
        with pytest.raises(ClientError) as caught:
            carol.start_live_tail(logGroupIdentifiers=groups)
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_client_that_stops_reading_is_ended_at_the_sessions_time(make_server: Any) -> None:
    """A raw client asks for a session, then never reads, while its function prints far more than
    it takes in; the session still ends at its time limit and gives its place back."""
    server = make_server(LAMINA_LIVE_TAIL_SECONDS="3", LAMINA_LIVE_TAIL_SESSIONS="1")
    client = server.client()
    deploy(client, "loud-fn", "def handler(e, c):\n    for n in range(e['n']):\n        print('x' * 200, n)\n")
    url = server.endpoint + "/"
    body = json.dumps({"logGroupIdentifiers": ["/aws/lambda/loud-fn"]}).encode()
    sent = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.StartLiveTail"}
    signed = signing.headers("POST", url, body, sent, service="logs")
    host = server.endpoint.split("//", 1)[1]
    request = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **sent, **signed, "Content-Length": str(len(body))}.items())
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((host.split(":")[0], int(host.split(":")[1])))
    try:
        stalled.sendall(f"POST / HTTP/1.1\r\n{request}\r\n".encode() + body)
        assert stalled.recv(12) == b"HTTP/1.1 200"  # the session has begun: from now on, nothing is read
        invoke(client, "loud-fn", {"n": 20_000})
        logs = logs_client(server.endpoint)

        def started() -> Any:
            try:
                return logs.start_live_tail(logGroupIdentifiers=["/aws/lambda/loud-fn"])["responseStream"]
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "LimitExceededException"
                return None

        stream = wait_until(started, timeout=30)
        stream.close()
    finally:
        stalled.close()
