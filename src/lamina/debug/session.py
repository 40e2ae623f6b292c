"""What ``lamina dev --debug`` asks of a function's environments, and the rules it is held to: pure.

A debug session is one function's (its ``$LATEST``), on one port of the host's loopback. Python
environments start debugpy (the debug adapter VS Code speaks to) listening on their own loopback,
Node.js ones start with ``--inspect``; with ``wait``, the runtime waits for the debugger before it
imports the handler (debugpy's ``wait_for_client``, Node's ``--inspect-brk``). An environment lives
in a network namespace of its own, so Lamina forwards each connection to the host's port into the
environment's (``forwarder.py``).

Only on loopback and in development mode: a debugger runs any code it likes in the environment, so
a server that listens beyond this machine, or that has access keys configured, refuses to debug.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from dataclasses import dataclass
from pathlib import Path

PYTHON = "python"
NODEJS = "nodejs"
# The ports VS Code's "attach" configurations use by default, on the host's loopback; inside an
# environment's namespace the same (its loopback is its own).
DEFAULT_PORTS = {PYTHON: 5678, NODEJS: 9229}

# The private variables the runtimes read, and remove, before the function's code runs.
DEBUG_VARIABLE = "_LAMINA_DEBUG"  # Python: 127.0.0.1:PORT where debugpy listens
DEBUG_WAIT_VARIABLE = "_LAMINA_DEBUG_WAIT"  # Python: "1": wait for the debugger before the handler is imported
DEBUGPY_VARIABLE = "_LAMINA_DEBUGPY"  # Python: the directory debugpy is imported from
INSPECT_VARIABLE = "_LAMINA_NODE_INSPECT"  # Node.js: the --inspect option bootstrap.sh passes to node
DEBUGPY_NAME = "debugpy"  # what a sandboxed environment sees of debugpy in /var/runtime


@dataclass(frozen=True)
class DebugSpec:
    """One function's debug session, as its environments are started for it."""

    function: str
    family: str  # PYTHON or NODEJS: the runtime family the function is written for
    wait: bool  # whether the runtime waits for the debugger before it imports the handler
    port: int  # where debuggers connect, on the host's loopback

    @property
    def inner_port(self) -> int:
        """Where the runtime listens inside an environment's own network namespace."""
        return DEFAULT_PORTS[self.family]


def family_of(runtime: str) -> str | None:
    """The debuggable family of a Lambda runtime name, or None (Java, .NET, Ruby, Go, custom)."""
    if runtime.startswith("python3."):
        return PYTHON
    if runtime.startswith("nodejs"):
        return NODEJS
    return None


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP address as a socket reports it; IPv4-mapped IPv6 included) is this
    machine's loopback. Anything that does not parse is not."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def refusal(host: str, development_mode: bool) -> str | None:
    """Why a server listening on ``host`` may not debug functions, or None."""
    if not (host == "localhost" or is_loopback(host)):
        return (f"debugging is only for a server on loopback, and this one listens on {host!r}: a debugger runs any "
                "code in the function's environment (start it with --host 127.0.0.1)")  # fmt: skip
    if not development_mode:
        return ("debugging is only for a server in development mode, and this one has access keys configured "
                "(LAMINA_ACCESS_KEYS): a debugger runs any code in the function's environment")  # fmt: skip
    return None


def is_discovery(head: bytes) -> bool:
    """Whether an HTTP request's head (Node's inspector) is a lookup (``GET /json/list``, ``/json/version``)
    rather than the WebSocket a debugger speaks over."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"GET /json"):
        return False
    headers = (line.partition(b":") for line in lines[1:])
    return not any(name.strip().lower() == b"upgrade" and b"websocket" in value.lower() for name, _, value in headers)


def runtime_variables(spec: DebugSpec, port: int, debugpy_dir: str | None) -> dict[str, str]:
    """What tells an environment's runtime to listen for a debugger at 127.0.0.1:``port`` (its own
    loopback); ``debugpy_dir``: where the environment sees the directory debugpy is imported from."""
    address = f"127.0.0.1:{port}"
    if spec.family == NODEJS:
        return {INSPECT_VARIABLE: f"--inspect-brk={address}" if spec.wait else f"--inspect={address}"}
    variables = {DEBUG_VARIABLE: address}
    if spec.wait:
        variables[DEBUG_WAIT_VARIABLE] = "1"
    if debugpy_dir is not None:
        variables[DEBUGPY_VARIABLE] = debugpy_dir
    return variables


def debugpy_package() -> Path | None:
    """debugpy's package directory in Lamina's own installation (the ``debug`` extra), or None."""
    spec = importlib.util.find_spec(DEBUGPY_NAME)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()
