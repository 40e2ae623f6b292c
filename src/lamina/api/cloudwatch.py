"""CloudWatch's metric reads for AWS/Lambda: GetMetricStatistics, GetMetricData and ListMetrics
(cloudwatch/: the requests checked, the answers computed), over the cell's invocations ledger and
metric counts, served in CloudWatch's three protocols:

- Smithy RPC v2 CBOR (api/rpcv2.py): ``POST /service/GraniteServiceVersion20100801/operation/<Op>``,
  the protocol CloudWatch's model lists first (SDKs that prefer it send it);
- json-1.0 (api/awsjson.py): ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``, timestamps as
  epoch seconds: what current botocore and the AWS CLI pick (they rank json above CBOR);
- the query protocol (api/query.py): ``Action=<Op>&Version=2010-08-01``, XML answers.

Each request reads only its own cell's store: an account sees its own functions' metrics.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Awaitable, Callable, Mapping, Sequence

from aiohttp import web

from lamina.api import awsjson, query, rpcv2
from lamina.api.context import Services
from lamina.cloudwatch import answers, requests
from lamina.cloudwatch.errors import InvalidParameterValue
from lamina.cloudwatch.series import FUNCTION, LONGEST_MS, NAMESPACE
from lamina.store.base import InvocationRecord, MetricCount

TARGET = "GraniteServiceVersion20100801"
SMITHY_NAMESPACE = "com.amazonaws.cloudwatch"
XML_NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

Members = Mapping[str, object]
MAX_PARTS = 16  # MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Name has 9


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _ledger(svc: Services, metrics: Sequence[requests.Metric], start_ms: int,
                  end_ms: int) -> tuple[list[InvocationRecord], list[MetricCount]]:  # fmt: skip
    """What ``metrics`` are computed from: the invocations that may have run in the window (of the
    functions they name, when each names one) and the window's counts."""
    ours = [m for m in metrics if m.namespace == NAMESPACE]
    if not ours:
        return [], []
    named = {dict(m.dimensions).get(FUNCTION) for m in ours}
    records: list[InvocationRecord] = []
    for function in [None] if None in named else sorted(str(f) for f in named):
        records += await svc.store.read_invocations(start_ms - LONGEST_MS, end_ms, function)
    return records, await svc.store.read_metric_counts(start_ms, end_ms)


async def get_metric_statistics(svc: Services, members: Members) -> Members:
    req = requests.statistics_request(members, _now_ms())
    records, counts = await _ledger(svc, [req.metric], req.start_ms, req.end_ms)
    # Off the event loop: a window of many invocations takes a while to fold.
    return await asyncio.to_thread(answers.statistics, req, records, counts)


async def get_metric_data(svc: Services, members: Members) -> Members:
    req = requests.data_request(members, _now_ms())
    metrics = [q.metric for q in req.queries if q.metric is not None]  # expressions' inputs too
    records, counts = await _ledger(svc, metrics, req.start_ms, req.end_ms)
    return await asyncio.to_thread(answers.data, req, records, counts)


async def list_metrics(svc: Services, members: Members) -> Members:
    req = requests.list_request(members)
    since = _now_ms() - (answers.RECENT_MS if req.recently_active else answers.LISTED_MS)
    series_found = await svc.store.invocation_series(since)
    counted = await svc.store.read_metric_counts(since, 2**62)
    return answers.metrics(req, series_found, counted)


OPERATIONS: Mapping[str, Callable[[Services, Members], Awaitable[Members]]] = {
    "GetMetricStatistics": get_metric_statistics,
    "GetMetricData": get_metric_data,
    "ListMetrics": list_metrics,
}


# json-1.0: timestamps as epoch seconds.
def _json_ready(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _json_operation(operation: Callable[[Services, Members], Awaitable[Members]]) -> awsjson.Operation:
    async def run(svc: Services, members: Members) -> Members:
        result = _json_ready(await operation(svc, members))
        assert isinstance(result, dict)
        return result

    return run


# The query protocol: members arrive flattened (``Dimensions.member.1.Name``), answers leave as XML.
def unflatten(pairs: Mapping[str, str]) -> dict[str, object]:
    """Query members nested as CBOR and JSON carry them: ``<name>.member.<n>`` lists (in index order)
    and ``<a>.<b>`` structures (pure). A key both a value and a structure keeps the value; one nested
    deeper than ``MAX_PARTS`` is refused."""
    root: dict[str, object] = {}
    for key, value in pairs.items():
        if key in ("Action", "Version"):
            continue
        parts = key.split(".", MAX_PARTS)
        if len(parts) > MAX_PARTS:  # deeper than any member of these operations
            raise InvalidParameterValue(f"The parameter {key[:100]} is not a member of this operation.")
        node = root
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            if part == "member" and n > 0:
                continue  # the list marker: the next part is the index
            if last:
                node.setdefault(part, value)
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
    return _lists(root)


def _lists(node: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            inner = _lists(value)
            if inner and all(k.isdigit() and len(k) <= 6 for k in inner):
                out[key] = [inner[k] for k in sorted(inner, key=int)]
            else:
                out[key] = inner
        else:
            out[key] = value
    return out


def _xml(value: object) -> query.XmlValue:
    if isinstance(value, Mapping):
        return {str(k): _xml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_xml(v) for v in value]
    if isinstance(value, (str, int, float, bool, datetime)) or value is None:
        return value
    return str(value)


def _query_operation(operation: Callable[[Services, Members], Awaitable[Members]]) -> query.Operation:
    async def run(call: query.Call) -> query.XmlStruct:
        result = await operation(call.svc, unflatten(call.params.pairs()))
        out: dict[str, query.XmlValue] = {}
        for key, value in result.items():
            if key == "Datapoints" and isinstance(value, list):
                out[key] = [_datapoint_xml(p) for p in value if isinstance(p, Mapping)]
            else:
                out[key] = _xml(value)
        return out

    return run


def _datapoint_xml(point: Mapping[str, object]) -> query.XmlValue:
    out = {k: _xml(v) for k, v in point.items() if k != "ExtendedStatistics"}
    extended = point.get("ExtendedStatistics")
    if isinstance(extended, Mapping):
        out["ExtendedStatistics"] = query.XmlMap({str(k): _xml(v) for k, v in extended.items()})
    return out


SERVICE = query.QueryService("monitoring", "2010-08-01", XML_NAMESPACE,
                             {name: _query_operation(op) for name, op in OPERATIONS.items()})  # fmt: skip


def register(app: web.Application) -> None:
    rpcv2.register(app, rpcv2.RpcService(TARGET, SMITHY_NAMESPACE, OPERATIONS))
    awsjson.register(app, TARGET, {name: _json_operation(op) for name, op in OPERATIONS.items()}, JSON_CONTENT_TYPE)
    query.register(app, SERVICE)
