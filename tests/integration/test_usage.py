"""Usage against a real server (docs/usage.md): invocations of known duration and memory are
billed as AWS's rules bill them, checked from the ledger's own rows (rounding up to 1 ms, the cold
start's init billed, GB-seconds, the free tier); GET /lamina/v1/usage and ``lamina usage`` answer
the same totals, which are the sum of their rows to the cent; hostile requests are refused."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests import signing
from tests.conftest import deploy, server_env
from tests.integration.test_accounts import ACCOUNT_A, KEY_A, KEY_B, KEYS, SECRET_A, SECRET_B
from tests.integration.test_accounts import client as account_client
from tests.integration.test_clients import lamina_cli

# A known init (100 ms at import) and a known duration (the event's milliseconds).
SLEEPER = "import time\ntime.sleep(0.1)\n\ndef handler(event, context):\n    time.sleep(event['ms'] / 1000)\n    return 1\n"
# AWS's us-east-1 list prices (https://aws.amazon.com/lambda/pricing/), first tier.
REQUEST = Decimal("0.20") / 1_000_000
PER_GB_S = {"x86_64": Decimal("0.0000166667"), "arm64": Decimal("0.0000133334")}
STORAGE_PER_GB_S = Decimal("0.0000000309")
CENT = Decimal("0.01")


def ledger(data_dir: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(data_dir / "lamina.db")) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM invocations ORDER BY started_ms")]


def get_usage(endpoint: str, query: str = "", *, key: str = "test", secret: str = "test") -> dict[str, Any]:
    with signing.urlopen(f"{endpoint}/lamina/v1/usage{query}", key=key, secret=secret) as answer:
        return dict(json.loads(answer.read()))


def refused(endpoint: str, query: str) -> tuple[int, dict[str, Any]]:
    try:
        signing.urlopen(f"{endpoint}/lamina/v1/usage{query}")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())
    raise AssertionError(f"{query} was answered")


def wait_for_requests(endpoint: str, count: int, **kw: Any) -> dict[str, Any]:
    """The usage once the recorder has written ``count`` invocations (it writes in batches)."""
    deadline = time.monotonic() + 30
    while True:
        report = get_usage(endpoint, **kw)
        if report["total"]["requests"] >= count or time.monotonic() > deadline:
            return report
        time.sleep(0.1)


def expected_cost(row: dict[str, Any]) -> Decimal:
    """One ledger row priced by hand: a request, GB-seconds at its architecture's price, storage."""
    gb_s = Decimal(row["billed_ms"]) * row["memory_mb"] / 1024 / 1000
    storage = Decimal(row["billed_ms"]) * max(0, row["ephemeral_mb"] - 512) / 1024 / 1000
    cost: Decimal = REQUEST + gb_s * PER_GB_S[row["architecture"]] + storage * STORAGE_PER_GB_S
    return cost


def test_billed_totals_are_what_aws_rules_give(make_server: Any, tmp_path: Path, fn_name: str) -> None:
    data_dir = tmp_path / "data"
    server = make_server(data_dir)
    lam = server.client()
    small, big = f"{fn_name}-128", f"{fn_name}-1024"
    deploy(lam, small, SLEEPER, MemorySize=128, Tags={"team": "red"})
    deploy(lam, big, SLEEPER, MemorySize=1024, Architectures=["arm64"], EphemeralStorage={"Size": 2048},
           Tags={"team": "blue"})  # fmt: skip
    version = lam.publish_version(FunctionName=big)["Version"]
    lam.create_alias(FunctionName=big, Name="live", FunctionVersion=version)
    reported = {}  # request id -> the REPORT line's Billed Duration
    for ms in (50, 20, 20):
        answer = lam.invoke(FunctionName=small, Payload=json.dumps({"ms": ms}), LogType="Tail")
        assert "FunctionError" not in answer
        tail = base64.b64decode(answer["LogResult"]).decode()
        billed = re.search(r"^REPORT RequestId: (\S+)\t.*\tBilled Duration: (\d+) ms\t", tail, re.M)
        assert billed is not None, tail
        reported[billed[1]] = int(billed[2])
    for ms in (30, 10):
        assert "FunctionError" not in lam.invoke(FunctionName=big, Qualifier="live", Payload=json.dumps({"ms": ms}))
    by_function = wait_for_requests(server.endpoint, 5)

    rows = ledger(data_dir)
    assert len(rows) == 5
    for fn, memory, arch, storage, sleeps in ((small, 128, "x86_64", 512, (50, 20, 20)),
                                              (big, 1024, "arm64", 2048, (30, 10))):  # fmt: skip
        mine = [r for r in rows if r["function"] == fn]
        assert [(r["memory_mb"], r["architecture"], r["ephemeral_mb"], r["provisioned"]) for r in mine] == [
            (memory, arch, storage, 0)] * len(sleeps)  # fmt: skip
        # The cold start's init is billed with its duration, rounded up once; the others' duration alone.
        assert mine[0]["init_ms"] is not None and mine[0]["init_ms"] >= 100
        assert all(r["init_ms"] is None for r in mine[1:])
        for r, slept in zip(mine, sleeps):
            assert r["billed_ms"] == math.ceil(r["duration_ms"] + (r["init_ms"] or 0))
            assert r["billed_ms"] >= slept + (100 if r["init_ms"] else 0)
    assert [r["qualifier"] for r in rows if r["function"] == big] == ["live", "live"]
    # The REPORT line and the ledger agree, the cold start's init included.
    assert {r["request_id"]: r["billed_ms"] for r in rows if r["function"] == small} == reported

    # The usage's cost per function is the ledger's rows priced by hand, exactly; the totals row
    # is the sum of the rows to the cent.
    exact = {row["key"]: Decimal(row["exactCost"]["total"]) for row in by_function["rows"]}
    assert exact == {fn: sum((expected_cost(r) for r in rows if r["function"] == fn), Decimal(0)) for fn in (small, big)}
    gb_s = {row["key"]: Decimal(row["gbSeconds"]) for row in by_function["rows"]}
    assert gb_s[big] == Decimal(sum(r["billed_ms"] for r in rows if r["function"] == big)) / 1000
    total = by_function["total"]
    assert Decimal(total["exactCost"]["total"]) == sum(exact.values())
    for name in total["cost"]:
        assert sum(Decimal(row["cost"][name]) for row in by_function["rows"]) == Decimal(total["cost"][name]), name
    assert total["requests"] == 5 and total["billedMs"] == sum(r["billed_ms"] for r in rows)

    by_alias = get_usage(server.endpoint, "?by=alias")
    assert {row["key"]: row["requests"] for row in by_alias["rows"]} == {f"{small}:$LATEST": 3, f"{big}:live": 2}

    # The CLI, for real: by tag, as a table, CSV and JSON.
    table = lamina_cli(server.endpoint, "usage", "--by", "tag:team")
    assert table.returncode == 0, table.stderr
    assert "TAG" in table.stdout and "red" in table.stdout and "blue" in table.stdout
    as_csv = lamina_cli(server.endpoint, "usage", "--by", "tag:team", "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    lines = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert lines[0][0] == "TAG:TEAM" and lines[-1][0] == "TOTAL"
    assert {line[0]: int(line[1]) for line in lines[1:-1]} == {"blue": 2, "red": 3}
    total_column = lines[0].index("TOTAL $")
    assert sum(Decimal(line[total_column]) for line in lines[1:-1]) == Decimal(lines[-1][total_column])
    as_json = lamina_cli(server.endpoint, "usage", "--by", "day", "--json")
    assert as_json.returncode == 0, as_json.stderr
    days = json.loads(as_json.stdout)
    assert days["total"]["exactCost"] == total["exactCost"]
    assert [row["key"] for row in days["rows"]] == [time.strftime("%Y-%m-%d", time.gmtime())]

    # The free tier: the month's first 1M requests and 400,000 GB-seconds cost nothing.
    assert server.stop() == 0
    server = make_server(data_dir, LAMINA_FREE_TIER="on")
    free = get_usage(server.endpoint)
    assert free["freeTier"] is True
    assert free["total"]["requests"] == 5
    assert Decimal(free["total"]["exactCost"]["duration"]) == 0 and Decimal(free["total"]["exactCost"]["requests"]) == 0
    # Ephemeral storage is not in the free tier: 1.5 GB beyond 512 MB for the big function's billed time.
    storage = sum(Decimal(r["billed_ms"]) * 1536 / 1024 / 1000 for r in rows if r["function"] == big)
    assert Decimal(free["total"]["exactCost"]["ephemeralStorage"]) == storage * STORAGE_PER_GB_S


def test_a_price_file_overrides_the_prices_and_a_bad_one_is_refused(
    make_server: Any, tmp_path: Path, fn_name: str
) -> None:  # fmt: skip
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"currency": "EUR", "requestsPerMillion": "1000000",
                                  "duration": {"x86_64": [{"perGbSecond": "0"}]}}))  # fmt: skip
    server = make_server(tmp_path / "data", LAMINA_PRICES=str(prices))
    lam = server.client()
    deploy(lam, fn_name, SLEEPER)
    for _ in range(3):
        lam.invoke(FunctionName=fn_name, Payload=json.dumps({"ms": 1}))
    report = wait_for_requests(server.endpoint, 3)
    assert report["currency"] == "EUR" and report["prices"]["requestsPerMillion"] == "1000000"
    assert report["total"]["cost"] == {"requests": "3.00", "duration": "0.00", "ephemeralStorage": "0.00",
                                       "provisionedConcurrency": "0.00", "provisionedDuration": "0.00", "total": "3.00"}  # fmt: skip
    server.stop()

    prices.write_text('{"requestsPerMillion": "-1"}')
    bad = refused_start(tmp_path, LAMINA_PRICES=str(prices))
    assert bad.returncode == 2 and "requestsPerMillion must be a finite number of 0 or more" in bad.stderr
    unknown = refused_start(tmp_path, LAMINA_FREE_TIER="maybe")
    assert unknown.returncode == 2 and "LAMINA_FREE_TIER must be on or off" in unknown.stderr


def refused_start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``lamina server`` with a configuration it refuses: it says why and stops (never listens)."""
    return subprocess.run([sys.executable, "-m", "lamina", "server", "--port", "0", "--data-dir", str(tmp_path / "x")],
                          capture_output=True, text=True, env=server_env(**env), timeout=60)  # fmt: skip


def test_hostile_usage_requests_are_refused(lamina: Any) -> None:
    for query, says in [
        ("?by=team", "cannot group by"),
        ("?by=tag", "say which tag"),
        ("?by=" + "x" * 4000, "cannot group by"),
        ("?from=yesterday", "must be a date"),
        ("?from=2026-02-30", "must be a date"),
        ("?from=2026-12-05&to=2026-12-01", "before"),
        ("?from=0001-01-01&to=2026-01-01", "before 1970"),
        ("?from=1970-01-01&to=2999-01-01", "at most 366 days"),
        ("?to=9999-12-31", "out of range"),
        ("?from=2026-12-01T00:00:00Z%27%3B--", "must be a date"),
        ("?limit=5", "unknown parameter"),
    ]:
        status, body = refused(lamina.endpoint, query)
        assert status == 400, (query, body)
        assert says in json.dumps(body), (query, body)
    try:  # unsigned: refused before anything is read
        urllib.request.urlopen(f"{lamina.endpoint}/lamina/v1/usage", timeout=30)
        raise AssertionError("an unsigned request was answered")
    except urllib.error.HTTPError as e:
        e.close()
        assert e.code == 403
    for args, says in [
        (("--by", "week"), "cannot group by"),
        (("--from", "2026-12-31", "--to", "2026-12-01"), "before"),
        (("--from", "not-a-date"), "must be a date"),
        (("--from", "1970-01-01"), "at most 366 days"),
        (("--csv", "--json"), "not both"),
    ]:
        done = lamina_cli(lamina.endpoint, "usage", *args)
        assert done.returncode == 2 and says in done.stderr, (args, done.stderr)


def test_an_account_sees_its_own_usage(make_server: Any, tmp_path: Path, fn_name: str) -> None:
    server = make_server(tmp_path / "data", LAMINA_ACCESS_KEYS=KEYS)
    a = account_client("lambda", server.endpoint, ACCOUNT_A)
    role = f"arn:aws:iam::{ACCOUNT_A}:role/usage"
    account_client("iam", server.endpoint, ACCOUNT_A).create_role(
        RoleName="usage", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))  # fmt: skip
    deploy(a, fn_name, SLEEPER, role=role)
    a.invoke(FunctionName=fn_name, Payload=json.dumps({"ms": 1}))
    mine = wait_for_requests(server.endpoint, 1, key=KEY_A, secret=SECRET_A)
    assert [row["key"] for row in mine["rows"]] == [fn_name]
    theirs = get_usage(server.endpoint, key=KEY_B, secret=SECRET_B)
    assert theirs["rows"] == [] and theirs["total"]["requests"] == 0
    assert theirs["total"]["cost"]["total"] == "0.00"


def test_a_killed_server_says_so_at_the_next_start(make_server: Any, tmp_path: Path, fn_name: str) -> None:
    data_dir = tmp_path / "data"
    server = make_server(data_dir)
    deploy(server.client(), fn_name, SLEEPER)
    server.client().invoke(FunctionName=fn_name, Payload=json.dumps({"ms": 1}))
    wait_for_requests(server.endpoint, 1)
    server.kill()
    again = make_server(data_dir)
    assert any("stopped without closing the usage ledger" in line for line in again.output), "".join(again.output)
    assert again.stop() == 0
    third = make_server(data_dir)
    assert not any("stopped without closing" in line for line in third.output)


def test_provisioned_concurrency_is_billed_for_its_allocated_time(make_server: Any, tmp_path: Path, fn_name: str) -> None:
    from tests.integration.test_concurrency import wait_ready

    data_dir = tmp_path / "data"
    server = make_server(data_dir)
    lam = server.client()
    deploy(lam, fn_name, SLEEPER, MemorySize=512)
    version = lam.publish_version(FunctionName=fn_name)["Version"]
    lam.create_alias(FunctionName=fn_name, Name="live", FunctionVersion=version)
    lam.put_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="live", ProvisionedConcurrentExecutions=2)
    wait_ready(lam, fn_name, "live")
    lam.invoke(FunctionName=fn_name, Qualifier="live", Payload=json.dumps({"ms": 5}))
    open_report = wait_for_requests(server.endpoint, 1)
    assert Decimal(open_report["total"]["provisionedGbSeconds"]) > 0  # allocated until now
    lam.delete_provisioned_concurrency_config(FunctionName=fn_name, Qualifier="live")

    rows = ledger(data_dir)
    assert [(r["provisioned"], r["init_ms"]) for r in rows] == [(1, None)]  # a provisioned environment's: no init
    assert rows[0]["billed_ms"] == math.ceil(rows[0]["duration_ms"])
    deadline = time.monotonic() + 30
    while True:  # the provisioner records the removal when it reconciles
        with closing(sqlite3.connect(data_dir / "lamina.db")) as db:
            allocations = db.execute("SELECT qualifier, version, memory_mb, environments, at_ms "
                                     "FROM provisioned_allocations ORDER BY at_ms").fetchall()  # fmt: skip
        if len(allocations) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [a[:4] for a in allocations] == [("live", version, 512, 2), ("live", version, 512, 0)]
    assert allocations[1][4] - allocations[0][4] < 5 * 60 * 1000
    # Allocated for less than five minutes: billed five minutes, 2 environments of 0.5 GB.
    closed = get_usage(server.endpoint, "?by=alias")
    assert [row["key"] for row in closed["rows"]] == [f"{fn_name}:live"]
    assert Decimal(closed["total"]["provisionedGbSeconds"]) == 2 * Decimal("0.5") * 300
    assert Decimal(closed["total"]["exactCost"]["provisionedConcurrency"]) == 300 * Decimal("0.0000041667")
    gb_s = Decimal(rows[0]["billed_ms"]) / 2 / 1000
    assert Decimal(closed["total"]["exactCost"]["provisionedDuration"]) == gb_s * Decimal("0.0000097222")
    assert Decimal(closed["total"]["exactCost"]["duration"]) == 0
