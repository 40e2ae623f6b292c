"""The environment variables Lambda defines for a function (aws/docs/configuration-envvars.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from lamina.model import FunctionConfig
from lamina.runtime.families import Runtime
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
BASE_PATH = "/usr/local/bin:/usr/bin:/bin:/opt/bin"
# AWS_LAMBDA_INITIALIZATION_TYPE: how the environment came to be.
ON_DEMAND = "on-demand"
PROVISIONED_CONCURRENCY = "provisioned-concurrency"


def lambda_environment(
    fn: FunctionConfig,
    runtime: Runtime,
    *,
    task_root: Path,
    runtime_api: str,
    log_stream: str,
    region: str,
    tmp_dir: Path,
    initialization_type: str = ON_DEMAND,
) -> dict[str, str]:
    """Everything an environment's process sees: the function's own variables, then Lambda's.

    ``initialization_type`` is ``on-demand`` for an environment started by an invocation (a cold
    start), ``provisioned-concurrency`` for one initialised ahead of time for provisioned concurrency.
    """
    env: dict[str, str] = dict(fn.environment)
    env.update({
        "_HANDLER": fn.handler,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": str(task_root),
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_VERSION": fn.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logging.log_group or f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization_type,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": fn.environment.get("PATH", BASE_PATH),
        "TMPDIR": str(tmp_dir),
        "HOME": str(tmp_dir),
    })  # fmt: skip
    if fn.logging.log_format == "JSON":  # the runtime interfaces write JSON records, filtered by level
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = fn.logging.application_level
    if fn.tracing_mode == "Active":
        env.update(XRAY_VARIABLES)
    if runtime.family != "provided":  # Lambda leaves it unset for custom runtimes
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{fn.runtime}"
    for key, value in runtime.env.items():
        env[key] = value.replace("{task_root}", str(task_root))
    return env


def reserved_keys_used(variables: Mapping[str, str]) -> list[str]:
    return sorted(k for k in variables if k in RESERVED_KEYS)


def outbound(fn: FunctionConfig, default: bool) -> bool:
    """Whether ``fn``'s environments may reach the network beyond their own loopback."""
    chosen = switch(fn.environment.get(OUTBOUND_VARIABLE, ""))
    return default if chosen is None else chosen
