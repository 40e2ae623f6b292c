"""Everything one run measured, scenario by scenario (a scenario not run, or failed, is None)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.baseline import Checkout
from bench.machine import Machine
from bench.profile import Profile
from bench.scenarios.asynchronous import AsyncResult
from bench.scenarios.brokers import BrokerResult
from bench.scenarios.burst import BurstResult
from bench.scenarios.cold import ColdResult
from bench.scenarios.density import DensityResult
from bench.scenarios.dev import DevResult
from bench.scenarios.matcher import MatcherResult
from bench.scenarios.http_api import HttpApiResult
from bench.scenarios.iot import IotResult
from bench.scenarios.mappings import MappingsResult
from bench.scenarios.objects import ObjectsResult
from bench.scenarios.pooled import PooledResult
from bench.scenarios.ray import RayResult
from bench.scenarios.runtimes import RuntimesResult
from bench.scenarios.scaling import ScalingResult
from bench.scenarios.signatures import SignaturesResult
from bench.scenarios.table_changes import TableChangesResult
from bench.scenarios.warm import WarmPoint


@dataclass
class Results:
    profile: Profile
    machine: Machine
    started: str  # ISO 8601, UTC
    duration_s: float = 0.0
    load_average: dict[str, float] = field(default_factory=dict)  # 1-minute, as each scenario began
    load_average_end: tuple[float, float, float] | None = None  # the machine's, when the run ended
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # scenario -> why it failed
    warm: list[WarmPoint] | None = None
    cold: ColdResult | None = None
    runtimes: RuntimesResult | None = None
    density: DensityResult | None = None
    burst: BurstResult | None = None
    scaling: ScalingResult | None = None
    asynchronous: AsyncResult | None = None
    matcher: MatcherResult | None = None
    http_api: HttpApiResult | None = None
    pooled: PooledResult | None = None
    signatures: SignaturesResult | None = None
    mappings: MappingsResult | None = None
    iot: IotResult | None = None
    kafka: BrokerResult | None = None
    rabbitmq: BrokerResult | None = None
    table_changes: TableChangesResult | None = None  # SQLite
    table_changes_postgres: TableChangesResult | None = None
    objects: ObjectsResult | None = None
    dev: DevResult | None = None
    ray: RayResult | None = None

    def warm_point(self, target: str, concurrency: int) -> WarmPoint | None:
        return next((p for p in self.warm or [] if p.target == target and p.concurrency == concurrency), None)


@dataclass
class Compared:
    """A run against a baseline (``against.py``): each side's results, one per round, in the same order."""

    checkout: Checkout
    rounds: int
    current: list[Results]
    baseline: list[Results]
