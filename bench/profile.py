"""How much each scenario measures: the full run, and ``--quick`` for smoke use (under a minute)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    warmup_s: float  # load before each measurement, not measured
    measure_s: float  # each warm-invoke measurement
    warm_concurrency: tuple[int, ...]
    cold_functions: int  # new functions, each invoked once cold
    density_hold: int  # idle environments actually started and held
    burst: int  # concurrent invocations of a cold function
    burst_sleep_s: float
    scaling_limit: int  # LAMINA_ACCOUNT_CONCURRENCY of the scaling server
    scaling_max: int  # the curve stops here if it never throttles
    scaling_measure_s: float
    probe_interval_s: float  # health and control API probes during the scaling curve
    runtimes_functions: int  # cold starts (new functions) per runtime
    runtimes_warm_requests: int  # measured warm invokes per runtime, at concurrency 1
    runtimes_warmup_requests: int  # unmeasured warm invokes before them
    async_events: int = 5000  # Event invocations of a no-op function, end to end (and as many synchronous)
    async_concurrency: int = 32  # connections they are sent over
    async_rounds: int = 3  # rounds of both (the median round counts)
    async_latency_requests: int = 1000  # one at a time, synchronous then Event, for their latencies
    matcher_s: float = 6.0  # matching events against 1,000 event patterns, index, every rule and baseline in turn
    mapping_messages: int = 20_000  # pre-loaded into a queue, per event source mapping run and the raw run
    mapping_latency_messages: int = 200  # sent one at a time through a mapping, for its latency
    iot_messages: int = 20_000  # published at QoS 1 to a topic rule, and as many to a plain subscriber
    iot_latency_messages: int = 200  # published one at a time through a rule, for its latency
    kafka_records: int = 200_000  # in the Kafka scenario's topic, read whole by each measurement
    rabbitmq_messages: int = 20_000  # published to a queue per RabbitMQ measurement
    table_changes: int = 20_000  # rows inserted plain, inserted captured, and delivered by a table stream
    table_latency_changes: int = 200  # inserted one a commit through a table stream, for its latency
    object_puts: int = 2000  # 1 KiB PutObject calls per measurement (each concurrency, each side, each round)
    object_latency_puts: int = 200  # put one at a time into a bucket notifying a function, for its latency
    dev_saves: int = 20  # saves of the handler each way (atomic, in place), each target
    dev_warm_requests: int = 50  # invokes one at a time with no change, each target


FULL = Profile(
    name="full", warmup_s=2.0, measure_s=8.0, warm_concurrency=(1, 8, 32), cold_functions=30,
    density_hold=1000, burst=200, burst_sleep_s=1.0, scaling_limit=64, scaling_max=256,
    scaling_measure_s=4.0, probe_interval_s=0.1, runtimes_functions=5, runtimes_warm_requests=300,
    runtimes_warmup_requests=50,
)  # fmt: skip

QUICK = Profile(
    name="quick", warmup_s=0.3, measure_s=1.0, warm_concurrency=(1, 8, 32), cold_functions=5,
    density_hold=50, burst=50, burst_sleep_s=1.0, scaling_limit=64, scaling_max=256,
    scaling_measure_s=0.7, probe_interval_s=0.1, runtimes_functions=2, runtimes_warm_requests=100,
    runtimes_warmup_requests=20, async_events=500, async_latency_requests=200, matcher_s=1.5,
    mapping_messages=2000, mapping_latency_messages=50, iot_messages=2000, iot_latency_messages=50,
    kafka_records=20_000, rabbitmq_messages=2000, table_changes=2000, table_latency_changes=50, object_puts=400,
    object_latency_puts=50, dev_saves=5, dev_warm_requests=20,
)  # fmt: skip
