"""CloudWatch Logs' API over functions' logs, driven by boto3's `logs` client and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke, wait_until
from tests.roles import make_role

CHATTY = """
import json
def handler(event, context):
    for n in range(event.get("lines", 3)):
        print(f"line {n} of {context.aws_request_id}")
    print(json.dumps({"level": "ERROR", "code": event.get("code", 0), "who": event.get("who", "ann")}))
    return "ok"
"""


def logs_client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client("logs", endpoint_url=endpoint, region_name=region, aws_access_key_id="test",
                        aws_secret_access_key="test")  # fmt: skip


def aws(endpoint: str, *args: str) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint}  # fmt: skip
    cli = Path(sys.executable).with_name("aws")
    done = subprocess.run([str(cli), *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for_events(client: Any, group: str, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        try:
            events = client.filter_log_events(logGroupName=group)["events"]
        except ClientError:
            return None
        return events if len(events) >= count else None

    return list(wait_until(enough, timeout=20))


def test_groups_streams_events_and_filters(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    for n in range(2):
        invoke(client, fn_name, {"lines": 3, "code": 400 + n, "who": ["ann", "bob"][n]})
    group = f"/aws/lambda/{fn_name}"
    logs = logs_client(lamina.endpoint)
    # START, 3 lines, the JSON line, END, REPORT for each invocation, after INIT_START.
    events = wait_for_events(logs, group, 15)
    assert events[0]["message"].startswith("INIT_START Runtime Version:")
    assert all(e["message"].endswith("\n") and e["eventId"] and e["logStreamName"] for e in events)

    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [d["logGroupName"] for d in described] == [group]
    assert described[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    assert described[0]["storedBytes"] > 0 and described[0]["creationTime"] > 0
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["logStreamName"].endswith("]" + stream["logStreamName"].split("]")[-1])
    assert "[$LATEST]" in stream["logStreamName"]
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]

    # GetLogEvents: the latest first by default, from the head on request; paging until the token repeats.
    name = stream["logStreamName"]
    tail = logs.get_log_events(logGroupName=group, logStreamName=name, limit=2)
    assert [e["message"].split()[0] for e in tail["events"]] == ["END", "REPORT"]
    head: list[str] = []
    token = None
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True, limit=4,
                                   **({"nextToken": token} if token else {}))  # fmt: skip
        head += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert head == [e["message"] for e in events]
    earlier = logs.get_log_events(logGroupName=group, logStreamName=name, nextToken=tail["nextBackwardToken"], limit=2)
    assert [json.loads(e["message"])["who"] for e in earlier["events"][-1:]] == ["bob"]

    # Filter patterns: terms, JSON, and time.
    def messages(**kwargs: Any) -> list[str]:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group, **kwargs)["events"]]

    assert len(messages(filterPattern="line")) == 6
    assert len(messages(filterPattern='"line 2"')) == 2
    assert len(messages(filterPattern="?REPORT ?END")) == 4
    assert [json.loads(m)["who"] for m in messages(filterPattern='{ $.code > 400 }')] == ["bob"]
    assert [json.loads(m)["code"] for m in messages(filterPattern='{ $.who = "a*" && $.level = "ERROR" }')] == [400]
    assert messages(startTime=events[-1]["timestamp"] + 1) == []
    # Paging: the same events, a few at a time.
    paged: list[str] = []
    kwargs: dict[str, Any] = {"limit": 4}
    while True:
        page = logs.filter_log_events(logGroupName=group, **kwargs)
        paged += [e["message"] for e in page["events"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert paged == [e["message"] for e in events]


def test_the_aws_cli_reads_the_same(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    invoke(client, fn_name, {"lines": 1, "who": "cli"})
    group = f"/aws/lambda/{fn_name}"
    wait_for_events(logs_client(lamina.endpoint), group, 5)
    found = aws(lamina.endpoint, "logs", "filter-log-events", "--log-group-name", group, "--filter-pattern",
                '{ $.who = "cli" }')  # fmt: skip
    assert [json.loads(e["message"])["who"] for e in found["events"]] == ["cli"]
    groups = aws(lamina.endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", group)
    assert [g["logGroupName"] for g in groups["logGroups"]] == [group]


def test_bad_requests_get_cloudwatch_logs_errors(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    logs = logs_client(lamina.endpoint)
    deploy(client, fn_name, CHATTY)
    invoke(client, fn_name, {})
    group = f"/aws/lambda/{fn_name}"
    wait_for_events(logs, group, 1)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("filter_log_events", {"logGroupName": "/aws/lambda/no-such-function"}, "ResourceNotFoundException"),
        ("get_log_events", {"logGroupName": group, "logStreamName": "no/such/stream"}, "ResourceNotFoundException"),
        ("filter_log_events", {"logGroupName": group, "filterPattern": "{ $.a = }"}, "InvalidParameterException"),
        ("filter_log_events", {"logGroupName": group, "nextToken": "bm90IGEgdG9rZW4"}, "InvalidParameterException"),
        ("filter_log_events", {"logGroupName": group, "startTime": 10, "endTime": 5}, "InvalidParameterException"),
        ("get_log_events", {"logGroupName": group, "logStreamName": "x", "nextToken": "f/abc"},
         "InvalidParameterException"),
        ("describe_log_streams", {"logGroupName": group, "nextToken": "x" * 100}, "InvalidParameterException"),
    ]  # fmt: skip
    for operation, kwargs, code in cases:
        with pytest.raises(ClientError) as refused:
            getattr(logs, operation)(**kwargs)
        assert refused.value.response["Error"]["Code"] == code, (operation, kwargs)


def test_another_accounts_caller_sees_only_its_own_groups(make_server: Any) -> None:
    server: LaminaProcess = make_server(LAMINA_ACCESS_KEYS="AKIAONE0000000001:secret-one:111111111111,AKIATWO0000000002:secret-two:222222222222")
    one = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="AKIAONE0000000001",
                       aws_secret_access_key="secret-one")  # fmt: skip
    role = make_role(server.endpoint, "runner", [], key="AKIAONE0000000001", secret="secret-one")
    deploy(one, "private", CHATTY, role=role)
    invoke(one, "private", {})
    mine = boto3.client("logs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="AKIAONE0000000001",
                        aws_secret_access_key="secret-one")  # fmt: skip
    wait_for_events(mine, "/aws/lambda/private", 3)
    theirs = boto3.client("logs", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="AKIATWO0000000002",
                          aws_secret_access_key="secret-two")  # fmt: skip
    assert theirs.describe_log_groups()["logGroups"] == []
    with pytest.raises(ClientError) as refused:
        theirs.filter_log_events(logGroupName="/aws/lambda/private")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_lamina_logs_since_and_filter(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, CHATTY)
    invoke(client, fn_name, {"lines": 2, "who": "old"})
    wait_for_events(logs_client(lamina.endpoint), f"/aws/lambda/{fn_name}", 7)
    env = {**os.environ, "LAMINA_ENDPOINT": lamina.endpoint}

    def lamina_logs(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "lamina", "logs", fn_name, *args], capture_output=True,
                              text=True, env=env, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return [line.split(" ", 1)[1] for line in done.stdout.splitlines()]  # without the clock

    assert [json.loads(m)["who"] for m in lamina_logs("--since", "1h", "--filter", '{ $.level = "ERROR" }')] == ["old"]
    assert len(lamina_logs("--filter", "?START ?REPORT")) == 3  # INIT_START, START, REPORT
    time.sleep(0.01)
    assert lamina_logs("--since", datetime.now().isoformat()) == []  # nothing since now
    bad = subprocess.run([sys.executable, "-m", "lamina", "logs", fn_name, "--since", "yesterday-ish"],
                         capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert bad.returncode != 0 and "is not a duration" in bad.stderr
    refused = subprocess.run([sys.executable, "-m", "lamina", "logs", fn_name, "--filter", "{ $.a = "],
                             capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert refused.returncode != 0 and "Invalid filter pattern" in refused.stderr


def test_log_groups_come_a_page_at_a_time_in_name_order(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    names = [f"{fn_name}-{suffix}" for suffix in ("c", "a", "b")]
    logs = logs_client(lamina.endpoint)
    for name in names:
        deploy(client, name, CHATTY)
        invoke(client, name, {"lines": 1})
        wait_for_events(logs, f"/aws/lambda/{name}", 4)
    prefix = f"/aws/lambda/{fn_name}-"
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == [prefix + "a", prefix + "b"]
    second = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2, nextToken=first["nextToken"])
    assert [g["logGroupName"] for g in second["logGroups"]] == [prefix + "c"]
    assert "nextToken" not in second and second["logGroups"][0]["creationTime"] > 0
    pages = logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 1})
    assert [g["logGroupName"] for page in pages for g in page["logGroups"]] == [prefix + s for s in "abc"]
