"""CloudWatch Logs' StartLiveTail (``X-Amz-Target: Logs_20140328.StartLiveTail``): the log lines
of up to 10 log groups as they are written, over an event stream (logs/eventstream.py).

The answer is ``application/vnd.amazon.eventstream``, chunked: an ``initial-response`` event (the
JSON protocols' first), a ``sessionStart`` event, then a ``sessionUpdate`` every
``UPDATE_SECONDS`` with the lines written since the last one (``sessionResults``, at most 500: more
are sampled down, and ``sessionMetadata.sampled`` says so), until the session has lasted
``LogLimits.live_tail_seconds`` (CloudWatch Logs' three hours), when a ``SessionTimeoutException``
event ends it. A client that goes away ends it at the first update that cannot be written; a
client that stops reading while staying connected ends it at its time limit (its lines meanwhile
are dropped past ``livetail.BUFFERED``). The session runs in its request's own handler, so that
nothing outlives the request: the tap is released whichever way it ends.

The lines come from the cell's ``LiveTails`` (published by the recorder as they are written, each
in its function's group at that moment; not read from the store).

Errors are CloudWatch Logs', before the stream starts: ``InvalidParameterException`` for more than
10 groups, an ARN ending in ``*``, stream names or prefixes with more than one group (or both),
a malformed filter pattern; ``AccessDeniedException`` for a group of another account;
``ResourceNotFoundException`` for a group that does not exist; ``LimitExceededException`` past the
sessions' bound (``LogLimits.live_tail_sessions``).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Mapping

from aiohttp import web

from lamina.api import awsjson
from lamina.api.context import Services, services
from lamina.api.errors import REQUEST_ID
from lamina.api.logs import PREFIX, InvalidParameter, LimitExceeded, LogsResourceNotFound
from lamina.errors import ApiError
from lamina.logs import eventstream
from lamina.logs import groups as g
from lamina.logs.livetail import Selection, Tap, TooManySessions, sample
from lamina.logs.patterns import FilterPatternError, compile_pattern

UPDATE_SECONDS = 1.0  # between two sessionUpdate events, as CloudWatch Logs sends them
MAX_GROUPS = 10
MAX_STREAMS = 100
WRITE_SECONDS = 5.0  # the last event (a timeout's) waits this long for a client that does not read
_PATTERN_CHARS = 1024

Body = Mapping[str, object]


class AccessDenied(ApiError):
    code = "AccessDeniedException"
    status = 400


@dataclass(frozen=True)
class TailRequest:
    """A StartLiveTail's members, checked: the groups' names with the identifiers the client gave."""

    identifiers: tuple[str, ...]
    groups: tuple[str, ...]
    stream_names: tuple[str, ...] | None
    stream_prefixes: tuple[str, ...] | None
    pattern: str | None


def _names(body: Body, key: str, most: int, longest: int) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= longest for v in value):
        raise InvalidParameter(f"{key} must be a list of names of 1 to {longest} characters.")
    if not 1 <= len(value) <= most:
        raise InvalidParameter(f"1 validation error detected: Value '{value[:most + 1]}' at '{key}' failed to "
                               f"satisfy constraint: Member must have length less than or equal to {most}"
                               if value else
                               f"1 validation error detected: Value '[]' at '{key}' failed to satisfy constraint: "
                               "Member must have length greater than or equal to 1")  # fmt: skip
    return tuple(value)


def group_name(identifier: str, region: str, account: str) -> str:
    """The name of the group a StartLiveTail identifier (a name or an ARN) designates, in this
    account and region; ``InvalidParameter`` or ``AccessDenied`` if it designates none here."""
    if not identifier.startswith("arn:"):
        return identifier
    parts = identifier.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group" or not parts[6]:
        raise InvalidParameter(f"Invalid log group identifier: {identifier[:600]}")
    if parts[6].endswith("*"):
        raise InvalidParameter("LogGroup ARN must not end with a wildcard (*).")
    if parts[4] != account or parts[3] != region:
        raise AccessDenied(f"User is not authorized to perform: logs:StartLiveTail on resource: {identifier[:600]}")
    return parts[6]


def parse(body: Body, region: str, account: str) -> TailRequest:
    """The request's members, as CloudWatch Logs checks them. Pure."""
    identifiers = _names(body, "logGroupIdentifiers", MAX_GROUPS, 2048)
    if identifiers is None:
        raise InvalidParameter("1 validation error detected: Value null at 'logGroupIdentifiers' failed to satisfy "
                               "constraint: Member must not be null")  # fmt: skip
    streams = _names(body, "logStreamNames", MAX_STREAMS, 512)
    prefixes = _names(body, "logStreamNamePrefixes", MAX_STREAMS, 512)
    if streams is not None and prefixes is not None:
        raise InvalidParameter("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.")
    if (streams is not None or prefixes is not None) and len(identifiers) > 1:
        raise InvalidParameter("logStreamNames and logStreamNamePrefixes can only be specified with one log group.")
    pattern = body.get("logEventFilterPattern")
    if pattern is not None and (not isinstance(pattern, str) or len(pattern) > _PATTERN_CHARS):
        raise InvalidParameter(f"logEventFilterPattern must be a string of at most {_PATTERN_CHARS} characters.")
    groups = tuple(group_name(i, region, account) for i in identifiers)
    return TailRequest(identifiers, groups, streams, prefixes, pattern)


def selection(tail: TailRequest) -> Selection:
    try:
        matches = compile_pattern(tail.pattern or "")
    except FilterPatternError as exc:
        raise InvalidParameter(f"Invalid filter pattern: {exc}") from exc
    return Selection(matches, frozenset(tail.stream_names) if tail.stream_names is not None else None,
                     tail.stream_prefixes)  # fmt: skip


def session_start(tail: TailRequest, request_id: str, session_id: str) -> dict[str, object]:
    doc: dict[str, object] = {"requestId": request_id, "sessionId": session_id,
                              "logGroupIdentifiers": list(tail.identifiers)}  # fmt: skip
    if tail.stream_names is not None:
        doc["logStreamNames"] = list(tail.stream_names)
    if tail.stream_prefixes is not None:
        doc["logStreamNamePrefixes"] = list(tail.stream_prefixes)
    if tail.pattern is not None:
        doc["logEventFilterPattern"] = tail.pattern
    return doc


def session_update(tap: Tap, shows: Selection) -> dict[str, object]:
    """The update of the lines ``tap`` took since the last, those ``shows`` keeps, sampled."""
    lines, sampled = sample([line for line in tap.take() if shows.shows(line.record)])
    return {
        "sessionMetadata": {"sampled": sampled},
        "sessionResults": [{
            "logStreamName": line.record.stream, "logGroupIdentifier": tap.groups[line.group],
            "message": line.record.message, "timestamp": line.record.timestamp_ms, "ingestionTime": line.ingested_ms,
        } for line in lines],
    }  # fmt: skip


async def start_live_tail(request: web.Request, body: Body) -> web.StreamResponse:
    svc = services(request)
    s = svc.settings
    tail = parse(body, s.region, s.account_id)
    shows = selection(tail)
    existing = set(g.groups(svc.functions.list(None, 1_000_000)[0],
                            [name for name, _ in await svc.store.logged_functions()]))  # fmt: skip
    if any(group not in existing for group in tail.groups):
        raise LogsResourceNotFound("The specified log group does not exist.")
    hub = svc.live_tails
    assert hub is not None, "the cell serves no Live Tail sessions"
    try:
        tap = hub.open(dict(zip(tail.groups, tail.identifiers)))
    except TooManySessions as exc:
        raise LimitExceeded(f"Exceeded the maximum number of concurrent Live Tail sessions ({exc}).") from exc
    request_id = str(request.get(REQUEST_ID, ""))
    response = web.StreamResponse(headers={"Content-Type": eventstream.CONTENT_TYPE, "x-amzn-RequestId": request_id})
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        await _session(svc, tap, tail, shows, response, request_id)
    except (ConnectionError, TimeoutError):
        pass  # the client went away, or stopped reading: nothing more can reach it
    finally:
        hub.release(tap)
    return response


async def _session(svc: Services, tap: Tap, tail: TailRequest, shows: Selection, response: web.StreamResponse,
                   request_id: str) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.logs.live_tail_seconds
    first = eventstream.initial_response() + eventstream.event(
        "sessionStart", session_start(tail, request_id, str(uuid.uuid4())))
    try:
        async with asyncio.timeout_at(deadline):  # a client that does not read blocks a write: this ends it too
            await response.write(first)
            while not tap.ended.is_set():
                try:
                    await asyncio.wait_for(tap.ended.wait(), UPDATE_SECONDS)
                except TimeoutError:
                    pass
                await response.write(eventstream.event("sessionUpdate", session_update(tap, shows)))
    except TimeoutError:
        async with asyncio.timeout(WRITE_SECONDS):
            await response.write(eventstream.exception(
                "SessionTimeoutException", "Session timed out after the maximum session duration."))  # fmt: skip
    await response.write_eof()


def register(app: web.Application) -> None:
    awsjson.register_streaming(app, PREFIX, {"StartLiveTail": start_live_tail})
