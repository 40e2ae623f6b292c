"""Where RabbitMQ brokers are (``LAMINA_RABBITMQ_BROKERS``), parsed once, pure.

Lamina has no Amazon MQ or Secrets Manager API: an Amazon MQ broker ARN
(``arn:aws:mq:<region>:<account>:broker:<name>:<id>``) is mapped to the address of a broker the
operator runs by configuration, ``<broker name or ARN>=amqp://[user:password@]host[:port][/vhost]``
entries separated by commas or spaces. The credentials come from the URL (a mapping's BASIC_AUTH
secret ARN is recorded, not read); a mapping's VIRTUAL_HOST overrides the URL's vhost. Passwords
are never shown: ``str`` of an address leaves them out, and so do the parse errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lamina.redact import without_password

DEFAULT_PORT = 5672
VARIABLE = "LAMINA_RABBITMQ_BROKERS"
_BROKER_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:mq:[^:]*:\d*:broker:(?P<name>[^:]+):(?P<id>[^:]+)$")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int = DEFAULT_PORT
    username: str = "guest"  # AMQP's default user, as RabbitMQ ships it
    password: str = field(default="guest", repr=False)
    vhost: str = "/"

    def __str__(self) -> str:
        """The address without the password, for logs and ``lamina mappings``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"amqp://{self.username}@{host}:{self.port}/{self.vhost.replace('/', '%2F')}"


def broker_name(arn: str) -> str | None:
    """The broker's name in an Amazon MQ broker ARN; None if ``arn`` is not one."""
    match = _BROKER_ARN.match(arn)
    return match["name"] if match else None


def parse_address(url: str) -> BrokerAddress:
    """``amqp://[user:password@]host[:port][/vhost]`` (parts percent-encoded, ``%2F`` for ``/``;
    an empty path is vhost ``/``); ValueError saying what is wrong, without the password."""
    parts = urlsplit(url.strip())
    shown = without_password(url.strip())
    if parts.scheme != "amqp":
        raise ValueError(f"{VARIABLE}: {shown!r} is not amqp://[user:password@]host:port[/vhost] (amqps is not supported)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"{VARIABLE}: {shown!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"{VARIABLE}: {shown!r} names no host")
    if parts.query or parts.fragment or parts.path.count("/") > 1:
        raise ValueError(f"{VARIABLE}: {shown!r} has more than a host, port and vhost")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    address = BrokerAddress(parts.hostname, port, vhost=vhost)
    if parts.username:
        password = unquote(parts.password) if parts.password is not None else ""
        address = BrokerAddress(parts.hostname, port, unquote(parts.username), password, vhost)
    return address


def parse_brokers(value: str) -> dict[str, BrokerAddress]:
    """The brokers by name or ARN, from ``LAMINA_RABBITMQ_BROKERS``; ValueError for a bad entry."""
    brokers: dict[str, BrokerAddress] = {}
    for entry in re.split(r"[,\s]+", value.strip()):
        if not entry:
            continue
        key, sep, url = entry.partition("=")
        if not sep or not key:
            raise ValueError(f"{VARIABLE}: {without_password(entry)!r} is not <broker name or ARN>=amqp://host:port")
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
