"""One MQTT 3.1.1 connection on the event loop, whose QoS 1 messages are acknowledged by the caller.

paho-mqtt does the protocol; this module drives it from asyncio the way paho documents for an
external event loop (its socket callbacks register ``loop_read`` and ``loop_write`` with the
loop's reader and writer, and a task calls ``loop_misc`` every second for keep-alives). The client
is made with ``manual_ack``: paho sends no PUBACK until ``ack`` is called, so a message the
caller has not finished with is still the broker's, and a persistent session gets it again on the
next connection. (aiomqtt acknowledges on receipt and does not expose paho's manual
acknowledgement.)

Failures surface as ``MqttError`` (a refused or lost connection, a broker that does not answer)
or ``OSError`` (the TCP connection), from ``connect`` and from whatever waits on the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.reasoncodes import ReasonCode

from lamina.iot.broker import BrokerUrl

MISC_INTERVAL = 1.0  # how often paho's keep-alive bookkeeping runs (as its asyncio example does)


class MqttError(Exception):
    """The broker refused, went away, or did not answer in time."""


@dataclass(frozen=True)
class Received:
    """One PUBLISH from the broker; ``ack`` it once it is safe to lose this copy."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int


class Connection:
    """``async with Connection(...) as c``: connected (CONNACK accepted) inside, disconnected
    after. Not reentrant; make a new one to connect again."""

    def __init__(self, url: BrokerUrl, identifier: str, keepalive: int, timeout: float) -> None:
        self._url = url
        self._keepalive = keepalive
        self._timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._lost: asyncio.Future[None] = self._loop.create_future()
        self._acks: dict[int, asyncio.Future[list[ReasonCode]]] = {}
        self._inbox: asyncio.Queue[Received] = asyncio.Queue()
        self._misc: asyncio.Task[None] | None = None
        self._fd = -1
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=identifier, clean_session=False,
                             protocol=paho.MQTTv311, reconnect_on_failure=False, manual_ack=True)  # fmt: skip
        if url.username is not None:
            client.username_pw_set(url.username, url.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_ack
        client.on_unsubscribe = self._on_ack
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        self._client = client

    async def __aenter__(self) -> Connection:
        # connect() blocks on DNS and the TCP handshake: in a thread, so the API never waits on it.
        await self._loop.run_in_executor(None, self._connect)
        try:
            await asyncio.wait_for(self._wait(self._connected), self._timeout)
        except TimeoutError:
            self._client.disconnect()
            raise MqttError(f"no CONNACK within {self._timeout:g} s") from None
        except BaseException:
            self._client.disconnect()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        """Disconnect; unacknowledged messages stay with the broker's session."""
        self._client.disconnect()
        with contextlib.suppress(Exception):
            self._client.loop_write()  # the DISCONNECT, now: at shutdown the loop may not run again
        self._unregister()
        for future in self._acks.values():
            future.cancel()

    def _connect(self) -> None:
        self._client.connect(self._url.host, self._url.port, self._keepalive)

    async def subscribe(self, topic_filter: str, qos: int) -> list[ReasonCode]:
        """The broker's granted QoS for ``topic_filter`` (a failure code >= 0x80 if refused)."""
        result, mid = self._client.subscribe(topic_filter, qos)
        return await self._acked(result, mid)

    async def unsubscribe(self, topic_filter: str) -> None:
        result, mid = self._client.unsubscribe(topic_filter)
        await self._acked(result, mid)

    async def receive(self) -> Received:
        """The next message; MqttError once the connection is lost."""
        if self._inbox.empty():
            getter = asyncio.ensure_future(self._inbox.get())
            try:
                await asyncio.wait((getter, self._lost), return_when=asyncio.FIRST_COMPLETED)
            finally:
                getter.cancel()
            if not getter.done() or getter.cancelled():
                self._lost.result()  # raises the reason
                raise MqttError("disconnected")
            return getter.result()
        return self._inbox.get_nowait()

    def ack(self, message: Received) -> None:
        """Send the PUBACK: the broker forgets the message. Nothing to send for QoS 0."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    async def _acked(self, result: MQTTErrorCode, mid: int | None) -> list[ReasonCode]:
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise MqttError(paho.error_string(result))
        future = self._acks[mid] = self._loop.create_future()
        try:
            return await asyncio.wait_for(self._wait(future), self._timeout)
        except TimeoutError:
            raise MqttError(f"no acknowledgement from the broker within {self._timeout:g} s") from None
        finally:
            self._acks.pop(mid, None)

    async def _wait(self, future: asyncio.Future[Any]) -> Any:
        """``future``'s result, or the reason the connection was lost before it came."""
        await asyncio.wait((future, self._lost), return_when=asyncio.FIRST_COMPLETED)
        if future.done():
            return future.result()
        self._lost.result()
        raise MqttError("disconnected")

    # -- paho's callbacks (on the loop, except the socket's first ones: connect() runs in a thread) --

    def _soon(self, call: Callable[[], object]) -> None:
        if threading.get_ident() == self._loop_thread:
            call()
        else:
            self._loop.call_soon_threadsafe(call)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any) -> None:
        def settle() -> None:
            if self._connected.done():
                return
            if code.is_failure:
                self._connected.set_exception(MqttError(f"the broker refused the connection: {code}"))
            else:
                self._connected.set_result(None)

        self._soon(settle)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, code: ReasonCode, props: Any) -> None:
        def settle() -> None:
            if not self._lost.done():
                self._lost.set_exception(MqttError(f"disconnected: {code}"))
                self._lost.exception()  # retrieved: not every connection is waited on when it is lost

        self._soon(settle)

    def _on_ack(self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any) -> None:
        future = self._acks.get(mid)
        if future is not None and not future.done():
            future.set_result(codes)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put_nowait(Received(message.topic, bytes(message.payload), message.qos, message.retain, message.mid))

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()

        def register() -> None:
            self._fd = fd
            self._loop.add_reader(fd, self._read)
            self._misc = self._loop.create_task(self._keep_alive(), name="lamina-mqtt-keepalive")

        self._soon(register)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._soon(self._unregister)

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()
        self._soon(lambda: self._loop.add_writer(fd, self._write))

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()
        self._soon(lambda: self._loop.remove_writer(fd))

    def _unregister(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)
        if self._misc is not None:
            self._misc.cancel()

    def _read(self) -> None:
        try:
            self._client.loop_read()
        except Exception as exc:  # paho reports a lost connection itself; this is anything else
            self._give_up(exc)

    def _write(self) -> None:
        try:
            self._client.loop_write()
        except Exception as exc:
            self._give_up(exc)

    def _give_up(self, exc: Exception) -> None:
        self._unregister()
        if not self._lost.done():
            self._lost.set_exception(MqttError(f"connection lost: {exc}"))
            self._lost.exception()

    async def _keep_alive(self) -> None:
        while self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:
            await asyncio.sleep(MISC_INTERVAL)

