"""The cells of one server, by (account, region): started lazily, found per request, stopped in order.

The default cell (``LAMINA_ACCOUNT_ID``, ``LAMINA_REGION``) lives in the data directory itself,
as the whole server's state did before cells, so an existing installation is its default cell
unchanged. Every other cell lives under ``<data>/cells/<account>/<region>/``, laid out as the data
directory is (``layout``). ``start`` starts the default cell and every cell whose directory exists
(their queues, schedules and mappings resume); another starts on the first request signed for it
(``open``, after authentication: its account is a known key's, its region one of AWS's). ``close``
stops every cell, the last started first.

Requests that carry no signature find their cell by what they name: a function URL's url-id
(``with_url``), an execute-api address's api-id (``kind``, ``plain``: the host's directory of
APIs, what the front door and ``api/execute_api.py`` ask). Ids are random and long, so one names
at most one cell; the cells are few, and each lookup is a dictionary's.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Container

from lamina.api.context import Services
from lamina.cells.cell import Cell
from lamina.cells.host import Host
from lamina.control.layers import LayerService
from lamina.errors import ServiceError
from lamina.gateway.endpoint import Endpoints
from lamina.metrics.exposition import CellView
from lamina.gateway.exchange import PlainEndpoints
from lamina.model import FunctionUrlConfig
from lamina.store.aggregates import Store

log = logging.getLogger(__name__)

CELLS_DIR = "cells"
_ACCOUNT = re.compile(r"[0-9]{12}")


def cell_dir(data_dir: Path, default: tuple[str, str], account_id: str, region: str) -> Path:
    """Where the cell of ``account_id`` and ``region`` keeps its state: the data directory itself
    for the default cell, ``<data>/cells/<account>/<region>`` for the others (pure)."""
    if (account_id, region) == default:
        return data_dir
    return data_dir / CELLS_DIR / account_id / region


def existing(data_dir: Path, regions: Container[str]) -> list[tuple[str, str]]:
    """The (account, region) of every cell directory under ``data_dir`` that holds a store."""
    found: list[tuple[str, str]] = []
    root = data_dir / CELLS_DIR
    if not root.is_dir():
        return found
    for account in sorted(root.iterdir()):
        if not account.is_dir() or _ACCOUNT.fullmatch(account.name) is None:
            continue
        for region in sorted(account.iterdir()):
            if region.name in regions and (region / "lamina.db").is_file():
                found.append((account.name, region.name))
    return found


class Cells:
    """Every cell of the server (``host``); one per (account, region) at most."""

    def __init__(self, host: Host, regions: Container[str], *, default_store: Store | None = None) -> None:
        self.host = host
        self.regions: Container[str] = regions
        self.data_dir = host.settings.data_dir.resolve()
        code_dir = host.settings.code_dir
        self.code_dir = code_dir.resolve() if code_dir is not None else None  # LAMINA_CODE_DIR
        self.default_key = (host.settings.account_id, host.settings.region)
        self._cells: dict[tuple[str, str], Cell] = {}  # started, in the order they started
        self._services: dict[tuple[str, str], Services] = {}  # what requests read, per (account, region)
        self._starting: dict[tuple[str, str], asyncio.Task[Services]] = {}
        self._closing = False
        self._default_store = default_store  # the default cell's, opened (and closed) by the server

    @property
    def default(self) -> Services:
        return self._services[self.default_key]

    async def start(self) -> None:
        """Start the default cell, then every cell an earlier run left a directory for."""
        await self.open(*self.default_key)
        for account_id, region in existing(self.data_dir, self.regions):
            await self.open(account_id, region)

    def started(self, account_id: str, region: str) -> Services | None:
        """The services of a started cell (a lookup, for every request), or None."""
        return self._services.get((account_id, region))

    def known(self) -> list[tuple[str, str]]:
        """Every cell there is: the default first, then every other started one and every one an
        earlier run left a directory for, by account and region. Reads the data directory: the
        operator's listing (the console), not a request's lookup."""
        others = set(self._services) | set(existing(self.data_dir, self.regions))
        return [self.default_key, *sorted(others - {self.default_key})]

    def views(self) -> list[CellView]:
        """What a metrics scrape reads of every started cell, now."""
        return [CellView(account, region, svc.scheduler, svc.queue) for (account, region), svc in self._services.items()]

    async def open(self, account_id: str, region: str) -> Services:
        """The cell's services, started if need be (once, whoever asks at the same time).
        Callers have checked the account (a verified key's) and the region (``regions``).
        ``ServiceError`` while the server shuts down, or if the cell cannot start."""
        key = (account_id, region)
        found = self._services.get(key)
        if found is not None:
            return found
        if self._closing:
            raise ServiceError("Lamina is shutting down.")
        task = self._starting.get(key)
        if task is None:
            task = asyncio.create_task(self._start(key), name=f"lamina-cell-{account_id}-{region}")
            self._starting[key] = task
        # Shielded: a request that goes away does not stop the cell others wait for.
        return await asyncio.shield(task)

    async def _start(self, key: tuple[str, str]) -> Services:
        account_id, region = key
        store = self._default_store if key == self.default_key else None
        files = cell_dir(self.code_dir, self.default_key, account_id, region) if self.code_dir else None
        cell = Cell(self.host, account_id, region, cell_dir(self.data_dir, self.default_key, account_id, region), store,
                    files)  # fmt: skip
        cell.crossings.reach_with(self.started)  # dead letters, destinations and rules' targets of other accounts
        try:
            await cell.start()
        except Exception as exc:
            log.exception("the cell of account %s in %s could not start", account_id, region)
            raise ServiceError(f"The services of account {account_id} in {region} could not start.") from exc
        finally:
            self._starting.pop(key, None)
        self._cells[key] = cell
        self._services[key] = cell.services
        cell.services.layers.find_others_with(self._layers_of)  # layers shared by other accounts
        if key != self.default_key:
            log.info("started the cell of account %s in %s (%s)", account_id, region, cell.data_dir)
        return cell.services

    async def close(self) -> None:
        """Stop every cell, the last started first (each its parts in reverse order); cells still
        starting finish first. Safe to call twice."""
        self._closing = True
        for task in list(self._starting.values()):
            try:
                await task
            except Exception:
                pass  # logged where it failed
        for key in reversed(list(self._cells)):
            cell = self._cells.pop(key)
            self._services.pop(key, None)
            await cell.stop()

    def _layers_of(self, account_id: str, region: str) -> LayerService | None:
        svc = self._services.get((account_id, region))
        return None if svc is None else svc.layers

    # -- unsigned entry points: found by what they name -----------------------------------------

    def with_url(self, url_id: str) -> tuple[Services, FunctionUrlConfig] | None:
        """The cell that has the function URL ``url_id``, and the URL."""
        for svc in self._services.values():
            url = svc.urls.resolve(url_id)
            if url is not None:
                return svc, url
        return None

    def kind(self, api_id: str) -> Endpoints | None:
        """The kind of API, of whichever cell has it, that serves ``api_id``."""
        for svc in self._services.values():
            kind = svc.apis.kind(api_id)
            if kind is not None:
                return kind
        return None

    def plain(self, api_id: str) -> PlainEndpoints | None:
        """As ``kind``, if that kind also serves plain requests (the front door's)."""
        for svc in self._services.values():
            kind = svc.apis.plain(api_id)
            if kind is not None:
                return kind
            if svc.apis.kind(api_id) is not None:
                return None
        return None
