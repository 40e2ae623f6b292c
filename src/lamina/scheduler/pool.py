"""Warm pools of execution environments, and the actor that owns them.

``Scheduler.acquire`` hands out, for an invocation's ``Target`` (``invoke/target.py``: resolved
once, carrying the configuration and the limits), an idle environment of its generation or starts
a new one (a cold start); ``release`` returns it. The scheduler follows the control plane's change
stream (``follow``; ``control/changes.py``): a new generation of a version (its code or
configuration changed) and a deleted function or version retire their environments, idle ones at
once, busy ones when released. Those idle past the keep-alive are stopped too. Decisions are made by
``decisions``; this module only acts on them.

Every version of a function is a warm pool of its own, keyed by (function, version): an
environment runs one version's code and configuration and reports that version, so ``$LATEST``
and version 1 never share one, even when their code is the same. Scale-up is counted per function.

Admission (``decisions.on_demand_throttle``): a function with reserved concurrency runs at most that
many invocations at once; functions without one share the account's unreserved concurrency. The
limits are the target's (what the concurrency control plane last published when it was resolved).
With several servers on one database (``hold_units_with``), an invocation must also fit in the units
of its pool this server holds (``units.py``): past them, it takes more from the database, or is
throttled as the limit would throttle it.

Provisioned concurrency: ``provision`` is told how many initialised environments each version must
keep; they are started ahead of time (in tasks the scheduler owns, a few per version at once), kept
apart from the on-demand pools (the reaper never sees them), and an invocation of their version takes
an idle one before anything else. One that dies is dropped and ``on_provisioned_change`` is called:
the caller's next ``provision`` starts its replacement. One that fails to initialise marks the
version failed: no more start until its configuration changes.

Debugging (``debug``, by ``lamina dev --debug``: ``debug/service.py``): a debugged function runs one
on-demand invocation at a time (a second is throttled as reserved concurrency 1 would throttle it),
never in a provisioned environment, and its idle environments are retired as debugging starts and
ends (they were started without, or with, a debug adapter). ``warm`` starts one for a debugger
that attaches before any invocation; an invocation waits for it rather than start another.
"""

from __future__ import annotations

import asyncio
import math
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, NamedTuple

from lamina.tasks import cancel_and_wait
from lamina.control.changes import Change, ConcurrencyChanged, FunctionDeleted, FunctionUpdated, VersionDeleted
from lamina.errors import TooManyRequests
from lamina.invoke.target import Target
from lamina.model import FunctionConfig
from lamina.runtime.api import RuntimeResult
from lamina.sandbox.provider import EnvironmentProvider, EnvState, ExecutionEnvironment as Environment, Outcome
from lamina.sandbox.environment import Environment as LocalEnvironment
from lamina.scheduler import decisions
from lamina.scheduler.decisions import IdleView
from lamina.scheduler.lending import Lane, Lender
from lamina.scheduler.units import UNRESERVED, HeldUnits

log = logging.getLogger(__name__)

# How many provisioned environments of one version initialise at once.
PROVISION_PARALLEL = 4
# How long an invocation refused for want of concurrency waits for idle lent environments to come
# back (the plane gives an idle one back at once; their leases are released as Python takes them).
RECLAIM_WAIT_S = 1.0
# ProvisionedConcurrencyConfig's StatusReason when an environment fails to initialise, as on Lambda.
INIT_FAILURE = "FUNCTION_ERROR_INIT_FAILURE"


@dataclass(frozen=True)
class ProvisionedState:
    """The provisioned environments of one function version, now."""

    ready: int  # initialised, idle or busy
    failure: str | None  # why one failed to initialise (no more start until the configuration changes)


@dataclass(frozen=True)
class VersionUsage:
    """The environments of one function version, now (for metrics)."""

    function: str
    version: str
    busy: int  # running an invocation (provisioned ones included)
    idle: int
    starting: int
    provisioned: int  # provisioned environments initialised: idle or busy
    provisioned_busy: int


class _Lease(NamedTuple):
    """How one acquired environment's invocation was admitted, so that its release undoes the counts
    (a tuple: one is made per invocation)."""

    function: str
    provisioned: bool
    unreserved: bool  # on demand, for a function without a reservation: counted in the unreserved pool


class _Provisioned:
    """The provisioned environments of one function version."""

    def __init__(self, fn: FunctionConfig) -> None:
        self.fn = fn
        self.wanted = 0
        self.envs: list[Environment] = []  # initialised: idle or busy
        self.idle: list[Environment] = []  # least recently used first
        self.starting = 0
        self.failure: str | None = None


class Scheduler:
    def __init__(
        self,
        provider: EnvironmentProvider,
        *,
        keep_alive: float,
        scale_up_limit: int = 1000,
        scale_window: float = 10.0,
    ) -> None:
        self._provider = provider
        self._keep_alive = keep_alive
        self._scale_up_limit = scale_up_limit
        self._scale_window = scale_window
        self._starts: dict[str, deque[float]] = {}  # function name -> recent environment start times
        # (function, version) -> its idle environments, least recently used first: the warmest is last.
        self._idle: dict[tuple[str, str], list[Environment]] = {}
        self._in_use = 0
        # (function, version) -> its current generation, as the change stream last said (or, before it
        # said anything, as the first invocation's target did); absent once deleted. An environment of
        # another generation is stopped when it is released.
        self._current: dict[tuple[str, str], str] = {}
        self._on_demand: dict[str, int] = {}  # function -> its on-demand invocations in flight
        self._unreserved_in_use = 0  # on-demand invocations in flight of functions without a reservation
        self._leases: dict[str, _Lease] = {}  # environment id -> how its invocation was admitted
        self._provisioned: dict[tuple[str, str], _Provisioned] = {}
        self._provisioning: set[asyncio.Task[None]] = set()
        self._on_provisioned_change: Callable[[], None] = lambda: None
        self._all: dict[str, Environment] = {}
        self._stopping: set[asyncio.Task[None]] = set()
        self._debugged: set[str] = set()  # functions being debugged (``debug``)
        # (function, version) -> an environment started for a debugger, the task that starts it and makes it
        # idle once ready, and whether it has started
        self._warming: dict[tuple[str, str], tuple[Environment, asyncio.Task[None], asyncio.Future[None]]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._lender: Lender | None = None  # the native data plane (scheduler/lending.py)
        self._lent: dict[str, LocalEnvironment] = {}  # environment id -> lent to it (still leased)
        self._taking: dict[str, asyncio.Future[bool]] = {}  # lent ones being taken back for an invocation here
        self._freeing: dict[str, asyncio.Future[None]] = {}  # idle lent ones taken back for their lease
        self._units: HeldUnits | None = None  # with other servers on the database: the units held here

    @property
    def in_use(self) -> int:
        """Invocations running now (a lent environment idle in the data plane runs none, though
        its lease is kept)."""
        lender = self._lender
        if not self._lent or lender is None:
            return self._in_use
        return self._in_use - sum(1 for env in self._lent.values() if lender.idle_for(env) is not None)

    def environments(self) -> list[Environment]:
        return list(self._all.values())

    def usage(self) -> list[VersionUsage]:
        """Every function version's environments by state, counted now."""
        counts: dict[tuple[str, str], list[int]] = {}
        for env in self._all.values():
            key = (env.fn.name, env.fn.version)
            row = counts.get(key)
            if row is None:
                row = counts[key] = [0, 0, 0, 0, 0]
            state = env.state
            if state is EnvState.BUSY:
                row[0] += 1
            elif state is EnvState.IDLE or state is EnvState.LENT:  # a lent one is idle between its invocations
                row[1] += 1
            elif state is EnvState.STARTING:
                row[2] += 1
            if env.provisioned and state in (EnvState.BUSY, EnvState.IDLE):
                row[3] += 1
                row[4] += state is EnvState.BUSY
        return [VersionUsage(name, version, *row) for (name, version), row in sorted(counts.items())]

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="lamina-reaper")

    def lend_through(self, lender: Lender) -> None:
        """Lend environments that would go idle to ``lender`` (the native data plane) when their
        invocation's lane allows it (``release``)."""
        self._lender = lender

    def hold_units_with(self, units: HeldUnits) -> None:
        """Admit on-demand invocations within the units of concurrency ``units`` holds, too."""
        self._units = units

    def pool_in_use(self, pool: str) -> int:
        """On-demand invocations running now of ``pool`` (``units.py``; lent environments included)."""
        return self._unreserved_in_use if pool == UNRESERVED else self._on_demand.get(pool, 0)

    async def acquire(self, target: Target) -> tuple[Environment, RuntimeResult | None]:
        """An environment ready to invoke ``target``, or a new one whose init failed (and the failure):
        an idle provisioned one of its version first, then an idle one, then a new one (a cold start).

        Raises ``TooManyRequests`` when the function's reserved concurrency or the account's unreserved
        concurrency is in use, or the function scales up too fast.
        """
        fn = target.fn
        key = (fn.name, fn.version)
        if key not in self._current:
            self._current[key] = fn.generation
        if self._provisioned and fn.name not in self._debugged:
            env = self._take_provisioned(key, fn)
            if env is not None:
                lease = _Lease(fn.name, provisioned=True, unreserved=False)
                self._count(lease, 1)
                self._leases[env.id] = lease
                return env, None
        if self._lent:
            env = await self._take_lent(key, fn)
            if env is not None:
                return env, None
        lease = await self._lease_on_demand(target)
        try:
            warming = self._warming.get(key)
            if warming is not None:  # started for its debugger: this invocation is its, once it is ready
                await asyncio.shield(warming[1])
            idle = self._idle.get(key)
            while idle:
                # The most recently used: the others stay idle long enough to be reaped when load drops.
                env = idle.pop()
                if env.fn.generation == fn.generation and env.state is EnvState.IDLE:
                    self._leases[env.id] = lease
                    return env, None
                self._stop(env)  # of older code or configuration, or crashed while idle
            self._admit_new_environment(fn.name)
            env = self._provider.create(fn)
            self._all[env.id] = env
            await env.start()
            failure = await env.wait_ready()
        except BaseException:
            self._count(lease, -1)
            raise
        self._leases[env.id] = lease
        if failure is not None:
            self._all.pop(env.id, None)
        return env, failure

    async def _lease_on_demand(self, target: Target) -> _Lease:
        """Admit one on-demand invocation of ``target`` and count it, or refuse it (``TooManyRequests``)."""
        limits, name = target.limits, target.fn.name
        unreserved = limits.reserved is None
        reason = decisions.on_demand_throttle(limits, self._on_demand.get(name, 0), self._unreserved_in_use)
        if reason is not None and await self._free_idle_lent(unreserved, name):
            reason = decisions.on_demand_throttle(limits, self._on_demand.get(name, 0), self._unreserved_in_use)
        in_use = self._on_demand.get(name, 0)
        if reason is None and name in self._debugged and in_use >= 1:
            reason = decisions.RESERVED_LIMIT  # one at a time: the invocation a debugger pauses is the only one
        if reason is not None:
            raise TooManyRequests("Rate Exceeded.", reason=reason)
        lease = _Lease(name, provisioned=False, unreserved=unreserved)
        self._count(lease, 1)  # counted first: an invocation admitted while this one waits sees it
        units = self._units
        if units is not None:
            pool = UNRESERVED if unreserved else name
            if not units.covers(pool, self.pool_in_use(pool)):
                limit = limits.unreserved if limits.reserved is None else limits.reserved - limits.provisioned
                try:
                    fits = await units.grow(pool, limit)
                    if not fits and await self._free_idle_lent(unreserved, name):
                        fits = units.covers(pool, self.pool_in_use(pool))
                except BaseException:
                    self._count(lease, -1)
                    raise
                if not fits:  # the other servers hold the rest of the limit
                    self._count(lease, -1)
                    reason = decisions.ACCOUNT_LIMIT if lease.unreserved else decisions.RESERVED_LIMIT
                    raise TooManyRequests("Rate Exceeded.", reason=reason)
        return lease

    def _count(self, lease: _Lease, delta: int) -> None:
        self._in_use += delta
        if lease.provisioned:
            return
        count = self._on_demand.get(lease.function, 0) + delta
        if count > 0:
            self._on_demand[lease.function] = count
        else:
            self._on_demand.pop(lease.function, None)
        if lease.unreserved:
            self._unreserved_in_use += delta

    def _admit_new_environment(self, name: str) -> None:
        """Record a cold start of ``name``, or refuse it: functions scale up at a bounded rate."""
        now = time.monotonic()
        starts = self._starts.setdefault(name, deque())
        while starts and now - starts[0] >= self._scale_window:
            starts.popleft()
        wait = decisions.scale_up_wait(starts, now, self._scale_up_limit, self._scale_window)
        if wait > 0:
            raise TooManyRequests(
                "Rate Exceeded.", reason="FunctionInvocationRateLimitExceeded", retry_after_seconds=math.ceil(wait)
            )
        starts.append(now)

    def release(self, env: Environment, lane: Lane | None = None, arn: str = "") -> None:
        """Give ``env`` back after an invocation; it is stopped unless it can serve its version again
        (it is alive and of the version's current generation). With a ``lane`` (the invocation's,
        invoked as ``arn``), one that can is lent to the native data plane if it takes it."""
        fn = env.fn
        key = (fn.name, fn.version)
        current = env.state is EnvState.IDLE and fn.generation == self._current.get(key)
        if (lane is not None and current and self._lender is not None and not env.provisioned
                and isinstance(env, LocalEnvironment) and env.lendable()
                and self._lender.lend(env, lane, arn, self)):  # fmt: skip
            self._lent[env.id] = env  # its lease stays: it is counted busy
            env.on_lent_exit = self._lent_exited
            return
        lease = self._leases.pop(env.id, None)
        if lease is not None:
            self._count(lease, -1)
        if env.provisioned:
            self._release_provisioned(env, current)
        elif current:
            env.last_used = time.monotonic()
            idle = self._idle.get(key)
            if idle is None:
                self._idle[key] = [env]
            else:
                idle.append(env)
        else:
            self._stop(env)

    # -- lent to the native data plane -----------------------------------------------------

    def returned(self, env: LocalEnvironment) -> None:
        """The data plane gave ``env`` back (reclaimed, or at the end of an invocation it did not
        end as usual): released as after an invocation."""
        if self._lent.pop(env.id, None) is not None:
            env.on_lent_exit = None
            taking = self._taking.pop(env.id, None)
            if taking is not None and not taking.done():
                taking.set_result(True)  # _take_lent runs an invocation in it: the lease goes on
                if env.state is EnvState.IDLE:
                    return
            self.release(env)
        freeing = self._freeing.pop(env.id, None)
        if freeing is not None and not freeing.done():
            freeing.set_result(None)

    def _lent_exited(self, env: LocalEnvironment) -> None:
        if self._lender is not None and env.id in self._lent:
            self._lender.reclaim(env)

    def _reclaim(self, function_name: str | None = None) -> None:
        """Take back every lent environment (of ``function_name``)."""
        if self._lender is None:
            return
        for env in list(self._lent.values()):
            if function_name is None or env.fn.name == function_name:
                self._lender.reclaim(env)

    async def _free_idle_lent(self, unreserved: bool, name: str) -> bool:
        """Take back the idle lent environments whose leases count against the pool an invocation
        is refused for (the unreserved one, or function ``name``'s reservation), and wait until
        their leases are released: an idle one runs nothing, so it must not hold concurrency
        another invocation needs. Whether any was."""
        lender = self._lender
        if lender is None or not self._lent:
            return False
        loop = asyncio.get_running_loop()
        freed: list[asyncio.Future[None]] = []
        for env in list(self._lent.values()):
            lease = self._leases.get(env.id)
            if lease is None or not (lease.unreserved if unreserved else lease.function == name):
                continue  # it holds no unit of that pool
            if env.id in self._taking or env.id in self._freeing or lender.idle_for(env) is None:
                continue  # taken back already, or running an invocation in the plane
            self._freeing[env.id] = future = loop.create_future()
            freed.append(future)
            lender.reclaim(env)
        if freed:
            await asyncio.wait(freed, timeout=RECLAIM_WAIT_S)  # an idle one comes back at once
        return bool(freed)

    def idle_lent(self, target: Target) -> bool:
        """Whether the data plane holds an idle lent environment of ``target``'s version (and no
        idle provisioned one is there to take the invocation first, as ``acquire`` takes it)."""
        lender, fn = self._lender, target.fn
        if lender is None or not self._lent or fn.name in self._debugged:
            return False
        provisioned = self._provisioned.get((fn.name, fn.version)) if self._provisioned else None
        if provisioned is not None and provisioned.idle:
            return False
        return any(env.fn.name == fn.name and env.fn.version == fn.version and lender.idle_for(env) is not None
                   for env in self._lent.values())  # fmt: skip

    def run_lent(self, target: Target, lane: Lane, request_id: str, payload: bytes,
                 client_context: str | None) -> asyncio.Future[Outcome] | None:  # fmt: skip
        """Have the data plane run an invocation of ``target`` in an idle environment lent to
        ``lane`` (its lease, kept while lent, admits it): its outcome to come, or None when the lane
        has none idle (a debugged function's run here, one at a time)."""
        if self._lender is None or not self._lent or target.fn.name in self._debugged:
            return None
        return self._lender.run(lane, request_id, payload, target.invoked_arn, client_context)

    async def _take_lent(self, key: tuple[str, str], fn: FunctionConfig) -> Environment | None:
        """An idle lent environment of ``key``'s current generation, taken back for an invocation
        Python runs (its lease goes on with it), if the data plane has one idle."""
        lender = self._lender
        for env in list(self._lent.values()):
            if lender is None or (env.fn.name, env.fn.version) != key or env.fn.generation != fn.generation:
                continue
            if lender.idle_for(env) is None:
                continue  # running an invocation there
            taken = asyncio.get_running_loop().create_future()
            self._taking[env.id] = taken
            lender.reclaim(env)
            if await taken and env.state is EnvState.IDLE:
                return env
        return None

    # -- following the change stream -------------------------------------------------------

    def follow(self, change: Change) -> None:
        """Keep the pools as the control plane says: a new generation retires the idle environments
        of the older one (busy ones stop when released); a deletion retires all of them."""
        if self._lent:  # the lanes of a function that changed close (any limit may have changed)
            self._reclaim(None if isinstance(change, ConcurrencyChanged) else change.name)
        if isinstance(change, FunctionUpdated):
            key = (change.name, change.version)
            self._current[key] = change.generation
            idle = self._idle.get(key)
            if idle:
                for env in [env for env in idle if env.fn.generation != change.generation]:
                    idle.remove(env)
                    self._stop(env)
        elif isinstance(change, FunctionDeleted):
            for key in [key for key in self._current if key[0] == change.name]:
                del self._current[key]
            self._retire(change.name)
        elif isinstance(change, VersionDeleted):
            self._current.pop((change.name, change.version), None)
            self._retire(change.name, change.version)

    def _retire(self, function_name: str, version: str | None = None) -> None:
        """Stop the idle and provisioned environments of a deleted function version (``None``: of a
        deleted function, every version).

        Busy ones finish their invocation and are stopped on release (their version is gone).
        """
        for key in [key for key in self._idle if key[0] == function_name and version in (None, key[1])]:
            for env in self._idle.pop(key):
                self._stop(env)
        for key in [key for key in self._provisioned if key[0] == function_name and version in (None, key[1])]:
            self._unprovision(key)  # a version (or the function) was deleted

    # -- debugging -------------------------------------------------------------------------

    def debug(self, function_name: str, on: bool) -> None:
        """Start or stop debugging ``function_name`` (see the module docstring); its idle environments
        are retired either way."""
        if on:
            self._debugged.add(function_name)
        else:
            self._debugged.discard(function_name)
        for key in [key for key in self._idle if key[0] == function_name]:
            for env in self._idle.pop(key):
                self._stop(env)

    async def warm(self, fn: FunctionConfig) -> Environment:
        """An environment of ``fn`` for a debugger to attach to before any invocation: returned once
        started, while it initialises (a runtime told to wait for its debugger waits then); idle once
        ready, for the next invocation. The one already warming, if there is one."""
        key = (fn.name, fn.version)
        if key not in self._warming:
            self._current.setdefault(key, fn.generation)
            self._admit_new_environment(fn.name)
            env = self._provider.create(fn)
            self._all[env.id] = env
            started = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(self._settle(key, env, started), name=f"lamina-warm-{env.id}")
            self._warming[key] = (env, task, started)
        env, _, started = self._warming[key]
        await asyncio.shield(started)
        return env

    async def _settle(self, key: tuple[str, str], env: Environment, started: asyncio.Future[None]) -> None:
        """Start ``env`` (``started`` says when), then make it idle once ready (a failed one is stopped already)."""
        try:
            await env.start()
            started.set_result(None)
            failure = await env.wait_ready()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the scheduler is closing"))
            self._stop(env)
            raise
        finally:
            self._warming.pop(key, None)
        if failure is None:
            self.release(env)  # idle, unless its code changed meanwhile
        else:
            self._all.pop(env.id, None)

    # -- provisioned concurrency -----------------------------------------------------------

    def on_provisioned_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` when a provisioned environment is lost or one more is ready."""
        self._on_provisioned_change = callback

    def provision(self, wanted: Mapping[tuple[str, str], tuple[FunctionConfig, int]]) -> None:
        """Keep, for each (function, version) in ``wanted``, that many initialised environments of that
        configuration; none for any other. Returns at once: environments start in tasks of the
        scheduler's, surplus idle ones stop now, surplus busy ones when their invocation ends."""
        for key in [key for key in self._provisioned if key not in wanted]:
            self._unprovision(key)
        for key, (fn, count) in wanted.items():
            pool = self._provisioned.get(key)
            if pool is None:
                pool = self._provisioned[key] = _Provisioned(fn)
            if count != pool.wanted or fn.generation != pool.fn.generation:
                pool.failure = None  # a new configuration: try again
            pool.fn, pool.wanted = fn, count
            for env in [env for env in pool.idle if env.state is not EnvState.IDLE]:  # died while idle
                self._drop_provisioned(pool, env)
            busy = len(pool.envs) - len(pool.idle)
            start, stop = decisions.provisioning(
                count, pool.starting, [env.id for env in pool.idle], busy,
                failed=pool.failure is not None, max_starting=PROVISION_PARALLEL,
            )  # fmt: skip
            for env in [env for env in pool.idle if env.id in stop]:
                self._drop_provisioned(pool, env)
            for _ in range(start):
                self._start_provisioned(key, pool)

    def retry_provisioning(self, function_name: str, version: str) -> None:
        """Forget that an environment of the version failed to initialise: the next ``provision`` tries again."""
        pool = self._provisioned.get((function_name, version))
        if pool is not None:
            pool.failure = None

    def provisioned_state(self, function_name: str, version: str) -> ProvisionedState:
        pool = self._provisioned.get((function_name, version))
        if pool is None:
            return ProvisionedState(0, None)
        return ProvisionedState(len(pool.envs), pool.failure)

    def _take_provisioned(self, key: tuple[str, str], fn: FunctionConfig) -> Environment | None:
        pool = self._provisioned.get(key)
        while pool is not None and pool.idle:
            env = pool.idle.pop()
            if env.state is EnvState.IDLE and env.fn.generation == fn.generation:
                return env
            self._drop_provisioned(pool, env)  # crashed while idle: a replacement starts
        return None

    def _release_provisioned(self, env: Environment, current: bool) -> None:
        pool = self._provisioned.get((env.fn.name, env.fn.version))
        if pool is None or env not in pool.envs:
            self._stop(env)  # no longer provisioned
        elif current and decisions.keeps_provisioned(pool.wanted, len(pool.envs) - 1 + pool.starting):
            env.last_used = time.monotonic()
            pool.idle.append(env)
        else:
            self._drop_provisioned(pool, env)  # crashed, timed out, or one too many

    def _drop_provisioned(self, pool: _Provisioned, env: Environment) -> None:
        if env in pool.idle:
            pool.idle.remove(env)
        if env in pool.envs:
            pool.envs.remove(env)
        self._stop(env)
        self._on_provisioned_change()

    def _unprovision(self, key: tuple[str, str]) -> None:
        """Stop a version's provisioned environments: idle ones now, busy ones on release, starting ones
        once initialised."""
        pool = self._provisioned.pop(key)
        for env in pool.idle:
            self._stop(env)
        pool.idle.clear()

    def _start_provisioned(self, key: tuple[str, str], pool: _Provisioned) -> None:
        pool.starting += 1
        task = asyncio.create_task(self._initialise(key, pool, pool.fn), name=f"lamina-provision-{key[0]}:{key[1]}")
        self._provisioning.add(task)
        task.add_done_callback(self._provisioning.discard)

    async def _initialise(self, key: tuple[str, str], pool: _Provisioned, fn: FunctionConfig) -> None:
        """Start one provisioned environment of ``fn`` and keep it, if it is still wanted once initialised."""
        env: Environment | None = None
        try:
            env = self._provider.create(fn, provisioned=True)
            self._all[env.id] = env
            await env.start()
            failure = await env.wait_ready()
        except Exception as exc:
            log.warning("a provisioned environment of %s:%s could not start: %s", fn.name, fn.version, exc)
            pool.failure = INIT_FAILURE
            if env is not None:
                self._all.pop(env.id, None)
                await env.stop()
            return
        finally:
            pool.starting -= 1
        if failure is not None:
            log.warning("a provisioned environment of %s:%s failed to initialise: %s", fn.name, fn.version,
                        failure.error_type)  # fmt: skip
            self._all.pop(env.id, None)
            pool.failure = INIT_FAILURE
        elif (self._provisioned.get(key) is pool and fn.generation == pool.fn.generation
              and decisions.keeps_provisioned(pool.wanted, len(pool.envs) + pool.starting)):  # fmt: skip
            pool.envs.append(env)
            pool.idle.append(env)
        else:
            self._stop(env)  # no longer wanted
        self._on_provisioned_change()

    def _stop(self, env: Environment) -> None:
        self._all.pop(env.id, None)
        task = asyncio.create_task(env.stop(), name=f"lamina-stop-{env.id}")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def _reap_forever(self) -> None:
        while True:
            keep_alive = self._keep_alive if self._units is None else min(self._keep_alive, self._units.renewal_s)
            await asyncio.sleep(max(0.05, min(keep_alive / 4, 5.0)))
            now = time.monotonic()
            if self._lent and self._lender is not None:
                self._reap_lent(now)
            for key, idle in list(self._idle.items()):
                views = [IdleView(e.id, e.last_used, e.retire_at) for e in idle]
                expired = set(decisions.expired(views, now, self._keep_alive))
                for env in idle:
                    if env.id in expired or env.state is EnvState.DEAD:  # idle too long, or crashed while idle
                        self._stop(env)
                idle[:] = [e for e in idle if e.id not in expired and e.state is not EnvState.DEAD]
                if not idle:
                    del self._idle[key]

    def _reap_lent(self, now: float) -> None:
        """Take back the lent environments idle past the keep-alive or their credentials' time (or,
        with other servers on the database, past a renewal of the units held: an idle one's unit
        goes back for them, ``units.py``)."""
        assert self._lender is not None
        views = []
        for env in self._lent.values():
            idle_for = self._lender.idle_for(env)
            if idle_for is not None:
                views.append(IdleView(env.id, now - idle_for, env.retire_at))
        keep_alive = self._keep_alive if self._units is None else min(self._keep_alive, self._units.renewal_s)
        for env_id in decisions.expired(views, now, keep_alive):
            self._lender.reclaim(self._lent[env_id])

    async def close(self) -> None:
        """Stop the reaper, the provisioning, and every environment, busy or idle; waits for them to be gone."""
        self._reclaim()
        self._lender = None
        for taken in self._taking.values():
            if not taken.done():
                taken.set_result(False)
        for freeing in self._freeing.values():
            if not freeing.done():
                freeing.set_result(None)
        await cancel_and_wait(self._reaper)
        self._reaper = None
        warming = [task for _, task, _ in self._warming.values()]
        for task in [*self._provisioning, *warming]:
            task.cancel()
        if self._provisioning or warming:
            await asyncio.gather(*self._provisioning, *warming, return_exceptions=True)
        self._provisioned.clear()
        for env in list(self._all.values()):
            self._stop(env)
        self._idle.clear()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
