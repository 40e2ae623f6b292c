"""The object store's floor: a plain aiohttp PUT handler that stores each body as Lamina does
(a temporary file, fsynced, renamed, the folder fsynced), with no S3 around it: no metadata, no checksums, no store.

Any ``PUT /<bucket>/<key>`` is answered 200 with the body's MD5 as its ETag, which is all boto3's
``put_object`` needs. Run as ``python -m bench.objects_floor DIR``; prints ``Objects floor
listening on http://127.0.0.1:PORT`` once it accepts connections, stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import uuid
from pathlib import Path

from aiohttp import web

from bench.floor import serve_app
from bench.procs import Processes, ServerProcess

ROOT = Path(__file__).resolve().parent.parent


def build_app(folder: Path) -> web.Application:
    incoming, bodies = folder / "incoming", folder / "bodies"
    incoming.mkdir(parents=True, exist_ok=True)
    bodies.mkdir(parents=True, exist_ok=True)

    def keep(data: bytes) -> None:
        name = uuid.uuid4().hex
        with open(incoming / name, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(incoming / name, bodies / name)
        fd = os.open(bodies, os.O_RDONLY | os.O_DIRECTORY)  # the rename made durable, as Lamina does
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    async def put(request: web.Request) -> web.Response:
        data = await request.read()
        await asyncio.to_thread(keep, data)
        return web.Response(headers={"ETag": f'"{hashlib.md5(data).hexdigest()}"'})

    app = web.Application()
    app.router.add_put("/{bucket}/{key:.+}", put)
    return app


async def serve(folder: Path) -> None:
    await serve_app(build_app(folder), 0, "Objects floor")


async def start_objects_floor(processes: Processes, folder: Path, log: Path) -> ServerProcess:
    server = ServerProcess("objects floor", [sys.executable, "-m", "bench.objects_floor", str(folder)],
                           env=dict(os.environ), cwd=ROOT, log=log,
                           ready=r"^Objects floor listening on (?P<url>http://\S+)")  # fmt: skip
    await processes.start(server)
    return server


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
