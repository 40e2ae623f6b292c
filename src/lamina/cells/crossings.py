"""What one cell's services reach in the other cells, without a request: a dead letter or an
asynchronous destination sent to another account's queue (the queue's policy decides, with the
function's role: iam/destinations.py; the queues' outbox relay delivers it there), and an event bus
rule whose target is another account's function (invoked in that function's cell, where its
resource policy decides: iam/triggers.py), and an event source mapping whose SQS queue is another
account's (read there; its policy and the role's decide at creation: iam/source_roles.py).

Only started cells are reached (``Cells.started``): every cell an earlier run left is started with
the server, so a resource that exists is in one; what names an account without a cell names nothing.
Other regions are never reached: Lamina's crossings stay within a region, as its API's do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from lamina.iam.policy import Policy
from lamina.queues import model

if TYPE_CHECKING:
    from lamina.api.context import Services
    from lamina.invoke.service import Invoker
    from lamina.queues.service import Queues

Lookup = Callable[[str, str], "Services | None"]


class Crossings:
    """The other cells of ``account_id`` in ``region``, once the registry says where they are."""

    def __init__(self, account_id: str, region: str) -> None:
        self._home = (account_id, region)
        self._lookup: Lookup | None = None
        self._queues: Queues | None = None  # the cell's own

    def reach_with(self, lookup: Lookup) -> None:
        """``lookup``: the registry's started cells by (account, region)."""
        self._lookup = lookup

    def home_queues(self, queues: Queues) -> None:
        self._queues = queues

    def other(self, account_id: str, region: str) -> Services | None:
        """Another started cell of the same region (None: the home cell's own, or no such cell)."""
        if (account_id, region) == self._home or region != self._home[1] or self._lookup is None:
            return None
        return self._lookup(account_id, region)

    def queues_of(self, arn: str) -> Queues | None:
        """The queues of the cell that a queue ARN names (None: a cell that is not there)."""
        parts = model.arn_parts(arn)
        if parts is None:
            return None
        region, account, _ = parts
        if (account, region) == self._home:
            return self._queues
        there = self.other(account, region)
        return None if there is None else there.queues

    def queue_policy(self, arn: str) -> Policy | None:
        """The policy of the queue ``arn`` names, in whichever cell has it (None: none, or no queue)."""
        queues = self.queues_of(arn)
        return None if queues is None else queues.policy(arn)

    def invoker_of(self, account_id: str, region: str) -> Invoker | None:
        """Another account's invoker in the same region (None: no such cell)."""
        there = self.other(account_id, region)
        return None if there is None else there.invoker
