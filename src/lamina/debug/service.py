"""A cell's debug sessions: at most one per function, each with its forwarder (``forwarder.py``).

``start`` turns debugging on for a function's ``$LATEST``: its forwarder listens on the host's
loopback, and the scheduler runs the function one invocation at a time, in environments started
with their debug adapter listening (``Scheduler.debug``: its idle environments of before are
retired; provisioned ones are passed over). A debugger that connects while the function has no
environment gets one started for it, so that breakpoints are set before the first invocation.
``stop`` undoes it all: idle environments with a debug adapter are retired too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from lamina.debug.forwarder import Debuggee, Forwarder
from lamina.debug.session import DEFAULT_PORTS, NODEJS, PYTHON, DebugSpec, debugpy_package, family_of, is_discovery, refusal
from lamina.errors import AccessDenied, InvalidParameterValue, ResourceConflict
from lamina.model import FunctionConfig
from lamina.sandbox.environment import Environment
from lamina.sandbox.provider import EnvState
from lamina.scheduler.pool import Scheduler
from lamina.settings import Settings

log = logging.getLogger(__name__)

LATEST = "$LATEST"


@dataclass
class _Session:
    spec: DebugSpec
    forwarder: Forwarder


class Debugging:
    """The debug sessions of one cell's functions. ``bind`` once its scheduler and functions exist
    (environments ask ``spec_for`` as they are made, before the scheduler is)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._sessions: dict[str, _Session] = {}
        self._scheduler: Scheduler | None = None
        self._function: Callable[[str], FunctionConfig] | None = None

    def bind(self, scheduler: Scheduler, function: Callable[[str], FunctionConfig]) -> None:
        self._scheduler = scheduler
        self._function = function  # a function's $LATEST configuration, or ResourceNotFound

    def spec_for(self, fn: FunctionConfig) -> DebugSpec | None:
        """How an environment of ``fn`` is to be debugged, or None."""
        session = self._sessions.get(fn.name)
        return session.spec if session is not None and fn.version == LATEST else None

    def describe(self, name: str) -> dict[str, object] | None:
        session = self._sessions.get(name)
        if session is None:
            return None
        spec = session.spec
        return {"FunctionName": name, "Language": spec.family, "Port": session.forwarder.port,
                "Wait": spec.wait, "Attached": session.forwarder.attached}  # fmt: skip

    async def start(self, name: str, *, wait: bool, port: int | None) -> dict[str, object]:
        """Debug ``name`` (replacing a session it had); its description. AccessDenied on a server that
        may not debug, InvalidParameterValue for a runtime it cannot debug, ResourceConflict when
        the port is taken."""
        assert self._scheduler is not None and self._function is not None
        if port is not None and not 0 <= port <= 65535:
            raise InvalidParameterValue(f"Port must be between 0 (any free port) and 65535, not {port}")
        refused = refusal(self._settings.host, self._settings.development_mode)
        if refused is not None:
            raise AccessDenied(f"Lamina refuses to debug {name}: {refused}")
        fn = self._function(name)
        family = family_of(fn.runtime)
        if family is None:
            raise InvalidParameterValue(f"{fn.runtime} functions cannot be debugged: only Python (debugpy) and "
                                        "Node.js (--inspect) functions can")  # fmt: skip
        if family == PYTHON and debugpy_package() is None:
            raise InvalidParameterValue("debugpy is not installed beside Lamina, so Python functions cannot be debugged: "
                                        "pip install 'lamina[debug]' (or debugpy) into Lamina's environment")  # fmt: skip
        await self.stop(name)
        spec = DebugSpec(name, family, wait, DEFAULT_PORTS[family] if port is None else port)
        forwarder = Forwarder(spec.port, lambda: self._locate(spec), is_discovery if family == NODEJS else None)
        try:
            await forwarder.start()
        except OSError as exc:
            raise ResourceConflict(f"Lamina cannot listen for debuggers at 127.0.0.1:{spec.port}: {exc.strerror or exc} "
                                   "(another program has the port? choose another with --debug-port)") from exc  # fmt: skip
        self._sessions[name] = _Session(spec, forwarder)
        self._scheduler.debug(name, True)
        log.info("debugging %s: debuggers attach at 127.0.0.1:%d", name, forwarder.port)
        description = self.describe(name)
        assert description is not None
        return description

    async def stop(self, name: str) -> bool:
        """End ``name``'s session; whether it had one."""
        session = self._sessions.pop(name, None)
        if session is None:
            return False
        await session.forwarder.close()
        if self._scheduler is not None:
            self._scheduler.debug(name, False)
        return True

    async def close(self) -> None:
        for name in list(self._sessions):
            await self.stop(name)

    async def _locate(self, spec: DebugSpec) -> Debuggee:
        """The newest live environment started for this session, else one started now."""
        assert self._scheduler is not None and self._function is not None
        for env in reversed(self._scheduler.environments()):
            if isinstance(env, Environment) and env.debug == spec and env.state is not EnvState.DEAD:
                return env
        env = await self._scheduler.warm(self._function(spec.function))
        assert isinstance(env, Environment)
        return env
