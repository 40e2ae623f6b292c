"""The report of a run: Markdown tables for the terminal and docs/benchmarks.md, and the JSON file.

Ratios are Lamina's figure over the other target's, measured in the same run: for throughput
higher is better, for latency lower is better.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from enum import Enum
from pathlib import Path

from bench import figures
from bench.compare import Comparison, Verdict, compare, worse
from bench.results import Compared, Results
from bench.scenarios.warm import WarmPoint
from bench.stats import ratio
from bench.targets import DEV_CHECK, KAFKA_CHECK, MAPPING_CHECK, OBJECTS_CHECK, RABBITMQ_CHECK, Check, checks

Row = Sequence[str]


def _ms(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _met(check: Check | None) -> str:
    if check is None:
        return ""
    return {True: "yes", False: "**no**", None: "n/a"}[check.met]


def table(header: Row, rows: Sequence[Row]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Row) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def _target_cells(found: dict[str, Check], *figures: str) -> list[str]:
    picked = [found[f] for f in figures if f in found]
    if not picked:
        return ["", ""]
    met = [c.met for c in picked]
    overall = False if False in met else None if None in met else True
    return [", ".join(f"{c.target} ({c.measured})" for c in picked), _met(Check("", "", "", overall))]


_LABELS = {"throughput": "throughput (req/s)", "cpu": "server CPU per request (µs)"}


def _warm_figure(point: WarmPoint | None, figure: str) -> float | None:
    if point is None:
        return None
    return {"throughput": point.throughput, "p50": point.latency.p50_ms, "p99": point.latency.p99_ms,
            "cpu": point.server_cpu_us}[figure]


def main_table(results: Results) -> str | None:
    found = {c.figure: c for c in checks(results)}
    rows: list[Row] = []
    for c in results.profile.warm_concurrency:
        lam, flo, peer = (results.warm_point(t, c) for t in ("lamina", "floor", "peer"))
        if lam is None and flo is None:
            continue
        figures = ["p50", "p99"] if c == 1 else ["throughput", "p99", "cpu"] if c == 8 else ["throughput", "p99"]
        for figure in figures:
            label = _LABELS.get(figure, f"{figure} latency (ms)")
            vals = [_warm_figure(p, figure) for p in (lam, flo, peer)]
            cells = ["–" if v is None else f"{v:,.0f}" if figure in ("throughput", "cpu") else _ms(v) for v in vals]
            targets = ["", ""]
            if c == 1 and figure == "p50":
                targets = _target_cells(found, "warm p50 latency, c=1, vs floor")
            if c == 8 and figure == "throughput":
                targets = _target_cells(found, "warm throughput, c=8, vs serverless-offline", "warm throughput, c=8, vs floor")
            rows.append([f"warm invoke, c={c}: {label}", *cells, _x(ratio(vals[0], vals[1])), _x(ratio(vals[0], vals[2])), *targets])

    def lamina_row(figure: str, value: str, *check_figures: str) -> None:
        rows.append([figure, value, "", "", "", "", *_target_cells(found, *check_figures)])

    if (cold := results.cold) is not None:
        lamina_row(f"cold start, client-visible p50 / p99 (ms, {cold.functions} functions)",
                   f"{_ms(cold.client.p50_ms)} / {_ms(cold.client.p99_ms)}", "cold start, client-visible p50")  # fmt: skip
        lamina_row("cold start, Init Duration p50 / p99 (ms)", f"{_ms(cold.init.p50_ms)} / {_ms(cold.init.p99_ms)}")
        lamina_row("same functions' second invoke, p50 (ms)", _ms(cold.warm.p50_ms))
    if (d := results.density) is not None:
        lamina_row(f"idle warm environment, PSS (MB, mean of {d.held})", f"{d.env_pss_kb_mean / 1024:.2f}",
                   "idle warm environment, PSS")  # fmt: skip
        lamina_row("idle warm environment, USS / RSS (MB)", f"{d.env_uss_kb_mean / 1024:.2f} / {d.env_rss_kb_mean / 1024:.2f}")
        lamina_row("server memory per idle environment (KB)", f"{d.server_kb_per_env:.0f}")
        lamina_row("idle environments that fit (extrapolated from PSS)", f"{d.fit:,}", "idle environments that fit")
        lamina_row("idle environments held: of those asked for (all running after s)",
                   f"{d.held:,} of {d.requested:,} ({d.start_s:.2f} s)")  # fmt: skip
    if (b := results.burst) is not None:
        lamina_row(f"burst 0 → {b.requests}: all environments running (s)",
                   f"{b.all_ready_s:.2f} ({b.environments} envs)", "burst 0 → 200 environments")  # fmt: skip
    if (a := results.asynchronous) is not None:
        lamina_row(f"async no-op, {a.events} events, c={a.concurrency}: accepted (events/s, median of {len(a.rounds)})",
                   f"{a.accept_per_s:,.0f}",
                   "async events accepted vs synchronous invokes")  # fmt: skip
        lamina_row("async no-op: delivered, end to end (events/s)", f"{a.end_to_end_per_s:,.0f}",
                   "async events delivered vs synchronous invokes")  # fmt: skip
        lamina_row("same run, synchronous invokes (req/s)", f"{a.sync_per_s:,.0f}")
        lamina_row(f"async: 202 latency, c=1, p50 / p99 (ms, {a.accept_latency.count} requests)",
                   f"{_ms(a.accept_latency.p50_ms)} / {_ms(a.accept_latency.p99_ms)}",
                   "202 latency vs warm synchronous invoke, c=1, p50")  # fmt: skip
        lamina_row("same run, warm synchronous invoke, c=1, p50 / p99 (ms)",
                   f"{_ms(a.sync_latency.p50_ms)} / {_ms(a.sync_latency.p99_ms)}")
    if (m := results.matcher) is not None:
        lamina_row(f"event patterns: events matched against {m.rules:,} rules, indexed (events/s; vs dict lookup)",
                   f"{m.indexed_per_s:,.0f} ({m.indexed_ratio:.3f}×)")
        lamina_row("event patterns: the same, testing every rule (events/s; vs dict lookup)",
                   f"{m.events_per_s:,.0f} ({m.ratio:.3f}×)")
        lamina_row(f"event patterns: baseline, a dict lookup per rule (events/s); compiling {m.rules:,} rules (ms)",
                   f"{m.baseline_events_per_s:,.0f}; {m.compile_ms:,.0f}")
    if (h := results.http_api) is not None:
        lamina_row(f"HTTP API route, c={h.concurrency}: throughput (req/s) / p50 (ms)",
                   f"{h.route_per_s:,.0f} / {_ms(h.route_p50_ms)}", "HTTP API route vs Invoke API throughput, c=8")
        lamina_row(f"same run, Invoke API, c={h.concurrency}: throughput (req/s) / p50 (ms)",
                   f"{h.invoke_per_s:,.0f} / {_ms(h.invoke_p50_ms)}")
    if (p := results.pooled) is not None:
        lamina_row(f"Invokes, every tenth request a GetFunctionConfiguration, c={p.concurrency}: throughput "
                   "(req/s; vs Invokes alone)",
                   f"{p.pooled_per_s:,.0f} ({p.ratio or 0:.2f}×)")
    if (g := results.signatures) is not None:
        lamina_row(f"warm Invokes, signatures verified, c={g.concurrency}: throughput (req/s; vs the same server "
                   "not verifying, same run)", f"{g.verified_per_s:,.0f} ({g.ratio or 0:.3f}×)",
                   "signature verification ≥ 0.95× of unverified throughput")  # fmt: skip
    if (e := results.mappings) is not None:
        for r in e.runs:
            lamina_row(f"event source mapping, batch {r.batch_size}: {e.messages:,} records delivered (records/s; "
                       f"pollers up to)", f"{r.per_s:,.0f} ({r.widest})",
                       *([MAPPING_CHECK] if r.batch_size == 100 else []))  # fmt: skip
        lamina_row(f"same run, raw ReceiveMessage + DeleteMessageBatch, {e.raw_loops} loops (messages/s)",
                   f"{e.raw_per_s:,.0f}")
        lamina_row(f"event source mapping: SendMessage → handler, one at a time, p50 / p99 (ms, {e.latency.count})",
                   f"{_ms(e.latency.p50_ms)} / {_ms(e.latency.p99_ms)}")
    if (i := results.iot) is not None:
        lamina_row(f"IoT rule: {i.messages:,} MQTT messages (QoS 1) to stored invocations (messages/s; vs raw)",
                   f"{i.per_s:,.0f} ({i.ratio or 0:.2f}×)")
        lamina_row("same run, raw: a plain paho subscriber, no Lamina (messages/s)", f"{i.raw_per_s:,.0f}")
        lamina_row(f"IoT rule: publish → handler, one at a time, p50 / p99 (ms, {i.latency.count})",
                   f"{_ms(i.latency.p50_ms)} / {_ms(i.latency.p99_ms)}")
    if (o := results.objects) is not None:
        for c in sorted(o.lamina_per_s):
            lamina_row(f"S3: 1 KiB PutObject through boto3, c={c} (puts/s; vs the floor)",
                       f"{o.lamina_per_s[c]:,.0f} ({o.ratio(c):.2f}×)")
            lamina_row(f"same run, floor: a plain aiohttp PUT writing the file alike, c={c} (puts/s)",
                       f"{o.floor_per_s[c]:,.0f}")
        for c in sorted(o.notified_per_s):
            lamina_row(f"S3: the same into a bucket notifying a function of every put, c={c} (puts/s; vs without)",
                       f"{o.notified_per_s[c]:,.0f} ({o.notified_ratio(c) or 0:.2f}×)",
                       *([OBJECTS_CHECK] if c == 8 else []))  # fmt: skip
            lamina_row(f"same puts until every notification's invocation ended, c={c} (notifications/s)",
                       f"{o.delivered_per_s[c]:,.0f}")
        lamina_row(f"S3 notification: put → handler, one at a time, p50 / p99 (ms, {o.latency.count})",
                   f"{_ms(o.latency.p50_ms)} / {_ms(o.latency.p99_ms)}")
    for broker, check in ((results.kafka, KAFKA_CHECK), (results.rabbitmq, RABBITMQ_CHECK)):
        if broker is None:
            continue
        for size, per_s in broker.runs.items():
            lamina_row(f"{broker.broker} mapping, batch {size}: {broker.records:,} records delivered (records/s; vs raw)",
                       f"{per_s:,.0f} ({per_s / broker.raw_per_s:.2f}×)", *([check] if size == 100 else []))  # fmt: skip
        lamina_row(f"same run, {broker.broker} raw: {broker.raw} (records/s)", f"{broker.raw_per_s:,.0f}")
        if broker.bare is not None and broker.bare_per_s is not None:
            lamina_row(f"same run, {broker.broker} bare: {broker.bare} (records/s; batch 100 vs it)",
                       f"{broker.bare_per_s:,.0f} ({(broker.per_s(100) or 0) / broker.bare_per_s:.2f}×)")  # fmt: skip
    for t in (results.table_changes, results.table_changes_postgres):
        if t is None:
            continue
        lamina_row(f"table stream ({t.source}), batch 100: {t.changes:,} row changes delivered (changes/s; vs plain "
                   "inserts)", f"{t.delivered_per_s:,.0f} ({t.ratio or 0:.2f}×)")
        lamina_row(f"same run, {t.source} plain inserts, {100} a commit (rows/s); with the stream's capture installed",
                   f"{t.plain_per_s:,.0f}; {t.captured_per_s:,.0f}")
        lamina_row(f"table stream ({t.source}): commit → handler, one at a time, p50 / p99 (ms, {t.latency.count})",
                   f"{_ms(t.latency.p50_ms)} / {_ms(t.latency.p99_ms)}")
    if (v := results.dev) is not None:
        ours, other = v.lamina, v.peer

        def dev_row(figure: str, lamina: str, peer_cell: str | None, versus: float | None, *check_figures: str) -> None:
            rows.append([figure, lamina, "", "–" if peer_cell is None else peer_cell, "", _x(versus),
                         *_target_cells(found, *check_figures)])  # fmt: skip

        dev_row(f"lamina dev vs --reloadHandler: save → new code answered, p50 / p99 (ms, {len(ours.saves)} saves)",
                f"{_ms(ours.reload.p50_ms)} / {_ms(ours.reload.p99_ms)}",
                f"{_ms(other.reload.p50_ms)} / {_ms(other.reload.p99_ms)}" if other else None, v.ratio, DEV_CHECK)
        for variant in ours.by_variant:
            theirs = other.by_variant.get(variant) if other else None
            mine = ours.by_variant[variant]
            dev_row(f"the same, saved {variant}, p50 (ms)", _ms(mine.p50_ms), _ms(theirs.p50_ms) if theirs else None,
                    ratio(mine.p50_ms, theirs.p50_ms if theirs else None))  # fmt: skip
        dev_row("answers of the old code after a save, mean (max)", f"{ours.stale_mean:.1f} ({ours.stale_max})",
                f"{other.stale_mean:.1f} ({other.stale_max})" if other else None, None)  # fmt: skip
        if ours.reloaded is not None:
            dev_row("lamina dev's own \"Reloaded in N ms\", p50 / p99 (ms)",
                    f"{_ms(ours.reloaded.p50_ms)} / {_ms(ours.reloaded.p99_ms)}", None, None)
        dev_row(f"warm invoke, no change, one at a time, p50 (ms, {ours.warm.count})", _ms(ours.warm.p50_ms),
                _ms(other.warm.p50_ms) if other else None, ratio(ours.warm.p50_ms, other.warm.p50_ms if other else None))
    if (s := results.scaling) is not None and s.steps:
        best = max(s.steps, key=lambda st: st.throughput)
        lamina_row(f"scaling: peak throughput (req/s, limit {s.limit})", f"{best.throughput:,.0f} at c={best.concurrency}")
        lamina_row("scaling: throttled (429) from concurrency", str(s.throttled_at or "never"),
                   "responsive while throttled")  # fmt: skip
    if not rows:
        return None  # a run of scenarios that have no row here (runtimes alone)
    header = ["figure", "Lamina", "floor", "serverless-offline", "vs floor", "vs peer", "target (measured)", "met"]
    return table(header, rows)


def scaling_table(results: Results) -> str | None:
    s = results.scaling
    if s is None or not s.steps:
        return None
    rows = [[str(st.concurrency), f"{st.throughput:,.0f}", _ms(st.latency.p50_ms), _ms(st.latency.p99_ms),
             f"{st.throttled:,}", f"{st.health.ok}/{st.health.sent} ({_ms(st.health.latency.max_ms)})",
             f"{st.control.ok}/{st.control.sent} ({_ms(st.control.latency.max_ms)})"] for st in s.steps]  # fmt: skip
    header = ["concurrency", "req/s", "p50 ms", "p99 ms", "429s", "health ok (max ms)", "control API ok (max ms)"]
    return table(header, rows)


def ray_table(results: Results) -> str | None:
    r = results.ray
    if r is None or not r.points:
        return None
    rows: list[Row] = []
    for point in r.points:
        latency, throughput = r.ratio(point)
        rows.append([point.setting, _ms(point.latency.p50_ms), f"{point.throughput:,.0f}", _ms(point.latency_c8.p99_ms),
                     _ms(point.cold.p50_ms), _ms(point.init.p50_ms),
                     "reference" if point.nodes == 0 else f"{_x(latency)} / {_x(throughput)}"])  # fmt: skip
    header = ["setting", "warm c=1 p50 (ms)", "warm c=8 (req/s)", "c=8 p99 (ms)", "cold first invoke p50 (ms)",
              "Init Duration p50 (ms)", "vs embedded (c=1 p50 / c=8 req/s)"]  # fmt: skip
    return table(header, rows)


def ray_growth_table(results: Results) -> str | None:
    r = results.ray
    if r is None or not r.growth:
        return None
    rows = [[f"ray-{g.nodes}", str(g.concurrency), f"{g.throughput:,.1f}", _ms(g.latency.p50_ms), _ms(g.latency.p99_ms),
             str(g.failed), _x(r.growth_ratio(g)), _x(g.nodes / r.growth[0].nodes)] for g in r.growth]  # fmt: skip
    header = ["setting", "concurrency", "req/s", "p50 (ms)", "p99 (ms)", "failed", "vs 1 node", "ideal"]
    return table(header, rows)


def runtimes_table(results: Results) -> str | None:
    rt = results.runtimes
    if rt is None:
        return None
    rows: list[Row] = []
    for r in rt.rows:
        if r.status != "measured":
            rows.append([r.label, "–", "–", "–", "–", f"{r.status}: {r.short_reason}"])
            continue
        if r.runtime == rt.reference:
            versus = "reference"
        elif r.vs_reference is None:
            versus = "–"
        else:
            v = r.vs_reference
            versus = " / ".join(_x(x) for x in (v.cold_p50, v.init_p50, v.warm_p50, v.warm_p99))
        init = _ms(r.init.p50_ms) + (f" ({r.missing_init} without)" if r.missing_init else "")
        rows.append([r.label, _ms(r.cold.p50_ms), init, _ms(r.warm.p50_ms), _ms(r.warm.p99_ms), versus])
    header = ["runtime", "cold first invoke p50 (ms)", "Init Duration p50 (ms)", "warm p50 (ms)", "warm p99 (ms)",
              f"vs {rt.reference} (cold / Init / warm p50 / p99)"]  # fmt: skip
    return table(header, rows)


def _loads(results: Results) -> str:
    loads = [f"{name} {load:.2f}" for name, load in results.load_average.items()]
    if results.load_average_end:
        loads.append(f"end {results.load_average_end[0]:.2f}")
    return f"Load average (1 minute) as each scenario began: {', '.join(loads)}"


def render(results: Results) -> str:
    parts = [f"Lamina benchmark ({results.profile.name} run, {results.started}, {results.duration_s:.0f} s)",
             f"Machine: {results.machine.describe()}", _loads(results)]  # fmt: skip
    main = main_table(results)
    if main:
        parts += ["", main]
    runtimes = runtimes_table(results)
    if runtimes and results.runtimes is not None:
        rt = results.runtimes
        parts += ["", f"Runtimes: a hello world per runtime at {rt.memory_mb} MB; cold: {rt.functions} new functions each "
                      f"(client-side first invoke, Init Duration from REPORT); warm: {rt.warm_requests} invokes at c=1 "
                      f"after {rt.warmup_requests} unmeasured; ratios to {rt.reference} in the same run:", "", runtimes]  # fmt: skip
    scaling = scaling_table(results)
    if scaling:
        parts += ["", f"Scaling curve (LAMINA_ACCOUNT_CONCURRENCY={results.scaling.limit if results.scaling else ''}):",
                  "", scaling]  # fmt: skip
    placed = ray_table(results)
    if placed:
        parts += ["", "Placement on Ray: the embedded engine, then 1, 2 and 4 local Ray nodes (one machine: the "
                      "nodes share its cores, so more nodes add no CPU here):", "", placed]  # fmt: skip
    growth = ray_growth_table(results)
    if growth and results.ray is not None:
        first = results.ray.growth[0]
        parts += ["", f"Throughput growth on Ray: a CPU-bound function on nodes of {results.ray.node_cpu} of a core each "
                      f"(a cpu cgroup's quota per node), {first.concurrency // first.nodes} invocations per node in "
                      "flight; each setting against 1 node, and the ideal:", "", growth]  # fmt: skip
    floor8 = results.warm_point("floor", 8)
    if floor8 is not None:
        parts += ["", f"Load generator ({floor8.load_generator}) ceiling: {floor8.throughput:,.0f} req/s against the "
                      f"floor at c=8, using {floor8.client_cpu_share:.0%} of a core."]  # fmt: skip
    parts += [f"Note: {n}" for n in results.notes]
    if results.density is not None and results.density.failed:
        d = results.density
        parts.append(f"Note: density: {d.failed} of {d.requested} invocations failed, e.g.: {d.failure}")
    if results.burst is not None and results.burst.failure:
        b = results.burst
        parts.append(f"Note: burst: {b.requests - b.ok} of {b.requests} invocations failed, e.g.: {b.failure}")
    parts += [f"FAILED {name}: {why}" for name, why in results.errors.items()]
    return "\n".join(parts)


def _plain(value: object) -> object:
    """JSON-safe: NaN becomes null, tuples lists, dataclasses dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Enum):
        return value.value
    return value


def write_json(results: Results, path: Path) -> None:
    doc = {"results": _plain(results), "targets": _plain(checks(results))}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def comparisons(compared: Compared) -> list[Comparison]:
    return compare(figures.of_rounds(compared.baseline), figures.of_rounds(compared.current))


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return _ms(value)
    if unit == "×":
        return f"{value:.3f}"
    if unit in ("s", "MB"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _pct(share: float) -> str:
    return f"{share:.0%}" if math.isfinite(share) else "∞"


_VERDICT = {Verdict.WORSE: "**worse**", Verdict.BETTER: "better", Verdict.SAME: "within noise", Verdict.MISSING: "–"}


def comparison_table(rows: Sequence[Comparison], baseline: str) -> str:
    cells = [[f"{c.name} ({c.unit})", _value(c.baseline, c.unit), _value(c.current, c.unit), _x(c.ratio),
              f"{_pct(c.baseline_spread)} / {_pct(c.current_spread)}", f"±{_pct(c.margin)}", _VERDICT[c.verdict]]
             for c in rows]  # fmt: skip
    header = ["figure", f"baseline {baseline}", "current", "current / baseline", "spread of rounds (baseline / current)",
              "noise margin", "verdict"]  # fmt: skip
    return table(header, cells)


def render_compared(compared: Compared) -> str:
    """Every figure beside the baseline's (medians of the rounds), and those worse by more than the noise margin."""
    first, checkout = compared.current[0], compared.checkout
    rows = comparisons(compared)
    parts = [f"Lamina benchmark against {checkout.describe()} ({first.profile.name} run, {first.started}, "
             f"{first.duration_s:.0f} s, {compared.rounds} rounds each side, alternating which side goes first)",
             f"Machine: {first.machine.describe()}", _loads(first),
             f"Baseline: {checkout.describe()}, its servers importing {checkout.lamina_file}"]  # fmt: skip
    if rows:
        parts += ["", comparison_table(rows, checkout.commit)]
    listed = "; ".join(f"{c.name} ({_x(c.ratio)}, margin ±{_pct(c.margin)})" for c in worse(rows))
    parts += ["", f"Worse than the baseline by more than the noise margin: {listed or 'none'}."]
    notes = [n for r in [*compared.current, *compared.baseline] for n in r.notes]
    parts += [f"Note: {n}" for n in dict.fromkeys(notes)]  # once each, in order
    for side, rounds in (("current", compared.current), ("baseline", compared.baseline)):
        for i, r in enumerate(rounds):
            parts += [f"FAILED {name} ({side}, round {i + 1}): {why}" for name, why in r.errors.items()]
    return "\n".join(parts)


def write_compared_json(compared: Compared, path: Path) -> None:
    """Each side's results and targets round by round, and every figure compared."""
    rows = comparisons(compared)
    checkout = compared.checkout
    doc = {
        "baseline": {"ref": checkout.ref, "commit": checkout.commit, "lamina": checkout.lamina_file,
                     "rounds": [{"results": _plain(r), "targets": _plain(checks(r))} for r in compared.baseline]},
        "current": {"rounds": [{"results": _plain(r), "targets": _plain(checks(r))} for r in compared.current]},
        "comparison": _plain(rows),
        "worse": [c.name for c in worse(rows)],
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
