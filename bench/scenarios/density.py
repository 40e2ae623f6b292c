"""Density: what an idle warm environment costs in memory, and how many fit on this machine.

K concurrent invocations of a handler that holds its environment at a barrier (``barrier.py``):
busy environments are never shared, so once all K handlers have arrived there, K environments
exist. The barrier then lets them go, every invocation returns, and the K environments sit idle.
Invocations that fail (an environment that could not start) are counted and their first error
kept; the environments that did start are measured.

Finding their processes: each handler says which environment it ran in (its log stream) and its
pid. Where environments share the host's pid namespace, those pids are the processes. Where each
has a pid namespace of its own (every pid is 1 inside), an environment's process is the one under
the server whose pid namespace is one level deeper than its parent's. An environment's footprint
is that process and its descendants, from ``/proc/PID/smaps_rollup``. Whatever else runs under
the server (a fork server, say) is a fixed cost; the server's own growth over the K environments
is its cost per environment.
Fit = (MemAvailable before the run - fixed cost) / (environment PSS + server growth per environment).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass

from bench import memory
from bench.barrier import Barrier
from bench.handlers import HOLD
from bench.lamina_target import Lamina, error_message, invoke_path, succeeded
from bench.load import HttpConnection, LoadError, Response
from bench.types import Progress

FUNCTION = "idle"
POLL_S = 0.05  # how often health is read while the environments go idle
STALL_S = 60.0  # give up when no handler arrived and no invocation ended for this long
# What one environment is assumed to take when deciding how many this machine can safely hold:
# twice what a Python environment was measured to take, and at most 60% of the available memory.
ASSUMED_KB_PER_ENV = 10 * 1024
SAFE_SHARE = 0.6


@dataclass(frozen=True)
class DensityResult:
    requested: int
    failed: int  # invocations that did not get a working environment
    failure: str  # the first failure's message
    held: int  # idle environments actually held
    env_pss_kb_mean: float
    env_pss_kb_median: float
    env_pss_kb_max: int
    env_uss_kb_mean: float
    env_rss_kb_mean: float
    server_pss_kb_before: int
    server_pss_kb_after: int
    server_kb_per_env: float
    fixed_kb: int  # other processes under the server that are no environment
    mem_available_kb_before: int
    mem_available_kb_after: int
    system_kb_per_env: float  # the drop in MemAvailable per environment
    fit: int  # idle environments this machine's available memory holds, extrapolated
    start_s: float  # from the first request until all K handlers were running
    env_command: str  # the command line of one environment process


def safe_hold(wanted: int, available_kb: int) -> int:
    """At most ``wanted``, and no more than ``SAFE_SHARE`` of the available memory holds at the assumed size."""
    return max(1, min(wanted, int(available_kb * SAFE_SHARE) // ASSUMED_KB_PER_ENV))


def environment_pids(reported: set[int], server: int, children: dict[int, list[int]]) -> set[int]:
    """The host pids of the server's environments, from the pids their handlers reported."""
    under = memory.descendants(server, children)
    if reported <= under:
        return reported  # no pid namespaces: the handlers saw their host pids
    parent = {child: ppid for ppid, kids in children.items() for child in kids}
    depth = {pid: memory.pid_namespace_depth(pid) for pid in under | {server}}
    return {pid for pid in under if depth[pid] > depth.get(parent.get(pid, server), 0) and not _prepared(pid)}


def _prepared(pid: int) -> bool:
    """A fork server's prepared child (sandbox/forkserver.py): no environment yet, part of the fixed cost."""
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().rstrip(b"\n") == b"lamina-prepared"
    except OSError:
        return False


async def _wait_idle(lamina: Lamina, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while int(str((await lamina.health())["inUse"])) > 0:
        if time.monotonic() > deadline:
            raise LoadError(f"density: invocations still in use after {timeout:.0f} s")
        await asyncio.sleep(POLL_S)


async def _hold(lamina: Lamina, k: int) -> tuple[list[Response], float]:
    """K invocations, each holding its environment until every one of them is running or has
    ended (failed); the answers, and the time until then."""
    conns = [await HttpConnection(lamina.url).open() for _ in range(k)]
    changed = asyncio.Event()
    try:
        async with Barrier(on_arrival=changed.set) as barrier:
            body = json.dumps({"barrier": list(barrier.address), "max_wait": 300}).encode()
            started = time.perf_counter()
            async with asyncio.TaskGroup() as group:
                calls = [group.create_task(conn.request("POST", invoke_path(FUNCTION), body, timeout=400),
                                           name=f"bench-density-{i}") for i, conn in enumerate(conns)]  # fmt: skip
                for call in calls:
                    call.add_done_callback(lambda _: changed.set())
                try:
                    while barrier.arrived + sum(call.done() for call in calls) < k:
                        changed.clear()
                        try:
                            await asyncio.wait_for(changed.wait(), STALL_S)
                        except TimeoutError as exc:
                            raise LoadError(f"density: stuck at {barrier.arrived} of {k} handlers running") from exc
                finally:
                    barrier.release()
                start_s = time.perf_counter() - started
    finally:
        for conn in conns:
            await conn.close()
    return [call.result() for call in calls], start_s


async def run(lamina: Lamina, k: int, progress: Progress) -> DensityResult:
    await lamina.create_function(FUNCTION, HOLD, timeout_s=600)
    available_before = memory.meminfo_kb("MemAvailable")
    if (safe := safe_hold(k, available_before)) < k:
        progress(f"density  holding {safe} environments, not {k}: only {available_before // 1024:,} MB is available")
        k = safe
    server_before = memory.footprint(lamina.pid) or memory.NOTHING
    progress(f"density  starting {k} environments")
    answers, start_s = await _hold(lamina, k)
    good, bad = succeeded(answers)
    failure = error_message(bad[0]) if bad else ""
    if bad:
        progress(f"density  {len(bad)} of {k} invocations failed, e.g.: {failure}")
    if not good:
        raise LoadError(f"density: every invocation failed, e.g.: {failure}")
    docs = [json.loads(a.body) for a in good]
    held = len({d["env"] for d in docs})
    if held < len(good):
        raise LoadError(f"density: {len(good)} invocations ran in only {held} environments")
    await _wait_idle(lamina, 60)

    children = memory.children_map()
    env_pids = environment_pids({int(d["pid"]) for d in docs}, lamina.pid, children)
    if len(env_pids) != held:
        raise LoadError(f"density: found {len(env_pids)} environment processes under the server, expected {held}")
    envs = [memory.tree_footprint(pid, children) for pid in sorted(env_pids)]
    in_envs = set(env_pids).union(*(memory.descendants(p, children) for p in env_pids))
    others = memory.descendants(lamina.pid, children) - in_envs
    fixed = sum(((memory.footprint(p) or memory.NOTHING) for p in others), memory.NOTHING)
    server_after = memory.footprint(lamina.pid) or memory.NOTHING
    available_after = memory.meminfo_kb("MemAvailable")

    pss = [e.pss_kb for e in envs]
    server_per_env = max(0.0, (server_after.pss_kb - server_before.pss_kb) / held)
    per_env = statistics.fmean(pss) + server_per_env
    result = DensityResult(
        requested=k, failed=len(bad), failure=failure, held=held, env_pss_kb_mean=statistics.fmean(pss), env_pss_kb_median=statistics.median(pss),
        env_pss_kb_max=max(pss), env_uss_kb_mean=statistics.fmean(e.uss_kb for e in envs),
        env_rss_kb_mean=statistics.fmean(e.rss_kb for e in envs),
        server_pss_kb_before=server_before.pss_kb, server_pss_kb_after=server_after.pss_kb,
        server_kb_per_env=server_per_env, fixed_kb=fixed.pss_kb,
        mem_available_kb_before=available_before, mem_available_kb_after=available_after,
        system_kb_per_env=(available_before - available_after) / held,
        fit=int((available_before - fixed.pss_kb) / per_env), start_s=start_s,
        env_command=memory.cmdline(min(env_pids)),
    )  # fmt: skip
    progress(f"density  {held} idle environments (all running after {start_s:.2f} s): PSS "
             f"{result.env_pss_kb_mean / 1024:.2f} MB each (USS {result.env_uss_kb_mean / 1024:.2f}, "
             f"RSS {result.env_rss_kb_mean / 1024:.2f}), server +{server_per_env:.0f} KB each, "
             f"fixed {fixed.pss_kb / 1024:.1f} MB; fit ≈ {result.fit:,}")  # fmt: skip
    return result
