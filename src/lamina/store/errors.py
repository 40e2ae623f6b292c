"""The store's own errors: what a write found, in the store's terms, never in AWS's wording.

The store raises only these (and faults of its database). Lambda's API words them
(``lamina.errors.from_store``, called where errors become responses: ``lamina.api.errors``), so
every implementation of the store (SQLite today, PostgreSQL next) answers alike.

``kind`` says what was missing, present already or stale (``FUNCTION``, ``ALIAS``, ``POLICY``,
``FUNCTION_URL``); ``function`` is the function's name and ``qualifier`` what within it (an alias's
name, a URL's or a policy's qualifier; None: the function itself).
"""

from __future__ import annotations

from lamina.errors import LaminaError

FUNCTION = "function"
ALIAS = "alias"
POLICY = "policy"
FUNCTION_URL = "function URL"


class StoreError(LaminaError):
    def __init__(self, kind: str, function: str, qualifier: str | None = None) -> None:
        super().__init__(f"{kind} {function}" + (f":{qualifier}" if qualifier is not None else ""))
        self.kind = kind
        self.function = function
        self.qualifier = qualifier


class NotFound(StoreError):
    """What a write changes, or belongs to, is not stored (a function deleted meanwhile)."""


class Conflict(StoreError):
    """What a write creates is stored already."""


class StaleRevision(StoreError):
    """What a write replaces is no longer at the revision the caller read."""
