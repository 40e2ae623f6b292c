"""docs/events.md's table of operations stays true to what the server serves, and every one of them
is an operation of botocore's model for EventBridge."""

from __future__ import annotations

import re
from pathlib import Path

import botocore.session

from lamina.api.events import OPERATIONS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def test_the_documented_operations_are_the_served_ones() -> None:
    table = DOCS.read_text().split("## What is supported", 1)[1].split("\n## ", 1)[0]
    documented: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| ") and not line.startswith(("| operation", "|---")):
            documented.update(name.strip() for name in line.split("|")[1].split(","))
    assert documented == set(OPERATIONS)
    model = botocore.session.get_session().get_service_model("events")
    assert set(OPERATIONS) <= set(model.operation_names)
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in OPERATIONS)
