"""The Ray actor that holds a node's ``NodeWorker``: one per node, named after it, detached (it
outlives any one server: every replica of the API finds the same worker by name).

Ray is imported only here and in ``cluster.py``, and only once LAMINA_RAY_ADDRESS is set: the
embedded mode never loads it. Ray's RPC carries placement and liveness only (``ready``, ``ping``);
invocations go over the worker's own channel.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

NAMESPACE = "lamina"


def actor_name(node_id: str) -> str:
    return f"lamina-worker-{node_id}"


def worker_class() -> Any:
    """The ``NodeWorker`` actor class (made at first use, so that ``import ray`` waits for it)."""
    import ray

    @ray.remote
    class RayNodeWorker:
        def __init__(self, secret: str) -> None:
            self._secret = secret
            self._worker: Any = None
            self._lock: asyncio.Lock | None = None

        async def ready(self) -> dict[str, Any]:
            """Start the worker once (the first caller's), then where it listens and its secret."""
            from lamina.placement.worker import NodeWorker

            logging.basicConfig(level=logging.INFO)
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._worker is None:
                    context = ray.get_runtime_context()
                    worker = NodeWorker(self._secret)
                    await worker.start(ray.util.get_node_ip_address(), context.get_node_id())  # type: ignore[no-untyped-call]
                    self._worker = worker
            host, port = self._worker.address
            return {"host": host, "port": port, "secret": self._secret, "pid": os.getpid()}

        async def ping(self) -> bool:
            return True

    return RayNodeWorker
