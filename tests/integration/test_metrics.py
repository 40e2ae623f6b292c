"""GET /metrics: what Lamina counts, read back with Prometheus's own parser (prometheus_client's),
from a server of the test's own, so every count is exact."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke, wait_until

OK = "def handler(event, context):\n    return {'ok': True}\n"
SLOW = "import time\ndef handler(event, context):\n    time.sleep(2)\n    return event\n"
FAILING = "def handler(event, context):\n    raise ValueError('boom')\n"
# What a function reaches of Lamina's API from inside its environment: not the metrics.
PEEK = """
import os, urllib.request, urllib.error
def handler(event, context):
    try:
        with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/metrics", timeout=5) as r:
            return {"status": r.status, "body": r.read(2000).decode(errors="replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read(2000).decode(errors="replace")}
"""
DLQ = "arn:aws:sqs:us-east-1:000000000000:metrics-dead-letters"
DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "lamina-dashboard.json"


def exposition(endpoint: str) -> str:
    with urllib.request.urlopen(f"{endpoint}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        return str(response.read().decode())


def scrape(endpoint: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels)."""
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(exposition(endpoint)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= set(found))


def status_of(endpoint: str, headers: dict[str, str]) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/metrics", headers=headers), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_invocations_errors_durations_cold_starts_throttles_and_dead_letters_are_counted(make_server: Any) -> None:
    server: LaminaProcess = make_server(LAMINA_ASYNC_RETRY_DELAYS="0")
    client = server.client()
    deploy(client, "ok", OK)
    deploy(client, "failing", FAILING, DeadLetterConfig={"TargetArn": DLQ})
    deploy(client, "off", OK)
    version = client.publish_version(FunctionName="ok")["Version"]
    client.create_alias(FunctionName="ok", Name="live", FunctionVersion=version)
    for _ in range(3):
        invoke(client, "ok")
    for _ in range(2):
        invoke(client, "ok", Qualifier="live")
    response, _, _ = invoke(client, "failing")
    assert response["FunctionError"] == "Unhandled"
    client.put_function_concurrency(FunctionName="off", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as refused:
        invoke(client, "off")
    assert refused.value.response["Error"]["Code"] == "TooManyRequestsException"
    client.put_function_event_invoke_config(FunctionName="failing", MaximumRetryAttempts=0)
    client.invoke(FunctionName="failing", InvocationType="Event", Payload=b"{}")

    # Records reach the metrics with the recorder's next batch, dead letters once the event is given up.
    samples = wait_until(lambda: (s := scrape(server.endpoint))
                         and value(s, "lamina_dead_letters_total", function="failing") == 1
                         and value(s, "lamina_invocations_total", function="failing") == 2 and s)  # fmt: skip
    cell = {"account": "000000000000", "region": "us-east-1"}
    assert value(samples, "lamina_invocations_total", **cell, function="ok", resource="ok", version="$LATEST") == 3
    assert value(samples, "lamina_invocations_total", function="ok", resource="ok:live", version=version) == 2
    assert value(samples, "lamina_errors_total", function="ok") == 0
    assert value(samples, "lamina_errors_total", function="failing", error_type="ValueError") == 2
    assert value(samples, "lamina_duration_seconds_count", function="ok", resource="ok") == 3
    assert value(samples, "lamina_duration_seconds_bucket", function="ok", resource="ok", le="+Inf") == 3
    assert 0 < value(samples, "lamina_duration_seconds_sum", function="ok", resource="ok") < 3 * 60
    # Billed: each invocation's duration rounded up to the millisecond, at least 1 ms; GB-s at 128 MB.
    billed = value(samples, "lamina_billed_duration_seconds_total", function="ok", resource="ok")
    assert billed >= 0.003
    assert value(samples, "lamina_gb_seconds_total", function="ok", resource="ok") == pytest.approx(billed * 128 / 1024)
    # One environment each for $LATEST and version 1: a cold start each, and their init durations.
    assert value(samples, "lamina_cold_starts_total", function="ok", version="$LATEST") == 1
    assert value(samples, "lamina_cold_starts_total", function="ok", version=version) == 1
    assert value(samples, "lamina_init_duration_seconds_count", function="ok") == 2
    assert value(samples, "lamina_throttles_total", function="off", resource="off",
                 reason="ReservedFunctionConcurrentInvocationLimitExceeded") == 1  # fmt: skip
    assert value(samples, "lamina_throttles_total", function="ok") == 0
    # Gauges, read as the scrape happens: the warm environments are idle, nothing runs, no event waits.
    assert value(samples, "lamina_environments", function="ok", version="$LATEST", state="idle") == 1
    assert value(samples, "lamina_environments", function="ok", state="busy") == 0
    assert value(samples, "lamina_concurrent_executions", function="ok") == 0

    # The Grafana dashboard in docs queries only what is served (families, with their samples' suffixes).
    served = set()
    for family in text_string_to_metric_families(exposition(server.endpoint)):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        served |= {family.name + suffix for suffix in suffixes}
    queried = set(re.findall(r"lamina_[a-z_]+", json.dumps(json.loads(DASHBOARD.read_text())["panels"])))
    assert queried and queried <= served, queried - served


def test_running_invocations_and_waiting_events_are_read_at_scrape_time(make_server: Any) -> None:
    server: LaminaProcess = make_server(LAMINA_ASYNC_THROTTLE_DELAY="0.2")
    client = server.client()
    deploy(client, "slow", SLOW, Timeout=30)
    client.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    for n in range(2):  # one runs, the other waits for it (throttled, retried)
        client.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"n": n}).encode())

    def both() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        s = scrape(server.endpoint)
        running = value(s, "lamina_concurrent_executions", function="slow") == 1
        return s if running and value(s, "lamina_async_events_waiting", function="slow") == 1 else None

    samples = wait_until(both, timeout=20)
    assert value(samples, "lamina_async_events_in_flight", function="slow") == 1
    assert value(samples, "lamina_async_event_age_seconds", function="slow") > 0
    assert value(samples, "lamina_environments", function="slow", state="busy") == 1
    assert value(samples, "lamina_throttles_total", function="slow",
                 reason="ReservedFunctionConcurrentInvocationLimitExceeded") >= 1  # fmt: skip
    # Both done: nothing runs or waits, and the queue's series go once its last event is finished.
    done = wait_until(lambda: (s := scrape(server.endpoint)) and value(s, "lamina_invocations_total", function="slow") == 2
                      and not [key for key in s if key[0].startswith("lamina_async_")] and s, timeout=30)  # fmt: skip
    assert value(done, "lamina_concurrent_executions", function="slow") == 0
    assert value(done, "lamina_environments", function="slow", state="idle") == 1


def test_metrics_need_the_configured_token_when_one_is_set(make_server: Any) -> None:
    server: LaminaProcess = make_server(LAMINA_METRICS_TOKEN="s3cret-token")
    assert status_of(server.endpoint, {}) == 401
    assert status_of(server.endpoint, {"Authorization": "Bearer wrong"}) == 401
    assert status_of(server.endpoint, {"Authorization": "Bearer s3cret-token-and-more"}) == 401
    assert status_of(server.endpoint, {"Authorization": "s3cret-token"}) == 401
    assert status_of(server.endpoint, {"Authorization": "Bearer s3cret-token"}) == 200
    # Not a signed API: a SigV4 Authorization header is no token.
    assert status_of(server.endpoint, {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/"
                                                        "lambda/aws4_request, SignedHeaders=host, Signature=00"}) == 401


def test_a_function_cannot_read_the_metrics(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PEEK)
    _, body, _ = invoke(client, fn_name)
    assert body["status"] != 200, body
    assert "lamina_" not in body["body"]
    assert json.loads(body["body"])["Type"] == "User"  # the Lambda API's UnknownOperation, as for any other path
