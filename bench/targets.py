"""The issue's targets, judged from one run's results: pure, every figure relative to the same run.

``met`` is None when the run did not measure what a target needs (a scenario skipped or failed,
no peer, a quick run's smaller burst).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.results import Results
from bench.scenarios.warm import WarmPoint
from bench.stats import ratio

BURST_TARGET_ENVS = 200
BURST_TARGET_S = 2.0
COLD_P50_MS = 10.0
IDLE_PSS_MB = 5.0
FIT_ENVS = 1000
MAPPING_CHECK = "event source mapping, batch 100, vs raw receive and delete"
KAFKA_CHECK = "Kafka mapping, batch 100, vs raw consume and commit"
RABBITMQ_CHECK = "RabbitMQ mapping, batch 100, vs raw consume and ack"
OBJECTS_CHECK = "S3 puts with a notification to a function vs without, c=8"
DEV_CHECK = "lamina dev: save → new code p50 below serverless-offline's, same run"


@dataclass(frozen=True)
class Check:
    figure: str
    target: str
    measured: str
    met: bool | None


def _ratio_check(figure: str, target: str, value: float | None, reference: float | None, *,
                 at_least: float | None = None, at_most: float | None = None) -> Check:  # fmt: skip
    r = ratio(value, reference)
    if r is None:
        return Check(figure, target, "not measured", None)
    met = (at_least is None or r >= at_least) and (at_most is None or r <= at_most)
    return Check(figure, target, f"{r:.2f}×", met)


def _rps(point: WarmPoint | None) -> float | None:
    return point.throughput if point else None


def checks(results: Results) -> list[Check]:
    out: list[Check] = []
    lamina8, floor8, peer8 = (results.warm_point(t, 8) for t in ("lamina", "floor", "peer"))
    lamina1, floor1 = results.warm_point("lamina", 1), results.warm_point("floor", 1)
    out.append(_ratio_check("warm throughput, c=8, vs serverless-offline", "≥ 1.3×", _rps(lamina8), _rps(peer8),
                            at_least=1.3))  # fmt: skip
    out.append(_ratio_check("warm throughput, c=8, vs floor", "≥ 0.60×", _rps(lamina8), _rps(floor8), at_least=0.6))
    out.append(_ratio_check("warm p50 latency, c=1, vs floor", "≤ 2×", lamina1.latency.p50_ms if lamina1 else None,
                            floor1.latency.p50_ms if floor1 else None, at_most=2.0))  # fmt: skip

    cold = results.cold
    out.append(Check("cold start, client-visible p50", f"≤ {COLD_P50_MS:g} ms",
                     f"{cold.client.p50_ms:.1f} ms" if cold else "not measured",
                     cold.client.p50_ms <= COLD_P50_MS if cold else None))  # fmt: skip

    d = results.density
    out.append(Check("idle warm environment, PSS", f"≤ {IDLE_PSS_MB:g} MB",
                     f"{d.env_pss_kb_mean / 1024:.2f} MB" if d else "not measured",
                     d.env_pss_kb_mean / 1024 <= IDLE_PSS_MB if d else None))  # fmt: skip
    # Held for real when the run asked for as many; extrapolated from fewer otherwise.
    fits = None if d is None else d.held >= FIT_ENVS if d.requested >= FIT_ENVS else d.fit >= FIT_ENVS
    out.append(Check("idle environments that fit", f"≥ {FIT_ENVS:,}",
                     f"{d.held:,} of {d.requested:,} held; {d.fit:,} extrapolated" if d else "not measured", fits))  # fmt: skip

    b = results.burst
    if b is None:
        out.append(Check(f"burst 0 → {BURST_TARGET_ENVS} environments", f"< {BURST_TARGET_S:g} s", "not measured", None))
    else:
        whole = b.environments >= BURST_TARGET_ENVS
        measured = f"{b.all_ready_s:.2f} s, {b.environments} environments"
        met = (b.all_ready_s < BURST_TARGET_S) if whole else None if b.requests < BURST_TARGET_ENVS else False
        out.append(Check(f"burst 0 → {BURST_TARGET_ENVS} environments", f"< {BURST_TARGET_S:g} s", measured, met))

    a = results.asynchronous
    out.append(_ratio_check("async events accepted vs synchronous invokes", "≥ 1×", a.accept_per_s if a else None,
                            a.sync_per_s if a else None, at_least=1.0))  # fmt: skip
    out.append(_ratio_check("async events delivered vs synchronous invokes", "≥ 0.70×",
                            a.end_to_end_per_s if a else None, a.sync_per_s if a else None, at_least=0.7))  # fmt: skip
    out.append(_ratio_check("202 latency vs warm synchronous invoke, c=1, p50", "≤ 2×",
                            a.accept_latency.p50_ms if a else None, a.sync_latency.p50_ms if a else None,
                            at_most=2.0))  # fmt: skip

    h = results.http_api
    out.append(_ratio_check("HTTP API route vs Invoke API throughput, c=8", "≥ 0.90×", h.route_per_s if h else None,
                            h.invoke_per_s if h else None, at_least=0.9))  # fmt: skip

    g = results.signatures
    out.append(_ratio_check("signature verification ≥ 0.95× of unverified throughput", "≥ 0.95×",
                            g.verified_per_s if g else None, g.unverified_per_s if g else None,
                            at_least=0.95))  # fmt: skip

    e = results.mappings
    out.append(_ratio_check(MAPPING_CHECK, "≥ 0.50×", e.per_s(100) if e else None, e.raw_per_s if e else None,
                            at_least=0.5))  # fmt: skip
    for check, broker in ((KAFKA_CHECK, results.kafka), (RABBITMQ_CHECK, results.rabbitmq)):
        out.append(_ratio_check(check, "≥ 0.50×", broker.per_s(100) if broker else None,
                                broker.raw_per_s if broker else None, at_least=0.5))  # fmt: skip

    o = results.objects
    out.append(_ratio_check(OBJECTS_CHECK, "≥ 0.80×", o.notified_per_s.get(8) if o else None,
                            o.lamina_per_s.get(8) if o else None, at_least=0.8))  # fmt: skip

    dev_ratio = results.dev.ratio if results.dev else None  # strictly below: as fast is not faster
    out.append(Check(DEV_CHECK, "< 1×", "not measured" if dev_ratio is None else f"{dev_ratio:.2f}×",
                     None if dev_ratio is None else dev_ratio < 1))  # fmt: skip

    s = results.scaling
    sat = s.saturated if s else None
    if s is None:
        out.append(Check("responsive while throttled", "health and control API answer", "not measured", None))
    elif sat is None:
        top = s.steps[-1].concurrency if s.steps else 0
        out.append(Check("responsive while throttled", "health and control API answer",
                         f"never throttled up to c={top}", None))  # fmt: skip
    else:
        answered = sat.health.ok == sat.health.sent > 0 and sat.control.ok == sat.control.sent > 0
        slowest = max(sat.health.latency.max_ms, sat.control.latency.max_ms)
        measured = (f"at c={sat.concurrency}: health {sat.health.ok}/{sat.health.sent}, "
                    f"control {sat.control.ok}/{sat.control.sent}, slowest {slowest:.0f} ms")  # fmt: skip
        out.append(Check("responsive while throttled", "health and control API answer", measured, answered))
    return out
