"""What other servers on the database changed, as it happens: PostgreSQL's ``LISTEN``/``NOTIFY``.

Each write of a function, a version, an alias, an asynchronous-invocation configuration or a URL
notifies ``lamina_changes`` in its transaction (so at its commit, and only then) with ``notice``:
the schema (the cell), the writing server's claimer id and the function's name. A write of
resources (``ResourceStore``: IAM, STS sessions, code-signing configurations, layers' permissions,
the other services' documents) notifies each kind it changed, as ``@`` and the kind (no function
name holds an ``@``), and the key after a space when it changed one key of the kind (a session
started: the others read that one rather than every one). ``ChangeFollower`` listens on a
connection of its own and has every other server's notice of its schema read again
(``reread(name)``: functions', or with ``resources``, kinds'), its own skipped. Should the
connection drop (the database restarted), it connects again and has everything read again
(``reread_all``): what changed meanwhile was notified to nobody.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, NamedTuple

import psycopg
from psycopg import AsyncConnection

log = logging.getLogger(__name__)

CHANNEL = "lamina_changes"
RETRY_SECONDS = 1.0
RESOURCES = "@"  # what a resource kind's notice begins with


class Notice(NamedTuple):
    schema: str
    claimer: str
    function: str


def notice(schema: str, claimer: str, function: str) -> str:
    """A notice's payload (none of the three holds a tab: a schema and a function name are checked,
    a claimer is made of a host name, a pid and hex)."""
    return f"{schema}\t{claimer}\t{function}"


def parse(payload: str) -> Notice | None:
    """A notice, or None if ``payload`` is not one (another program's NOTIFY on the channel)."""
    parts = payload.split("\t")
    if len(parts) != 3 or not all(parts) or parts[2] == RESOURCES:
        return None
    return Notice(*parts)


MAX_KEY = 256  # a longer key is not named in its notice (the kind is read again whole)


def resources_notice(schema: str, claimer: str, kind: str, key: str | None = None) -> str:
    """A notice that resources of ``kind`` changed, the one of ``key`` only if given (a kind holds
    no tab nor space: each is one of Lamina's names; a key that holds a tab is not named)."""
    named = key is not None and len(key) <= MAX_KEY and "\t" not in key
    return notice(schema, claimer, RESOURCES + kind + (f" {key}" if named else ""))


class ChangeFollower:
    def __init__(self, url: str, schema: str, claimer: str, reread: Callable[[str], Awaitable[None]],
                 reread_all: Callable[[], Awaitable[None]], *, resources: bool = False) -> None:  # fmt: skip
        """``resources``: follow the kinds of resources changed (``reread(kind)``) rather than the
        functions."""
        self._url, self._schema, self._claimer = url, schema, claimer
        self._reread, self._reread_all = reread, reread_all
        self._resources = resources
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while a connection listens

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow(), name=f"lamina-changes-{self._schema}")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _follow(self) -> None:
        first = True
        while True:
            try:
                async with await AsyncConnection.connect(self._url, autocommit=True, connect_timeout=10) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    if not first:  # what changed while nobody listened
                        await self._reread_all()
                    first = False
                    async for notified in conn.notifies():
                        found = parse(notified.payload)
                        if found is None or found.schema != self._schema or found.claimer == self._claimer:
                            continue
                        if found.function.startswith(RESOURCES) != self._resources:
                            continue
                        await self._reread(found.function[len(RESOURCES):] if self._resources else found.function)
            except psycopg.OperationalError as exc:
                log.warning("not following other servers' changes (retrying): %s", exc)
            except Exception:  # a reread that failed (the database went away under it?): all again
                log.exception("following other servers' changes failed (retrying)")
            self.listening.clear()
            await asyncio.sleep(RETRY_SECONDS)
