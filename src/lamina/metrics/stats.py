"""What Lamina counts about invocations, kept as plain aggregates until someone scrapes them.

``InvocationStats`` is fed in batches, off the invocation path: the invocation records each
cell's recorder writes (``observe``, every flush), and the rarer events as they happen (a
throttle, a dead letter). Nothing here is per request on the hot path: a record costs a dictionary
lookup and a bisect when its batch is folded in. ``metrics.exposition`` turns the aggregates into
Prometheus metric families at scrape time.

Labels are CloudWatch's dimensions for AWS/Lambda: the function, the ``resource`` as invoked
(``name`` or ``name:qualifier``, an alias or a version) and the version that ran, with the cell's
account and region. Counts only grow; a deleted function's series stay until the server restarts,
as a Prometheus counter's should (a scrape never sees one go down).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from lamina.store.base import InvocationRecord

# Upper bounds of the duration histograms' buckets, in seconds: 1 ms to Lambda's 15-minute maximum.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                    300.0, 900.0)  # fmt: skip

# (account, region, function, resource, version)
InvocationKey = tuple[str, str, str, str, str]
# (account, region, function)
FunctionKey = tuple[str, str, str]


@dataclass
class Histogram:
    """Counts per bucket (not cumulative: made so at exposition), their sum, and how many."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus's buckets: ``le`` as text and the count at or below it, ``+Inf`` last."""
        out, running = [], 0
        for bound, count in zip((*(repr(b) for b in DURATION_BUCKETS), "+Inf"), self.counts):
            running += count
            out.append((bound, running))
        return out


@dataclass
class InvocationCounts:
    invocations: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by error type
    duration: Histogram = field(default_factory=Histogram)
    billed_seconds: float = 0.0
    gb_seconds: float = 0.0


@dataclass
class InitCounts:
    cold_starts: int = 0
    duration: Histogram = field(default_factory=Histogram)


class InvocationStats:
    """The server's invocation aggregates, for every cell (one per server, shared by the cells)."""

    def __init__(self) -> None:
        self.invocations: dict[InvocationKey, InvocationCounts] = {}
        self.inits: dict[tuple[str, str, str, str], InitCounts] = {}  # (account, region, function, version)
        self.throttles: Counter[tuple[str, str, str, str, str]] = Counter()  # (..., function, resource, reason)
        self.dead_letters: Counter[FunctionKey] = Counter()

    def observe(self, account: str, region: str, records: Iterable[InvocationRecord]) -> None:
        """Fold in a batch of one cell's invocation records."""
        for r in records:
            resource = r.function if r.qualifier is None else f"{r.function}:{r.qualifier}"
            key = (account, region, r.function, resource, r.version)
            counts = self.invocations.get(key)
            if counts is None:
                counts = self.invocations[key] = InvocationCounts()
            counts.invocations += 1
            if r.failed:
                counts.errors[r.outcome] += 1
            counts.duration.observe(r.duration_ms / 1000)
            billed = r.billed_ms / 1000
            counts.billed_seconds += billed
            counts.gb_seconds += billed * r.memory_mb / 1024
            if r.init_ms is not None:
                init_key = (account, region, r.function, r.version)
                init = self.inits.get(init_key)
                if init is None:
                    init = self.inits[init_key] = InitCounts()
                init.cold_starts += 1
                init.duration.observe(r.init_ms / 1000)

    def throttled(self, account: str, region: str, function: str, qualifier: str | None, reason: str) -> None:
        resource = function if qualifier is None else f"{function}:{qualifier}"
        self.throttles[(account, region, function, resource, reason)] += 1

    def dead_lettered(self, account: str, region: str, function: str) -> None:
        self.dead_letters[(account, region, function)] += 1


@dataclass(frozen=True)
class CellStats:
    """One cell's side of ``InvocationStats``: what its parts report, with its account and region."""

    stats: InvocationStats
    account: str
    region: str

    def observe(self, records: Iterable[InvocationRecord]) -> None:
        self.stats.observe(self.account, self.region, records)

    def throttled(self, function: str, qualifier: str | None, reason: str) -> None:
        self.stats.throttled(self.account, self.region, function, qualifier, reason)

    def dead_lettered(self, function: str) -> None:
        self.stats.dead_lettered(self.account, self.region, function)
