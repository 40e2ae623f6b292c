"""Scaling limits: the account's concurrency and each function's scale-up rate, as Lambda throttles."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import deploy

SLOW = "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'done'\n"


def run_in_threads(client_factory: Any, fn: str, payloads: list[bytes]) -> tuple[list[threading.Thread], list[Any]]:
    """Start one invocation per payload, each in a thread with its own client; results fill in as they end."""
    results: list[Any] = [None] * len(payloads)

    def run(i: int) -> None:
        try:
            response = client_factory().invoke(FunctionName=fn, Payload=payloads[i])
            results[i] = json.loads(response["Payload"].read())
        except ClientError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    return threads, results


def health(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + "/lamina/v1/health", timeout=5) as response:
        return dict(json.loads(response.read()))


def test_account_concurrency_limit_throttles(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_ACCOUNT_CONCURRENCY="2")
    client = server.client()
    deploy(client, fn_name, SLOW, Timeout=30)
    threads, results = run_in_threads(server.client, fn_name, [b'{"sleep": 3}'] * 2)
    try:
        # Wait until both run (two environments busy), then a third call is throttled at once.
        for _ in range(200):
            if health(server.endpoint)["inUse"] == 2:
                break
            threading.Event().wait(0.05)
        assert health(server.endpoint)["inUse"] == 2
        with pytest.raises(ClientError) as exc:
            client.invoke(FunctionName=fn_name, Payload=b"{}")
        error = exc.value.response
        assert error["Error"]["Code"] == "TooManyRequestsException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert error["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert int(error["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
        # The control plane and health answer while invocations are throttled.
        assert health(server.endpoint)["status"] == "ok"
        assert client.get_function(FunctionName=fn_name)["Configuration"]["State"] == "Active"
    finally:
        for t in threads:
            t.join(60)
    assert results == ["done", "done"]
    assert json.loads(client.invoke(FunctionName=fn_name, Payload=b"{}")["Payload"].read()) == "done"


def test_scale_up_rate_limit_throttles_cold_starts(make_server: Any, fn_name: str) -> None:
    server = make_server(LAMINA_SCALE_UP_LIMIT="2")
    deploy(server.client(), fn_name, SLOW, Timeout=30)
    threads, results = run_in_threads(server.client, fn_name, [b'{"sleep": 2}'] * 3)
    for t in threads:
        t.join(60)
    throttled = [r for r in results if isinstance(r, ClientError)]
    assert len(throttled) == 1 and results.count("done") == 2, results
    response = throttled[0].response
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Reason"] == "FunctionInvocationRateLimitExceeded"
    # Warm environments are not new ones: they serve without limit.
    for _ in range(3):
        assert json.loads(server.client().invoke(FunctionName=fn_name, Payload=b"{}")["Payload"].read()) == "done"
