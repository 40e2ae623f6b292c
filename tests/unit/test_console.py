"""The web console's pure parts: who may read it, which POSTs are its page's own, the per-minute
series and their cost, and which files its asset route serves."""

from __future__ import annotations

import pytest

from lamina.console import access, page
from lamina.console.cost import Price, cost, price_of
from lamina.metering.prices import Prices
from lamina.console.series import percentile, per_minute, window_start
from lamina.store.base import InvocationRecord

T0 = 1_796_650_000_000 - 1_796_650_000_000 % 60_000  # a minute's start, epoch ms


def record(started_ms: int, duration_ms: float = 10.0, *, outcome: str = "success", init_ms: float | None = None,
           memory_mb: int = 1024, billed_ms: int = 1000) -> InvocationRecord:  # fmt: skip
    return InvocationRecord("r", "f", "$LATEST", started_ms, duration_ms, billed_ms, memory_mb, 10, init_ms, outcome)


# -- reading --------------------------------------------------------------------------------------


def test_without_a_token_only_loopback_clients_asking_for_a_loopback_host_read_it() -> None:
    for remote, host in [("127.0.0.1", "127.0.0.1:9000"), ("::1", "[::1]:9000"), ("::ffff:127.0.0.1", "localhost:9000"),
                         ("127.0.0.1", "localhost"), ("127.0.0.1", "app.localhost:80")]:  # fmt: skip
        assert access.refused(token=None, authorization=None, cookie=None, remote=remote, host=host) is None
    for remote in ["10.0.0.5", "192.168.1.2", "8.8.8.8", "::ffff:10.0.0.5", "", None, "not-an-address"]:
        refusal = access.refused(token=None, authorization=None, cookie=None, remote=remote, host="127.0.0.1:9000")
        assert refusal is not None and refusal.status == 403 and "LAMINA_CONSOLE_TOKEN" in refusal.message


def test_a_page_of_another_site_resolving_to_loopback_is_refused_by_its_host_name() -> None:
    # DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's host.
    for host in ["evil.example", "evil.example:9000", "127.0.0.1.evil.example", "localhost.evil.example", "",
                 None, "[::2]:9000", "0.0.0.0:9000", "localhost:9000:1"]:  # fmt: skip
        refusal = access.refused(token=None, authorization=None, cookie=None, remote="127.0.0.1", host=host)
        assert refusal is not None and refusal.status == 403, host


def test_with_a_token_any_client_that_presents_it_reads_it_and_no_other() -> None:
    ok = dict(remote="10.1.2.3", host="lamina.internal:9000")
    assert access.refused(token="s3cret", authorization="Bearer s3cret", cookie=None, **ok) is None
    assert access.refused(token="s3cret", authorization=None, cookie="s3cret", **ok) is None
    for authorization, cookie in [(None, None), ("Bearer wrong", None), ("s3cret", None), (None, "wrong"),
                                  ("Bearer s3cret ", None), (None, "")]:  # fmt: skip
        refusal = access.refused(token="s3cret", authorization=authorization, cookie=cookie, **ok)
        assert refusal is not None and refusal.status == 401
    # A token set means loopback clients present it too.
    refusal = access.refused(token="s3cret", authorization=None, cookie=None, remote="127.0.0.1", host="127.0.0.1")
    assert refusal is not None and refusal.status == 401


# -- writing --------------------------------------------------------------------------------------


GOOD = dict(origin="http://127.0.0.1:9000", host="127.0.0.1:9000", sent="tok", expected="tok",
            content_type="application/json")  # fmt: skip


def test_a_post_of_the_page_itself_is_not_forged() -> None:
    assert access.forged(**GOOD) is None
    assert access.forged(**{**GOOD, "content_type": "application/json; charset=utf-8"}) is None


@pytest.mark.parametrize("change", [
    {"sent": None}, {"sent": ""}, {"sent": "tok2"}, {"sent": "to"},
    {"origin": None}, {"origin": "null"}, {"origin": "http://evil.example"}, {"origin": "http://127.0.0.1:9001"},
    {"origin": "http://127.0.0.1:9000.evil.example"}, {"host": None},
    {"content_type": None}, {"content_type": "text/plain"}, {"content_type": "application/x-www-form-urlencoded"},
    {"content_type": "multipart/form-data; boundary=x"},
])  # fmt: skip
def test_a_post_without_the_token_the_origin_or_a_json_body_is_forged(change: dict[str, str | None]) -> None:
    assert access.forged(**{**GOOD, **change}) is not None  # type: ignore[arg-type]


# -- series ---------------------------------------------------------------------------------------


def test_invocations_are_counted_per_minute_with_errors_cold_starts_percentiles_and_cost() -> None:
    records = [
        record(T0 + 1_000, 10, init_ms=120.0),
        record(T0 + 2_000, 30),
        record(T0 + 59_999, 20, outcome="Unhandled"),
        record(T0 + 60_000, 5, outcome="Function.TimedOut", init_ms=80.0),
        record(T0 - 1, 99),  # before the window
        record(T0 + 180_000, 99),  # after it
    ]
    series = per_minute(records, now_ms=T0 + 60_000 + 5, minutes=2, price=price_of(Prices(), "x86_64"))
    assert series.minutes == [T0 // 1000, T0 // 1000 + 60]
    assert series.invocations == [3, 1]
    assert series.errors == [1, 1]
    assert series.cold_starts == [1, 1]
    assert series.p50_ms == [20, 5]
    assert series.p99_ms == [30, 5]
    one = 1.0 * 0.0000166667 + 0.20 / 1_000_000  # 1 GB for 1 s, and the request
    assert series.cost_usd == [pytest.approx(3 * one), pytest.approx(one)]
    assert series.as_json()["coldStarts"] == [1, 1]


def test_a_minute_without_invocations_has_no_percentiles_and_costs_nothing() -> None:
    series = per_minute([], now_ms=T0, minutes=3, price=price_of(Prices(), "arm64"))
    assert series.invocations == [0, 0, 0] and series.p50_ms == [None, None, None] and series.cost_usd == [0, 0, 0]
    assert len(series.minutes) == 3 and series.minutes[-1] == T0 // 1000


def test_the_window_starts_at_a_whole_minute_and_ends_with_now() -> None:
    assert window_start(T0 + 59_999, 1) == T0 and window_start(T0, 1) == T0
    assert window_start(T0 + 1, 60) == T0 - 59 * 60_000


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50 and percentile(values, 0.99) == 99
    assert percentile([7.0], 0.99) == 7 and percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2


def test_cost_follows_memory_billed_duration_and_architecture() -> None:
    arm, x86 = price_of(Prices(), "arm64"), price_of(Prices(), "x86_64")
    assert arm == Price(gb_second=0.0000133334, request=0.20 / 1_000_000) and arm.gb_second < x86.gb_second
    assert price_of(Prices(), "unknown") == x86
    small = cost(record(T0, memory_mb=128, billed_ms=100), x86)
    assert small == pytest.approx(0.125 * 0.1 * x86.gb_second + x86.request)
    assert cost(record(T0, memory_mb=256, billed_ms=100), x86) > small


# -- assets ---------------------------------------------------------------------------------------


def test_assets_are_the_console_files_and_nothing_else() -> None:
    assert page.asset("app.js") == page.STATIC / "app.js"
    assert page.asset("app.css") == page.STATIC / "app.css"
    for name in ["../page.py", "..", "../../settings.py", "vendor/../app.js", "vendor/../../page.py", "/etc/passwd",
                 "__init__.py", "page.py", "vendor/.built", ".built", "vendor/LICENSE.preact", "x/app.js",
                 "vendor/vendor/app.js", "app.js/", "app.js\x00.css", "app .js", "appé.js", "vendor//uplot.js",
                 "missing.js", "%2e%2e/page.py", "app.js/../page.py", "a" * 300 + ".js"]:  # fmt: skip
        assert page.asset(name) is None, name


def test_the_page_carries_its_token_escaped_and_allows_its_import_map_by_hash() -> None:
    import base64
    import hashlib

    text = page.page('a"<b>')
    assert 'content="a&quot;&lt;b&gt;"' in text and '<b>' not in text
    start = text.index('<script type="importmap">') + len('<script type="importmap">')
    inline = text[start : text.index("</script>", start)]
    assert base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode() == page.IMPORTMAP_SHA256
    assert "scripts/install/console.sh" in page.missing()
