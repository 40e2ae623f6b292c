"""A minimal rtnetlink client: the few link, address and route requests network namespaces need.

A netlink socket talks to the network namespace it was created in, whatever thread uses it later:
``Netlink()`` opened by a thread inside a namespace configures that namespace, one opened in the
host's namespace configures the host. Each request waits for the kernel's acknowledgement; a
refusal raises ``NetlinkError`` with its errno. One request at a time per socket: a socket is not
shared between threads without a lock of the caller's. ``batch`` sends several requests in one
system call (the kernel takes them in order and acknowledges each), for the steps of one namespace's
plumbing that depend on no answer of each other.

Written against ``linux/rtnetlink.h`` and ``linux/if_link.h`` rather than a netlink library, so the
per-namespace plumbing costs a handful of system calls and no dependency.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct

# Message types and flags (linux/netlink.h, linux/rtnetlink.h).
NLMSG_ERROR = 2
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_ECHO = 0x8
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLA_F_NESTED = 0x8000

# Attributes.
IFLA_IFNAME = 3
IFLA_LINK = 5
IFLA_LINKINFO = 18
IFLA_GROUP = 27
IFLA_NET_NS_FD = 28
IFLA_EXT_MASK = 29
RTEXT_FILTER_SKIP_STATS = 1 << 3
IFLA_INFO_KIND = 1
IFLA_INFO_DATA = 2
VETH_INFO_PEER = 1
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_FLAGS = 8
IFA_F_NOPREFIXROUTE = 0x200
RTA_DST = 1
RTA_OIF = 4
RTA_GATEWAY = 5

IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_UNICAST = 1
LOOPBACK_INDEX = 1  # ``lo`` is always the first link of a network namespace

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port id
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # ifaddrmsg: family, prefix length, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags


class NetlinkError(OSError):
    """The kernel refused a request (``errno`` says why)."""


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _name(value: str) -> bytes:
    return value.encode() + b"\0"


def _u32(value: int) -> bytes:
    return struct.pack("=I", value)


def _ifinfo(index: int = 0, *, up: bool = False) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, index, IFF_UP if up else 0, IFF_UP if up else 0)


class Netlink:
    """An rtnetlink socket of the calling thread's network namespace (see the module docstring)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, kind: int, flags: int, body: bytes) -> bytes:
        """Send one request and return the payload of the kernel's answer (empty for an ack)."""
        return self._exchange([(kind, flags, body)])[0]

    def batch(self, requests: list[Request]) -> None:
        """Send ``requests`` (from ``set_up_request``, ``address_request``, ``route_request``) in one
        system call; the kernel carries out each in order, whether or not one before it failed.
        Raises the first refusal, once every answer has been read."""
        self._exchange(requests)

    def _exchange(self, requests: list[Request]) -> list[bytes]:
        """Send ``requests`` at once; each one's answer payload (empty for an ack), or the first refusal."""
        first = self._seq + 1
        self._seq += len(requests)
        message = b"".join(
            _HEADER.pack(_HEADER.size + len(body), kind, NLM_F_REQUEST | NLM_F_ACK | flags, first + i, 0) + body
            for i, (kind, flags, body) in enumerate(requests)
        )  # fmt: skip
        self._sock.send(message)
        answers = [b""] * len(requests)
        pending = len(requests)
        refusal: NetlinkError | None = None
        while pending:
            data = self._sock.recv(65536)
            if not data:
                raise NetlinkError(errno.EPROTO, "netlink: the socket was closed")
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, msg_type, _, msg_seq, _ = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise NetlinkError(errno.EPROTO, "netlink: malformed message")
                payload = data[offset + _HEADER.size : offset + length]
                offset += (length + 3) & ~3
                if not first <= msg_seq < first + len(requests):
                    continue
                if msg_type == NLMSG_ERROR:
                    pending -= 1
                    (code,) = struct.unpack_from("=i", payload)
                    if code and refusal is None:
                        refusal = NetlinkError(-code, f"netlink: {os.strerror(-code)}")
                else:
                    answers[msg_seq - first] = payload  # a reply (to RTM_GETLINK, or echoed) comes before its ack
        if refusal is not None:
            raise refusal
        return answers

    def link_index(self, name: str) -> int:
        """The index of the link called ``name`` (``ENODEV`` when there is none)."""
        return self.link_indexes(name)[0]

    def link_indexes(self, name: str) -> tuple[int, int | None]:
        """The index of the link called ``name`` and of the link it is tied to (``IFLA_LINK``: a
        veth's peer, as its own namespace numbers it), in one request; ``ENODEV`` when there is none."""
        body = _ifinfo() + _attr(IFLA_IFNAME, _name(name)) + _attr(IFLA_EXT_MASK, _u32(RTEXT_FILTER_SKIP_STATS))
        indexes = _link_indexes(self._request(RTM_GETLINK, 0, body))
        if indexes is None:
            raise NetlinkError(errno.EPROTO, "netlink: short link reply")
        return indexes

    def set_up(self, index: int) -> None:
        self.batch([set_up_request(index)])

    def add_veth(self, name: str, peer: str, peer_namespace_fd: int, *, group: int = 0) -> tuple[int, int | None] | None:
        """A veth pair: ``name`` here, up, in link group ``group``; ``peer`` in the namespace
        ``peer_namespace_fd``, down (the kernel refuses to bring a peer up while creating it:
        ``set_up`` it from its namespace). ``EEXIST`` when a link called ``name`` already exists here.
        Returns the indexes ``link_indexes`` would, from the kernel's echo of the new link, or None
        from a kernel that echoes nothing (before Linux 6.3): then ask ``link_indexes``.
        """
        peer_info = _ifinfo() + _attr(IFLA_IFNAME, _name(peer)) + _attr(IFLA_NET_NS_FD, _u32(peer_namespace_fd))
        data = _attr(VETH_INFO_PEER, peer_info)  # not flagged nested: it starts with an ifinfomsg
        info = _attr(IFLA_INFO_KIND, _name("veth")) + _attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
        body = _ifinfo(up=True) + _attr(IFLA_IFNAME, _name(name)) + _attr(IFLA_GROUP, _u32(group))
        body += _attr(IFLA_LINKINFO | NLA_F_NESTED, info)
        return _link_indexes(self._request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, body))

    def delete_link(self, name: str) -> None:
        """Remove the link ``name`` (and a veth's peer with it); ``ENODEV`` when it is gone already.

        The kernel waits for a grace period before it answers (~20 ms): never on the event loop.
        """
        self._request(RTM_DELLINK, 0, _ifinfo() + _attr(IFLA_IFNAME, _name(name)))

    def set_group(self, name: str, group: int) -> None:
        """Move the link ``name`` to link group ``group``; ``ENODEV`` when it is gone."""
        self._request(RTM_NEWLINK, 0, _ifinfo() + _attr(IFLA_IFNAME, _name(name)) + _attr(IFLA_GROUP, _u32(group)))

    def delete_group(self, group: int) -> None:
        """Remove every link in group ``group`` in one batch: one grace period for all of them,
        where ``delete_link`` waits one for each. ``ENODEV`` when the group has none."""
        self._request(RTM_DELLINK, 0, _ifinfo() + _attr(IFLA_GROUP, _u32(group)))

    def add_address(self, index: int, address: str, prefix: int, *, prefix_route: bool = True) -> None:
        """Give link ``index`` an IPv4 address; without ``prefix_route`` the kernel adds no route for
        its prefix (the caller adds one with ``add_route``, which can refuse a clash)."""
        self.batch([address_request(index, address, prefix, prefix_route=prefix_route)])

    def add_route(self, destination: str, *, index: int | None = None, gateway: str | None = None) -> None:
        """Add an IPv4 route to ``destination`` (``a.b.c.d/n``) in the main table, through link
        ``index`` (on-link) or via ``gateway``; ``EEXIST`` when the table has that prefix already."""
        self.batch([route_request(destination, index=index, gateway=gateway)])


Request = tuple[int, int, bytes]  # message type, flags, body: one request of a ``Netlink.batch``


def set_up_request(index: int) -> Request:
    """Bring link ``index`` up."""
    return RTM_NEWLINK, 0, _ifinfo(index, up=True)


def address_request(index: int, address: str, prefix: int, *, prefix_route: bool = True) -> Request:
    """``Netlink.add_address``'s request."""
    packed = ipaddress.IPv4Address(address).packed
    body = _IFADDR.pack(socket.AF_INET, prefix, 0, RT_SCOPE_UNIVERSE, index)
    body += _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed)
    if not prefix_route:
        body += _attr(IFA_FLAGS, _u32(IFA_F_NOPREFIXROUTE))
    return RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body


def route_request(destination: str, *, index: int | None = None, gateway: str | None = None) -> Request:
    """``Netlink.add_route``'s request."""
    network = ipaddress.IPv4Network(destination)
    scope = RT_SCOPE_LINK if gateway is None else RT_SCOPE_UNIVERSE
    body = _RTMSG.pack(socket.AF_INET, network.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, scope, RTN_UNICAST, 0)
    if network.prefixlen:
        body += _attr(RTA_DST, network.network_address.packed)
    if gateway is not None:
        body += _attr(RTA_GATEWAY, ipaddress.IPv4Address(gateway).packed)
    if index is not None:
        body += _attr(RTA_OIF, struct.pack("=i", index))
    return RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body


def _link_indexes(reply: bytes) -> tuple[int, int | None] | None:
    """A link message's index and ``IFLA_LINK`` (None if absent); None for no message."""
    if len(reply) < _IFINFO.size:
        return None
    index = int(_IFINFO.unpack_from(reply)[2])
    offset = _IFINFO.size
    while offset + 4 <= len(reply):
        length, kind = struct.unpack_from("=HH", reply, offset)
        if length < 4:
            break
        if kind & ~NLA_F_NESTED == IFLA_LINK and length >= 8:
            return index, int(struct.unpack_from("=i", reply, offset + 4)[0])
        offset += (length + 3) & ~3
    return index, None
