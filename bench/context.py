"""What every scenario is given: the profile, the run's servers, a scratch folder, progress output."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.lamina_target import Lamina, start_lamina
from bench.procs import Processes
from bench.profile import Profile
from bench.types import Progress


@dataclass
class Bench:
    profile: Profile
    processes: Processes
    workdir: Path  # a temporary folder, removed after the run
    progress: Progress

    @contextlib.asynccontextmanager
    async def lamina(self, name: str, **settings: str) -> AsyncIterator[Lamina]:
        """A Lamina server of the scenario's own (data in the scratch folder), stopped on the way out."""
        self.progress(f"starting Lamina for {name}" + "".join(f" {k}={v}" for k, v in settings.items()))
        server = await start_lamina(self.processes, self.workdir / f"lamina-{name}", f"lamina-{name}", **settings)
        try:
            yield server
        finally:
            await server.control.close()
            await self.processes.stop(server.server)
