"""How a Kafka mapping authenticates and encrypts: aiokafka's security settings from the secrets its
SourceAccessConfigurations name (BASIC_AUTH: SASL/PLAIN, SASL_SCRAM_256_AUTH, SASL_SCRAM_512_AUTH;
CLIENT_CERTIFICATE_TLS_AUTH and SERVER_ROOT_CA_CERTIFICATE: TLS, tls.py), read from
LAMINA_SECRETS_FILE (lamina/secrets.py) each time the consumer starts, so a secret added to the file
is seen at the mapping's next try; and, when the consumer cannot start, what a broker says of them
(``diagnose``).

What cannot be used is ``SourceUnavailable`` with a message saying what to fix (which secret,
where to add it), never the password or the key: the poller shows it as LastProcessingResult and
retries with backoff.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from lamina import secrets
from lamina.mappings.kafka import tls
from lamina.mappings.kafka.options import CLIENT_CERTIFICATE, ROOT_CA, KafkaOptions
from lamina.mappings.source import SourceUnavailable

# with-kafka.md's "SASL authentication failed" (the user name and password aren't valid).
SASL_FAILED = "SASL authentication failed. Please check the username and password in the secret {secret}."
# with-kafka.md's "Lambda failed to authenticate server" and "Server failed to authenticate Lambda".
SERVER_NOT_TRUSTED = ("Lamina failed to authenticate server {server}: {reason}. {fix}")
NOT_TRUSTED_FIX = ("Check that the certificate in the secret {secret} (SERVER_ROOT_CA_CERTIFICATE) is the root CA "
                   "that signed the broker's certificate, and that the broker's certificate names {host} as a "
                   "subject alternative name.")  # fmt: skip
NO_ROOT_CA_FIX = ("If the brokers' certificates are signed by a private CA, name its certificate in a "
                  "SERVER_ROOT_CA_CERTIFICATE secret; the broker's certificate must name {host} as a subject "
                  "alternative name.")  # fmt: skip
CLIENT_REFUSED = "Server failed to authenticate Lamina: {server} refused the TLS handshake ({reason}). {fix}"
CLIENT_REFUSED_FIX = ("Check the certificate in the secret {secret} (CLIENT_CERTIFICATE_TLS_AUTH): the brokers must "
                      "trust the CA that signed it.")  # fmt: skip
NO_CLIENT_FIX = "The broker asks for a client certificate: name one in a CLIENT_CERTIFICATE_TLS_AUTH secret."
NOT_TLS = ("The TLS handshake with {server} failed ({reason}): is it a TLS listener? A mapping that names "
           "SERVER_ROOT_CA_CERTIFICATE or CLIENT_CERTIFICATE_TLS_AUTH connects over TLS.")  # fmt: skip
_SHAPES = {"sasl": '{{"username": ..., "password": ...}}', CLIENT_CERTIFICATE: '{{"certificate": ..., "privateKey": ...}}',
           ROOT_CA: '{{"certificate": ...}}'}  # fmt: skip
_ADD = 'add it to LAMINA_SECRETS_FILE as "{secret}": {shape} (the file is read again when the mapping retries)'
SECRET_MISSING = "The secret {secret} is not in LAMINA_SECRETS_FILE: " + _ADD + "."
NO_SECRETS_FILE = "The secret {secret} cannot be read: Lamina was started without LAMINA_SECRETS_FILE; " + _ADD + "."
SECRET_INVALID = "The secret {secret} in LAMINA_SECRETS_FILE has no string username and password."
NO_CLIENT_CERTIFICATE = ("The secret {secret} in LAMINA_SECRETS_FILE has no certificate and privateKey: "
                         "CLIENT_CERTIFICATE_TLS_AUTH's secret holds the client's certificate chain (PEM, the client "
                         "certificate first) and its private key (PEM, PKCS #8), with privateKeyPassword if the key "
                         "is encrypted.")  # fmt: skip
NO_ROOT_CERTIFICATE = ("The secret {secret} in LAMINA_SECRETS_FILE has no certificate: SERVER_ROOT_CA_CERTIFICATE's "
                       "secret holds the brokers' root CA certificate (PEM).")  # fmt: skip
PROBE_SECONDS = 15.0  # the longest the one connection asking a broker about the credentials may take


def _load(arn: str, kind: str, secrets_file: Path | None) -> secrets.Secrets:
    """The secrets file as it is now, holding ``arn``; SourceUnavailable saying what to add."""
    shape = _SHAPES[kind].format()
    if secrets_file is None:
        raise SourceUnavailable(NO_SECRETS_FILE.format(secret=arn, shape=shape))
    try:
        found = secrets.load(secrets_file)
    except secrets.SecretsFileError as exc:  # changed since the server started
        raise SourceUnavailable(str(exc)) from None
    if arn not in found:
        raise SourceUnavailable(SECRET_MISSING.format(secret=arn, shape=shape))
    return found


def sasl_settings(options: KafkaOptions, secrets_file: Path | None) -> dict[str, str]:
    """aiokafka's SASL keyword arguments for the mapping (none without a SASL secret), the secret
    read now from ``secrets_file``; SourceUnavailable saying what to fix when it cannot be."""
    if options.sasl is None:
        return {}
    mechanism, arn = options.sasl
    credentials = _load(arn, "sasl", secrets_file).credentials(arn)
    if credentials is None:
        raise SourceUnavailable(SECRET_INVALID.format(secret=arn))
    return {"security_protocol": options.security_protocol, "sasl_mechanism": mechanism,
            "sasl_plain_username": credentials.username, "sasl_plain_password": credentials.password}  # fmt: skip


def ssl_context(options: KafkaOptions, secrets_file: Path | None) -> ssl.SSLContext | None:
    """The TLS context for the mapping (None: it connects in plaintext), its secrets read now."""
    if not options.tls:
        return None
    root_arn, client_arn = options.root_ca, options.client_certificate
    root: str | None = None
    client: secrets.ClientCertificate | None = None
    if root_arn is not None:
        root = _load(root_arn, ROOT_CA, secrets_file).certificate(root_arn)
        if root is None:
            raise SourceUnavailable(NO_ROOT_CERTIFICATE.format(secret=root_arn))
    if client_arn is not None:
        client = _load(client_arn, CLIENT_CERTIFICATE, secrets_file).client_certificate(client_arn)
        if client is None:
            raise SourceUnavailable(NO_CLIENT_CERTIFICATE.format(secret=client_arn))
    return tls.context(root, client, root_arn=root_arn, client_arn=client_arn)


def settings(options: KafkaOptions, secrets_file: Path | None) -> dict[str, object]:
    """aiokafka's security keyword arguments for the mapping: its security protocol, SASL
    credentials and TLS context, from the secrets as they are now."""
    found: dict[str, object] = {"security_protocol": options.security_protocol}
    found.update(sasl_settings(options, secrets_file))
    context = ssl_context(options, secrets_file)
    if context is not None:
        found["ssl_context"] = context
    return found


async def diagnose(options: KafkaOptions, connection: dict[str, object]) -> str | None:
    """What the brokers say of the mapping's credentials, certificates or TLS when its consumer could
    not start (None: nothing of theirs; the broker is unreachable, or answers). aiokafka's consumer,
    failing to start, only says it could not bootstrap; one connection to each bootstrap server,
    until one answers, tells a refusal from a broker that is down."""
    from aiokafka import errors
    from aiokafka.conn import create_conn

    if options.security_protocol == "PLAINTEXT":
        return None
    refused = (errors.SaslAuthenticationFailed, errors.AuthenticationFailedError, errors.IllegalSaslStateError,
               errors.UnsupportedSaslMechanismError)  # fmt: skip
    for server in options.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            connecting = create_conn(host, int(port), request_timeout_ms=10_000, **connection)
            conn = await asyncio.wait_for(connecting, PROBE_SECONDS)
        except refused:
            assert options.sasl is not None
            return SASL_FAILED.format(secret=options.sasl[1])
        except (errors.KafkaError, OSError, asyncio.TimeoutError) as exc:
            found = tls_problem(options, server, exc)
            if found is not None:
                return found
            continue
        conn.close()
        return None
    return None


def tls_problem(options: KafkaOptions, server: str, exc: BaseException) -> str | None:
    """What a failed TLS connection to ``server`` says (pure): the broker's certificate not trusted,
    the client's refused, or no TLS at all; None if it is none of those (or not TLS)."""
    if not options.tls:
        return None
    host = server.rpartition(":")[0]
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            root = options.root_ca
            fix = NOT_TRUSTED_FIX.format(secret=root, host=host) if root else NO_ROOT_CA_FIX.format(host=host)
            why = seen.verify_message or "certificate verify failed"
            return SERVER_NOT_TRUSTED.format(server=server, reason=f"certificate verify failed: {why}", fix=fix)
        if isinstance(seen, ssl.SSLError) and "ALERT" in str(seen.reason or ""):
            client = options.client_certificate
            fix = CLIENT_REFUSED_FIX.format(secret=client) if client else NO_CLIENT_FIX
            return CLIENT_REFUSED.format(server=server, reason=str(seen.reason).lower().replace("_", " "), fix=fix)
        if isinstance(seen, (ssl.SSLError, ConnectionResetError)):
            return NOT_TLS.format(server=server, reason=type(seen).__name__ if not isinstance(seen, ssl.SSLError)
                                  else str(seen.reason or seen).lower().replace("_", " "))  # fmt: skip
        seen = seen.__cause__ or seen.__context__
    return None
