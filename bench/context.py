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
    src: Path | None = None  # a baseline checkout's src, whose Lamina this side's servers run; None: the suite's own
    label: str = ""  # tells this side's and round's servers and data apart from the other's, e.g. "baseline-2"

    @contextlib.asynccontextmanager
    async def lamina(self, name: str, **settings: str) -> AsyncIterator[Lamina]:
        """A Lamina server of the scenario's own (data in the scratch folder), stopped on the way out."""
        tag = f"{name}-{self.label}" if self.label else name
        self.progress(f"starting Lamina for {name}" + (f" ({self.label})" if self.label else "")
                      + "".join(f" {k}={v}" for k, v in settings.items()))  # fmt: skip
        server = await start_lamina(self.processes, self.workdir / f"lamina-{tag}", f"lamina-{tag}", src=self.src,
                                    **settings)  # fmt: skip
        try:
            yield server
        finally:
            await server.control.close()
            await self.processes.stop(server.server)
