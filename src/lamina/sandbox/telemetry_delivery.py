"""Sending a Telemetry API batch to a subscriber's listener, inside its environment.

A subscriber listens on ``sandbox.localdomain`` (the environment's loopback): in an environment
with a network namespace of its own, Lamina connects with a socket made inside that namespace
(``NetworkPool.socket_in``), which nothing else could reach; without one, on the host's address.
One batch is one ``POST`` on a connection of its own; the subscriber's status line is its receipt.
"""

from __future__ import annotations

import asyncio

from lamina.runtime import telemetry as rt
from lamina.sandbox.network import Namespace, NetworkPool

SEND_S = 2.0  # how long connecting, and the subscriber's answer, may take


async def post(
    subscription: rt.Subscription, body: bytes, *, network: NetworkPool | None, namespace: Namespace | None, host: str
) -> None:
    """POST ``body`` (a JSON array of records) to ``subscription``'s destination."""
    if network is not None and namespace is not None:
        sock = await network.socket_in(namespace)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", subscription.port)), SEND_S)
        except BaseException:
            sock.close()
            raise
        reader, writer = await asyncio.open_connection(sock=sock)
    else:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, subscription.port), SEND_S)
    try:
        head = (f"POST {subscription.path} HTTP/1.1\r\nHost: {rt.DESTINATION_HOST}:{subscription.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
        writer.write(head.encode() + body)
        await writer.drain()
        await asyncio.wait_for(reader.readline(), SEND_S)  # its status line: it took the batch
    finally:
        writer.close()
