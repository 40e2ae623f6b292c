"""Lamina's configuration: one frozen object, built once from flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from lamina import secrets
from lamina.identity import keys
from lamina.identity.principals import AccessKey
from lamina.iot.broker import BrokerUrl, parse_url
from lamina.metering.prices import PriceTableError, Prices, load_prices
from lamina.mappings.brokers import CA_VARIABLE, BrokerAddress, parse_brokers, tls_context
from lamina.runtime import sdk
from lamina.runtime.names import LAMBDA_RUNTIMES
from lamina.store.choice import DATABASE_URL_VARIABLE, database_url
from lamina.tls.certificates import TlsError, TlsFiles
from lamina.tls.context import server_context

MB = 1024 * 1024


def switch(value: str) -> bool | None:
    """``on``/``off`` (also true/false, yes/no, 1/0, any case) as a bool; None for anything else."""
    return {"on": True, "true": True, "yes": True, "1": True,
            "off": False, "false": False, "no": False, "0": False}.get(value.strip().lower())  # fmt: skip


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
class LogLimits:
    """How much of what functions print Lamina keeps.

    Lambda hands every line to CloudWatch Logs, which keeps it until a retention policy says
    otherwise; one host cannot, so each bound here is generous but finite. An invocation keeps at
    most ``invocation_bytes`` (10 MB: some 100,000 lines of 100 bytes, far more than a function logs
    on purpose; beyond it, one line says how much was dropped; START, END and REPORT are always
    kept). A function keeps at most ``function_bytes`` (100 MB: ten invocations at their limit;
    its oldest lines go first), and no line older than ``retention_seconds`` (30 days, a retention
    CloudWatch offers). Sizes count as CloudWatch does: a line's UTF-8 bytes and 26 bytes an event.
    Live Tail (StartLiveTail) sessions last at most ``live_tail_seconds`` (CloudWatch Logs' three
    hours), and at most ``live_tail_sessions`` are open at once in an account (its quota, 15).
    """

    invocation_bytes: int = 10 * MB
    function_bytes: int = 100 * MB
    retention_seconds: float = 30 * 86_400.0
    live_tail_seconds: float = 3 * 3600.0
    live_tail_sessions: int = 15


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9000
    # A second listener serving the same API over TLS (LAMINA_TLS_PORT; 0: any free port); None: none.
    tls_port: int | None = None
    # The certificate (chain) and key it presents (LAMINA_TLS_CERT, LAMINA_TLS_KEY); None: the local
    # CA's, made in the data directory (lamina/tls/certificates.py).
    tls_files: TlsFiles | None = None
    data_dir: Path = Path(".lamina")
    # PostgreSQL as the store (LAMINA_DATABASE_URL, postgresql://...), which replicas share; None:
    # SQLite in the data directory. Not in repr: it may hold a password.
    database_url: str | None = field(default=None, repr=False)
    # Where code packages and object bodies are kept (LAMINA_CODE_DIR): a folder every replica sees
    # when several share a database; None: the data directory.
    code_dir: Path | None = None
    # A Ray cluster to place execution environments on (LAMINA_RAY_ADDRESS, what `ray start --address`
    # takes; placement/): None, the embedded default, runs them on this machine and never imports Ray.
    ray_address: str | None = None
    # Where this server serves Lamina's API to environments on Ray nodes (LAMINA_RAY_API_HOST; default:
    # this machine's address as Ray sees it).
    ray_api_host: str | None = None
    region: str = "us-east-1"
    account_id: str = "000000000000"
    # Root access keys, each its account's root (LAMINA_ACCESS_KEYS). None configured is the
    # development mode: on loopback only, the key pair test/test is the root of ``account_id``.
    access_keys: tuple[AccessKey, ...] = ()
    # Whether requests' signatures are checked. Off exists only to measure what checking costs
    # (bench/): refused on anything but a loopback address, and loudly logged.
    verify_signatures: bool = True
    # How long an idle execution environment is kept warm before it is stopped.
    keep_alive_seconds: float = 300.0
    # How long shutdown waits for in-flight invocations before stopping environments.
    shutdown_grace_seconds: float = 10.0
    # Slow clients: how long an API connection may stay idle or take to send a request's headers
    # before it is closed, and how long a request's body may take to arrive (then 408).
    header_timeout_seconds: float = 30.0
    body_timeout_seconds: float = 60.0
    # Whether the public listener answers plain synchronous Invokes itself (lamina/dataplane), ahead
    # of the aiohttp application; off: aiohttp answers every request, as it answers all others.
    front_door: bool = True
    # Who serves warm plain Invokes: "native" (lamina_native's data plane, when built; else Python),
    # or "python" (the front door, as without the native module). LAMINA_DATA_PLANE.
    data_plane: str = "native"
    # A bearer token that GET /metrics (Prometheus) must present; None: /metrics answers loopback
    # clients only (api/metrics.py).
    metrics_token: str | None = field(default=None, repr=False)
    # A token that opens the web console (/console/) to clients other than loopback ones
    # (console/access.py); None: loopback clients only.
    console_token: str | None = field(default=None, repr=False)
    # Interpreters by runtime name, e.g. {"python3.12": "/opt/py312/bin/python3.12"}.
    interpreters: Mapping[str, str] = field(default_factory=dict)
    # A runtime found missing is looked for again once its answer is this old (runtime/runtimes.py):
    # a toolchain installed while Lamina runs is found without a restart.
    runtime_recheck_seconds: float = 5.0
    # Asynchronous invocation: seconds before each retry after a function error (AWS: about 1 and
    # 2 minutes), the first backoff after a throttle (doubling up to 5 minutes), and how many
    # events may be attempted at once (None: as many as the account's concurrency).
    async_retry_delays: tuple[float, ...] = (60.0, 120.0)
    async_throttle_seconds: float = 1.0
    async_workers: int | None = None
    # The least time a function stays Pending (created) or InProgress (updated) before it settles,
    # beyond its code's real preparation (milliseconds): AWS takes seconds; tools' waiters and tests
    # of them can be given that phase to see (0: settle as soon as the code is ready).
    state_delay_seconds: float = 0.0
    # Event buses (events/delivery.py): a failed delivery to a rule's target is retried after a
    # jittered backoff from this many seconds, doubling up to the cap; Lambda's destination records
    # for a bus are taken from the outbox this often (events/relay.py).
    events_retry_base_seconds: float = 1.0
    events_retry_cap_seconds: float = 300.0
    events_outbox_poll_seconds: float = 1.0
    # Environments' networks (sandbox/network.py): each namespace's veth takes a /31 of this range.
    # 100.96.0.0/12 is a slice of the shared address space (RFC 6598, 100.64.0.0/10), which ISPs
    # use between their own routers and home and office networks never do; Docker (172.17.0.0/16),
    # Kubernetes (10.x) and libvirt (192.168.122.0/24) default elsewhere. A host that uses it (e.g.
    # a Tailscale peer's address) should move it.
    network_range: str = "100.96.0.0/12"
    # How many namespaces of each kind (with outbound, loopback only) are kept ready.
    network_pool_size: int = 16
    # Whether a function reaches the outside when its configuration does not say (Lambda: yes).
    outbound_default: bool = True
    # At most this many events, and bytes of their content, queued per function (waiting or being
    # attempted; invoke/quota.py): an Invoke beyond either is refused with TooManyRequestsException.
    # Payloads wait on disk, but the queue keeps ~450 bytes per event to schedule it: 100,000 events
    # (20 times the benchmark's burst, hours of backlog for most functions) is ~45 MB of memory at
    # most per function; 1 GiB of disk is a thousand 1 MB events, or 100,000 of 10 KB.
    async_queue_events: int = 100_000
    async_queue_bytes: int = 1024 * MB
    # Replicas on one database (database_url): how long a replica holds the queued events it
    # accepted without renewing its claim, i.e. how soon another takes over those of one that died
    # (LAMINA_ASYNC_CLAIM_SECONDS; invoke/claims.py).
    async_claim_seconds: float = 30.0
    # Replicas on one database: how long a replica holds units of concurrency it took without
    # renewing them, i.e. how soon those of one that died can be used by the others
    # (LAMINA_CONCURRENCY_LEASE_SECONDS; scheduler/units.py).
    concurrency_lease_seconds: float = 10.0
    # JWT authorizers of HTTP APIs (gateway/authorizers/jwks.py): where each issuer's signing keys
    # are read, by issuer; an issuer not named here is asked through its OpenID discovery document
    # (<issuer>/.well-known/openid-configuration), as API Gateway does.
    jwks_urls: Mapping[str, str] = field(default_factory=dict)
    # The MQTT broker IoT topic rules listen to (lamina/iot/subscriber.py); None: rules are kept
    # and do not fire.
    mqtt_url: BrokerUrl | None = None
    # RabbitMQ brokers event source mappings read (mappings/brokers.py), by Amazon MQ broker name or ARN.
    rabbitmq_brokers: Mapping[str, BrokerAddress] = field(default_factory=dict)
    # The CAs amqps brokers' certificates are verified with (a PEM file); None: the system's.
    rabbitmq_ca_file: Path | None = None
    # The token other object stores' webhooks (MinIO, Ceph RGW, ...) present to the intake
    # (api/object_events.py); None: the intake is off.
    object_events_token: str | None = field(default=None, repr=False)
    # Secrets Manager secrets by ARN (lamina/secrets.py): checked at start, re-read when a mapping starts.
    secrets_file: Path | None = field(default=None, repr=False)
    # Where the AWS SDKs functions' runtimes carry are installed (lamina/runtime/sdk, LAMINA_SDK_DIR).
    sdk_dir: Path = field(default_factory=lambda: Path(sdk.DEFAULT_DIR).expanduser())
    limits: Limits = field(default_factory=Limits)
    logs: LogLimits = field(default_factory=LogLimits)
    # What usage costs (metering/prices.py; LAMINA_PRICES=path.json over AWS's list prices), and
    # whether AWS's monthly free tier is taken off (LAMINA_FREE_TIER=on).
    prices: Prices = field(default_factory=Prices)
    free_tier: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``LAMINA_*`` variables, then explicit overrides (e.g. CLI flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if "LAMINA_HOST" in env:
            values["host"] = env["LAMINA_HOST"]
        if "LAMINA_PORT" in env:
            values["port"] = int(env["LAMINA_PORT"])
        if env.get("LAMINA_TLS_PORT", "").strip():
            values["tls_port"] = env["LAMINA_TLS_PORT"].strip()
        cert, key = env.get("LAMINA_TLS_CERT", "").strip(), env.get("LAMINA_TLS_KEY", "").strip()
        if bool(cert) != bool(key):
            raise TlsError("LAMINA_TLS_CERT and LAMINA_TLS_KEY go together: set both, or neither for Lamina's own CA")
        if cert:
            values["tls_files"] = TlsFiles(cert=Path(cert), key=Path(key))
        if "LAMINA_DATA_DIR" in env:
            values["data_dir"] = Path(env["LAMINA_DATA_DIR"])
        values["sdk_dir"] = sdk.default_dir(env)
        if DATABASE_URL_VARIABLE in env:
            values["database_url"] = database_url(env[DATABASE_URL_VARIABLE])
        if env.get("LAMINA_RAY_ADDRESS", "").strip():
            values["ray_address"] = env["LAMINA_RAY_ADDRESS"].strip()
        if env.get("LAMINA_RAY_API_HOST", "").strip():
            values["ray_api_host"] = env["LAMINA_RAY_API_HOST"].strip()
        if env.get("LAMINA_CODE_DIR", "").strip():
            values["code_dir"] = Path(env["LAMINA_CODE_DIR"].strip())
        if "LAMINA_REGION" in env:
            values["region"] = env["LAMINA_REGION"]
        if "LAMINA_KEEP_ALIVE" in env:
            values["keep_alive_seconds"] = float(env["LAMINA_KEEP_ALIVE"])
        if env.get("LAMINA_ACCOUNT_ID", "").strip():
            values["account_id"] = account_id(env["LAMINA_ACCOUNT_ID"])
        if "LAMINA_ACCESS_KEY_ID" in env or "LAMINA_SECRET_ACCESS_KEY" in env:
            raise keys.AccessKeysError("LAMINA_ACCESS_KEY_ID and LAMINA_SECRET_ACCESS_KEY are replaced by "
                                       "LAMINA_ACCESS_KEYS=KEY:SECRET:ACCOUNT (README, Access keys)")  # fmt: skip
        if env.get(keys.ACCESS_KEYS_VARIABLE, "").strip():
            access_keys = keys.load(env[keys.ACCESS_KEYS_VARIABLE])  # refused at start: form, file mode
            values["access_keys"] = access_keys
            accounts = {key.principal.account_id for key in access_keys}
            if "account_id" not in values and len(accounts) == 1:  # the keys' account, when they name one
                values["account_id"] = accounts.pop()
        if "LAMINA_VERIFY_SIGNATURES" in env:
            values["verify_signatures"] = switch(env["LAMINA_VERIFY_SIGNATURES"]) is not False
        if "LAMINA_HEADER_TIMEOUT" in env:
            values["header_timeout_seconds"] = float(env["LAMINA_HEADER_TIMEOUT"])
        if "LAMINA_BODY_TIMEOUT" in env:
            values["body_timeout_seconds"] = float(env["LAMINA_BODY_TIMEOUT"])
        if "LAMINA_FRONT_DOOR" in env:
            values["front_door"] = switch(env["LAMINA_FRONT_DOOR"]) is not False
        if "LAMINA_DATA_PLANE" in env:
            plane = env["LAMINA_DATA_PLANE"].strip().lower()
            if plane not in ("native", "python"):
                raise ValueError(f"LAMINA_DATA_PLANE must be native or python, not {plane!r}")
            values["data_plane"] = plane
        if env.get("LAMINA_METRICS_TOKEN"):
            values["metrics_token"] = env["LAMINA_METRICS_TOKEN"]
        if env.get("LAMINA_CONSOLE_TOKEN"):
            values["console_token"] = env["LAMINA_CONSOLE_TOKEN"]
        if "LAMINA_ASYNC_RETRY_DELAYS" in env:
            values["async_retry_delays"] = tuple(float(v) for v in env["LAMINA_ASYNC_RETRY_DELAYS"].split(",") if v.strip())
        if "LAMINA_ASYNC_THROTTLE_DELAY" in env:
            values["async_throttle_seconds"] = float(env["LAMINA_ASYNC_THROTTLE_DELAY"])
        if "LAMINA_EVENTS_RETRY_DELAY" in env:
            values["events_retry_base_seconds"] = float(env["LAMINA_EVENTS_RETRY_DELAY"])
        if "LAMINA_EVENTS_OUTBOX_POLL" in env:
            values["events_outbox_poll_seconds"] = float(env["LAMINA_EVENTS_OUTBOX_POLL"])
        if "LAMINA_STATE_DELAY" in env:
            values["state_delay_seconds"] = max(0.0, float(env["LAMINA_STATE_DELAY"]))
        if "LAMINA_ASYNC_WORKERS" in env:
            values["async_workers"] = max(1, int(env["LAMINA_ASYNC_WORKERS"]))
        if "LAMINA_NETWORK_RANGE" in env:
            values["network_range"] = env["LAMINA_NETWORK_RANGE"]
        if "LAMINA_NETWORK_POOL" in env:
            values["network_pool_size"] = max(0, int(env["LAMINA_NETWORK_POOL"]))
        if "LAMINA_OUTBOUND" in env:
            values["outbound_default"] = switch(env["LAMINA_OUTBOUND"]) is not False
        if "LAMINA_ASYNC_QUEUE_EVENTS" in env:
            values["async_queue_events"] = int(env["LAMINA_ASYNC_QUEUE_EVENTS"])
        if "LAMINA_ASYNC_QUEUE_BYTES" in env:
            values["async_queue_bytes"] = int(env["LAMINA_ASYNC_QUEUE_BYTES"])
        if "LAMINA_ASYNC_CLAIM_SECONDS" in env:
            values["async_claim_seconds"] = claim_seconds(env["LAMINA_ASYNC_CLAIM_SECONDS"])
        if "LAMINA_CONCURRENCY_LEASE_SECONDS" in env:
            values["concurrency_lease_seconds"] = lease_seconds(env["LAMINA_CONCURRENCY_LEASE_SECONDS"])
        if "LAMINA_JWKS_URLS" in env:
            values["jwks_urls"] = jwks_urls(env["LAMINA_JWKS_URLS"])
        if env.get("LAMINA_MQTT_URL", "").strip():
            values["mqtt_url"] = parse_url(env["LAMINA_MQTT_URL"])
        if env.get("LAMINA_RABBITMQ_BROKERS", "").strip():
            values["rabbitmq_brokers"] = parse_brokers(env["LAMINA_RABBITMQ_BROKERS"])
        if env.get(CA_VARIABLE, "").strip():
            ca_file = Path(env[CA_VARIABLE].strip())
            tls_context(ca_file)  # refused at start: not readable, not PEM
            values["rabbitmq_ca_file"] = ca_file
        if env.get("LAMINA_OBJECT_EVENTS_TOKEN", "").strip():
            values["object_events_token"] = env["LAMINA_OBJECT_EVENTS_TOKEN"].strip()
        if env.get(secrets.SECRETS_VARIABLE, "").strip():
            secrets_file = Path(env[secrets.SECRETS_VARIABLE].strip())
            secrets.load(secrets_file)  # refused at start: permissions, JSON
            values["secrets_file"] = secrets_file
        # LAMINA_PYTHON3_12=/path/to/python3.12, LAMINA_NODEJS22_X=/path/to/node, ...
        interpreters = {
            name: env[runtime_variable(name)] for name in LAMBDA_RUNTIMES if runtime_variable(name) in env
        }
        if interpreters:
            values["interpreters"] = interpreters
        if "LAMINA_RUNTIME_RECHECK" in env:
            values["runtime_recheck_seconds"] = float(env["LAMINA_RUNTIME_RECHECK"])
        limits = Limits()
        if "LAMINA_ACCOUNT_CONCURRENCY" in env:
            limits = replace(limits, account_concurrency=int(env["LAMINA_ACCOUNT_CONCURRENCY"]))
        if "LAMINA_SCALE_UP_LIMIT" in env:
            limits = replace(limits, scale_up_limit=int(env["LAMINA_SCALE_UP_LIMIT"]))
        values["limits"] = limits
        logs = LogLimits()
        if "LAMINA_LOG_INVOCATION_MB" in env:
            logs = replace(logs, invocation_bytes=_megabytes(env["LAMINA_LOG_INVOCATION_MB"]))
        if "LAMINA_LOG_FUNCTION_MB" in env:
            logs = replace(logs, function_bytes=_megabytes(env["LAMINA_LOG_FUNCTION_MB"]))
        if "LAMINA_LOG_RETENTION_DAYS" in env:
            logs = replace(logs, retention_seconds=float(env["LAMINA_LOG_RETENTION_DAYS"]) * 86_400)
        if "LAMINA_LIVE_TAIL_SECONDS" in env:
            logs = replace(logs, live_tail_seconds=float(env["LAMINA_LIVE_TAIL_SECONDS"]))
        if "LAMINA_LIVE_TAIL_SESSIONS" in env:
            logs = replace(logs, live_tail_sessions=int(env["LAMINA_LIVE_TAIL_SESSIONS"]))
        values["logs"] = logs
        if env.get("LAMINA_PRICES", "").strip():
            values["prices"] = load_prices(Path(env["LAMINA_PRICES"].strip()))  # refused at start: PriceTableError
        if "LAMINA_FREE_TIER" in env:
            free_tier = switch(env["LAMINA_FREE_TIER"])
            if free_tier is None:
                raise PriceTableError(f"LAMINA_FREE_TIER must be on or off, not {env['LAMINA_FREE_TIER'][:20]!r}")
            values["free_tier"] = free_tier
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("tls_port") is not None:
            values["tls_port"] = tls_port(values["tls_port"], values.get("port", 9000))
        tls_files = values.get("tls_files")
        if isinstance(tls_files, TlsFiles):
            if values.get("tls_port") is None:
                raise TlsError("LAMINA_TLS_CERT and LAMINA_TLS_KEY are for the TLS listener: set LAMINA_TLS_PORT "
                               "(or --tls-port) too")  # fmt: skip
            server_context(tls_files)  # refused at start: the key's mode, unreadable, not PEM, not a pair
        return cls(**values)  # type: ignore[arg-type]

    @property
    def development_mode(self) -> bool:
        """No root keys configured: the development key pair is accepted (on loopback only), and
        IAM is lenient where AWS would refuse for want of a role or a permission (said in the log)."""
        return not self.access_keys

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn


def claim_seconds(value: str) -> float:
    """``LAMINA_ASYNC_CLAIM_SECONDS``: from 1 second to an hour; ValueError otherwise."""
    seconds = float(value)
    if not 1 <= seconds <= 3600:
        raise ValueError(f"LAMINA_ASYNC_CLAIM_SECONDS must be from 1 to 3600, not {value[:20]!r}")
    return seconds


def lease_seconds(value: str) -> float:
    """``LAMINA_CONCURRENCY_LEASE_SECONDS``: from 1 second to 10 minutes; ValueError otherwise."""
    seconds = float(value)
    if not 1 <= seconds <= 600:
        raise ValueError(f"LAMINA_CONCURRENCY_LEASE_SECONDS must be from 1 to 600, not {value[:20]!r}")
    return seconds


def account_id(value: str) -> str:
    """``LAMINA_ACCOUNT_ID``: 12 digits, as AWS's account ids are; ValueError otherwise."""
    value = value.strip()
    if len(value) != 12 or not value.isdigit():
        raise ValueError(f"LAMINA_ACCOUNT_ID must be 12 digits (e.g. 123456789012), not {value[:20]!r}")
    return value


def tls_port(value: object, port: object) -> int:
    """``LAMINA_TLS_PORT`` / ``--tls-port``: 0 to 65535, and not the HTTP port; TlsError otherwise."""
    try:
        number = int(str(value))
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise TlsError(f"LAMINA_TLS_PORT must be a port number (0 to 65535; 0: any free port), not {str(value)[:20]!r}")
    if number and number == port:
        raise TlsError(f"LAMINA_TLS_PORT {number} is the HTTP port too (LAMINA_PORT): give TLS a port of its own")
    return number


def jwks_urls(value: str) -> dict[str, str]:
    """``ISSUER=URL`` pairs, separated by spaces or commas, by issuer (the first ``=`` ends the
    issuer). ValueError for a pair without ``=`` or with an empty side."""
    pairs: dict[str, str] = {}
    for pair in value.replace(",", " ").split():
        issuer, equals, url = pair.partition("=")
        if not equals or not issuer or not url:
            raise ValueError(f"LAMINA_JWKS_URLS: {pair!r} is not ISSUER=URL")
        pairs[issuer] = url
    return pairs


def _megabytes(value: str) -> int:
    """A size given in MB (fractions allowed), in bytes: at least one."""
    return max(1, int(float(value) * MB))
