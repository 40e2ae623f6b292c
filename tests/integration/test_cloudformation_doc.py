"""docs/cloudformation.md, run as written: its shell blocks (the AWS CLI) and its Python block,
against a real server of the test's own (the walkthrough's stack name is fixed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.functions import DOC_BLOCK, Walkthrough

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloudformation.md"
DOC_ENDPOINT = "http://127.0.0.1:9000"


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    text = DOC.read_text().replace(DOC_ENDPOINT, server.endpoint)
    walk = Walkthrough(server.endpoint, tmp_path, shell_timeout=240)
    blocks = list(DOC_BLOCK.finditer(text.split("## What is served")[0]))
    assert [b["lang"] for b in blocks] == ["sh", "", "sh", "", "sh", "", "python", ""]
    shown = ""
    for block in blocks:
        body = block["body"]
        if block["lang"] == "":  # what the block before it prints
            expected = [line.split() for line in body.strip().splitlines()]
            assert [line.split() for line in shown.strip().splitlines()[-len(expected):]] == expected, shown
            continue
        shown = walk.run(block["lang"], body)
