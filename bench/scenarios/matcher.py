"""Matcher: events matched per second against 1,000 compiled event patterns.

1,000 varied rules (every operator of the pattern language, ``$or``, nested and array fields) are
compiled, then events of a few shapes are matched against all of them, round after round for
``seconds``. In the same process, alternating with it, a trivial baseline does one dict lookup
and comparison per rule (``event.get(key) == value``): the ratio of the two says what the pattern
language costs over the cheapest possible test, whatever the machine's speed.

It runs in a child process of the suite's interpreter with the side's ``src`` first on
``PYTHONPATH`` (``python -m bench.scenarios.matcher SECONDS`` prints the figures as JSON), so
that ``--baseline`` measures the baseline's matcher, as the other scenarios measure its server.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.lamina_target import ROOT, server_env
from bench.types import Progress

RULES = 1000
EVENTS = 500
ROUNDS = 3
SOURCES = [f"com.example.svc{i}" for i in range(20)]
TYPES = [f"Order {kind}" for kind in ("Created", "Paid", "Shipped", "Cancelled", "Refunded", "Updated", "Viewed",
                                      "Rated", "Returned", "Archived")]  # fmt: skip


@dataclass(frozen=True)
class MatcherResult:
    rules: int
    events: int  # distinct events, matched in turn
    compile_ms: float  # compiling all the rules
    indexed_per_s: float  # events through a PatternIndex of the rules (median of the rounds)
    events_per_s: float  # each event tested against every rule's Pattern.matches (median of the rounds)
    baseline_events_per_s: float  # the same events, one dict lookup per rule
    indexed_ratio: float  # indexed_per_s / baseline_events_per_s
    ratio: float  # events_per_s / baseline_events_per_s
    matches_per_event: float  # rules that matched, on average (a check that the rules do match)
    rounds: tuple[float, ...]  # indexed_per_s of each round


def rule(i: int, rnd: random.Random) -> dict[str, object]:
    src, dt, x = rnd.choice(SOURCES), rnd.choice(TYPES), rnd.randrange(100)
    kind = i % 10
    if kind == 0:
        return {"source": [src], "detail-type": [dt]}
    if kind == 1:
        return {"source": [src], "detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}
    if kind == 2:
        return {"source": [{"prefix": src[:-1]}], "detail": {"amount": [{"numeric": [">", x, "<=", x + 300]}]}}
    if kind == 3:
        return {"detail-type": [{"equals-ignore-case": dt.upper()}], "detail": {"region": [{"prefix": "us-"}]}}
    if kind == 4:
        return {"source": [src], "detail": {"ip": [{"cidr": f"10.{x}.0.0/16"}]}}
    if kind == 5:
        return {"source": [src], "detail": {"file": [{"suffix": ".png"}], "size": [{"numeric": ["<", 10 * x]}]}}
    if kind == 6:
        return {"source": [src], "detail": {"$or": [{"state": ["running"]}, {"amount": [{"numeric": [">=", 500]}]}]}}
    if kind == 7:
        return {"detail": {"arn": [{"wildcard": f"arn:aws:s3:::bucket-{x}/*.png"}]}}
    if kind == 8:
        return {"source": [src], "detail": {"user": {"id": [{"exists": True}]}, "tags": [f"t{x % 10}"]}}
    return {"source": [src, rnd.choice(SOURCES)], "detail-type": [dt],
            "detail": {"items": {"sku": [f"sku-{x % 20}"], "qty": [{"numeric": [">", 1]}]}}}  # fmt: skip


def event(rnd: random.Random) -> dict[str, object]:
    x = rnd.randrange(100)
    return {
        "version": "0", "id": f"{rnd.getrandbits(64):016x}", "detail-type": rnd.choice(TYPES),
        "source": rnd.choice(SOURCES), "account": "123456789012", "time": "2026-12-06T18:43:48Z",
        "region": rnd.choice(["us-east-1", "eu-west-1"]), "resources": [f"arn:aws:s3:::bucket-{x}"],
        "detail": {
            "state": rnd.choice(["running", "stopped", "pending"]), "amount": rnd.randrange(1000),
            "region": rnd.choice(["us-west-2", "eu-central-1"]), "ip": f"10.{x}.{rnd.randrange(256)}.7",
            "file": rnd.choice(["a.png", "b.jpg"]), "size": rnd.randrange(1000),
            "arn": f"arn:aws:s3:::bucket-{x}/photos/{rnd.randrange(9)}.png",
            "user": {"id": x} if x % 2 else {"name": "anonymous"}, "tags": [f"t{rnd.randrange(10)}", "all"],
            "items": [{"sku": f"sku-{rnd.randrange(20)}", "qty": rnd.randrange(4)} for _ in range(3)],
        },
    }  # fmt: skip


def _rate(step: Callable[[dict[str, object]], int], events: list[dict[str, object]], seconds: float) -> float:
    """Events per second that ``step(event)`` handles, over about ``seconds`` (events taken in turn)."""
    done, start, clock = 0, time.perf_counter(), time.perf_counter
    while (elapsed := clock() - start) < seconds:
        at = done % len(events)
        for ev in events[at : at + 20]:
            step(ev)
            done += 1
    return done / elapsed


def measure(seconds: float) -> MatcherResult:
    """Run in the child: compile, then alternate matcher and baseline rounds."""
    from lamina.events.pattern import compile_pattern

    rnd = random.Random(20261206)
    texts = [json.dumps(rule(i, rnd)) for i in range(RULES)]
    events = [event(rnd) for _ in range(EVENTS)]
    start = time.perf_counter()
    patterns = [compile_pattern(text) for text in texts]
    compile_ms = (time.perf_counter() - start) * 1000
    lookups = [("source", rnd.choice(SOURCES)) for _ in range(RULES)]

    def matched(ev: dict[str, object]) -> int:
        return sum(1 for p in patterns if p.matches(ev))

    try:
        from lamina.events.index import PatternIndex
    except ImportError:  # a baseline from before the index: it tests every rule
        indexed = matched
    else:
        index = PatternIndex(enumerate(patterns))

        def indexed(ev: dict[str, object]) -> int:
            return len(index.matching(ev))

    def looked_up(ev: dict[str, object]) -> int:
        return sum(1 for key, value in lookups if ev.get(key) == value)

    sample = events[:50]
    per_event = sum(matched(ev) for ev in sample) / len(sample)
    if per_event != sum(indexed(ev) for ev in sample) / len(sample):
        raise AssertionError("the index and testing every pattern disagree")
    slice_s = seconds / (3 * ROUNDS)
    fast, slow, baselines = [], [], []
    for _ in range(ROUNDS):
        fast.append(_rate(indexed, events, slice_s))
        slow.append(_rate(matched, events, slice_s))
        baselines.append(_rate(looked_up, events, slice_s))
    rate, every, baseline = (statistics.median(r) for r in (fast, slow, baselines))
    return MatcherResult(RULES, EVENTS, compile_ms, rate, every, baseline, rate / baseline, every / baseline,
                         per_event, tuple(fast))  # fmt: skip


async def run(seconds: float, src: Path | None, progress: Progress) -> MatcherResult:
    """Measure in a child process (the side's ``src`` first on its path); about ``seconds`` of matching."""
    progress(f"matcher  {RULES} rules, {EVENTS} events, {seconds:.1f} s of matching and baseline, alternating")
    env = server_env({}, src)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.scenarios.matcher", str(seconds), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await child.communicate()
    except BaseException:
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0:
        raise RuntimeError(f"matcher child failed ({child.returncode}): {err.decode().strip()[-500:]}")
    doc = json.loads(out)
    result = MatcherResult(**{**doc, "rounds": tuple(doc["rounds"])})
    progress(f"matcher  {result.indexed_per_s:,.0f} events/s against {RULES} rules through the index, "
             f"{result.events_per_s:,.0f} testing every rule; dict-lookup baseline {result.baseline_events_per_s:,.0f}")  # fmt: skip
    return result


if __name__ == "__main__":
    import dataclasses

    print(json.dumps(dataclasses.asdict(measure(float(sys.argv[1])))))
