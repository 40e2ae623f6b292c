"""Who is on the other end of a loopback TCP connection: the owner uid of the peer's socket.

Each environment's Runtime API listens on 127.0.0.1, where any local process could connect. When
environments run as uids of their own, the endpoint accepts only connections whose socket belongs
to its environment's uid. The kernel tells through NETLINK_SOCK_DIAG: one exact lookup of the
peer's socket by its addresses, a few tens of microseconds, once per connection.
"""

from __future__ import annotations

import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_NO_COOKIE = 0xFFFFFFFF
_ALL_STATES = 0xFFFFFFFF


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _sockid(src: tuple[str, int], dst: tuple[str, int]) -> bytes:
    family = _family(src[0])
    return (
        struct.pack("!HH", src[1], dst[1])
        + socket.inet_pton(family, src[0]).ljust(16, b"\0")
        + socket.inet_pton(family, dst[0]).ljust(16, b"\0")
        + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    )


def tcp_peer_uid(local: tuple[str, int], peer: tuple[str, int]) -> int | None:
    """The uid owning the socket at ``peer`` connected to ``local`` (IPv4 or IPv6), or None if not found.

    Raises OSError if the kernel offers no socket diagnostics.
    """
    family = _family(peer[0])
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + _sockid(peer, local)
    header = struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        nl.sendto(header + request, (0, 0))
        data = nl.recv(65536)
    length, kind = struct.unpack_from("=IH", data)
    if kind == NLMSG_ERROR or length < 16 + 72:
        return None
    (uid,) = struct.unpack_from("=I", data, 16 + 64)
    return int(uid)
