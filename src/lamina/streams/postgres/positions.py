"""Positions of row changes, and how far the replication slot may advance (pure).

pgoutput gives each change the LSN of its own WAL record, but those do not grow in delivery order:
transactions are delivered in commit order while their records interleave, and one record may
hold many rows (a multi-insert). A position is therefore the transaction's commit LSN (which
does grow in commit order) shifted left by ``INDEX_BITS``, plus the change's index within its
transaction: strictly increasing in delivery order, and the same in every peek of the slot.

The slot can only move to transaction boundaries (a transaction's end LSN), so ``Progress``
remembers, for this run, the greatest confirmed position: the confirmed changes of a transaction
only partly confirmed are skipped by later reads, and come again only after a restart (at least
once). It says where the slot may advance once a transaction is wholly confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


INDEX_BITS = 32
_INDEX_MASK = (1 << INDEX_BITS) - 1


@dataclass(frozen=True, slots=True)
class Transaction:
    commit_lsn: int
    end_lsn: int
    changes: int  # row changes it holds (each has an index, delivered or not)


def position(commit_lsn: int, index: int) -> int:
    return (commit_lsn << INDEX_BITS) | index


def split(position_: int) -> tuple[int, int]:
    """(commit LSN, index within the transaction)."""
    return position_ >> INDEX_BITS, position_ & _INDEX_MASK


@dataclass
class Progress:
    slot_lsn: int  # the slot's confirmed_flush_lsn: transactions committed before it are done
    confirmed: int = -1  # the greatest confirmed position this run (-1: none)
    # Seen whole, by commit LSN, in commit order (peeks return transactions in that order, and
    # one read again keeps its place).
    _complete: dict[int, Transaction] = field(default_factory=dict)

    def seen(self, transactions: Iterable[Transaction]) -> None:
        """Transactions a peek returned whole (from Begin to Commit)."""
        for transaction in transactions:
            if transaction.end_lsn > self.slot_lsn:
                self._complete[transaction.commit_lsn] = transaction

    def is_new(self, position_: int) -> bool:
        return position_ > self.confirmed

    def confirmed_in_partial(self) -> int:
        """How many changes of the transaction confirmed last are confirmed (0 when none is)."""
        if self.confirmed < 0:
            return 0
        commit_lsn, index = split(self.confirmed)
        if commit_lsn < self.slot_lsn:
            return 0  # the slot is past that transaction: a peek starts after it
        transaction = self._complete.get(commit_lsn)
        if transaction is not None and index + 1 >= transaction.changes:
            return 0
        return index + 1

    def confirm(self, position_: int) -> int | None:
        """Every change up to ``position_`` is done; the LSN the slot should advance to now, if any
        (the end of the last transaction wholly confirmed, when beyond the slot)."""
        self.confirmed = max(self.confirmed, position_)
        commit_lsn, index = split(self.confirmed)
        target: int | None = None
        for lsn, transaction in self._complete.items():  # in commit order, as peeks return them
            if lsn > commit_lsn or (lsn == commit_lsn and index + 1 < transaction.changes):
                break
            target = transaction.end_lsn
        return target if target is not None and target > self.slot_lsn else None

    def nothing_new(self, through: int) -> int | None:
        """A peek that read the slot up to ``through`` found nothing unconfirmed: the LSN the slot
        may advance to (past changes of other tables and skipped truncates), if beyond it."""
        return through if through > self.slot_lsn else None

    def advanced(self, lsn: int) -> None:
        """The slot now stands at ``lsn``."""
        self.slot_lsn = max(self.slot_lsn, lsn)
        self._complete = {c: t for c, t in self._complete.items() if t.end_lsn > self.slot_lsn}
