"""GET /metrics: Lamina's metrics in Prometheus's text format (metrics/exposition.py).

Prometheus scrapes without AWS signatures, so /metrics is not SigV4-verified; it is served on the
public listener only (never inside environments' namespaces), and answers:

- with ``LAMINA_METRICS_TOKEN`` set, a request whose ``Authorization`` is ``Bearer <token>``
  (Prometheus's ``authorization`` setting of a scrape job); any other gets 401;
- without it, a request from a loopback address that names a loopback host (lamina/loopback.py:
  no DNS rebinding); any other gets 403 with what to set.

The metrics name every account's functions: that is the operator's view, not a tenant's.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from lamina.api.context import services
from lamina.loopback import loopback_address, loopback_host
from lamina.metrics.exposition import Exposition

PATH = "/metrics"
EXPOSITION = web.AppKey("metrics", Exposition)

routes = web.RouteTableDef()


@routes.get(PATH)
async def metrics(request: web.Request) -> web.Response:
    refusal = refused(services(request).settings.metrics_token, request.headers.get("Authorization"), request.remote,
                      request.headers.get("Host"))  # fmt: skip
    if refusal is not None:
        status, message = refusal
        headers = {"WWW-Authenticate": 'Bearer realm="lamina-metrics"'} if status == 401 else None
        return web.Response(status=status, text=message + "\n", headers=headers)
    body = request.app[EXPOSITION].text()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def refused(token: str | None, authorization: str | None, remote: str | None,
            host: str | None) -> tuple[int, str] | None:  # fmt: skip
    """Why a scrape is refused (status, message), or None: it may read the metrics."""
    if token is not None:
        if hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
            return None
        return 401, "Send Authorization: Bearer <LAMINA_METRICS_TOKEN>."
    if loopback_address(remote) and loopback_host(host):
        return None
    return 403, ("Metrics are served to loopback clients only: set LAMINA_METRICS_TOKEN on the server and have "
                 "the scraper send it as a bearer token.")
