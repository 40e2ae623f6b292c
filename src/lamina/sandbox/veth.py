"""Veths that give network namespaces a way out: one per namespace, with a /31 of the range.

The host end is ``lmn<8 hex>`` with the even address of the /31 (the namespace's gateway), the
other end is ``eth0`` in the namespace with the odd one and a default route via the even. The host
end's address is added without its prefix route and the route is added on its own, refused by the
kernel if the main table has that /31 already: so two Laminas sharing a range never route one /31
twice (the second moves on to the next).

``Veths`` is used from one thread only, the entrant's (``entrant.py``): its netlink socket is the
host's, opened by ``Veths()`` on the caller's thread (in the host's namespace), and has no lock.
Removing a veth makes the kernel wait a grace period (~20 ms) with its network lock held, so
removals are batched: links to remove are moved to a link group of their own and the group is
removed at once.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import secrets

from lamina.sandbox.nat import LINK_PREFIX
from lamina.sandbox.netlink import Netlink, NetlinkError, address_request, route_request, set_up_request

log = logging.getLogger(__name__)


class Subnets:
    """The /31s of a range, handed out to namespaces one each: pure bookkeeping, no I/O.

    Handing-out starts at a random /31 and moves on in order, so two Laminas on one host sharing a
    range rarely try the same one (and the kernel refuses the second route when they do).
    """

    def __init__(self, network: ipaddress.IPv4Network, start: int | None = None) -> None:
        if network.prefixlen > 30:
            raise ValueError(f"{network} has no room for namespaces: use a /30 or larger")
        self.network = network
        self.count = network.num_addresses // 2
        self._next = secrets.randbelow(self.count) if start is None else start % self.count
        self._used: set[int] = set()

    def take(self) -> int:
        """A /31 nobody here holds (``LookupError`` when all are)."""
        if len(self._used) >= self.count:
            raise LookupError(f"every /31 of {self.network} is in use")
        while self._next in self._used:
            self._next = (self._next + 1) % self.count
        taken, self._next = self._next, (self._next + 1) % self.count
        self._used.add(taken)
        return taken

    def give_back(self, index: int) -> None:
        self._used.discard(index)

    def addresses(self, index: int) -> tuple[str, str]:
        """(the host end's address, the namespace's) of /31 number ``index``."""
        base = int(self.network.network_address) + 2 * index
        return str(ipaddress.IPv4Address(base)), str(ipaddress.IPv4Address(base + 1))

    def index(self, address: str) -> int:
        """The number of the /31 that holds ``address``."""
        return (int(ipaddress.IPv4Address(address)) - int(self.network.network_address)) // 2


class Veths:
    """The veths of one pool (see the module docstring)."""

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        self.network = network
        self.subnets = Subnets(network)
        # Every veth is made in the pool's link group, so closing removes them all in one batch
        # (leaked ones included); the veths of closed namespaces wait in a second group.
        self.group = 0x10000 + secrets.randbelow(0x7FFF0000)
        self._doomed = self.group + 1
        self._host = Netlink()

    def close(self) -> None:
        self._host.close()

    def plumb(self, inside: Netlink, fd: int) -> tuple[str, str]:
        """Give the namespace ``fd`` a veth, an address and a default route; ``inside`` is a netlink
        socket of that namespace. Returns the host end's name and the namespace's address."""
        for _ in range(8):
            try:
                subnet = self.subnets.take()
            except LookupError as exc:
                raise OSError(errno.EADDRNOTAVAIL, str(exc)) from exc
            gateway, address = self.subnets.addresses(subnet)
            link, indexes = self._add_veth(fd)
            try:
                # The indexes come with the kernel's echo of the new link, else from a lookup;
                # the peer's too, so that nothing is looked up inside.
                index, peer = indexes if indexes is not None else self._host.link_indexes(link)
                self._host.batch([address_request(index, gateway, 31, prefix_route=False),
                                  route_request(f"{gateway}/31", index=index)])  # fmt: skip
            except NetlinkError as exc:
                self._delete(link)
                if exc.errno != errno.EEXIST:
                    self.subnets.give_back(subnet)
                    raise
                continue  # another Lamina routes this /31: leave it taken here, try the next
            try:
                eth0 = peer if peer is not None else inside.link_index("eth0")
                inside.batch([set_up_request(eth0), address_request(eth0, address, 31),
                              route_request("0.0.0.0/0", gateway=gateway)])  # fmt: skip
            except BaseException:
                self._delete(link)
                self.subnets.give_back(subnet)
                raise
            return link, address
        raise NetlinkError(errno.EADDRINUSE, f"no free /31 in {self.network} after 8 tries")

    def remove(self, veths: list[tuple[str, str]]) -> None:
        """Remove the veths (name, namespace address) that are still there, in one batch, and give
        their /31s back."""
        moved = False
        for link, _ in veths:
            try:
                self._host.set_group(link, self._doomed)
                moved = True
            except NetlinkError as exc:
                if exc.errno != errno.ENODEV:  # ENODEV: gone with its namespace already
                    log.warning("network: cannot remove the veth %s: %s", link, exc)
        if moved:
            self._delete_group(self._doomed)
        for _, address in veths:
            self.subnets.give_back(self.subnets.index(address))

    def remove_all(self) -> None:
        """Remove every veth this pool made, whoever holds its namespace."""
        self._delete_group(self.group)
        self._delete_group(self._doomed)

    def _add_veth(self, fd: int) -> tuple[str, tuple[int, int | None] | None]:
        """A veth whose peer is ``eth0`` in the namespace ``fd``, under a fresh name; its name, and
        its and its peer's indexes when the kernel echoed them (``Netlink.add_veth``)."""
        for _ in range(8):
            link = f"{LINK_PREFIX}{secrets.token_hex(4)}"
            try:
                indexes = self._host.add_veth(link, "eth0", fd, group=self.group)
            except NetlinkError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise
            return link, indexes
        raise NetlinkError(errno.EEXIST, "no free veth name after 8 tries")

    def _delete(self, link: str) -> None:
        try:
            self._host.delete_link(link)
        except NetlinkError as exc:
            if exc.errno != errno.ENODEV:
                log.warning("network: cannot remove the veth %s: %s", link, exc)

    def _delete_group(self, group: int) -> None:
        try:
            self._host.delete_group(group)
        except NetlinkError as exc:
            if exc.errno != errno.ENODEV:
                log.warning("network: cannot remove veths of group %d: %s", group, exc)
