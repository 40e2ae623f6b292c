"""The framed Runtime API, attacked from inside a function.

A function opens framed connections of its own to ``AWS_LAMBDA_RUNTIME_API`` next to its runtime's
and sends what no runtime would: malformed frames, frames of unknown kinds, a 2 GB frame (of which
it sends 128 MB), endless partial frames, results and errors for request ids that are not its
invocation's. None of it may change its own invocation's result, stall its environment, another
function or the server, or make the server hold what it is sent.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.conftest import LaminaProcess, deploy
from tests.functions import invoke

HOSTILE = r'''
import os, socket, struct, threading, time

KEPT = []  # connections left open on purpose, across invocations
SEEN = []  # request ids of earlier invocations


def framed():
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"LAMINA1\n")
    return sock


def frame(kind, body=b""):
    return struct.pack(">I", len(body) + 1) + kind + body


def closed_by_server(sock):
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def garbage():
    seen = {}
    for name, data in (("zero_length", b"\x00\x00\x00\x00garbage"),
                       ("response_without_newline", frame(b"R", b"no newline here")),
                       ("error_without_type", frame(b"X", b"some-id\nno second newline")),
                       ("init_error_without_newline", frame(b"I", b"nothing"))):
        sock = framed()
        sock.sendall(data)
        seen[name] = closed_by_server(sock)
        sock.close()
    unknown = framed()  # unknown kinds are dropped; the connection stays
    unknown.sendall(frame(b"Z", os.urandom(5000)) + frame(b"?") + frame(b"e", b"an event, from the wrong side"))
    KEPT.append(unknown)
    noise = socket.create_connection(unknown.getpeername(), timeout=10)  # not a preface: HTTP, and nonsense
    noise.sendall(b"\xff" + os.urandom(4000))
    KEPT.append(noise)
    return seen


def huge():
    chunk = b"\0" * (1 << 20)
    claimed = framed()
    claimed.sendall(struct.pack(">I", 2**31) + b"Rmade-up-request-id\n")
    for _ in range(128):
        claimed.sendall(chunk)
    unknown = framed()
    unknown.sendall(b"\xff\xff\xff\xffQ" + chunk * 8)
    KEPT.extend([claimed, unknown])
    return {"sent_mb": 128 + 8}


def dribble():
    """A frame that never ends, a byte at a time, for as long as the environment lives; and many
    connections holding the start of a frame."""
    def forever():
        sock = framed()
        sock.sendall(struct.pack(">I", 2**31 - 1) + b"R")
        while True:
            sock.sendall(b"x")
            time.sleep(0.005)
    threading.Thread(target=forever, daemon=True).start()
    for n in range(50):
        sock = framed()
        sock.sendall(frame(b"R", b"id\n" + b"y" * 1000)[: 3 + n])
        KEPT.append(sock)
    return {"dribbling": True}


def forged(context):
    sock = framed()
    made_up = (frame(b"R", b"made-up-request-id\n{\"forged\": true}")
               + frame(b"X", b"another-made-up-id\nForged\n{\"errorType\": \"Forged\"}")
               + frame(b"R", SEEN[-1].encode() + b"\n{\"replayed\": true}")  # an earlier invocation's id
               + frame(b"I", b"Runtime.Forged\n{}"))
    sock.sendall(made_up)
    KEPT.append(sock)
    time.sleep(0.2)  # read by the server before this invocation's own result
    return {"forged": 4}


def handler(event, context):
    attack = event["attack"]
    if attack == "garbage":
        out = garbage()
    elif attack == "huge":
        out = huge()
    elif attack == "dribble":
        out = dribble()
    elif attack == "forged":
        out = forged(context)
    else:
        out = {}
    SEEN.append(context.aws_request_id)
    return {"attack": attack, "id": context.aws_request_id, **out}
'''

ECHO = "def handler(event, context):\n    return {'echo': event}\n"


def peak_rss_mb(lamina: LaminaProcess) -> int:
    assert lamina.proc is not None
    for line in Path(f"/proc/{lamina.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


def test_a_function_attacking_its_runtime_api_breaks_nothing(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    other = f"{fn_name[:50]}-other"
    deploy(client, fn_name, HOSTILE, Timeout=60, MemorySize=256)
    deploy(client, other, ECHO)
    _, body, _ = invoke(client, fn_name, {"attack": "none"})
    assert body["attack"] == "none"

    _, body, _ = invoke(client, fn_name, {"attack": "garbage"})
    assert body == {"attack": "garbage", "id": body["id"], "zero_length": True, "response_without_newline": True,
                    "error_without_type": True, "init_error_without_newline": True}  # fmt: skip

    before = peak_rss_mb(lamina)
    with ThreadPoolExecutor(max_workers=4) as pool:
        attacked = pool.submit(invoke, client, fn_name, {"attack": "huge"})
        others = [pool.submit(invoke, client, other, {"n": n}) for n in range(6)]
        assert [f.result()[1] for f in others] == [{"echo": {"n": n}} for n in range(6)]
        response, body, _ = attacked.result()
    assert "FunctionError" not in response, body
    assert body == {"attack": "huge", "id": body["id"], "sent_mb": 136}
    assert peak_rss_mb(lamina) - before < 64  # what it sent was dropped as it came, not kept

    response, body, _ = invoke(client, fn_name, {"attack": "dribble"})
    assert body == {"attack": "dribble", "id": body["id"], "dribbling": True}

    response, body, _ = invoke(client, fn_name, {"attack": "forged"})
    assert "FunctionError" not in response, body
    assert body == {"attack": "forged", "id": body["id"], "forged": 4}  # its own result, not a forged one

    # Its environment, with all those connections still open and a frame still dribbling in, serves
    # on; so do other functions and the API.
    for n in range(3):
        response, body, _ = invoke(client, fn_name, {"attack": "none"})
        assert "FunctionError" not in response and body["attack"] == "none", body
        assert invoke(client, other, {"after": n})[1] == {"echo": {"after": n}}
    assert client.get_function(FunctionName=fn_name)["Configuration"]["State"] == "Active"
    assert json.loads(client.invoke(FunctionName=other, Payload=b"{}")["Payload"].read()) == {"echo": {}}
