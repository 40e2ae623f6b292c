"""The signing keys of JWT issuers, fetched over HTTP and kept.

Where an issuer's key set lives: the URL the operator configured for it (``Settings.jwks_urls``,
``LAMINA_JWKS_URLS``), or else the ``jwks_uri`` of the issuer's OpenID discovery document
(``<issuer>/.well-known/openid-configuration``), as API Gateway finds it. A key set is kept for
``ttl_seconds``; a token naming a key the kept set lacks fetches it again, at most once every
``refetch_seconds`` per issuer, so rotated keys are picked up and unknown kids cannot make Lamina
fetch on every request. A fetch that fails, is slower than ``timeout_seconds`` or larger than
``MAX_BYTES`` gives None (tokens are then refused with 401); its failure is logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Mapping

import aiohttp
import jwt

log = logging.getLogger(__name__)

MAX_BYTES = 1024 * 1024


@dataclass
class _Kept:
    keys: jwt.PyJWKSet | None
    fetched: float


class KeySets:
    def __init__(self, configured: Mapping[str, str], *, ttl_seconds: float = 3600.0,
                 refetch_seconds: float = 60.0, timeout_seconds: float = 5.0) -> None:  # fmt: skip
        self._configured = dict(configured)
        self._ttl, self._refetch, self._timeout = ttl_seconds, refetch_seconds, timeout_seconds
        self._kept: dict[str, _Kept] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def keys(self, issuer: str, kid: str | None) -> jwt.PyJWKSet | None:
        kept, now = self._kept.get(issuer), time.monotonic()
        if kept is not None and now - kept.fetched < self._ttl and (kid is None or _has(kept.keys, kid)):
            return kept.keys
        if kept is not None and now - kept.fetched < self._refetch:
            return kept.keys  # fetched a moment ago: an unknown kid does not make it fetch again
        async with self._locks.setdefault(issuer, asyncio.Lock()):
            kept = self._kept.get(issuer)
            if kept is not None and time.monotonic() - kept.fetched < self._refetch:
                return kept.keys
            keys = await self._fetch(issuer)
            self._kept[issuer] = _Kept(keys, time.monotonic())
            return keys

    async def _fetch(self, issuer: str) -> jwt.PyJWKSet | None:
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout)) as session:
                url = self._configured.get(issuer)
                if url is None:
                    discovery = await _get_json(session, issuer.rstrip("/") + "/.well-known/openid-configuration")
                    url = discovery.get("jwks_uri") if isinstance(discovery, dict) else None
                    if not isinstance(url, str):
                        raise ValueError("the discovery document has no jwks_uri")
                document = await _get_json(session, url)
                if not isinstance(document, dict):
                    raise ValueError(f"{url} did not answer a key set")
                return jwt.PyJWKSet.from_dict(document)
        except (aiohttp.ClientError, TimeoutError, ValueError, RecursionError, jwt.PyJWTError) as exc:
            log.warning("could not read the signing keys of JWT issuer %s: %s", issuer, exc)
            return None


async def _get_json(session: aiohttp.ClientSession, url: str) -> object:
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise ValueError(f"{url} answered {response.status}")
        body = await response.content.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError(f"{url} answered more than {MAX_BYTES} bytes")
        return json.loads(body)


def _has(keys: jwt.PyJWKSet | None, kid: str) -> bool:
    return keys is not None and any(k.key_id == kid for k in keys.keys)
