"""CloudWatch Logs' subscription filters to functions: boto3's `logs` client puts, describes and
deletes them; a collector function receives the matching lines of another function's log group in
the `awslogs` shape (gzip + base64), batched, at least once across a restart."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy
from tests.functions import arn, invoke, wait_until
from tests.roles import make_role

SOURCE = """
import base64, json, os
def handler(event, context):
    for line in event.get("lines", []):
        print(line)
    for n in range(event.get("many", 0)):
        print(f"many {event['tag']} {n}")
    for n in range(event.get("huge", 0)):
        print(f"huge {event['tag']} {n} " + base64.b64encode(os.urandom(112_500)).decode())
    return "ok"
"""

# Prints a line per event it received: the payload's envelope as AWS shapes it (which invocation
# brought it, how many events it held) and the event's keys, id, size and first characters.
COLLECTOR = """
import base64, gzip, json
def handler(event, context):
    assert list(event) == ["awslogs"] and list(event["awslogs"]) == ["data"]
    message = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    events = message.pop("logEvents")
    for e in events:
        print("GOT " + json.dumps({"payload": context.aws_request_id, "count": len(events), "envelope": message,
                                   "keys": sorted(e), "id": e["id"], "timestamp": e["timestamp"],
                                   "size": len(e["message"]), "head": e["message"][:40].rstrip("\\n")}))
"""


def logs_client(endpoint: str, key: str = "test", secret: str = "test") -> Any:
    return boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret)  # fmt: skip


def received(logs: Any, collector: str, group: str | None = None) -> list[dict[str, Any]]:
    """The payloads the collector has printed so far (into ``group``, if not its own), each its
    envelope with its ``events``."""
    lines, token = [], None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": group or f"/aws/lambda/{collector}", "filterPattern": "GOT"}
        if token:
            kwargs["nextToken"] = token
        try:
            page = logs.filter_log_events(**kwargs)
        except ClientError:
            return []
        lines += [json.loads(e["message"].split("GOT ", 1)[1]) for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    payloads: dict[str, dict[str, Any]] = {}
    for line in lines:
        payload = payloads.setdefault(line["payload"], {**line["envelope"], "count": line["count"], "events": []})
        payload["events"].append({k: line[k] for k in ("keys", "id", "timestamp", "size", "head")})
    return [p for p in payloads.values() if len(p["events"]) == p["count"]]  # those printed whole


def heads(payloads: list[dict[str, Any]]) -> list[str]:
    return [e["head"] for p in payloads for e in p["events"]]


def wait_for_heads(logs: Any, collector: str, wanted: set[str], timeout: float = 60) -> list[dict[str, Any]]:
    return list(wait_until(lambda: (lambda got: got if wanted <= set(heads(got)) else None)(received(logs, collector)),
                           timeout=timeout))  # fmt: skip


def test_filters_are_put_described_and_deleted_with_aws_errors(lamina: LaminaProcess, client: Any,
                                                               fn_name: str) -> None:  # fmt: skip
    logs = logs_client(lamina.endpoint)
    source, collector = fn_name + "-src", fn_name + "-col"
    deploy(client, source, SOURCE)
    deploy(client, collector, COLLECTOR)
    group = f"/aws/lambda/{source}"
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                                 destinationArn=arn(collector))  # fmt: skip
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="?ERROR ?FATAL",
                                 destinationArn=arn(collector), distribution="Random",
                                 roleArn="arn:aws:iam::000000000000:role/ignored")  # an update, not a second filter
    logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                 destinationArn=arn(collector))  # fmt: skip
    described = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [f["filterName"] for f in described] == ["all", "errors"]
    errors = described[1]
    assert set(errors) == {"filterName", "logGroupName", "filterPattern", "destinationArn", "roleArn",
                           "distribution", "applyOnTransformedLogs", "creationTime"}  # fmt: skip
    assert (errors["filterPattern"], errors["distribution"], errors["destinationArn"]) == (
        "?ERROR ?FATAL", "Random", arn(collector))
    page = logs.describe_subscription_filters(logGroupName=group, limit=1)
    assert [f["filterName"] for f in page["subscriptionFilters"]] == ["all"]
    rest = logs.describe_subscription_filters(logGroupName=group, limit=1, nextToken=page["nextToken"])
    assert [f["filterName"] for f in rest["subscriptionFilters"]] == ["errors"]
    assert [f["filterName"] for f in logs.describe_subscription_filters(
        logGroupName=group, filterNamePrefix="err")["subscriptionFilters"]] == ["errors"]

    def refused(operation: str, code: str, message: str | None = None, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as caught:
            getattr(logs, operation)(**kwargs)
        assert caught.value.response["Error"]["Code"] == code, (operation, kwargs)
        if message is not None:
            assert caught.value.response["Error"]["Message"] == message

    put = {"logGroupName": group, "filterName": "third", "filterPattern": "", "destinationArn": arn(collector)}
    refused("put_subscription_filter", "LimitExceededException", "Resource limit exceeded.", **put)
    no_permission = ("Could not execute the lambda function. Make sure you have given CloudWatch Logs permission "
                     "to execute your function.")  # fmt: skip
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"logGroupName": "/aws/lambda/no-such-function"}, "ResourceNotFoundException",
         "The specified log group does not exist."),
        ({"destinationArn": arn("no-such-function")}, "InvalidParameterException", no_permission),
        ({"destinationArn": arn(collector) + ":nope"}, "InvalidParameterException", no_permission),
        ({"destinationArn": f"arn:aws:lambda:us-east-1:111111111111:function:{collector}"},
         "InvalidParameterException", no_permission),
        ({"destinationArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}, "InvalidParameterException", None),
        ({"destinationArn": "arn:aws:firehose:us-east-1:000000000000:deliverystream/s"},
         "InvalidParameterException", None),
        ({"destinationArn": "not an arn"}, "InvalidParameterException", None),
        ({"destinationArn": arn(source)}, "InvalidParameterException", None),  # its own group: a loop
        ({"filterPattern": "{ $.a = }"}, "InvalidParameterException", None),
        ({"filterPattern": "x" * 1025}, "InvalidParameterException", None),
        ({"filterName": "a:b"}, "InvalidParameterException", None),
        ({"filterName": "x" * 513}, "InvalidParameterException", None),
        ({"distribution": "Everywhere"}, "InvalidParameterException", None),
        ({"logGroupName": "../../etc/passwd"}, "ResourceNotFoundException", None),  # a name, of no group
        ({"logGroupName": "bad group*"}, "InvalidParameterException", None),
    ]  # fmt: skip
    for change, code, message in cases:
        refused("put_subscription_filter", code, message, **{**put, "filterName": "errors", **change})
    refused("describe_subscription_filters", "InvalidParameterException", logGroupName=group, nextToken="x" * 100)
    refused("describe_subscription_filters", "ResourceNotFoundException", logGroupName="/aws/lambda/nothing")
    refused("delete_subscription_filter", "ResourceNotFoundException", "The specified subscription filter does not exist.",
            logGroupName=group, filterName="never")  # fmt: skip
    logs.delete_subscription_filter(logGroupName=group, filterName="all")
    assert [f["filterName"] for f in logs.describe_subscription_filters(
        logGroupName=group)["subscriptionFilters"]] == ["errors"]
    assert [f["filterPattern"] for f in logs.describe_subscription_filters(
        logGroupName=group)["subscriptionFilters"]] == ["?ERROR ?FATAL"]  # the refused puts changed nothing


def test_matching_lines_reach_the_function_batched_in_the_awslogs_shape(lamina: LaminaProcess, client: Any,
                                                                        fn_name: str) -> None:  # fmt: skip
    logs = logs_client(lamina.endpoint)
    source, collector = fn_name + "-src", fn_name + "-col"
    deploy(client, source, SOURCE)
    deploy(client, collector, COLLECTOR)
    invoke(client, source, {"lines": ["keep before the filter"]})  # before it: not delivered
    wait_until(lambda: logs.filter_log_events(logGroupName=f"/aws/lambda/{source}", filterPattern="before")["events"])
    group = f"/aws/lambda/{source}"
    logs.put_subscription_filter(logGroupName=group, filterName="keeper", filterPattern="keep",
                                 destinationArn=arn(collector))  # fmt: skip
    invoke(client, source, {"lines": ["keep one", "drop two", "keep three"], "many": 300, "tag": "keep"})
    wanted = {"keep one", "keep three"} | {f"many keep {n}" for n in range(300)}
    payloads = wait_for_heads(logs, collector, wanted)
    events = [e for p in payloads for e in p["events"]]
    assert set(heads(payloads)) == wanted  # the pattern applied: nothing else, not the line before the filter
    assert len({e["id"] for e in events}) == len(wanted)  # each event once (no restart in between)
    assert len(payloads) < len(events)  # batched
    for payload in payloads:
        assert set(payload) == {"messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "events",
                                "count"}
        assert (payload["messageType"], payload["owner"], payload["logGroup"], payload["subscriptionFilters"]) == (
            "DATA_MESSAGE", "000000000000", group, ["keeper"])
        assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", payload["logStream"]), payload["logStream"]
        assert all(e["keys"] == ["id", "message", "timestamp"] and len(e["id"]) == 56 for e in payload["events"])
    streams = {s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]}
    assert {p["logStream"] for p in payloads} <= streams
    # The collector's own lines (its group) never come back to it: it has no filter, and may not have one.
    with pytest.raises(ClientError):
        logs.put_subscription_filter(logGroupName=f"/aws/lambda/{collector}", filterName="loop", filterPattern="",
                                     destinationArn=arn(collector))  # fmt: skip


def test_huge_and_many_lines_are_delivered_whole(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    logs = logs_client(lamina.endpoint)
    source, collector = fn_name + "-src", fn_name + "-col"
    deploy(client, source, SOURCE, MemorySize=512, Timeout=60)
    deploy(client, collector, COLLECTOR, MemorySize=512, Timeout=60)
    logs.put_subscription_filter(logGroupName=f"/aws/lambda/{source}", filterName="all", filterPattern="",
                                 destinationArn=arn(collector))  # fmt: skip
    # Eight lines of 150 kB of random base64: more than an invocation's 1 MB payload, even gzipped.
    invoke(client, source, {"huge": 8, "many": 3000, "tag": "t"})
    wanted = {f"many t {n}" for n in range(3000)} | {f"huge t {n} " for n in range(8)}

    def delivered() -> list[dict[str, Any]] | None:
        got = received(logs, collector)
        return got if wanted <= {h if not h.startswith("huge") else h[:9] for h in heads(got)} else None

    payloads = wait_until(delivered, timeout=120)
    huge = [e for p in payloads for e in p["events"] if e["head"].startswith("huge t ")]
    assert sorted(e["head"][:9] for e in huge) == sorted(f"huge t {n} " for n in range(8))  # each once
    assert all(e["size"] == len("huge t 0 ") + 150_000 + 1 for e in huge)  # and its newline  # whole, not truncated
    assert len([p for p in payloads if any(e["head"].startswith("huge") for e in p["events"])]) >= 2  # split
    many = [e for p in payloads for e in p["events"] if e["head"].startswith("many t ")]
    assert len(many) == len({e["id"] for e in many}) == 3000


def test_delivery_resumes_after_a_restart_without_losing_lines(make_server: Any, tmp_path: Any) -> None:
    server: LaminaProcess = make_server(tmp_path / "data")
    client = server.client()
    deploy(client, "source", SOURCE)
    deploy(client, "collector", COLLECTOR)
    logs = logs_client(server.endpoint)
    logs.put_subscription_filter(logGroupName="/aws/lambda/source", filterName="f", filterPattern="keep",
                                 destinationArn=arn("collector"))  # fmt: skip
    invoke(client, "source", {"many": 50, "tag": "keep-a", "lines": ["skip a"]})
    assert server.stop() == 0  # at once: whether the lines were delivered yet or not, none is lost
    server.start()
    client, logs = server.client(), logs_client(server.endpoint)
    invoke(client, "source", {"many": 50, "tag": "keep-b", "lines": ["skip b"]})
    wanted = {f"many keep-{tag} {n}" for tag in "ab" for n in range(50)}
    payloads = wait_for_heads(logs, "collector", wanted)
    assert set(heads(payloads)) == wanted
    assert [f["filterName"] for f in logs.describe_subscription_filters(
        logGroupName="/aws/lambda/source")["subscriptionFilters"]] == ["f"]  # stored
    logs.delete_subscription_filter(logGroupName="/aws/lambda/source", filterName="f")
    server.stop()
    server.start()
    assert logs_client(server.endpoint).describe_subscription_filters(
        logGroupName="/aws/lambda/source")["subscriptionFilters"] == []


def test_outside_the_development_mode_the_function_must_allow_cloudwatch_logs(make_server: Any) -> None:
    key, secret = "AKIAONE0000000001", "secret-one"
    server: LaminaProcess = make_server(LAMINA_ACCESS_KEYS=f"{key}:{secret}:000000000000")
    client = boto3.client("lambda", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                          aws_secret_access_key=secret)  # fmt: skip
    role = make_role(server.endpoint, "runner", [], key=key, secret=secret)
    deploy(client, "source", SOURCE, role=role)
    deploy(client, "collector", COLLECTOR, role=role)
    logs = logs_client(server.endpoint, key, secret)
    put = {"logGroupName": "/aws/lambda/source", "filterName": "f", "filterPattern": "",
           "destinationArn": arn("collector")}  # fmt: skip
    with pytest.raises(ClientError) as refused:
        logs.put_subscription_filter(**put)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "given CloudWatch Logs permission" in refused.value.response["Error"]["Message"]
    client.add_permission(FunctionName="collector", StatementId="logs", Action="lambda:InvokeFunction",
                          Principal="logs.amazonaws.com",
                          SourceArn="arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/source:*")  # fmt: skip
    # A user allowed only to describe filters may not put one (logs:PutSubscriptionFilter on the group).
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key,
                       aws_secret_access_key=secret)  # fmt: skip
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:DescribeSubscriptionFilters",
                                                "Resource": "*"}]}))  # fmt: skip
    access = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = logs_client(server.endpoint, access["AccessKeyId"], access["SecretAccessKey"])
    with pytest.raises(ClientError) as denied:
        reader.put_subscription_filter(**put)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "logs:PutSubscriptionFilter" in denied.value.response["Error"]["Message"]
    logs.put_subscription_filter(**put)
    assert [f["filterName"] for f in reader.describe_subscription_filters(
        logGroupName="/aws/lambda/source")["subscriptionFilters"]] == ["f"]
    invoke(client, "source", {"lines": ["allowed now"]})
    assert "allowed now" in heads(wait_for_heads(logs, "collector", {"allowed now"}))


def test_the_destination_never_receives_its_own_lines_in_a_group_it_comes_to_share(lamina: LaminaProcess,
                                                                                    client: Any, fn_name: str) -> None:  # fmt: skip
    logs = logs_client(lamina.endpoint)
    source, collector, group = fn_name + "-src", fn_name + "-col", f"/shared/{fn_name}"
    deploy(client, source, SOURCE, LoggingConfig={"LogFormat": "Text", "LogGroup": group})
    deploy(client, collector, COLLECTOR)
    logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="",
                                 destinationArn=arn(collector))  # fmt: skip
    with pytest.raises(ClientError) as refused:  # a second filter from the collector's own group: refused
        logs.put_subscription_filter(logGroupName=f"/aws/lambda/{collector}", filterName="x", filterPattern="",
                                     destinationArn=arn(collector))  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    client.update_function_configuration(FunctionName=collector, LoggingConfig={"LogFormat": "Text", "LogGroup": group})
    wait_until(lambda: client.get_function_configuration(FunctionName=collector)["LastUpdateStatus"] == "Successful")

    def got(wanted: set[str]) -> list[dict[str, Any]]:
        return list(wait_until(lambda: (lambda p: p if wanted <= set(heads(p)) else None)(
            received(logs, collector, group)), timeout=60))  # fmt: skip

    invoke(client, source, {"lines": ["first"]})
    got({"first"})  # the collector has printed it into the shared group
    invoke(client, source, {"lines": ["second"]})
    payloads = got({"second"})  # delivered by a turn that read the collector's lines before the source's
    collectors = {e["logStreamName"] for e in logs.filter_log_events(logGroupName=group, filterPattern="GOT")["events"]}
    assert collectors and not {p["logStream"] for p in payloads} & collectors  # none of the collector's own lines
    assert not [h for h in heads(payloads) if h.startswith("GOT")]


def test_payloads_the_destination_cannot_take_yet_are_delivered_later(make_server: Any) -> None:
    # One event queued a function at most: while the collector takes a payload, the next is refused (429)
    # and must be delivered again later, from where the filter stopped.
    server: LaminaProcess = make_server(LAMINA_ASYNC_QUEUE_EVENTS="1")
    client, logs = server.client(), logs_client(server.endpoint)
    deploy(client, "source", SOURCE)
    deploy(client, "collector", COLLECTOR)
    logs.put_subscription_filter(logGroupName="/aws/lambda/source", filterName="f", filterPattern="many",
                                 destinationArn=arn("collector"))  # fmt: skip
    invoke(client, "source", {"many": 3000, "tag": "q"})
    wanted = {f"many q {n}" for n in range(3000)}
    payloads = wait_for_heads(logs, "collector", wanted, timeout=120)
    assert sorted(heads(payloads)) == sorted(wanted)  # each once: the checkpoint stopped where it was refused
