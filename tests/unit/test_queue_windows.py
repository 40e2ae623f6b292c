"""FIFO windows as the store keeps them (lamina.queues.windows), with plain values."""

from __future__ import annotations

import json

from lamina.queues import fifo, windows


def test_window_entries_are_stored_and_read_back_as_they_were() -> None:
    sent = windows.SentEntry("q1", "group\x00dedup", "m-1", "00000000000000000042", 300_000)
    resource = windows.sent_resource(sent)
    assert resource.kind == windows.DEDUP_KIND and resource.key.startswith("q1/") and "\x00" not in resource.key
    assert windows.parse_sent(json.loads(json.dumps(resource.doc))) == sent
    tried = windows.AttemptEntry("q1", "attempt-1", fifo.Attempt(((3, 1, 30_000), (4, 1, 30_000))), 300_000)
    stored = windows.attempt_resource(tried)
    assert stored.kind == windows.ATTEMPT_KIND and stored.key != windows.attempt_resource(
        windows.AttemptEntry("q2", "attempt-1", tried.attempt, 1)).key  # fmt: skip
    assert windows.parse_attempt(json.loads(json.dumps(stored.doc))) == tried
    assert windows.parse_sent({"queue": "q1"}) is None
    assert windows.parse_attempt({"queue": "q1", "id": "a", "until": 1, "taken": [[1, 2]]}) is None


def test_stored_entries_are_due_for_removal_once_their_window_has_ended() -> None:
    expiries = windows.Expiries()
    expiries.add(windows.DEDUP_KIND, "q/a", 100)
    expiries.add(windows.ATTEMPT_KIND, "q/b", 200)
    expiries.add(windows.DEDUP_KIND, "q/c", 50)
    assert expiries.due(49) == []
    assert expiries.due(100) == [(windows.DEDUP_KIND, "q/c"), (windows.DEDUP_KIND, "q/a")]
    assert expiries.due(150) == []
    expiries.add(windows.ATTEMPT_KIND, "q/b", 400)  # written again: its window ends later now
    assert expiries.due(300) == []
    assert expiries.due(400) == [(windows.ATTEMPT_KIND, "q/b")]


def test_a_restored_window_entry_ends_when_it_ended_before() -> None:
    window: fifo.Window[str] = fifo.Window()
    window.restore("late", "second", 500)
    window.restore("early", "first", 100)  # out of order: still not answered after its end
    assert window.seen("early", 99) == "first" and window.until("early") == 100
    assert window.seen("early", 100) is None and window.seen("late", 100) == "second"
    assert window.until("absent") is None
