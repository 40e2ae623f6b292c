"""CORS for function URLs, decided as AWS does, from the URL's ``Cors`` and the request's headers.

- With ``Cors`` configured, a preflight (``OPTIONS`` with ``Origin`` and
  ``Access-Control-Request-Method``) is answered by the URL itself, without invoking the function:
  200 with the configured headers when the origin is allowed, 200 without any CORS header when it
  is not (the browser then refuses). Without ``Cors``, OPTIONS reaches the function like any method.
- Other responses to an allowed origin get ``Access-Control-Allow-Origin`` (and
  ``-Allow-Credentials``, ``-Expose-Headers``) added beside whatever the function returned: like
  AWS, Lamina does not remove CORS headers the function sets itself.
- An origin is allowed when ``AllowOrigins`` lists it (compared case-insensitively) or lists
  ``*``. The answer is ``*``, except with ``AllowCredentials``, where browsers refuse ``*`` and
  the request's origin is echoed instead (with ``Vary: Origin``).
"""

from __future__ import annotations

from lamina.model import UrlCors

Headers = tuple[tuple[str, str], ...]


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    return method.upper() == "OPTIONS" and bool(origin) and bool(request_method)


def allowed_origin(cors: UrlCors, origin: str | None) -> str | None:
    """The ``Access-Control-Allow-Origin`` value for ``origin``, or None if it is not allowed."""
    if not origin:
        return None
    origins = cors.allow_origins or ()
    if origin.lower() in (o.lower() for o in origins):
        return origin
    if "*" in origins:
        return origin if cors.allow_credentials else "*"
    return None


def _origin_headers(cors: UrlCors, origin: str | None) -> list[tuple[str, str]] | None:
    allowed = allowed_origin(cors, origin)
    if allowed is None:
        return None
    headers = [("Access-Control-Allow-Origin", allowed)]
    if allowed != "*":
        headers.append(("Vary", "Origin"))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return headers


def preflight_headers(cors: UrlCors, origin: str | None) -> Headers:
    """The headers of the URL's own answer to a preflight (empty when the origin is not allowed)."""
    headers = _origin_headers(cors, origin)
    if headers is None:
        return ()
    if cors.allow_methods:
        headers.append(("Access-Control-Allow-Methods", ",".join(cors.allow_methods)))
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", ",".join(cors.allow_headers)))
    if cors.max_age:
        headers.append(("Access-Control-Max-Age", str(cors.max_age)))
    return tuple(headers)


def response_headers(cors: UrlCors, origin: str | None) -> Headers:
    """The CORS headers added to the function's own response."""
    headers = _origin_headers(cors, origin)
    if headers is None:
        return ()
    if cors.expose_headers:
        headers.append(("Access-Control-Expose-Headers", ",".join(cors.expose_headers)))
    return tuple(headers)
