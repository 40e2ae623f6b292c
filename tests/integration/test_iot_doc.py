"""docs/iot.md, run as written: its shell blocks (the AWS CLI, the `lamina` command) and its Python
block, against a real server and a real Mosquitto; the output it shows is what they print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.functions import DOC_BLOCK, Walkthrough, wait_for_logs, wait_until
from tests.mosquitto import Mosquitto, mosquitto  # noqa: F401  (the fixture)

DOC = Path(__file__).resolve().parents[2] / "docs" / "iot.md"
WARM = 'too warm: {"room": "kitchen", "temp": 28}'


def test_the_walkthrough_runs_as_written(make_server: Any, mosquitto: Mosquitto, tmp_path: Path) -> None:  # noqa: F811
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    text = (DOC.read_text().replace("http://127.0.0.1:9000", server.endpoint)
            .replace("mqtt://127.0.0.1:1883", mosquitto.url).replace("port=1883", f"port={mosquitto.port}"))  # fmt: skip
    walk = Walkthrough(server.endpoint, tmp_path)
    blocks = list(DOC_BLOCK.finditer(text))
    assert [b["lang"] for b in blocks] == ["", "sh", "sh", "", "python", "sh", ""]
    assert f"LAMINA_MQTT_URL={mosquitto.url} " in blocks[0]["body"]  # how the server above was started
    walk.run("sh", blocks[1]["body"])
    shown = walk.run("sh", blocks[2]["body"])
    # The rule is subscribed in the background: list again until it is (before publishing).
    listing = blocks[3]["body"].strip().splitlines()

    def subscribed() -> str | None:
        again = walk.run("sh", "lamina iot rules")
        return again if listing[-1] in again else None

    shown = shown if listing[-1] in shown else wait_until(subscribed, timeout=60)
    assert [line.split() for line in shown.strip().splitlines()] == [line.split() for line in listing]
    walk.run("python", blocks[4]["body"])
    wait_for_logs(server.endpoint, "thermo", lambda lines: any(WARM in line for line in lines), timeout=60)
    shown = walk.run("sh", blocks[5]["body"])
    expected = blocks[6]["body"].strip().splitlines()
    # What it prints after each line's time.
    assert [line.split(" ", 1)[1] for line in shown.strip().splitlines()] == [e.split(" ", 1)[1] for e in expected]
