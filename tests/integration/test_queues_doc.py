"""docs/queues.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server of the test's own (the walkthrough's queue names are fixed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functions import DOC_BLOCK, Walkthrough

DOC = Path(__file__).resolve().parents[2] / "docs" / "queues.md"
DOC_ENDPOINT = "http://127.0.0.1:9000"


def test_the_walkthrough_runs_as_written(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    text = DOC.read_text().replace(DOC_ENDPOINT, server.endpoint)
    walk = Walkthrough(server.endpoint, tmp_path)
    blocks = list(DOC_BLOCK.finditer(text.split("## Queues as targets")[0]))
    assert [b["lang"] for b in blocks] == ["sh", "", "python", "", "sh"]
    shown = ""
    for block in blocks:
        body = block["body"]
        if block["lang"] == "":  # what the block before it prints
            assert [line.split() for line in shown.strip().splitlines()[-len(body.strip().splitlines()):]] == [
                line.split() for line in body.strip().splitlines()
            ], shown
            continue
        shown = walk.run(block["lang"], body)
