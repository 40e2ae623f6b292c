"""ApplicationLogLevel's filtering of a function's lines (sandbox/log_levels.py), from plain values."""

from __future__ import annotations

from lamina.model import LoggingSettings
from lamina.sandbox.log_levels import RANKS, application_filter, level_of


def test_text_logs_and_trace_keep_every_line() -> None:
    assert application_filter(LoggingSettings()) is None
    assert application_filter(LoggingSettings("Text", "", "")) is None
    assert application_filter(LoggingSettings("JSON", "TRACE", "INFO")) is None


def test_a_lines_level_is_its_json_objects_else_info() -> None:
    assert level_of('{"level": "debug", "msg": "my debug log"}') == RANKS["DEBUG"]
    assert level_of('{"level":"ERROR"}') == RANKS["ERROR"]
    assert level_of('{"level": " Warning "}') == RANKS["WARN"]  # .NET's and Java's names
    assert level_of('{"level": "Information"}') == RANKS["INFO"]
    assert level_of('{"level": "Critical"}') == RANKS["FATAL"]
    for line in ("plain text", "", "{", "{not json}", '{"level": 3}', '{"level": null}', '{"lvl": "error"}',
                 '{"level": "verbose"}', '["level", "error"]', '"level"', " {\"level\": \"error\"}",
                 "{" * 100_000 + "}" * 100_000):
        assert level_of(line) == RANKS["INFO"], line[:40]


def test_lines_below_the_level_are_dropped() -> None:
    warn = application_filter(LoggingSettings("JSON", "WARN", "INFO"))
    assert warn is not None
    assert [warn(line) for line in ("plain print", '{"level":"info"}', '{"level":"warn"}', '{"level":"fatal"}')] == [
        False, False, True, True]  # fmt: skip
    default = application_filter(LoggingSettings("JSON", "", ""))  # INFO unless given
    assert default is not None
    assert [default(line) for line in ('{"level":"debug"}', '{"level":"trace"}', "plain", '{"level":"info"}')] == [
        False, False, True, True]  # fmt: skip
