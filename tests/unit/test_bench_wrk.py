"""The benchmark's reading of wrk's report (bench/wrk.py)."""

from __future__ import annotations

import math

import pytest

from bench import wrk
from bench.load import Endpoint

REPORT = """Running 8s test @ http://127.0.0.1:18555/2015-03-31/functions/noop/invocations
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   588.55us  187.04us   6.62ms   88.06%
    Req/Sec     6.80k   310.22     7.31k    70.00%
  Latency Distribution
     50%  545.00us
     75%  640.00us
     90%  760.00us
     99%    1.23ms
  108800 requests in 8.00s, 25.42MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 800
Requests/sec:  13600.00
Transfer/sec:      3.18MB
"""


def test_reads_counts_percentiles_and_failures() -> None:
    run = wrk.parse(REPORT, client_cpu_s=2.0)
    assert run is not None
    assert (run.requests, run.ok, run.errors, run.duration_s) == (108800, 108000, 3, 8.0)
    assert run.throughput == pytest.approx(13500.0)  # 2xx answers only
    assert [run.p50_ms, run.p99_ms, run.mean_ms, run.max_ms] == pytest.approx([0.545, 1.23, 0.58855, 6.62])
    assert run.client_cpu_s == 2.0


def test_a_report_in_seconds_and_without_failures() -> None:
    text = REPORT.replace("545.00us", "1.50s").replace("  Socket errors: connect 0, read 2, write 0, timeout 1\n", "")
    text = text.replace("  Non-2xx or 3xx responses: 800\n", "")
    run = wrk.parse(text)
    assert run is not None
    assert (run.ok, run.errors, run.p50_ms) == (108800, 0, 1500.0)


def test_no_figures_when_wrk_failed() -> None:
    assert wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n") is None
    partial = wrk.parse(REPORT.replace("  Latency Distribution\n", "").replace("     50%  545.00us\n", ""))
    assert partial is not None and math.isnan(partial.p50_ms)


def test_the_request_script_quotes_what_it_sends() -> None:
    endpoint = Endpoint("http://127.0.0.1:1", "/x", b'{"a": "b\\\\c"}', "GET", {"Host": 'q"uote'})
    lua = wrk.script(endpoint)
    assert 'wrk.method = "GET"' in lua
    assert 'wrk.body = "{\\"a\\": \\"b\\\\\\\\c\\"}"' in lua
    assert 'wrk.headers["Host"] = "q\\"uote"' in lua
