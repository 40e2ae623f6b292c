"""docs/kafka.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block, against a real server and a real Kafka broker of the test's own (the walkthrough's
topic name is fixed). The blocks that show what arrived run once it has arrived."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.functions import DOC_BLOCK, Walkthrough, wait_for_logs, wait_until
from tests.kafka import make_kafka  # noqa: F401  (the fixture)
from tests import signing

DOC = Path(__file__).resolve().parents[2] / "docs" / "kafka.md"


def _backlog(endpoint: str) -> Any:
    with signing.urlopen(f"{endpoint}/lamina/v1/event-source-mappings", timeout=30) as resp:
        return [row["backlog"] for row in json.loads(resp.read())["mappings"]]


def test_the_walkthrough_runs_as_written(make_server: Any, make_kafka: Any, tmp_path: Path) -> None:  # noqa: F811
    broker = make_kafka()
    server = make_server(tmp_path / "data")
    text = DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint).replace("127.0.0.1:9092", broker.bootstrap)
    walk = Walkthrough(server.endpoint, tmp_path)
    blocks = list(DOC_BLOCK.finditer(text.split("## What a Kafka mapping takes")[0]))
    assert [b["lang"] for b in blocks] == ["sh", "python", "sh", "", "sh", "", "sh", ""]
    shown = ""
    for block in blocks:
        body = block["body"]
        if block["lang"] == "":  # what the block before it prints (the POLLERS column aside: it varies)
            expected = [line.split() for line in body.strip().splitlines()]
            got = [line.split() for line in shown.strip().splitlines()[-len(expected):]]
            if "POLLERS" in body:
                expected, got = [row[:-1] for row in expected], [row[:-1] for row in got]
            assert got == expected, shown
            continue
        if "lamina logs" in body:
            wait_for_logs(server.endpoint, "printer", lambda lines: sum("orders-" in line for line in lines) >= 3,
                          timeout=60)  # fmt: skip
        if "lamina mappings" in body:
            wait_until(lambda: _backlog(server.endpoint) == [0], timeout=60)
        shown = walk.run(block["lang"], body)
