"""dataplane/handovers.py: a connection the native plane keeps handing over is kept longer each
time, and what is remembered stays bounded whatever clients do."""

from __future__ import annotations

from lamina.dataplane.handovers import MAX_KEEP, Handovers


def test_each_handover_of_a_connection_doubles_how_long_python_keeps_it() -> None:
    handovers = Handovers()
    assert [handovers.handed_over("127.0.0.1:5000") for _ in range(5)] == [1, 2, 4, 8, 16]
    assert handovers.handed_over("127.0.0.1:5001") == 1  # another connection starts afresh


def test_a_connection_handed_over_without_end_is_kept_at_most_max_keep() -> None:
    handovers = Handovers()
    kept = [handovers.handed_over("::1:80") for _ in range(100)]
    assert max(kept) == MAX_KEEP and kept[-1] == MAX_KEEP


def test_many_clients_are_remembered_within_the_bound_least_recent_forgotten_first() -> None:
    handovers = Handovers(remembered=3)
    for port in range(10_000):  # a client opening connection after connection
        handovers.handed_over(f"10.0.0.1:{port}")
    assert len(handovers) == 3
    assert handovers.handed_over("10.0.0.1:9999") == 2  # still remembered
    assert handovers.handed_over("10.0.0.1:0") == 1  # forgotten long ago
