"""Shapes shared across the suite."""

from __future__ import annotations

from collections.abc import Callable

# Where scenarios report what they are doing: one line per call, printed as the run goes.
Progress = Callable[[str], None]
