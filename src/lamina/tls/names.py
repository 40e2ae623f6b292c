"""The names Lamina answers by, which its own server certificate must cover (pure).

Besides loopback (``localhost``, 127.0.0.1, ::1) Lamina routes by the Host header: function URLs
(``<url-id>.lambda-url.<region>.localhost``, urls/addresses.py), execute-api endpoints
(``<api-id>.execute-api.localhost``, gateway/addresses.py) and S3's virtual hosts
(``<bucket>.s3.localhost``, objects/routing.py). A wildcard covers one label only (RFC 6125), so
function URLs need one per region; a bucket name with dots is not covered, as under AWS's own
``*.s3.amazonaws.com`` certificate.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lamina.cells.regions import REGIONS

# Addresses that listen everywhere: nobody reaches Lamina by them, so no certificate names them.
_ANY = frozenset({"", "0.0.0.0", "::"})


@dataclass(frozen=True)
class ServerNames:
    """The DNS names and IP addresses a server certificate lists (its subjectAltName)."""

    dns: tuple[str, ...]
    ips: tuple[str, ...]


def served_names(host: str, region: str) -> ServerNames:
    """What Lamina, listening on ``host`` with ``region`` as its own, is reached by."""
    dns = ["localhost", "s3.localhost", "*.s3.localhost", "*.execute-api.localhost"]
    dns += [f"*.lambda-url.{name}.localhost" for name in sorted(REGIONS | {region})]
    ips = ["127.0.0.1", "::1"]
    if host not in _ANY:
        try:
            address = str(ipaddress.ip_address(host.strip("[]")))
        except ValueError:
            if host.lower() not in dns:
                dns.append(host.lower())
        else:
            if address not in ips:
                ips.append(address)
    return ServerNames(dns=tuple(dns), ips=tuple(ips))
