"""Which request heads the front door serves (lamina.dataplane.head) and the bytes it answers with
(lamina.dataplane.wire): plain values, no server."""

from __future__ import annotations

import pytest

from lamina.dataplane.head import MAX_HEAD, ApiCall, FastInvoke, Plain, Route, UrlCall, plain, route
from lamina.dataplane.wire import Clock, api_response, response

LIMIT = 6 * 1024 * 1024
INVOKE = "POST /2015-03-31/functions/{name}/invocations{query} HTTP/1.1"


def request(*headers: str, name: str = "fn", query: str = "", line: str | None = None, body: bytes = b"") -> bytes:
    """An Invoke (with a Host unless one is given), or a request of another ``line`` as given."""
    first = line if line is not None else INVOKE.format(name=name, query=query)
    if line is None and not any(h.lower().startswith("host:") for h in headers):
        headers = ("Host: localhost:9000", *headers)
    return "\r\n".join([first, *headers]).encode("latin-1") + b"\r\n\r\n" + body


def test_a_plain_invoke_is_served_with_its_name_body_length_and_context() -> None:
    raw = request("Host: localhost:9000", "Content-Length: 2", "X-Amz-Client-Context: e30=", body=b"{}")
    decision = route(raw, LIMIT)
    assert decision == FastInvoke(len(raw) - 2, "fn", None, 2, "e30=", close=False,
                                  target="/2015-03-31/functions/fn/invocations",
                                  headers=(("Host", "localhost:9000"), ("Content-Length", "2"),
                                           ("X-Amz-Client-Context", "e30=")))  # fmt: skip


def test_what_botocore_sends_is_served_with_its_names_decoded() -> None:
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afn"
    raw = request("Content-Length: 0", "X-Amz-Invocation-Type: RequestResponse", "X-Amz-Log-Type: None",
                  name=arn, query="?Qualifier=%24LATEST")  # fmt: skip
    decision = route(raw, LIMIT)
    assert isinstance(decision, FastInvoke)
    assert (decision.function, decision.qualifier) == ("arn:aws:lambda:us-east-1:000000000000:function:fn", "$LATEST")


def test_a_head_still_arriving_needs_more_and_one_too_long_goes_to_aiohttp() -> None:
    raw = request("Content-Length: 2")
    assert route(raw[:-1], LIMIT) is Route.NEED_MORE
    assert route(raw[:10], LIMIT) is Route.NEED_MORE
    assert route(b"", LIMIT) is Route.NEED_MORE
    assert route(request("X-Pad: " + "a" * MAX_HEAD)[: MAX_HEAD + 10], LIMIT) is Route.AIOHTTP
    assert route(request("X-Pad: " + "a" * MAX_HEAD), LIMIT) is Route.AIOHTTP


@pytest.mark.parametrize("headers", [
    ("Content-Length: 2", "Content-Length: 2"),  # two lengths: a smuggling attempt
    ("Content-Length: 2", "Transfer-Encoding: chunked"),  # length and chunks: a smuggling attempt
    ("Transfer-Encoding: chunked",),
    ("Transfer-Encoding : chunked",),  # whitespace before the colon
    ("Content-Length: 2", " Transfer-Encoding: chunked"),  # obsolete line folding
    ("Content-Length: +2",), ("Content-Length: 0x2",), ("Content-Length: 2, 2",), ("Content-Length:",),
    ("Content-Length: 99999999999999999999",),
    (f"Content-Length: {LIMIT + 1}",),  # too large: aiohttp answers 413
    ("Expect: 100-continue",), ("Upgrade: h2c", "Connection: Upgrade"), ("Content-Encoding: gzip",),
    ("Connection: keep-alive, Upgrade",),
    ("X-Amz-Invocation-Type: Event",), ("X-Amz-Invocation-Type: DryRun",), ("X-Amz-Invocation-Type: requestresponse",),
    ("X-Amz-Invocation-Type: RequestResponse", "X-Amz-Invocation-Type: Event"),
    ("X-Amz-Log-Type: Tail",),
    ("Host: a", "Host: b"),
    # What aiohttp's parser refuses: a second Content-Type, User-Agent, ...; more than 128 headers.
    ("Content-Type: a", "content-type: a"), ("User-Agent: a", "User-Agent: b"), ("ETag: 1", "ETag: 1"),
    tuple(f"X-{n}: {n}" for n in range(129)),
    ("X-Odd: caf\xe9",), ("X-Odd: a\x00b",), ("X-Odd: a\x7fb",), ("Bad Name: x",), ("NoColon",),
])  # fmt: skip
def test_anything_unusual_in_the_headers_goes_to_aiohttp(headers: tuple[str, ...]) -> None:
    assert route(request(*headers), LIMIT) is Route.AIOHTTP


@pytest.mark.parametrize("line", [
    "POST /2015-03-31/functions/fn/invocations HTTP/1.0",
    "POST /2015-03-31/functions/fn/invocations HTTP/2.0",
    "POST  /2015-03-31/functions/fn/invocations HTTP/1.1",
    "post /2015-03-31/functions/fn/invocations HTTP/1.1",
    "GET /2015-03-31/functions/fn/invocations HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations/ HTTP/1.1",
    "POST /2015-03-31/functions//invocations HTTP/1.1",
    "POST /2015-03-31/functions/a/b/invocations HTTP/1.1",
    "POST /2015-03-31/functions/../invocations HTTP/1.1",
    "POST /2015-03-31/functions/a%2Fb/invocations HTTP/1.1",
    "POST /2015-03-31/functions/caf%C3%A9/invocations HTTP/1.1",
    "POST /2015-03-31/functions/fn%zz/invocations HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?Qualifier= HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?Qualifier=1&Qualifier=2 HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?qualifier=1 HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?Qualifier=a+b HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?Qualifier=1#x HTTP/1.1",
    "POST /2015-03-31/functions/fn/invocations?Qualifier=1 HTTP/1.1 x",
    "POST http://localhost/2015-03-31/functions/fn/invocations HTTP/1.1",
    "POST /2014-11-13/functions/fn/invoke-async HTTP/1.1",
    "POST /lamina/v1/urls/0123456789abcdefghijklmnopqrstuv/2015-03-31/functions/fn/invocations HTTP/1.1",
    "GARBAGE",
])  # fmt: skip
def test_any_other_request_line_goes_to_aiohttp(line: str) -> None:
    assert route(request("Content-Length: 0", line=line), LIMIT) is Route.AIOHTTP


def test_bare_line_ends_go_to_aiohttp() -> None:
    good = request("Content-Length: 2", "X-A: 1")
    assert isinstance(route(good, LIMIT), FastInvoke)
    assert route(good.replace(b"X-A: 1\r\n", b"X-A: 1\n"), LIMIT) is Route.AIOHTTP
    assert route(good.replace(b"X-A: 1", b"X-A: \r1"), LIMIT) is Route.AIOHTTP
    assert route(good.replace(b"\r\nX-A", b"\nX-A"), LIMIT) is Route.AIOHTTP


def test_connection_close_and_keep_alive_are_honoured_and_a_missing_length_is_no_body() -> None:
    closing = route(request("Connection: Close"), LIMIT)
    assert isinstance(closing, FastInvoke) and closing.close and closing.content_length == 0
    kept = route(request("Connection: keep-alive", "Content-Length: 5"), LIMIT)
    assert isinstance(kept, FastInvoke) and not kept.close and kept.content_length == 5


def test_only_the_first_request_of_a_buffer_is_read() -> None:
    first = request("Content-Length: 2", body=b"{}")
    decision = route(first + request("Content-Length: 2", name="other"), LIMIT)
    assert isinstance(decision, FastInvoke) and decision.function == "fn"
    assert decision.head_length + decision.content_length == len(first)


def test_answers_are_written_as_aiohttp_writes_them() -> None:
    date = b"Sun, 06 Dec 2026 22:11:58 GMT"
    kept = response(200, [("x-amzn-RequestId", "r1"), ("X-Amz-Executed-Version", "$LATEST")], "application/json",
                     b'{"ok": 1}', date=date, close=False)  # fmt: skip
    assert kept.startswith(b"HTTP/1.1 200 OK\r\nx-amzn-RequestId: r1\r\nX-Amz-Executed-Version: $LATEST\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 9\r\n"
                           b"Date: " + date + b"\r\nServer: ")  # fmt: skip
    assert kept.endswith(b"\r\n\r\n{\"ok\": 1}") and b"Connection" not in kept
    closing = response(429, [], "application/json", b"", date=date, close=True)
    assert closing.startswith(b"HTTP/1.1 429 Too Many Requests\r\n")
    assert closing.endswith(b"\r\nConnection: close\r\n\r\n")


def test_the_date_is_formatted_once_a_second() -> None:
    clock = Clock()
    assert clock.date(0.0) == b"Thu, 01 Jan 1970 00:00:00 GMT"
    assert clock.date(0.9) is clock.date(0.0)
    assert clock.date(86_400.5) == b"Fri, 02 Jan 1970 00:00:00 GMT"


def test_a_head_ended_by_bare_line_ends_is_not_waited_for() -> None:
    assert route(request("Content-Length: 2").replace(b"\r\n\r\n", b"\n\n"), LIMIT) is Route.AIOHTTP
    assert route(request("Content-Length: 2").replace(b"\r\n\r\n", b"\r\n\n"), LIMIT) is Route.AIOHTTP
    assert route(b"POST /2015-03-31/functions/fn/invocations HTTP/1.1\r", LIMIT) is Route.NEED_MORE
    assert route(b"POST /2015-03-31/functions/fn/invocations HTTP/1.1\r\nA: b\r\n\r", LIMIT) is Route.NEED_MORE


def test_the_benchmark_request_and_botocores_are_served_here() -> None:
    wrk = (b"POST /2015-03-31/functions/noop/invocations HTTP/1.1\r\n"
           b"Content-Length: 2\r\nHost: 127.0.0.1:39257\r\n\r\n{}")  # fmt: skip
    assert route(wrk, LIMIT) == FastInvoke(len(wrk) - 2, "noop", None, 2, None, close=False,
                                           target="/2015-03-31/functions/noop/invocations",
                                           headers=(("Content-Length", "2"), ("Host", "127.0.0.1:39257")))  # fmt: skip
    boto = (b"POST /2015-03-31/functions/noop/invocations HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n"
            b"Accept-Encoding: identity\r\nUser-Agent: Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux\r\n"
            b"X-Amz-Date: 20261206T221100Z\r\n"
            b"X-Amz-Content-SHA256: 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/lambda/aws4_request, "
            b"SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00\r\n"
            b"amz-sdk-invocation-id: 5d3c0b5e-0b0e-4a5c-9e0e-1b1d2c3d4e5f\r\namz-sdk-request: attempt=1; max=1\r\n"
            b"Content-Length: 2\r\n\r\n{}")  # fmt: skip
    assert isinstance(route(boto, LIMIT), FastInvoke)


def api(line: str, *headers: str, body: bytes = b"") -> bytes:
    return "\r\n".join([line, *headers]).encode("latin-1") + b"\r\n\r\n" + body


def test_a_plain_api_call_is_read_by_host_or_by_path() -> None:
    raw = api("GET /pets/1?a=1&b= HTTP/1.1", "Host: abcdefghij.execute-api.localhost:9000", "X-A: 1 ", "x-a:2",
              "Cookie: c=1")  # fmt: skip
    assert route(raw, LIMIT) == ApiCall(len(raw), "abcdefghij", "/pets/1", "GET", "a=1&b=", (
        ("Host", "abcdefghij.execute-api.localhost:9000"), ("X-A", "1"), ("x-a", "2"), ("Cookie", "c=1")), 0, False)
    raw = api("POST /_aws/execute-api/abcdefghij/v1/x HTTP/1.1", "Host: 127.0.0.1", "Content-Length: 2",
              "Connection: close", body=b"{}")  # fmt: skip
    decided = route(raw, LIMIT)
    assert isinstance(decided, ApiCall)
    assert (decided.api_id, decided.path, decided.content_length, decided.close) == ("abcdefghij", "/v1/x", 2, True)
    # An Invoke's request line at an API's Host is the API's request.
    invoke = route(request("Host: abcdefghij.execute-api.localhost:9000", "Content-Length: 0"), LIMIT)
    assert isinstance(invoke, ApiCall) and invoke.path == "/2015-03-31/functions/fn/invocations"


@pytest.mark.parametrize("raw", [
    api("GET /x HTTP/1.1", "Host: localhost"),  # no execute-api address
    # A Host much like a function URL's, that is not one: nothing is guessed.
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Host: x.lambda-url.us-east-1.localhost"),
    api("GET /x HTTP/1.1", "Host: abcdefghij.execute-api.localhost", "Host: other"),
    api("GET /x HTTP/1.0", "Host: abcdefghij.execute-api.localhost"),
    api("HEAD /x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("get /x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("GET http://abcdefghij.execute-api.localhost/x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("GET //x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("GET /x#y HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("GET  /x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Content-Length: 2", "Transfer-Encoding: chunked"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Content-Length: 2", "Content-Length: 2"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Content-Length: +2"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", f"Content-Length: {LIMIT + 1}"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", " Folded: x"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Expect: 100-continue"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Upgrade: websocket"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Connection: Upgrade"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "X-Odd: caf\xe9"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "Bad Name: x"),
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", "X-A: 1").replace(b"X-A: 1", b"X-A: \r1"),
])  # fmt: skip
def test_an_api_call_not_read_plainly_goes_to_aiohttp(raw: bytes) -> None:
    assert route(raw, LIMIT) is Route.AIOHTTP


def test_api_answers_are_written_as_aiohttp_writes_a_response_of_those_headers() -> None:
    date = b"Sun, 06 Dec 2026 22:47:29 GMT"
    server = "Server: Python/3.11 aiohttp/"
    written = api_response(200, [("X-A", "1")], b"x", date=date, close=True).decode()
    assert written.startswith("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 1\r\nContent-Type: application/octet-stream\r\n"
                              f"Date: {date.decode()}\r\n{server}")  # fmt: skip
    assert written.endswith("\r\nConnection: close\r\n\r\nx")
    empty = api_response(200, [("X-A", "1")], b"", date=date, close=False).decode()
    assert "Content-Length: 0\r\nDate: " in empty and "Content-Type" not in empty and "Connection" not in empty
    given = api_response(404, [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("date", "mine"), ("Server", "s")], b"x",
                         date=date, close=False).decode()  # fmt: skip
    assert given == ("HTTP/1.1 404 Not Found\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\ndate: mine\r\nServer: s\r\n"
                     "Content-Length: 1\r\nContent-Type: application/octet-stream\r\n\r\nx")  # fmt: skip
    none = api_response(304, [("X-A", "1")], b"ignored", date=date, close=False).decode()
    assert none.startswith("HTTP/1.1 304 Not Modified\r\nX-A: 1\r\nDate: ") and none.endswith("\r\n\r\n")
    assert api_response(599, [], b"", date=date, close=False).startswith(b"HTTP/1.1 599 \r\nContent-Length: 0\r\n")


URL_HOST = "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.localhost:9000"
URL_PATH = "/lamina/v1/urls/0123456789abcdefghijklmnopqrstuv"


def test_up_to_128_headers_are_read_here() -> None:
    assert isinstance(route(api(f"GET {URL_PATH}/x HTTP/1.1", "Host: 127.0.0.1", *(f"X-{n}: {n}" for n in range(127))),
                            LIMIT), UrlCall)  # fmt: skip
    assert isinstance(route(request(*(f"X-{n}: {n}" for n in range(127))), LIMIT), FastInvoke)  # and the Host


def test_a_plain_function_url_request_is_read_by_host_or_by_path() -> None:
    raw = api("POST /my/path?a=1&a=2 HTTP/1.1", f"Host: {URL_HOST}", "X-A: 1 ", "Content-Length: 2", body=b"{}")
    assert route(raw, LIMIT) == UrlCall(len(raw) - 2, URL_HOST, "/my/path?a=1&a=2", "POST", "a=1&a=2", (
        ("Host", URL_HOST), ("X-A", "1"), ("Content-Length", "2")), 2, False)  # fmt: skip
    raw = api(f"GET {URL_PATH}/x? HTTP/1.1", "Host: 127.0.0.1:9000", "Connection: close")
    decided = route(raw, LIMIT)
    assert isinstance(decided, UrlCall)
    assert (decided.host, decided.target, decided.raw_query, decided.close) == ("127.0.0.1:9000", f"{URL_PATH}/x?",
                                                                               "", True)  # fmt: skip


@pytest.mark.parametrize("raw", [
    # A function URL's Host comes first, whatever the path names; then a function URL's path,
    # whatever the Host names (the order of aiohttp's middlewares).
    api("GET /_aws/execute-api/abcdefghij/x HTTP/1.1", f"Host: {URL_HOST}"),
    api(f"GET {URL_PATH}/x HTTP/1.1", "Host: abcdefghij.execute-api.localhost"),
    # An Invoke's request line at a function URL's Host is the function URL's request.
    request(f"Host: {URL_HOST}", "Content-Length: 0"),
    # Another region's URL: the serving code answers it (as an unknown URL).
    api("GET / HTTP/1.1", "Host: 0123456789abcdefghijklmnopqrstuv.lambda-url.eu-west-1.localhost"),
])  # fmt: skip
def test_what_names_a_function_url_is_the_function_urls(raw: bytes) -> None:
    assert isinstance(route(raw, LIMIT), UrlCall)


@pytest.mark.parametrize("raw", [
    api(f"GET {URL_PATH}/x HTTP/1.1"),  # no Host: aiohttp would read the listener's address as one
    api("GET /x HTTP/1.1", f"Host: {URL_HOST}", "Host: other"),
    api("GET /x HTTP/1.1", f"Host: {URL_HOST}", "Content-Length: 2", "Content-Length: 2"),
    api("POST /x HTTP/1.1", f"Host: {URL_HOST}", "Content-Length: 2", "Transfer-Encoding: chunked"),
    api("POST /x HTTP/1.1", f"Host: {URL_HOST}", "Transfer-Encoding: chunked"),
    api("POST /x HTTP/1.1", f"Host: {URL_HOST}", f"Content-Length: {LIMIT + 1}"),  # aiohttp's 413
    api("POST /x HTTP/1.1", f"Host: {URL_HOST}", "Content-Length: -1"),
    api("GET /x HTTP/1.1", f"Host: {URL_HOST}", "X-A: 1").replace(b"X-A: 1\r\n", b"X-A: 1\n"),
    api("GET /x HTTP/1.0", f"Host: {URL_HOST}"),
    api("HEAD /x HTTP/1.1", f"Host: {URL_HOST}"),
    api(f"GET http://{URL_HOST}/x HTTP/1.1", f"Host: {URL_HOST}"),
    api(f"GET {URL_PATH}/x#f HTTP/1.1", "Host: 127.0.0.1"),
    api(f"GET {URL_PATH}/x HTTP/1.1", "Host: 127.0.0.1", "Expect: 100-continue"),
    api(f"GET {URL_PATH}/x HTTP/1.1", "Host: 127.0.0.1", "X-Odd: caf\xe9"),
    api(f"GET {URL_PATH}/x HTTP/1.1", "Host: 127.0.0.1", "Content-Type: a", "Content-Type: b"),
    api(f"GET {URL_PATH}/x HTTP/1.1", "Host: 127.0.0.1", *(f"X-{n}: {n}" for n in range(128))),
])  # fmt: skip
def test_a_function_url_request_not_read_plainly_goes_to_aiohttp(raw: bytes) -> None:
    assert route(raw, LIMIT) is Route.AIOHTTP


def test_a_plain_requests_extent_is_its_head_and_length() -> None:
    raw = request("Host: x", "Content-Length: 12", "Content-Type: application/json", line="PUT /a/b?c=d HTTP/1.1")
    assert plain(raw + b"x" * 12) == Plain(len(raw), 12, close=False)
    for raw, close in ((request(line="GET /2015-03-31/functions HTTP/1.1"), False),
                       (request("Connection: close", line="DELETE /x HTTP/1.1"), True),
                       (request("Connection: Keep-Alive", line="HEAD /x HTTP/1.1"), False)):  # fmt: skip
        assert plain(raw + b"GET /next HTTP/1.1\r\n\r\n") == Plain(len(raw), 0, close)


@pytest.mark.parametrize("raw", [
    request("Transfer-Encoding: chunked", line="POST /x HTTP/1.1"),
    request("Content-Length: 2", "Transfer-Encoding: chunked", line="POST /x HTTP/1.1"),
    request("Content-Length: 2", "Content-Length: 2", line="POST /x HTTP/1.1"),
    request("Content-Length: +2", line="POST /x HTTP/1.1"),
    request("Content-Length: 0x2", line="POST /x HTTP/1.1"),
    request("Content-Length: 2", "Expect: 100-continue", line="POST /x HTTP/1.1"),
    request("Connection: Upgrade", "Upgrade: websocket", line="GET /x HTTP/1.1"),
    request("Connection: keep-alive, Upgrade", line="GET /x HTTP/1.1"),
    request("Connection: close", "Connection: keep-alive", line="GET /x HTTP/1.1"),
    request(" Content-Length: 2", line="POST /x HTTP/1.1"),
    request("Content-Length : 2", line="POST /x HTTP/1.1"),
    request("X-Odd: caf\u00e9", line="GET /x HTTP/1.1"),
    request(line="GET /x HTTP/1.0"),
    request(line="GET http://x/ HTTP/1.1"),
    request(line="CONNECT x:443 HTTP/1.1"),
    request(line="GET  /x HTTP/1.1"),
    request(line="G(T /x HTTP/1.1"),
    request("Content-Length: 2", line="POST /x HTTP/1.1").replace(b"\r\nContent", b"\nContent"),
    request("X-Pad: " + "a" * MAX_HEAD, line="GET /x HTTP/1.1"),
    request(line="GET /x HTTP/1.1")[:-2],  # the head has not all arrived
])  # fmt: skip
def test_a_request_whose_extent_is_not_plain_is_not_lent(raw: bytes) -> None:
    assert plain(raw) is None


def test_an_invoke_without_a_host_goes_to_aiohttp() -> None:
    """HTTP/1.1 requires one: aiohttp answers 400."""
    assert route(INVOKE.format(name="fn", query="").encode() + b"\r\nContent-Length: 0\r\n\r\n", LIMIT) is Route.AIOHTTP
