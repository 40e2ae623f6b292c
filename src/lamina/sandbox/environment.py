"""One local execution environment: a process tree running a function's runtime, with its own
Runtime API endpoint, network namespace, root filesystem, /tmp, memory limit and captured output.

It keeps the contract of ``provider.ExecutionEnvironment``: ``start`` spawns the process;
``wait_ready`` resolves once the runtime first asks for an event (init done) or returns the init
failure; ``invoke`` always returns an ``Outcome``; ``stop`` is safe to call twice and leaves no
process behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable
from pathlib import Path

from lamina import ids
from lamina.debug.session import DEBUGPY_NAME, PYTHON, DebugSpec, debugpy_package, family_of, runtime_variables
from lamina.metering.billing import billed_ms
from lamina.metering.recorder import Records
from lamina.model import FunctionConfig
from lamina.runtime import architecture
from lamina.runtime import constants as rc
from lamina.runtime import extensions as rx
from lamina.runtime import telemetry as rt
from lamina.runtime.api import Invocation, RuntimeApiEndpoint, RuntimeResult, platform_error_body
from lamina.runtime.families import Runtime
from lamina.errors import ApiError, LaminaError
from lamina.identity.principals import AccessKey, CredentialIssuer
from lamina.runtime.version_arn import runtime_version_arn, runtime_version_name
from lamina.runtime.startup import needs_fresh_process, wrapped
from lamina.runtime.variables import ON_DEMAND, PROVISIONED_CONCURRENCY, Placement, lambda_environment, outbound
from lamina.runtime.sdk import Sdks
from lamina.sandbox import credentials, debug_port, telemetry_delivery
from lamina.sandbox.cgroups import EnvCgroup
from lamina.sandbox import extension_phases as phases
from lamina.sandbox.extension_processes import BASH, external_extensions, launcher
from lamina.sandbox.isolation import Protections, UidPool
from lamina.sandbox.network import Namespace, NetworkPool
from lamina.sandbox import log_levels, platform_log
from lamina.sandbox.output import Tail, decode
from lamina.sandbox.output_pipe import OutputPipe
from lamina.sandbox.provider import EnvironmentGone, EnvState, Outcome
from lamina.sandbox.spawn import Process, Sandbox, Spawner, SpawnError, SpawnRequest
from lamina.store.base import SUCCESS, InvocationRecord, LogRecord

log = logging.getLogger(__name__)

MB = 1024 * 1024
# How long an invocation waits, after its result, for the runtime to ask for the next event.
RUNTIME_TURNAROUND_S = 2.0
# In the work directory: where each fork server mounts the fixed part of sandboxed roots, in its own
# mount namespace (the directory stays empty on the host).
TEMPLATE_DIR = ".root"
SANDBOX_TASK_ROOT = Path("/var/task")  # where a sandboxed environment sees its code, as on Lambda


@dataclass(frozen=True)
class EnvironmentContext:
    """What every environment needs from the server: shared, read-only."""

    host: str
    region: str
    work_dir: Path
    max_response_bytes: int
    init_timeout_s: float
    recorder: Records
    protections: Protections
    uids: UidPool
    spawner: Spawner
    kept: tuple[Path, ...]  # what a sandboxed environment sees, read-only, besides its runtime's own directories
    network: NetworkPool | None = None  # where sandboxed environments' network namespaces come from
    outbound: bool = True  # whether environments reach the network beyond their loopback, unless a function says
    serve_api: ServeApi | None = None  # serves Lamina's API to an environment on a listener inside its namespace
    max_pids: int = 1024  # processes and threads per environment, as on Lambda
    # Gives each environment its execution role's credentials (sandbox/credentials.py); None: none.
    credentials: CredentialIssuer | None = None
    # Lamina's API as an environment without a network namespace of its own reaches it (an
    # environment in one reaches it at 127.0.0.1:<Lamina's port> inside it): its AWS_ENDPOINT_URL.
    api_url: str | None = None
    sdks: Sdks | None = None  # the AWS SDKs the runtimes carry (runtime/sdk), if installed
    # How an environment of a function is debugged (``lamina dev --debug``: debug/service.py), or None.
    debugging: Callable[[FunctionConfig], DebugSpec | None] | None = None


# Serve Lamina's API as environments see it (api/app.py's ``for_environments``) on a listener inside
# an environment's namespace.
ServeApi = Callable[[socket.socket], Awaitable[asyncio.AbstractServer]]


class Environment:
    """One execution environment. A ``provisioned`` one is initialised ahead of time for provisioned
    concurrency: its runtime sees ``AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency`` and its
    invocations report no ``Init Duration`` (no invocation waited for its init)."""

    def __init__(
        self, env_id: str, fn: FunctionConfig, runtime: Runtime, task_root: Path, opt: Path | None, ctx: EnvironmentContext,
        *, provisioned: bool = False,
    ) -> None:
        self.id = env_id
        self.provisioned = provisioned
        self.fn = fn
        self._kept = log_levels.application_filter(fn.logging)  # ApplicationLogLevel's filter
        self.runtime = runtime
        self.task_root = task_root
        self.opt = opt  # the function's layers, merged: mounted at /opt in its sandbox
        self.ctx = ctx
        self.state = EnvState.STARTING
        self.last_used = time.monotonic()
        self.retire_at: float | None = None  # time.monotonic() past which it takes no invocation (credentials.py)
        self.init_ms: float | None = None
        self.log_stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{fn.version}]{env_id}"
        self._dir = ctx.work_dir / env_id
        self._endpoint: RuntimeApiEndpoint | None = None
        self._process: Process | None = None
        self._output: OutputPipe | None = None  # the runtime's stdout and stderr
        self._extension_output: OutputPipe | None = None  # its external extensions' (extension_processes.py)
        self._lines: Tail | None = None  # the end of the current invocation's log, when one runs
        self._qualifier: str | None = None  # the current invocation's, as invoked (its usage record's)
        self._init_lines = Tail()  # the end of what the runtime printed while initialising
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._cgroup: EnvCgroup | None = None
        self._uid: int | None = None
        self._pids_refused = False
        self._started = 0.0
        self._reported_init = provisioned  # a provisioned environment's init is no invocation's
        self._spawn_error = ""
        self._final_peak_mb = 0
        self._netns: Namespace | None = None
        self._api: asyncio.AbstractServer | None = None  # Lamina's API inside its network namespace
        self._spawn_error_type = rc.ERROR_INVALID_ENTRYPOINT
        self._external: frozenset[str] = frozenset()  # the external extensions it starts (extension_processes.py)
        self._shutdown_reason = rx.SPINDOWN  # what its extensions' SHUTDOWN event will say
        self._extension_states: list[tuple[str, str, list[str]]] = []  # each one's as init ended
        self._delivery: telemetry_delivery.Delivery | None = None  # to Telemetry and Logs API subscribers
        debug = ctx.debugging(fn) if ctx.debugging is not None else None
        # Started with a debug adapter listening (debug_port.py): at _debug_port, on its own loopback.
        self.debug = debug if debug is not None and debug.family == family_of(fn.runtime) else None
        self._debug_port: int | None = None
        self._debugger = debug_port.DebuggerClock() if self.debug is not None else None
        # Told when its process exits while it is lent to the native data plane (scheduler/lending.py).
        self.on_lent_exit: Callable[[Environment], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._init_start()
        sandbox = None
        task_root = self.task_root  # where the code is, as the function sees it
        self._endpoint = RuntimeApiEndpoint(
            max_response_bytes=self.ctx.max_response_bytes, before_result=self._drain_init, on_fetch=self._on_fetch,
            extensions=self._make_extensions,
        )
        self._external = external_extensions(self.opt)
        key: AccessKey | None = None
        if self.ctx.credentials is not None:
            try:
                key = await credentials.issue(self.ctx.credentials, self.fn)
            except ApiError as exc:  # as Lambda words it; the issuer's reason follows
                self._fail_to_start(f"The role defined for the function cannot be assumed by Lambda. {exc.message}",
                                    rc.ERROR_UNKNOWN)  # fmt: skip
                return
            lifetime = credentials.lifetime(key, datetime.now(timezone.utc))
            if lifetime is not None:
                self.retire_at = time.monotonic() + lifetime
        api_url = self.ctx.api_url
        if self.ctx.protections.namespaces:
            try:
                runtime_api = await self._enter_network()
            except (OSError, LaminaError) as exc:  # no namespace, no environment: never one on the host's network
                self._fail_to_start(f"Couldn't prepare the environment's network: {exc}")
                return
            self._uid = self.ctx.uids.take()
            assert self._netns is not None
            seccomp = self.ctx.protections.seccomp
            # Lamina's interpreter and the runtime's are often one installation: bound once.
            keep, template = tuple(dict.fromkeys(self.ctx.kept + self.runtime.keep)), self.ctx.work_dir / TEMPLATE_DIR
            sandbox = Sandbox(self._uid, self.task_root, keep, template, self.fn.ephemeral_mb, self.opt,
                              netns_fd=self._netns.fd, seccomp=seccomp.program if seccomp else None,
                              runtime=self._runtime_files())  # fmt: skip
            task_root, placement = SANDBOX_TASK_ROOT, Placement.sandboxed()
            api_url = None
            if self._netns.api is not None and self.ctx.serve_api is not None:
                api_url = "http://127.0.0.1:%d" % self._netns.api.getsockname()[1]
        else:
            tmp = self._dir / "tmp"  # the host's /tmp is shared: its TMPDIR is a directory of its own
            tmp.mkdir(parents=True)
            runtime_api = f"{self.ctx.host}:{await self._endpoint.start(self.ctx.host)}"
            sdk_modules = self.ctx.sdks.node_modules if self.ctx.sdks is not None else None
            placement = Placement.on_host(self.runtime, task_root, sdk_modules if sdk_modules and sdk_modules.is_dir() else None)
        try:
            argv = self._command(task_root, placement.runtime_dir, sandboxed=sandbox is not None)
            if self._external:
                assert self.opt is not None
                argv = launcher("/opt/extensions" if sandbox is not None else str(self.opt / "extensions"), argv,
                                bash=os.access(BASH, os.X_OK))  # the sandbox's /bin is the host's
        except SpawnError as exc:
            self._fail_to_start(str(exc))
            return
        env = lambda_environment(
            self.fn, self.runtime, placement=placement, runtime_api=runtime_api,
            log_stream=self.log_stream, region=self.ctx.region,
            initialization_type=PROVISIONED_CONCURRENCY if self.provisioned else ON_DEMAND,
        )  # fmt: skip
        if sandbox is None:
            env.setdefault("TMPDIR", str(tmp))
        for name, value in credentials.variables(key, api_url).items():
            if name == "AWS_ENDPOINT_URL":
                env.setdefault(name, value)  # a function may point its SDK elsewhere
            else:
                env[name] = value
        if self.ctx.sdks is not None:
            runtime_dir = placement.runtime_dir if sandbox is not None else None
            env.update(self.ctx.sdks.variables(self.runtime.family, self.fn.runtime, runtime_dir=runtime_dir))
        if self.debug is not None:
            env.update(self._debug_variables(placement.runtime_dir if sandbox is not None else None))
        if self.ctx.protections.cgroups.bases:
            try:
                self._cgroup = await self._make_cgroup()
            except OSError as exc:
                log.warning("environment %s runs without its cgroups: %s", self.id, exc)
        read_fd, write_fd = os.pipe()
        # External extensions write to a pipe of their own: their lines are told from the function's.
        ext_read, ext_write = os.pipe() if self._external else (-1, -1)
        self._started = time.monotonic()
        request = SpawnRequest(
            argv=argv, cwd=task_root, env=env, output_fd=write_fd,
            cgroup_procs=self._cgroup.procs if self._cgroup is not None else (), sandbox=sandbox,
            rlimits=self._rlimits(), extension_output_fd=ext_write if ext_write >= 0 else None,
        )  # fmt: skip
        # A function whose variables a forked interpreter could not honour starts a fresh one; so
        # does one with external extensions (its command is their launcher's).
        forked = not needs_fresh_process(self.runtime.family, self.fn.environment) and not self._external
        try:
            self._process = await self.ctx.spawner.spawn(request, python=self.runtime.zygote_python if forked else None)
        except SpawnError as exc:
            for fd in (read_fd, ext_read):
                if fd >= 0:
                    os.close(fd)
            self._fail_to_start(f"Couldn't start the runtime: {exc}")
            return
        finally:
            for fd in (write_fd, ext_write):
                if fd >= 0:
                    os.close(fd)
        budget = self.ctx.recorder.limits.invocation_bytes
        self._output = OutputPipe(read_fd, budget, lambda lines: self._emit_output(lines, rt.FUNCTION))
        if ext_read >= 0:
            self._extension_output = OutputPipe(ext_read, budget, lambda lines: self._emit_output(lines, rt.EXTENSION))
        self._process.exited.add_done_callback(self._on_exit)

    def _init_start(self) -> None:
        """The init phase's first log line (INIT_START, or platform.initStart), naming the runtime's version."""
        now_ms = time.time() * 1000
        line = platform_log.init_start(
            self.fn.logging, runtime_version=runtime_version_name(self.fn.runtime),
            runtime_version_arn=runtime_version_arn(self.ctx.region, self.fn.runtime),
            initialization_type=PROVISIONED_CONCURRENCY if self.provisioned else ON_DEMAND,
            function=self.fn.name, version=self.fn.version, now_ms=now_ms,
        )  # fmt: skip
        if line is not None:
            self._emit(line, int(now_ms))

    async def _make_cgroup(self) -> EnvCgroup:
        """The environment's cgroups, made on a worker thread: on cgroup v1 a mkdir waits for the
        kernel's cgroup lock, which every process joining a cgroup holds for a while (an RCU grace
        period), so in a burst of cold starts it would stall the event loop. If ``start`` is
        cancelled meanwhile, what was made is removed once it is made."""
        cgroups = self.ctx.protections.cgroups
        making = asyncio.ensure_future(asyncio.to_thread(
            cgroups.create, self.id, memory_bytes=self.fn.memory_mb * MB, max_pids=self.ctx.max_pids,
            cpu_weight=self.fn.memory_mb,
        ))  # fmt: skip
        try:
            return await asyncio.shield(making)
        except asyncio.CancelledError:
            making.add_done_callback(_remove_cgroup)
            raise

    async def _enter_network(self) -> str:
        """Take a network namespace of the environment's own; serve its Runtime API and Lamina's API on the
        listeners inside it. Returns the Runtime API's address as the environment sees it."""
        assert self._endpoint is not None and self.ctx.network is not None
        self._netns = await self.ctx.network.take(outbound=outbound(self.fn, self.ctx.outbound))
        await self._endpoint.start_on(self._netns.runtime_api)
        if self._netns.api is not None and self.ctx.serve_api is not None:
            self._api = await self.ctx.serve_api(self._netns.api)
        host, port = self._netns.runtime_api.getsockname()[:2]
        return f"{host}:{port}"

    def _rlimits(self) -> dict[str, tuple[int, int]]:
        """As on Lambda, 1,024 open files; and no file larger than its ephemeral storage, wherever it
        is written. The limit is a megabyte past /tmp's size so that filling /tmp still ends with
        ENOSPC, as on Lambda, and not EFBIG with a SIGXFSZ that kills runtimes which do not ignore it."""
        size = (self.fn.ephemeral_mb + 1) * MB
        return {"nofile": (1024, 1024), "fsize": (size, size)}

    def _runtime_files(self) -> dict[str, str]:
        """What the sandboxed environment sees in /var/runtime, by name: the runtime's files and its SDK."""
        files = dict(self.runtime.files)
        if self.ctx.sdks is not None:
            files.update(self.ctx.sdks.files(self.runtime.family, self.fn.runtime))
        debugpy = debugpy_package() if self.debug is not None and self.debug.family == PYTHON else None
        if debugpy is not None:
            files[DEBUGPY_NAME] = debugpy
        return {name: str(path) for name, path in files.items()}

    # -- debugging (lamina dev --debug) ------------------------------------------------------

    def _debug_variables(self, runtime_dir: str | None) -> dict[str, str]:
        """What tells the runtime to listen for a debugger: in a namespace of its own at the family's
        usual port, else at a port free on the host; debugpy from /var/runtime (``_runtime_files``),
        else from where Lamina has it."""
        assert self.debug is not None
        self._debug_port = self.debug.inner_port if runtime_dir is not None else debug_port.free_port()
        package = debugpy_package() if self.debug.family == PYTHON else None
        where = None if package is None else runtime_dir or str(package.parent)
        return runtime_variables(self.debug, self._debug_port, where)

    async def debugger_socket(self) -> socket.socket:
        """A socket connected to the debug adapter inside the environment (``debug/forwarder.py``),
        once it listens; OSError if the environment is not debugged or has exited."""
        port = self._debug_port
        if port is None:
            raise OSError(f"environment {self.id} has no debug adapter")
        network = self.ctx.network if self.ctx.protections.namespaces else None

        async def make() -> socket.socket | None:
            if network is None:
                return socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
            return await network.socket_in(self._netns) if self._netns is not None else None

        return await debug_port.connect(port, make, self._exited)

    def debugger(self, attached: bool) -> None:
        """A debugger attached or detached: its timeouts are held meanwhile (debug_port.py)."""
        if self._debugger is not None:
            self._debugger.set(attached)

    async def gone(self) -> None:
        """Returns once the environment's process has exited."""
        await asyncio.shield(self._exited)

    def _command(self, task_root: Path, runtime_dir: str, *, sandboxed: bool) -> list[str]:
        """The runtime's command as the environment sees it (its code at ``task_root``, the runtime's
        files at ``runtime_dir``).

        A custom runtime's ``bootstrap`` comes from the code, else from a layer (``/opt``), as on
        Lambda; ``SpawnError`` if neither has an executable one.
        """
        if self.runtime.family != "provided":
            return wrapped(self.runtime.family, self.fn.environment, self.runtime.command(task_root, runtime_dir))
        candidates = [(self.task_root / "bootstrap", task_root / "bootstrap")]
        if self.opt is not None:
            candidates.append((self.opt / "bootstrap", Path("/opt/bootstrap") if sandboxed else self.opt / "bootstrap"))
        for on_host, seen in candidates:
            if os.access(on_host, os.X_OK) and on_host.is_file():
                return self._emulated(on_host, str(seen))
        raise SpawnError("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")

    def _emulated(self, on_host: Path, seen: str) -> list[str]:
        """A custom runtime's bootstrap as the function's architecture runs it on this host
        (runtime/architecture.py); ``SpawnError`` with Lambda's words if it is built for another."""
        arch = self.fn.architectures[0] if self.fn.architectures else architecture.X86_64
        try:
            with open(on_host, "rb") as f:
                header = f.read(64)
        except OSError as exc:
            raise SpawnError(f"fork/exec {seen}: {exc.strerror}") from exc
        if architecture.mismatch(arch, header):
            raise SpawnError(f"fork/exec {seen}: {architecture.EXEC_FORMAT_ERROR}")
        if architecture.elf_architecture(header) is None:
            return [seen]  # a script: its interpreter is the host's
        emulation = architecture.find(arch)
        if emulation is None:
            raise SpawnError(f"fork/exec {seen}: {architecture.EXEC_FORMAT_ERROR} "
                             f"(this host does not run {arch} executables: install {architecture.emulator_name(arch)})")  # fmt: skip
        return emulation.command([seen])

    def _fail_to_start(self, message: str, error_type: str = rc.ERROR_INVALID_ENTRYPOINT) -> None:
        self._spawn_error = message
        self._spawn_error_type = error_type
        self._emit(message)
        self._exited.set_result(127)

    async def wait_ready(self) -> RuntimeResult | None:
        """None once the runtime is initialised; otherwise the init failure, as a function error."""
        assert self._endpoint is not None or self._exited.done()
        waiters: list[asyncio.Future[object]] = [self._exited]  # type: ignore[list-item]
        if self._endpoint is not None:
            waiters += [self._endpoint.ready, self._endpoint.init_error]  # type: ignore[list-item]
        watch = None
        if self._external and self._process is not None:  # one that exits before registering ends init
            watch = asyncio.ensure_future(self._watch_registrations())
            waiters.append(watch)  # type: ignore[arg-type]
        if self._debugger is not None:  # no init timeout while a debugger is attached, or awaited
            await self._debugger.wait(waiters, None if self.debug and self.debug.wait else self.ctx.init_timeout_s)
        else:
            await asyncio.wait(waiters, timeout=self.ctx.init_timeout_s, return_when=asyncio.FIRST_COMPLETED)
        extension_failure = None
        if watch is not None:
            watch.cancel()
            if watch.done() and not watch.cancelled() and watch.result() is not None:
                extension_failure = watch.result()
        if extension_failure is None and self._endpoint is not None and self._endpoint.ready.done() and not self._exited.done():
            extension_failure = await self._extensions_ready()
        self.init_ms = (time.monotonic() - self._started) * 1000
        ready = extension_failure is None and self._endpoint is not None and self._endpoint.ready.done() and not self._exited.done()
        failure = None if ready else self._init_failure(extension_failure)
        self._init_end(failure)
        if failure is None:
            self.state = EnvState.IDLE
            return None
        self._final_peak_mb = self._peak_memory_mb()  # before its cgroup goes
        await self.stop()
        return failure

    def _init_failure(self, extension_failure: RuntimeResult | None) -> RuntimeResult:
        """Why an environment that is not ready failed its init, as the invocation's error."""
        if extension_failure is not None:
            self._shutdown_reason = rx.FAILURE
            return extension_failure
        if self._spawn_error:
            return RuntimeResult(platform_error_body(self._spawn_error_type, self._spawn_error), self._spawn_error_type)
        if self._endpoint is not None and self._endpoint.init_error.done():
            return self._endpoint.init_error.result()
        if self._exited.done():
            self._drain()  # what it printed before it exited comes before the init's end
            return self._exit_failure("")
        message = f"Init timed out after {self.ctx.init_timeout_s:.2f} seconds"
        return RuntimeResult(platform_error_body(rc.ERROR_INIT_TIMEOUT, message), rc.ERROR_INIT_TIMEOUT)

    def _init_end(self, failure: RuntimeResult | None) -> None:
        """The init phase's last log records (platform.initRuntimeDone and platform.initReport, with
        JSON logs) and its telemetry records, once it ended (``failure``: how, if it failed)."""
        now_ms = time.time() * 1000
        init_type = PROVISIONED_CONCURRENCY if self.provisioned else ON_DEMAND
        error_type = failure.error_type if failure is not None else None
        done = platform_log.init_runtime_done(self.fn.logging, initialization_type=init_type, error_type=error_type,
                                              now_ms=now_ms)  # fmt: skip
        report = platform_log.init_report(self.fn.logging, initialization_type=init_type, error_type=error_type,
                                          duration_ms=self.init_ms or 0.0, now_ms=now_ms)  # fmt: skip
        for line in (done, report):
            if line is not None:
                self._emit(line, int(now_ms))
        telemetry = self._telemetry
        if telemetry is not None:
            self._telemetry_init(telemetry, "success" if failure is None else "error")
            telemetry.end_init()

    async def stop(self) -> None:
        """Kill the process tree and release everything; safe to call twice. Extensions registered
        for SHUTDOWN get it first, and until their limit to finish (runtime/extensions.py)."""
        self.state = EnvState.DEAD
        if self._endpoint is not None and self._endpoint.extensions is not None:
            await phases.shut_down(self._endpoint.extensions, self._process, self._exited, self._shutdown_reason)
            if self._endpoint.extensions.telemetry is not None:
                await self._endpoint.extensions.telemetry.close(telemetry_delivery.SEND_S)
        if self._delivery is not None:
            self._delivery.close()
        if self._process is not None:
            self._process.kill()
            if not self._exited.done():
                await asyncio.wait([self._exited], timeout=5)
            self._process.kill()  # whatever the runtime left in its process group
        for pipe in (self._output, self._extension_output):
            if pipe is not None:
                pipe.close()
        if self._endpoint is not None:
            await self._endpoint.stop()
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._netns is not None:
            self._netns.close()
            self._netns = None
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None
        if self._uid is not None and (self._process is None or self._exited.done()):
            self.ctx.uids.give_back(self._uid)  # its processes are gone: the uid is free
            self._uid = None
        if self._dir.exists():
            await asyncio.to_thread(shutil.rmtree, self._dir, True)

    # -- invoking --------------------------------------------------------------------------

    async def invoke(
        self, request_id: str, payload: bytes, *, function_arn: str, client_context: str | None = None,
        timeout_s: float,
    ) -> Outcome:
        """Run one invocation; raises ``EnvironmentGone`` if the runtime exited before it took the event."""
        assert self._endpoint is not None
        if self.retire_at is not None and time.monotonic() >= self.retire_at:
            self.state = EnvState.DEAD  # its credentials' time is up: a new environment runs it
        if self._exited.done() or self.state is not EnvState.IDLE:
            raise EnvironmentGone(self.id)
        self.state = EnvState.BUSY
        # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        self._qualifier = function_arn.split(":", 7)[7] if function_arn.count(":") == 7 else None
        now = time.time()
        inv = Invocation(
            request_id=request_id, payload=payload, deadline_ms=int(now * 1000) + int(timeout_s * 1000),
            function_arn=function_arn, trace_id=ids.trace_id(now, sampled=self.fn.tracing_mode == "Active"), client_context=client_context,
        )  # fmt: skip
        started = time.monotonic()
        self._endpoint.deliver(inv)
        extensions = self._endpoint.extensions
        if extensions is not None:
            extensions.deliver(rx.INVOKE, rx.invoke_event(inv.request_id, inv.deadline_ms, inv.function_arn, inv.trace_id))
        if self._debugger is not None:  # held while a debugger is attached
            await self._debugger.wait([inv.result, self._exited], timeout_s)
        else:
            await _first_of(inv.result, self._exited, timeout=timeout_s)
        return await self._conclude(inv, started, timeout_s, extensions)

    async def _conclude(self, inv: Invocation, started: float, timeout_s: float,
                        extensions: rx.Extensions | None) -> Outcome:  # fmt: skip
        """The invocation once its result came, its runtime exited or its time is up."""
        assert self._endpoint is not None
        duration_ms = (time.monotonic() - started) * 1000
        reusable = True
        if not inv.result.done() and self._exited.done() and not self._endpoint.fetched:
            # It ended after its last invocation (a runtime may exit once it reported an error),
            # before this one began: another environment will run it.
            self._endpoint.finish()
            self.state = EnvState.DEAD
            raise EnvironmentGone(self.id)
        if self._lines is None:  # it never took the event (stuck, or gone): the log still starts
            self._on_fetch(inv)
        if inv.result.done():
            result = inv.result.result()
            # The invocation ends when the runtime asks for its next event: what it prints until
            # then (a runtime may log an error after reporting it) is still this invocation's.
            asked = self._endpoint.asked_for_next()
            if not asked.done():  # often it asked already, by the time this resumes
                await _first_of(asked, self._exited, timeout=RUNTIME_TURNAROUND_S)
            self._drain()
            if extensions is not None and not extensions.settled() and not self._exited.done():
                return self._answer_early(inv, result, started, timeout_s, extensions)
            if extensions is not None and not await self._extensions_done(extensions, started + timeout_s):
                reusable = False
            if self._exited.done():
                reusable = False  # it reported, then exited: the next invocation needs another
        elif self._exited.done():
            self._drain()
            result = self._exit_failure(inv.request_id)
            reusable = False
        else:
            message = f"Task timed out after {timeout_s:.2f} seconds"
            self._fault(f"{_timestamp()} {inv.request_id} {message}")
            result = RuntimeResult(platform_error_body(rc.ERROR_TIMEOUT, f"RequestId: {inv.request_id} Error: {message}"),
                                   rc.ERROR_TIMEOUT)  # fmt: skip
            reusable = False
        return self._end_invocation(inv.request_id, result, duration_ms, reusable)

    def _end_invocation(
        self, request_id: str, result: RuntimeResult, duration_ms: float, reusable: bool, *,
        runtime_ms: float | None = None, status: str | None = None,
    ) -> Outcome:  # fmt: skip
        """The invoke phase's end: END and REPORT written, the environment idle again or dead."""
        assert self._endpoint is not None
        self._endpoint.finish()
        self._flush_partial()
        if self._cgroup is not None and not self._pids_refused and self._cgroup.pids_limited():
            self._pids_refused = True
            self._emit(f"Lamina: the function reached its limit of {self.ctx.max_pids} processes and threads; "
                       "starting more failed")  # fmt: skip
        peak_mb = self._peak_memory_mb()
        if reusable and peak_mb > self.fn.memory_mb:
            # No cgroup enforced the limit while it ran: enforce it now, after the fact.
            result = self._out_of_memory(request_id)
            reusable = False
        if not reusable and self._shutdown_reason == rx.SPINDOWN:
            timed_out = result.error_type == rc.ERROR_TIMEOUT or status == "timeout"
            self._shutdown_reason = rx.TIMEOUT if timed_out else rx.FAILURE
        outcome = self._report(request_id, result, duration_ms, peak_mb, reusable, runtime_ms=runtime_ms, status=status)
        self.state = EnvState.IDLE if reusable else EnvState.DEAD
        self.last_used = time.monotonic()
        return outcome

    # -- lent to the native data plane (scheduler/lending.py) ------------------------------

    def lendable(self) -> bool:
        """Whether it may be lent: idle, alive, within its credentials' time, without extensions, not
        debugged (its debugger holds its timeout), its runtime waiting for an event on its one
        connection (framed, or HTTP/1.1 kept alive)."""
        return (self.state is EnvState.IDLE and not self._exited.done() and not self._external and self.debug is None
                and self._extension_output is None and self._output is not None and self._endpoint is not None
                and (self.retire_at is None or time.monotonic() < self.retire_at - 1.0)
                and self._endpoint.lendable())  # fmt: skip

    def lend(self, recall: Callable[[], None]) -> tuple[int, int, bool]:
        """Its Runtime API connection's descriptor (the data plane's from now on), its output pipe's
        (still its own, read by the plane meanwhile), and whether the connection speaks HTTP (else
        frames); it is LENT until taken back. ``recall`` asks for it back at once (its runtime
        opened another connection)."""
        assert self._endpoint is not None and self._output is not None
        self.state = EnvState.LENT
        sock, http = self._endpoint.lend(recall)
        return sock, self._output.lend(), http

    async def take_back(self, sock: socket.socket, data: bytes, *, waiting: bool) -> None:
        """Lent no more: its connection served here again, idle (or dead, if its process ended)."""
        assert self._endpoint is not None and self._output is not None
        self._output.resume()
        await self._endpoint.take_back(sock, data, waiting=waiting)
        if self.state is EnvState.LENT:
            self.state = EnvState.DEAD if self._exited.done() else EnvState.IDLE

    def _native_start(self, request_id: str, function_arn: str, start: float, before: bytes, output: bytes) -> None:
        """An invocation the data plane ran, from its start: what was printed before it (nobody's),
        START at ``start``, and what it printed since."""
        assert self._output is not None
        self.state = EnvState.BUSY
        self._qualifier = function_arn.split(":", 7)[7] if function_arn.count(":") == 7 else None
        self._output.feed(before)
        self._end_budget()
        self._start_log(request_id, start * 1000)
        self._output.feed(output)

    def native_done(self, request_id: str, function_arn: str, start: float, duration_ms: float, error_type: str | None,
                    before: bytes, output: bytes, result: bytes = b"") -> Outcome:  # fmt: skip
        """Its bookkeeping for an invocation the data plane ran: the log, END and REPORT, the usage
        record, as ``invoke`` writes them; ``result``: the runtime's (for an invocation Python
        started, whose outcome carries it). It stays LENT if it may be reused."""
        self._native_start(request_id, function_arn, start, before, output)
        outcome = self._end_invocation(request_id, RuntimeResult(result, error_type), duration_ms, True)
        if self.state is EnvState.IDLE:
            self.state = EnvState.LENT
        return outcome

    async def resume(self, request_id: str, function_arn: str, start: float, elapsed_ms: float, deadline_ms: int,
                     trace_id: str, before: bytes, output: bytes, sock: socket.socket, data: bytes,
                     timeout_s: float) -> Outcome:  # fmt: skip
        """An invocation the data plane began and gives back (its time is up, its runtime's
        connection ended, or something it does not read came), ended as ``invoke`` ends its own."""
        assert self._endpoint is not None and self._output is not None
        self._native_start(request_id, function_arn, start, before, output)
        self._output.resume()
        inv = Invocation(request_id=request_id, payload=b"", deadline_ms=deadline_ms, function_arn=function_arn,
                         trace_id=trace_id)  # fmt: skip
        await self._endpoint.take_back(sock, data, waiting=False, current=inv)
        started = time.monotonic() - elapsed_ms / 1000
        await _first_of(inv.result, self._exited, timeout=max(0.0, started + timeout_s - time.monotonic()))
        return await self._conclude(inv, started, timeout_s, None)

    # -- extensions ------------------------------------------------------------------------

    def _answer_early(
        self, inv: Invocation, result: RuntimeResult, started: float, timeout_s: float, extensions: rx.Extensions
    ) -> Outcome:
        """The runtime's result, for the caller at once, as Lambda answers it; the invoke phase goes on
        until every extension called next again (at most until the function's timeout), and only then
        are END and REPORT written, the invocation billed and the environment free for another."""
        runtime_ms = (time.monotonic() - started) * 1000
        telemetry = self._telemetry
        if telemetry is not None:  # extensions often wait for it before they call next
            self._runtime_done(telemetry, inv.request_id, "success" if result.error_type is None else "error",
                               runtime_ms, time.time() * 1000)  # fmt: skip
        answered = Tail()
        if self._lines is not None:
            answered.extend(self._lines)
        finishing = asyncio.get_running_loop().create_task(
            self._finish_invocation(inv.request_id, result, started, timeout_s, runtime_ms, extensions),
            name=f"invoke phase of {self.id} ({inv.request_id})",
        )  # fmt: skip
        return Outcome(result, answered, runtime_ms, billed_ms(runtime_ms), True, finishing=finishing)

    async def _finish_invocation(
        self, request_id: str, result: RuntimeResult, started: float, timeout_s: float, runtime_ms: float,
        extensions: rx.Extensions,
    ) -> None:  # fmt: skip
        failed = await phases.invocation(extensions, self._exited, started + timeout_s)
        self._drain()  # what the extensions printed until then is the invocation's
        if failed is not None:
            self._emit(failed.message)
        reusable = failed is None and not self._exited.done() and self.state is EnvState.BUSY
        status = "timeout" if failed is not None and failed.error_type == phases.EXTENSION_TIMEOUT else None
        duration_ms = (time.monotonic() - started) * 1000
        self._end_invocation(request_id, result, duration_ms, reusable, runtime_ms=runtime_ms, status=status)

    def _make_extensions(self) -> rx.Extensions:
        account = self.fn.role.split(":")[4] if self.fn.role.count(":") >= 5 else ""
        identity = rx.FunctionIdentity(self.fn.name, self.fn.version, self.fn.handler, account)
        if self._delivery is None:
            network = self.ctx.network if self._netns is not None else None
            self._delivery = telemetry_delivery.Delivery(network=network, namespace=self._netns, host=self.ctx.host)
        return rx.Extensions(identity, self._external, rt.Telemetry(self._delivery.send))

    @property
    def _telemetry(self) -> rt.Telemetry | None:
        extensions = self._endpoint.extensions if self._endpoint is not None else None
        return extensions.telemetry if extensions is not None else None

    def _telemetry_init(self, telemetry: rt.Telemetry, status: str) -> None:
        """The init phase's platform records, once init is over (kept for subscribers to come)."""
        now_ms = time.time() * 1000
        for kind, record, at_ms in rt.init_records(
            self.fn.name, self.fn.version, runtime_version_name(self.fn.runtime),
            runtime_version_arn(self.ctx.region, self.fn.runtime),
            provisioned=self.provisioned, status=status, init_ms=self.init_ms or 0.0, now_ms=now_ms,
            extensions=self._extension_states,
        ):  # fmt: skip
            telemetry.emit(kind, record, at_ms)

    async def _extensions_ready(self) -> RuntimeResult | None:
        """Once the runtime is ready: wait (within the init timeout) until every external extension
        registered and every registered one called next; then close registration. The init
        failure, if one reported an error, exited, or they did not finish in time."""
        assert self._endpoint is not None
        if not self._external and self._endpoint.extensions is None:
            return None  # no extension: nothing to wait for
        extensions = self._endpoint.extensions
        if extensions is None:
            extensions = self._endpoint.extensions = self._make_extensions()
        outcome = await phases.init(extensions, self._process, self._exited, self._started + self.ctx.init_timeout_s,
                                    self.ctx.init_timeout_s)  # fmt: skip
        self._drain()  # what they printed while initialising comes first
        for ext in extensions.by_id.values():  # as Lambda logs each extension's registration
            state = "Ready" if ext.idle else ("InitError" if extensions.failed else "Registered")
            events = sorted(ext.events)
            self._emit(f"EXTENSION\tName: {ext.name}\tState: {state}\tEvents: [{','.join(events)}]")
            self._extension_states.append((ext.name, state, events))
        if outcome is None or self._exited.done():
            return None  # ready; or reported as the runtime's exit
        self._drain()
        self._emit(outcome.detail or outcome.message)
        return RuntimeResult(platform_error_body(outcome.error_type, outcome.message), outcome.error_type)

    async def _watch_registrations(self) -> RuntimeResult | None:
        assert self._endpoint is not None and self._process is not None
        crash = await phases.watch_registrations(self._endpoint, self._process, self._exited, self._external)
        self._drain()
        self._emit(crash.message)
        return RuntimeResult(platform_error_body(crash.error_type, crash.message), crash.error_type)

    async def _extensions_done(self, extensions: rx.Extensions, deadline: float) -> bool:
        failed = await phases.invocation(extensions, self._exited, deadline)
        if failed is not None:
            self._emit(failed.message)
        return failed is None

    def _on_fetch(self, inv: Invocation) -> None:
        self._drain()  # what it printed before belongs to no invocation
        self._end_budget()  # and had a budget of its own
        self._start_log(inv.request_id)

    def init_failure_outcome(self, request_id: str, failure: RuntimeResult) -> Outcome:
        """The outcome of an invocation whose environment failed to initialise: the init error and log.
        An entrypoint that could not be started is reported as Lambda words it, naming the request
        ("RequestId: ... Error: fork/exec /var/task/bootstrap: exec format error")."""
        if self._spawn_error and failure.error_type == rc.ERROR_INVALID_ENTRYPOINT:
            message = f"RequestId: {request_id} Error: {self._spawn_error}"
            failure = RuntimeResult(platform_error_body(rc.ERROR_INVALID_ENTRYPOINT, message), rc.ERROR_INVALID_ENTRYPOINT)
        self._start_log(request_id)
        assert self._lines is not None
        self._lines.extend(self._init_lines)
        # Its duration is the init's own: billed once, not again as an init.
        return self._report(request_id, failure, self.init_ms or 0.0, self._final_peak_mb, False, init_billed=False)

    def _start_log(self, request_id: str, now_ms: float | None = None) -> None:
        now_ms = time.time() * 1000 if now_ms is None else now_ms
        start = platform_log.start(self.fn.logging, request_id, self.fn.version, now_ms)
        self._lines = Tail()
        if start is not None:
            self._lines.append(start)
            self._emit_record(start, int(now_ms))
        telemetry = self._telemetry
        if telemetry is not None:
            telemetry.emit("platform.start", {"requestId": request_id, "version": self.fn.version}, now_ms)

    def _report(
        self, request_id: str, result: RuntimeResult, duration_ms: float, peak_mb: int, reusable: bool, *,
        runtime_ms: float | None = None, status: str | None = None, init_billed: bool = True,
    ) -> Outcome:  # fmt: skip
        """END and REPORT, the telemetry's platform records and the usage record. ``duration_ms`` is
        the invoke phase's (billed), ``runtime_ms`` the runtime's alone when extensions went on after
        it (platform.runtimeDone's); ``status`` overrides the result's ("timeout": extensions overran).
        The first invocation of an on-demand environment is billed its init too, as Lambda bills
        since August 2025 (a provisioned environment's init is the provisioned concurrency's)."""
        init_ms = None
        if not self._reported_init and self.init_ms is not None:
            init_ms = self.init_ms
            self._reported_init = True
        billed = billed_ms(duration_ms, init_ms if init_billed else None)
        self._end_budget()
        now_ms = time.time() * 1000
        runtime_status = "success" if result.error_type is None else "error"
        end = platform_log.end(self.fn.logging, request_id, runtime_status,
                               duration_ms if runtime_ms is None else runtime_ms, now_ms)  # fmt: skip
        status = status or runtime_status
        report = platform_log.report(
            self.fn.logging, request_id, status, duration_ms=duration_ms, billed_ms=billed,
            memory_mb=self.fn.memory_mb, max_memory_used_mb=peak_mb, init_ms=init_ms, now_ms=now_ms,
        )  # fmt: skip
        for line in (end, report):
            if line is not None:
                self._emit(line, int(now_ms))
        telemetry = self._telemetry
        if telemetry is not None:
            if runtime_ms is None:  # else sent when the runtime answered
                done = "timeout" if result.error_type == rc.ERROR_TIMEOUT else runtime_status
                self._runtime_done(telemetry, request_id, done, duration_ms, now_ms)
            metrics: dict[str, object] = {
                "durationMs": round(duration_ms, 3), "billedDurationMs": billed, "memorySizeMB": self.fn.memory_mb,
                "maxMemoryUsedMB": peak_mb,
            }  # fmt: skip
            if init_ms is not None:
                metrics["initDurationMs"] = round(init_ms, 3)
            telemetry.emit("platform.report", {"requestId": request_id, "status": status, "metrics": metrics}, now_ms)
        lines, self._lines = self._lines or Tail(), None
        self.ctx.recorder.invocation(InvocationRecord(
            request_id=request_id, function=self.fn.name, version=self.fn.version,
            started_ms=int(now_ms - duration_ms), duration_ms=duration_ms, billed_ms=billed,
            memory_mb=self.fn.memory_mb, max_memory_used_mb=peak_mb, init_ms=init_ms,
            outcome=result.error_type or SUCCESS, qualifier=self._qualifier,
            architecture=self.fn.architectures[0], ephemeral_mb=self.fn.ephemeral_mb, provisioned=self.provisioned,
        ))  # fmt: skip
        return Outcome(result, lines, duration_ms, billed, reusable)

    @staticmethod
    def _runtime_done(telemetry: rt.Telemetry, request_id: str, status: str, runtime_ms: float, now_ms: float) -> None:
        telemetry.emit("platform.runtimeDone", {
            "requestId": request_id, "status": status, "metrics": {"durationMs": round(runtime_ms, 3)},
        }, now_ms)  # fmt: skip

    # -- failures --------------------------------------------------------------------------

    def _exit_failure(self, request_id: str) -> RuntimeResult:
        code = self._exited.result() if self._exited.done() else 0
        if self._cgroup is not None and self._cgroup.oom_killed():
            return self._out_of_memory(request_id)
        how = f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}" if code < 0 else f"exit status {code}"
        if code == -signal.SIGKILL and self._peak_memory_mb() >= self.fn.memory_mb:
            return self._out_of_memory(request_id)
        message = f"RequestId: {request_id} Error: Runtime exited with error: {how}"
        self._fault(message)
        return RuntimeResult(platform_error_body(rc.ERROR_EXIT, message), rc.ERROR_EXIT)

    def _out_of_memory(self, request_id: str) -> RuntimeResult:
        message = (
            f"RequestId: {request_id} Error: Runtime exited with error: signal: killed "
            f"(out of memory: the function used more than its {self.fn.memory_mb} MB)"
        )
        self._fault(message)
        if self._process is not None:
            self._process.kill()
        return RuntimeResult(platform_error_body(rc.ERROR_OUT_OF_MEMORY, message), rc.ERROR_OUT_OF_MEMORY)

    def _peak_memory_mb(self) -> int:
        if self._cgroup is not None:
            peak = self._cgroup.peak_bytes()
            if peak:
                return -(-peak // MB)
        if self._process is not None:
            try:
                for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return -(-int(line.split()[1]) // 1024)
            except (OSError, ValueError):
                pass
        return 0

    # -- process output and exit -----------------------------------------------------------

    def _on_exit(self, exited: asyncio.Future[int]) -> None:
        lent = self.state is EnvState.LENT
        if self.state is not EnvState.BUSY:
            self.state = EnvState.DEAD
        if not self._exited.done():
            self._exited.set_result(exited.result())
        if lent and self.on_lent_exit is not None:
            self.on_lent_exit(self)

    def _drain(self) -> None:
        """Read all output already written (the runtime flushes before it posts a result)."""
        for pipe in (self._output, self._extension_output):
            if pipe is not None:
                pipe.drain()

    def _drain_init(self) -> None:
        """Before the runtime's post is taken: what it printed while initialising goes with its init
        error. (An invocation's output is drained once the runtime asks for its next event: what it
        printed before posting its result is this invocation's all the same.)"""
        if self.state is EnvState.STARTING:
            self._drain()

    def _flush_partial(self) -> None:
        for pipe in (self._output, self._extension_output):
            if pipe is not None:
                pipe.flush_partial()

    def _emit_output(self, lines: list[bytes], kind: str) -> None:
        """Lines a pipe read: the log's, and ``kind`` records (function, extension) for subscribers.
        The function's below its ApplicationLogLevel are left out (log_levels.py)."""
        now_ms = int(time.time() * 1000)  # read together: one time for them all
        telemetry = self._telemetry
        kept = self._kept if kind == rt.FUNCTION else None
        for line in lines:
            text = decode(line)
            if kept is not None and not kept(text):
                continue
            self._emit(text, now_ms)
            if telemetry is not None:
                telemetry.emit(kind, text, now_ms)

    def _end_budget(self) -> None:
        """Close the log budgets of an invocation (or of what came before or between them): one for
        the runtime's output, one for the extensions'; a notice says what each dropped."""
        for pipe, whose in ((self._output, "output"), (self._extension_output, "the extensions' output")):
            dropped = pipe.renew() if pipe is not None else None
            if pipe is not None and dropped is not None:
                self._emit(dropped.notice(pipe.budget, whose))

    def _fault(self, line: str) -> None:
        """A line of the log that says the runtime failed (exited, timed out): a ``platform.fault``
        record for Logs API subscribers too."""
        self._emit(line)
        telemetry = self._telemetry
        if telemetry is not None:
            telemetry.emit(rt.FAULT, line)

    def _emit(self, line: str, timestamp_ms: int | None = None) -> None:
        if self._lines is not None:
            self._lines.append(line)
        elif self.state is EnvState.STARTING:
            self._init_lines.append(line)
        self._emit_record(line, timestamp_ms)

    def _emit_record(self, line: str, timestamp_ms: int | None = None) -> None:
        """Store ``line`` as a log event: with its newline, as CloudWatch Logs keeps a function's lines."""
        now_ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        self.ctx.recorder.log(LogRecord(self.fn.name, self.log_stream, now_ms, line + "\n"))


async def _first_of(*futures: asyncio.Future[Any], timeout: float) -> None:
    """Wait until one of ``futures`` is done or ``timeout`` passes (a lighter ``asyncio.wait``)."""
    loop = asyncio.get_running_loop()
    woken = loop.create_future()

    def wake(_: object = None) -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(wake)
    timer = loop.call_later(timeout, wake)
    try:
        await woken
    finally:
        timer.cancel()
        for future in futures:
            future.remove_done_callback(wake)


def _remove_cgroup(made: asyncio.Future[EnvCgroup]) -> None:
    if not made.cancelled() and made.exception() is None:
        made.result().remove()


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
