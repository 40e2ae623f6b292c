"""Where the MQTT broker is (``LAMINA_MQTT_URL``), parsed once, pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lamina.redact import without_password

DEFAULT_PORT = 1883


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        """The address without the password, for logs and ``lamina iot rules``."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mqtt://{user}{host}:{self.port}"


def parse_url(value: str) -> BrokerUrl:
    """``mqtt://[user:password@]host[:port]`` (user and password percent-encoded); ValueError
    saying what is wrong otherwise. TLS (``mqtts://``) is not supported yet."""
    parts = urlsplit(value.strip())
    shown = without_password(value.strip())  # errors never show the password
    if parts.scheme != "mqtt":
        raise ValueError(f"LAMINA_MQTT_URL: {shown!r} is not mqtt://[user:password@]host:port")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"LAMINA_MQTT_URL: {shown!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"LAMINA_MQTT_URL: {shown!r} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"LAMINA_MQTT_URL: {shown!r} has more than a host and port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return BrokerUrl(parts.hostname, port, username, password)
