"""What a hostile function returns or posts as its error cannot crash or stall Lamina.

The function is a custom runtime whose bootstrap posts raw bytes to the Runtime API: documents no
language runtime would write (100,000 levels of nested lists; 6 MB of small numbers), as results
served through function URLs and as error bodies posted without the error-type header. Each must
get the answer AWS gives (502 for a result it cannot parse, the error body as it was posted), while
other requests keep completing.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import deploy
from tests.integration.test_function_urls import call, url_parts

DEPTH = 100_000
DEEP = b"[" * DEPTH + b"]" * DEPTH
NUMBERS = b"[" + b",".join([b"7"] * 2_999_999) + b"]"  # 6,000,000 bytes, within the 6 MB limit
SMALL_DEEP = b"[" * 5_000 + b"]" * 5_000  # small enough to be parsed, too deep for Python's parser

BOOTSTRAP = '''#!{python}
"""Answers each event with the document its rawPath names, as raw bytes."""
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
# Each made when asked for, within the invocation's timeout: made before the first /next, they
# would take the environment's init past its deadline on a busy machine.
documents = {{
    "deep": lambda: b"[" * {depth} + b"]" * {depth},
    "small-deep": lambda: b"[" * 5000 + b"]" * 5000,
    "numbers": lambda: b"[" + b",".join([b"7"] * 2999999) + b"]",
    "hello": lambda: b'{{"statusCode": 200, "body": "hello"}}',
}}
while True:
    with urllib.request.urlopen(api + "next") as event:
        request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
        path = json.loads(event.read())["rawPath"].strip("/")
    kind, _, name = path.rpartition("/")
    # An error posted without Lambda-Runtime-Function-Error-Type: Lamina looks in the body.
    post = urllib.request.Request(api + request_id + ("/error" if kind == "error" else "/response"),
                                  data=documents[name](), method="POST")
    urllib.request.urlopen(post).close()
'''


def deploy_hostile(client: Any, name: str) -> None:
    python = os.path.realpath(sys.executable)
    deploy(client, name, {"bootstrap": BOOTSTRAP.format(python=python, depth=DEPTH)}, runtime="provided.al2023",
           handler="unused", Timeout=30, MemorySize=512)  # fmt: skip


def test_error_bodies_too_deep_to_parse_are_the_functions_error(client: Any, fn_name: str) -> None:
    deploy_hostile(client, fn_name)
    for name, posted in (("deep", DEEP), ("small-deep", SMALL_DEEP)):
        response = client.invoke(FunctionName=fn_name, Payload=json.dumps({"rawPath": f"/error/{name}"}))
        assert response["FunctionError"] == "Unhandled"
        assert response["Payload"].read() == posted  # not a timeout: the Runtime API took the error
    # The environment still serves.
    response = client.invoke(FunctionName=fn_name, Payload=json.dumps({"rawPath": "/hello"}))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"statusCode": 200, "body": "hello"}


def test_url_results_too_deep_or_too_many_values_are_mapped_while_others_complete(
    client: Any, lamina: Any, fn_name: str
) -> None:
    deploy_hostile(client, fn_name)
    buffered = client.create_function_url_config(FunctionName=fn_name, AuthType="NONE")
    stream_fn = f"{fn_name[:50]}-stream"
    deploy_hostile(client, stream_fn)
    streamed = client.create_function_url_config(FunctionName=stream_fn, AuthType="NONE", InvokeMode="RESPONSE_STREAM")
    host = url_parts(buffered["FunctionUrl"])[1]
    stream_host = url_parts(streamed["FunctionUrl"])[1]

    def get(target: str, path: str) -> tuple[int, str, bytes]:
        status, headers, body = call(lamina.endpoint, path, host=target)
        return status, headers["Content-Type"], body

    requests = (
        [(host, "/deep")] * 2 + [(host, "/numbers")] * 2 + [(stream_host, "/deep")] * 2 + [(host, "/small-deep")]
        + [(host, "/hello"), (stream_host, "/hello")] * 3
    )  # fmt: skip
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        answers = list(pool.map(lambda request: get(*request), requests))
    expected = {
        (host, "/deep"): (502, "application/json", b"Internal Server Error"),  # unparseable, as AWS answers
        (host, "/small-deep"): (502, "application/json", b"Internal Server Error"),
        (host, "/numbers"): (200, "application/json", NUMBERS),
        (stream_host, "/deep"): (200, "application/octet-stream", DEEP),  # a stream is passed through
        (host, "/hello"): (200, "application/json", b"hello"),
        (stream_host, "/hello"): (200, "application/json", b'{"statusCode": 200, "body": "hello"}'),
    }
    for request, answer in zip(requests, answers):
        assert answer == expected[request], (request, answer[:2], answer[2][:100])
