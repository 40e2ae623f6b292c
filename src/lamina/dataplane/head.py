"""Which requests the front door serves: a request head in, a decision out (pure).

A head is taken for the fast path only when it is plainly a synchronous Invoke that aiohttp
would read the same way::

    POST /2015-03-31/functions/<name>/invocations[?Qualifier=<q>] HTTP/1.1

with CRLF line ends, printable ASCII only, every header name a token, no obsolete line folding,
at most 128 header lines (aiohttp's limit), exactly one Host, at most one Content-Length, Connection, X-Amz-*
header and header aiohttp refuses to see twice (``_SINGLETONS``) each, a decimal Content-Length
(absent: no body) within the synchronous payload limit, no Transfer-Encoding, Expect, Upgrade or
Content-Encoding, ``Connection`` absent, ``keep-alive`` or ``close``, ``X-Amz-Invocation-Type``
absent or ``RequestResponse``, ``X-Amz-Log-Type`` not ``Tail``, and a Host that is not a
function URL's or an execute-api address.

A request for a function URL (``urls.addresses``: its Host, or its path's
``/lamina/v1/urls/<url-id>/`` prefix) is a ``UrlCall``, and one for an execute-api address
(``gateway.addresses``: its Host, or its path's ``/_aws/execute-api/<api-id>/`` prefix) an
``ApiCall``, when it is as plain: HTTP/1.1, a method of ``_METHODS``, an origin-form target
without a fragment, the same strictness of bytes and lines, at most one Connection and one of each
of ``_SINGLETONS``, and none of the refused headers (a function URL's request must name its Host). Which
of the two a request is follows the order of aiohttp's middlewares: a function URL's Host or path
first. Whether an API is one the front door serves is the front door's question (``Services.apis``).

Anything else is ``AIOHTTP``: aiohttp answers it. Where such a request ends is ``plain``'s to
say, for one read as plainly (HTTP/1.1, a token for a method, an origin-form target, the same
strictness of bytes and lines, at most one Content-Length and Connection, no Transfer-Encoding,
Expect or Upgrade): it is lent to aiohttp alone and the connection taken back after it. One that
is not plain, however odd (smuggling attempts included), goes to aiohttp with the rest of its
connection, which aiohttp answers or refuses exactly as it does without a front door.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple
from urllib.parse import unquote

from lamina.gateway import addresses as api_addresses
from lamina.urls import addresses as url_addresses

# The longest head the front door reads; a longer one goes to aiohttp (whose own limit is 8,190
# bytes a line, so it answers most such heads at once).
MAX_HEAD = 8192

_PREFIX = b"POST /2015-03-31/functions/"
_SUFFIX = b"/invocations"
_VERSION = b" HTTP/1.1"
# A byte aiohttp's parser might read otherwise than this module: controls (but tab), DEL, non-ASCII.
_ODD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RAW_NAME = re.compile(rb"[A-Za-z0-9_:$%-]{1,256}")
_NAME = re.compile(r"[A-Za-z0-9_:$-]+")
_RAW_QUALIFIER = re.compile(rb"[A-Za-z0-9_$%-]{1,384}")
_QUALIFIER = re.compile(r"[A-Za-z0-9_$-]+")
# Headers that make a request aiohttp's whatever their value.
_REFUSED = frozenset({b"transfer-encoding", b"expect", b"upgrade", b"content-encoding"})
# An API call's methods served here (HEAD, CONNECT, TRACE and others: aiohttp's, whose answers to
# them differ in their framing).
_METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS"})
# Headers aiohttp's parser refuses to see twice (its SINGLETON_HEADERS, but Transfer-Encoding, refused
# here once), and the most header lines it reads.
_SINGLETONS = frozenset({b"content-length", b"content-location", b"content-range", b"content-type", b"etag", b"host",
                         b"max-forwards", b"server", b"user-agent"})  # fmt: skip
_MAX_HEADERS = 128
_ONCE = _SINGLETONS | {b"connection"}
# What a head must hold to be read as a function URL's or an execute-api call.
_ADDRESSED = (b"execute-api", b"lambda-url", url_addresses.PATH_PREFIX.encode())
# Headers read here: each at most once (aiohttp reads the first of several; none is sent twice by a client).
_READ = frozenset({b"host", b"content-length", b"connection", b"x-amz-invocation-type", b"x-amz-log-type",
                   b"x-amz-client-context"})  # fmt: skip


class Route(enum.Enum):
    NEED_MORE = "need more"  # the head has not all arrived
    AIOHTTP = "aiohttp"  # not the fast path's: aiohttp serves it


class FastInvoke(NamedTuple):  # a tuple: made for every request, the cheapest value to make
    """A synchronous Invoke the front door serves: its head is ``head_length`` bytes (blank line
    included); ``content_length`` bytes of body follow."""

    head_length: int
    function: str
    qualifier: str | None
    content_length: int
    client_context: str | None
    close: bool  # Connection: close: answer, then close the connection
    target: str = ""  # the request target as sent (path and query): what its signature covers
    headers: tuple[tuple[str, str], ...] = ()  # names as sent, values trimmed, in order


class Plain(NamedTuple):
    """A request aiohttp answers, whose extent is plain: its head is ``head_length`` bytes;
    ``content_length`` bytes of body follow."""

    head_length: int
    content_length: int
    close: bool  # Connection: close


class ApiCall(NamedTuple):
    """A request for API ``api_id`` (``path``: within the API, as sent) the front door may serve:
    its head is ``head_length`` bytes; ``content_length`` bytes of body follow."""

    head_length: int
    api_id: str
    path: str
    method: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]  # names as sent, values trimmed, in order
    content_length: int
    close: bool


class UrlCall(NamedTuple):
    """A request for a function URL (``urls.addresses``: its Host, or its path's
    ``/lamina/v1/urls/<url-id>/`` prefix) the front door serves: its head is ``head_length``
    bytes; ``content_length`` bytes of body follow. Which URL, and its path, is the serving
    code's to say (``api.url_serving.UrlServing.locate``: a Host names a region too)."""

    head_length: int
    host: str
    target: str  # as sent: the path and the query
    method: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]  # names as sent, values trimmed, in order
    content_length: int
    close: bool


def route(buffer: bytes | bytearray, payload_limit: int) -> FastInvoke | ApiCall | UrlCall | Route:
    """What to do with the request at the start of ``buffer``."""
    end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
    if end < 0:
        # A bare CR or LF may end the head for aiohttp (``\n\n``): waiting for more could hang.
        crlf = buffer.count(b"\r\n")
        bare_cr = buffer.count(b"\r") - crlf - (1 if buffer.endswith(b"\r") else 0)
        if len(buffer) >= MAX_HEAD or buffer.count(b"\n") != crlf or bare_cr:
            return Route.AIOHTTP
        return Route.NEED_MORE
    invoke = buffer.startswith(_PREFIX)
    if not invoke and all(buffer.find(sign, 0, end) < 0 for sign in _ADDRESSED):
        return Route.AIOHTTP
    head = bytes(buffer[:end])
    if _ODD.search(head) is not None:
        return Route.AIOHTTP
    lines = head.split(b"\r\n")
    # A bare CR or LF is read as a line end by some parsers and not by others.
    if head.count(b"\n") != len(lines) - 1 or head.count(b"\r") != len(lines) - 1:
        return Route.AIOHTTP
    if len(lines) - 1 > _MAX_HEADERS:
        return Route.AIOHTTP  # aiohttp refuses so many (400)
    target = _target(lines[0]) if invoke else None
    if target is None:
        return _addressed(end + 4, lines, payload_limit)
    seen: dict[bytes, str] = {}
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            return Route.AIOHTTP
        key = name.lower()
        text = value.strip(b" \t").decode("ascii")
        if key in _READ or key in _SINGLETONS:
            if key in seen:
                return Route.AIOHTTP
            seen[key] = text
        elif key in _REFUSED:
            return Route.AIOHTTP
        headers.append((name.decode("ascii"), text))
    decided = _decide(end + 4, target, seen, payload_limit)
    if isinstance(decided, FastInvoke):
        raw_target = lines[0][5 : -len(_VERSION)].decode("ascii")  # after "POST ", before " HTTP/1.1"
        return decided._replace(target=raw_target, headers=tuple(headers))
    return _addressed(end + 4, lines, payload_limit) if decided is None else decided


def _target(request_line: bytes) -> tuple[str, str | None] | None:
    """(function, qualifier) of an Invoke's request line, or None if it is not one read plainly."""
    if not request_line.endswith(_VERSION):
        return None
    path, _, query = request_line[len(_PREFIX) : -len(_VERSION)].partition(b"?")
    if not path.endswith(_SUFFIX):
        return None
    raw_name = path[: -len(_SUFFIX)]
    if _RAW_NAME.fullmatch(raw_name) is None:
        return None
    function = _decoded(raw_name, _NAME)
    if function is None:
        return None
    if not query:
        return function, None
    if not query.startswith(b"Qualifier=") or _RAW_QUALIFIER.fullmatch(query, 10) is None:
        return None
    qualifier = _decoded(query[10:], _QUALIFIER)
    return None if qualifier is None else (function, qualifier)


def _decoded(raw: bytes, allowed: re.Pattern[str]) -> str | None:
    text = raw.decode("ascii")
    if "%" in text:
        text = unquote(text, errors="strict")
    return text if allowed.fullmatch(text) else None


def _decide(
    head_length: int, target: tuple[str, str | None], headers: dict[bytes, str], limit: int
) -> FastInvoke | Route | None:
    """None: the Host is a function URL's or an execute-api address (the request is read as one)."""
    if b"host" not in headers:
        return Route.AIOHTTP  # HTTP/1.1 without a Host: aiohttp refuses it (400)
    host = headers[b"host"].lower()
    if ("lambda-url" in host or "execute-api" in host) and (
        url_addresses.parse_host(host) is not None or api_addresses.parse_host(host) is not None
    ):
        return None
    if headers.get(b"x-amz-invocation-type", "RequestResponse") != "RequestResponse":
        return Route.AIOHTTP
    if headers.get(b"x-amz-log-type") == "Tail":
        return Route.AIOHTTP
    connection = headers.get(b"connection", "keep-alive").lower()
    if connection not in ("keep-alive", "close"):
        return Route.AIOHTTP
    raw_length = headers.get(b"content-length", "0")
    if not raw_length.isdigit() or len(raw_length) > 12 or int(raw_length) > limit:
        return Route.AIOHTTP  # aiohttp answers a payload too large (413), as it does now
    function, qualifier = target
    return FastInvoke(head_length, function, qualifier, int(raw_length), headers.get(b"x-amz-client-context"),
                      connection == "close")  # fmt: skip


def _addressed(head_length: int, lines: list[bytes], limit: int) -> ApiCall | UrlCall | Route:
    """The request as a function URL's or an execute-api call, if it is one read plainly. Which it
    is, is decided in the order of aiohttp's middlewares: a function URL's Host, then a function
    URL's path (whatever the Host), then an execute-api Host, then an execute-api path."""
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or parts[0] not in _METHODS:
        return Route.AIOHTTP
    target = parts[1]
    if not target.startswith(b"/") or target.startswith(b"//") or b"#" in target:
        return Route.AIOHTTP
    headers: list[tuple[str, str]] = []
    seen: dict[bytes, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            return Route.AIOHTTP
        key = name.lower()
        text = value.strip(b" \t").decode("ascii")
        if key in _ONCE:
            if key in seen:
                return Route.AIOHTTP
            seen[key] = text
        elif key in _REFUSED:
            return Route.AIOHTTP
        headers.append((name.decode("ascii"), text))
    connection = seen.get(b"connection", "keep-alive").lower()
    if connection not in ("keep-alive", "close"):
        return Route.AIOHTTP
    raw_length = seen.get(b"content-length", "0")
    if not raw_length.isdigit() or len(raw_length) > 12 or int(raw_length) > limit:
        return Route.AIOHTTP  # aiohttp answers a payload too large (413), as it does now
    method, close = parts[0].decode("ascii"), connection == "close"
    raw_target = target.decode("ascii")
    raw_path, _, raw_query = raw_target.partition("?")
    host = seen.get(b"host")
    if url_addresses.parse_host(host or "") is not None or url_addresses.split_path_form(raw_path) is not None:
        if host is None:
            return Route.AIOHTTP  # aiohttp would read the listener's address as the Host
        return UrlCall(head_length, host, raw_target, method, raw_query, tuple(headers), int(raw_length), close)
    host = host or ""
    api_id = api_addresses.parse_host(host)
    if api_id is not None:
        path = raw_path
    elif "lambda-url" in host.lower():
        return Route.AIOHTTP  # a Host much like a function URL's: nothing odd is guessed at
    else:
        split = api_addresses.split_path_form(raw_path)
        if split is None:
            return Route.AIOHTTP
        api_id, path = split
    return ApiCall(head_length, api_id, path, method, raw_query, tuple(headers), int(raw_length), close)


# What makes a request's extent unclear, or its connection something else than HTTP/1.1 after it.
_UNPLAIN = frozenset({b"transfer-encoding", b"expect", b"upgrade"})


def plain(buffer: bytes | bytearray) -> Plain | None:
    """Where the request at the start of ``buffer`` ends, if it is plain (see the module's text);
    None if it is not, or its head has not all arrived."""
    end = buffer.find(b"\r\n\r\n", 0, MAX_HEAD)
    if end < 0:
        return None
    head = bytes(buffer[:end])
    if _ODD.search(head) is not None:
        return None
    lines = head.split(b"\r\n")
    if head.count(b"\n") != len(lines) - 1 or head.count(b"\r") != len(lines) - 1:
        return None
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or _TOKEN.fullmatch(parts[0]) is None or parts[0] == b"CONNECT":
        return None
    if not parts[1].startswith(b"/"):
        return None
    length: bytes | None = None
    connection: bytes | None = None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            return None
        key = name.lower()
        if key in _UNPLAIN:
            return None
        if key == b"content-length":
            if length is not None:
                return None
            length = value.strip(b" \t")
        elif key == b"connection":
            if connection is not None:
                return None
            connection = value.strip(b" \t").lower()
    if length is not None and (not length.isdigit() or len(length) > 12):
        return None
    if connection not in (None, b"keep-alive", b"close"):
        return None
    return Plain(end + 4, int(length or b"0"), connection == b"close")
