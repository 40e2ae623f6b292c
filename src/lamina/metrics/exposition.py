"""Lamina's metrics as Prometheus metric families, made at scrape time (prometheus_client's
custom-collector API, exposed by its own text encoder).

Counters and histograms come from ``InvocationStats``; gauges are read from each started cell as
the scrape happens (its scheduler's environments, its asynchronous queue), so nothing is kept for
them between scrapes. Every family is prefixed ``lamina_``; docs/metrics.md lists them.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, NamedTuple, Protocol

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from lamina.metrics.stats import InvocationStats
from lamina.scheduler.pool import VersionUsage


class QueueDepth(Protocol):
    def depth(self) -> list[dict[str, object]]: ...

    def lost(self) -> list[dict[str, object]]: ...


class Usage(Protocol):
    def usage(self) -> list[VersionUsage]: ...


class CellView(NamedTuple):
    """What a scrape reads of one started cell."""

    account: str
    region: str
    scheduler: Usage
    queue: QueueDepth


class LaminaCollector(Collector):
    def __init__(self, stats: InvocationStats, cells: Callable[[], Iterable[CellView]]) -> None:
        self._stats = stats
        self._cells = cells

    def collect(self) -> Iterator[Metric]:
        yield from self._invocations()
        yield from self._cells_now()

    def _invocations(self) -> Iterator[Metric]:
        stats = self._stats
        labels = ["account", "region", "function", "resource", "version"]
        invocations = CounterMetricFamily("lamina_invocations", "Invocations that ran (CloudWatch's Invocations)",
                                          labels=labels)  # fmt: skip
        errors = CounterMetricFamily("lamina_errors", "Invocations that ended in a function error, by error type "
                                     "(CloudWatch's Errors)", labels=[*labels, "error_type"])  # fmt: skip
        duration = HistogramMetricFamily("lamina_duration_seconds", "Invocations' durations (CloudWatch's Duration)",
                                         labels=labels)  # fmt: skip
        billed = CounterMetricFamily("lamina_billed_duration_seconds", "Billed duration, rounded up to the "
                                     "millisecond per invocation", labels=labels)  # fmt: skip
        gb_seconds = CounterMetricFamily("lamina_gb_seconds", "Billed duration times configured memory in GB",
                                         labels=labels)  # fmt: skip
        for key, counts in sorted(stats.invocations.items()):
            values = list(key)
            invocations.add_metric(values, counts.invocations)
            for error_type, count in sorted(counts.errors.items()):
                errors.add_metric([*values, error_type], count)
            duration.add_metric(values, counts.duration.cumulative(), counts.duration.total)
            billed.add_metric(values, counts.billed_seconds)
            gb_seconds.add_metric(values, counts.gb_seconds)
        yield from (invocations, errors, duration, billed, gb_seconds)

        init_labels = ["account", "region", "function", "version"]
        cold = CounterMetricFamily("lamina_cold_starts", "Invocations that initialised a new environment",
                                   labels=init_labels)  # fmt: skip
        init = HistogramMetricFamily("lamina_init_duration_seconds", "Init phases' durations (cold starts)",
                                     labels=init_labels)  # fmt: skip
        for init_key, init_counts in sorted(stats.inits.items()):
            cold.add_metric(list(init_key), init_counts.cold_starts)
            init.add_metric(list(init_key), init_counts.duration.cumulative(), init_counts.duration.total)
        yield from (cold, init)

        throttles = CounterMetricFamily("lamina_throttles", "Invocation requests refused for concurrency or rate "
                                        "(CloudWatch's Throttles), by reason",
                                        labels=["account", "region", "function", "resource", "reason"])  # fmt: skip
        for throttle_key, count in sorted(stats.throttles.items()):
            throttles.add_metric(list(throttle_key), count)
        dead = CounterMetricFamily("lamina_dead_letters", "Asynchronous events sent to a dead-letter queue",
                                   labels=["account", "region", "function"])  # fmt: skip
        for dead_key, count in sorted(stats.dead_letters.items()):
            dead.add_metric(list(dead_key), count)
        yield from (throttles, dead)

    def _cells_now(self) -> Iterator[Metric]:
        concurrent = GaugeMetricFamily("lamina_concurrent_executions", "Invocations running now "
                                       "(CloudWatch's ConcurrentExecutions)",
                                       labels=["account", "region", "function"])  # fmt: skip
        environments = GaugeMetricFamily("lamina_environments", "Execution environments now, by state",
                                         labels=["account", "region", "function", "version", "state"])  # fmt: skip
        provisioned = GaugeMetricFamily("lamina_provisioned_environments", "Provisioned environments initialised",
                                        labels=["account", "region", "function", "version"])  # fmt: skip
        utilization = GaugeMetricFamily("lamina_provisioned_concurrency_utilization", "Busy provisioned "
                                        "environments over those initialised (CloudWatch's "
                                        "ProvisionedConcurrencyUtilization)",
                                        labels=["account", "region", "function", "version"])  # fmt: skip
        depth = GaugeMetricFamily("lamina_async_events_waiting", "Asynchronous events waiting for an attempt",
                                  labels=["account", "region", "function"])  # fmt: skip
        in_flight = GaugeMetricFamily("lamina_async_events_in_flight", "Asynchronous events being attempted",
                                      labels=["account", "region", "function"])  # fmt: skip
        age = GaugeMetricFamily("lamina_async_event_age_seconds", "Age of the oldest unfinished asynchronous "
                                "event (CloudWatch's AsyncEventAge)", labels=["account", "region", "function"])  # fmt: skip
        lost = {
            metric: CounterMetricFamily(name, help_text, labels=["account", "region", "function"])
            for metric, name, help_text in (
                ("DeadLetterErrors", "lamina_dead_letter_errors", "Dead letters the execution role may not "
                 "send (CloudWatch's DeadLetterErrors)"),
                ("DestinationDeliveryFailures", "lamina_destination_delivery_failures", "Destination records the "
                 "execution role may not send (CloudWatch's DestinationDeliveryFailures)"),
            )
        }  # fmt: skip
        for cell in self._cells():
            busy: dict[str, int] = {}
            for u in cell.scheduler.usage():
                version_labels = [cell.account, cell.region, u.function, u.version]
                busy[u.function] = busy.get(u.function, 0) + u.busy
                for state, count in (("busy", u.busy), ("idle", u.idle), ("starting", u.starting)):
                    environments.add_metric([*version_labels, state], count)
                if u.provisioned:
                    provisioned.add_metric(version_labels, u.provisioned)
                    utilization.add_metric(version_labels, u.provisioned_busy / u.provisioned)
            for function, count in sorted(busy.items()):
                concurrent.add_metric([cell.account, cell.region, function], count)
            for row in cell.queue.depth():
                function_labels = [cell.account, cell.region, str(row["function"])]
                depth.add_metric(function_labels, _number(row["depth"]))
                in_flight.add_metric(function_labels, _number(row["inFlight"]))
                age.add_metric(function_labels, _number(row["oldestAgeSeconds"]))
            for row in cell.queue.lost():
                for metric, family in lost.items():
                    if metric in row:
                        family.add_metric([cell.account, cell.region, str(row["function"])], _number(row[metric]))
        yield from (concurrent, environments, provisioned, utilization, depth, in_flight, age, *lost.values())


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


class Exposition:
    """The server's metrics, as the text a Prometheus scrape reads."""

    def __init__(self, stats: InvocationStats, cells: Callable[[], Iterable[CellView]]) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(LaminaCollector(stats, cells))

    def text(self) -> bytes:
        return generate_latest(self._registry)
