"""The run: scenarios in order, each on servers of its own, every server stopped at the end.

A scenario that fails is recorded (``Results.errors``) and the run goes on with the next one.
Every server is started by ``Processes`` and stopped by it, newest first, on the way out, also
when the run is interrupted (``__main__`` kills what is left if the event loop cannot).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from bench import machine, mosquitto, peer, postgres
from bench.context import Bench
from bench.floor import start_floor
from bench.handlers import NOOP
from bench.lamina_target import invoke_path
from bench.load import Endpoint
from bench.procs import Processes, ServerError
from bench.profile import Profile
from bench.results import Results
from bench.scenarios import (
    asynchronous, burst, cold, density, dev, http_api, iot, kafka, mappings, matcher, objects, pooled, rabbitmq,
    ray, runtimes, scaling, signatures, table_changes, warm,
)  # fmt: skip
from bench.types import Progress

ROOT = Path(__file__).resolve().parent.parent
PEER_CACHE = ROOT / ".cache" / "bench" / "serverless"


@contextlib.asynccontextmanager
async def references(bench: Bench, notes: list[str]) -> AsyncIterator[list[warm.Target]]:
    """The warm scenario's reference servers, the floor and (where it installs) the peer, stopped on the way out."""
    targets: list[warm.Target] = []
    floor = await start_floor(bench.processes, bench.workdir / "floor.log")
    targets.append(warm.Target("floor", Endpoint(floor.url, invoke_path("noop")), floor.pid))
    install = await peer.prepare(PEER_CACHE, bench.progress)
    notes.append(install.note)
    bench.progress(install.note)
    the_peer = None
    if install.cli is not None:
        try:
            the_peer = await peer.start_peer(bench.processes, install, bench.workdir / "peer")
            targets.append(warm.Target("peer", the_peer.endpoint(), the_peer.server.pid))
        except ServerError as exc:
            note = f"peer skipped: serverless-offline did not start: {exc}"
            notes.append(note.splitlines()[0])
            bench.progress(note)
    try:
        yield targets
    finally:
        if the_peer is not None:
            await bench.processes.stop(the_peer.server)
        await bench.processes.stop(floor)


async def _warm(bench: Bench, results: Results) -> None:
    async with references(bench, results.notes) as targets, bench.lamina("warm") as lamina:
        await lamina.create_function("noop", NOOP)
        targets.append(warm.Target("lamina", lamina.endpoint("noop"), lamina.pid))
        results.warm = await warm.run(targets, bench.profile, bench.workdir, bench.progress)


async def _cold(bench: Bench, results: Results) -> None:
    async with bench.lamina("cold") as lamina:
        results.cold = await cold.run(lamina, bench.profile.cold_functions, bench.progress)


async def _runtimes(bench: Bench, results: Results) -> None:
    prepared = await runtimes.prepare(bench.progress)  # builds before the server starts, never beside it
    async with bench.lamina("runtimes") as lamina:
        results.runtimes = await runtimes.run(lamina, prepared, bench.profile, bench.progress)
    skipped: dict[str, list[str]] = {}  # the same reason once, with every runtime it skipped
    for row in results.runtimes.rows:
        if row.status == "skipped":
            skipped.setdefault(row.short_reason, []).append(row.label)
    results.notes += [f"runtimes: {', '.join(labels)} skipped: {why}" for why, labels in skipped.items()]
    failed = [f"{row.label}: {row.reason.splitlines()[0]}" for row in results.runtimes.rows if row.status == "failed"]
    if failed:  # available, yet its hello world did not run: a failure, though the others were measured
        results.errors["runtimes"] = "; ".join(failed)


async def _density(bench: Bench, results: Results) -> None:
    limit = str(max(1000, bench.profile.density_hold))  # each held environment is a concurrent invocation
    async with bench.lamina("density", LAMINA_ACCOUNT_CONCURRENCY=limit) as lamina:
        results.density = await density.run(lamina, bench.profile.density_hold, bench.progress)


async def _burst(bench: Bench, results: Results) -> None:
    async with bench.lamina("burst") as lamina:
        results.burst = await burst.run(lamina, bench.profile.burst, bench.profile.burst_sleep_s, bench.progress)


async def _scaling(bench: Bench, results: Results) -> None:
    limit = str(bench.profile.scaling_limit)
    async with bench.lamina("scaling", LAMINA_ACCOUNT_CONCURRENCY=limit) as lamina:
        results.scaling = await scaling.run(lamina, bench.profile, bench.progress)


async def _async(bench: Bench, results: Results) -> None:
    async with bench.lamina("async") as lamina:
        p = bench.profile
        results.asynchronous = await asynchronous.run(
            lamina, p.async_events, p.async_concurrency, p.async_rounds, p.async_latency_requests, bench.progress
        )


async def _matcher(bench: Bench, results: Results) -> None:
    results.matcher = await matcher.run(bench.profile.matcher_s, bench.src, bench.progress)


async def _http_api(bench: Bench, results: Results) -> None:
    async with bench.lamina("http_api") as lamina:
        await lamina.create_function(http_api.FUNCTION, NOOP)
        results.http_api = await http_api.run(lamina, bench.profile, bench.workdir, bench.progress)


async def _pooled(bench: Bench, results: Results) -> None:
    async with bench.lamina("pooled") as lamina:
        await lamina.create_function(pooled.FUNCTION, NOOP)
        results.pooled = await pooled.run(lamina, bench.profile, bench.workdir, bench.progress)


async def _signatures(bench: Bench, results: Results) -> None:
    async with bench.lamina("signatures") as verifying, \
            bench.lamina("signatures-off", LAMINA_VERIFY_SIGNATURES="off") as unverifying:  # fmt: skip
        for lamina in (verifying, unverifying):
            await lamina.create_function(signatures.FUNCTION, NOOP)
        results.signatures = await signatures.run(verifying, unverifying, bench.profile, bench.workdir,
                                                  bench.progress)  # fmt: skip


async def _mappings(bench: Bench, results: Results) -> None:
    async with bench.lamina("mappings") as lamina:
        p = bench.profile
        results.mappings = await mappings.run(lamina, p.mapping_messages, p.mapping_latency_messages, bench.progress)


async def _iot(bench: Bench, results: Results) -> None:
    path = mosquitto.executable()
    if path is None:
        results.notes.append(f"iot skipped: {mosquitto.MISSING}")
        bench.progress(results.notes[-1])
        return
    broker = await mosquitto.start(bench.processes, path, bench.workdir / f"mosquitto{bench.label}")
    try:
        async with bench.lamina("iot", LAMINA_MQTT_URL=broker.url) as lamina:
            p = bench.profile
            results.iot = await iot.run(lamina, broker.port, p.iot_messages, p.iot_latency_messages, bench.progress)
    finally:
        await bench.processes.stop(broker.server)


async def _dev(bench: Bench, results: Results) -> None:
    """``lamina dev`` and serverless-offline with --reloadHandler, side by side (Lamina alone without the peer)."""
    install = await peer.prepare(PEER_CACHE, bench.progress)
    scratch = bench.workdir / (f"dev-{bench.label}" if bench.label else "dev")
    folder = scratch / "function"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(dev.source(dev.FIRST))
    async with bench.lamina("dev") as lamina:
        watcher = await dev.start_dev(bench.processes, lamina.url, folder, scratch / "lamina-dev.log", bench.src)
        the_peer = None
        try:
            targets = [dev.lamina_target(lamina.url, folder, watcher)]
            if install.cli is None:
                _skipped(bench, results, "dev: serverless-offline", install.note)
            else:
                try:
                    the_peer = await peer.start_peer(bench.processes, install, scratch / "peer",
                                                     source=dev.source(dev.FIRST), options=dev.PEER_OPTIONS)  # fmt: skip
                    targets.append(dev.Target("peer", scratch / "peer", the_peer.url, the_peer.endpoint().path))
                except ServerError as exc:
                    _skipped(bench, results, "dev: serverless-offline", f"it did not start: {exc}".splitlines()[0])
            p = bench.profile
            results.dev = await dev.run(targets, p.dev_saves, p.dev_warm_requests, bench.progress)
        finally:
            if the_peer is not None:
                await bench.processes.stop(the_peer.server)
            await bench.processes.stop(watcher)


def _skipped(bench: Bench, results: Results, name: str, why: str) -> None:
    results.notes.append(f"{name} skipped: {why}")
    bench.progress(f"{name} skipped: {why}")


async def _ray(bench: Bench, results: Results) -> None:
    """The embedded engine, then 1, 2 and 4 local Ray nodes, then their throughput growth with a CPU quota per node
    (skipped with a note where Ray is not installed; the growth where no quota can be set)."""
    if (why := ray.unavailable()) is not None:
        return _skipped(bench, results, "ray", why)
    results.ray = await ray.run(bench, bench.progress)
    if results.ray.growth_skipped is not None:
        results.notes.append(f"ray: {results.ray.growth_skipped}")


async def _kafka(bench: Bench, results: Results) -> None:
    if (why := kafka.unavailable()) is not None:
        return _skipped(bench, results, "kafka", why)
    broker = await kafka.start_broker(Path(tempfile.mkdtemp(prefix="kafka-", dir=bench.workdir)))
    try:
        async with bench.lamina("kafka") as lamina:
            results.kafka = await kafka.run(lamina, broker.bootstrap, bench.profile.kafka_records, bench.progress)
    finally:
        await asyncio.to_thread(broker.stop)


async def _rabbitmq(bench: Bench, results: Results) -> None:
    if (why := rabbitmq.unavailable()) is not None:
        return _skipped(bench, results, "rabbitmq", why)
    node = await rabbitmq.start_node(Path(tempfile.mkdtemp(prefix="rabbitmq-", dir=bench.workdir)))
    try:
        url = rabbitmq.node_url(node)
        async with bench.lamina("rabbitmq", LAMINA_RABBITMQ_BROKERS=f"{rabbitmq.BROKER}={url}") as lamina:
            results.rabbitmq = await rabbitmq.measure(lamina, url, bench.profile.rabbitmq_messages, bench.progress)
    finally:
        await asyncio.to_thread(node.close)


async def _table_changes(bench: Bench, results: Results) -> None:
    """SQLite, then PostgreSQL (a server of the run's own; skipped with a note where none is installed)."""
    p = bench.profile
    source = table_changes.SqliteSource(bench.workdir / "table_changes.db")
    async with bench.lamina("table_changes") as lamina:
        results.table_changes = await table_changes.run(lamina, source, p.table_changes, p.table_latency_changes,
                                                        bench.progress)  # fmt: skip
    if not postgres.available():
        return _skipped(bench, results, "table_changes (PostgreSQL)", postgres.MISSING)
    server = await postgres.start()
    try:
        pg_source = await asyncio.to_thread(table_changes.PostgresSource, server.url())
        async with bench.lamina("table_changes_postgres") as lamina:
            results.table_changes_postgres = await table_changes.run(
                lamina, pg_source, p.table_changes, p.table_latency_changes, bench.progress)
    finally:
        await asyncio.to_thread(server.remove)


async def _objects(bench: Bench, results: Results) -> None:
    async with bench.lamina("objects") as lamina:
        p = bench.profile
        results.objects = await objects.run(lamina, bench.processes, bench.workdir, p.object_puts,
                                            p.object_latency_puts, bench.progress)  # fmt: skip


SCENARIOS: dict[str, Callable[[Bench, Results], Awaitable[None]]] = {
    "warm": _warm, "cold": _cold, "runtimes": _runtimes, "density": _density, "burst": _burst, "scaling": _scaling,
    "async": _async, "http_api": _http_api, "pooled": _pooled, "signatures": _signatures, "matcher": _matcher,
    "mappings": _mappings, "iot": _iot, "kafka": _kafka, "rabbitmq": _rabbitmq, "table_changes": _table_changes,
    "objects": _objects, "dev": _dev, "ray": _ray,
}  # fmt: skip


def _innermost(exc: BaseException) -> BaseException:
    """The first error inside (nested) exception groups: a task group's failure, as its body raised it."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def failed(name: str, exc: Exception, results: list[Results], progress: Progress) -> None:
    """Record a scenario's failure in ``results`` (``Results.errors``) and show its traceback."""
    cause = _innermost(exc)
    for r in results:
        r.errors[name] = f"{type(cause).__name__}: {cause}".splitlines()[0]
    progress(f"{name} FAILED:\n{''.join(traceback.format_exception(exc))}")


def _remove(path: Path) -> None:
    """Remove the scratch folder, code trees that Lamina made read-only included."""

    def writable_then_retry(func: Callable[[str], object], failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        func(failed)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=writable_then_retry)
    else:
        shutil.rmtree(path, onerror=writable_then_retry)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    """The run's temporary folder (servers' data and logs), removed on the way out."""
    workdir = Path(tempfile.mkdtemp(prefix="lamina-bench-"))
    try:
        yield workdir
    finally:
        _remove(workdir)


async def run(profile: Profile, only: list[str], processes: Processes, progress: Progress) -> Results:
    start = time.monotonic()
    results = Results(profile, machine.describe(), datetime.now(timezone.utc).isoformat(timespec="seconds"))
    progress(f"machine: {results.machine.describe()}")
    with scratch() as workdir:
        bench = Bench(profile, processes, workdir, progress)
        try:
            for name in only:
                results.load_average[name] = os.getloadavg()[0]
                progress(f"== {name} (load average {results.load_average[name]:.2f})")
                try:
                    await SCENARIOS[name](bench, results)
                except Exception as exc:  # one failed scenario must not lose the others' figures
                    failed(name, exc, [results], progress)
                finally:
                    await processes.stop_all()
        finally:
            await processes.stop_all()
    results.duration_s = time.monotonic() - start
    results.load_average_end = os.getloadavg()
    return results
