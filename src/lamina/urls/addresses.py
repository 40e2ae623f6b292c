"""Where a function URL lives: its url-id, its domain, its URL, and the host names that reach it.

AWS:    https://<url-id>.lambda-url.<region>.on.aws/
Lamina: http://<url-id>.lambda-url.<region>.localhost:<port>/   (served on Lamina's own port,
        routed by the Host header; ``*.localhost`` resolves to loopback on most systems)
        http://<host>:<port>/lamina/v1/urls/<url-id>/<path>      (the same URL without DNS)
"""

from __future__ import annotations

import re
import secrets
import string

URL_ID_LENGTH = 32
PATH_PREFIX = "/lamina/v1/urls/"
_ALPHABET = string.ascii_lowercase + string.digits
_URL_ID = re.compile(rf"^[a-z0-9]{{{URL_ID_LENGTH}}}$")
# <url-id>.lambda-url.<region>.<anything>[:port]: Lamina's own ".localhost", AWS's ".on.aws", or a
# name of the operator's choosing that points at Lamina.
_HOST = re.compile(rf"^(?P<url_id>[a-z0-9]{{{URL_ID_LENGTH}}})\.lambda-url\.(?P<region>[a-z0-9-]+)\.[^:]+(?::\d+)?$")


def new_url_id() -> str:
    """32 random lowercase letters and digits (about 165 bits): unguessable, as AWS's are."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(URL_ID_LENGTH))


def is_url_id(value: str) -> bool:
    return bool(_URL_ID.match(value))


def domain_name(url_id: str, region: str) -> str:
    """The URL's domain, without a port: the event's ``requestContext.domainName``."""
    return f"{url_id}.lambda-url.{region}.localhost"


def function_url(url_id: str, region: str, port: int) -> str:
    """``FunctionUrl`` as the API reports it."""
    return f"http://{domain_name(url_id, region)}:{port}/"


def parse_host(host: str) -> tuple[str, str] | None:
    """(url-id, region) of a Host header naming a function URL, else None."""
    match = _HOST.match(host.strip().lower())
    return (match["url_id"], match["region"]) if match else None


def split_path_form(raw_path: str) -> tuple[str, str] | None:
    """(url-id, the function's path) of ``/lamina/v1/urls/<url-id>/<path>``, else None.

    ``/lamina/v1/urls/<url-id>`` alone is the function's ``/``, as a bare host is on AWS.
    """
    if not raw_path.startswith(PATH_PREFIX):
        return None
    url_id, slash, rest = raw_path[len(PATH_PREFIX) :].partition("/")
    return url_id, "/" + rest if slash else "/"
