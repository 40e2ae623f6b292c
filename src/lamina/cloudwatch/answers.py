"""GetMetricStatistics', GetMetricData's and ListMetrics' answers from a request and what the store
holds for its window (pure). Answers are plain members (timestamps as aware datetimes, values as
floats) that each protocol encodes its own way (api/cloudwatch.py).

Only AWS/Lambda has metrics: another namespace's metric has no datapoints, as a metric nothing was
published to has none. A ``Unit`` other than the metric's has none either (CloudWatch converts no
units).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from lamina.cloudwatch import expressions, series
from lamina.cloudwatch.errors import InvalidParameterValue
from lamina.cloudwatch.requests import LIST_PAGE, DataQuery, DataRequest, ListRequest, Metric, StatisticsRequest
from lamina.cloudwatch.requests import encode_token, unit_of
from lamina.store.base import InvocationRecord, MetricCount

Members = dict[str, object]
RECENT_MS = 3 * 3_600_000  # ListMetrics' RecentlyActive (PT3H)
LISTED_MS = 14 * 86_400_000  # a metric is listed for two weeks after its last datapoint


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def _points(metric: Metric, unit: str | None, period_s: int, start_ms: int, end_ms: int,
            records: Sequence[InvocationRecord], counts: Sequence[MetricCount]) -> list[series.Datapoint]:  # fmt: skip
    if metric.namespace != series.NAMESPACE or (unit is not None and unit != unit_of(metric)):
        return []
    found = series.samples(metric.name, metric.dimensions, records, counts, start_ms, end_ms)
    return series.datapoints(found, start_ms, end_ms, period_s)


def statistics(req: StatisticsRequest, records: Sequence[InvocationRecord], counts: Sequence[MetricCount]) -> Members:
    points = _points(req.metric, req.unit, req.period_s, req.start_ms, req.end_ms, records, counts)
    unit = unit_of(req.metric) if req.metric.namespace == series.NAMESPACE else "None"
    out = []
    for p in points:
        point: Members = {"Timestamp": _when(p.timestamp_ms)}
        for name in req.statistics:
            point[name] = p.statistic(name)
        point["Unit"] = unit
        if req.extended:
            point["ExtendedStatistics"] = {name: p.statistic(name) for name in req.extended}
        out.append(point)
    return {"Label": req.metric.name, "Datapoints": out}


def data(req: DataRequest, records: Sequence[InvocationRecord], counts: Sequence[MetricCount]) -> Members:
    """Every query's datapoints (metric math evaluated over the others') in ScanBy's order, then paged:
    ``MaxDatapoints`` at a time across the queries in their order (a query cut short is
    ``PartialData``), from the token's offset."""
    found = _series_of(req, records, counts)
    results: list[Members] = []
    skip, room, more = req.offset, req.max_datapoints, False
    for q in req.queries:
        if not q.return_data:
            continue
        points = sorted(found[q.id].items(), reverse=not req.ascending)
        dropped = min(skip, len(points))
        skip -= dropped
        kept = points[dropped : dropped + room]
        room -= len(kept)
        partial = dropped + len(kept) < len(points)
        more = more or partial
        results.append({
            "Id": q.id, "Label": _label(q), "Timestamps": [_when(t) for t, _ in kept], "Values": [v for _, v in kept],
            "StatusCode": "PartialData" if partial else "Complete",
        })  # fmt: skip
    answer: Members = {"MetricDataResults": results, "Messages": []}
    if more:
        answer["NextToken"] = encode_token(req.offset + req.max_datapoints)
    return answer


def _label(q: DataQuery) -> str:
    if q.label is not None:
        return q.label
    return q.metric.name if q.metric is not None else q.id


def _series_of(req: DataRequest, records: Sequence[InvocationRecord],
               counts: Sequence[MetricCount]) -> dict[str, expressions.Series]:  # fmt: skip
    """Each query's series by id: MetricStat queries' datapoints, then expressions over them."""
    found: dict[str, expressions.Series] = {}
    by_function: dict[str, list[InvocationRecord]] = {}
    for r in records:  # so that a query naming a function reads its rows only, however many queries
        by_function.setdefault(r.function, []).append(r)
    folded: dict[tuple[Metric, str | None, int], list[series.Datapoint]] = {}  # a metric asked for twice
    for q in req.queries:
        if q.metric is not None:
            key = (q.metric, q.unit, q.period_s)
            if key not in folded:
                named = dict(q.metric.dimensions).get(series.FUNCTION)
                rows = records if named is None else by_function.get(named, [])
                folded[key] = _points(q.metric, q.unit, q.period_s, req.start_ms, req.end_ms, rows, counts)
            found[q.id] = {p.timestamp_ms: p.statistic(q.stat) for p in folded[key]}
    by_id = {q.id: q for q in req.queries}

    def lookup(qid: str) -> expressions.Series:  # references were checked: known, and acyclic
        if qid not in found:
            found[qid] = _evaluated(by_id[qid])
        return found[qid]

    def metrics(label: str | None) -> list[expressions.Series]:
        return [found[q.id] for q in req.queries if q.metric is not None and (label is None or label in _label(q))]

    def _evaluated(q: DataQuery) -> expressions.Series:
        assert q.expression is not None
        try:
            value = expressions.evaluate(q.expression, lookup, metrics)
        except expressions.ExpressionError as exc:
            raise InvalidParameterValue(f"Error in expression {q.id}: {exc}.") from None
        if not isinstance(value, dict):
            raise InvalidParameterValue(f"Error in expression {q.id}: the expression must be a single time series.")
        return value

    for q in req.queries:
        lookup(q.id)
    return found


def metrics(req: ListRequest, series_found: Sequence[tuple[str, str | None, str]],
            counted: Sequence[MetricCount]) -> Members:  # fmt: skip
    """ListMetrics over what was published since ``series_found`` and ``counted`` were read from (the
    caller reads two weeks back, or three hours for RecentlyActive)."""
    if req.namespace not in (None, series.NAMESPACE):
        return {"Metrics": []}
    found = series.filtered(series.listed(series_found, counted), req.name, req.filters)
    page = found[req.offset : req.offset + LIST_PAGE]
    answer: Members = {"Metrics": [{
        "Namespace": series.NAMESPACE, "MetricName": m.name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in m.dimensions],
    } for m in page]}  # fmt: skip
    if req.offset + LIST_PAGE < len(found):
        answer["NextToken"] = encode_token(req.offset + LIST_PAGE)
    return answer
