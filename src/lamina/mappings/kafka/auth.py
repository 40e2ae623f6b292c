"""How a Kafka mapping authenticates: aiokafka's SASL settings from the secret its
SourceAccessConfigurations name (BASIC_AUTH: PLAIN, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH), read
from LAMINA_SECRETS_FILE (lamina/secrets.py) each time the consumer starts, so a secret added to
the file is seen at the mapping's next try; and whether a broker refuses those credentials.

What cannot be used is ``SourceUnavailable`` with a message saying what to fix (which secret,
where to add it), never the password: the poller shows it as LastProcessingResult and retries
with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from lamina import secrets
from lamina.mappings.kafka.options import KafkaOptions
from lamina.mappings.source import SourceUnavailable

# with-kafka.md's "SASL authentication failed" (the user name and password aren't valid).
SASL_FAILED = "SASL authentication failed. Please check the username and password in the secret {secret}."
_ADD = ('add it to LAMINA_SECRETS_FILE as "{secret}": {{"username": ..., "password": ...}} (the file is read '
        "again when the mapping retries)")  # fmt: skip
SECRET_MISSING = "The secret {secret} is not in LAMINA_SECRETS_FILE: " + _ADD + "."
NO_SECRETS_FILE = "The secret {secret} cannot be read: Lamina was started without LAMINA_SECRETS_FILE; " + _ADD + "."
SECRET_INVALID = "The secret {secret} in LAMINA_SECRETS_FILE has no string username and password."
PROBE_SECONDS = 15.0  # the longest the one connection asking a broker about the credentials may take


def sasl_settings(options: KafkaOptions, secrets_file: Path | None) -> dict[str, str]:
    """aiokafka's SASL keyword arguments for the mapping (none without a SASL secret), the secret
    read now from ``secrets_file``; SourceUnavailable saying what to fix when it cannot be."""
    if options.sasl is None:
        return {}
    mechanism, arn = options.sasl
    if secrets_file is None:
        raise SourceUnavailable(NO_SECRETS_FILE.format(secret=arn))
    try:
        found = secrets.load(secrets_file)
    except secrets.SecretsFileError as exc:  # changed since the server started
        raise SourceUnavailable(str(exc)) from None
    if arn not in found:
        raise SourceUnavailable(SECRET_MISSING.format(secret=arn))
    credentials = found.credentials(arn)
    if credentials is None:
        raise SourceUnavailable(SECRET_INVALID.format(secret=arn))
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": mechanism,
            "sasl_plain_username": credentials.username, "sasl_plain_password": credentials.password}  # fmt: skip


async def authentication_failed(servers: Sequence[str], auth: dict[str, str]) -> bool:
    """Whether a broker refuses the SASL credentials. aiokafka's consumer, failing to start, only
    says it could not bootstrap; one connection to each bootstrap server, until one answers, tells
    a refusal from a broker that is down."""
    from aiokafka import errors
    from aiokafka.conn import create_conn

    refused = (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError, errors.IllegalSaslStateError,
               errors.UnsupportedSaslMechanismError)  # fmt: skip
    for server in servers:
        host, _, port = server.rpartition(":")
        try:
            connecting = create_conn(host, int(port), request_timeout_ms=10_000, **auth)
            conn = await asyncio.wait_for(connecting, PROBE_SECONDS)
        except refused:
            return True
        except (errors.KafkaError, OSError, asyncio.TimeoutError):
            continue
        conn.close()
        return False
    return False
