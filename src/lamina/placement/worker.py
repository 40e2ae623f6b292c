"""A node's worker: the environments one Ray node runs, served to servers over the channel.

``NodeWorker`` (``actor.py``'s Ray actor holds one) makes what a server makes for its own
environments, once per node: the protections, the network namespaces' pool, the fork servers
(``Spawner``), the uid pool and the runtimes found on the node. It listens on a TCP port of the
node's address; each server connects once (``channel.py``) and authenticates with the worker's
secret (``frames.py``). A connection is a session: the environments it starts are ordinary
``sandbox/environment.py`` environments, with what differs across machines made by the session:

- their records (log lines, usage) are relayed to the server, whose recorder stores them, so
  CloudWatch Logs, REPORT lines and ``lamina usage`` read as for local environments;
- their credentials are the ones the server issued for the function's role, shipped with ``start``;
- their code and layers are the server's packages, shipped by SHA-256 once per node (``start``
  answers ``need`` with the digests the node lacks; ``code`` brings one): stored and unpacked by
  ``store/code.py`` with the same checks as an upload, layers merged by ``store/overlay.py``;
- Lamina's API inside their namespaces is relayed, byte for byte, to the listener the server
  serves environments' API on (``RayProvider``): signed with the role's credentials, authorized
  by IAM, as locally.

A session that ends (the server gone) stops every environment it started.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import socket
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lamina.errors import ApiError
from lamina.identity.principals import AccessKey, Principal, PrincipalKind
from lamina.placement import frames
from lamina.placement.frames import Frame, FrameError
from lamina.runtime.api import RuntimeResult
from lamina.runtime.runtimes import RuntimeRegistry
from lamina.runtime.sdk import Sdks
from lamina.sandbox.environment import TEMPLATE_DIR, Environment, EnvironmentContext
from lamina.sandbox.isolation import Protections, UidPool
from lamina.sandbox.network import NetworkPool
from lamina.sandbox.provider import EnvironmentGone, EnvState
from lamina.sandbox.spawn import Spawner
from lamina.settings import LogLimits, Settings
from lamina.store import codec
from lamina.store.code import CodeStore
from lamina.store.overlay import LayerOverlays
from lamina.store.base import InvocationRecord, LogRecord

log = logging.getLogger(__name__)

RELAY_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Issued:
    """``CredentialIssuer`` of one environment: the key the server issued for its function's role."""

    key: AccessKey

    async def assume_role(self, role_arn: str, session_name: str, duration_seconds: int) -> AccessKey:
        return self.key


def key_of(doc: dict[str, Any], role: str) -> AccessKey:
    """The credentials ``start`` carries, as the environment is given them."""
    expires = doc.get("expires_at")
    principal = Principal(account_id="", arn=role, user_id="", kind=PrincipalKind.ASSUMED_ROLE, role_arn=role)
    return AccessKey(str(doc["access_key_id"]), str(doc["secret_access_key"]), principal,
                     session_token=doc.get("session_token"),
                     expires_at=datetime.fromisoformat(expires) if isinstance(expires, str) else None)  # fmt: skip


class _Relay:
    """The session's ``Records``: what its environments record, sent to the server in batches (one
    frame per kind per turn of the event loop)."""

    def __init__(self, session: Session, limits: LogLimits) -> None:
        self.limits = limits
        self._session = session
        self._logs: list[LogRecord] = []
        self._usage: list[InvocationRecord] = []
        self._scheduled = False

    def log(self, record: LogRecord) -> None:
        self._logs.append(record)
        self._schedule()

    def invocation(self, record: InvocationRecord) -> None:
        self._usage.append(record)
        self._schedule()

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        logs, usage, self._logs, self._usage = self._logs, self._usage, [], []
        if logs:
            self._session.send({"op": "log", "records": [list(r) for r in logs]})
        if usage:
            self._session.send({"op": "usage", "records": [list(r) for r in usage]})


class NodeWorker:
    """One node's environments (see the module's docstring). ``start`` once, then ``close``."""

    def __init__(self, secret: str, settings: Settings | None = None) -> None:
        self.secret = secret
        self.settings = settings or Settings.from_env()
        self.node_id = ""
        self.address: tuple[str, int] = ("", 0)
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[Session] = set()
        self._protections: Protections | None = None
        self._network: NetworkPool | None = None
        self._spawner: Spawner | None = None
        self.work_dir = Path()

    async def start(self, host: str, node_id: str = "") -> tuple[str, int]:
        s = self.settings
        self.node_id = node_id
        protections = self._protections = await asyncio.to_thread(Protections.detect)
        protections.cgroups.take_in_server()
        if protections.namespaces:
            # Environments reach Lamina's API inside their namespace at this port, relayed to the server.
            self._network = NetworkPool(s, api_port=s.port)
            await self._network.start()
        own = s.data_dir.resolve() / f"ray-worker-{uuid.uuid4().hex[:12]}"
        self.work_dir = own / "environments"
        await asyncio.to_thread((self.work_dir / TEMPLATE_DIR).mkdir, parents=True, mode=0o700)
        self.code = await asyncio.to_thread(CodeStore, own / "code", s.limits)  # packages shipped by servers
        self.overlays = LayerOverlays(own / "layers-merged", self.code)
        self._spawner = Spawner(template=self.work_dir / TEMPLATE_DIR if protections.namespaces else None)
        self.uids = UidPool()
        self.runtimes = RuntimeRegistry(s.interpreters, recheck_seconds=s.runtime_recheck_seconds)
        self.sdks = Sdks(s.sdk_dir.resolve())
        self._server = await asyncio.start_server(self._serve, host, 0)
        self.address = (host, self._server.sockets[0].getsockname()[1])
        log.info("lamina worker of node %s listening at %s:%d", node_id, *self.address)
        return self.address

    def context(self, session: Session, hello: Frame) -> EnvironmentContext:
        """What the session's environments share: the node's parts, the server's limits."""
        h = hello.header
        assert self._protections is not None and self._spawner is not None
        api_host, api_port = str(h["api"][0]), int(h["api"][1])

        async def serve_api(listener: socket.socket) -> asyncio.AbstractServer:
            return await asyncio.start_server(lambda r, w: _relay(r, w, api_host, api_port), sock=listener)

        limits = LogLimits(invocation_bytes=int(h["invocation_bytes"]))
        return EnvironmentContext(
            host="127.0.0.1", region=str(h["region"]), work_dir=self.work_dir,
            max_response_bytes=int(h["max_response_bytes"]), init_timeout_s=float(h["init_timeout_s"]),
            recorder=_Relay(session, limits), protections=self._protections, uids=self.uids, spawner=self._spawner,
            kept=(Path(sys.base_prefix).resolve(),), network=self._network, outbound=bool(h["outbound"]),
            serve_api=serve_api if self._network is not None else None,
            api_url=f"http://{api_host}:{api_port}", sdks=self.sdks,
        )  # fmt: skip

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(frames.read(reader, frames.MAX_HEADER_BYTES), frames.HELLO_TIMEOUT_S)
        except (FrameError, asyncio.IncompleteReadError, asyncio.TimeoutError, OSError, ValueError) as exc:
            log.warning("worker: a connection closed before it authenticated (%s)", type(exc).__name__)
            writer.close()
            return
        if not frames.authentic(hello, self.secret):
            log.warning("worker: a connection without the worker's secret refused")
            writer.close()
            return
        session = Session(self, writer)
        try:
            session.ctx = self.context(session, hello)
        except (KeyError, TypeError, ValueError, IndexError):
            writer.close()
            return
        self._sessions.add(session)
        session.send({"op": "welcome", "node": self.node_id})
        try:
            await session.run(reader)
        finally:
            self._sessions.discard(session)
            await session.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            await session.close()
        if self._spawner is not None:
            await self._spawner.close()
        if self._network is not None:
            await self._network.close()
        if self._protections is not None:
            self._protections.close()


class Session:
    """One server's connection to the worker: the environments it started, by id."""

    def __init__(self, worker: NodeWorker, writer: asyncio.StreamWriter) -> None:
        self.worker = worker
        self.ctx: EnvironmentContext | None = None
        self._writer = writer
        self._envs: dict[str, Environment] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        if not self._writer.is_closing():
            self._writer.write(frames.encode(header, body))

    async def run(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                frame = await frames.read(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except FrameError as exc:
                log.warning("worker: closing a session: %s", exc)
                return
            task = asyncio.create_task(self._handle(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, frame: Frame) -> None:
        h, rid = frame.header, frame.id
        try:
            if frame.op == "start":
                await self._start(rid, h)
            elif frame.op == "code":
                artifact = await asyncio.to_thread(self.worker.code.put, frame.body)
                if artifact.digest != h["digest"]:
                    raise ValueError(f"the package is {artifact.digest}, not {h['digest']}")
                self.send({"op": "stored", "id": rid})
            elif frame.op == "invoke":
                await self._invoke(rid, h, frame.body)
            elif frame.op == "init_failure":
                env = self._envs.pop(str(h["env"]), None)
                if env is not None:
                    env.init_failure_outcome(str(h["request_id"]), RuntimeResult(frame.body, h.get("error_type")))
            elif frame.op == "stop":
                env = self._envs.pop(str(h.get("env")), None)
                if env is not None:
                    await env.stop()
                self.send({"op": "stopped", "id": rid})
        except (KeyError, TypeError, ValueError) as exc:
            self.send({"op": "error", "id": rid, "message": f"malformed {frame.op}: {exc}"})
        except ApiError as exc:  # the runtime is not on this node, say
            self.send({"op": "error", "id": rid, "message": exc.message})
        except Exception as exc:  # the server waits for an answer: it gets one
            log.exception("worker: %s failed", frame.op)
            self.send({"op": "error", "id": rid, "message": f"the node's worker failed: {exc}"})
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    async def _start(self, rid: int, h: dict[str, Any]) -> None:
        assert self.ctx is not None
        fn = codec.decode(str(h["fn"]))
        ctx = self.ctx
        if h.get("key") is not None:
            ctx = replace(ctx, credentials=Issued(key_of(h["key"], fn.role)))
        code = self.worker.code
        layers = [layer.code.digest for layer in fn.layers]
        missing = [d for d in dict.fromkeys([fn.code.digest, *layers]) if not code.zip_path(d).exists()]
        if missing:
            self.send({"op": "need", "id": rid, "digests": missing})
            return
        task_root = await asyncio.to_thread(code.extract, fn.code.digest)
        opt = await asyncio.to_thread(self.worker.overlays.merged, layers) if layers else None
        runtime = self.worker.runtimes.get(fn.runtime, invoking=True)
        env = Environment(str(h["env"]), fn, runtime, task_root, opt, ctx, provisioned=bool(h.get("provisioned")))
        self._envs[env.id] = env
        await env.start()
        failure = await env.wait_ready()
        if failure is None:
            self.send({"op": "ready", "id": rid, "init_ms": env.init_ms})
            return
        # Kept until the server names the invocation it fails (init_failure): its log is written here.
        self.send({"op": "ready", "id": rid, "error_type": failure.error_type, "init_ms": env.init_ms}, failure.body)

    async def _invoke(self, rid: int, h: dict[str, Any], payload: bytes) -> None:
        env = self._envs.get(str(h["env"]))
        if env is None:
            self.send({"op": "outcome", "id": rid, "gone": True})
            return
        try:
            outcome = await env.invoke(str(h["request_id"]), payload, function_arn=str(h["function_arn"]),
                                       client_context=h.get("client_context"), timeout_s=float(h["timeout_s"]))  # fmt: skip
        except EnvironmentGone:
            self._envs.pop(env.id, None)
            self.send({"op": "outcome", "id": rid, "gone": True})
            return
        result = outcome.result
        self.send({"op": "outcome", "id": rid, "error_type": result.error_type, "duration_ms": outcome.duration_ms,
                   "billed_ms": outcome.billed_ms, "reusable": outcome.reusable,
                   "finishing": outcome.finishing is not None,
                   "tail": base64.b64encode(outcome.log.value()).decode()}, result.body)  # fmt: skip
        if outcome.finishing is not None:
            await outcome.finishing
            self.send({"op": "finished", "env": env.id, "idle": env.state is EnvState.IDLE})
        if env.state is EnvState.DEAD:
            self._envs.pop(env.id, None)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        envs, self._envs = list(self._envs.values()), {}
        await asyncio.gather(*(env.stop() for env in envs), return_exceptions=True)
        self._writer.close()


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int) -> None:
    """One connection to Lamina's API from inside an environment, piped to the server's listener."""
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.close()
        return

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(RELAY_CHUNK):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                dst.write_eof() if dst.can_write_eof() else dst.close()

    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
    writer.close()
    up_writer.close()
