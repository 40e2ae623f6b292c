"""The environment variables Lambda defines for a function (aws/docs/configuration-envvars.md).

What an environment's process sees is AWS's set for its runtime and nothing of the host's: the
defaults every runtime has (``PATH``, ``LD_LIBRARY_PATH``, ``LANG``, ``TZ``), the runtime family's
own (``PYTHONPATH``, ``NODE_PATH``, ``GEM_PATH`` ...), the function's variables over those (they are
unreserved: a function may set its own), then Lambda's reserved ones, which it may not. No ``HOME``,
no ``TMPDIR``: AWS sets neither.

Paths are AWS's (``/var/task``, ``/var/runtime``) in a sandboxed environment, whose root has the
code and the runtime there; an environment on the host (no sandbox) has them where they are
(``Placement``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from lamina.model import FunctionConfig
from lamina.runtime.families import Runtime, fill
from lamina.settings import switch

# Keys a function's configuration may not set: Lambda owns them.
RESERVED_KEYS = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip

# A function's own variable that turns its outbound networking on or off (the server's
# LAMINA_OUTBOUND is the default); the runtime sees it like any other of its variables.
OUTBOUND_VARIABLE = "LAMINA_OUTBOUND"
# What Lambda sets for a function whose TracingConfig is Active: where the X-Ray daemon listens (no
# daemon answers there in Lamina: the SDKs' segments are dropped, and LOG_ERROR keeps them quiet).
XRAY_VARIABLES = {
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
    "_AWS_XRAY_DAEMON_PORT": "2000",
}
RUNTIME_DIR = "/var/runtime"  # LAMBDA_RUNTIME_DIR in a sandboxed environment, as on AWS
# The managed runtimes' PATH and LD_LIBRARY_PATH (their language is installed in /var/lang) ...
LANGUAGE_PATH = "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
LANGUAGE_LIBRARY_PATH = (
    "/var/lang/lib:/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task_root}:{task_root}/lib:/opt/lib"
)
# ... and the custom runtimes' (provided.al2023, provided.al2), which have no /var/lang.
CUSTOM_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
CUSTOM_LIBRARY_PATH = "/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task_root}:{task_root}/lib:/opt/lib"
# AWS_LAMBDA_INITIALIZATION_TYPE: how the environment came to be.
ON_DEMAND = "on-demand"
PROVISIONED_CONCURRENCY = "provisioned-concurrency"


@dataclass(frozen=True)
class Placement:
    """Where an environment sees its code, its runtime's files and its runtime's SDK."""

    task_root: str
    runtime_dir: str
    sdk_node_modules: str  # the AWS SDK for JavaScript's node_modules (Node.js's NODE_PATH names it)

    @classmethod
    def sandboxed(cls) -> Placement:
        """As on AWS: /var/task, /var/runtime, /var/runtime/node_modules."""
        return cls("/var/task", RUNTIME_DIR, RUNTIME_DIR + "/node_modules")

    @classmethod
    def on_host(cls, runtime: Runtime, task_root: Path, sdk_node_modules: Path | None) -> Placement:
        """Where they are on the host (an environment without a sandbox of its own)."""
        home = str(runtime.home or task_root)
        return cls(str(task_root), home, str(sdk_node_modules) if sdk_node_modules else home + "/node_modules")

    def fill(self, template: str) -> str:
        return fill(template, task_root=self.task_root, runtime_dir=self.runtime_dir,
                    sdk_node_modules=self.sdk_node_modules)  # fmt: skip


def defaults(runtime: Runtime, placement: Placement) -> dict[str, str]:
    """The unreserved variables Lambda gives a runtime of this family: a function's own override them."""
    custom = runtime.family == "provided"
    env = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": CUSTOM_PATH if custom else LANGUAGE_PATH,
        "LD_LIBRARY_PATH": placement.fill(CUSTOM_LIBRARY_PATH if custom else LANGUAGE_LIBRARY_PATH),
    }
    for key, value in runtime.env.items():
        env[key] = placement.fill(value)
    return env


def lambda_environment(
    fn: FunctionConfig,
    runtime: Runtime,
    *,
    placement: Placement,
    runtime_api: str,
    log_stream: str,
    region: str,
    initialization_type: str = ON_DEMAND,
) -> dict[str, str]:
    """Everything an environment's process sees: Lambda's defaults, the function's own variables
    over them, then Lambda's reserved variables.

    ``initialization_type`` is ``on-demand`` for an environment started by an invocation (a cold
    start), ``provisioned-concurrency`` for one initialised ahead of time for provisioned concurrency.
    """
    env = defaults(runtime, placement)
    env.update(fn.environment)
    env.update({
        "_HANDLER": fn.handler,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": placement.task_root,
        "LAMBDA_RUNTIME_DIR": placement.runtime_dir,
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logging.log_group or f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    })  # fmt: skip
    if fn.logging.log_format == "JSON":  # the runtime interfaces write JSON records, filtered by level
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = fn.logging.application_level
    if fn.tracing_mode == "Active":
        env.update(XRAY_VARIABLES)
    if runtime.family != "provided":  # Lambda leaves it unset for custom runtimes
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{fn.runtime}"
    return env


def reserved_keys_used(variables: Mapping[str, str]) -> list[str]:
    return sorted(k for k in variables if k in RESERVED_KEYS)


def outbound(fn: FunctionConfig, default: bool) -> bool:
    """Whether ``fn``'s environments may reach the network beyond their own loopback."""
    chosen = switch(fn.environment.get(OUTBOUND_VARIABLE, ""))
    return default if chosen is None else chosen
