"""How long the front door keeps a connection the native data plane handed over (pure).

The plane hands a connection to Python when a request on it is one it does not serve (an Event
invoke, a control call); Python gives it back once it is idle, so that the client's later plain
Invokes are native again. A client that sends only such requests on its connection (an
asynchronous producer) would have it handed over and given back for every request: a descriptor
passed each way, an asyncio transport made and dropped, the plane's thread woken twice. So a
connection handed over again is kept for twice as many answered requests as the time before
(1, 2, 4, ... at most ``MAX_KEEP``): a producer's connection is handed over about log2(n) times for
n requests, and a client that calls the control API once between Invokes still gets its Invokes
served natively after one.

A connection is known by its client's address and port (the plane hands over a new descriptor
each time); at most ``MAX_REMEMBERED`` are remembered, the least recently handed over forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_KEEP = 1024
MAX_REMEMBERED = 4096


class Handovers:
    """The connections the plane handed over, by their client's address, and how many times."""

    def __init__(self, remembered: int = MAX_REMEMBERED) -> None:
        self._times: OrderedDict[str, int] = OrderedDict()
        self._remembered = remembered

    def handed_over(self, peer: str) -> int:
        """The plane handed over the connection from ``peer`` (address and port) once more: how
        many requests Python answers on it before giving it back."""
        times = self._times.pop(peer, 0) + 1
        self._times[peer] = times
        while len(self._times) > self._remembered:
            self._times.popitem(last=False)
        return min(MAX_KEEP, 1 << min(times - 1, 30))

    def __len__(self) -> int:
        return len(self._times)
