"""The load generator of the warm figures: ``wrk`` (Debian's package; ``scripts/bench`` installs it).

wrk is written in C and drives its connections from an event loop per thread, so it costs a
fraction of what an interpreted client costs per request and the servers, not the client, are
what is measured. ``run`` drives one endpoint with C keep-alive connections for a duration and
returns what wrk reports (``--latency``: the full distribution); ``parse`` reads wrk's report.
"""

from __future__ import annotations

import asyncio
import re
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.load import Endpoint, LoadError, signed

_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m),")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_LATENCY = re.compile(r"^\s+Latency\s+([\d.]+)(us|ms|s)\s+[\d.]+(?:us|ms|s)\s+([\d.]+)(us|ms|s)", re.M)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)", re.M)
_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkRun:
    requests: int  # answers received
    ok: int  # of them 2xx
    duration_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int  # socket errors: connections refused, reset or timed out
    client_cpu_s: float  # wrk's own CPU time

    @property
    def throughput(self) -> float:
        """Successful answers per second."""
        return self.ok / self.duration_s if self.duration_s else 0.0


def available() -> str | None:
    return shutil.which("wrk")


def script(endpoint: Endpoint) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [f"wrk.method = {quoted(endpoint.method)}", f"wrk.body = {quoted(endpoint.body.decode())}",
             'wrk.headers["Content-Type"] = "application/json"']  # fmt: skip
    lines += [f"wrk.headers[{quoted(k)}] = {quoted(v)}" for k, v in endpoint.headers.items()]
    if (other := endpoint.alternate) is not None:
        def formatted(e: Endpoint) -> str:
            headers = ", ".join(f"[{quoted(k)}] = {quoted(v)}" for k, v in e.headers.items())
            return f"wrk.format({quoted(e.method)}, {quoted(e.path)}, {{{headers}}}, {quoted(e.body.decode())})"

        # Formatted in init: wrk sets the Host header only once the script has loaded.
        lines += ["local requests, sent = nil, 0",
                  f"init = function(args) requests = {{{formatted(endpoint)}, {formatted(other)}}} end",
                  "request = function() sent = sent + 1; return requests[sent % 10 == 0 and 2 or 1] end"]  # fmt: skip
    return "\n".join(lines) + "\n"


def parse(output: str, client_cpu_s: float = 0.0) -> WrkRun | None:
    """wrk's report as figures (None if it has no request count: wrk failed)."""
    counted = _REQUESTS.search(output)
    latency = _LATENCY.search(output)
    if counted is None or latency is None:
        return None
    requests = int(counted[1])
    non_2xx = _NON_2XX.search(output)
    errors = _SOCKET_ERRORS.search(output)
    percentiles = {int(m[1]): float(m[2]) * _MS[m[3]] for m in _PERCENTILE.finditer(output)}
    return WrkRun(
        requests=requests, ok=requests - (int(non_2xx[1]) if non_2xx else 0),
        duration_s=float(counted[2]) * _MS[counted[3]] / 1000,
        p50_ms=percentiles.get(50, float("nan")), p99_ms=percentiles.get(99, float("nan")),
        mean_ms=float(latency[1]) * _MS[latency[2]], max_ms=float(latency[3]) * _MS[latency[4]],
        errors=sum(int(n) for n in errors.groups()) if errors else 0, client_cpu_s=client_cpu_s,
    )  # fmt: skip


async def run(endpoint: Endpoint, concurrency: int, duration_s: float, scratch: Path) -> WrkRun:
    """Drive ``endpoint`` for ``duration_s`` (whole seconds, at least one) with ``concurrency`` connections."""
    wrk = available()
    if wrk is None:
        raise LoadError("wrk is not installed: scripts/bench installs it (Debian's package wrk)")
    lua = scratch / "wrk-request.lua"
    endpoint = signed(endpoint)  # signed just before the run: a signature is good for five minutes
    lua.write_text(script(endpoint))
    argv = [wrk, "--latency", "-t", str(min(2, concurrency)), "-c", str(concurrency),
            "-d", f"{max(1, round(duration_s))}s", "-s", str(lua), endpoint.base_url + endpoint.path]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), duration_s + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise LoadError(f"wrk did not finish within {duration_s + 30:.0f} s") from None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    text = out.decode(errors="replace")
    result = parse(text, cpu) if proc.returncode == 0 else None
    if result is None:
        raise LoadError(f"wrk failed (exit {proc.returncode}): {text[-500:]}")
    return result
