"""The host's side of outbound networking: IPv4 forwarding and one nftables table per Lamina.

Every environment's namespace reaches the host through a veth whose host end is named ``lmn...``
(``LINK_PREFIX``). The table holds every rule those links need, written once at start-up, never per
namespace::

    input        anything arriving from a namespace for the host itself is dropped: Lamina's API,
                 and every server on the host, on any of its addresses (IPv4 and IPv6)
    forward      into a namespace only replies to its own connections (not another namespace, not
                 the outside); out of one only IPv4 from the address its link routes to (no spoofing)
    postrouting  a namespace's traffic leaving through any other interface is masqueraded

The rules name links by prefix, so each table also protects the namespaces of any other Lamina on
the host; each Lamina's table is its own (``lamina_<pid>_<start time>``), so two never clash, and a
table whose process is gone (a crash) is removed by the next start (by whichever of several
starting at once gets there first: the others go on). Deciding (the rules' text, which
tables are stale) is pure; ``HostRules`` does the I/O, with the ``nft`` command (Debian's
``nftables``): it runs twice a process lifetime, so a netlink implementation would buy nothing.

IPv4 forwarding is a host-wide switch: Lamina turns it on when it is off and leaves it on (another
Lamina may depend on it), as container engines do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

LINK_PREFIX = "lmn"
TABLE_PREFIX = "lamina_"
FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
_TABLE = re.compile(r"^table inet (lamina_(\d+)_(\d+))$")


class HostRulesError(Exception):
    """The host's rules could not be set up; the message says why, for the start-up report."""


def table_name(pid: int, start_time: int) -> str:
    """The table of the process ``pid`` started at ``start_time`` (clock ticks since boot)."""
    return f"{TABLE_PREFIX}{pid}_{start_time}"


def ruleset(table: str, network: ipaddress.IPv4Network) -> str:
    """The ``nft -f`` text that creates ``table`` for namespaces addressed from ``network``.

    Chains run just before the usual filter priority, so their drops come first; an accept here
    does not override another table's drop (netfilter ends a packet at the first drop).
    """
    links = f'"{LINK_PREFIX}*"'
    return f"""table inet {table} {{
    chain input {{
        type filter hook input priority filter - 5; policy accept;
        iifname {links} drop
    }}
    chain forward {{
        type filter hook forward priority filter - 5; policy accept;
        oifname {links} ct state established,related accept
        oifname {links} drop
        iifname {links} meta nfproto ipv6 drop
        iifname {links} fib saddr . iif oif missing drop
    }}
    chain postrouting {{
        type nat hook postrouting priority srcnat + 5; policy accept;
        ip saddr {network} oifname != {links} masquerade
    }}
}}
"""


def stale_tables(listing: str, alive: Callable[[int, int], bool]) -> list[str]:
    """Tables of Lamina's in ``nft list tables`` output whose process is gone."""
    stale = []
    for line in listing.splitlines():
        match = _TABLE.match(line.strip())
        if match and not alive(int(match.group(2)), int(match.group(3))):
            stale.append(match.group(1))
    return stale


def start_time(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22); None when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    return int(stat.rsplit(")", 1)[1].split()[19])


def process_alive(pid: int, started: int) -> bool:
    return start_time(pid) == started


@dataclass
class HostRules:
    """This Lamina's table on the host (see the module docstring). ``install`` once, ``remove`` at
    close (safe to call twice, and when ``install`` failed)."""

    network: ipaddress.IPv4Network
    table: str = ""
    installed: bool = False
    nft: str = "nft"

    def __post_init__(self) -> None:
        if not self.table:
            pid = os.getpid()
            self.table = table_name(pid, start_time(pid) or 0)

    async def install(self) -> None:
        """Remove stale tables, turn forwarding on, create the table; ``HostRulesError`` says why not."""
        nft = shutil.which("nft")
        if nft is None:
            raise HostRulesError("no nft command (Debian's nftables package)")
        self.nft = nft
        listing = await self._run("list", "tables")
        for stale in stale_tables(listing, process_alive):
            await self._remove_stale(stale)
        enable_forwarding()
        await self._run("-f", "-", stdin=ruleset(self.table, self.network))
        self.installed = True

    async def _remove_stale(self, table: str) -> None:
        """Remove a gone Lamina's table. Another Lamina starting at the same moment may remove it
        first (the delete then fails): that is no reason to go without outbound networking, nor
        is a table that will not go (its rules are the same as this one's)."""
        log.info("network: removing the table %s of a Lamina that is gone", table)
        try:
            await self._run("delete", "table", "inet", table)
        except HostRulesError as exc:
            if table in stale_tables(await self._run("list", "tables"), process_alive):
                log.warning("network: could not remove the table %s of a Lamina that is gone: %s", table, exc)

    async def remove(self) -> None:
        if not self.installed:
            return
        self.installed = False
        try:
            await self._run("delete", "table", "inet", self.table)
        except HostRulesError as exc:
            log.warning("network: could not remove the table %s: %s", self.table, exc)

    async def _run(self, *args: str, stdin: str | None = None) -> str:
        process = await asyncio.create_subprocess_exec(
            self.nft, *args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await process.communicate(None if stdin is None else stdin.encode())
        if process.returncode != 0:
            raise HostRulesError(f"nft {' '.join(args)}: {err.decode(errors='replace').strip() or process.returncode}")
        return out.decode(errors="replace")


def enable_forwarding(path: Path = FORWARDING) -> None:
    """Turn IPv4 forwarding on if it is off (``HostRulesError`` when the host does not allow it)."""
    try:
        if path.read_text().strip() == "1":
            return
        path.write_text("1\n")
    except OSError as exc:
        raise HostRulesError(f"cannot turn on IPv4 forwarding ({exc.strerror})") from exc
    log.info("network: turned on IPv4 forwarding (net.ipv4.ip_forward) for environments' outbound traffic")
