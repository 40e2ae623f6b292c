"""External extensions as processes: which there are, how they start, and whether they still run.

External extensions are the executable files in /opt/extensions (from the function's layers). They
start with the runtime, in the same process tree: the environment's command becomes a small
launcher (``launcher``) that starts each extension in the background, without the variables that are
the runtime's alone, and then execs the runtime. So they share its namespaces, root, /tmp, cgroups
and limits, and die with it. Their stdout and stderr are the environment's second pipe
(``spawn.EXTENSION_OUTPUT_FD``), which the runtime does not get: their lines go to the function's
log all the same, and to Telemetry and Logs API subscribers as ``extension`` records.

Decided once per environment (``external_extensions``): a function without extensions keeps its
command, and its runtime's fork server, as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

from lamina.runtime.extensions import PATH_REGISTERED
from lamina.sandbox.spawn import EXTENSION_OUTPUT_FD

EXTENSIONS_DIR = "extensions"  # under /opt
# What extensions do not see of the function's environment (runtimes-extensions-api.md).
RUNTIME_ONLY_VARIABLES = (
    "AWS_EXECUTION_ENV", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_XRAY_CONTEXT_MISSING",
    "AWS_XRAY_DAEMON_ADDRESS", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT", "_AWS_XRAY_DAEMON_ADDRESS",
    "_AWS_XRAY_DAEMON_PORT", "_HANDLER",
)  # fmt: skip

# $0: the extensions directory; "$@": the runtime's command. Each extension starts in a subshell
# that drops the runtime's own variables, writing to the extensions' pipe. Then, where bash can open
# a connection (/dev/tcp), the launcher waits on the Extensions API until every external extension
# registered (as Lambda starts the runtime only then); the runtime then replaces the launcher (same
# pid), without the extensions' pipe.
_OUT = EXTENSION_OUTPUT_FD
_START = (
    'for e in "$0"/*; do if [ -f "$e" ] && [ -x "$e" ]; then (unset %s; exec "$e" >&%d 2>&%d %d>&-) & fi; done; '
    % (" ".join(RUNTIME_ONLY_VARIABLES), _OUT, _OUT, _OUT)
)
_API = _OUT + 1  # the launcher's connection to the Extensions API
_WAIT = (
    'if exec %d<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%%%%:*}/${AWS_LAMBDA_RUNTIME_API##*:}"; then '
    "printf 'GET %s HTTP/1.1\\r\\nHost: runtime\\r\\n\\r\\n' >&%d; read -r _ <&%d; exec %d>&-; fi; "
    % (_API, PATH_REGISTERED, _API, _API, _API)
)
_EXEC = 'exec "$@" %d>&-' % _OUT
BASH = "/bin/bash"


def external_extensions(opt: Path | None) -> frozenset[str]:
    """The names (file names) of the executables in ``opt``/extensions, on the host's side."""
    if opt is None:
        return frozenset()
    directory = opt / EXTENSIONS_DIR
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return frozenset()
    return frozenset(e.name for e in entries if e.is_file() and os.access(e.path, os.X_OK))


def launcher(extensions_dir: str, argv: list[str], *, bash: bool) -> list[str]:
    """The runtime's command ``argv`` behind the launcher of the extensions in ``extensions_dir``
    (as the environment sees it); with ``bash`` (the environment has /bin/bash), it waits for their
    registrations before it starts the runtime."""
    if bash:
        return [BASH, "-c", _START + _WAIT + _EXEC, extensions_dir, *argv]
    return ["/bin/sh", "-c", _START + _EXEC, extensions_dir, *argv]


def children_alive(pid: int) -> bool:
    """Whether process ``pid`` has a child that has not exited (a zombie has): its extensions, once
    the runtime replaced the launcher."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return False
    for child in children:
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 :][:1] not in ("Z", "X"):
            return True
    return False
