"""Issuers' key sets fetched over real HTTP (a server on loopback): discovery, configured URLs, caching."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from lamina.gateway.authorizers.jwks import MAX_BYTES, KeySets


def jwk(kid: str) -> dict[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "use": "sig"}


async def serving(routes: dict[str, Callable[[], object]], scenario: Callable[[str, list[str]], Awaitable[None]]) -> None:
    """Run ``scenario(base_url, requested_paths)`` while a loopback server answers ``routes``."""
    requested: list[str] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        requested.append(request.path)
        produce = routes.get(request.path)
        if produce is None:
            return web.Response(status=404)
        body = produce()
        return web.Response(body=body if isinstance(body, bytes) else json.dumps(body).encode())

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await scenario(f"http://127.0.0.1:{port}", requested)
    finally:
        await runner.cleanup()


def test_keys_are_found_through_discovery_kept_and_refetched_for_an_unknown_kid() -> None:
    current: dict[str, Any] = {"keys": [jwk("k1")]}

    async def scenario(base: str, requested: list[str]) -> None:
        routes["/.well-known/openid-configuration"] = lambda: {"issuer": base, "jwks_uri": base + "/keys"}
        sets = KeySets({}, refetch_seconds=0)
        first = await sets.keys(base, "k1")
        assert first is not None and [k.key_id for k in first.keys] == ["k1"]
        assert await sets.keys(base, "k1") is first  # kept
        assert requested == ["/.well-known/openid-configuration", "/keys"]
        current["keys"] = [jwk("k2")]  # rotated
        rotated = await sets.keys(base, "k2")
        assert rotated is not None and [k.key_id for k in rotated.keys] == ["k2"]

    routes: dict[str, Callable[[], object]] = {"/keys": lambda: current}
    asyncio.run(serving(routes, scenario))


def test_unknown_kids_do_not_make_every_request_fetch() -> None:
    async def scenario(base: str, requested: list[str]) -> None:
        sets = KeySets({base: base + "/keys"}, refetch_seconds=60)
        for _ in range(5):
            await sets.keys(base, "nope")
        assert requested == ["/keys"]  # the configured URL, without discovery, once

    asyncio.run(serving({"/keys": lambda: {"keys": [jwk("k1")]}}, scenario))


def test_failures_give_no_keys() -> None:
    async def scenario(base: str, requested: list[str]) -> None:
        assert await KeySets({}).keys(base + "/missing", None) is None  # no discovery document
        assert await KeySets({"i": base + "/huge"}).keys("i", None) is None
        assert await KeySets({"i": base + "/array"}).keys("i", None) is None
        assert await KeySets({"i": base + "/garbage"}).keys("i", None) is None
        assert await KeySets({"i": "http://127.0.0.1:1/keys"}, timeout_seconds=2).keys("i", None) is None

    routes: dict[str, Callable[[], object]] = {
        "/huge": lambda: b'{"keys": [' + b" " * MAX_BYTES + b"]}",
        "/array": lambda: [1, 2],
        "/garbage": lambda: b"<html>",
    }
    asyncio.run(serving(routes, scenario))
