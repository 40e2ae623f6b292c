"""The operator's view of every account and region (api/operator.py, console/cells.py): on a real
server with two accounts' keys and three cells (A in us-east-1, the default; B in us-east-1 and
us-west-2), the console's JSON reads the cell it names and refuses any other name, usage and stats
across cells reconcile with what each account reads of its own, ``lamina usage|stats
--all-accounts`` (a subprocess) print them, and /metrics labels every cell's functions."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest

from lamina.cli.client import LambdaClient
from lamina.identity.signing import Credentials
from tests.conftest import LaminaProcess, make_zip, server_env
from tests.functions import wait_until
from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, KEYS, SECRET_A, SECRET_B, client, role
from tests.integration.test_console import CHROMIUM, MODULES, SHOTS, get, page_token, request
from tests.integration.test_metrics import scrape, value

A, B, B_WEST = f"{ACCOUNT_A}/us-east-1", f"{ACCOUNT_B}/us-east-1", f"{ACCOUNT_B}/us-west-2"
CODE = """
import time
def handler(event, context):
    time.sleep(event.get('ms', 0) / 1000)
    if event.get('fail'):
        raise RuntimeError('asked to fail')
    return {'arn': context.invoked_function_arn}
"""
# Each cell's functions and the events they are invoked with: B's slow one is the slowest of all.
PLAN: dict[str, dict[str, list[dict[str, Any]]]] = {
    A: {"team-a": [{}, {}]},
    B: {"team-b-fast": [{}, {}, {"fail": True}], "team-b-slow": [{"ms": 300}, {"ms": 300}]},
    B_WEST: {"team-b-west": [{}, {}]},  # the last through the console's invoke form
}
INVOCATIONS = sum(len(events) for functions in PLAN.values() for events in functions.values())
# A whole UTC day either side of now: the same range for every reader, whenever each asks.
TODAY = datetime.now(timezone.utc).date()
RANGE = {"from": str(TODAY - timedelta(days=1)), "to": str(TODAY + timedelta(days=1))}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    # Prices that make each invocation worth more than a cent and a fraction of one, so rounding shows.
    prices = tmp_path_factory.mktemp("prices") / "prices.json"
    prices.write_text(json.dumps({"requestsPerMillion": "12345", "duration": {"x86_64": [{"perGbSecond": "0.37"}]}}))
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A, LAMINA_PRICES=str(prices))
    process = LaminaProcess(tmp_path_factory.mktemp("operator"), env).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def invoked(server: LaminaProcess) -> LaminaProcess:
    """Every function of ``PLAN`` made in its cell and invoked, and the ledger written; the console's
    answer to its invoke of B's function in us-west-2 is in ``CONSOLE_ANSWER``."""
    for cell, functions in PLAN.items():
        account, region = cell.split("/")
        lam = client("lambda", server.endpoint, account, region)
        for name, events in functions.items():
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=role(server.endpoint, account),
                                Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CODE})},
                                MemorySize=256, Timeout=10)  # fmt: skip
            lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            for event in events[:-1] if cell == B_WEST else events:
                lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    CONSOLE_ANSWER[:] = [console_invoke(server.endpoint, "team-b-west", B_WEST, json.dumps(PLAN[B_WEST]["team-b-west"][-1]))]
    wait_until(lambda: get(server.endpoint, "/console/api/overview")[1]["total"]["invocations"] == INVOCATIONS)
    return server


CONSOLE_ANSWER: list[tuple[int, Any]] = []


def own_usage(endpoint: str, cell: str) -> dict[str, object]:
    """What the cell's account reads of its own usage (GET /lamina/v1/usage), signed with its key
    for the cell's region."""
    account, region = cell.split("/")
    key, secret = (KEY_A, SECRET_A) if account == ACCOUNT_A else (KEY_B, SECRET_B)
    lamina = LambdaClient(endpoint, credentials=Credentials(key, secret), region=region)
    return lamina.get_usage(by="function", start=RANGE["from"], end=RANGE["to"])


def console_invoke(endpoint: str, name: str, cell: str, payload: str) -> tuple[int, Any]:
    """The console's invoke, as its page sends it, for ``cell``."""
    headers = {"Content-Type": "application/json", "Origin": endpoint, "X-Lamina-Console-Token": page_token(endpoint)}
    status, _, body = request(endpoint, "POST", f"/console/api/functions/{name}/invoke?cell={cell}",
                              json.dumps({"payload": payload}).encode(), headers)  # fmt: skip
    return status, json.loads(body)


def cli(endpoint: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("LAMINA_", "AWS_"))}
    environ.update(LAMINA_ENDPOINT=endpoint, AWS_ACCESS_KEY_ID=KEY_A, AWS_SECRET_ACCESS_KEY=SECRET_A, **env)
    return subprocess.run([sys.executable, "-m", "lamina", *args], capture_output=True, text=True, env=environ,
                          timeout=120)  # fmt: skip


# -- the console's JSON, per cell -------------------------------------------------------------------


def test_every_cell_is_listed_the_default_first(invoked: LaminaProcess) -> None:
    status, doc = get(invoked.endpoint, "/console/api/cells")
    assert status == 200, doc
    assert [(c["cell"], c["default"], c["started"]) for c in doc["cells"]] == [
        (A, True, True), (B, False, True), (B_WEST, False, True)]  # fmt: skip
    assert doc["cells"][2]["account"] == ACCOUNT_B and doc["cells"][2]["region"] == "us-west-2"


def test_each_route_reads_the_cell_it_names(invoked: LaminaProcess) -> None:
    endpoint = invoked.endpoint
    for cell, functions in PLAN.items():
        status, listing = get(endpoint, f"/console/api/functions?cell={quote(cell, safe='')}")
        assert status == 200, listing
        assert sorted(f["name"] for f in listing["functions"]) == sorted(functions)
    assert [f["name"] for f in get(endpoint, "/console/api/functions")[1]["functions"]] == ["team-a"]  # the default

    status, detail = get(endpoint, f"/console/api/functions/team-b-slow?cell={B}")
    assert status == 200 and detail["function"]["name"] == "team-b-slow"
    assert get(endpoint, "/console/api/functions/team-b-slow")[0] == 404  # not in the default cell
    assert get(endpoint, f"/console/api/functions/team-a?cell={B}")[0] == 404

    series = get(endpoint, f"/console/api/functions/team-b-fast/series?minutes=30&cell={B}")[1]
    assert sum(series["invocations"]) == 3 and sum(series["errors"]) == 1
    logs = get(endpoint, f"/console/api/functions/team-b-west/logs?cell={B_WEST}")[1]
    assert any("REPORT RequestId" in e["message"] for e in logs["events"])

    status, result = CONSOLE_ANSWER[0]
    assert status == 200, result
    assert json.loads(result["payload"]) == {"arn": f"arn:aws:lambda:us-west-2:{ACCOUNT_B}:function:team-b-west"}


HOSTILE = [
    "../../etc/passwd", f"{ACCOUNT_B}/../../..", f"{ACCOUNT_B}/us-east-1/..", f"../{ACCOUNT_B}/us-east-1",
    f"{ACCOUNT_B}%252Fus-east-1", f"/{ACCOUNT_B}/us-east-1", f"{ACCOUNT_B}/US-EAST-1", "12345/us-east-1",
    f"{ACCOUNT_B}/us-east-1%00", f"{ACCOUNT_B}/" + "a" * 5000, f"{ACCOUNT_B}", "", "all", "%E2%80%AE",
    f"{ACCOUNT_B}/us-east-1&cell={ACCOUNT_A}/us-east-1",
]  # fmt: skip


@pytest.mark.parametrize("raw", HOSTILE)
def test_a_malformed_cell_is_refused_in_the_consoles_shape(invoked: LaminaProcess, raw: str) -> None:
    for path in ("/console/api/functions", "/console/api/functions/team-a/series", "/console/api/functions/team-a"):
        status, doc = get(invoked.endpoint, f"{path}?cell={raw}")
        assert status == 400, (path, raw, doc)
        assert doc["error"] == "InvalidParameterValueException" and "cell" in doc["message"]


def test_a_cell_that_does_not_exist_is_not_found_and_not_made(invoked: LaminaProcess) -> None:
    endpoint, cells_dir = invoked.endpoint, invoked.data_dir / "cells"
    before = sorted(str(p.relative_to(cells_dir)) for p in cells_dir.rglob("*"))
    # An account with no key, a real region B never used, the configured region of an account with none.
    for cell in ("333333333333/us-east-1", f"{ACCOUNT_B}/eu-west-1", f"{ACCOUNT_A}/us-west-2", "000000000000/us-east-1"):
        for path in ("/console/api/functions", "/console/api/usage", "/console/api/stats", "/console/api/overview"):
            status, doc = get(endpoint, f"{path}?cell={cell}")
            assert status == 404 and doc["error"] == "ResourceNotFoundException", (path, cell, doc)
        status, doc = console_invoke(endpoint, "team-a", cell, "{}")
        assert status == 404, doc
    assert sorted(str(p.relative_to(cells_dir)) for p in cells_dir.rglob("*")) == before
    assert len(get(endpoint, "/console/api/cells")[1]["cells"]) == 3


def test_the_operators_routes_keep_the_consoles_access_rules(invoked: LaminaProcess) -> None:
    for path in ("/console/api/cells", "/console/api/overview", "/console/api/usage", "/console/api/stats"):
        status, _, body = request(invoked.endpoint, "GET", path, headers={"Host": "lamina.example.com"})
        assert status == 403 and json.loads(body)["error"] == "AccessDenied", path


# -- usage, stats and the overview across cells -----------------------------------------------------


def test_usage_of_every_cell_is_each_accounts_own_and_adds_up_to_the_cent(invoked: LaminaProcess) -> None:
    query = f"from={RANGE['from']}&to={RANGE['to']}&by=function"
    status, every = get(invoked.endpoint, f"/console/api/usage?cell=all&{query}")
    assert status == 200, every
    assert [c["cell"] for c in every["cells"]] == [A, B, B_WEST]
    for cell in every["cells"]:
        own = own_usage(invoked.endpoint, cell["cell"])
        assert cell["rows"] == own["rows"] and cell["total"] == own["total"], cell["cell"]
        assert sorted(r["key"] for r in cell["rows"]) == sorted(PLAN[cell["cell"]])
        for name, amount in cell["total"]["cost"].items():  # a cell's rows add up to its total
            assert sum(Decimal(r["cost"][name]) for r in cell["rows"]) == Decimal(amount)
    total = every["total"]
    assert total["requests"] == INVOCATIONS == sum(c["total"]["requests"] for c in every["cells"])
    for name, amount in total["cost"].items():  # the overall total is the cells' totals added up
        assert Decimal(amount) == sum(Decimal(c["total"]["cost"][name]) for c in every["cells"]), name
        assert Decimal(total["exactCost"][name]) == sum(Decimal(c["total"]["exactCost"][name]) for c in every["cells"])
    assert all(Decimal(c["total"]["cost"]["total"]) > 0 for c in every["cells"])
    # Each cell's bill rounded, then added: within a cent per cell of the exact sum rounded.
    exact = Decimal(total["exactCost"]["total"]).quantize(Decimal("0.01"))
    assert abs(Decimal(total["cost"]["total"]) - exact) <= Decimal("0.01") * len(every["cells"])
    assert get(invoked.endpoint, f"/console/api/usage?{query}")[1] == every  # no cell: every cell

    status, one = get(invoked.endpoint, f"/console/api/usage?cell={B_WEST}&{query}")
    assert [c["cell"] for c in one["cells"]] == [B_WEST] and one["total"] == one["cells"][0]["total"]


def test_stats_across_cells_put_the_slowest_function_of_any_account_first(invoked: LaminaProcess) -> None:
    status, doc = get(invoked.endpoint, f"/console/api/stats?sort=p99&from={RANGE['from']}&to={RANGE['to']}")
    assert status == 200, doc
    rows = doc["functions"]
    assert (rows[0]["account"], rows[0]["region"], rows[0]["function"]) == (ACCOUNT_B, "us-east-1", "team-b-slow")
    assert rows[0]["durationMs"]["p99"] >= 300
    assert sorted((r["account"], r["region"], r["function"]) for r in rows) == sorted(
        (cell.split("/")[0], cell.split("/")[1], name) for cell, functions in PLAN.items() for name in functions)
    errors = {r["function"]: r["errors"] for r in rows}
    assert errors["team-b-fast"] == 1 and sum(errors.values()) == 1
    bad = get(invoked.endpoint, "/console/api/stats?sort=nonsense")
    assert bad[0] == 400 and bad[1]["error"] == "InvalidParameterValueException"
    assert get(invoked.endpoint, "/console/api/stats?unknown=1")[0] == 400


def test_the_overview_counts_each_cell_and_prices_it_as_usage_does(invoked: LaminaProcess) -> None:
    status, doc = get(invoked.endpoint, "/console/api/overview?minutes=120")
    assert status == 200, doc
    figures = {c["cell"]: (c["functions"], c["invocations"], c["errors"]) for c in doc["cells"]}
    assert figures == {A: (1, 2, 0), B: (2, 5, 1), B_WEST: (1, 2, 0)}
    assert doc["total"]["invocations"] == INVOCATIONS and doc["total"]["functions"] == 4
    # Priced as `lamina usage` prices the same range, to the cent, per cell and overall.
    usage = get(invoked.endpoint, f"/console/api/usage?from={doc['from']}&to={doc['to']}")[1]
    assert [c["cost"] for c in doc["cells"]] == [c["total"]["cost"]["total"] for c in usage["cells"]]
    assert doc["total"]["cost"] == usage["total"]["cost"]["total"]
    assert sum(Decimal(c["cost"]) for c in doc["cells"]) == Decimal(doc["total"]["cost"])
    for minutes in ("0", "44641", "-1", "1.5", "x"):
        assert get(invoked.endpoint, f"/console/api/overview?minutes={minutes}")[0] == 400


# -- the CLI, as a subprocess -----------------------------------------------------------------------


def test_lamina_usage_all_accounts_prints_every_cell_with_totals(invoked: LaminaProcess) -> None:
    endpoint = invoked.endpoint
    window = ["--from", RANGE["from"], "--to", RANGE["to"]]
    as_json = cli(endpoint, "usage", "--all-accounts", "--json", *window)
    assert as_json.returncode == 0, as_json.stderr
    api = get(endpoint, f"/console/api/usage?cell=all&by=function&from={RANGE['from']}&to={RANGE['to']}")[1]
    assert json.loads(as_json.stdout) == api

    as_csv = cli(endpoint, "usage", "--all-accounts", "--csv", *window)
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert list(rows[0])[:3] == ["CELL", "FUNCTION", "REQUESTS"]
    cell_totals = {r["CELL"]: Decimal(r["TOTAL $"]) for r in rows if r["FUNCTION"] == "TOTAL" and r["CELL"] != "ALL"}
    assert list(cell_totals) == [A, B, B_WEST]
    for cell, amount in cell_totals.items():
        assert sum(Decimal(r["TOTAL $"]) for r in rows if r["CELL"] == cell and r["FUNCTION"] != "TOTAL") == amount
    overall = [r for r in rows if r["CELL"] == "ALL"]
    assert len(overall) == 1 and Decimal(overall[0]["TOTAL $"]) == sum(cell_totals.values())
    assert int(overall[0]["REQUESTS"]) == INVOCATIONS
    assert Decimal(overall[0]["TOTAL $"]) == Decimal(api["total"]["cost"]["total"])

    table = cli(endpoint, "usage", "--all-accounts", *window)
    assert table.returncode == 0 and "CELL" in table.stdout and "team-b-west" in table.stdout, table.stderr

    one = cli(endpoint, "usage", "--account", ACCOUNT_B, "--region", "us-west-2", "--csv", *window)
    assert one.returncode == 0, one.stderr
    assert {r["CELL"] for r in csv.DictReader(io.StringIO(one.stdout))} == {B_WEST, "ALL"}
    # Without --region, the client's region.
    east = cli(endpoint, "usage", "--account", ACCOUNT_B, "--json", *window, AWS_REGION="us-east-1")
    assert [c["cell"] for c in json.loads(east.stdout)["cells"]] == [B]


def test_lamina_stats_all_accounts_names_the_slowest_function_and_its_account(invoked: LaminaProcess) -> None:
    done = cli(invoked.endpoint, "stats", "--all-accounts", "--csv", "--from", RANGE["from"], "--to", RANGE["to"])
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert (rows[0]["ACCOUNT"], rows[0]["REGION"], rows[0]["FUNCTION"]) == (ACCOUNT_B, "us-east-1", "team-b-slow")
    assert len(rows) == 4
    mine = cli(invoked.endpoint, "stats", "--csv", "--from", RANGE["from"], "--to", RANGE["to"])  # A's own: unchanged
    assert [r["FUNCTION"] for r in csv.DictReader(io.StringIO(mine.stdout))] == ["team-a"]


@pytest.mark.parametrize("args", [
    ["--account", "12345"], ["--account", "../../x"], ["--region", "us-east-1"],
    ["--all-accounts", "--account", ACCOUNT_B], ["--account", "333333333333"],
])  # fmt: skip
def test_the_cli_says_what_is_wrong_with_an_operators_question(invoked: LaminaProcess, args: list[str]) -> None:
    done = cli(invoked.endpoint, "usage", *args)
    assert done.returncode != 0 and done.stderr.startswith("lamina: "), done.stderr
    assert "Traceback" not in done.stderr


def test_with_a_console_token_only_the_token_reads_every_account(tmp_path: Path) -> None:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A, LAMINA_CONSOLE_TOKEN="s3cret-token")
    process = LaminaProcess(tmp_path / "data", env).start()
    try:
        refused = cli(process.endpoint, "usage", "--all-accounts")
        assert refused.returncode != 0 and "LAMINA_CONSOLE_TOKEN" in refused.stderr, refused.stderr
        wrong = cli(process.endpoint, "stats", "--all-accounts", LAMINA_CONSOLE_TOKEN="guess")
        assert wrong.returncode != 0 and "LAMINA_CONSOLE_TOKEN" in wrong.stderr
        allowed = cli(process.endpoint, "usage", "--all-accounts", "--json", LAMINA_CONSOLE_TOKEN="s3cret-token")
        assert allowed.returncode == 0, allowed.stderr
        assert [c["cell"] for c in json.loads(allowed.stdout)["cells"]] == [A]
    finally:
        process.stop()


# -- /metrics ---------------------------------------------------------------------------------------


def test_metrics_label_every_cells_functions_with_account_and_region(invoked: LaminaProcess) -> None:
    samples = scrape(invoked.endpoint)
    for cell, functions in PLAN.items():
        account, region = cell.split("/")
        for name, events in functions.items():
            assert value(samples, "lamina_invocations_total", account=account, region=region, function=name) == len(events)
    assert value(samples, "lamina_invocations_total", account=ACCOUNT_A, function="team-b-slow") == 0
    assert value(samples, "lamina_errors_total", account=ACCOUNT_B, region="us-east-1", function="team-b-fast") == 1


# -- the console in a browser -----------------------------------------------------------------------


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this host: run scripts/install/chromium.sh")
@pytest.mark.skipif(not (MODULES / "playwright-core").is_dir(), reason="no playwright-core: run scripts/install/console.sh")
def test_in_a_browser_the_overview_shows_every_cell_and_the_selector_opens_one(tmp_path: Path) -> None:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path / "data", env).start()
    try:
        for cell, name, times in ((A, "team-a", 1), (B, "team-b", 2)):
            account, region = cell.split("/")
            lam = client("lambda", process.endpoint, account, region)
            lam.create_function(FunctionName=name, Runtime="python3.11", Role=role(process.endpoint, account),
                                Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CODE})})  # fmt: skip
            lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            for _ in range(times):
                lam.invoke(FunctionName=name, Payload=b"{}")
        wait_until(lambda: get(process.endpoint, "/console/api/overview?minutes=1440")[1]["total"]["invocations"] == 3)
        shots = tmp_path / "shots"
        shots.mkdir()
        run = subprocess.run(
            ["node", str(Path(__file__).with_name("console_cells_browser.cjs")), process.endpoint, B, "team-b",
             str(shots), str(tmp_path / "profile")],
            capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(MODULES), "LAMINA_CHROMIUM": CHROMIUM or ""},
            timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
    finally:
        process.stop()
    seen = json.loads(run.stdout)
    assert seen["options"] == [A, B]
    rows = {row["cell"]: row["cells"] for row in seen["overview"]}
    assert rows[A][:5] == [f"{ACCOUNT_A} (default)", "us-east-1", "1", "1", "0"]
    assert rows[B][:5] == [ACCOUNT_B, "us-east-1", "1", "2", "0"]
    assert rows["total"][:4] == ["Total", "2", "3", "0"] and rows["total"][4] == "< 0.01"  # default prices: fractions of a cent
    assert seen["defaultFunctions"] == ["team-a"] and seen["cellFunctions"] == ["team-b"]
    assert seen["afterReload"] == {"hash": f"#/cells/{B}", "selected": B, "functions": ["team-b"]}
    assert seen["functionHash"] == f"#/cells/{B}/functions/team-b"
    assert json.loads(seen["result"]) == {"arn": f"arn:aws:lambda:us-east-1:{ACCOUNT_B}:function:team-b:$LATEST"}
    assert seen["invocationsBefore"] == 2 and seen["invocationsAfter"] == 3
    assert seen["errors"] == []
    assert seen["requests"] and all(url.startswith(process.endpoint + "/console/") for url in seen["requests"])
    if os.environ.get("LAMINA_CONSOLE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shots / "cells.png", SHOTS / "cells.png")
