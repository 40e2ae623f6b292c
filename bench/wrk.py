"""Throughput from ``wrk``, when it is installed: a second opinion beside the suite's own client.

``throughput`` returns None if wrk is missing, fails, or prints no figure; it never raises.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

from bench.load import Endpoint

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def available() -> str | None:
    return shutil.which("wrk")


def script(endpoint: Endpoint) -> str:
    body = endpoint.body.decode().replace("\\", "\\\\").replace('"', '\\"')
    return f'wrk.method = "{endpoint.method}"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n'


def parse(output: str) -> float | None:
    """Requests per second of 2xx answers, from wrk's report."""
    rps = _RPS.search(output)
    if rps is None:
        return None
    non_2xx = _NON_2XX.search(output)
    return None if non_2xx and int(non_2xx[1]) > 0 else float(rps[1])


async def throughput(endpoint: Endpoint, concurrency: int, duration_s: float, scratch: Path) -> float | None:
    wrk = available()
    if wrk is None:
        return None
    lua = scratch / "wrk-post.lua"
    lua.write_text(script(endpoint))
    argv = [wrk, "-t", str(min(2, concurrency)), "-c", str(concurrency), "-d", f"{max(1, round(duration_s))}s",
            "-s", str(lua), endpoint.base_url + endpoint.path]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), duration_s + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return parse(out.decode(errors="replace")) if proc.returncode == 0 else None
