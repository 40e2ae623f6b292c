"""What one invocation runs, resolved once: the ``Target`` that flows down the invocation path.

``invoke/resolver.py`` builds one per request: the configuration that runs (for an alias with
routing, the version this invocation drew), the ARN it was invoked by, and the limits its admission
is decided by. The scheduler admits, leases and releases by it; nothing below the resolver asks the
control plane again.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.model import FunctionConfig
from lamina.scheduler.decisions import FunctionLimits


@dataclass(frozen=True, slots=True)
class Target:
    """One invocation's function, resolved: immutable, built once per request."""

    fn: FunctionConfig  # the configuration that runs: $LATEST or a published version
    qualifier: str | None  # as invoked: None (unqualified), "$LATEST", a version or an alias
    invoked_arn: str  # what the runtime's context reports (qualified with an alias invoked through one)
    limits: FunctionLimits  # what its on-demand admission is bounded by
    weighted: bool = False  # invoked through an alias whose routing draws between two versions

    @property
    def name(self) -> str:
        return self.fn.name

    @property
    def version(self) -> str:
        return self.fn.version

    @property
    def generation(self) -> str:
        return self.fn.generation
