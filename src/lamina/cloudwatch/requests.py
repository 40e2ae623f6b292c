"""GetMetricStatistics', GetMetricData's and ListMetrics' members read and checked as CloudWatch
checks them (pure), whichever protocol brought them: CBOR's and JSON's typed values, or the query
protocol's strings (nested as api/cloudwatch.py unflattens them). Times are datetimes, epoch
seconds or ISO 8601 text; numbers may be text.

Messages name members as the query protocol does (``Statistics.member.1``), as CloudWatch's do.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from lamina.cloudwatch import expressions
from lamina.cloudwatch.errors import InvalidNextToken, InvalidParameterCombination, InvalidParameterValue
from lamina.cloudwatch.errors import MissingParameter
from lamina.cloudwatch.expressions import Expr
from lamina.cloudwatch.series import STATISTICS, UNITS, Dimensions, dimensions

Members = Mapping[str, object]

MAX_STATISTICS_DATAPOINTS = 1440
MAX_QUERIES = 500
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_PAGE = 500
DAY_MS = 86_400_000
_PERCENTILE = re.compile(r"p(?:100(?:\.0{1,2})?|\d{1,2}(?:\.\d{1,2})?)")
_ID = re.compile(r"[a-z][a-zA-Z0-9_]{0,254}")
_SHORT_PERIODS = (1, 5, 10, 20, 30)
_STANDARD_UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})  # fmt: skip


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: Dimensions


@dataclass(frozen=True)
class StatisticsRequest:
    metric: Metric
    start_ms: int  # rounded as CloudWatch rounds it
    end_ms: int
    period_s: int
    statistics: tuple[str, ...]
    extended: tuple[str, ...]
    unit: str | None


@dataclass(frozen=True)
class DataQuery:
    """A MetricStat query (``metric``, ``period_s``, ``stat``) or a metric math ``expression``."""

    id: str
    metric: Metric | None
    period_s: int
    stat: str
    unit: str | None
    label: str | None
    return_data: bool
    expression: Expr | None = None


@dataclass(frozen=True)
class DataRequest:
    queries: tuple[DataQuery, ...]
    start_ms: int
    end_ms: int
    ascending: bool
    max_datapoints: int
    offset: int  # from NextToken: datapoints already answered


@dataclass(frozen=True)
class ListRequest:
    namespace: str | None
    name: str | None
    filters: tuple[tuple[str, str | None], ...]
    offset: int
    recently_active: bool


def _text(members: Members, key: str, where: str, *, required: bool = False, most: int = 255) -> str | None:
    value = members.get(key)
    if value is None:
        if required:
            raise MissingParameter(f"The parameter {where} is required.")
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= most:
        raise InvalidParameterValue(f"The parameter {where} must be a string of 1 to {most} characters.")
    return value


def _int(members: Members, key: str, where: str, *, required: bool = False) -> int | None:
    value = members.get(key)
    if value is None:
        if required:
            raise MissingParameter(f"The parameter {where} is required.")
        return None
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,18}", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 10**18:
        raise InvalidParameterValue(f"The parameter {where} must be an integer.")
    return value


def _list(members: Members, key: str, where: str, most: int) -> list[object]:
    value = members.get(key)
    if value is None or value == "":  # the query protocol sends an empty list as ``Name=``
        return []
    if not isinstance(value, list):
        raise InvalidParameterValue(f"The parameter {where} must be a list.")
    if len(value) > most:
        raise InvalidParameterValue(f"The collection {where} must not have a size greater than {most}.")
    return value


def _time_ms(members: Members, key: str) -> int:
    value = members.get(key)
    if value is None:
        raise MissingParameter(f"The parameter {key} is required.")
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) < 1e12:
        return int(value * 1000)
    if isinstance(value, str) and len(value) <= 64:
        try:
            return int(float(value) * 1000) if re.fullmatch(r"\d{1,11}(\.\d+)?", value) else \
                _time_ms({key: datetime.fromisoformat(value)}, key)  # fmt: skip
        except ValueError:
            pass
    raise InvalidParameterValue(f"The parameter {key} must be a timestamp (ISO 8601 or epoch seconds).")


def _dimensions(members: Members, key: str, where: str) -> Dimensions:
    found = []
    for n, item in enumerate(_list(members, key, where, 30), 1):
        if not isinstance(item, Mapping):
            raise InvalidParameterValue(f"The parameter {where}.member.{n} must be a structure.")
        name = _text(item, "Name", f"{where}.member.{n}.Name", required=True)
        value = _text(item, "Value", f"{where}.member.{n}.Value", required=True, most=1024)
        assert name is not None and value is not None
        found.append((name, value))
    if len({name for name, _ in found}) != len(found):
        raise InvalidParameterValue(f"The parameter {where} must not name a dimension twice.")
    return dimensions(found)


def _metric(members: Members, where: str = "") -> Metric:
    namespace = _text(members, "Namespace", f"{where}Namespace", required=True)
    name = _text(members, "MetricName", f"{where}MetricName", required=True)
    assert namespace is not None and name is not None
    if namespace.startswith(":"):
        raise InvalidParameterValue(f"The parameter {where}Namespace must not start with ':'.")
    return Metric(namespace, name, _dimensions(members, "Dimensions", f"{where}Dimensions"))


def _unit(members: Members, where: str) -> str | None:
    unit = _text(members, "Unit", where)
    if unit is not None and unit not in _STANDARD_UNITS:
        units = ", ".join(sorted(_STANDARD_UNITS))
        raise InvalidParameterValue(f"The parameter {where} must be a value in the set [ {units} ].")
    return unit


def _period(members: Members, where: str) -> int:
    period = _int(members, "Period", where, required=True)
    assert period is not None
    if period < 1:
        raise InvalidParameterValue(f"The parameter {where} must be greater than 0.")
    if period not in _SHORT_PERIODS and period % 60:
        raise InvalidParameterValue(f"The parameter {where} must be 1, 5, 10, 20, 30, or a multiple of 60.")
    return period


def rounded_start(start_ms: int, period_s: int, now_ms: int) -> int:
    """StartTime as CloudWatch rounds it down: to the period under a minute, else to the minute (less than
    15 days ago), 5 minutes (less than 63) or the hour."""
    if period_s < 60:
        step = period_s * 1000
    else:
        age = now_ms - start_ms
        step = 60_000 if age < 15 * DAY_MS else 300_000 if age < 63 * DAY_MS else 3_600_000
    return start_ms - start_ms % step


def _window(members: Members, period_s: int, now_ms: int) -> tuple[int, int]:
    start, end = _time_ms(members, "StartTime"), _time_ms(members, "EndTime")
    if start >= end:
        raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
    return rounded_start(start, period_s, now_ms), end


def statistics_request(members: Members, now_ms: int) -> StatisticsRequest:
    metric = _metric(members)
    period = _period(members, "Period")
    start, end = _window(members, period, now_ms)
    stats = [str(s) for s in _list(members, "Statistics", "Statistics", 5)]
    extended = [str(s) for s in _list(members, "ExtendedStatistics", "ExtendedStatistics", 10)]
    for n, stat in enumerate(stats, 1):
        if stat not in STATISTICS:
            raise InvalidParameterValue(f"The parameter Statistics.member.{n} must be a value in the set "
                                        f"[ {', '.join(STATISTICS)} ].")  # fmt: skip
    for n, stat in enumerate(extended, 1):
        if not _PERCENTILE.fullmatch(stat):
            raise InvalidParameterValue(f"The value {stat} for parameter ExtendedStatistics.member.{n} is not "
                                        "supported: Lamina serves percentiles (p0.0 to p100).")  # fmt: skip
    if bool(stats) == bool(extended):
        raise InvalidParameterCombination("Must specify either Statistics or ExtendedStatistics, but not both.")
    wanted = math.ceil((end - start) / (period * 1000))
    if wanted > MAX_STATISTICS_DATAPOINTS:
        raise InvalidParameterCombination(
            f"You have requested up to {wanted:,} datapoints, which exceeds the limit of "
            f"{MAX_STATISTICS_DATAPOINTS:,}. "
            "You may reduce the datapoints requested by increasing Period, or decreasing the time range.")  # fmt: skip
    return StatisticsRequest(metric, start, end, period, tuple(dict.fromkeys(stats)), tuple(dict.fromkeys(extended)),
                             _unit(members, "Unit"))  # fmt: skip


def _stat(value: str, where: str) -> str:
    if value in STATISTICS or _PERCENTILE.fullmatch(value):
        return value
    raise InvalidParameterValue(f"The value {value} for parameter {where} is not supported: Lamina serves "
                                f"{', '.join(STATISTICS)} and percentiles (p0.0 to p100).")  # fmt: skip


def _query(item: object, n: int) -> DataQuery:
    where = f"MetricDataQueries.member.{n}"
    if not isinstance(item, Mapping):
        raise InvalidParameterValue(f"The parameter {where} must be a structure.")
    qid = _text(item, "Id", f"{where}.Id", required=True)
    assert qid is not None
    if not _ID.fullmatch(qid):
        raise InvalidParameterValue(f"The value {qid} for parameter {where}.Id is not valid: it must start with a "
                                    "lowercase letter and hold only letters, digits and underscores.")  # fmt: skip
    label = _text(item, "Label", f"{where}.Label", most=1024)
    expression, stat = item.get("Expression"), item.get("MetricStat")
    if (expression is None) == (stat is None):
        raise InvalidParameterCombination(f"The parameters {where}.MetricStat and {where}.Expression are mutually "
                                          "exclusive, and one of them is required.")  # fmt: skip
    return_data = item.get("ReturnData", True) not in (False, "false")
    if expression is not None:
        if not isinstance(expression, str):
            raise InvalidParameterValue(f"The parameter {where}.Expression must be a string.")
        try:
            parsed = expressions.parse(expression)
        except expressions.ExpressionError as exc:
            raise InvalidParameterValue(f"Error in expression {qid}: {exc}.") from None
        return DataQuery(qid, None, 0, "", None, label, return_data, parsed)
    if not isinstance(stat, Mapping):
        raise InvalidParameterValue(f"The parameter {where}.MetricStat must be a structure.")
    metric = stat.get("Metric")
    if not isinstance(metric, Mapping):
        raise MissingParameter(f"The parameter {where}.MetricStat.Metric is required.")
    name = _text(stat, "Stat", f"{where}.MetricStat.Stat", required=True)
    assert name is not None
    return DataQuery(qid, _metric(metric, f"{where}.MetricStat.Metric."), _period(stat, f"{where}.MetricStat.Period"),
                     _stat(name, f"{where}.MetricStat.Stat"), _unit(stat, f"{where}.MetricStat.Unit"), label,
                     return_data)  # fmt: skip


def data_request(members: Members, now_ms: int) -> DataRequest:
    items = members.get("MetricDataQueries")
    if not items:
        raise MissingParameter("The parameter MetricDataQueries is required.")
    listed = _list(members, "MetricDataQueries", "MetricDataQueries", MAX_QUERIES)
    queries = tuple(_query(item, n) for n, item in enumerate(listed, 1))
    ids = [q.id for q in queries]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InvalidParameterValue(f"The value {duplicate} for parameter MetricDataQueries.member.Id is duplicated.")
    _check_references(queries)
    shortest = min((q.period_s for q in queries if q.metric is not None), default=60)
    start, end = _window(members, shortest, now_ms)
    scan = _text(members, "ScanBy", "ScanBy") or "TimestampDescending"
    if scan not in ("TimestampDescending", "TimestampAscending"):
        raise InvalidParameterValue("The parameter ScanBy must be a value in the set [ TimestampDescending, "
                                    "TimestampAscending ].")  # fmt: skip
    most = _int(members, "MaxDatapoints", "MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
    if most < 1:
        raise InvalidParameterValue("The parameter MaxDatapoints must be greater than 0.")
    token = _text(members, "NextToken", "NextToken", most=1024)
    return DataRequest(queries, start, end, scan == "TimestampAscending", most,
                       decode_token(token, InvalidNextToken) if token else 0)  # fmt: skip


def _check_references(queries: tuple[DataQuery, ...]) -> None:
    """Every id an expression names is another query's, and no expression depends on itself."""
    uses = {q.id: expressions.references(q.expression) for q in queries if q.expression is not None}
    known = {q.id for q in queries}
    for qid, names in uses.items():
        unknown = sorted(names - known)
        if unknown:
            raise InvalidParameterValue(f"Error in expression {qid}: Unrecognized metric id {unknown[0]}.")
    done: set[str] = set()

    def visit(qid: str, path: tuple[str, ...]) -> None:
        if qid in path:
            raise InvalidParameterValue(f"Error in expression {qid}: circular reference ({' -> '.join((*path, qid))}).")
        if qid in done:
            return
        for name in sorted(uses.get(qid, ())):
            visit(name, (*path, qid))
        done.add(qid)

    for qid in uses:
        visit(qid, ())


def list_request(members: Members) -> ListRequest:
    filters = []
    for n, item in enumerate(_list(members, "Dimensions", "Dimensions", 10), 1):
        if not isinstance(item, Mapping):
            raise InvalidParameterValue(f"The parameter Dimensions.member.{n} must be a structure.")
        name = _text(item, "Name", f"Dimensions.member.{n}.Name", required=True)
        assert name is not None
        filters.append((name, _text(item, "Value", f"Dimensions.member.{n}.Value", most=1024)))
    active = _text(members, "RecentlyActive", "RecentlyActive")
    if active not in (None, "PT3H"):
        raise InvalidParameterValue("The parameter RecentlyActive must be a value in the set [ PT3H ].")
    token = _text(members, "NextToken", "NextToken", most=1024)
    return ListRequest(_text(members, "Namespace", "Namespace"), _text(members, "MetricName", "MetricName"),
                       tuple(filters), decode_token(token, InvalidParameterValue) if token else 0,
                       active is not None)  # fmt: skip


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"lamina:{offset}".encode()).decode()


def decode_token(token: str, error: type[InvalidNextToken] | type[InvalidParameterValue]) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found = re.fullmatch(r"lamina:(\d{1,12})", text)
    if found is None:
        raise error("The specified NextToken is not valid.")
    return int(found.group(1))


def unit_of(metric: Metric) -> str:
    return UNITS.get(metric.name, "None")
