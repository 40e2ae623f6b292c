"""What the front door has done, for operators (``/lamina/v1/health``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(slots=True)
class Counts:
    """What the front door has done since the server started (``/lamina/v1/health`` shows it)."""

    served: int = 0  # requests answered here
    lent: int = 0  # requests lent to aiohttp, the connection taken back after them
    handed_over: int = 0  # connections given to aiohttp for good
    native: Callable[[], dict[str, int]] | None = None  # the native data plane's counts, when it runs

    def as_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"served": self.served, "lent": self.lent, "handedOver": self.handed_over}
        if self.native is not None:
            doc["native"] = self.native()
        return doc
