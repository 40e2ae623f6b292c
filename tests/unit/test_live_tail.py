"""Live Tail's pure parts and its publish/subscribe point: the event stream framing (read back by
botocore's own parser), the request's checks, the sample, and the taps' bounds."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Sequence

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from lamina.api.live_tail import AccessDenied, TailRequest, parse, selection, session_start
from lamina.api.logs import InvalidParameter
from lamina.logs import eventstream
from lamina.logs.livetail import BUFFERED, Line, LiveTails, Selection, TooManySessions, sample
from lamina.metering.recorder import Recorder
from lamina.store.base import InvocationRecord, LogRecord
from lamina.store.memory import MemoryStore

ACCOUNT, REGION = "000000000000", "us-east-1"


def read_back(raw: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return list(buffer)


def test_events_are_framed_as_botocore_reads_them() -> None:
    raw = (eventstream.initial_response() + eventstream.event("sessionStart", {"sessionId": "s", "é": "ü"})
           + eventstream.exception("SessionTimeoutException", "over"))  # fmt: skip
    first, start, timeout = read_back(raw)
    assert first.headers == {":message-type": "event", ":event-type": "initial-response",
                             ":content-type": "application/json"}  # fmt: skip
    assert json.loads(first.payload) == {}
    assert start.headers[":event-type"] == "sessionStart" and json.loads(start.payload) == {"sessionId": "s", "é": "ü"}
    assert timeout.to_response_dict()["status_code"] == 400
    assert timeout.headers[":exception-type"] == "SessionTimeoutException"


def test_a_frame_that_does_not_fit_the_framing_is_refused() -> None:
    with pytest.raises(ValueError):
        eventstream.message({"x" * 256: "v"}, b"")
    with pytest.raises(ValueError):
        eventstream.message({"": "v"}, b"")
    with pytest.raises(ValueError):
        eventstream.message({"h": "v" * 40_000}, b"")
    big = eventstream.event("sessionUpdate", {"m": "y" * 300_000})  # a payload is not bounded by a header's size
    assert json.loads(read_back(big)[0].payload)["m"] == "y" * 300_000
    corrupt = bytearray(eventstream.event("sessionStart", {}))
    corrupt[-6] ^= 1
    with pytest.raises(ChecksumMismatch):
        read_back(bytes(corrupt))


def arn(group: str, account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:logs:{region}:{account}:log-group:{group}"


def refused(body: dict[str, object]) -> str:
    with pytest.raises((InvalidParameter, AccessDenied)) as caught:
        parse(body, REGION, ACCOUNT)
    return f"{caught.value.code}: {caught.value.message}"


def test_requests_are_checked_as_cloudwatch_logs_checks_them() -> None:
    tail = parse({"logGroupIdentifiers": [arn("/aws/lambda/a"), "/aws/lambda/b"], "logEventFilterPattern": "x"},
                 REGION, ACCOUNT)  # fmt: skip
    assert tail == TailRequest((arn("/aws/lambda/a"), "/aws/lambda/b"), ("/aws/lambda/a", "/aws/lambda/b"), None,
                               None, "x")  # fmt: skip
    assert session_start(tail, "r", "s") == {"requestId": "r", "sessionId": "s", "logEventFilterPattern": "x",
                                             "logGroupIdentifiers": [arn("/aws/lambda/a"), "/aws/lambda/b"]}  # fmt: skip
    assert "Member must not be null" in refused({})
    assert "less than or equal to 10" in refused({"logGroupIdentifiers": ["/g"] * 11})
    assert "greater than or equal to 1" in refused({"logGroupIdentifiers": []})
    assert refused({"logGroupIdentifiers": "/g"}).startswith("InvalidParameterException")
    assert refused({"logGroupIdentifiers": [7]}).startswith("InvalidParameterException")
    assert refused({"logGroupIdentifiers": ["/g" * 1025]}).startswith("InvalidParameterException")
    assert refused({"logGroupIdentifiers": ["/g"], "logStreamNames": ["s" * 513]}).startswith("InvalidParameter")
    assert refused({"logGroupIdentifiers": [arn("/g") + ":*"]}).startswith("InvalidParameterException")
    assert refused({"logGroupIdentifiers": ["arn:aws:s3:::bucket"]}).startswith("InvalidParameterException")
    assert refused({"logGroupIdentifiers": [arn("/g", account="111111111111")]}).startswith("AccessDeniedException")
    assert refused({"logGroupIdentifiers": [arn("/g", region="eu-west-1")]}).startswith("AccessDeniedException")
    assert "mutually exclusive" in refused({"logGroupIdentifiers": ["/g"], "logStreamNames": ["s"],
                                            "logStreamNamePrefixes": ["s"]})  # fmt: skip
    assert "one log group" in refused({"logGroupIdentifiers": ["/g", "/h"], "logStreamNamePrefixes": ["s"]})
    assert refused({"logGroupIdentifiers": ["/g"], "logEventFilterPattern": 7}).startswith("InvalidParameter")
    assert refused({"logGroupIdentifiers": ["/g"], "logEventFilterPattern": "x" * 1025}).startswith("InvalidParam")
    with pytest.raises(InvalidParameter, match="filter pattern"):
        selection(parse({"logGroupIdentifiers": ["/g"], "logEventFilterPattern": "{ $.a = "}, REGION, ACCOUNT))


def test_a_selection_keeps_its_streams_lines_that_match() -> None:
    shows = selection(parse({"logGroupIdentifiers": ["/g"], "logStreamNamePrefixes": ["2026/", "x"],
                             "logEventFilterPattern": "ERROR"}, REGION, ACCOUNT))  # fmt: skip
    assert shows.shows(LogRecord("f", "2026/01/01/[$LATEST]a", 1, "ERROR here"))
    assert not shows.shows(LogRecord("f", "2026/01/01/[$LATEST]a", 1, "fine"))
    assert not shows.shows(LogRecord("f", "2025/01/01/[$LATEST]a", 1, "ERROR here"))
    named = Selection(lambda _: True, frozenset({"s"}))
    assert named.shows(LogRecord("f", "s", 1, "")) and not named.shows(LogRecord("f", "s2", 1, ""))


def test_more_than_500_lines_are_sampled_in_their_order() -> None:
    lines = [Line(LogRecord("f", "s", n, str(n)), "/g", n) for n in range(1200)]
    kept, sampled = sample(lines, rng=random.Random(7))
    assert sampled and len(kept) == 500 and len(set(id(x) for x in kept)) == 500
    assert [x.ingested_ms for x in kept] == sorted(x.ingested_ms for x in kept)
    assert sample(lines[:500]) == (lines[:500], False)


def test_taps_are_bounded_keep_their_groups_lines_and_end_with_the_cell() -> None:
    async def scenario() -> None:
        hub = LiveTails(max_sessions=2)
        groups = {"a": "/aws/lambda/a", "b": "/shared", "c": "/shared"}  # the registry as it is now
        hub.serve(lambda name: groups.get(name, "/aws/lambda/" + name))
        one, two = hub.open({"/aws/lambda/a": "A"}), hub.open({"/shared": "S"})
        with pytest.raises(TooManySessions):
            hub.open({"/x": "/x"})
        hub.publish([LogRecord("a", "s", 1, "to one"), LogRecord("b", "s", 2, "to two"), LogRecord("d", "s", 3, "x")],
                    now_ms=5)  # fmt: skip
        assert [x.record.message for x in one.take()] == ["to one"] and one.take() == []
        assert [(x.record.message, x.group, x.ingested_ms) for x in two.take()] == [("to two", "/shared", 5)]
        groups["d"] = "/shared"  # a function that joins a followed group: its next line is followed
        hub.publish([LogRecord("d", "s", 4, "joined")])
        assert [x.record.message for x in two.take()] == ["joined"]
        hub.publish([LogRecord("a", "s", n, str(n)) for n in range(BUFFERED + 10)])  # a reader too slow
        assert [x.record.message for x in one.take()][0] == "10"  # the oldest went
        hub.release(one)
        hub.release(one)  # twice: harmless
        assert one.ended.is_set() and hub.sessions == 1
        hub.open({"/x": "/x"})
        await hub.close()
        assert two.ended.is_set() and hub.sessions == 0
        with pytest.raises(TooManySessions):
            hub.open({"/x": "/x"})  # the cell is stopping

    asyncio.run(scenario())


class BrokenStore(MemoryStore):
    """A store whose writes of log lines fail."""

    async def append_logs(self, records: Sequence[LogRecord], *, max_function_bytes: int | None = None) -> None:
        raise OSError("disk full")


def test_the_recorder_publishes_lines_once_stored() -> None:
    async def scenario() -> None:
        for store, expected in [(MemoryStore(), ["a line"]), (BrokenStore(), [])]:
            published: list[LogRecord] = []
            recorder = Recorder(store, interval=0.01, publish=published.extend)
            recorder.log(LogRecord("f", "s", 1, "a line"))
            await recorder.flush()
            assert [r.message for r in published] == expected

        def broken(records: Sequence[LogRecord]) -> None:
            raise RuntimeError("a fault in Live Tail")

        store = MemoryStore()
        recorder = Recorder(store, interval=0.01, publish=broken)
        recorder.log(LogRecord("f", "s", 1, "a line"))
        recorder.invocation(InvocationRecord("r1", "f", "$LATEST", 1, 1.0, 1, 128, 10, None, "success"))
        await recorder.flush()  # what the store keeps does not depend on Live Tail
        assert [e.message for e in await store.read_logs("f", -1, 10)] == ["a line"]
        assert [r.request_id for r in await store.read_invocations(0, 2**62)] == ["r1"]

    asyncio.run(scenario())
