"""The native data plane serves runtimes that speak the Runtime API over HTTP/1.1 (Go's
aws-lambda-go, AWS's Java runtime interface client, a custom runtime), and Invokes with a client
context: warm invocations run in the plane (its counts, in /lamina/v1/health, tell which), with the
answers, logs and errors Python gives; what the plane does not read (a chunked result, a result on
another connection, a wrong request id, garbage, an oversized head or body) goes back to Python
with the environment and is answered as Python answers it, without harm to the plane."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lamina.dataplane import native
from tests.conftest import LaminaProcess, deploy, server_env
from tests.integration import test_java
from tests.integration.test_java import AVAILABLE, RUNTIME, Build, deploy_java
from tests.integration.test_native_plane import counts, log_lines
from tests.integration.test_provided import deploy_go, go_build

pytestmark = pytest.mark.skipif(not native.available(), reason="lamina_native is not built (no cargo)")
build = test_java.build  # the Java functions' build (a fixture)

# A custom runtime in bash (builtins only) that keeps one HTTP/1.1 connection to the Runtime API
# open, as AWS's runtime clients do; the event's "mode" makes it misbehave in a chosen way.
BASH_RUNTIME = r"""#!/bin/bash
set -uo pipefail
export LC_ALL=C
HOST=${AWS_LAMBDA_RUNTIME_API%:*}
PORT=${AWS_LAMBDA_RUNTIME_API##*:}
API=/2018-06-01/runtime/invocation
exec 3<>"/dev/tcp/$HOST/$PORT"

# answer FD: one HTTP answer read from FD: STATUS, BODY, and the event's REQUEST_ID and CONTEXT;
# LINES: its status and header lines, as a JSON array.
answer() {
    local fd=$1 line name value length=0
    IFS= read -r line <&"$fd" || exit 9
    line=${line%$'\r'}
    STATUS=${line#* }
    STATUS=${STATUS%% *}
    LINES="[\"$line\""
    while IFS= read -r line <&"$fd"; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        value=${line//\\/\\\\}
        LINES+=", \"${value//\"/\\\"}\""
        name=${line%%:*}
        value=${line#*: }
        case ${name,,} in
        content-length) length=$value ;;
        lambda-runtime-aws-request-id) REQUEST_ID=$value ;;
        lambda-runtime-client-context) CONTEXT=$value ;;
        esac
    done
    LINES+="]"
    BODY=
    if [ "$length" -gt 0 ]; then IFS= read -r -N "$length" BODY <&"$fd" || true; fi
}

# post FD PATH BODY [HEADER LINES]
post() {
    printf 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n%s' \
        "$2" "$AWS_LAMBDA_RUNTIME_API" "${4-}" "${#3}" "$3" >&"$1"
    answer "$1"
}

while true; do
    CONTEXT=null
    printf 'GET %s/next HTTP/1.1\r\nHost: %s\r\nUser-Agent: bash\r\n\r\n' "$API" "$AWS_LAMBDA_RUNTIME_API" >&3
    answer 3
    EVENT=$BODY
    EVENT_LINES=$LINES
    MODE=echo
    [[ $EVENT =~ \"mode\":\ \"([a-z]+)\" ]] && MODE=${BASH_REMATCH[1]}
    echo "mode $MODE in $REQUEST_ID"
    case $MODE in
    error) post 3 "$API/$REQUEST_ID/error" '{"errorMessage": "it failed", "errorType": "Bash.Failure"}' \
               $'Lambda-Runtime-Function-Error-Type: Bash.Failure\r\n' ;;
    untyped) post 3 "$API/$REQUEST_ID/error" '{"errorMessage": "typed in the document", "errorType": "Doc.Type"}' ;;
    crash) exit 7 ;;
    sleep) read -r -t 10 <&3 ;;
    chunked) printf 'POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{"via"\r\nb\r\n: "chunks"}\r\n0\r\n\r\n' \
                 "$API/$REQUEST_ID/response" >&3
             answer 3 ;;
    trailer) printf 'POST %s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n12\r\n{"via": "trailer"}\r\n0\r\nX-Why: not\r\n\r\n' \
                 "$API/$REQUEST_ID/response" >&3
             answer 3 ;;
    another) exec 4<>"/dev/tcp/$HOST/$PORT"
             post 4 "$API/$REQUEST_ID/response" '{"via": "another connection"}' $'Connection: close\r\n'
             exec 4<&- ;;
    expect) body='{"via": "100-continue"}'
            printf 'POST %s HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n' \
                "$API/$REQUEST_ID/response" "${#body}" >&3
            IFS= read -r line <&3 && IFS= read -r blank <&3  # "HTTP/1.1 100 Continue", then its end
            [[ $line == "HTTP/1.1 100 Continue"* ]] || exit 10
            printf '%s' "$body" >&3
            answer 3 ;;
    lines) post 3 "$API/$REQUEST_ID/response" "$EVENT_LINES" ;;
    reconnect) exec 3<&-  # as curl does, a process (and a connection) per request
               exec 3<>"/dev/tcp/$HOST/$PORT"
               post 3 "$API/$REQUEST_ID/response" '{"via": "a new connection"}' ;;
    wrongid) post 3 "$API/not-$REQUEST_ID/response" '{"wrong": true}'
             post 3 "$API/$REQUEST_ID/response" "{\"refused\": $STATUS}" ;;
    garbage) printf 'garbage\r\n\r\n' >&3
             answer 3
             exit 8 ;;
    bighead) printf -v pad '%*s' 70000 ''
             printf 'POST %s HTTP/1.1\r\nX-Big: %s\r\n\r\n' "$API/$REQUEST_ID/response" "${pad// /a}" >&3
             answer 3
             exit 8 ;;
    hugebody) printf 'POST %s HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n' "$API/$REQUEST_ID/response" >&3
              answer 3
              exit 8 ;;
    *) post 3 "$API/$REQUEST_ID/response" "{\"echo\": $EVENT, \"context\": $CONTEXT, \"pid\": $$}" ;;
    esac
done
"""
CONTEXT = "def handler(event, context):\n    cc = context.client_context\n    return cc.custom if cc else None\n"
ECHO = "def handler(event, context):\n    return event\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    started = LaminaProcess(tmp_path_factory.mktemp("native"), server_env()).start()
    try:
        client = started.client()
        deploy(client, "bash", {"bootstrap": BASH_RUNTIME}, runtime="provided.al2023", Timeout=2)
        deploy(client, "context", CONTEXT)
        deploy(client, "echo", ECHO)
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def client(server: LaminaProcess) -> Any:
    return server.client()


@pytest.fixture(scope="module")
def python_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    """A server without the native plane, to compare with."""
    started = LaminaProcess(tmp_path_factory.mktemp("python"), server_env(LAMINA_DATA_PLANE="python")).start()
    try:
        deploy(started.client(), "bash", {"bootstrap": BASH_RUNTIME}, runtime="provided.al2023", Timeout=2)
        yield started
    finally:
        started.stop()


def call(client: Any, name: str, event: Any = None, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(event if event is not None else {}), **kwargs)
    raw = response["Payload"].read()
    return response, json.loads(raw) if raw else None


def warm(client: Any, name: str, event: Any = None) -> None:
    """Two invocations: after them the environment is lent, and the caller holds a permit."""
    for _ in range(2):
        response, body = call(client, name, event)
        assert "FunctionError" not in response, body


def natively(server: LaminaProcess, client: Any, name: str, event: Any = None, *, given_back: int = 0,
             **kwargs: Any) -> tuple[dict[str, Any], Any]:  # fmt: skip
    """One invocation, asserted to be run by the plane (and given back to Python ``given_back`` times)."""
    before = counts(server)
    response, body = call(client, name, event, **kwargs)
    after = counts(server)
    assert (after["served"] - before["served"], after["givenBack"] - before["givenBack"]) == (1, given_back), body
    return response, body


def request_id(response: dict[str, Any]) -> str:
    return str(response["ResponseMetadata"]["RequestId"])


# -- a custom runtime -------------------------------------------------------------------------


def test_a_custom_runtime_is_served_natively_with_its_logs_and_report(server: LaminaProcess, client: Any) -> None:
    warm(client, "bash")
    pids = set()
    for n in range(3):
        response, body = natively(server, client, "bash", {"n": n})
        assert response["StatusCode"] == 200 and "FunctionError" not in response
        assert response["ExecutedVersion"] == "$LATEST"
        assert (body["echo"], body["context"]) == ({"n": n}, None)
        pids.add(body["pid"])
    _, body = natively(server, client, "bash", {"mode": "chunked"})  # a chunked result, as Go sends them
    assert body == {"via": "chunks"}
    _, body = natively(server, client, "bash", {"mode": "expect"})  # its body sent once told to go on
    assert body == {"via": "100-continue"}
    assert len(pids) == 1  # one environment, warm
    lines = log_lines(server, "bash", request_id(response))
    assert lines[1] == f"mode echo in {request_id(response)}\n"
    assert lines[-2].startswith(f"END RequestId: {request_id(response)}")
    assert lines[-1].startswith(f"REPORT RequestId: {request_id(response)}\tDuration: ")
    assert "Init Duration" not in lines[-1]


def test_function_errors_are_answered_natively(server: LaminaProcess, client: Any) -> None:
    warm(client, "bash")
    response, body = natively(server, client, "bash", {"mode": "error"})
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorMessage": "it failed", "errorType": "Bash.Failure"}
    response, body = natively(server, client, "bash", {"mode": "untyped"})  # the type read from the document
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Doc.Type"
    _, body = natively(server, client, "bash", {})  # the environment serves on
    assert body["echo"] == {}
    lines = log_lines(server, "bash", request_id(response))
    assert lines[-1].startswith(f"REPORT RequestId: {request_id(response)}")


def test_a_timeout_is_given_back_and_ended_as_python_ends_it(server: LaminaProcess, client: Any) -> None:
    warm(client, "bash")
    response, body = natively(server, client, "bash", {"mode": "sleep"}, given_back=1)
    assert response["FunctionError"] == "Unhandled"
    message = f"RequestId: {request_id(response)} Error: Task timed out after 2.00 seconds"
    assert body == {"errorMessage": message, "errorType": "Sandbox.Timedout"}
    warm(client, "bash")


def test_a_runtime_that_dies_mid_invocation(server: LaminaProcess, client: Any) -> None:
    warm(client, "bash")
    response, body = natively(server, client, "bash", {"mode": "crash"}, given_back=1)
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ExitError", body
    warm(client, "bash")


@pytest.mark.parametrize(("mode", "expected"), [
    ("trailer", {"via": "trailer"}),  # a chunked body with trailers
    ("another", {"via": "another connection"}),  # beside the lent one
    ("reconnect", {"via": "a new connection"}),  # the lent one closed
    ("wrongid", {"refused": 400}),  # Python's answer to the wrong id, then the result
])  # fmt: skip
def test_what_the_plane_does_not_read_goes_to_python_and_is_answered(server: LaminaProcess, client: Any, mode: str,
                                                                      expected: Any) -> None:  # fmt: skip
    warm(client, "bash")
    response, body = natively(server, client, "bash", {"mode": mode}, given_back=1)
    assert "FunctionError" not in response and body == expected
    # The environment, back in Python's hands and idle again, is lent once more.
    _, first = call(client, "bash")
    _, again = natively(server, client, "bash")
    assert first["pid"] == again["pid"]


@pytest.mark.parametrize(("mode", "error_type"), [
    ("garbage", "Runtime.ExitError"),
    ("bighead", "Runtime.ExitError"),
    ("hugebody", "Function.ResponseSizeTooLarge"),
])  # fmt: skip
def test_a_hostile_runtime_harms_neither_the_plane_nor_other_lanes(server: LaminaProcess, client: Any, mode: str,
                                                                    error_type: str) -> None:  # fmt: skip
    warm(client, "bash")
    response, body = natively(server, client, "bash", {"mode": mode}, given_back=1)
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == error_type, body
    warm(client, "echo", {"e": 1})
    _, body = natively(server, client, "echo", {"e": 2})
    assert body == {"e": 2}
    warm(client, "bash")  # a new environment for the function
    _, body = natively(server, client, "bash", {"after": mode})
    assert body["echo"] == {"after": mode}


def test_the_runtime_is_handed_the_event_as_python_hands_it(server: LaminaProcess, client: Any,
                                                            python_server: LaminaProcess) -> None:  # fmt: skip
    context = encoded({"custom": {"quoted": 'a "b" \\ c'}})  # escapes kept as sent
    seen = {}
    for name, on in (("native", server), ("python", python_server)):
        each = on.client()
        warm(each, "bash")
        if name == "native":
            response, lines = natively(on, each, "bash", {"mode": "lines"}, ClientContext=context)
        else:
            response, lines = call(each, "bash", {"mode": "lines"}, ClientContext=context)
        rid = request_id(response)
        assert f"Lambda-Runtime-Aws-Request-Id: {rid}" in lines
        seen[name] = [re.sub(r"\d{13}", "<deadline>", re.sub(r"Root=[^;]*;Parent=[^;]*", "<trace>", line.replace(rid, "<id>")))
                      for line in lines]  # fmt: skip
    assert seen["native"] == seen["python"]
    assert seen["native"][:2] == ["HTTP/1.1 200 OK", "Content-Type: application/json"]
    assert r'Lambda-Runtime-Client-Context: {"custom": {"quoted": "a \"b\" \\ c"}}' in seen["native"]


# -- client contexts --------------------------------------------------------------------------


def encoded(doc: Any) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def test_a_client_context_is_passed_natively(server: LaminaProcess, client: Any) -> None:
    context = {"custom": {"k": "v\u00e9"}, "env": {"platform": "bash"}, "client": {"installation_id": "i-1"}}
    warm(client, "context")
    _, body = natively(server, client, "context", ClientContext=encoded(context))
    assert body == {"k": "v\u00e9"}
    warm(client, "bash")
    _, body = natively(server, client, "bash", {"n": 1}, ClientContext=encoded(context))
    assert body["context"] == context
    _, body = natively(server, client, "bash", {"n": 2})  # none the next time
    assert body["context"] is None


def test_a_client_context_cannot_add_lines_to_the_event_a_runtime_reads(server: LaminaProcess, client: Any) -> None:
    """JSON may have line breaks between its tokens: they never reach the runtime's headers."""
    hostile = b'{"custom":\r\nLambda-Runtime-Aws-Request-Id: forged\r\n\r\n{"a": 1}}'
    context = base64.b64encode(b'{"custom": {"a": 1},\r\n"x\\r\\nInjected: 1": "\\r\\n"}').decode()
    assert json.loads(base64.b64decode(context)) == {"custom": {"a": 1}, "x\r\nInjected: 1": "\r\n"}
    with pytest.raises(ClientError):  # not JSON: refused
        client.invoke(FunctionName="bash", ClientContext=base64.b64encode(hostile).decode())
    warm(client, "bash")
    response, lines = call(client, "bash", {"mode": "lines"}, ClientContext=context)
    rid = request_id(response)
    assert [line for line in lines if line.startswith("Lambda-Runtime-Aws-Request-Id:")] == [
        f"Lambda-Runtime-Aws-Request-Id: {rid}"]
    assert not any(line.startswith("Injected") for line in lines), lines
    header = [line for line in lines if line.startswith("Lambda-Runtime-Client-Context: ")]
    assert len(header) == 1 and json.loads(header[0].split(": ", 1)[1]) == json.loads(base64.b64decode(context))
    _, body = call(client, "context", ClientContext=context)
    assert body == {"a": 1}


NOT_AN_OBJECT = "Client context must be a valid Base64-encoded JSON object."


@pytest.mark.parametrize(("context", "message"), [
    ("not base64!", NOT_AN_OBJECT),
    (base64.b64encode(b"[1, 2]").decode(), NOT_AN_OBJECT),
    (base64.b64encode(b"{not json").decode(), NOT_AN_OBJECT),
    (encoded({"custom": {"x": "y" * 3600}}), "Client context must be smaller than 3583 bytes"),
])  # fmt: skip
def test_an_invalid_client_context_is_refused_by_python(server: LaminaProcess, client: Any, context: str,
                                                        message: str) -> None:  # fmt: skip
    warm(client, "context")
    before = counts(server)
    with pytest.raises(ClientError) as refused:
        client.invoke(FunctionName="context", ClientContext=context)
    after = counts(server)
    assert refused.value.response["Error"] == {"Code": "InvalidParameterValueException", "Message": message}
    assert after["served"] == before["served"] and after["missed"] - before["missed"] == 1


# -- Go and Java ------------------------------------------------------------------------------


def test_a_go_function_is_served_natively(server: LaminaProcess, client: Any) -> None:
    deploy_go(client, "go", go_build("probe"), Timeout=5)
    warm(client, "go", {"name": "warm"})
    for n in range(3, 6):
        response, body = natively(server, client, "go", {"name": "Gopher"})
        assert body["greeting"] == "Hello, Gopher!" and body["invocations"] == n
        assert body["awsRequestId"] == request_id(response)
    response, body = natively(server, client, "go", {"name": "Gopher", "action": "custom-error"})
    assert response["FunctionError"] == "Unhandled"
    assert body == {"errorMessage": "order 42 not found", "errorType": "OrderError"}
    errored = request_id(response)
    # A panic: reported, then the runtime exits (after its answer, which the plane gave).
    response, body = natively(server, client, "go", {"name": "Gopher", "action": "panic"})
    assert response["FunctionError"] == "Unhandled" and body["errorType"] == "string"
    _, body = call(client, "go", {"name": "anew"})
    assert body["invocations"] == 1
    lines = log_lines(server, "go", errored)
    assert lines[-1].startswith(f"REPORT RequestId: {errored}")


@pytest.mark.skipif(AVAILABLE[RUNTIME] is None, reason="no JDK 17 or no AWS Java runtime interface client")
def test_a_java_function_is_served_natively(server: LaminaProcess, client: Any, build: Build) -> None:
    deploy_java(client, "java", build, "example.Hello::handleRequest")
    warm(client, "java", {"name": "warm"})
    # A JVM on a loaded machine may ask for its next event only after Python released its
    # environment (kept, not lent): an invocation more or two, until the plane serves one.
    for _ in range(5):
        before = counts(server)["served"]
        call(client, "java", {"name": "warm"})
        if counts(server)["served"] > before:
            break
    for name in ("Duke", "Lamina"):
        response, body = natively(server, client, "java", {"name": name})
        assert "FunctionError" not in response and body == f"Hello, {name}!"
    lines = log_lines(server, "java", request_id(response))
    assert "hello-line Lamina\n" in lines
    assert lines[-1].startswith(f"REPORT RequestId: {request_id(response)}")
