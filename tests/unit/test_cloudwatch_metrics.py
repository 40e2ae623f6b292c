"""CloudWatch's AWS/Lambda metrics as pure decisions: samples and datapoints from ledger rows and
counts, requests checked as CloudWatch checks them, query members unflattened, and hostile CBOR
bodies refused before they are decoded."""

from __future__ import annotations

from datetime import datetime, timezone

import cbor2
import pytest

from lamina.api.cloudwatch import unflatten
from lamina.api.rpcv2 import Malformed, check, decode
from lamina.cloudwatch import answers, requests, series
from lamina.cloudwatch.errors import CloudWatchError, InvalidNextToken, Serialization
from lamina.store.base import InvocationRecord, MetricCount

T0 = 1_800_000_000_000 - 1_800_000_000_000 % 3_600_000  # an hour's start, in ms
FN = (("FunctionName", "f"),)


def record(at: int, duration: float = 10.0, outcome: str = "success", function: str = "f",
           qualifier: str | None = None, version: str = "$LATEST") -> InvocationRecord:  # fmt: skip
    return InvocationRecord(f"r{at}", function, version, at, duration, 10, 128, 30, None, outcome, qualifier)


def test_invocations_errors_and_durations_by_dimensions() -> None:
    rows = [record(T0, 10), record(T0 + 1, 30, "Unhandled"), record(T0 + 2, 20, function="g"),
            record(T0 + 3, 40, qualifier="live", version="3")]  # fmt: skip
    end = T0 + 60_000

    def total(metric: str, dims: series.Dimensions) -> list[float]:
        return [s.value for s in series.samples(metric, dims, rows, [], T0, end)]

    assert total("Invocations", ()) == [1.0] * 4
    assert total("Invocations", FN) == [1.0] * 3
    assert total("Errors", FN) == [0.0, 1.0, 0.0]
    assert total("Duration", FN) == [10.0, 30.0, 40.0]
    live = series.dimensions([("FunctionName", "f"), ("Resource", "f:live")])
    assert total("Invocations", live) == [1.0]
    assert total("Invocations", series.dimensions([*live, ("ExecutedVersion", "3")])) == [1.0]
    assert total("Invocations", series.dimensions([*live, ("ExecutedVersion", "2")])) == []
    assert total("Invocations", series.dimensions([("FunctionName", "f"), ("Resource", "f")])) == [1.0, 1.0]
    assert total("Invocations", (("Resource", "f"),)) == []  # CloudWatch matches dimension sets exactly
    assert total("Nonsense", ()) == []


def test_statistics_and_percentiles_of_a_period() -> None:
    rows = [record(T0 + n * 1000, float(n + 1)) for n in range(100)]
    found = series.samples("Duration", FN, rows, [], T0, T0 + 120_000)
    (point,) = series.datapoints(found, T0, T0 + 120_000, 120)
    assert (point.sample_count, point.total, point.minimum, point.maximum) == (100, 5050.0, 1.0, 100.0)
    assert point.statistic("Average") == 50.5
    assert point.statistic("p50") == 50.0 and point.statistic("p99") == 99.0 and point.statistic("p100") == 100.0
    assert point.statistic("p0.0") == 1.0
    # Periods of a minute: two datapoints, each aligned on the start.
    assert [(p.timestamp_ms, p.sample_count) for p in series.datapoints(found, T0, T0 + 120_000, 60)] == [
        (T0, 60.0), (T0 + 60_000, 40.0)]


def test_throttles_come_from_counts() -> None:
    counts = [MetricCount("f", "", "Throttles", T0, 3), MetricCount("f", "live", "Throttles", T0 + 60_000, 2),
              MetricCount("g", "", "Throttles", T0, 1)]  # fmt: skip
    (point,) = series.datapoints(series.samples("Throttles", FN, [], counts, T0, T0 + 300_000), T0, T0 + 300_000, 300)
    assert (point.total, point.sample_count, point.statistic("Average")) == (5.0, 5.0, 1.0)
    everyone = series.samples("Throttles", (), [], counts, T0, T0 + 60_000)
    assert sum(s.times for s in everyone) == 4


def test_concurrency_is_the_most_running_at_once_each_minute() -> None:
    rows = [record(T0, 30_000), record(T0 + 10_000, 5_000), record(T0 + 12_000, 1_000),  # 3 at once
            record(T0 + 50_000, 20_000),  # into the next minute, alone there
            record(T0 + 130_000, 1_000), record(T0 + 131_000, 1_000)]  # back to back: never two at once
    found = series.concurrency(rows, T0, T0 + 180_000)
    assert [(s.at_ms - T0, s.value) for s in found] == [(0, 3.0), (60_000, 1.0), (120_000, 1.0)]
    # A long invocation started before the window counts in each minute it spans.
    long = [record(T0 - 120_000, 200_000)]  # until T0 + 80 s
    assert [s.at_ms - T0 for s in series.concurrency(long, T0, T0 + 600_000)] == [0, 60_000]
    # One that ends exactly as a minute begins did not run in it.
    exact = [record(T0 - 30_000, 90_000)]
    assert [s.at_ms - T0 for s in series.concurrency(exact, T0, T0 + 600_000)] == [0]


def test_listed_metrics_and_filters() -> None:
    found = series.listed([("f", None, "$LATEST"), ("f", "live", "3")], [MetricCount("g", "", "Throttles", T0, 1)])
    names = {(m.name, m.dimensions) for m in found}
    assert ("Invocations", ()) in names and ("Throttles", ()) in names
    assert ("Duration", series.dimensions([("FunctionName", "f"), ("Resource", "f:live"), ("ExecutedVersion", "3")])) in names
    assert not any(m.name == "Throttles" and ("ExecutedVersion", "3") in m.dimensions for m in found)
    only_g = series.filtered(found, "Throttles", [("FunctionName", "g")])
    assert [m.dimensions for m in only_g] == [(("FunctionName", "g"),),
                                               series.dimensions([("FunctionName", "g"), ("Resource", "g")])]
    assert {m.name for m in series.filtered(found, None, [("ExecutedVersion", None)])} == set(series.FROM_LEDGER)


def stats_members(**extra: object) -> dict[str, object]:
    return {"Namespace": "AWS/Lambda", "MetricName": "Invocations", "StartTime": datetime.fromtimestamp(T0 / 1000, timezone.utc),
            "EndTime": (T0 + 3_600_000) / 1000, "Period": 60, "Statistics": ["Sum"], **extra}  # fmt: skip


@pytest.mark.parametrize(("extra", "code", "words"), [
    ({"Namespace": None}, "MissingParameter", "The parameter Namespace is required."),
    ({"Period": 61}, "InvalidParameterValue", "multiple of 60"),
    ({"Period": 0}, "InvalidParameterValue", "greater than 0"),
    ({"Period": "sixty"}, "InvalidParameterValue", "integer"),
    ({"EndTime": T0 / 1000}, "InvalidParameterValue", "StartTime must be less than"),
    ({"StartTime": "yesterday"}, "InvalidParameterValue", "timestamp"),
    ({"Statistics": ["Median"]}, "InvalidParameterValue", "Statistics.member.1"),
    ({"Statistics": None}, "InvalidParameterCombination", "either Statistics or ExtendedStatistics"),
    ({"ExtendedStatistics": ["p99"]}, "InvalidParameterCombination", "but not both"),
    ({"Statistics": None, "ExtendedStatistics": ["tm99"]}, "InvalidParameterValue", "tm99"),
    ({"Statistics": ["Sum"] * 6}, "InvalidParameterValue", "greater than 5"),
    ({"EndTime": (T0 + 1441 * 60_000) / 1000}, "InvalidParameterCombination", "1,441 datapoints"),
    ({"Dimensions": [{"Name": "FunctionName"}]}, "MissingParameter", "Dimensions.member.1.Value"),
    ({"Dimensions": [{"Name": "A", "Value": "1"}] * 31}, "InvalidParameterValue", "greater than 30"),
    ({"Dimensions": "FunctionName=f"}, "InvalidParameterValue", "must be a list"),
    ({"Unit": "Parsecs"}, "InvalidParameterValue", "Unit"),
])  # fmt: skip
def test_statistics_requests_are_checked_as_cloudwatch_does(extra: dict[str, object], code: str, words: str) -> None:
    members = {k: v for k, v in stats_members(**extra).items() if v is not None}
    with pytest.raises(CloudWatchError) as info:
        requests.statistics_request(members, T0)
    assert info.value.code == code and words in info.value.message
    assert info.value.headers() == {"x-amzn-query-error": f"{code};Sender"}


def test_start_times_are_rounded_as_cloudwatch_rounds_them() -> None:
    now = T0 + 100 * 86_400_000
    assert requests.rounded_start(now - 3_601_234, 60, now) == now - 3_660_000
    assert requests.rounded_start(T0 + 70 * 86_400_000 + 123_456, 60, now) == T0 + 70 * 86_400_000  # hour
    assert requests.rounded_start(T0 + 50 * 86_400_000 + 423_456, 60, now) == T0 + 50 * 86_400_000 + 300_000
    assert requests.rounded_start(T0 + 17_000, 5, now) == T0 + 15_000


def test_metric_data_pages_across_queries() -> None:
    rows = [record(T0 + 1000), record(T0 + 61_000), record(T0 + 62_000)]
    query = {"MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}, "Period": 60, "Stat": "Sum"}}
    members = {"MetricDataQueries": [{"Id": "a", **query}, {"Id": "b", **query, "Label": "B"}],
               "StartTime": T0 / 1000, "EndTime": (T0 + 120_000) / 1000, "MaxDatapoints": 3}  # fmt: skip
    first = answers.data(requests.data_request(members, T0), rows, [])
    a, b = first["MetricDataResults"]  # type: ignore[misc]
    assert a["Values"] == [2.0, 1.0] and a["StatusCode"] == "Complete"  # newest first by default
    assert b["Label"] == "B" and b["Values"] == [2.0] and b["StatusCode"] == "PartialData"
    second = answers.data(requests.data_request({**members, "NextToken": first["NextToken"]}, T0), rows, [])
    assert [r["Values"] for r in second["MetricDataResults"]] == [[], [1.0]]  # type: ignore[attr-defined]
    assert "NextToken" not in second
    with pytest.raises(InvalidNextToken):
        requests.data_request({**members, "NextToken": "not-a-token"}, T0)
    ascending = answers.data(requests.data_request({**members, "ScanBy": "TimestampAscending"}, T0), rows, [])
    assert ascending["MetricDataResults"][0]["Values"] == [1.0, 2.0]  # type: ignore[index]


@pytest.mark.parametrize(("queries", "words"), [
    ([{"Id": "A1", "MetricStat": {}}], "lowercase letter"),
    ([{"Id": "e1", "Expression": "FILL(m1, 0)"}], "FILL is not supported"),
    ([{"Id": "e1", "Expression": "SELECT AVG(Duration) FROM \"AWS/Lambda\""}], "SELECT is not supported"),
    ([{"Id": "e1", "Expression": "m1 +"}], "expected more"),
    ([{"Id": "e1", "Expression": "(" * 100 + "1" + ")" * 100}], "nested too deeply"),
    ([{"Id": "e1", "Expression": "x * 2"}], "Unrecognized metric id x"),
    ([{"Id": "e1", "Expression": "e2 * 2"}, {"Id": "e2", "Expression": "e1 + 1"}], "circular reference"),
    ([{"Id": "e1"}], "mutually exclusive"),
    ([{"Id": "x", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 60,
                                 "Stat": "Sum"}}] * 2, "duplicated"),
    ([{"Id": "x", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}, "Period": 60,
                                 "Stat": "IQM"}}], "IQM"),
])  # fmt: skip
def test_metric_data_queries_are_checked(queries: list[object], words: str) -> None:
    with pytest.raises(CloudWatchError) as info:
        requests.data_request({"MetricDataQueries": queries, "StartTime": T0 / 1000, "EndTime": T0 / 1000 + 60}, T0)
    assert words in info.value.message


def test_other_namespaces_and_units_have_no_data() -> None:
    rows = [record(T0)]
    other = requests.statistics_request(stats_members(Namespace="AWS/EC2"), T0)
    assert answers.statistics(other, rows, [])["Datapoints"] == []
    wrong_unit = requests.statistics_request(stats_members(Unit="Seconds"), T0)
    assert answers.statistics(wrong_unit, rows, [])["Datapoints"] == []
    right = requests.statistics_request(stats_members(Unit="Count"), T0)
    assert answers.statistics(right, rows, [])["Datapoints"][0]["Sum"] == 1.0  # type: ignore[index]


def test_query_members_are_unflattened() -> None:
    pairs = {"Action": "GetMetricData", "Version": "2010-08-01", "StartTime": "2026-01-01T00:00:00Z",
             "MetricDataQueries.member.2.Id": "b", "MetricDataQueries.member.1.Id": "a",
             "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name": "FunctionName",
             "MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value": "f",
             "MetricDataQueries.member.10.Id": "c", "Odd": "1", "Odd.member.1": "2"}  # fmt: skip
    members = unflatten(pairs)
    assert [q["Id"] for q in members["MetricDataQueries"]] == ["a", "b", "c"]  # type: ignore[attr-defined]
    assert members["MetricDataQueries"][0]["MetricStat"]["Metric"]["Dimensions"] == [  # type: ignore[index]
        {"Name": "FunctionName", "Value": "f"}]
    assert members["Odd"] == "1" and "Action" not in members
    assert requests._time_ms(members, "StartTime") == 1_767_225_600_000



def test_hostile_query_members_are_refused() -> None:
    # An index too large to be a list's is no list: refused, never allocated.
    members = unflatten({"Statistics.member.99999999999": "Sum", "Namespace": "AWS/Lambda"})
    assert members["Statistics"] == {"99999999999": "Sum"}
    with pytest.raises(CloudWatchError) as info:
        requests.statistics_request({**stats_members(), "Statistics": members["Statistics"]}, T0)
    assert "must be a list" in info.value.message
    # A member both a value and a structure keeps the value; a key nested deeper than any member is refused.
    assert unflatten({"A": "1", "A.B": "2"})["A"] == "1"
    with pytest.raises(CloudWatchError):
        unflatten({".".join(["X"] * 5000): "v"})


@pytest.mark.parametrize("body", [
    b"\xa1\x61a",  # a map whose value is missing
    b"\x5b" + b"\xff" * 8,  # a byte string of 2**64 - 1 bytes
    b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00",  # an array of 2**32 items
    b"\xbb" + b"\x7f" + b"\xff" * 7,  # a map of 2**63 - 1 pairs
    b"\x81" * 10_000 + b"\x00",  # nested ten thousand deep
    b"\xd8\x1c\x81\xd8\x1d\x00",  # shared references (tags 28 and 29)
    b"\xc2\x49" + b"\x01" * 9,  # a bignum
    b"\xa0\x00",  # bytes after the item
    b"\x9f\x01\x02",  # an indefinite array never closed
    b"\xff",  # a lone break
    b"\x1c",  # reserved additional information
])  # fmt: skip
def test_hostile_cbor_is_refused_before_decoding(body: bytes) -> None:
    with pytest.raises(Malformed):
        check(body)
    with pytest.raises(Serialization):
        decode(body)


def test_well_formed_cbor_decodes() -> None:
    when = datetime.fromtimestamp(T0 / 1000, timezone.utc)
    body = cbor2.dumps({"StartTime": when, "Statistics": ["Sum"], "Period": 60, "x": [{"y": b"z", "f": 1.5}]},
                       datetime_as_timestamp=True)  # fmt: skip
    check(body)
    assert decode(body)["StartTime"] == when
    assert decode(b"") == {}
    with pytest.raises(Serialization):
        decode(cbor2.dumps([1, 2]))  # not a map
    with pytest.raises(Serialization):
        decode(b"\xc1\x63abc")  # a timestamp that is text


def test_metric_math_over_the_other_queries() -> None:
    rows = [record(T0 + 1000), record(T0 + 2000, outcome="Unhandled"), record(T0 + 61_000), record(T0 + 62_000)]

    def stat(qid: str, metric: str, **extra: object) -> dict[str, object]:
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric}, "Period": 60,
                                          "Stat": "Sum"}, "ReturnData": False, **extra}  # fmt: skip

    queries = [stat("calls", "Invocations"), stat("errs", "Errors", Label="errors"),
               {"Id": "rate", "Expression": "100 * errs / calls", "Label": "Error rate"},
               {"Id": "total", "Expression": "SUM(METRICS())"}, {"Id": "only", "Expression": 'MAX(METRICS("errors"))'},
               {"Id": "listed", "Expression": "AVG([calls, errs]) - -1"}, {"Id": "zero", "Expression": "calls / (errs - errs)"},
               {"Id": "later", "Expression": "rate / 100"}]  # fmt: skip
    got = answers.data(requests.data_request({"MetricDataQueries": queries, "StartTime": T0 / 1000,
                                              "EndTime": (T0 + 120_000) / 1000, "ScanBy": "TimestampAscending"}, T0),
                       rows, [])  # fmt: skip
    results = {r["Id"]: r for r in got["MetricDataResults"]}  # type: ignore[attr-defined]
    assert set(results) == {"rate", "total", "only", "listed", "zero", "later"}  # ReturnData false: not answered
    assert results["rate"]["Values"] == [50.0, 0.0] and results["rate"]["Label"] == "Error rate"
    assert results["total"]["Values"] == [3.0, 2.0] and results["only"]["Values"] == [1.0, 0.0]
    assert results["listed"]["Values"] == [2.5, 2.0]
    assert results["zero"]["Values"] == []  # a division by zero leaves its timestamp out
    assert results["later"]["Values"] == [0.5, 0.0] and results["later"]["Label"] == "later"
    assert len(results["rate"]["Timestamps"]) == 2
    with pytest.raises(CloudWatchError) as info:
        answers.data(requests.data_request({"MetricDataQueries": [stat("calls", "Invocations"),
                                                                  {"Id": "e", "Expression": "calls + METRICS()"}],
                                            "StartTime": T0 / 1000, "EndTime": (T0 + 120_000) / 1000}, T0), rows, [])  # fmt: skip
    assert "aggregate it" in info.value.message
