"""The functions the suite deploys, as source: the same text runs in Lamina, the peer and the floor."""

from __future__ import annotations

from types import ModuleType

# The warm-invoke handler: as little work as a handler can do, so the figures are the platform's.
NOOP = '''\
def handler(event, context):
    return {"ok": True}
'''

# A fixed amount of pure-Python work, the same at every call (some 13 ms of one core here): what
# bounds throughput is then the CPU the environments have, not the platform's cost per invocation.
BURN = '''\
def handler(event, context):
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return {"total": total}
'''

# Says which environment ran it (its log stream: unique per environment, whatever the process
# and pid namespaces) and when the handler began (wall clock), then holds the environment busy:
# for ``sleep`` seconds, or connected to the ``barrier`` [host, port] until the suite closes that
# connection (at most ``max_wait`` seconds). Busy environments are never shared, so N concurrent
# invocations need N environments. A TCP barrier, not a file: environments may have a /tmp and
# a view of the file system of their own, but they reach loopback (their Runtime API is there).
HOLD = '''\
import os
import socket
import time

def handler(event, context):
    began = time.time()
    barrier = event.get("barrier")
    if barrier:
        try:
            with socket.create_connection(tuple(barrier), timeout=event.get("max_wait", 60)) as conn:
                conn.recv(1)
        except OSError:
            pass
    else:
        time.sleep(event.get("sleep", 0))
    return {"env": context.log_stream_name, "pid": os.getpid(), "began": began}
'''


# The function the Lambda console creates for a new Python function (lambda_function.py, handler
# lambda_function.lambda_handler): the reference of the ``runtimes`` scenario, whose other
# languages' hello worlds are in bench/hello/. Kept here as text because mypy checks every .py
# file under bench/.
HELLO = """\
import json

def lambda_handler(event, context):
    # TODO implement
    return {
        'statusCode': 200,
        'body': json.dumps('Hello from Lambda!')
    }
"""


def load(source: str, name: str = "bench_handler") -> ModuleType:
    """``source`` as a module of its own, for running a handler in-process."""
    module = ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module
