"""Where an API Gateway API is served: its id, and the addresses that reach it.

AWS:    https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/<path>
Lamina: http://<api-id>.execute-api.localhost:<port>/<path>           routed by the Host header
        http://<host>:<port>/_aws/execute-api/<api-id>/<path>          the same, without DNS

Both HTTP APIs (``apigatewayv2``) and REST APIs (``apigateway``) are served at these addresses;
their ids come from one alphabet and never collide (``new_api_id``). For a REST API the path begins
with the stage's name, as on AWS; an HTTP API's ``$default`` stage has none.
"""

from __future__ import annotations

import re
import secrets
import string

API_ID_LENGTH = 10
PATH_PREFIX = "/_aws/execute-api/"
_ALPHABET = string.ascii_lowercase + string.digits
_API_ID = re.compile(rf"^[a-z0-9]{{{API_ID_LENGTH}}}$")
# <api-id>.execute-api.<anything>[:port]: Lamina's ".localhost", AWS's "<region>.amazonaws.com", or
# a name of the operator's choosing that points at Lamina.
_HOST = re.compile(rf"^(?P<api_id>[a-z0-9]{{{API_ID_LENGTH}}})\.execute-api\.[^:]+(?::\d+)?$")


def new_api_id() -> str:
    """Ten lowercase letters and digits, as AWS's API ids are."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(API_ID_LENGTH))


def is_api_id(value: str) -> bool:
    return bool(_API_ID.match(value))


def domain_name(api_id: str) -> str:
    """The API's domain, without a port: the events' ``requestContext.domainName``."""
    return f"{api_id}.execute-api.localhost"


def api_endpoint(api_id: str, port: int) -> str:
    """``ApiEndpoint`` as the API reports it."""
    return f"http://{domain_name(api_id)}:{port}"


def parse_host(host: str) -> str | None:
    """The api-id of a Host header naming an API, else None."""
    match = _HOST.match(host.strip().lower())
    return match["api_id"] if match else None


def split_path_form(raw_path: str) -> tuple[str, str] | None:
    """(api-id, the API's path) of ``/_aws/execute-api/<api-id>/<path>``, else None."""
    if not raw_path.startswith(PATH_PREFIX):
        return None
    api_id, slash, rest = raw_path[len(PATH_PREFIX) :].partition("/")
    return api_id, "/" + rest if slash else "/"
