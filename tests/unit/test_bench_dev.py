"""The dev scenario's pure parts (bench/scenarios/dev.py): answers read, saves written, figures summarised and judged."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import figures
from bench.handlers import load
from bench.load import Response
from bench.machine import Machine
from bench.profile import QUICK
from bench.report import render
from bench.results import Results
from bench.scenarios.dev import FIRST, DevResult, Loop, Save, marker_of, reloaded_ms, save, source
from bench.targets import DEV_CHECK, checks

MACHINE = Machine(2, "a CPU", 4096, 2048, (0.5, 0.5, 0.5), "6.1", "3.11.7", None, None, "abc1234")


def answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, headers or {}, body, 0.001)


def test_the_handler_returns_its_marker_and_the_answer_gives_it_back() -> None:
    returned = load(source("save-3-atomic")).handler({}, None)
    assert marker_of(answer(json.dumps(returned).encode())) == "save-3-atomic"


@pytest.mark.parametrize("got", [
    answer(b'{"marker": "x"}', status=502),  # an API error is no answer of the code
    answer(b'{"marker": "x"}', headers={"x-amz-function-error": "Unhandled"}),
    answer(b'{"marker": "x'),  # cut short
    answer(b""),
    answer(b'["marker", "x"]'),
    answer(b'{"marker": 7}'),
    answer(b'{"errorMessage": "Syntax error in module app", "errorType": "Runtime.UserCodeSyntaxError"}'),
    answer(b"\xff\xfe" * 1000),  # not UTF-8
])  # fmt: skip
def test_anything_but_a_successful_answer_with_a_string_marker_has_none(got: Response) -> None:
    assert marker_of(got) is None


def test_reloaded_lines_are_read_in_order_and_nothing_else_is() -> None:
    output = (
        "Deployed dev (python3.11, 1 KB)\n"
        "Watching /tmp/x/function for changes (Ctrl-C to stop)...\n"
        "Reloaded dev in 18 ms (app.py changed, 1 KB)\n"
        "Not deployed: Reloaded dev in 5 ms\n"  # not at a line's start: not lamina dev's line
        "Reloaded dev in abc ms (app.py changed, 1 KB)\n"
        "Reloaded dev in 250 ms (2 files changed, 3 KB)\n"
        "Reloaded dev in 9"  # the line still being written
    )
    assert reloaded_ms(output) == [18.0, 250.0]
    assert reloaded_ms("") == []


@pytest.mark.parametrize("variant", ["atomic", "in place"])
def test_a_save_replaces_the_file_and_leaves_nothing_beside_it(tmp_path: Path, variant: str) -> None:
    app = tmp_path / "app.py"
    app.write_text(source(FIRST) + "# a longer first version than the second\n" * 10)
    save(app, source("second"), variant)
    assert app.read_text() == source("second")
    assert [p.name for p in tmp_path.iterdir()] == ["app.py"]


def test_an_atomic_save_is_a_new_file_and_an_in_place_one_the_same(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(source(FIRST))
    inode = app.stat().st_ino
    save(app, source("a"), "in place")
    assert app.stat().st_ino == inode
    save(app, source("b"), "atomic")
    assert app.stat().st_ino != inode


def test_an_unknown_way_to_save_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(source(FIRST))
    with pytest.raises(ValueError, match="unknown way to save"):
        save(app, source("x"), "../elsewhere")
    assert app.read_text() == source(FIRST)
    assert [p.name for p in tmp_path.iterdir()] == ["app.py"]


def saves(*seconds: float, stale: int = 0, reloaded: float | None = None) -> list[Save]:
    variants = ["atomic", "in place"]
    return [Save(variants[i % 2], s, stale + i, 0, reloaded) for i, s in enumerate(seconds)]


def test_a_loop_summarises_its_saves_by_way_of_saving() -> None:
    loop = Loop.of("lamina", saves(0.05, 0.09, 0.06, 0.11, reloaded=20.0), [0.001, 0.002, 0.003])
    assert loop.reload.count == 4 and loop.reload.p50_ms == pytest.approx(60.0)
    assert loop.by_variant["atomic"].p50_ms == pytest.approx(50.0)
    assert loop.by_variant["in place"].p50_ms == pytest.approx(90.0)
    assert (loop.stale_mean, loop.stale_max, loop.failed) == (1.5, 3, 0)
    assert loop.reloaded is not None and loop.reloaded.p50_ms == pytest.approx(20.0)
    assert loop.warm.p50_ms == pytest.approx(2.0)


def test_without_reloaded_lines_a_loop_has_none_and_without_saves_no_figures() -> None:
    assert Loop.of("peer", saves(0.1), [0.1]).reloaded is None
    empty = Loop.of("lamina", [], [])
    assert empty.by_variant == {} and math.isnan(empty.reload.p50_ms) and empty.stale_max == 0


def results(lamina_s: list[float], peer_s: list[float] | None) -> Results:
    r = Results(QUICK, MACHINE, "2026-12-07T00:00:00+00:00")
    peer = Loop.of("peer", saves(*peer_s), [0.15]) if peer_s is not None else None
    r.dev = DevResult(len(lamina_s) // 2, 5.0, Loop.of("lamina", saves(*lamina_s, reloaded=20.0), [0.0015]), peer)
    return r


def dev_check(r: Results) -> tuple[str, bool | None]:
    found = next(c for c in checks(r) if c.figure == DEV_CHECK)
    return found.measured, found.met


def test_the_target_is_met_only_strictly_below_the_peer() -> None:
    assert dev_check(results([0.06, 0.08], [0.14, 0.12])) == ("0.50×", True)  # nearest-rank p50s: 60 and 120 ms
    assert dev_check(results([0.13, 0.13], [0.13, 0.13])) == ("1.00×", False)  # as fast is not faster
    assert dev_check(results([0.3, 0.3], [0.1, 0.1])) == ("3.00×", False)


def test_without_the_peer_or_the_scenario_the_target_is_not_measured() -> None:
    assert dev_check(results([0.06, 0.08], None)) == ("not measured", None)
    assert dev_check(Results(QUICK, MACHINE, "2026-12-07T00:00:00+00:00")) == ("not measured", None)


def test_the_figures_and_the_report_carry_both_sides() -> None:
    r = results([0.05, 0.07], [0.14, 0.12])
    named = {f.name: f.value for f in figures.of(r)}
    assert named["lamina dev: save → new code answered, p50"] == pytest.approx(50.0)
    assert named["lamina dev: save → new code p50, vs serverless-offline"] == pytest.approx(50 / 120)
    text = render(r)
    assert "save → new code answered, p50 / p99 (ms, 2 saves) | 50.0 / 70.0" in text
    assert "120.0 / 140.0" in text  # the peer's column
    alone = render(results([0.05, 0.07], None))
    assert "lamina dev: save → new code p50, vs serverless-offline" not in {f.name for f in figures.of(
        results([0.05, 0.07], None))}  # fmt: skip
    assert "50.0 / 70.0" in alone
