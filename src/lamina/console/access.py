"""Who may read the console, and which POSTs are the console page's own (pure decisions).

Reading: with ``LAMINA_CONSOLE_TOKEN`` set, a request that presents that token (``Authorization:
Bearer <token>``, or the cookie the page sets after ``/console/?token=<token>``); without it, a
request from a loopback address whose ``Host`` names a loopback host too: a page of another site
that has its name resolve to 127.0.0.1 (DNS rebinding) still sends its own name as the Host.

Writing (the invoke form's POST): the page embeds a random token made when the server starts;
every POST must carry it in ``X-Lamina-Console-Token``, come from the page's own origin
(``Origin``), and be ``application/json`` (which no HTML form can send, and another origin's
script cannot send without a preflight, which the console never answers)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from lamina.loopback import loopback_address, loopback_host

TOKEN_HEADER = "X-Lamina-Console-Token"
COOKIE = "lamina_console"


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


def refused(*, token: str | None, authorization: str | None, cookie: str | None, remote: str | None,
            host: str | None) -> Refusal | None:  # fmt: skip
    """Why a request may not read the console, or None: it may."""
    if token is not None:
        if _same(authorization or "", f"Bearer {token}") or _same(cookie or "", token):
            return None
        return Refusal(401, "Open /console/?token=<LAMINA_CONSOLE_TOKEN>, or send it as a bearer token.")
    if not loopback_address(remote):
        return Refusal(403, "The console is served to loopback clients only: set LAMINA_CONSOLE_TOKEN on the "
                            "server to open it from elsewhere.")  # fmt: skip
    if not loopback_host(host):
        return Refusal(403, "The console answers requests for a loopback host name only (localhost, 127.0.0.1, [::1]).")
    return None


def forged(*, origin: str | None, host: str | None, sent: str | None, expected: str,
           content_type: str | None) -> str | None:  # fmt: skip
    """Why a POST is not the console page's own (cross-site request forgery), or None: it is."""
    if not hmac.compare_digest((sent or "").encode(), expected.encode()):
        return f"Missing or wrong {TOKEN_HEADER}: reload the console."
    if origin is None or host is None or origin not in (f"http://{host}", f"https://{host}"):
        return "The request's Origin is not the console's own."
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        return "The request's body must be application/json."
    return None


def _same(given: str, wanted: str) -> bool:
    return hmac.compare_digest(given.encode(), wanted.encode())
