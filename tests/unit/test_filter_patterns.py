"""CloudWatch Logs' filter patterns (logs/patterns.py), with the examples AWS's documentation gives."""

from __future__ import annotations

import pytest

from lamina.logs.patterns import FilterPatternError, compile_pattern

LINES = [
    "[ERROR] 2024-01-01 something failed: Exiting",
    "[ERROR] retrying",
    "WARN disk almost full",
    "INFO all good",
    'START RequestId: 6f6e Version: $LATEST',
]


def matching(pattern: str, lines: list[str] = LINES) -> list[str]:
    match = compile_pattern(pattern)
    return [line for line in lines if match(line)]


def test_terms_all_any_and_none() -> None:
    assert matching("") == LINES
    assert matching("   ") == LINES
    assert matching("ERROR") == LINES[:2]
    assert matching("ERROR Exiting") == LINES[:1]
    assert matching("ERROR -Exiting") == LINES[1:2]
    assert matching("?WARN ?INFO") == LINES[2:4]
    assert matching('"all good"') == LINES[3:4]
    assert matching('"all  good"') == []
    assert matching("error") == []  # case-sensitive
    assert matching('"RequestId: 6f6e"') == LINES[4:]


JSON_LINES = [
    '{"level": "ERROR", "user": {"id": 7, "name": "ann"}, "latency": 120.5, "tags": ["a", "b"], "ok": false}\n',
    '{"level": "INFO", "user": {"id": 8, "name": "bob"}, "latency": 12, "tags": ["b"], "ok": true, "err": null}',
    "not json",
    '["a", "list"]',
    '{"level": "ERROR", "user": "anonymous"}',
]


def test_json_comparisons() -> None:
    assert matching('{ $.level = "ERROR" }', JSON_LINES) == [JSON_LINES[0], JSON_LINES[4]]
    assert matching("{ $.level = ERR* }", JSON_LINES) == [JSON_LINES[0], JSON_LINES[4]]
    assert matching('{ $.level != "ERROR" }', JSON_LINES) == [JSON_LINES[1]]
    assert matching("{ $.user.id = 7 }", JSON_LINES) == [JSON_LINES[0]]
    assert matching("{ $.latency > 100 }", JSON_LINES) == [JSON_LINES[0]]
    assert matching("{ $.latency <= 12 }", JSON_LINES) == [JSON_LINES[1]]
    assert matching('{ $.tags[1] = "b" }', JSON_LINES) == [JSON_LINES[0]]
    assert matching("{ $.ok IS TRUE }", JSON_LINES) == [JSON_LINES[1]]
    assert matching("{ $.ok IS FALSE }", JSON_LINES) == [JSON_LINES[0]]
    assert matching("{ $.err IS NULL }", JSON_LINES) == [JSON_LINES[1]]
    assert matching("{ $.err NOT EXISTS }", JSON_LINES) == [JSON_LINES[0], JSON_LINES[4]]
    assert matching("{ $.err EXISTS }", JSON_LINES) == [JSON_LINES[1]]
    assert matching('{ ($.level = "ERROR" && $.latency > 100) || $.user.name = "bob" }', JSON_LINES) == JSON_LINES[:2]
    assert matching('{ $.level = "ERROR" && $.user.id = 7 }', JSON_LINES) == [JSON_LINES[0]]
    assert matching("{ $.missing.deeper = 1 }", JSON_LINES) == []


def test_space_delimited_fields() -> None:
    lines = [
        '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534',
        '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 200 4000',
        "too few fields",
    ]
    fields = "[ip, user, username, timestamp, request, status_code, bytes]"
    assert matching(fields, lines) == lines[:2]
    assert matching("[ip, user, username, timestamp, request, status_code = 404, bytes]", lines) == lines[:1]
    assert matching("[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]", lines) == lines[:1]
    assert matching("[ip, user, username, timestamp, request = *html* && request != *gif*, status_code, bytes]",
                    lines) == lines[1:2]  # fmt: skip
    assert matching("[..., status_code = 200, bytes]", lines) == lines[1:2]
    assert matching("[ip = 127.0.0.1, ...]", lines) == lines[:2]
    assert matching("[a, b, c]", lines) == lines[2:]


@pytest.mark.parametrize("pattern", [
    "{ $.level = ", "{ $.level }", "{ level = 1 }", "{ $.a = 1 ", "{ $.a > abc }", "{ ($.a = 1 }", "{ $.a = 1 ) }",
    "{ $.a IS MAYBE }", "{ && }", "{ }", '"unbalanced', "[ip, , user]", "[]", "[ip, ..., ...]", "[1bad = 2 ]x",
    "{ $. = 1 }", "x" * 1025, "{ " + "(" * 40 + "$.a = 1" + ")" * 40 + " }",
])  # fmt: skip
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


def test_hostile_messages_never_raise() -> None:
    match = compile_pattern('{ $.a = "x*" }')
    for message in ("{" * 100_000 + "}" * 100_000, '{"a": ' * 5000, "\x00\xff", "", "{", '{"a": "' + "x" * 1_000_000):
        assert match(message) is False
    assert compile_pattern("[a, b = *]")("one two") is True
