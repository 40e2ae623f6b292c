"""MOCK integrations answered as API Gateway answers them, without a backend (SAM's CORS preflights). Pure.

1. The request template (``requestTemplates``) is chosen by the request's Content-Type
   (``application/json`` without one). None matching, ``passthroughBehavior`` decides: with
   ``WHEN_NO_MATCH`` (the default) the body is passed through, with ``WHEN_NO_TEMPLATES`` only if the
   integration has no templates at all, with ``NEVER`` never: ``415 {"message": "Unsupported Media
   Type"}``.
2. What that gives is read as JSON, and its ``statusCode`` (a number, or digits in a string) is the
   integration's status; without one, 200. Templates are not evaluated as Velocity (VTL): a template
   that is not plain JSON with a status code is a 500, never a guess.
3. The integration response is the one whose ``selectionPattern`` (a regular expression) matches
   that status whole, else the default one (no pattern, or an empty one); none is a 500.
4. Its ``statusCode`` is the answer's; ``responseParameters`` of the form
   ``method.response.header.<Name>`` set headers, from a quoted literal (``'GET,OPTIONS'``) or from
   the request (``method.request.header.<name>``, ``method.request.querystring.<name>``,
   ``method.request.path.<name>``); other sources are skipped. Its ``responseTemplates`` give the
   body, sent as written, with the template's content type: the one the request's Accept names,
   else ``application/json``, else the first; none, an empty body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Mapping

from lamina.gateway.rest.responses import INTERNAL_ERROR, JSON, GatewayResponse, gateway_error

UNSUPPORTED = gateway_error(415, "Unsupported Media Type", "UnsupportedMediaTypeException")
MAX_PATTERN = 1024  # a selection pattern longer than this is no pattern Lamina runs
_HEADER = "method.response.header."
_SOURCES = {"method.request.header.": "header", "method.request.querystring.": "query", "method.request.path.": "path"}


@dataclass(frozen=True)
class MockRequest:
    content_type: str | None
    accept: str | None
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str]
    path: Mapping[str, str]


def answer(integration: Mapping[str, object], request: MockRequest) -> GatewayResponse:
    """The answer of a MOCK integration (``integration``: its stored members) to ``request``."""
    status = _status(integration, request)
    if isinstance(status, GatewayResponse):
        return status
    response = _select(integration.get("integrationResponses"), status)
    if response is None:
        return INTERNAL_ERROR
    code = str(response.get("statusCode", ""))
    if not code.isdigit() or not 100 <= int(code) <= 599:
        return INTERNAL_ERROR
    headers = _headers(response.get("responseParameters"), request)
    body = b""
    templates = _strings(response.get("responseTemplates"))
    if templates:
        media = _pick(templates, request.accept)
        body = templates[media].encode()
        headers.insert(0, ("Content-Type", media))
    elif not any(k.lower() == "content-type" for k, _ in headers):
        headers.insert(0, ("Content-Type", JSON))
    return GatewayResponse(int(code), tuple(headers), body)


def _status(integration: Mapping[str, object], request: MockRequest) -> int | GatewayResponse:
    templates = _strings(integration.get("requestTemplates"))
    media = (request.content_type or JSON).split(";", 1)[0].strip().lower()
    template = next((t for m, t in templates.items() if m.lower() == media), None)
    if template is None:
        behavior = integration.get("passthroughBehavior", "WHEN_NO_MATCH")
        if behavior == "NEVER" or (behavior == "WHEN_NO_TEMPLATES" and templates):
            return UNSUPPORTED
        text = request.body.decode("utf-8", "replace")
    else:
        text = template
    if not text.strip():
        return 200
    try:
        doc = json.loads(text)
    except ValueError:
        return INTERNAL_ERROR  # a Velocity template, or not JSON: not evaluated here
    value = doc.get("statusCode", 200) if isinstance(doc, dict) else None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 100 <= value <= 599:
        return INTERNAL_ERROR
    return value


def _select(responses: object, status: int) -> Mapping[str, object] | None:
    if not isinstance(responses, Mapping):
        return None
    default = None
    for response in responses.values():
        if not isinstance(response, Mapping):
            continue
        pattern = response.get("selectionPattern")
        if not pattern:
            default = default or response
        elif isinstance(pattern, str) and len(pattern) <= MAX_PATTERN and _matches(pattern, str(status)):
            return response
    return default


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text) is not None  # three digits: no pattern can take long on them
    except re.error:
        return False


def _headers(parameters: object, request: MockRequest) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, source in _strings(parameters).items():
        if not name.startswith(_HEADER) or len(name) == len(_HEADER):
            continue
        value: str | None = None
        if len(source) >= 2 and source[0] == source[-1] == "'":
            value = source[1:-1]
        else:
            for prefix, place in _SOURCES.items():
                if source.startswith(prefix):
                    key = source[len(prefix) :]
                    found = {"header": request.headers, "query": request.query, "path": request.path}[place]
                    value = found.get(key.lower() if place == "header" else key)
        if value is not None and "\r" not in value and "\n" not in value:
            out.append((name[len(_HEADER) :], value))
    return out


def _pick(templates: Mapping[str, str], accept: str | None) -> str:
    wanted = [part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")]
    for media in templates:
        if media.lower() in wanted:
            return media
    return JSON if JSON in templates else next(iter(templates))


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else "" for k, v in value.items() if v is None or isinstance(v, str)}
