"""One partition's records as a mapping read them: a batch-level path through the poller.

A ``Batch`` holds the consumer's messages and each one's JSON text in the event, written once
(``Encoder.encode_all``). It is the ``Sequence[Record]`` the poller asks for, but makes the
``Record`` objects (and their lazy record and filter view) only when something looks at them one
by one: filters, batch item failures, a partial settlement, an on-failure record. A mapping
without those hands the batch whole to ``KafkaSource.event`` (one join of the texts) and to
``acknowledge`` (one settlement of the batch): nothing is made per record beyond its text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from lamina.mappings.kafka import records as kafka_records
from lamina.mappings.source import Lazy, Record


class Batch(Sequence[Record]):
    __slots__ = ("group", "messages", "texts", "_records")

    def __init__(self, group: str, messages: Sequence[kafka_records.MessageLike], texts: Sequence[str]) -> None:
        self.group = group  # "<topic>-<partition>"
        self.messages = messages  # in offset order
        self.texts = texts  # each message's record as JSON text, as the event holds it
        self._records: list[Record] | None = None

    @property
    def first_offset(self) -> int:
        return self.messages[0].offset

    @property
    def last_offset(self) -> int:
        return self.messages[-1].offset

    def offsets(self) -> list[int]:
        return [m.offset for m in self.messages]

    def sizes(self) -> list[int]:
        """Each record's size in the event (its text is ASCII: one byte a character)."""
        return [len(t) for t in self.texts]

    def records(self) -> list[Record]:
        """The batch as ``Record`` objects, made on first use."""
        if self._records is None:
            group, lazy = self.group, Lazy
            self._records = [
                Record(id=(ident := record_id(group, m.offset)), token=ident, record=lazy(kafka_records.kafka_record, m),
                       view=lazy(kafka_records.view_of, m), size=len(text), group=group, encoded=text)
                for m, text in zip(self.messages, self.texts)
            ]  # fmt: skip
        return self._records

    def __len__(self) -> int:
        return len(self.messages)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        return self.records()[index]

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records())


def record_id(group: str, offset: int) -> str:
    """What batchItemFailures' itemIdentifier names a record by: ``<topic>-<partition>:<offset>``."""
    return f"{group}:{offset}"
