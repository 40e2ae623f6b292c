"""Where RabbitMQ brokers are (``LAMINA_RABBITMQ_BROKERS``), parsed once, pure; and the TLS context
amqps brokers are verified with (``LAMINA_RABBITMQ_CA_FILE``).

Lamina has no Amazon MQ API: an Amazon MQ broker ARN
(``arn:aws:mq:<region>:<account>:broker:<name>:<id>``) is mapped to the address of a broker the
operator runs by configuration, ``<broker name or ARN>=amqp[s]://[user:password@]host[:port][/vhost]``
entries separated by commas or spaces: ``amqps`` is AMQP over TLS (port 5671 by default, as Amazon
MQ's brokers listen), the broker's certificate verified, hostname included, against the CAs of
``LAMINA_RABBITMQ_CA_FILE`` or else the system's. The credentials are the mapping's BASIC_AUTH
secret's, read from LAMINA_SECRETS_FILE (mappings/rabbitmq.py); the URL's, when that file does not
hold the secret. A mapping's VIRTUAL_HOST overrides the URL's vhost. Passwords are never shown:
``str`` of an address leaves them out, and so do the parse errors.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lamina.redact import without_password

DEFAULT_PORT = 5672
TLS_PORT = 5671
VARIABLE = "LAMINA_RABBITMQ_BROKERS"
CA_VARIABLE = "LAMINA_RABBITMQ_CA_FILE"
_BROKER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:mq:[^:]*:\d*:broker:(?P<name>[^:]+):(?P<id>[^:]+)$")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int = DEFAULT_PORT
    username: str = "guest"  # AMQP's default user, as RabbitMQ ships it
    password: str = field(default="guest", repr=False)
    vhost: str = "/"
    tls: bool = False  # amqps://
    credentials_given: bool = field(default=True, compare=False)  # the URL names a user (else: the secret's, or guest)

    def __str__(self) -> str:
        """The address without the password, for logs and ``lamina mappings``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "amqps" if self.tls else "amqp"
        user = f"{self.username}@" if self.credentials_given else ""
        return f"{scheme}://{user}{host}:{self.port}/{self.vhost.replace('/', '%2F')}"


def broker_name(arn: str) -> str | None:
    """The broker's name in an Amazon MQ broker ARN; None if ``arn`` is not one."""
    match = _BROKER_ARN.match(arn)
    return match["name"] if match else None


def parse_address(url: str) -> BrokerAddress:
    """``amqp[s]://[user:password@]host[:port][/vhost]`` (parts percent-encoded, ``%2F`` for ``/``;
    an empty path is vhost ``/``); ValueError saying what is wrong, without the password."""
    parts = urlsplit(url.strip())
    shown = without_password(url.strip())
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"{VARIABLE}: {shown!r} is not amqp[s]://[user:password@]host:port[/vhost]")
    tls = parts.scheme == "amqps"
    try:
        port = parts.port or (TLS_PORT if tls else DEFAULT_PORT)
    except ValueError:
        raise ValueError(f"{VARIABLE}: {shown!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"{VARIABLE}: {shown!r} names no host")
    if parts.query or parts.fragment or parts.path.count("/") > 1:
        raise ValueError(f"{VARIABLE}: {shown!r} has more than a host, port and vhost")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    address = BrokerAddress(parts.hostname, port, vhost=vhost, tls=tls, credentials_given=False)
    if parts.username:
        password = unquote(parts.password) if parts.password is not None else ""
        address = BrokerAddress(parts.hostname, port, unquote(parts.username), password, vhost, tls)
    return address


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The context amqps brokers are verified with, hostname included: the CAs of ``ca_file`` (PEM),
    else the system's; ValueError saying what is wrong with the file."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except OSError as exc:  # ssl.SSLError included: not PEM certificates
        detail = exc.strerror or str(exc.args[-1] if exc.args else exc)
        raise ValueError(f"{CA_VARIABLE} {ca_file} cannot be used: {detail} (it must be a PEM file of CA "
                         "certificates)") from None  # fmt: skip


def parse_brokers(value: str) -> dict[str, BrokerAddress]:
    """The brokers by name or ARN, from ``LAMINA_RABBITMQ_BROKERS``; ValueError for a bad entry."""
    brokers: dict[str, BrokerAddress] = {}
    for entry in re.split(r"[,\s]+", value.strip()):
        if not entry:
            continue
        key, sep, url = entry.partition("=")
        if not sep or not key:
            raise ValueError(f"{VARIABLE}: {without_password(entry)!r} is not <broker name or ARN>=amqp[s]://host:port")
        brokers[key] = parse_address(url)
    return brokers


def find(brokers: Mapping[str, BrokerAddress], arn: str) -> BrokerAddress | None:
    """The address configured for a broker ARN: by the whole ARN, else by the broker's name."""
    if arn in brokers:
        return brokers[arn]
    name = broker_name(arn)
    return brokers.get(name) if name is not None else None


def not_configured(arn: str) -> str:
    """What CreateEventSourceMapping says of a broker Lamina has no address for."""
    name = broker_name(arn) or "<name>"
    return (
        f"Lamina does not know where the Amazon MQ broker {arn} is: set {VARIABLE}={name}=amqp://user:password@"
        "host:port (RabbitMQ brokers only; Amazon MQ for ActiveMQ is not supported) and restart Lamina."
    )
