"""The development loop: save a handler, then invoke until the answer is the new code's; Lamina's
``lamina dev`` against serverless-offline's reload, in the same run.

- Lamina: ``lamina dev DIR --name dev --runtime python3.11 --handler app.handler --endpoint URL``
  runs as a process of its own beside the scenario's server, as a developer runs it: it deploys the
  folder, then redeploys it on each save its watcher reports.
- serverless-offline: started with ``--reloadHandler``, its way to run a changed Python handler
  without a restart. Without it a handler's process lives on with the module it imported; with it,
  every invocation gets a new handler process (``LambdaFunctionPool.get`` no longer reuses an idle
  one), which imports the file as it is then. Idle processes go after ``terminateIdleLambdaTime``
  (60 s by default), as they would for a developer.

Each save writes ``app.py`` returning a new marker, in one of the two ways editors write a file
(``save``): ``atomic``, a temporary file in the same folder renamed over ``app.py``, and
``in place``, truncated and written. The clock starts when the write has returned; the suite then
invokes, one request at a time with ``POLL_S`` between an answer and the next request, until an
answer carries the marker. The figure is the time until that answer arrived: what a developer
waits between saving and seeing the new code's answer. Answers of the old code meanwhile are
counted (``stale``), and errors (``failed``). The saves alternate between the targets, Lamina
first on every other save, so a drift of the machine touches both alike, with ``SETTLE_S`` after
each. For Lamina the ``Reloaded F in N ms`` line ``lamina dev`` prints for the save is read too:
its own clock, from the watcher's report to the new code being live (no invoke in it).

Last, each target's warm invoke with no change: ``dev_warm_requests`` invokes one at a time. For
the peer with ``--reloadHandler`` each is a new process: what a developer pays per invoke for that
way of reloading.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.lamina_target import RUNTIME, invoke_path, server_env
from bench.load import HttpConnection, LoadError, Response
from bench.procs import Processes, ServerProcess
from bench.stats import Latency, ratio
from bench.types import Progress

FUNCTION = "dev"
HANDLER = "app.handler"
FIRST = "start"  # the marker of the code deployed before the first save
VARIANTS = ("atomic", "in place")
PEER_OPTIONS = ("--reloadHandler",)
POLL_S = 0.005  # between an answer and the next invoke: the figures' resolution, and spares the CPU
SETTLE_S = 0.3  # after each save: the watcher quiet again, the old code's environments retired
TIMEOUT_S = 30.0  # a save whose new code has not answered by then fails the scenario
_RELOADED = re.compile(r"^Reloaded \S+ in (\d+(?:\.\d+)?) ms", re.MULTILINE)


def source(marker: str) -> str:
    """The handler's code, returning ``marker``: the same text for both targets."""
    return f'def handler(event, context):\n    return {{"marker": "{marker}"}}\n'


def marker_of(answer: Response) -> str | None:
    """The marker of a successful invoke's answer; None for an error or anything else."""
    if answer.status != 200 or "x-amz-function-error" in answer.headers:
        return None
    try:
        doc = json.loads(answer.body)
    except ValueError:
        return None
    marker = doc.get("marker") if isinstance(doc, dict) else None
    return marker if isinstance(marker, str) else None


def reloaded_ms(output: str) -> list[float]:
    """The figures of ``lamina dev``'s "Reloaded F in N ms" lines in ``output``, in order."""
    return [float(m[1]) for m in _RELOADED.finditer(output)]


def save(path: Path, text: str, variant: str) -> None:
    """Write ``text`` to ``path`` as an editor does: ``atomic`` (a temporary file beside it, renamed
    over it) or ``in place`` (truncated, then written)."""
    if variant == "atomic":
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
    elif variant == "in place":
        with open(path, "w") as f:
            f.write(text)
    else:
        raise ValueError(f"unknown way to save: {variant!r}")


@dataclass(frozen=True)
class Save:
    variant: str  # how the file was written: one of VARIANTS
    seconds: float  # the write returned -> the first answer of the new code arrived
    stale: int  # answers of the old code meanwhile
    failed: int  # error answers meanwhile
    reloaded_ms: float | None = None  # lamina dev's own "Reloaded ... in N ms" (Lamina only)


@dataclass(frozen=True)
class Loop:
    """One target's saves and warm invokes, summarised."""

    target: str  # "lamina" or "peer"
    saves: tuple[Save, ...]
    reload: Latency  # save -> new code, every save
    by_variant: dict[str, Latency]
    stale_mean: float  # old code's answers per save
    stale_max: int
    failed: int  # error answers, all saves
    reloaded: Latency | None  # lamina dev's own figures; None for the peer
    warm: Latency  # invokes one at a time with no change

    @classmethod
    def of(cls, target: str, saves: Sequence[Save], warm_s: Sequence[float]) -> Loop:
        lines = [s.reloaded_ms / 1000 for s in saves if s.reloaded_ms is not None]
        each_way = {v: [s.seconds for s in saves if s.variant == v] for v in VARIANTS}
        stale = [s.stale for s in saves]
        return cls(target, tuple(saves), Latency.of([s.seconds for s in saves]),
                   {v: Latency.of(seconds) for v, seconds in each_way.items() if seconds},
                   statistics.fmean(stale) if stale else 0.0, max(stale, default=0), sum(s.failed for s in saves),
                   Latency.of(lines) if lines else None, Latency.of(warm_s))  # fmt: skip


@dataclass(frozen=True)
class DevResult:
    saves: int  # per way of saving, per target
    poll_ms: float
    lamina: Loop
    peer: Loop | None  # None without the peer
    peer_options: tuple[str, ...] = PEER_OPTIONS

    @property
    def ratio(self) -> float | None:
        """Lamina's save -> new code p50 over the peer's (below 1: Lamina is faster)."""
        return ratio(self.lamina.reload.p50_ms, self.peer.reload.p50_ms if self.peer else None)


@dataclass
class Target:
    name: str
    folder: Path  # holds app.py
    url: str
    path: str  # the invoke path
    output: Callable[[], str] | None = None  # what lamina dev has printed so far; None for the peer
    marker: str = FIRST  # what its code answers now


async def start_dev(processes: Processes, lamina_url: str, folder: Path, log: Path,
                    src: Path | None = None) -> ServerProcess:  # fmt: skip
    """``lamina dev`` on ``folder`` against the server at ``lamina_url``, once it watches (the first deploy done)."""
    argv = [sys.executable, "-m", "lamina", "dev", str(folder), "--name", FUNCTION, "--runtime", RUNTIME,
            "--handler", HANDLER, "--endpoint", lamina_url]  # fmt: skip
    env = server_env({"PYTHONUNBUFFERED": "1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}, src)
    env.pop("AWS_SESSION_TOKEN", None)
    # ServerProcess calls what its ready line names "url": here the folder being watched.
    dev = ServerProcess("lamina-dev", argv, ready=r"^Watching (?P<url>.+) for changes", env=env, log=log,
                        cwd=folder.parent)  # fmt: skip
    await processes.start(dev)
    return dev


def lamina_target(lamina_url: str, folder: Path, dev: ServerProcess) -> Target:
    def output() -> str:
        try:
            return dev.log.read_text(errors="replace")
        except OSError:
            return ""

    return Target("lamina", folder, lamina_url, invoke_path(FUNCTION), output)


async def _invoke(conn: HttpConnection, target: Target) -> Response:
    return await conn.request("POST", target.path, b"{}")


async def _reloaded_line(output: Callable[[], str], before: int) -> float | None:
    """The figure of the first "Reloaded" line after the ``before`` already printed, once printed."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = reloaded_ms(output())
        if len(lines) > before:
            return lines[before]
        await asyncio.sleep(0.01)
    return None


async def measure_save(target: Target, conn: HttpConnection, marker: str, variant: str) -> Save:
    """Save new code returning ``marker``, then invoke until it answers."""
    before = len(reloaded_ms(target.output())) if target.output else 0
    save(target.folder / "app.py", source(marker), variant)
    saved = time.perf_counter()
    stale = failed = 0
    try:
        async with asyncio.timeout(TIMEOUT_S):
            while (seen := marker_of(await _invoke(conn, target))) != marker:
                if seen == target.marker:
                    stale += 1
                else:
                    failed += 1
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        raise LoadError(f"{target.name}: no answer of the new code ({marker}) {TIMEOUT_S:.0f} s after the save "
                        f"({stale} of the old, {failed} failed)") from None  # fmt: skip
    seconds = time.perf_counter() - saved
    target.marker = marker
    reloaded = await _reloaded_line(target.output, before) if target.output else None
    return Save(variant, seconds, stale, failed, reloaded)


async def _warm(target: Target, conn: HttpConnection, requests: int) -> list[float]:
    elapsed = []
    for _ in range(requests):
        got = await _invoke(conn, target)
        if marker_of(got) != target.marker:
            raise LoadError(f"{target.name}: warm invoke answered {got.status} {got.body[:200]!r}")
        elapsed.append(got.elapsed_s)
    return elapsed


async def run(targets: Sequence[Target], saves: int, warm_requests: int, progress: Progress) -> DevResult:
    """``saves`` saves each way (``VARIANTS``) on every target, alternating, then their warm invokes."""
    conns = {t.name: HttpConnection(t.url) for t in targets}
    measured: dict[str, list[Save]] = {t.name: [] for t in targets}
    warm: dict[str, list[float]] = {}
    try:
        for t in targets:  # each answers its first code before anything is saved
            if marker_of(got := await _invoke(conns[t.name], t)) != FIRST:
                raise LoadError(f"{t.name} does not run the first code: {got.status} {got.body[:300]!r}")
        for i in range(saves):
            order = targets if i % 2 == 0 else list(reversed(targets))
            for variant in VARIANTS:
                for t in order:
                    s = await measure_save(t, conns[t.name], f"save-{i}-{variant.replace(' ', '-')}", variant)
                    measured[t.name].append(s)
                    line = f", lamina dev says {s.reloaded_ms:.0f} ms" if s.reloaded_ms is not None else ""
                    progress(f"dev   {t.name:<6} save {i + 1}/{saves} ({variant}): new code answered after "
                             f"{s.seconds * 1000:.0f} ms, {s.stale} old answers{line}")  # fmt: skip
                    await asyncio.sleep(SETTLE_S)
        for t in targets:
            warm[t.name] = await _warm(t, conns[t.name], warm_requests)
    finally:
        for conn in conns.values():
            await conn.close()
    loops = {t.name: Loop.of(t.name, measured[t.name], warm[t.name]) for t in targets}
    result = DevResult(saves, POLL_S * 1000, loops["lamina"], loops.get("peer"))
    for loop in loops.values():
        progress(f"dev   {loop.target}: save -> new code p50 {loop.reload.p50_ms:.0f} ms, p99 {loop.reload.p99_ms:.0f} ms, "
                 f"{loop.stale_mean:.1f} old answers a save; warm invoke p50 {loop.warm.p50_ms:.1f} ms")  # fmt: skip
    return result
