"""Event buses end to end: boto3's `events` client and the AWS CLI against a real server, real
functions receiving the events (they print them; the test reads their logs)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import wait_for_logs
from tests import signing

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "aws_events" / "eventBridgeEvent.json"
VENV_BIN = Path(sys.executable).parent
PRINTER = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
ACCOUNT = "000000000000"


def events_client(endpoint: str) -> Any:
    return boto3.client("events", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def received(endpoint: str, name: str, count: int = 1, marker: str = "EVENT ") -> list[dict[str, Any]]:
    """The events a PRINTER function has printed, once it has printed ``count`` (or 30 s passed)."""

    def events(lines: list[str]) -> list[dict[str, Any]]:
        return [json.loads(line.split(marker, 1)[1]) for line in lines if marker in line]

    return events(wait_for_logs(endpoint, name, lambda lines: len(events(lines)) >= count, timeout=30))


def aws_events(endpoint: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
    return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", endpoint, "events", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)  # fmt: skip


def outbox(endpoint: str, target: str) -> list[dict[str, Any]]:
    """The outbox's messages for ``target``, once there is one (or 30 s passed)."""
    deadline = time.monotonic() + 30
    while True:
        with signing.urlopen(f"{endpoint}/lamina/v1/outbox?target={target}", timeout=30) as resp:
            messages: list[dict[str, Any]] = json.loads(resp.read())["messages"]
        if messages or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


def rule_to(events: Any, bus: str, rule: str, pattern: dict[str, Any], function_arn: str) -> str:
    arn = str(events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(pattern))["RuleArn"])
    answer = events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "fn", "Arn": function_arn}])
    assert answer["FailedEntryCount"] == 0
    return arn


def test_put_events_reaches_a_function_in_eventbridges_envelope(lamina: LaminaProcess, client: Any,
                                                                 fn_name: str) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    events = events_client(lamina.endpoint)
    bus = f"bus-{fn_name}"
    events.create_event_bus(Name=bus)
    rule_arn = rule_to(events, bus, "placed", {"source": ["com.example.shop"], "detail": {"kind": ["big"]}},
                       fn["FunctionArn"])  # fmt: skip
    assert rule_arn == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{bus}/placed"
    answer = events.put_events(Entries=[
        {"EventBusName": bus, "Source": "com.example.shop", "DetailType": "Order Placed",
         "Detail": json.dumps({"kind": "big", "order": {"id": 7}}), "Resources": ["arn:aws:shop:order/7"]},
        {"EventBusName": bus, "Source": "com.example.shop", "DetailType": "Order Placed",
         "Detail": json.dumps({"kind": "small"})},  # accepted, matches no rule
        {"EventBusName": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{bus}", "Source": "com.example.shop",
         "DetailType": "Order Placed", "Detail": json.dumps({"kind": "big", "by": "arn"})},  # the bus by its ARN
    ])  # fmt: skip
    assert answer["FailedEntryCount"] == 0
    first_id = answer["Entries"][0]["EventId"]

    event, by_arn = sorted(received(lamina.endpoint, fn_name, 2), key=lambda e: "by" in e["detail"])
    assert by_arn["id"] == answer["Entries"][2]["EventId"]
    sample = json.loads(SAMPLE.read_text())
    sample.pop("replay-name")  # present only on events replayed from an archive
    assert list(event) == list(sample)  # key for key, in EventBridge's order
    for key, value in sample.items():
        assert type(event[key]) is type(value), key
    assert event["version"] == "0" and event["id"] == first_id
    assert (event["detail-type"], event["source"], event["account"], event["region"]) == (
        "Order Placed", "com.example.shop", ACCOUNT, "us-east-1")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    assert event["resources"] == ["arn:aws:shop:order/7"]
    assert event["detail"] == {"kind": "big", "order": {"id": 7}}


def test_the_aws_cli_puts_events_with_their_time(lamina: LaminaProcess, client: Any, fn_name: str,
                                                 tmp_path: Path) -> None:  # fmt: skip
    fn = deploy(client, fn_name, PRINTER)
    events = events_client(lamina.endpoint)
    rule_to(events, "default", f"cli-{fn_name}", {"source": [f"cli.{fn_name}"]}, fn["FunctionArn"])
    entries = [{"Time": "2016-01-14T01:02:03Z", "Source": f"cli.{fn_name}", "Resources": ["resource1"],
                "DetailType": "myDetailType", "Detail": "{ \"key1\": \"value1\" }"}]  # fmt: skip
    done = aws_events(lamina.endpoint, "put-events", "--entries", json.dumps(entries), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["FailedEntryCount"] == 0
    (event,) = received(lamina.endpoint, fn_name)
    assert event["id"] == answer["Entries"][0]["EventId"]
    assert (event["time"], event["detail"], event["resources"]) == ("2016-01-14T01:02:03Z", {"key1": "value1"},
                                                                   ["resource1"])  # fmt: skip
    listed = aws_events(lamina.endpoint, "list-rule-names-by-target", "--target-arn", fn["FunctionArn"], cwd=tmp_path)
    assert json.loads(listed.stdout)["RuleNames"] == [f"cli-{fn_name}"]


def test_bad_input_is_refused_with_eventbridges_errors(lamina: LaminaProcess, fn_name: str) -> None:
    events = events_client(lamina.endpoint)

    def error(call: Any, **params: Any) -> tuple[str, str, int]:
        with pytest.raises(ClientError) as info:
            call(**params)
        response = info.value.response
        return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]

    assert error(events.describe_rule, Name="absent") == (
        "ResourceNotFoundException", "Rule absent does not exist on EventBus default.", 400)
    assert error(events.describe_event_bus, Name="absent") == (
        "ResourceNotFoundException", "Event bus absent does not exist.", 400)
    assert error(events.put_rule, Name="r", EventBusName="absent", EventPattern="{}")[0] == "ResourceNotFoundException"
    assert error(events.put_rule, Name="r")[:2] == (
        "ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
    assert error(events.put_rule, Name="bad name", EventPattern="{}")[0] == "ValidationException"
    assert error(events.put_rule, Name=f"p-{fn_name}", EventPattern='{"source": "not a list"}')[0] == (
        "InvalidEventPatternException")
    assert error(events.delete_event_bus, Name="default")[:2] == (
        "ValidationException", "Cannot delete event bus default.")
    bus = f"bus-{fn_name}"
    events.create_event_bus(Name=bus)
    assert error(events.create_event_bus, Name=bus)[:2] == (
        "ResourceAlreadyExistsException", f"Event bus {bus} already exists.")
    assert error(events.put_rule, Name="s", EventBusName=bus, ScheduleExpression="rate(5 minutes)")[:2] == (
        "ValidationException", "ScheduleExpression is supported only on the default event bus.")
    assert error(events.put_rule, Name=f"s-{fn_name}", ScheduleExpression="every day")[:2] == (
        "ValidationException", "Parameter ScheduleExpression is not valid.")
    assert events.list_rules(NamePrefix=f"s-{fn_name}")["Rules"] == []  # nothing half-created

    events.put_rule(Name="r", EventBusName=bus, EventPattern='{"source": ["x"]}')
    failed = events.put_targets(Rule="r", EventBusName=bus, Targets=[
        {"Id": "ok", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}"},
        {"Id": "bad", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{fn_name}", "Input": "{not json"},
    ])  # fmt: skip
    assert failed["FailedEntryCount"] == 1 and failed["FailedEntries"][0]["TargetId"] == "bad"
    assert error(events.delete_rule, Name="r", EventBusName=bus)[:2] == (
        "ValidationException", "Rule can't be deleted since it has targets.")
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"]] == ["ok"]

    entry = {"Source": "s", "DetailType": "t", "Detail": "{}"}
    assert error(events.put_events, Entries=[entry] * 11)[0] == "ValidationException"
    big = {**entry, "Detail": json.dumps({"x": "y" * (256 * 1024)})}
    assert error(events.put_events, Entries=[big])[:2] == (
        "ValidationException", "Total size of the entries in the request is over the limit.")
    answer = events.put_events(Entries=[entry, {**entry, "Detail": "[1]"}, {**entry, "Source": "aws.ec2"},
                                        {**entry, "EventBusName": "absent"}])  # fmt: skip
    assert answer["FailedEntryCount"] == 3
    assert "EventId" in answer["Entries"][0]
    assert [(e.get("ErrorCode"), e.get("ErrorMessage")) for e in answer["Entries"][1:]] == [
        ("MalformedDetail", "Detail is malformed."),
        ("NotAuthorizedForSourceException", "Not authorized for the source."),
        ("ResourceNotFoundException", "Event bus absent does not exist."),
    ]

    request = urllib.request.Request(lamina.endpoint + "/", data=b"{}", method="POST", headers={
        "X-Amz-Target": "AWSEvents.NoSuchOperation", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as raw:
        signing.urlopen(request, timeout=30)
    assert raw.value.code == 400
    assert json.loads(raw.value.read())["__type"] == "UnknownOperationException"
    # The Lambda API's errors keep their own shape.
    with pytest.raises(urllib.error.HTTPError) as lambda_error:
        signing.urlopen(f"{lamina.endpoint}/2015-03-31/functions/absent-{fn_name}", timeout=30)
    assert lambda_error.value.code == 404
    assert lambda_error.value.headers["X-Amzn-ErrorType"] == "ResourceNotFoundException"
    assert "Message" in json.loads(lambda_error.value.read())


def test_listings_page_and_filter_and_tags_round_trip(lamina: LaminaProcess, fn_name: str) -> None:
    events = events_client(lamina.endpoint)
    bus = f"pages-{fn_name}"
    bus_arn = events.create_event_bus(Name=bus, Tags=[{"Key": "team", "Value": "a"}])["EventBusArn"]
    for i in range(5):
        events.put_rule(Name=f"rule-{i}", EventBusName=bus, EventPattern='{"source": ["x"]}',
                        State="DISABLED" if i == 3 else "ENABLED")  # fmt: skip
    first = events.list_rules(EventBusName=bus, Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["rule-0", "rule-1"] and first["NextToken"]
    names = [r["Name"] for page in events.get_paginator("list_rules").paginate(
        EventBusName=bus, PaginationConfig={"PageSize": 2}) for r in page["Rules"]]  # fmt: skip
    assert names == [f"rule-{i}" for i in range(5)]
    assert [r["State"] for r in events.list_rules(EventBusName=bus, NamePrefix="rule-3")["Rules"]] == ["DISABLED"]
    buses = [b["Name"] for b in events.list_event_buses(NamePrefix=bus)["EventBuses"]]
    assert buses == [bus]
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    rule_arn = events.describe_rule(Name="rule-0", EventBusName=bus)["Arn"]
    events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "k", "Value": "v"}, {"Key": "gone", "Value": "x"}])
    events.untag_resource(ResourceARN=rule_arn, TagKeys=["gone"])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert events.test_event_pattern(EventPattern='{"source": ["x"]}', Event=json.dumps({
        "id": "1", "account": ACCOUNT, "source": "x", "time": "2020-01-01T00:00:00Z", "region": "us-east-1",
        "detail-type": "t", "detail": {}}))["Result"] is True  # fmt: skip


def test_put_events_answered_then_kill_9_loses_nothing(make_server: Any, tmp_path: Path) -> None:
    """The first server cannot deliver (every asynchronous invocation is refused: a queue quota of 0,
    so deliveries are retried); it is killed right after PutEvents answered. Only the stored event
    can reach the function after the restart."""
    data = tmp_path / "data"
    first = make_server(data, LAMINA_ASYNC_QUEUE_EVENTS="0", LAMINA_EVENTS_RETRY_DELAY="0.2")
    fn = deploy(first.client(), "durable-target", PRINTER)
    events = events_client(first.endpoint)
    rule_to(events, "default", "durable", {"source": ["durable"]}, fn["FunctionArn"])
    answer = events.put_events(Entries=[{"Source": "durable", "DetailType": "t", "Detail": '{"n": 1}'}])
    assert answer["FailedEntryCount"] == 0
    first.kill()

    second = make_server(data)
    (event,) = received(second.endpoint, "durable-target")
    assert event["id"] == answer["Entries"][0]["EventId"] and event["detail"] == {"n": 1}


def test_a_lambda_destination_on_a_bus_reaches_a_rules_function(lamina: LaminaProcess, client: Any,
                                                                 fn_name: str) -> None:  # fmt: skip
    source = deploy(client, f"{fn_name}-src", "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    target = deploy(client, f"{fn_name}-dst", PRINTER)
    events = events_client(lamina.endpoint)
    bus = f"results-{fn_name}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    pattern = {"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]}
    rule_to(events, bus, "succeeded", pattern, target["FunctionArn"])
    client.put_function_event_invoke_config(FunctionName=f"{fn_name}-src",
                                            DestinationConfig={"OnSuccess": {"Destination": bus_arn}})  # fmt: skip
    invoked = client.invoke(FunctionName=f"{fn_name}-src", InvocationType="Event", Payload=b'{"n": 21}')
    request_id = invoked["ResponseMetadata"]["RequestId"]

    (event,) = received(lamina.endpoint, f"{fn_name}-dst")
    assert (event["source"], event["detail-type"]) == ("lambda", "Lambda Function Invocation Result - Success")
    assert event["resources"] == [bus_arn, source["FunctionArn"] + ":$LATEST"]
    record = event["detail"]
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "Success"
    assert (record["requestPayload"], record["responsePayload"]) == ({"n": 21}, {"doubled": 42})
    with signing.urlopen(f"{lamina.endpoint}/lamina/v1/outbox?target={bus_arn}", timeout=30) as resp:
        assert json.loads(resp.read())["messages"] == []  # taken from the outbox once on the bus


def test_the_walkthrough_in_docs_events_md_works_as_written(make_server: Any, tmp_path: Path) -> None:
    server = make_server()
    doc = (ROOT / "docs" / "events.md").read_text()
    walkthrough = doc.split("## Five minutes", 1)[1].split("\n## ", 1)[0]
    python_blocks = re.findall(r"```python\n(.*?)```", walkthrough, re.S)
    shell_blocks = re.findall(r"```sh\n(.*?)```", walkthrough, re.S)
    assert len(python_blocks) == 1 and len(shell_blocks) == 1

    def as_here(text: str) -> str:
        return text.replace("http://127.0.0.1:9000", server.endpoint).replace(".venv/bin/", f"{VENV_BIN}/")

    ran = subprocess.run([sys.executable, "-c", as_here(python_blocks[0])], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "EventId" in ran.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMINA_"))}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    shell = subprocess.run(["bash", "-euc", as_here(shell_blocks[0])], capture_output=True, text=True, cwd=ROOT,
                           env=env, timeout=120)  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert re.search(r"^orders\s+placed\s+ENABLED\s+\{\"source\".*\s+order-audit$", shell.stdout, re.M), shell.stdout
    orders = [e["detail"]["order"] for e in received(server.endpoint, "order-audit", 3, "ORDER ")]
    assert sorted(orders) == [1, 2, 3]


def test_an_alias_target_runs_its_version_and_a_missing_function_leaves_a_dead_letter(
    lamina: LaminaProcess, client: Any, fn_name: str
) -> None:
    deploy(client, fn_name, PRINTER)
    version = client.publish_version(FunctionName=fn_name)["Version"]
    alias_arn = client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)["AliasArn"]
    events = events_client(lamina.endpoint)
    source = f"alias.{fn_name}"
    events.put_rule(Name=f"alias-{fn_name}", EventPattern=json.dumps({"source": [source]}))
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq-{fn_name}"
    missing = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:absent-{fn_name}"
    events.put_targets(Rule=f"alias-{fn_name}", Targets=[
        {"Id": "alias", "Arn": alias_arn},
        {"Id": "missing", "Arn": missing, "DeadLetterConfig": {"Arn": dlq}},
    ])  # fmt: skip
    answer = events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": "{}"}])
    event_id = answer["Entries"][0]["EventId"]

    lines = wait_for_logs(lamina.endpoint, fn_name, lambda lines: any("EVENT " in line for line in lines), timeout=30)
    assert any(f"Version: {version}" in line for line in lines)  # the alias's version ran it
    (letter,) = outbox(lamina.endpoint, dlq)
    assert json.loads(letter["body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in letter["attributes"].items()}
    assert attributes == {
        "RULE_ARN": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/alias-{fn_name}", "TARGET_ARN": missing,
        "ERROR_CODE": "NO_RESOURCE", "ERROR_MESSAGE": f"Function not found: {missing}",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "0",
    }  # fmt: skip


def test_targets_receive_input_path_and_transformed_input(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    fn = deploy(client, fn_name, PRINTER)
    events = events_client(lamina.endpoint)
    rule = f"shaped-{fn_name}"
    # The whole pattern language reaches PutRule: prefix, numeric, anything-but and $or together.
    pattern = {"source": [{"prefix": f"shop.{fn_name}"}],
               "detail": {"total": [{"numeric": [">", 100]}], "state": [{"anything-but": "test"}],
                          "$or": [{"vip": [True]}, {"country": ["PT", "NL"]}]}}  # fmt: skip
    rule_arn = events.put_rule(Name=rule, EventPattern=json.dumps(pattern))["RuleArn"]
    template = '{"order": <id>, "who": "<name> of <aws.events.rule-name>", "rule": <aws.events.rule-arn>}'
    answer = events.put_targets(Rule=rule, Targets=[
        {"Id": "path", "Arn": fn["FunctionArn"], "InputPath": "$.detail.items[0]"},
        {"Id": "shaped", "Arn": fn["FunctionArn"], "InputTransformer": {
            "InputPathsMap": {"id": "$.detail.id", "name": "$.detail.customer.name"}, "InputTemplate": template}},
    ])  # fmt: skip
    assert answer["FailedEntryCount"] == 0
    refused = events.put_targets(Rule=rule, Targets=[
        {"Id": "both", "Arn": fn["FunctionArn"], "Input": "{}", "InputPath": "$.detail"},
        {"Id": "bad-slot", "Arn": fn["FunctionArn"], "InputTransformer": {"InputTemplate": '{"a": <nope>}'}},
    ])  # fmt: skip
    assert refused["FailedEntryCount"] == 2
    assert {e["ErrorCode"] for e in refused["FailedEntries"]} == {"ValidationException"}

    def detail(**fields: Any) -> dict[str, Any]:
        base = {"id": 7, "customer": {"name": "Ana"}, "items": [{"sku": "a"}], "total": 150, "state": "new"}
        return {"Source": f"shop.{fn_name}.eu", "DetailType": "Order", "Detail": json.dumps({**base, **fields})}

    sent = events.put_events(Entries=[
        detail(vip=True),
        detail(vip=False, country="ES"),  # fails $or
        detail(total=50, vip=True),  # fails numeric
        detail(state="test", vip=True),  # fails anything-but
    ])  # fmt: skip
    assert sent["FailedEntryCount"] == 0
    got = received(lamina.endpoint, fn_name, 2)
    assert sorted(got, key=json.dumps) == sorted([
        {"sku": "a"},
        {"order": 7, "who": f"Ana of {rule}", "rule": rule_arn},
    ], key=json.dumps)  # fmt: skip
    time.sleep(1)  # the events that match nothing must not arrive late either
    assert len(received(lamina.endpoint, fn_name, 2)) == 2
