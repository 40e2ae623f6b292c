"""Sending Telemetry and Logs API batches to subscribers' listeners, inside their environment.

A subscriber listens on ``sandbox.localdomain`` (the environment's loopback): in an environment
with a network namespace of its own, Lamina connects with a socket made inside that namespace
(``NetworkPool.socket_in``), which nothing else could reach; without one, on the host's address.

- HTTP: one batch is one ``POST`` on a connection of its own; the subscriber's status line is its receipt.
- TCP: batches (newline-delimited JSON) follow one another on one connection per subscriber, made
  on the first batch and again after one failed; nothing acknowledges them, as on Lambda.

Each step (connecting, a batch's writing, an HTTP answer) may take ``SEND_S``; a subscriber that
does not keep up loses that batch, not the environment's time. ``close`` is safe to call twice.
"""

from __future__ import annotations

import asyncio

from lamina.runtime import telemetry as rt
from lamina.sandbox.network import Namespace, NetworkPool

SEND_S = 2.0  # how long connecting, writing a batch, and the subscriber's answer, may take


class Delivery:
    """One environment's deliveries: ``network`` and ``namespace`` where it has a network namespace
    of its own, else its listeners are on ``host``."""

    def __init__(self, *, network: NetworkPool | None, namespace: Namespace | None, host: str) -> None:
        self._network = network
        self._namespace = namespace
        self._host = host
        self._streams: dict[tuple[str, int], asyncio.StreamWriter] = {}  # TCP subscribers' connections
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}  # one batch at a time on each

    async def send(self, subscription: rt.Subscription, body: bytes) -> None:
        """Deliver ``body`` (a batch, encoded for the subscription's protocol)."""
        if subscription.protocol == rt.TCP:
            await self._stream(subscription, body)
        else:
            await self._post(subscription, body)

    async def _connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._network is not None and self._namespace is not None:
            sock = await self._network.socket_in(self._namespace)
            try:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port)), SEND_S)
            except BaseException:
                sock.close()
                raise
            return await asyncio.open_connection(sock=sock)
        return await asyncio.wait_for(asyncio.open_connection(self._host, port), SEND_S)

    async def _post(self, subscription: rt.Subscription, body: bytes) -> None:
        reader, writer = await self._connect(subscription.port)
        try:
            head = (f"POST {subscription.path} HTTP/1.1\r\nHost: {rt.DESTINATION_HOST}:{subscription.port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")  # fmt: skip
            writer.write(head.encode() + body)
            await asyncio.wait_for(writer.drain(), SEND_S)
            await asyncio.wait_for(reader.readline(), SEND_S)  # its status line: it took the batch
        finally:
            writer.close()

    async def _stream(self, subscription: rt.Subscription, body: bytes) -> None:
        key = (subscription.extension, subscription.port)
        async with self._locks.setdefault(key, asyncio.Lock()):
            writer = self._streams.get(key)
            if writer is None or writer.is_closing():
                _, writer = await self._connect(subscription.port)
                self._streams[key] = writer
            writer.write(body)
            try:
                await asyncio.wait_for(writer.drain(), SEND_S)
            except BaseException:
                writer.close()  # the next batch tries a new connection
                self._streams.pop(key, None)
                raise

    def close(self) -> None:
        """Close the TCP subscribers' connections."""
        for writer in self._streams.values():
            writer.close()
        self._streams.clear()
