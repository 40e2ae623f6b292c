"""What verifying signatures costs the warm Invoke: the same signed Invoke against two servers in
the same run, one verifying (as always) and one started with ``LAMINA_VERIFY_SIGNATURES=off``
(a setting that exists only for this measurement, refused off loopback and logged loudly).

Two targets at concurrency 8, in the order A B B A as the HTTP API scenario: "verified" and
"unverified". Both are sent the same bytes (wrk replays one request signed just before each run),
so the only difference is the verification. The figure is verified over unverified throughput;
the target is at least 0.95×.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from bench import wrk
from bench.lamina_target import Lamina
from bench.load import LoadError
from bench.profile import Profile
from bench.scenarios.warm import Target, WarmPoint, a_b_b_a, verify
from bench.stats import ratio
from bench.types import Progress

CONCURRENCY = 8
FUNCTION = "noop"
TARGET = 0.95


@dataclass(frozen=True)
class SignaturesResult:
    concurrency: int
    verified: list[WarmPoint]  # in order
    unverified: list[WarmPoint]
    verified_per_s: float  # mean throughput of each
    unverified_per_s: float

    @property
    def ratio(self) -> float | None:
        return ratio(self.verified_per_s, self.unverified_per_s)


async def run(verifying: Lamina, unverifying: Lamina, profile: Profile, scratch: Path,
              progress: Progress) -> SignaturesResult:  # fmt: skip
    if not wrk.available():
        raise LoadError("the signatures scenario needs wrk: scripts/bench installs it (Debian's package wrk)")
    verified = Target("verified", verifying.endpoint(FUNCTION), verifying.pid)
    unverified = Target("unverified", unverifying.endpoint(FUNCTION), unverifying.pid)
    for target in (verified, unverified):
        await verify(target)
    points = await a_b_b_a(verified, unverified, CONCURRENCY, profile, scratch, progress, "signatures")
    result = SignaturesResult(CONCURRENCY, points["verified"], points["unverified"],
                              statistics.mean(p.throughput for p in points["verified"]),
                              statistics.mean(p.throughput for p in points["unverified"]))  # fmt: skip
    progress(f"signatures  warm Invokes verified / not verified: {result.ratio or 0:.3f}× (target ≥ {TARGET}×)")
    return result
