"""``RayProvider``: a cell's environments, each started on a node of the Ray cluster.

The scheduler leases environments through it as through ``LocalProvider``: a ``RemoteEnvironment``
keeps ``sandbox/provider.py``'s contract. At ``start`` it is placed (``RayCluster.choose``) and
started by the node's worker over this cell's channel to it (one per node, opened at first use);
it stays on that node. The function's code and layers are shipped from the cell's code store by
SHA-256 when the node lacks them (the worker checks and unpacks them as an upload is). Its credentials are issued here, for its function's role, and shipped with
``start``; its records come back on the channel and go to the cell's recorder.

A node lost (its channel ended, or Ray reports it dead) kills its environments: ``DEAD`` at once;
an invocation not yet sent raises ``EnvironmentGone`` (the scheduler runs it elsewhere); one in
flight returns ``Runtime.ExitError``, as Lambda reports an environment whose runtime went away
mid-invocation (the function may or may not have run: a synchronous caller sees the error, an
asynchronous event is retried as any function error is).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from lamina.identity.principals import CredentialIssuer
from lamina.metering.billing import billed_ms
from lamina.metering.recorder import Recorder
from lamina.model import FunctionConfig
from lamina.placement.channel import ChannelLost, WorkerChannel
from lamina.placement.cluster import Node, RayCluster
from lamina.placement.frames import Frame
from lamina.runtime import constants as rc
from lamina.runtime.api import RuntimeResult, platform_error_body
from lamina.sandbox import credentials
from lamina.sandbox.provider import EnvironmentGone, EnvState, Outcome
from lamina.store import codec
from lamina.store.base import InvocationRecord, LogRecord
from lamina.errors import ApiError, LaminaError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tail:
    data: bytes = b""

    def value(self) -> bytes:
        return self.data


@dataclass(frozen=True)
class Limits:
    """What the workers' sessions of this cell are told (the server's settings)."""

    region: str
    max_response_bytes: int
    init_timeout_s: float
    outbound: bool
    invocation_bytes: int


def lost_result(request_id: str, node_id: str) -> RuntimeResult:
    message = (f"RequestId: {request_id} Error: Runtime exited with error: the execution environment's node "
               f"({node_id}) was lost")  # fmt: skip
    return RuntimeResult(platform_error_body(rc.ERROR_EXIT, message), rc.ERROR_EXIT)


class RayProvider:
    """``provider.EnvironmentProvider`` over a Ray cluster (see the module's docstring)."""

    def __init__(self, cluster: RayCluster, recorder: Recorder, issuer: CredentialIssuer | None, limits: Limits,
                 api: tuple[str, int], packages: Callable[[str], bytes]) -> None:  # fmt: skip
        self.cluster = cluster
        self.recorder = recorder
        self.issuer = issuer
        self.limits = limits
        self.api = api  # where the workers relay environments' calls to Lamina's API
        self.packages = packages  # a code or layer package's zip by its SHA-256 (store/code.py's read)
        self._channels: dict[str, WorkerChannel] = {}
        self._connecting: dict[str, asyncio.Lock] = {}
        self._envs: dict[str, RemoteEnvironment] = {}
        self._closing: set[asyncio.Task[None]] = set()
        cluster.on_lost(self._node_lost)

    def create(self, fn: FunctionConfig, *, provisioned: bool = False) -> RemoteEnvironment:
        return RemoteEnvironment(uuid.uuid4().hex, fn, self, provisioned=provisioned)

    def check_create(self, body: Mapping[str, object]) -> None:
        pass

    async def created(self, fn: FunctionConfig, body: Mapping[str, object]) -> None:
        pass

    async def channel(self, node: Node) -> WorkerChannel:
        existing = self._channels.get(node.node_id)
        if existing is not None and not existing.closed:
            return existing
        lock = self._connecting.setdefault(node.node_id, asyncio.Lock())
        async with lock:
            existing = self._channels.get(node.node_id)
            if existing is not None and not existing.closed:
                return existing
            channel = WorkerChannel(node.node_id, self._frame, self._channel_lost)
            lim = self.limits
            await channel.connect(node.host, node.port, {
                "secret": node.secret, "region": lim.region, "max_response_bytes": lim.max_response_bytes,
                "init_timeout_s": lim.init_timeout_s, "outbound": lim.outbound,
                "invocation_bytes": lim.invocation_bytes, "api": list(self.api),
            })  # fmt: skip
            self._channels[node.node_id] = channel
            return channel

    def _frame(self, frame: Frame) -> None:
        records = frame.header.get("records")
        try:
            if frame.op == "log" and isinstance(records, list):
                for r in records:
                    self.recorder.log(LogRecord(*r))
            elif frame.op == "usage" and isinstance(records, list):
                for r in records:
                    self.recorder.invocation(InvocationRecord(*r))
        except TypeError:  # records not of the shape this server writes: a worker of another version
            log.warning("ray: records of an unexpected shape from a node's worker dropped")
        if frame.op == "finished":
            env = self._envs.get(str(frame.header.get("env")))
            if env is not None:
                env.finished(bool(frame.header.get("idle")))

    def _channel_lost(self, node_id: str) -> None:
        self._channels.pop(node_id, None)
        self.cluster.lost(node_id)  # its worker (and its process) is gone: Ray will say so too
        self._node_lost(node_id)

    def _node_lost(self, node_id: str) -> None:
        for env in [e for e in self._envs.values() if e.node is not None and e.node.node_id == node_id]:
            env.lost()
        channel = self._channels.pop(node_id, None)
        if channel is not None:  # the node is given up: the worker stops what this cell started there
            task = asyncio.get_running_loop().create_task(channel.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def track(self, env: RemoteEnvironment, alive: bool) -> None:
        if alive:
            self._envs[env.id] = env
        else:
            self._envs.pop(env.id, None)

    async def close(self) -> None:
        for channel in list(self._channels.values()):
            await channel.close()
        self._channels.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)


class RemoteEnvironment:
    """One environment on a Ray node (``sandbox/provider.py``'s contract)."""

    def __init__(self, env_id: str, fn: FunctionConfig, provider: RayProvider, *, provisioned: bool) -> None:
        self.id = env_id
        self.fn = fn
        self.provisioned = provisioned
        self.state = EnvState.STARTING
        self.last_used = time.monotonic()
        self.retire_at: float | None = None
        self.init_ms: float | None = None
        self.node: Node | None = None
        self._provider = provider
        self._channel: WorkerChannel | None = None
        self._ready: asyncio.Future[RuntimeResult | None] = asyncio.get_running_loop().create_future()
        self._finishing: asyncio.Future[None] | None = None
        self._starting_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        p = self._provider
        node = p.cluster.choose(self.fn.memory_mb)
        if node is None:
            self._fail("Lamina has no Ray node to start the environment on")
            return
        self.node = node
        p.track(self, True)
        key: dict[str, Any] | None = None
        if p.issuer is not None:
            try:
                issued = await credentials.issue(p.issuer, self.fn)
            except ApiError as exc:
                self._fail(f"The role defined for the function cannot be assumed by Lambda. {exc.message}")
                return
            lifetime = credentials.lifetime(issued, _now())
            if lifetime is not None:
                self.retire_at = time.monotonic() + lifetime
            key = {"access_key_id": issued.access_key_id, "secret_access_key": issued.secret_access_key,
                   "session_token": issued.session_token,
                   "expires_at": issued.expires_at.isoformat() if issued.expires_at else None}  # fmt: skip
        try:
            channel = self._channel = await p.channel(node)
        except (OSError, ChannelLost, asyncio.TimeoutError) as exc:
            self._fail(f"Couldn't reach the worker of Ray node {node.node_id}: {exc}")
            return
        self._starting_task = asyncio.create_task(self._starting(channel, key),
                                                  name=f"lamina-ray-start-{self.id[:8]}")  # fmt: skip

    async def _starting(self, channel: WorkerChannel, key: dict[str, Any] | None) -> None:
        start = {"op": "start", "env": self.id, "fn": codec.encode(self.fn), "provisioned": self.provisioned, "key": key}
        try:
            reply = await channel.request(start)
            if reply.op == "need":  # the node lacks its code or a layer: shipped once, then started
                for digest in reply.header.get("digests", []):
                    package = await asyncio.to_thread(self._provider.packages, str(digest))
                    stored = await channel.request({"op": "code", "digest": str(digest)}, package)
                    if stored.op != "stored":
                        self._fail(f"The Ray node refused the function's code: {stored.header.get('message')}")
                        return
                reply = await channel.request(start)
        except ChannelLost:
            self._fail("The execution environment's Ray node was lost while it started")
            return
        except (OSError, ValueError, LaminaError) as exc:  # the package is gone from the code store
            self._fail(f"Couldn't ship the function's code to the Ray node: {exc}")
            return
        if reply.op == "error":
            self._fail(f"The Ray node's worker could not start the environment: {reply.header.get('message')}")
            return
        init_ms = reply.header.get("init_ms")
        self.init_ms = float(init_ms) if isinstance(init_ms, (int, float)) else None
        error_type = reply.header.get("error_type")
        if isinstance(error_type, str) or reply.op != "ready":
            self.state = EnvState.DEAD
            self._release()
            if not self._ready.done():
                self._ready.set_result(RuntimeResult(reply.body, error_type if isinstance(error_type, str) else rc.ERROR_UNKNOWN))
            return
        if self.state is EnvState.STARTING:
            self.state = EnvState.IDLE
        if not self._ready.done():
            self._ready.set_result(None)

    def _fail(self, message: str) -> None:
        self.state = EnvState.DEAD
        self._release()
        if not self._ready.done():
            self._ready.set_result(RuntimeResult(platform_error_body(rc.ERROR_UNKNOWN, message), rc.ERROR_UNKNOWN))

    async def wait_ready(self) -> RuntimeResult | None:
        return await self._ready

    async def invoke(self, request_id: str, payload: bytes, *, function_arn: str, client_context: str | None = None,
                     timeout_s: float) -> Outcome:  # fmt: skip
        channel = self._channel
        if self.state is EnvState.DEAD or channel is None or channel.closed:
            raise EnvironmentGone(self.id)
        if self.retire_at is not None and time.monotonic() >= self.retire_at:
            await self.stop()
            raise EnvironmentGone(self.id)
        self.state = EnvState.BUSY
        started = time.monotonic()
        try:
            reply = await channel.request({
                "op": "invoke", "env": self.id, "request_id": request_id, "function_arn": function_arn,
                "client_context": client_context, "timeout_s": timeout_s,
            }, payload)  # fmt: skip
        except ChannelLost:
            self.lost()
            duration = (time.monotonic() - started) * 1000
            return Outcome(lost_result(request_id, channel.node_id), Tail(), duration, billed_ms(duration), False)
        h = reply.header
        if reply.op == "error":
            await self.stop()
            message = f"RequestId: {request_id} Error: the Ray node's worker failed: {h.get('message')}"
            duration = (time.monotonic() - started) * 1000
            return Outcome(RuntimeResult(platform_error_body(rc.ERROR_UNKNOWN, message), rc.ERROR_UNKNOWN), Tail(),
                           duration, billed_ms(duration), False)  # fmt: skip
        if h.get("gone"):
            self.state = EnvState.DEAD
            self._release()
            raise EnvironmentGone(self.id)
        error_type = h.get("error_type")
        reusable = bool(h.get("reusable"))
        finishing = None
        if h.get("finishing"):
            finishing = self._finishing = asyncio.get_running_loop().create_future()
        elif self.state is EnvState.BUSY:
            self.state = EnvState.IDLE if reusable else EnvState.DEAD
        if self.state is EnvState.DEAD:
            self._release()
        tail = base64.b64decode(str(h.get("tail", "")))
        return Outcome(RuntimeResult(reply.body, error_type if isinstance(error_type, str) else None), Tail(tail),
                       float(h.get("duration_ms", 0.0)), int(h.get("billed_ms", 1)), reusable, finishing)  # fmt: skip

    def finished(self, idle: bool) -> None:
        if self.state is EnvState.BUSY:
            self.state = EnvState.IDLE if idle else EnvState.DEAD
        if self.state is EnvState.DEAD:
            self._release()
        if self._finishing is not None and not self._finishing.done():
            self._finishing.set_result(None)

    def init_failure_outcome(self, request_id: str, failure: RuntimeResult) -> Outcome:
        """The init failure as the invocation that waited for it sees it; its log lines (START, the
        init's output, REPORT) are written by the worker, where the init's output is."""
        channel = self._channel
        if channel is not None and not channel.closed:
            channel.send({"op": "init_failure", "env": self.id, "request_id": request_id,
                          "error_type": failure.error_type}, failure.body)  # fmt: skip
        init = self.init_ms or 0.0
        return Outcome(failure, Tail(), init, billed_ms(init), False)

    def lost(self) -> None:
        """Its node is gone: so is it."""
        node = self.node.node_id if self.node is not None else "?"
        self.state = EnvState.DEAD
        self._release()
        if not self._ready.done():
            self._ready.set_result(lost_result("", node))
        if self._finishing is not None and not self._finishing.done():
            self._finishing.set_result(None)

    def _release(self) -> None:
        node, self.node = self.node, None
        if node is not None:
            self._provider.cluster.released(node, self.fn.memory_mb)
            self._provider.track(self, False)

    async def stop(self) -> None:
        self.state = EnvState.DEAD
        channel = self._channel
        self._release()
        self._channel = None
        if channel is not None and not channel.closed:
            try:
                await channel.request({"op": "stop", "env": self.id})
            except ChannelLost:
                pass
        if not self._ready.done():
            self._ready.set_result(RuntimeResult(platform_error_body(rc.ERROR_UNKNOWN, "stopped"), rc.ERROR_UNKNOWN))


def _now() -> datetime:
    return datetime.now(timezone.utc)
