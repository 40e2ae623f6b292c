"""The in-process floor: the no-op handler called inside a minimal aiohttp server.

It answers the Invoke API's URL shape (``POST /2015-03-31/functions/{name}/invocations``) by
decoding the JSON payload, calling the handler in the server's own process and encoding its
result: what any HTTP front of a Python function costs at the least, with no platform in between.
Run as ``python -m bench.floor [--port P]``; prints ``Floor listening on http://127.0.0.1:PORT``
once it accepts connections, stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

from aiohttp import web

from bench.handlers import NOOP, load
from bench.procs import Processes, ServerProcess

ROOT = Path(__file__).resolve().parent.parent


def build_app() -> web.Application:
    handler = load(NOOP).handler
    context = SimpleNamespace(function_name="noop", aws_request_id="floor")

    async def invoke(request: web.Request) -> web.Response:
        raw = await request.read()
        event = json.loads(raw) if raw.strip() else {}
        result = handler(event, context)
        return web.Response(body=json.dumps(result).encode(), content_type="application/json")

    app = web.Application()
    app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
    return app


async def serve(port: int) -> None:
    await serve_app(build_app(), port, "Floor")


async def serve_app(app: web.Application, port: int, name: str) -> None:
    """Serve ``app`` on loopback (``port`` 0: any free one) until SIGINT or SIGTERM, printing
    ``<name> listening on <url>`` once it accepts connections."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", port), backlog=1024)
    await web.SockSite(runner, sock).start()
    print(f"{name} listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def start_floor(processes: Processes, log: Path) -> ServerProcess:
    """The floor in a process of its own, like the servers it is compared with."""
    server = ServerProcess("floor", [sys.executable, "-m", "bench.floor"], env=dict(os.environ), cwd=ROOT,
                           log=log, ready=r"^Floor listening on (?P<url>http://\S+)")  # fmt: skip
    await processes.start(server)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
