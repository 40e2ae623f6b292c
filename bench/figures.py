"""The figures of a run that can be set beside another run's: pure, a function of ``Results`` alone.

Each figure says which direction is better and the least relative change that counts (its noise
margin), so that ``compare.py`` can say whether the code got worse. docs/benchmarks.md gives the
runs of the same code on both sides (``--baseline HEAD``) that the margins rest on.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from bench.results import Results
from bench.scenarios.table_changes import TableChangesResult

# Each figure's own margin: the least change that counts, whatever the rounds say (``compare.py``
# widens it to their spread). Without it, two rounds that agree by chance would make a few percent
# a regression. In runs of the same code on both sides, the steadiest figures (a full run's warm p50
# at c=1, memory per environment) differed by 1-2% between sides; a p99, the slowest of a few probes
# or the time until the last of many environments runs moves several times as much as the p50 beside it.
CENTRAL = 0.10  # throughputs, p50 latencies, counts, medians of rounds
TAIL = 0.25  # p99 and maximum latencies, times until all environments run, differences of two readings
MEMORY = 0.05  # memory per idle environment


class Better(Enum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Figure:
    name: str  # as the report's tables name it, without the unit
    unit: str  # "ms", "s", "req/s", "events/s", "MB", "KB", "environments"
    value: float | None  # None when the run did not measure it
    better: Better
    margin: float  # a relative change smaller than this is noise, not a change of the code
    rounds: tuple[float, ...] = ()  # every measurement ``value`` summarises, when it is their median


def _warm(results: Results) -> list[Figure]:
    out = []
    for c in results.profile.warm_concurrency:
        point = results.warm_point("lamina", c)
        if point is None:
            continue
        if c == 1:
            out.append(Figure("warm invoke, c=1: p50 latency", "ms", point.latency.p50_ms, Better.LOWER, CENTRAL))
        else:
            out.append(Figure(f"warm invoke, c={c}: throughput", "req/s", point.throughput, Better.HIGHER, CENTRAL))
        out.append(Figure(f"warm invoke, c={c}: p99 latency", "ms", point.latency.p99_ms, Better.LOWER, TAIL))
        if c == 8 and point.server_cpu_us is not None:
            cpu = point.server_cpu_us
            out.append(Figure("warm invoke, c=8: server CPU per request", "µs", cpu, Better.LOWER, CENTRAL))
    return out


def _cold(results: Results) -> list[Figure]:
    if (cold := results.cold) is None:
        return []
    return [
        Figure("cold start, client-visible p50", "ms", cold.client.p50_ms, Better.LOWER, CENTRAL),
        Figure("cold start, client-visible p99", "ms", cold.client.p99_ms, Better.LOWER, TAIL),
        Figure("cold start, Init Duration p50", "ms", cold.init.p50_ms, Better.LOWER, CENTRAL),
        Figure("cold start, Init Duration p99", "ms", cold.init.p99_ms, Better.LOWER, TAIL),
        Figure("same functions' second invoke, p50", "ms", cold.warm.p50_ms, Better.LOWER, CENTRAL),
    ]  # fmt: skip


def _runtimes(results: Results) -> list[Figure]:
    out = []
    for row in results.runtimes.rows if results.runtimes else []:
        if row.status != "measured":
            continue
        out += [
            Figure(f"{row.label}: cold first invoke p50", "ms", row.cold.p50_ms, Better.LOWER, CENTRAL),
            Figure(f"{row.label}: Init Duration p50", "ms", row.init.p50_ms, Better.LOWER, CENTRAL),
            Figure(f"{row.label}: warm p50", "ms", row.warm.p50_ms, Better.LOWER, CENTRAL),
            Figure(f"{row.label}: warm p99", "ms", row.warm.p99_ms, Better.LOWER, TAIL),
        ]  # fmt: skip
    return out


def _density(results: Results) -> list[Figure]:
    if (d := results.density) is None:
        return []
    return [
        Figure("idle warm environment, PSS", "MB", d.env_pss_kb_mean / 1024, Better.LOWER, MEMORY),
        Figure("idle warm environment, USS", "MB", d.env_uss_kb_mean / 1024, Better.LOWER, MEMORY),
        Figure("idle warm environment, RSS", "MB", d.env_rss_kb_mean / 1024, Better.LOWER, MEMORY),
        # tens of KB, the difference of two PSS readings of the server: a few KB either way is noise
        Figure("server memory per idle environment", "KB", d.server_kb_per_env, Better.LOWER, TAIL),
        Figure("idle environments held", "environments", d.held, Better.HIGHER, CENTRAL),
        Figure("idle environments: all running after", "s", d.start_s, Better.LOWER, TAIL),
    ]  # fmt: skip


def _burst(results: Results) -> list[Figure]:
    if (b := results.burst) is None:
        return []
    return [
        Figure(f"burst 0 → {b.requests}: all environments running", "s", b.all_ready_s, Better.LOWER, TAIL),
        Figure(f"burst 0 → {b.requests}: environments", "environments", b.environments, Better.HIGHER, CENTRAL),
    ]  # fmt: skip


def _scaling(results: Results) -> list[Figure]:
    if (s := results.scaling) is None or not s.steps:
        return []
    out = [Figure("scaling: peak throughput", "req/s", max(st.throughput for st in s.steps), Better.HIGHER, CENTRAL)]
    if (sat := s.saturated) is not None:
        slowest = max(sat.health.latency.max_ms, sat.control.latency.max_ms)
        out.append(Figure("scaling: slowest health or control probe while throttled", "ms", slowest, Better.LOWER, TAIL))
    return out


def _async(results: Results) -> list[Figure]:
    if (a := results.asynchronous) is None:
        return []
    return [
        Figure("async no-op: accepted", "events/s", a.accept_per_s, Better.HIGHER, CENTRAL,
               tuple(r.accept_per_s for r in a.rounds)),
        Figure("async no-op: delivered, end to end", "events/s", a.end_to_end_per_s, Better.HIGHER, CENTRAL,
               tuple(r.end_to_end_per_s for r in a.rounds)),
        Figure("async no-op: same run, synchronous invokes", "req/s", a.sync_per_s, Better.HIGHER, CENTRAL,
               tuple(r.sync_per_s for r in a.rounds)),
        Figure("async: 202 latency, c=1, p50", "ms", a.accept_latency.p50_ms, Better.LOWER, CENTRAL),
        Figure("async: 202 latency, c=1, p99", "ms", a.accept_latency.p99_ms, Better.LOWER, TAIL),
        Figure("async: same run, warm synchronous invoke, c=1, p50", "ms", a.sync_latency.p50_ms, Better.LOWER, CENTRAL),
        Figure("async: same run, warm synchronous invoke, c=1, p99", "ms", a.sync_latency.p99_ms, Better.LOWER, TAIL),
    ]  # fmt: skip


def _matcher(results: Results) -> list[Figure]:
    if (m := results.matcher) is None:
        return []
    return [
        Figure("event patterns: indexed, vs dict lookup", "×", m.indexed_ratio, Better.HIGHER, CENTRAL),
        Figure("event patterns: every rule, vs dict lookup", "×", m.ratio, Better.HIGHER, CENTRAL),
        Figure(f"event patterns: events matched against {m.rules} rules, indexed", "events/s", m.indexed_per_s,
               Better.HIGHER, CENTRAL, m.rounds),
        Figure(f"event patterns: compiling {m.rules} rules", "ms", m.compile_ms, Better.LOWER, TAIL),
    ]  # fmt: skip


def _http_api(results: Results) -> list[Figure]:
    if (h := results.http_api) is None:
        return []
    return [
        Figure(f"HTTP API route, c={h.concurrency}: throughput", "req/s", h.route_per_s, Better.HIGHER, CENTRAL),
        Figure(f"HTTP API route, c={h.concurrency}: p50", "ms", h.route_p50_ms, Better.LOWER, CENTRAL),
        Figure(f"HTTP API: same run, Invoke API, c={h.concurrency}: throughput", "req/s", h.invoke_per_s,
               Better.HIGHER, CENTRAL),
    ]  # fmt: skip


def _pooled(results: Results) -> list[Figure]:
    if (p := results.pooled) is None:
        return []
    return [
        Figure(f"Invokes, every tenth request a GetFunctionConfiguration, c={p.concurrency}: throughput", "req/s",
               p.pooled_per_s,
               Better.HIGHER, CENTRAL),
        Figure(f"the same, vs Invoke alone, c={p.concurrency}", "×", p.ratio, Better.HIGHER, CENTRAL),
    ]  # fmt: skip


def _mappings(results: Results) -> list[Figure]:
    if (m := results.mappings) is None:
        return []
    out = [Figure(f"event source mapping, batch {r.batch_size}: records delivered", "records/s", r.per_s,
                  Better.HIGHER, CENTRAL) for r in m.runs]  # fmt: skip
    return [
        *out,
        Figure("event source mappings: same run, raw receive and delete", "messages/s", m.raw_per_s, Better.HIGHER,
               CENTRAL),
        Figure("event source mapping, batch 100, vs raw receive and delete", "×", m.ratio, Better.HIGHER, CENTRAL),
        Figure("event source mapping: SendMessage to handler, p50", "ms", m.latency.p50_ms, Better.LOWER, CENTRAL),
    ]  # fmt: skip


def _iot(results: Results) -> list[Figure]:
    if (i := results.iot) is None:
        return []
    return [
        Figure("IoT rule: MQTT messages to stored invocations", "messages/s", i.per_s, Better.HIGHER, CENTRAL),
        Figure("IoT rules: same run, raw paho subscriber", "messages/s", i.raw_per_s, Better.HIGHER, CENTRAL),
        Figure("IoT rule vs raw paho subscriber", "×", i.ratio, Better.HIGHER, CENTRAL),
        Figure("IoT rule: publish to handler, p50", "ms", i.latency.p50_ms, Better.LOWER, CENTRAL),
    ]  # fmt: skip


def _brokers(results: Results) -> list[Figure]:
    out = []
    for b in (results.kafka, results.rabbitmq):
        if b is None:
            continue
        out += [Figure(f"{b.broker} mapping, batch {size}: records delivered", "records/s", per_s, Better.HIGHER,
                       CENTRAL) for size, per_s in b.runs.items()]  # fmt: skip
        out += [Figure(f"{b.broker} mappings: same run, raw ({b.raw})", "records/s", b.raw_per_s, Better.HIGHER,
                       CENTRAL),
                Figure(f"{b.broker} mapping, batch 100, vs raw", "×", b.ratio, Better.HIGHER, CENTRAL)]  # fmt: skip
    return out


def _table_changes(results: Results) -> list[Figure]:
    return [figure for t in (results.table_changes, results.table_changes_postgres) if t is not None
            for figure in _table_changes_of(t)]


def _table_changes_of(t: TableChangesResult) -> list[Figure]:
    return [
        Figure(f"table stream ({t.source}), batch 100: changes delivered", "changes/s", t.delivered_per_s,
               Better.HIGHER, CENTRAL),
        Figure(f"table stream ({t.source}): same run, plain inserts", "rows/s", t.plain_per_s, Better.HIGHER, CENTRAL),
        Figure(f"table stream ({t.source}), batch 100, vs plain inserts", "×", t.ratio, Better.HIGHER, CENTRAL),
        Figure(f"table stream ({t.source}): commit to handler, p50", "ms", t.latency.p50_ms, Better.LOWER, CENTRAL),
    ]  # fmt: skip


def _objects(results: Results) -> list[Figure]:
    if (o := results.objects) is None:
        return []
    out = []
    for c in sorted(o.lamina_per_s):
        out += [
            Figure(f"S3 PutObject 1 KiB, c={c}: throughput", "puts/s", o.lamina_per_s[c], Better.HIGHER, CENTRAL),
            Figure(f"S3 PutObject 1 KiB, c={c}: same run, floor", "puts/s", o.floor_per_s[c], Better.HIGHER, CENTRAL),
        ]  # fmt: skip
    for c in sorted(o.notified_per_s):
        out += [
            Figure(f"S3 PutObject 1 KiB notifying a function, c={c}: throughput", "puts/s", o.notified_per_s[c],
                   Better.HIGHER, CENTRAL),
            Figure(f"S3 PutObject 1 KiB notifying a function, c={c}: vs without", "×", o.notified_ratio(c),
                   Better.HIGHER, CENTRAL),
            Figure(f"S3 notifications, c={c}: delivered", "notifications/s", o.delivered_per_s[c], Better.HIGHER,
                   CENTRAL),
        ]  # fmt: skip
    out.append(Figure("S3 notification: put to handler, p50", "ms", o.latency.p50_ms, Better.LOWER, CENTRAL))
    return out


def _dev(results: Results) -> list[Figure]:
    if (d := results.dev) is None:
        return []
    out = [
        Figure("lamina dev: save → new code answered, p50", "ms", d.lamina.reload.p50_ms, Better.LOWER, CENTRAL),
        Figure("lamina dev: save → new code answered, p99", "ms", d.lamina.reload.p99_ms, Better.LOWER, TAIL),
    ]  # fmt: skip
    if d.lamina.reloaded is not None:
        out.append(Figure("lamina dev: its own \"Reloaded in\" figure, p50", "ms", d.lamina.reloaded.p50_ms,
                          Better.LOWER, CENTRAL))  # fmt: skip
    if d.ratio is not None:
        out.append(Figure("lamina dev: save → new code p50, vs serverless-offline", "×", d.ratio, Better.LOWER, CENTRAL))
    return out


def of(results: Results) -> list[Figure]:
    """Every comparable figure of ``results``, in the order of the report's tables."""
    return [*_warm(results), *_cold(results), *_density(results), *_burst(results), *_async(results),
            *_http_api(results), *_pooled(results), *_scaling(results), *_runtimes(results), *_matcher(results),
            *_mappings(results), *_iot(results), *_brokers(results), *_table_changes(results),
            *_objects(results), *_dev(results)]  # fmt: skip


def merge(measured: Sequence[Figure]) -> Figure:
    """One figure measured in several rounds: the median of the rounds' values, with every round's
    measurements under it (a round's own rounds where it has them, else its value)."""
    values = [f.value for f in measured if f.value is not None and math.isfinite(f.value)]
    under = tuple(r for f in measured for r in _measurements(f))
    return replace(measured[0], value=statistics.median(values) if values else None, rounds=under)


def _measurements(figure: Figure) -> tuple[float, ...]:
    """What a figure's value stands for: its own rounds, or the value alone (nothing when not measured)."""
    if figure.value is None:
        return ()
    return tuple(r for r in figure.rounds or (figure.value,) if math.isfinite(r))


def of_rounds(rounds: Sequence[Results]) -> list[Figure]:
    """Every figure of one side's rounds, merged (``merge``), in the order they first appear."""
    by_name: dict[str, list[Figure]] = {}
    for results in rounds:
        for figure in of(results):
            by_name.setdefault(figure.name, []).append(figure)
    return [merge(measured) for measured in by_name.values()]
