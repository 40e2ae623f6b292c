"""Lamina's configuration: one frozen object, built once from flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from lamina.runtime.names import LAMBDA_RUNTIMES

MB = 1024 * 1024


def runtime_variable(runtime: str) -> str:
    """The variable that points a runtime at an interpreter: python3.12 -> LAMINA_PYTHON3_12."""
    return "LAMINA_" + runtime.upper().replace(".", "_")


@dataclass(frozen=True)
class Limits:
    """Lambda's quotas, with AWS's defaults; every one can be changed for a deployment."""

    sync_payload_bytes: int = 6 * MB
    # AWS measures the response limit with a little headroom over 6 MiB: 6,291,556 bytes.
    sync_response_bytes: int = 6 * MB + 100
    async_payload_bytes: int = 1 * MB
    zipped_code_bytes: int = 50 * MB
    unzipped_code_bytes: int = 250 * MB
    # A zip whose entries expand more than this many times over their compressed size is a bomb.
    max_compression_ratio: int = 200
    max_zip_entries: int = 20_000
    memory_min_mb: int = 128
    memory_max_mb: int = 10_240
    timeout_max_seconds: int = 900
    ephemeral_min_mb: int = 512
    ephemeral_max_mb: int = 10_240
    init_timeout_seconds: float = 10.0
    account_concurrency: int = 1000
    # How many new environments one function may start per scale_window_seconds.
    scale_up_limit: int = 1000
    scale_window_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9000
    data_dir: Path = Path(".lamina")
    region: str = "us-east-1"
    account_id: str = "000000000000"
    # The one credential pair Lamina knows: SigV4-signed requests (AWS_IAM function URLs) must use it.
    access_key_id: str = "test"
    secret_access_key: str = field(default="test", repr=False)
    # How long an idle execution environment is kept warm before it is stopped.
    keep_alive_seconds: float = 300.0
    # How long shutdown waits for in-flight invocations before stopping environments.
    shutdown_grace_seconds: float = 10.0
    # Slow clients: how long an API connection may stay idle or take to send a request's headers
    # before it is closed, and how long a request's body may take to arrive (then 408).
    header_timeout_seconds: float = 30.0
    body_timeout_seconds: float = 60.0
    # Interpreters by runtime name, e.g. {"python3.12": "/opt/py312/bin/python3.12"}.
    interpreters: Mapping[str, str] = field(default_factory=dict)
    # Asynchronous invocation: seconds before each retry after a function error (AWS: about 1 and
    # 2 minutes), the first backoff after a throttle (doubling up to 5 minutes), and how many
    # events may be attempted at once (None: as many as the account's concurrency).
    async_retry_delays: tuple[float, ...] = (60.0, 120.0)
    async_throttle_seconds: float = 1.0
    async_workers: int | None = None
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``LAMINA_*`` variables, then explicit overrides (e.g. CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "LAMINA_HOST" in env:
            values["host"] = env["LAMINA_HOST"]
        if "LAMINA_PORT" in env:
            values["port"] = int(env["LAMINA_PORT"])
        if "LAMINA_DATA_DIR" in env:
            values["data_dir"] = Path(env["LAMINA_DATA_DIR"])
        if "LAMINA_REGION" in env:
            values["region"] = env["LAMINA_REGION"]
        if "LAMINA_KEEP_ALIVE" in env:
            values["keep_alive_seconds"] = float(env["LAMINA_KEEP_ALIVE"])
        if "LAMINA_ACCESS_KEY_ID" in env:
            values["access_key_id"] = env["LAMINA_ACCESS_KEY_ID"]
        if "LAMINA_SECRET_ACCESS_KEY" in env:
            values["secret_access_key"] = env["LAMINA_SECRET_ACCESS_KEY"]
        if "LAMINA_HEADER_TIMEOUT" in env:
            values["header_timeout_seconds"] = float(env["LAMINA_HEADER_TIMEOUT"])
        if "LAMINA_BODY_TIMEOUT" in env:
            values["body_timeout_seconds"] = float(env["LAMINA_BODY_TIMEOUT"])
        if "LAMINA_ASYNC_RETRY_DELAYS" in env:
            values["async_retry_delays"] = tuple(float(v) for v in env["LAMINA_ASYNC_RETRY_DELAYS"].split(",") if v.strip())
        if "LAMINA_ASYNC_THROTTLE_DELAY" in env:
            values["async_throttle_seconds"] = float(env["LAMINA_ASYNC_THROTTLE_DELAY"])
        if "LAMINA_ASYNC_WORKERS" in env:
            values["async_workers"] = max(1, int(env["LAMINA_ASYNC_WORKERS"]))
        # LAMINA_PYTHON3_12=/path/to/python3.12, LAMINA_NODEJS22_X=/path/to/node, ...
        interpreters = {
            name: env[runtime_variable(name)] for name in LAMBDA_RUNTIMES if runtime_variable(name) in env
        }
        if interpreters:
            values["interpreters"] = interpreters
        limits = Limits()
        if "LAMINA_ACCOUNT_CONCURRENCY" in env:
            limits = replace(limits, account_concurrency=int(env["LAMINA_ACCOUNT_CONCURRENCY"]))
        if "LAMINA_SCALE_UP_LIMIT" in env:
            limits = replace(limits, scale_up_limit=int(env["LAMINA_SCALE_UP_LIMIT"]))
        values["limits"] = limits
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn
