"""CloudWatch's metric reads (AWS/Lambda) driven by boto3's `cloudwatch` client in each protocol
CloudWatch speaks (json-1.0: what current botocore picks; RPC v2 CBOR and query: botocore's own
model told to speak them) and by the AWS CLI, over known invocations, on a server of this module's
own with two accounts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import botocore
import botocore.session
import cbor2
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, make_zip, server_env
from tests.functions import wait_until
from tests.roles import make_role
from tests.signing import headers as signed

ACCOUNT_A, ACCOUNT_B = "111111111111", "222222222222"
KEY_A, SECRET_A = "AKIDWATCHEDA00000001", "secret-of-a"
KEY_B, SECRET_B = "AKIDWATCHEDB00000001", "secret-of-b"
CODE = "def handler(event, context):\n    if event.get('fail'):\n        raise ValueError('no')\n    return 'ok'\n"
PROTOCOLS = ("json", "smithy-rpc-v2-cbor", "query")
NS = "AWS/Lambda"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """botocore's own CloudWatch model, once for each protocol it lists (botocore speaks the first it knows)."""
    source = Path(botocore.__file__).parent / "data" / "cloudwatch" / "2010-08-01" / "service-2.json.gz"
    model = json.loads(gzip.decompress(source.read_bytes()))
    assert model["metadata"]["protocols"] == ["smithy-rpc-v2-cbor", "json", "query"]
    roots = {}
    for protocol in PROTOCOLS:
        root = tmp_path_factory.mktemp(protocol.replace("-", ""))
        folder = root / "cloudwatch" / "2010-08-01"
        folder.mkdir(parents=True)
        changed = {**model, "metadata": {**model["metadata"], "protocol": protocol, "protocols": [protocol]}}
        (folder / "service-2.json").write_text(json.dumps(changed))
        roots[protocol] = root
    return roots


def cloudwatch(endpoint: str, models: dict[str, Path], protocol: str = "json", key: str = KEY_A,
               secret: str = SECRET_A) -> Any:  # fmt: skip
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(models[protocol]))
    client = boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip
    assert client.meta.service_model.resolved_protocol == protocol
    return client


def lam(endpoint: str, key: str = KEY_A, secret: str = SECRET_A) -> Any:
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def window() -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(minutes=30), "EndTime": now + timedelta(minutes=5)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: dict[str, Path]) -> Iterator[LaminaProcess]:
    """Account A: ``counted`` invoked 3 times and failing once, once more through its alias ``live``;
    ``off`` (reserved concurrency 0) throttled twice; ``queued`` invoked asynchronously twice.
    Account B: nothing."""
    env = server_env(LAMINA_ACCESS_KEYS=f"{KEY_A}:{SECRET_A}:{ACCOUNT_A},{KEY_B}:{SECRET_B}:{ACCOUNT_B}",
                     LAMINA_ACCOUNT_ID=ACCOUNT_A)  # fmt: skip
    process = LaminaProcess(tmp_path_factory.mktemp("cw-metrics"), env).start()
    client = lam(process.endpoint)
    role = make_role(process.endpoint, "fn-role", [], key=KEY_A, secret=SECRET_A)
    for name in ("counted", "off", "queued"):
        client.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
                               Code={"ZipFile": make_zip({"app.py": CODE})})  # fmt: skip
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    version = client.publish_version(FunctionName="counted")["Version"]
    client.create_alias(FunctionName="counted", Name="live", FunctionVersion=version)
    for event in ({}, {}, {"fail": True}):
        client.invoke(FunctionName="counted", Payload=json.dumps(event).encode())
    client.invoke(FunctionName="counted", Qualifier="live", Payload=b"{}")
    client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            client.invoke(FunctionName="off", Payload=b"{}")
        assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    for _ in range(2):
        assert client.invoke(FunctionName="queued", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    cw = cloudwatch(process.endpoint, models)

    def recorded() -> bool:  # the recorder writes in batches, off the invocation path
        total = cw.get_metric_statistics(Namespace=NS, MetricName="Invocations", Period=60, Statistics=["Sum"],
                                         **window())["Datapoints"]  # fmt: skip
        throttles = cw.get_metric_statistics(Namespace=NS, MetricName="Throttles", Period=60, Statistics=["Sum"],
                                             **window())["Datapoints"]  # fmt: skip
        return sum(p["Sum"] for p in total) == 6 and sum(p["Sum"] for p in throttles) == 2

    wait_until(recorded, timeout=20)
    yield process
    process.stop()


def stats(cw: Any, metric: str, dims: dict[str, str], **kwargs: Any) -> dict[str, float]:
    """One datapoint over the window (an hour's period holds it all): its statistics by name."""
    args = {"Statistics": ["Sum", "SampleCount", "Average", "Minimum", "Maximum"], **kwargs}
    points = cw.get_metric_statistics(Namespace=NS, MetricName=metric, Period=3600 * 3,
                                      Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
                                      StartTime=datetime.now(timezone.utc) - timedelta(hours=1),
                                      EndTime=datetime.now(timezone.utc) + timedelta(hours=1), **args)["Datapoints"]  # fmt: skip
    assert len(points) <= 1
    return dict(points[0]) if points else {}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_exact_sums_in_every_protocol(server: LaminaProcess, models: dict[str, Path], protocol: str) -> None:
    cw = cloudwatch(server.endpoint, models, protocol)
    counted = {"FunctionName": "counted"}
    invocations = stats(cw, "Invocations", counted)
    assert (invocations["Sum"], invocations["SampleCount"], invocations["Unit"]) == (4.0, 4.0, "Count")
    assert isinstance(invocations["Timestamp"], datetime)
    errors = stats(cw, "Errors", counted)
    assert (errors["Sum"], errors["Average"]) == (1.0, 0.25)  # one in four: the error rate
    duration = stats(cw, "Duration", counted)
    assert duration["SampleCount"] == 4 and 0 < duration["Minimum"] <= duration["Average"] <= duration["Maximum"]
    assert duration["Unit"] == "Milliseconds"
    percentiles = _percentiles(cw)
    assert percentiles["p50"] <= percentiles["p99.9"] == duration["Maximum"]
    # The alias's own series, and the version it ran.
    live = {"FunctionName": "counted", "Resource": "counted:live"}
    assert stats(cw, "Invocations", live)["Sum"] == 1.0
    version = lam(server.endpoint).get_alias(FunctionName="counted", Name="live")["FunctionVersion"]
    assert stats(cw, "Invocations", {**live, "ExecutedVersion": version})["Sum"] == 1.0
    assert stats(cw, "Invocations", {"FunctionName": "counted", "Resource": "counted"})["Sum"] == 3.0
    assert stats(cw, "Invocations", {})["Sum"] == 6.0  # the account's every function
    assert stats(cw, "AsyncEventsReceived", {"FunctionName": "queued"})["Sum"] == 2.0
    assert stats(cw, "Invocations", {"FunctionName": "queued"})["Sum"] == 2.0
    throttles = stats(cw, "Throttles", {"FunctionName": "off"})
    assert (throttles["Sum"], throttles["SampleCount"]) == (2.0, 2.0)
    assert stats(cw, "Invocations", {"FunctionName": "off"}) == {}
    assert stats(cw, "ConcurrentExecutions", counted)["Maximum"] >= 1.0
    assert stats(cw, "Invocations", counted, Unit="Seconds") == {}  # no unit conversions


def _percentiles(cw: Any) -> dict[str, float]:
    now = datetime.now(timezone.utc)
    (point,) = cw.get_metric_statistics(
        Namespace=NS, MetricName="Duration", Dimensions=[{"Name": "FunctionName", "Value": "counted"}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(hours=1), Period=3600 * 3,
        ExtendedStatistics=["p50", "p99.9"])["Datapoints"]  # fmt: skip
    return dict(point["ExtendedStatistics"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_metric_data_and_list_metrics(server: LaminaProcess, models: dict[str, Path], protocol: str) -> None:
    cw = cloudwatch(server.endpoint, models, protocol)

    def query(qid: str, metric: str, stat: str, **dims: str) -> dict[str, Any]:
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": NS, "MetricName": metric, "Dimensions": [
            {"Name": k, "Value": v} for k, v in dims.items()]}, "Period": 60, "Stat": stat}}

    got = cw.get_metric_data(MetricDataQueries=[
        query("calls", "Invocations", "Sum", FunctionName="counted"), query("errs", "Errors", "Sum", FunctionName="counted"),
        {**query("thr", "Throttles", "Sum", FunctionName="off"), "Label": "throttled"},
        query("slow", "Duration", "p90", FunctionName="counted"),
        {"Id": "rate", "Expression": "100 * SUM(METRICS(\"Errors\")) / calls", "Label": "error rate"},
    ], **window())  # fmt: skip
    results = {r["Id"]: r for r in got["MetricDataResults"]}
    assert sum(results["calls"]["Values"]) == 4.0 and sum(results["errs"]["Values"]) == 1.0
    assert results["thr"]["Label"] == "throttled" and sum(results["thr"]["Values"]) == 2.0
    assert all(r["StatusCode"] == "Complete" for r in results.values()) and "NextToken" not in got
    assert len(results["slow"]["Timestamps"]) == len(results["slow"]["Values"]) >= 1
    # Metric math: the errors over the invocations, a minute at a time.
    rates = dict(zip(results["rate"]["Timestamps"], results["rate"]["Values"]))
    calls = dict(zip(results["calls"]["Timestamps"], results["calls"]["Values"]))
    errs = dict(zip(results["errs"]["Timestamps"], results["errs"]["Values"]))
    assert rates == {t: 100 * errs.get(t, 0) / n for t, n in calls.items() if t in errs}
    assert max(rates.values()) > 0

    listed = cw.list_metrics(Namespace=NS, MetricName="Throttles")["Metrics"]
    dims = sorted(tuple((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed)
    assert dims == [(), (("FunctionName", "off"),), (("FunctionName", "off"), ("Resource", "off"))]
    executed = cw.list_metrics(Namespace=NS, Dimensions=[{"Name": "ExecutedVersion"}])["Metrics"]
    assert {m["MetricName"] for m in executed} == {"Invocations", "Errors", "Duration", "ConcurrentExecutions"}
    assert cw.list_metrics(Namespace="AWS/EC2")["Metrics"] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_bad_requests_get_cloudwatchs_errors(server: LaminaProcess, models: dict[str, Path], protocol: str) -> None:
    cw = cloudwatch(server.endpoint, models, protocol)

    def code(call: Any, **kwargs: Any) -> tuple[str, str]:
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        error = info.value.response["Error"]
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return str(error["Code"]), str(error["Message"])

    now = datetime.now(timezone.utc)
    base = {"Namespace": NS, "MetricName": "Invocations", "StartTime": now - timedelta(hours=1), "EndTime": now}
    assert code(cw.get_metric_statistics, **base, Period=60)[0] == "InvalidParameterCombination"
    assert code(cw.get_metric_statistics, **base, Period=90, Statistics=["Sum"])[0] == "InvalidParameterValue"
    too_many = code(cw.get_metric_statistics, **{**base, "StartTime": now - timedelta(days=2)}, Period=60,
                    Statistics=["Sum"])  # fmt: skip
    assert too_many[0] == "InvalidParameterCombination" and "exceeds the limit of 1,440" in too_many[1]
    assert code(cw.get_metric_statistics, **{**base, "EndTime": now - timedelta(hours=2)}, Period=60,
                Statistics=["Sum"])[0] == "InvalidParameterValue"  # fmt: skip
    assert code(cw.get_metric_data, MetricDataQueries=[{"Id": "e1", "Expression": "FILL(m1, 0)"}],
                StartTime=base["StartTime"], EndTime=now)[0] == "InvalidParameterValue"  # fmt: skip
    assert code(cw.get_metric_data, MetricDataQueries=[{"Id": "a", "MetricStat": {
        "Metric": {"Namespace": NS, "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}}],
        StartTime=base["StartTime"], EndTime=now, NextToken="forged")[0] == "InvalidNextToken"  # fmt: skip
    assert code(cw.list_metrics, NextToken="forged")[0] == "InvalidParameterValue"


def test_each_account_sees_its_own_metrics(server: LaminaProcess, models: dict[str, Path]) -> None:
    other = cloudwatch(server.endpoint, models, "json", KEY_B, SECRET_B)
    assert other.list_metrics(Namespace=NS)["Metrics"] == []
    assert stats(other, "Invocations", {"FunctionName": "counted"}) == {}
    assert stats(other, "Invocations", {}) == {}


def test_iam_decides_who_reads_metrics(server: LaminaProcess, models: dict[str, Path]) -> None:
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=KEY_A,
                       aws_secret_access_key=SECRET_A)  # fmt: skip
    iam.create_user(UserName="dashboards")
    iam.put_user_policy(UserName="dashboards", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["cloudwatch:GetMetricData"], "Resource": "*"}]}))  # fmt: skip
    key = iam.create_access_key(UserName="dashboards")["AccessKey"]
    for protocol in PROTOCOLS:
        cw = cloudwatch(server.endpoint, models, protocol, key["AccessKeyId"], key["SecretAccessKey"])
        got = cw.get_metric_data(MetricDataQueries=[{"Id": "a", "MetricStat": {
            "Metric": {"Namespace": NS, "MetricName": "Invocations"}, "Period": 60, "Stat": "Sum"}}], **window())  # fmt: skip
        assert sum(got["MetricDataResults"][0]["Values"]) == 6.0
        with pytest.raises(ClientError) as info:
            cw.list_metrics(Namespace=NS)
        assert info.value.response["Error"]["Code"] == "AccessDenied", protocol
        assert "cloudwatch:ListMetrics" in info.value.response["Error"]["Message"]


def test_the_aws_cli(server: LaminaProcess) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_A, "AWS_SECRET_ACCESS_KEY": SECRET_A,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint}  # fmt: skip
    now = datetime.now(timezone.utc)
    done = subprocess.run([str(Path(sys.executable).with_name("aws")), "cloudwatch", "get-metric-statistics",
                           "--namespace", NS, "--metric-name", "Errors", "--dimensions", "Name=FunctionName,Value=counted",
                           "--start-time", (now - timedelta(hours=1)).isoformat(), "--end-time", now.isoformat(),
                           "--period", "7200", "--statistics", "Sum", "SampleCount", "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    (point,) = json.loads(done.stdout)["Datapoints"]
    assert (point["Sum"], point["SampleCount"]) == (1.0, 4.0)


def post_cbor(server: LaminaProcess, body: bytes, operation: str = "ListMetrics",
              protocol: str | None = "rpc-v2-cbor") -> tuple[int, dict[str, str], Any]:  # fmt: skip
    url = f"{server.endpoint}/service/GraniteServiceVersion20100801/operation/{operation}"
    sent = {"Content-Type": "application/cbor", **({"smithy-protocol": protocol} if protocol else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers={
        **sent, **signed("POST", url, body, sent, service="monitoring", key=KEY_A, secret=SECRET_A)})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), cbor2.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), cbor2.loads(error.read())


@pytest.mark.parametrize("body", [
    b"\xa1\x61a",  # truncated
    b"\x81" * 100_000 + b"\x00",  # deeply nested
    b"\x5b" + b"\xff" * 8,  # a string of 2**64 - 1 bytes
    b"\xbb\x7f" + b"\xff" * 7,  # a map of 2**63 - 1 pairs
    b"\xd8\x1c\x81\xd8\x1d\x00",  # shared references
    cbor2.dumps(["not", "a", "map"]),
    b"\xa1\x69Namespace" + b"\x1b" + b"\xff" * 8,  # a member of the wrong type
])  # fmt: skip
def test_hostile_cbor_bodies_get_clean_errors(server: LaminaProcess, body: bytes) -> None:
    status, answer_headers, answer = post_cbor(server, body)
    assert status == 400
    assert answer_headers["smithy-protocol"] == "rpc-v2-cbor"
    assert answer["__type"].startswith("com.amazonaws.cloudwatch#")
    assert answer_headers["x-amzn-query-error"].endswith(";Sender")
    assert post_cbor(server, b"")[0] == 200  # still serving


def test_the_cbor_protocols_own_refusals(server: LaminaProcess) -> None:
    status, _, answer = post_cbor(server, b"", protocol=None)
    assert status == 400 and answer["__type"].endswith("#SerializationException")
    status, _, answer = post_cbor(server, b"", operation="PutMetricAlarm")
    assert status == 404 and answer["__type"].endswith("#UnknownOperationException")


def post_query(server: LaminaProcess, form: str) -> tuple[int, str]:
    body = form.encode()
    sent = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    request = urllib.request.Request(server.endpoint + "/", data=body, method="POST", headers={
        **sent, **signed("POST", server.endpoint + "/", body, sent, service="monitoring", key=KEY_A, secret=SECRET_A)})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize(("form", "code"), [
    ("Action=ListMetrics&Version=2010-08-01&" + ".".join(["Dimensions"] * 5000) + "=x", "InvalidParameterValue"),
    ("Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS/Lambda&MetricName=Errors&Period=60"
     "&StartTime=2026-01-01T00:00:00Z&EndTime=2026-01-01T01:00:00Z&Statistics.member.99999999999=Sum",
     "InvalidParameterValue"),
    ("Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS/Lambda&MetricName=Errors&Period=60"
     "&StartTime=not-a-time&EndTime=2026-01-01T01:00:00Z&Statistics.member.1=Sum", "InvalidParameterValue"),
    ("Action=GetMetricStatistics&Version=2010-08-01&MetricName=Errors", "MissingParameter"),
    ("Action=DeleteAlarms&Version=2010-08-01", "InvalidAction"),
])  # fmt: skip
def test_hostile_query_requests_get_xml_errors(server: LaminaProcess, form: str, code: str) -> None:
    status, text = post_query(server, form)
    assert status == 400 and f"<Code>{code}</Code>" in text and "<Type>Sender</Type>" in text, text
    assert 'xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"' in text


def test_counts_and_the_ledger_survive_a_restart(make_server: Any, tmp_path: Path, models: dict[str, Path]) -> None:
    first = make_server(tmp_path / "data")
    client = lam(first.endpoint, "test", "test")
    role = make_role(first.endpoint, "fn-role", [])
    client.create_function(FunctionName="kept", Runtime="python3.11", Role=role, Handler="app.handler",
                           Code={"ZipFile": make_zip({"app.py": CODE})})  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName="kept", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.invoke(FunctionName="kept", Payload=b"{}")
    client.put_function_concurrency(FunctionName="kept", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError):
        client.invoke(FunctionName="kept", Payload=b"{}")
    assert first.stop() == 0  # a graceful stop writes what the recorder still holds
    second = make_server(tmp_path / "data")
    cw = cloudwatch(second.endpoint, models, "smithy-rpc-v2-cbor", "test", "test")
    assert stats(cw, "Invocations", {"FunctionName": "kept"})["Sum"] == 1.0
    assert stats(cw, "Throttles", {"FunctionName": "kept"})["Sum"] == 1.0
