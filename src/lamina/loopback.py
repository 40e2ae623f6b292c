"""Whether a request comes from this machine and names it: what the operator's unsigned pages
(GET /metrics, the console) are served on without a token (pure).

A peer address is loopback when the connection came from 127.0.0.0/8 or ::1 (an IPv4 peer of a
dual-stack listener included). The Host header must name a loopback host too: a page of another
site whose name resolves to 127.0.0.1 (DNS rebinding) still sends its own name as the Host.
"""

from __future__ import annotations

import ipaddress


def loopback_address(remote: str | None) -> bool:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return False  # a Unix socket's peer, or nothing known
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None  # a dual-stack listener's
    return (mapped or address).is_loopback


def loopback_host(host: str | None) -> bool:
    """Whether a Host header (with or without its port) names this machine's loopback."""
    name = (host or "").strip().lower()
    if name.startswith("["):  # [::1]:9000
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
