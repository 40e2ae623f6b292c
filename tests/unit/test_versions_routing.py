"""The pure decisions of versions and aliases: which version an alias invocation runs, and what a
published version is."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from lamina.control.aliases import route
from lamina.control.versions import snapshot, unchanged
from lamina.model import Alias, Code, FunctionConfig, State, UpdateStatus


def alias(weights: dict[str, float], version: str = "1") -> Alias:
    return Alias("fn", "live", version, weights=weights, revision_id="r")


def latest(**changes: object) -> FunctionConfig:
    fn = FunctionConfig(
        name="fn", runtime="python3.11", handler="app.handler", role="arn:aws:iam::000000000000:role/x",
        code=Code("ab" * 32, "q83v", 10), description="the function", state=State.ACTIVE, revision_id="r1",
    )  # fmt: skip
    return dataclasses.replace(fn, **changes)  # type: ignore[arg-type]


# -- route ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "draw", "expected"),
    [
        ({}, 0.0, "1"),
        ({}, 0.999, "1"),
        ({"2": 0.3}, 0.0, "2"),
        ({"2": 0.3}, 0.2999, "2"),
        ({"2": 0.3}, 0.3, "1"),  # the additional version's share is [0, weight)
        ({"2": 0.3}, 0.9, "1"),
        ({"2": 0.0}, 0.0, "1"),  # a weight of 0 never routes
        ({"2": 1.0}, 0.999999, "2"),  # a weight of 1 always does
    ],
)
def test_route_is_a_function_of_the_draw(weights: dict[str, float], draw: float, expected: str) -> None:
    assert route(alias(weights), draw) == expected


@pytest.mark.parametrize("weight", [0.05, 0.3, 0.5, 0.9])
def test_route_splits_by_weight(weight: float) -> None:
    rng = random.Random(20240601)
    total = 20_000
    routed = sum(route(alias({"2": weight}), rng.random()) == "2" for _ in range(total))
    # Binomial(total, weight): within five standard deviations.
    assert abs(routed - total * weight) <= 5 * math.sqrt(total * weight * (1 - weight))


def test_route_with_a_seeded_random_is_reproducible() -> None:
    runs = [[route(alias({"2": 0.5}), rng.random()) for _ in range(50)] for rng in (random.Random(7), random.Random(7))]
    assert runs[0] == runs[1] and set(runs[0]) == {"1", "2"}


# -- snapshot and unchanged ---------------------------------------------------------------------


def test_snapshot_is_latest_numbered_with_its_own_revision() -> None:
    fn = latest()
    version = snapshot(fn, 3, None, "v3")
    assert (version.version, version.revision_id, version.description) == ("3", "v3", "the function")
    assert (version.code, version.handler, version.memory_mb) == (fn.code, fn.handler, fn.memory_mb)
    assert (version.state, version.update_status) == (State.ACTIVE, UpdateStatus.SUCCESSFUL)
    assert version.generation == fn.generation and not version.is_latest
    assert snapshot(fn, 3, "given", "v3").description == "given"


def test_snapshot_of_code_still_being_prepared_is_pending_and_of_failed_code_failed() -> None:
    assert snapshot(latest(state=State.PENDING), 1, None, "v").state is State.PENDING
    updating = snapshot(latest(update_status=UpdateStatus.IN_PROGRESS), 1, None, "v")
    assert (updating.state, updating.update_status) == (State.PENDING, UpdateStatus.SUCCESSFUL)
    failed = snapshot(latest(update_status=UpdateStatus.FAILED, update_reason="bad zip"), 1, None, "v")
    assert (failed.state, failed.state_reason) == (State.FAILED, "bad zip")


def test_unchanged_until_the_code_or_configuration_changes() -> None:
    fn = latest()
    version = snapshot(fn, 1, "described", "v1")
    assert not unchanged(fn, None)
    assert unchanged(fn, version)
    # Publishing gives $LATEST a new RevisionId but keeps its generation: still unchanged.
    published = dataclasses.replace(fn, revision_id="r2", config_revision=fn.generation)
    assert unchanged(published, version)
    # An update resets the generation to its new RevisionId.
    updated = dataclasses.replace(published, timeout_s=9, revision_id="r3", config_revision="")
    assert not unchanged(updated, version)
