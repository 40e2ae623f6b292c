"""CloudWatch Logs' API for functions' logs (json-1.1, ``X-Amz-Target: Logs_20140328.<Operation>``):
DescribeLogGroups, DescribeLogStreams, GetLogEvents and FilterLogEvents, over the lines the store
keeps (logs/groups.py: which group and stream a line is in; logs/patterns.py: filter patterns), and
subscription filters to functions: PutSubscriptionFilter, DescribeSubscriptionFilters and
DeleteSubscriptionFilter (logs/service.py; delivered by logs/delivery.py).

Tokens are CloudWatch Logs' forms: GetLogEvents' ``f/<cursor>`` and ``b/<cursor>`` (a forward
token at the end of a stream comes back unchanged, which is how clients know they have it all),
the others opaque. A search stops after ``SCAN_LINES`` lines and answers a ``nextToken`` to go on
from there, as CloudWatch Logs stops a long search. Ingestion times are the lines' timestamps.
"""

from __future__ import annotations

import heapq
import re
import zlib
from collections import deque
from typing import Mapping

from aiohttp import web

from lamina.api import awsjson
from lamina.api.context import Services
from lamina.errors import ApiError
from lamina.logs import groups as g
from lamina.logs.patterns import FilterPatternError, Matcher, compile_pattern
from lamina.logs.service import NoSuchFilter, NoSuchGroup, Subscriptions, TooManyFilters
from lamina.logs.subscriptions import InvalidFilter
from lamina.store.base import LogEvent, LogWindow

PREFIX = "Logs_20140328"
SCAN_LINES = 100_000  # lines a FilterLogEvents call reads before it answers with a nextToken
_PAGE = 10_000
_STREAM_TOKEN = re.compile(r"([fb])/(\d{1,56})")

Body = Mapping[str, object]


class InvalidParameter(ApiError):
    code = "InvalidParameterException"
    status = 400


class LogsResourceNotFound(ApiError):
    code = "ResourceNotFoundException"
    status = 400


class LimitExceeded(ApiError):
    code = "LimitExceededException"
    status = 400


def _text(body: Body, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidParameter(f"1 validation error detected: Value null at '{key}' failed to satisfy constraint: "
                                   "Member must not be null")  # fmt: skip
        return None
    if not isinstance(value, str):
        raise InvalidParameter(f"{key} must be a string")
    return value


def _int(body: Body, key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameter(f"1 validation error detected: Value '{value}' at '{key}' failed to satisfy "
                               f"constraint: Member must have value between {low} and {high}")  # fmt: skip
    return value


def _group_name(body: Body) -> str:
    """logGroupName, or logGroupIdentifier (a name or an ARN)."""
    name = _text(body, "logGroupName")
    identifier = _text(body, "logGroupIdentifier")
    if name is not None and identifier is not None:
        raise InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier is not None:
        name = identifier.split(":log-group:", 1)[1].removesuffix(":*") if ":log-group:" in identifier else identifier
    if not name:
        raise InvalidParameter("Either logGroupName or logGroupIdentifier should be provided.")
    return name


async def _groups(svc: Services) -> dict[str, list[str]]:
    functions, _ = svc.functions.list(None, 1_000_000)
    logged = [name for name, _ in await svc.store.logged_functions()]
    return g.groups(functions, logged)


async def _functions_of(svc: Services, group: str) -> list[str]:
    names = (await _groups(svc)).get(group)
    if names is None:
        raise LogsResourceNotFound("The specified log group does not exist.")
    return names


async def describe_log_groups(svc: Services, body: Body) -> Mapping[str, object]:
    prefix = _text(body, "logGroupNamePrefix") or ""
    pattern = _text(body, "logGroupNamePattern")
    if prefix and pattern:
        raise InvalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    limit = _int(body, "limit", 1, 50) or 50
    after = _text(body, "nextToken")
    sizes = dict(await svc.store.logged_functions())
    groups = await _groups(svc)
    chosen = sorted(group for group in groups
                    if group.startswith(prefix) and (not pattern or pattern in group) and (not after or group > after))
    s = svc.settings
    retention_days = s.logs.retention_seconds / 86400
    found = []
    for group in chosen[:limit]:  # only the page's groups have their streams read
        names = groups[group]
        streams = [x for name in names for x in await svc.store.log_streams(name)]
        arn = g.group_arn(s.region, s.account_id, group)
        doc: dict[str, object] = {
            "logGroupName": group, "creationTime": min((x.first_ms for x in streams), default=0),
            "metricFilterCount": 0, "arn": arn + ":*", "storedBytes": sum(sizes.get(n, 0) for n in names),
            "logGroupClass": "STANDARD", "logGroupArn": arn,
        }  # fmt: skip
        if retention_days == int(retention_days):
            doc["retentionInDays"] = int(retention_days)
        found.append(doc)
    result: dict[str, object] = {"logGroups": found}
    if len(chosen) > limit:
        result["nextToken"] = chosen[limit - 1]
    return result


async def describe_log_streams(svc: Services, body: Body) -> Mapping[str, object]:
    group = _group_name(body)
    prefix = _text(body, "logStreamNamePrefix") or ""
    order = _text(body, "orderBy") or "LogStreamName"
    if order not in ("LogStreamName", "LastEventTime"):
        raise InvalidParameter(f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy "
                               "constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]")  # fmt: skip
    if prefix and order == "LastEventTime":
        raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    descending = body.get("descending") is True
    limit = _int(body, "limit", 1, 50) or 50
    offset = _offset(_text(body, "nextToken"))
    streams = [s for name in await _functions_of(svc, group) for s in await svc.store.log_streams(name)
               if s.name.startswith(prefix)]  # fmt: skip
    streams.sort(key=(lambda s: (s.last_ms, s.name)) if order == "LastEventTime" else (lambda s: (s.name, 0)),
                 reverse=descending)  # fmt: skip
    page = streams[offset : offset + limit]
    s = svc.settings
    result: dict[str, object] = {"logStreams": [{
        "logStreamName": x.name, "creationTime": x.first_ms, "firstEventTimestamp": x.first_ms,
        "lastEventTimestamp": x.last_ms, "lastIngestionTime": x.last_ms,
        "arn": g.stream_arn(s.region, s.account_id, group, x.name), "storedBytes": x.stored_bytes,
    } for x in page]}  # fmt: skip
    if offset + limit < len(streams):
        result["nextToken"] = g.encode_token("streams", {"": offset + limit})
    return result


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return g.decode_token("streams", token).get("", 0)
    except g.BadToken as exc:
        raise InvalidParameter("The specified nextToken is invalid.") from exc


def _window(body: Body, streams: frozenset[str] | None) -> LogWindow:
    start = _int(body, "startTime", 0, 2**62)
    end = _int(body, "endTime", 0, 2**62)
    if start is not None and end is not None and start > end:
        raise InvalidParameter("End time must not be before start time.")
    return LogWindow(streams, start, end)


async def get_log_events(svc: Services, body: Body) -> Mapping[str, object]:
    group = _group_name(body)
    stream = _text(body, "logStreamName", required=True)
    assert stream is not None
    limit = _int(body, "limit", 1, 10_000) or 10_000
    window = _window(body, frozenset({stream}))
    token = _text(body, "nextToken")
    direction, at = "f" if body.get("startFromHead") is True else "b", None
    if token is not None:
        found = _STREAM_TOKEN.fullmatch(token)
        if found is None:
            raise InvalidParameter("The specified nextToken is invalid.")
        direction, at = found.group(1), int(found.group(2))
    owner = None
    for name in await _functions_of(svc, group):
        if any(x.name == stream for x in await svc.store.log_streams(name)):
            owner = name
            break
    if owner is None:
        raise LogsResourceNotFound("The specified log stream does not exist.")
    if direction == "f":
        events = await svc.store.read_logs(owner, at if at is not None else -1, limit, window)
    else:
        events = await _before(svc, owner, at, limit, window)
    forward = events[-1].cursor if events else (at if at is not None else 0)
    backward = events[0].cursor if events else (at if at is not None else 0)
    return {
        "events": [{"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.timestamp_ms} for e in events],
        "nextForwardToken": f"f/{forward:056d}", "nextBackwardToken": f"b/{backward:056d}",
    }  # fmt: skip


async def _before(svc: Services, function: str, cursor: int | None, limit: int, window: LogWindow) -> list[LogEvent]:
    """The last ``limit`` events of ``window`` before ``cursor`` (None: the end), oldest first."""
    kept: deque[LogEvent] = deque(maxlen=limit)
    since = -1
    while True:
        page = await svc.store.read_logs(function, since, _PAGE, window)
        for event in page:
            if cursor is not None and event.cursor >= cursor:
                return list(kept)
            kept.append(event)
        if len(page) < _PAGE:
            return list(kept)
        since = page[-1].cursor


async def filter_log_events(svc: Services, body: Body) -> Mapping[str, object]:
    group = _group_name(body)
    names = body.get("logStreamNames")
    prefix = _text(body, "logStreamNamePrefix")
    if names is not None and prefix is not None:
        raise InvalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
    if names is not None and (not isinstance(names, list) or not 1 <= len(names) <= 100
                              or not all(isinstance(n, str) for n in names)):  # fmt: skip
        raise InvalidParameter("logStreamNames must be a list of 1 to 100 stream names.")
    limit = _int(body, "limit", 1, 10_000) or 10_000
    try:
        match = compile_pattern(_text(body, "filterPattern") or "")
    except FilterPatternError as exc:
        raise InvalidParameter(f"Invalid filter pattern: {exc}") from exc
    functions = await _functions_of(svc, group)
    token = _text(body, "nextToken")
    try:
        cursors = g.decode_token("filter", token) if token is not None else {}
    except g.BadToken as exc:
        raise InvalidParameter("The specified nextToken is invalid.") from exc
    per_function: list[list[tuple[str, LogEvent]]] = []
    positions: dict[str, int] = {}
    unfinished = False
    for function in functions:
        streams: frozenset[str] | None = frozenset(str(n) for n in names) if isinstance(names, list) else None
        if prefix is not None:
            streams = frozenset(x.name for x in await svc.store.log_streams(function) if x.name.startswith(prefix))
        matches, scanned_to, done = await _search(svc, function, cursors.get(function, -1), limit,
                                                  _window(body, streams), match)  # fmt: skip
        per_function.append([(function, e) for e in matches])
        positions[function] = scanned_to
        unfinished = unfinished or not done
    # Interleaved by time, each function's in its own order: a page is a prefix of each function's matches.
    found = list(heapq.merge(*per_function, key=lambda pair: pair[1].timestamp_ms))
    taken, rest = found[:limit], found[limit:]
    for function, event in rest:  # not returned: the next page starts before them
        positions[function] = min(positions[function], event.cursor - 1)
    result: dict[str, object] = {
        "events": [{
            "logStreamName": e.stream, "timestamp": e.timestamp_ms, "message": e.message,
            "ingestionTime": e.timestamp_ms, "eventId": f"{zlib.crc32(function.encode()):010d}{e.cursor:046d}",
        } for function, e in taken],
        "searchedLogStreams": [],
    }  # fmt: skip
    if rest or unfinished:
        result["nextToken"] = g.encode_token("filter", positions)
    return result


async def _search(svc: Services, function: str, since: int, limit: int, window: LogWindow,
                  match: Matcher) -> tuple[list[LogEvent], int, bool]:  # fmt: skip
    """Up to ``limit`` matching events after ``since``: them, the cursor read up to, and whether the
    log was read to its end (else the scan stopped at ``SCAN_LINES``)."""
    matches: list[LogEvent] = []
    scanned = 0
    while True:
        page = await svc.store.read_logs(function, since, _PAGE, window)
        for event in page:
            since = event.cursor
            if match(event.message):
                matches.append(event)
                if len(matches) >= limit:
                    return matches, since, False
        scanned += len(page)
        if len(page) < _PAGE:
            return matches, since, True
        if scanned >= SCAN_LINES:
            return matches, since, False


def _subscriptions(svc: Services) -> Subscriptions:
    assert svc.subscriptions is not None, "the cell serves no subscription filters"
    return svc.subscriptions


async def put_subscription_filter(svc: Services, body: Body) -> Mapping[str, object]:
    group, name = _text(body, "logGroupName", required=True), _text(body, "filterName", required=True)
    pattern = _text(body, "filterPattern", required=True)
    destination = _text(body, "destinationArn", required=True)
    assert group is not None and name is not None and pattern is not None and destination is not None
    try:
        await _subscriptions(svc).put(group, name, pattern, destination, _text(body, "roleArn"),
                                      _text(body, "distribution"))  # fmt: skip
    except InvalidFilter as exc:
        raise InvalidParameter(str(exc)) from exc
    except NoSuchGroup as exc:
        raise LogsResourceNotFound("The specified log group does not exist.") from exc
    except TooManyFilters as exc:
        raise LimitExceeded("Resource limit exceeded.") from exc
    return {}


async def describe_subscription_filters(svc: Services, body: Body) -> Mapping[str, object]:
    group = _text(body, "logGroupName", required=True)
    assert group is not None
    limit = _int(body, "limit", 1, 50) or 50
    token = _text(body, "nextToken")
    try:
        after = g.decode_name("subscriptions", token) if token is not None else None
    except g.BadToken as exc:
        raise InvalidParameter("The specified nextToken is invalid.") from exc
    try:
        found = await _subscriptions(svc).describe(group, _text(body, "filterNamePrefix") or "", after)
    except NoSuchGroup as exc:
        raise LogsResourceNotFound("The specified log group does not exist.") from exc
    result: dict[str, object] = {"subscriptionFilters": [f.describe() for f in found[:limit]]}
    if len(found) > limit:
        result["nextToken"] = g.encode_name("subscriptions", found[limit - 1].name)
    return result


async def delete_subscription_filter(svc: Services, body: Body) -> Mapping[str, object]:
    group, name = _text(body, "logGroupName", required=True), _text(body, "filterName", required=True)
    assert group is not None and name is not None
    try:
        await _subscriptions(svc).delete(group, name)
    except NoSuchGroup as exc:
        raise LogsResourceNotFound("The specified log group does not exist.") from exc
    except NoSuchFilter as exc:
        raise LogsResourceNotFound("The specified subscription filter does not exist.") from exc
    return {}


OPERATIONS = {
    "DescribeLogGroups": describe_log_groups,
    "DescribeLogStreams": describe_log_streams,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
    "PutSubscriptionFilter": put_subscription_filter,
    "DescribeSubscriptionFilters": describe_subscription_filters,
    "DeleteSubscriptionFilter": delete_subscription_filter,
}


def register(app: web.Application) -> None:
    awsjson.register(app, PREFIX, OPERATIONS)
