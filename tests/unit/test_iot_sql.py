"""AWS IoT rule SQL: parsing, evaluation and MQTT topic filters, with plain values."""

from __future__ import annotations

import base64
import json

import pytest

from lamina.iot.evaluate import NOT_JSON, Message, Outcome, run
from lamina.iot.sql import Call, Path, SqlParseError, parse
from lamina.iot.topics import filter_problem, matches


def message(payload: object, topic: str = "sensors/kitchen/temp", now_ms: int = 1_700_000_000_000) -> Message:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = NOT_JSON
    return Message(topic, raw, parsed, now_ms)


def outcome(sql: str, payload: object, topic: str = "sensors/kitchen/temp") -> Outcome:
    return run(parse(sql), message(payload, topic))


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), [
    ("a/b", "a/b", True),
    ("a/b", "a/c", False),
    ("a/+", "a/b", True),
    ("a/+", "a/b/c", False),
    ("a/+/c", "a/x/c", True),
    ("a/#", "a", True),
    ("a/#", "a/b/c/d", True),
    ("#", "anything/at/all", True),
    ("+", "$SYS", False),
    ("#", "$SYS/broker/load", False),
    ("$SYS/#", "$SYS/broker", True),
    ("a/+", "a/", True),
    ("a/b", "a/b/", False),
])  # fmt: skip
def test_topic_filters_match_as_mqtt_says(topic_filter: str, topic: str, expected: bool) -> None:
    assert filter_problem(topic_filter) is None
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize("bad", ["", "a/#/b", "a#", "a/b+", "+a", "a/\x00", "/".join("x" * 9), "x" * 257])
def test_invalid_topic_filters_are_named(bad: str) -> None:
    assert filter_problem(bad) is not None


def test_select_star_passes_the_payload_through() -> None:
    assert outcome("SELECT * FROM 'sensors/+/temp'", {"t": 21, "u": "C"}) == Outcome(True, {"t": 21, "u": "C"})


def test_select_fields_aliases_nested_and_star() -> None:
    q = parse("select a, b.c AS d, b.list[1] as second, * FROM 'x/#'")
    assert q.topic_filter == "x/#"
    assert [i.name for i in q.select] == ["a", "d", "second", None]
    result = run(q, message({"a": 1, "b": {"c": "deep", "list": [10, 20]}}, "x/y")).result
    assert result == {"a": 1, "b": {"c": "deep", "list": [10, 20]}, "d": "deep", "second": 20}


def test_missing_attributes_are_left_out() -> None:
    assert outcome("SELECT a, b.c.d AS x, z[3] FROM 't'", {"a": 1, "b": {"c": 5}, "z": [1]}, "t").result == {"a": 1}


@pytest.mark.parametrize(("where", "fires"), [
    ("temp > 20", True),
    ("temp >= 21", True),
    ("temp < 21", False),
    ("temp <= 21.0", True),
    ("temp = 21", True),
    ("temp <> 21", False),
    ("temp != 22", True),
    ("room = 'kitchen'", True),
    ("room = 'hall'", False),
    ("room > 'a'", True),
    ("temp > 20 AND room = 'kitchen'", True),
    ("temp > 30 OR room = 'kitchen'", True),
    ("temp > 30 OR room = 'hall'", False),
    ("NOT temp > 30", True),
    ("NOT (temp > 20 AND room = 'kitchen')", False),
    ("(temp > 30 OR meta.ok = true) AND meta.level[0] = 3", True),
    ("missing > 1", False),
    ("NOT missing > 1", False),
    ("temp = '21'", False),  # different types: Undefined
    ("temp + 1 = 22", True),
    ("temp % 2 = 1", True),
    ("temp / 0 = 1", False),
    ("-temp < 0", True),
    ("meta.ok", True),
    ("meta = null", False),
    ("nothing = null", True),
])  # fmt: skip
def test_where_clauses(where: str, fires: bool) -> None:
    payload = {"temp": 21, "room": "kitchen", "meta": {"ok": True, "level": [3]}, "nothing": None}
    assert outcome(f"SELECT * FROM 'sensors/#' WHERE {where}", payload).fires is fires


def test_topic_timestamp_and_functions() -> None:
    q = parse("SELECT topic() AS t, topic(2) AS room, topic(9) AS none, timestamp() AS ts, upper(u), "
              "concat(u, '!') AS c FROM 'sensors/+/temp' WHERE topic(1) = 'sensors'")  # fmt: skip
    result = run(q, message({"u": "c"}, now_ms=1234)).result
    assert result == {"t": "sensors/kitchen/temp", "room": "kitchen", "ts": 1234, "upper": "C", "c": "c!"}


def test_a_payload_that_is_not_json() -> None:
    raw = b"\x00\xffnot json"
    assert outcome("SELECT * FROM 't'", raw, "t") == Outcome(True, binary=True)
    assert outcome("SELECT * FROM 't' WHERE device = 'x'", raw, "t").fires is False
    encoded = outcome("SELECT encode(*, 'base64') AS data, topic() AS t FROM 't'", raw, "t").result
    assert encoded == {"data": base64.b64encode(raw).decode(), "t": "t"}
    assert outcome("SELECT *, topic() AS t FROM 't'", raw, "t").result == {"t": "t"}


def test_a_json_payload_that_is_not_an_object() -> None:
    assert outcome("SELECT * FROM 't'", [1, 2], "t").result == [1, 2]
    assert outcome("SELECT *, topic() AS t FROM 't'", 5, "t").result == {"t": "t"}


def test_literals_and_precedence() -> None:
    q = parse("SELECT 1 + 2 * 3 AS n, 'it''s' AS s, -1.5e1 AS f, true AS b FROM \"t/#\" WHERE 1 = 1 OR 0 = 1 AND 1 = 0")
    assert run(q, message({}, "t")).result == {"n": 7, "s": "it's", "f": -15.0, "b": True}
    assert run(q, message({}, "t")).fires


def test_parse_shapes() -> None:
    q = parse("SELECT a.b[2].c FROM 'x'")
    assert q.select[0].expr == Path(("a", "b", 2, "c")) and q.select[0].name == "c"
    assert parse("SELECT topic(2) FROM 'x'").select[0].expr == Call("topic", (parse("SELECT 2 FROM 'x'").select[0].expr,))


@pytest.mark.parametrize(("sql", "fragment"), [
    ("SELECT * FRM 'a'", "Line 1:9 mismatched input 'FRM' expecting FROM"),
    ("SELEKT * FROM 'a'", "Line 1:0 mismatched input 'SELEKT' expecting SELECT"),
    ("SELECT * FROM a", "expecting a quoted topic filter"),
    ("SELECT * FROM 'a/#/b'", "invalid topic filter"),
    ("SELECT * FROM 'a' WHERE", "expecting an expression"),
    ("SELECT * FROM 'a' WHERE (x = 1", "expecting ')'"),
    ("SELECT * FROM 'a' extra", "expecting <EOF>"),
    ("SELECT nosuch(1) FROM 'a'", "unknown function 'nosuch'"),
    ("SELECT topic(1, 2) FROM 'a'", "wrong number of arguments"),
    ("SELECT * FROM 'a' WHERE x = #", "token recognition error at: '#'"),
    ("SELECT * FROM 'a'\nWHERE x = 'open", "Line 2:10 token recognition error"),
    ("", "expecting SELECT"),
    ("SELECT * FROM 'a' WHERE " + "(" * 500 + "1" + ")" * 500, "nested more than"),
    ("SELECT * FROM 'a' WHERE " + "NOT " * 500 + "true", "nested more than"),
    ("SELECT * FROM 'a' WHERE x = '" + "y" * 30_000 + "'", "longer than"),
])  # fmt: skip
def test_parse_errors_say_where(sql: str, fragment: str) -> None:
    with pytest.raises(SqlParseError) as caught:
        parse(sql)
    assert fragment in str(caught.value)
