"""CloudWatch's AWS/Lambda metrics computed from what Lamina stores (pure): the invocations ledger
(``InvocationRecord``) and the per-minute counts of what never became an invocation
(``MetricCount``: throttles, asynchronous events received, dead letters and destination records
lost).

A metric is a name and dimensions, matched exactly as CloudWatch matches them: ``{}`` (the
account's every function), ``{FunctionName}``, ``{FunctionName, Resource}`` (``Resource``: the
function as invoked, ``name`` or ``name:qualifier``) and, for invocations through an alias,
``{FunctionName, Resource, ExecutedVersion}``. Its samples are what Lambda would have published:

- Invocations: 1 an invocation; Errors: 1 or 0 an invocation (so Average is the error rate);
  Duration: the invocation's milliseconds;
- Throttles, AsyncEventsReceived, DeadLetterErrors, DestinationDeliveryFailures: 1 an event,
  counted by minute;
- ConcurrentExecutions: one sample a minute, the most invocations running at once during it
  (from the ledger's start and duration intervals).

Samples are timestamped when their invocation started and folded into ``Datapoint`` s of a period,
each aligned on the query's start; empty periods have no datapoint, as in CloudWatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

from lamina.percentiles import nearest_rank
from lamina.store.base import InvocationRecord, MetricCount

NAMESPACE = "AWS/Lambda"
FUNCTION, RESOURCE, EXECUTED = "FunctionName", "Resource", "ExecutedVersion"
MINUTE_MS = 60_000
# The longest an invocation runs: how far before a window an invocation still running in it started.
LONGEST_MS = 900_000

UNITS: Mapping[str, str] = {
    "Invocations": "Count", "Errors": "Count", "Duration": "Milliseconds", "Throttles": "Count",
    "ConcurrentExecutions": "Count", "AsyncEventsReceived": "Count", "DeadLetterErrors": "Count",
    "DestinationDeliveryFailures": "Count",
}  # fmt: skip
FROM_LEDGER = ("Invocations", "Errors", "Duration", "ConcurrentExecutions")
# From MetricCount rows: written by the recorder for the invoker (throttles) and the asynchronous queue.
COUNTED = ("Throttles", "AsyncEventsReceived", "DeadLetterErrors", "DestinationDeliveryFailures")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

Dimensions = tuple[tuple[str, str], ...]  # sorted by name


def dimensions(pairs: Iterable[tuple[str, str]]) -> Dimensions:
    return tuple(sorted(pairs))


def resource_of(function: str, qualifier: str | None) -> str:
    return function if not qualifier else f"{function}:{qualifier}"


def is_alias(qualifier: str | None) -> bool:
    return bool(qualifier) and qualifier != "$LATEST" and not str(qualifier).isdigit()


def _series(function: str, qualifier: str | None, version: str | None) -> list[Dimensions]:
    """Every dimension set an invocation (or a counted event: no ``version``) is published under."""
    resource = resource_of(function, qualifier)
    found = [(), ((FUNCTION, function),), dimensions([(FUNCTION, function), (RESOURCE, resource)])]
    if version is not None and is_alias(qualifier):
        found.append(dimensions([(FUNCTION, function), (RESOURCE, resource), (EXECUTED, version)]))
    return found


Selector = Callable[[str, "str | None", "str | None"], bool]  # (function, qualifier, version) -> under dims?


def selector(dims: Dimensions) -> Selector:
    """Whether an invocation (or a counted event: version None) is published under exactly ``dims``
    (what ``_series`` lists, decided once for many rows)."""
    wanted = dict(dims)
    keys = frozenset(wanted)
    function, resource, executed = wanted.get(FUNCTION), wanted.get(RESOURCE), wanted.get(EXECUTED)
    if not keys:
        return lambda f, q, v: True
    if keys == {FUNCTION}:
        return lambda f, q, v: f == function
    if keys == {FUNCTION, RESOURCE}:
        return lambda f, q, v: f == function and resource_of(f, q) == resource
    if keys == {FUNCTION, RESOURCE, EXECUTED}:
        return lambda f, q, v: f == function and v == executed and is_alias(q) and resource_of(f, q) == resource
    return lambda f, q, v: False


class Sample(NamedTuple):  # a tuple: one is made for every invocation in a window
    at_ms: int
    value: float
    times: int = 1  # how many equal values (a minute's n throttles are one sample, 1.0 n times)


def samples(metric: str, dims: Dimensions, records: Sequence[InvocationRecord], counts: Sequence[MetricCount],
            start_ms: int, end_ms: int) -> list[Sample]:  # fmt: skip
    """The samples of ``metric`` under exactly ``dims`` timestamped in ``[start_ms, end_ms)``.
    ``records`` may begin up to ``LONGEST_MS`` earlier (for ConcurrentExecutions)."""
    under = selector(dims)
    if metric in COUNTED:
        return [Sample(c.minute_ms, 1.0, c.count) for c in counts
                if c.metric == metric and start_ms <= c.minute_ms < end_ms
                and under(c.function, c.qualifier or None, None)]  # fmt: skip
    if metric not in FROM_LEDGER:
        return []
    chosen = [r for r in records if under(r.function, r.qualifier, r.version)]
    if metric == "ConcurrentExecutions":
        return concurrency(chosen, start_ms, end_ms)
    chosen = [r for r in chosen if start_ms <= r.started_ms < end_ms]
    if metric == "Invocations":
        return [Sample(r.started_ms, 1.0) for r in chosen]
    if metric == "Errors":
        return [Sample(r.started_ms, 1.0 if r.failed else 0.0) for r in chosen]
    return [Sample(r.started_ms, float(r.duration_ms)) for r in chosen]


def concurrency(records: Sequence[InvocationRecord], start_ms: int, end_ms: int) -> list[Sample]:
    """Per minute of ``[start_ms, end_ms)`` (minutes of the epoch), the most ``records`` running at
    once during it; minutes with none running have no sample. An invocation runs over
    ``[started, started + duration)``: one that ends as another starts does not overlap it."""
    events = sorted([(r.started_ms, 1) for r in records]
                    + [(r.started_ms + max(1, math.ceil(r.duration_ms)), -1) for r in records])  # fmt: skip
    peak: dict[int, int] = {}
    level, last_minute = 0, None
    for at, step in events:  # ends (-1) sort before starts at the same instant
        minute = at // MINUTE_MS
        if level > 0 and last_minute is not None:
            for m in range(last_minute + 1, (at - 1) // MINUTE_MS + 1):  # minutes the level ran into before ``at``
                if start_ms <= m * MINUTE_MS < end_ms:
                    peak[m] = max(peak.get(m, 0), level)
        level += step
        if level > 0 and start_ms <= minute * MINUTE_MS < end_ms:
            peak[minute] = max(peak.get(minute, 0), level)
        last_minute = minute
    return [Sample(m * MINUTE_MS, float(n)) for m, n in sorted(peak.items())]


@dataclass(frozen=True)
class Datapoint:
    timestamp_ms: int
    sample_count: float
    total: float
    minimum: float
    maximum: float
    values: tuple[tuple[float, int], ...] = field(repr=False)  # (value, count), sorted: for percentiles

    def statistic(self, name: str) -> float:
        """A statistic (``Sum``, ``Average``, ...) or a percentile (``p99``, ``p99.9``)."""
        if name == "SampleCount":
            return self.sample_count
        if name == "Sum":
            return self.total
        if name == "Average":
            return self.total / self.sample_count
        if name == "Minimum":
            return self.minimum
        if name == "Maximum":
            return self.maximum
        return percentile(self.values, float(name[1:]))


def percentile(values: Sequence[tuple[float, int]], p: float) -> float:
    """The ``p``-th percentile (0 < p <= 100) of sorted (value, count) pairs."""
    return nearest_rank(values, p / 100)


def datapoints(found: Sequence[Sample], start_ms: int, end_ms: int, period_s: int) -> list[Datapoint]:
    """``found`` folded into periods of ``period_s`` from ``start_ms``, oldest first; a period without
    samples has no datapoint."""
    period_ms = period_s * 1000
    buckets: dict[int, dict[float, int]] = {}  # period -> value -> how many
    for at_ms, value, times in found:
        if start_ms <= at_ms < end_ms:
            bucket = buckets.setdefault((at_ms - start_ms) // period_ms, {})
            bucket[value] = bucket.get(value, 0) + times
    out = []
    for index in sorted(buckets):
        values = tuple(sorted(buckets[index].items()))
        out.append(Datapoint(start_ms + index * period_ms, float(sum(n for _, n in values)),
                             sum(v * n for v, n in values), values[0][0], values[-1][0], values))  # fmt: skip
    return out


@dataclass(frozen=True)
class Listed:
    name: str
    dimensions: Dimensions


def listed(series: Iterable[tuple[str, str | None, str]], counted: Iterable[MetricCount]) -> list[Listed]:
    """Every metric with data: those of the ledger's (function, qualifier, version) series and those of
    the counted events, sorted by name then dimensions."""
    found: set[Listed] = set()
    for function, qualifier, version in series:
        for dims in _series(function, qualifier, version):
            found.update(Listed(name, dims) for name in FROM_LEDGER)
    for c in counted:
        found.update(Listed(c.metric, dims) for dims in _series(c.function, c.qualifier or None, None))
    return sorted(found, key=lambda m: (m.name, m.dimensions))


def filtered(metrics: Iterable[Listed], name: str | None, filters: Sequence[tuple[str, str | None]]) -> list[Listed]:
    """ListMetrics' filters: the metric's name, and dimensions it must have (with a value, or any)."""
    out = []
    for m in metrics:
        if name is not None and m.name != name:
            continue
        held = dict(m.dimensions)
        if all(key in held and (value is None or held[key] == value) for key, value in filters):
            out.append(m)
    return out
