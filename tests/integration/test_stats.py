"""``lamina stats`` and GET /lamina/v1/stats: which function is slowest, from the ledger."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

from tests import signing
from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke, wait_until
from tests.integration.test_clients import lamina_cli

SLEEPS = "import time\ndef handler(event, context):\n    time.sleep(event['ms'] / 1000)\n    return event['ms']\n"
FAILS = "def handler(event, context):\n    raise RuntimeError('no')\n"


def stats(endpoint: str, query: str = "") -> dict[str, Any]:
    with signing.urlopen(f"{endpoint}/lamina/v1/stats{query}", timeout=30) as r:
        return dict(json.loads(r.read()))


def test_the_slowest_function_comes_first(make_server: Any) -> None:
    server: LaminaProcess = make_server()
    client = server.client()
    deploy(client, "quick", SLEEPS)
    deploy(client, "sluggish", SLEEPS, Timeout=10)
    deploy(client, "broken", FAILS)
    for _ in range(4):
        invoke(client, "quick", {"ms": 1})
    for _ in range(2):
        invoke(client, "sluggish", {"ms": 300})
    invoke(client, "broken", {})

    report = wait_until(lambda: (s := stats(server.endpoint)) and len(s["functions"]) == 3
                        and sum(f["invocations"] for f in s["functions"]) == 7 and s)  # fmt: skip
    assert [f["function"] for f in report["functions"]][0] == "sluggish"
    sluggish = report["functions"][0]
    assert sluggish["durationMs"]["p50"] >= 300 and sluggish["durationMs"]["max"] >= 300
    assert (sluggish["invocations"], sluggish["coldStarts"], sluggish["errors"]) == (2, 1, 0)
    broken = next(f for f in report["functions"] if f["function"] == "broken")
    assert (broken["errors"], broken["errorRate"]) == (1, 1.0)
    by_count = stats(server.endpoint, "?sort=invocations")
    assert by_count["functions"][0]["function"] == "quick" and by_count["sort"] == "invocations"

    table = lamina_cli(server.endpoint, "stats")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split()[0] == "FUNCTION" and lines[2].split()[0] == "sluggish", table.stdout
    as_json = json.loads(lamina_cli(server.endpoint, "stats", "--json", "--sort", "errors").stdout)
    assert as_json["functions"][0]["function"] == "broken"
    as_csv = lamina_cli(server.endpoint, "stats", "--csv").stdout.splitlines()
    assert as_csv[0].startswith("FUNCTION,INVOCATIONS") and len(as_csv) == 4

    for bad in ("--sort=speed", "--from=yesterday", "--from=2026-12-07 --to=2026-12-01"):
        refused = lamina_cli(server.endpoint, "stats", *bad.split())
        assert refused.returncode != 0 and refused.stderr, bad
    for query in ("?sort=speed", "?from=2026-13-01", "?extra=1", "?from=2026-12-07&to=2026-12-01"):
        try:
            stats(server.endpoint, query)
        except urllib.error.HTTPError as exc:
            assert exc.code == 400, query
        else:
            raise AssertionError(f"{query} was answered")
