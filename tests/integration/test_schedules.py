"""EventBridge Scheduler against a real server with boto3's unchanged ``scheduler`` client: groups,
schedules, tags and AWS's errors; schedules that fire into real functions; a restart."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import ROLE, deploy
from tests.functions import wait_until
from tests import signing

ACCOUNT = "000000000000"
RECORDER = """
import json
def handler(event, context):
    print("FIRED " + json.dumps(event, sort_keys=True))
"""


def scheduler_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("scheduler", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip


def fired(endpoint: str, name: str) -> list[Any]:
    with signing.urlopen(f"{endpoint}/lamina/v1/functions/{name}/logs?since=0&limit=10000", timeout=10) as r:
        messages = [e["message"] for e in json.loads(r.read())["events"]]
    return [json.loads(m.split(" ", 1)[1]) for m in messages if m.startswith("FIRED ")]



def function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def target(name: str, **extra: Any) -> dict[str, Any]:
    return {"Arn": function_arn(name), "RoleArn": ROLE, **extra}


def error_code(info: pytest.ExceptionInfo[Any]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_groups_schedules_tags_and_errors(lamina: Any) -> None:
    sch = scheduler_client(lamina.endpoint)
    assert sch.get_schedule_group(Name="default")["State"] == "ACTIVE"
    arn = sch.create_schedule_group(Name="reports", Tags=[{"Key": "team", "Value": "ops"}])["ScheduleGroupArn"]
    assert arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/reports"
    with pytest.raises(sch.exceptions.ConflictException):
        sch.create_schedule_group(Name="reports")
    assert [g["Name"] for g in sch.list_schedule_groups(NamePrefix="rep")["ScheduleGroups"]] == ["reports"]
    sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "tier", "Value": "2"}])
    sch.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sch.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "tier", "Value": "2"}]

    created = sch.create_schedule(
        Name="nightly", GroupName="reports", ScheduleExpression="cron(0 3 * * ? *)",
        ScheduleExpressionTimezone="Europe/London", FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target=target("report", Input='{"kind": "nightly"}', RetryPolicy={"MaximumRetryAttempts": 3}),
        Description="the nightly report", ClientToken="token-1",
    )  # fmt: skip
    assert created["ScheduleArn"] == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/reports/nightly"
    again = sch.create_schedule(Name="nightly", GroupName="reports", ScheduleExpression="cron(0 3 * * ? *)",
                                FlexibleTimeWindow={"Mode": "OFF"}, Target=target("report"), ClientToken="token-1")  # fmt: skip
    assert again["ScheduleArn"] == created["ScheduleArn"]  # the same request again: idempotent
    with pytest.raises(sch.exceptions.ConflictException):
        sch.create_schedule(Name="nightly", GroupName="reports", ScheduleExpression="rate(1 day)",
                            FlexibleTimeWindow={"Mode": "OFF"}, Target=target("report"))  # fmt: skip
    got = sch.get_schedule(Name="nightly", GroupName="reports")
    assert got["ScheduleExpression"] == "cron(0 3 * * ? *)" and got["ScheduleExpressionTimezone"] == "Europe/London"
    assert got["Target"]["Input"] == '{"kind": "nightly"}'
    assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert got["State"] == "ENABLED" and got["ActionAfterCompletion"] == "NONE"
    assert isinstance(got["CreationDate"], datetime)

    sch.update_schedule(Name="nightly", GroupName="reports", ScheduleExpression="cron(30 4 ? * MON-FRI *)",
                        FlexibleTimeWindow={"Mode": "OFF"}, Target=target("report"), State="DISABLED")  # fmt: skip
    updated = sch.get_schedule(Name="nightly", GroupName="reports")
    assert updated["State"] == "DISABLED" and updated["CreationDate"] == got["CreationDate"]
    assert updated["LastModificationDate"] >= got["LastModificationDate"]

    for i in range(5):
        sch.create_schedule(Name=f"page-{i}", GroupName="reports", ScheduleExpression="rate(1 day)",
                            FlexibleTimeWindow={"Mode": "OFF"}, Target=target("report"))  # fmt: skip
    pages = list(sch.get_paginator("list_schedules").paginate(GroupName="reports", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [s["Name"] for p in pages for s in p["Schedules"]] == ["nightly"] + [f"page-{i}" for i in range(5)]
    assert [s["Name"] for s in sch.list_schedules(GroupName="reports", State="DISABLED")["Schedules"]] == ["nightly"]
    assert len(sch.list_schedules(NamePrefix="page-")["Schedules"]) == 5

    with pytest.raises(sch.exceptions.ValidationException) as invalid:
        sch.create_schedule(Name="bad", ScheduleExpression="cron(0 8 * * * *)", FlexibleTimeWindow={"Mode": "OFF"},
                            Target=target("report"))  # fmt: skip
    assert invalid.value.response["Error"]["Message"] == "Invalid Schedule Expression cron(0 8 * * * *)."
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.get_schedule(Name="nightly")  # in the default group there is none
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.create_schedule(Name="x", GroupName="nope", ScheduleExpression="rate(1 day)",
                            FlexibleTimeWindow={"Mode": "OFF"}, Target=target("report"))  # fmt: skip
    with pytest.raises(sch.exceptions.ValidationException):
        sch.delete_schedule_group(Name="default")
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.update_schedule(Name="absent", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                            Target=target("report"))  # fmt: skip
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.delete_schedule(Name="absent")
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.get_schedule_group(Name="absent")

    sch.delete_schedule(Name="page-0", GroupName="reports")
    sch.delete_schedule_group(Name="reports")  # its schedules go with it
    with pytest.raises(sch.exceptions.ResourceNotFoundException):
        sch.get_schedule(Name="page-1", GroupName="reports")
    assert sch.list_schedules(NamePrefix="page-")["Schedules"] == []


def test_schedules_fire_into_a_real_function(lamina: Any, fn_name: str) -> None:
    deploy(lamina.client(), fn_name, RECORDER)
    sch = scheduler_client(lamina.endpoint)
    now = datetime.now(timezone.utc)
    # A rate whose StartDate is two seconds away fires there (its first occurrence), with Input verbatim.
    sch.create_schedule(Name=f"{fn_name}-rate", ScheduleExpression="rate(1 minute)", StartDate=now + timedelta(seconds=2),
                        FlexibleTimeWindow={"Mode": "OFF"}, Target=target(fn_name, Input='{"from": "rate"}'))  # fmt: skip
    # A one-time schedule in New York's local time, two seconds away; without Input the event is {}.
    local = (now + timedelta(seconds=2)).astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    sch.create_schedule(Name=f"{fn_name}-once", ScheduleExpression=f"at({local.strftime('%Y-%m-%dT%H:%M:%S')})",
                        ScheduleExpressionTimezone="America/New_York", ActionAfterCompletion="DELETE",
                        FlexibleTimeWindow={"Mode": "OFF"}, Target=target(fn_name))  # fmt: skip
    events = wait_until(lambda: len(fired(lamina.endpoint, fn_name)) >= 2 and fired(lamina.endpoint, fn_name))
    assert sorted(events, key=len) == [{}, {"from": "rate"}]
    # The one-time schedule deleted itself once it had fired.
    wait_until(lambda: [s["Name"] for s in sch.list_schedules(NamePrefix=fn_name)["Schedules"]] == [f"{fn_name}-rate"])
    sch.delete_schedule(Name=f"{fn_name}-rate")


def test_a_cron_schedule_is_armed_for_its_next_firing(lamina: Any, fn_name: str) -> None:
    """Without waiting for the minute to turn: the firing itself is the same path as a rate's."""
    deploy(lamina.client(), fn_name, RECORDER)
    sch = scheduler_client(lamina.endpoint)
    before = datetime.now(timezone.utc)
    sch.create_schedule(Name=fn_name, ScheduleExpression="cron(*/5 * * * ? *)", FlexibleTimeWindow={"Mode": "OFF"},
                        Target=target(fn_name, Input='{"from": "cron"}'))  # fmt: skip
    # Lamina's own member of ListSchedules (boto3 leaves out what its model does not name).
    with signing.urlopen(f"{lamina.endpoint}/schedules?NamePrefix={fn_name}", timeout=10) as r:
        (listed,) = [s for s in json.loads(r.read())["Schedules"] if s["Name"] == fn_name]
    nominal = before.replace(minute=before.minute - before.minute % 5, second=0, microsecond=0) + timedelta(minutes=5)
    assert listed["NextFiring"] in (nominal.timestamp(), (nominal + timedelta(minutes=5)).timestamp())
    sch.delete_schedule(Name=fn_name)


def test_a_missing_function_dead_letters_to_the_outbox(lamina: Any, fn_name: str) -> None:
    sch = scheduler_client(lamina.endpoint)
    dlq = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{fn_name[:60]}"
    sch.create_schedule(Name=fn_name, ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                        StartDate=datetime.now(timezone.utc) + timedelta(seconds=1),
                        Target=target(f"{fn_name}-missing", Input='{"lost": true}', DeadLetterConfig={"Arn": dlq},
                                      RetryPolicy={"MaximumRetryAttempts": 0}))  # fmt: skip

    def letters() -> list[Any]:
        query = urllib.parse.urlencode({"target": dlq})
        with signing.urlopen(f"{lamina.endpoint}/lamina/v1/outbox?{query}", timeout=10) as r:
            return list(json.loads(r.read())["messages"])

    (letter,) = wait_until(letters)
    attributes = {k: v["StringValue"] for k, v in letter["attributes"].items()}
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert attributes["SCHEDULE_ARN"] == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/{fn_name}"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts" and attributes["RETRY_ATTEMPTS"] == "0"
    sch.delete_schedule(Name=fn_name)


def test_schedules_and_their_last_firing_survive_a_restart(make_server: Any, tmp_path: Any) -> None:
    server = make_server(tmp_path / "data")
    deploy(server.client(), "restart-fn", RECORDER)
    sch = scheduler_client(server.endpoint)
    sch.create_schedule_group(Name="kept")
    sch.create_schedule(Name="soon", GroupName="kept", ScheduleExpression="rate(1 hour)",
                        StartDate=datetime.now(timezone.utc) + timedelta(seconds=1),
                        FlexibleTimeWindow={"Mode": "OFF"}, Target=target("restart-fn"))  # fmt: skip
    wait_until(lambda: fired(server.endpoint, "restart-fn"))
    default_created = sch.get_schedule_group(Name="default")["CreationDate"]
    server.stop()
    server = make_server(tmp_path / "data")
    sch = scheduler_client(server.endpoint)
    assert sch.get_schedule_group(Name="default")["CreationDate"] == default_created
    assert [g["Name"] for g in sch.list_schedule_groups()["ScheduleGroups"]] == ["default", "kept"]
    assert sch.get_schedule(Name="soon", GroupName="kept")["ScheduleExpression"] == "rate(1 hour)"
    # The firing it took before the restart is not taken again. A repeat would be due at start,
    # before the server listens; a marker schedule created now fires after it would have.
    sch.create_schedule(Name="marker", ScheduleExpression="rate(1 hour)", FlexibleTimeWindow={"Mode": "OFF"},
                        StartDate=datetime.now(timezone.utc) + timedelta(seconds=1),
                        Target=target("restart-fn", Input='{"marker": true}'))  # fmt: skip
    events = wait_until(lambda: {"marker": True} in fired(server.endpoint, "restart-fn") and
                        fired(server.endpoint, "restart-fn"))  # fmt: skip
    assert sorted(events, key=len) == [{}, {"marker": True}]
