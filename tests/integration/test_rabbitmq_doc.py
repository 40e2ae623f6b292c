"""docs/rabbitmq.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its
Python block (aio-pika), against a real server and a real RabbitMQ node; the output it shows is
what they print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functions import DOC_BLOCK, Walkthrough
from tests.rabbitmq import VHOST, RabbitMQ, rabbitmq  # noqa: F401  (the fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "rabbitmq.md"
DOC_BROKER = "amqp://guest:guest@127.0.0.1:5672"


def test_the_walkthrough_runs_as_written(make_server: Any, rabbitmq: RabbitMQ, tmp_path: Path) -> None:  # noqa: F811
    server = make_server(LAMINA_RABBITMQ_BROKERS=f"orders-broker={rabbitmq.url(VHOST)}")
    text = DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint).replace(DOC_BROKER, rabbitmq.url(VHOST))
    walk = Walkthrough(server.endpoint, tmp_path, shell_timeout=180)
    blocks = list(DOC_BLOCK.finditer(text.split("## Secrets and TLS")[0]))
    assert [b["lang"] for b in blocks] == ["", "", "sh", "python", "sh", ""]
    assert "orders-broker=" + rabbitmq.url(VHOST) in blocks[1]["body"]  # how the server above was started
    shown = ""
    for block in blocks[2:5]:
        shown = walk.run(block["lang"], block["body"])
    assert shown.strip().splitlines() == blocks[5]["body"].strip().splitlines()
