"""A small typed client for Lamina's Lambda API, over ``urllib``.

This is the one place where urllib, socket and http.client errors are met; each is translated
here into the CLI's own errors (``lamina.cli.errors``):

- an HTTP error answer becomes ``LambdaApiError`` with the code from ``X-Amzn-ErrorType``;
- no connection at all (refused, unknown host, connect timeout) becomes ``UnreachableError``;
- a connection that gave no answer (read timeout, dropped) becomes ``NoAnswerError``.

Every request is signed (SigV4, ``lamina.identity.signing``) with the credentials given: the
``lamina`` command reads ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``,
else uses the development pair ``test``/``test``.

Requests to a loopback endpoint ignore ``HTTP(S)_PROXY``: a proxy cannot reach the caller's own
``127.0.0.1``.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Callable, Iterator, Mapping, cast
from urllib.parse import quote, unquote, urlencode, urlsplit

from lamina.api import scopes
from lamina.identity.signing import Credentials, sign
from lamina.cli.errors import LambdaApiError, NoAnswerError, UnreachableError, UsageError
from lamina.cli.shapes import (
    DEFAULT_ROLE, FunctionConfiguration, FunctionSpec, HttpApi, HttpApiRoute, InvokeResult, LogPage, MappingRow, OutboxMessage,
    QueueRow, RestApi, RestStage, ScheduleDetail, ScheduleSummary,
)  # fmt: skip

DEFAULT_ENDPOINT = "http://127.0.0.1:9000"
API_VERSION = "/2015-03-31"
LOGS_API = "/lamina/v1"
CONSOLE_API = "/console/api"  # the operator's (api/console.py, api/operator.py)

# Lambda allows functions up to 900 s; a synchronous invoke may take that long before answering.
INVOKE_TIMEOUT_SECONDS = 960.0
REQUEST_TIMEOUT_SECONDS = 30.0
# Listing runtimes may probe every interpreter the server can find (and build the .NET runtime once).
RUNTIMES_TIMEOUT_SECONDS = 300.0
LIST_PAGE_SIZE = 50
# A 50 MB package is ~67 MB of JSON on the wire, and the server unpacks and checks it before answering.
UPLOAD_TIMEOUT_SECONDS = 300.0

Uploaded = Callable[[int, int], None]  # (bytes sent so far, bytes in all) as a request body goes out


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def json_object(self) -> dict[str, object]:
        try:
            value = json.loads(self.body) if self.body else {}
        except ValueError as exc:
            raise NoAnswerError(f"Lamina answered HTTP {self.status} with a body that is not JSON ({exc}).") from None
        if not isinstance(value, dict):
            raise NoAnswerError(f"Lamina answered HTTP {self.status} with JSON that is not an object.")
        return value


class LambdaClient:
    """Calls Lamina's Lambda API at ``endpoint`` (e.g. ``http://127.0.0.1:9000``).

    Every method either returns the parsed answer or raises a ``CliError``.
    """

    def __init__(self, endpoint: str, *, timeout: float = REQUEST_TIMEOUT_SECONDS,
                 credentials: Credentials | None = None, region: str = "us-east-1") -> None:  # fmt: skip
        self._credentials = credentials or Credentials("test", "test")
        self._region = region
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--endpoint must look like {DEFAULT_ENDPOINT} (got {endpoint!r}).")
        self.endpoint = endpoint.rstrip("/")
        self._timeout = timeout
        handlers = [urllib.request.ProxyHandler({})] if _is_loopback(parts.hostname) else []
        self._opener = urllib.request.build_opener(*handlers)

    def aws_prefix(self) -> str:
        """How a printed ``aws`` command reaches this server as this client does: its endpoint and
        region, and the development pair when that is what the client signs with."""
        keys = "AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test " if self._credentials == Credentials("test", "test") else ""
        return f"{keys}aws --endpoint-url {self.endpoint} --region {self._region}"

    # -- functions -------------------------------------------------------------------------

    def create_function(self, spec: FunctionSpec, zip_file: bytes, *, progress: Uploaded | None = None
                        ) -> FunctionConfiguration:  # fmt: skip
        body = {"FunctionName": spec.name, "Role": DEFAULT_ROLE, **spec.configuration(),
                "Code": {"ZipFile": _b64(zip_file)}}  # fmt: skip
        return _configuration(self._send("POST", f"{API_VERSION}/functions", json_body=body, progress=progress,
                                         timeout=UPLOAD_TIMEOUT_SECONDS))  # fmt: skip

    def update_function_code(self, name: str, zip_file: bytes, *, progress: Uploaded | None = None
                             ) -> FunctionConfiguration:  # fmt: skip
        path = f"{_function_path(name)}/code"
        return _configuration(self._send("PUT", path, json_body={"ZipFile": _b64(zip_file)}, progress=progress,
                                         timeout=UPLOAD_TIMEOUT_SECONDS))  # fmt: skip

    def update_function_configuration(self, spec: FunctionSpec) -> FunctionConfiguration:
        path = f"{_function_path(spec.name)}/configuration"
        return _configuration(self._send("PUT", path, json_body=spec.configuration()))

    def get_function(self, name: str) -> dict[str, object]:
        """GetFunction's answer: ``Configuration``, ``Code``, ``Tags``, ``Concurrency``."""
        return self._send("GET", _function_path(name)).json_object()

    def get_function_url(self, name: str) -> str | None:
        """The function's URL (GetFunctionUrlConfig), or None when it has none."""
        try:
            answer = self._send("GET", f"/2021-10-31/functions/{quote(name, safe='')}/url").json_object()
        except LambdaApiError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise
        url = answer.get("FunctionUrl")
        return url if isinstance(url, str) else None

    def put_provisioned_concurrency(self, name: str, qualifier: str, count: int) -> dict[str, object]:
        path = f"/2019-09-30/functions/{quote(name, safe='')}/provisioned-concurrency"
        body = {"ProvisionedConcurrentExecutions": count}
        return self._send("PUT", path, query={"Qualifier": qualifier}, json_body=body).json_object()

    def get_provisioned_concurrency(self, name: str, qualifier: str) -> dict[str, object]:
        path = f"/2019-09-30/functions/{quote(name, safe='')}/provisioned-concurrency"
        return self._send("GET", path, query={"Qualifier": qualifier}).json_object()

    def delete_provisioned_concurrency(self, name: str, qualifier: str) -> None:
        path = f"/2019-09-30/functions/{quote(name, safe='')}/provisioned-concurrency"
        self._send("DELETE", path, query={"Qualifier": qualifier})

    def get_function_configuration(self, name: str) -> FunctionConfiguration:
        return _configuration(self._send("GET", f"{_function_path(name)}/configuration"))

    def list_functions(self, *, page_size: int = LIST_PAGE_SIZE) -> Iterator[FunctionConfiguration]:
        """Every function, following ``NextMarker`` page by page."""
        marker: str | None = None
        seen: set[str] = set()
        while True:
            query: dict[str, str] = {"MaxItems": str(page_size)}
            if marker:
                query["Marker"] = marker
            page = self._send("GET", f"{API_VERSION}/functions", query=query).json_object()
            functions = page.get("Functions", [])
            if not isinstance(functions, list):
                raise NoAnswerError("Lamina's ListFunctions answer has no list of Functions.")
            for item in functions:
                yield _configuration_from(item)
            next_marker = page.get("NextMarker")
            if not isinstance(next_marker, str) or not next_marker:
                return
            if next_marker in seen:
                raise NoAnswerError(f"Lamina repeated the page marker {next_marker!r}; stopping the listing.")
            seen.add(next_marker)
            marker = next_marker

    def delete_function(self, name: str) -> None:
        self._send("DELETE", _function_path(name))

    # -- invoke and logs -------------------------------------------------------------------

    def invoke(
        self,
        name: str,
        payload: bytes,
        *,
        qualifier: str | None = None,
        asynchronous: bool = False,
        tail_logs: bool = False,
    ) -> InvokeResult:
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Invocation-Type": "Event" if asynchronous else "RequestResponse",
        }
        if tail_logs:
            headers["X-Amz-Log-Type"] = "Tail"
        response = self._send(
            "POST",
            f"{_function_path(name)}/invocations",
            query={"Qualifier": qualifier} if qualifier else None,
            body=payload,
            headers=headers,
            timeout=INVOKE_TIMEOUT_SECONDS,
        )
        log_result = response.headers.get("x-amz-log-result")
        return InvokeResult(
            status=response.status,
            payload=response.body,
            function_error=response.headers.get("x-amz-function-error"),
            log_tail=_decode_log_result(log_result) if log_result else None,
            executed_version=response.headers.get("x-amz-executed-version"),
            request_id=response.headers.get("x-amzn-requestid"),
        )

    def get_logs(self, name: str, *, since: int, limit: int, wait: float, start_ms: int = 0,
                 pattern: str = "") -> LogPage:  # fmt: skip
        """One page of a function's log events after ``since`` (timestamped at ``start_ms`` or later,
        matching ``pattern``: a CloudWatch Logs filter pattern); waits up to ``wait`` s for new ones."""
        query = {"since": str(since), "limit": str(limit), "wait": f"{wait:g}"}
        if start_ms:
            query["startTime"] = str(start_ms)
        if pattern:
            query["filter"] = pattern
        response = self._send(
            "GET",
            f"{LOGS_API}/functions/{quote(name, safe='')}/logs",
            query=query,
            timeout=wait + REQUEST_TIMEOUT_SECONDS,
        )
        page = response.json_object()
        events = page.get("events")
        next_cursor = page.get("nextCursor")
        if not isinstance(events, list) or not isinstance(next_cursor, int):
            raise NoAnswerError("Lamina's logs answer lacks `events` or `nextCursor`.")
        return cast(LogPage, page)

    def get_queue(self) -> list[QueueRow]:
        """The asynchronous-invocation queue, per function (``GET /lamina/v1/queue``)."""
        response = self._send("GET", f"{LOGS_API}/queue", timeout=REQUEST_TIMEOUT_SECONDS)
        rows = response.json_object().get("functions")
        if not isinstance(rows, list):
            raise NoAnswerError("Lamina's queue answer lacks `functions`.")
        return cast(list[QueueRow], rows)

    def get_usage(self, *, by: str, start: str | None, end: str | None) -> dict[str, object]:
        """Usage and its cost, grouped (``GET /lamina/v1/usage``)."""
        query = {"by": by, **({"from": start} if start else {}), **({"to": end} if end else {})}
        return self._send("GET", f"{LOGS_API}/usage", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()

    def get_stats(self, *, start: str | None, end: str | None, sort: str) -> dict[str, object]:
        """Each function's performance over a range (``GET /lamina/v1/stats``)."""
        query = {"sort": sort, **({"from": start} if start else {}), **({"to": end} if end else {})}
        return self._send("GET", f"{LOGS_API}/stats", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()

    def operator_usage(self, *, cell: str, by: str, start: str | None, end: str | None,
                       token: str | None) -> dict[str, object]:  # fmt: skip
        """Usage of one cell or every cell (``GET /console/api/usage``): the operator's view, under
        the console's rules (api/operator.py), so not signed; ``token``: LAMINA_CONSOLE_TOKEN."""
        query = {"cell": cell, "by": by, **({"from": start} if start else {}), **({"to": end} if end else {})}
        return self._send("GET", f"{CONSOLE_API}/usage", query=query, timeout=REQUEST_TIMEOUT_SECONDS,
                          headers=_bearer(token), signed=False).json_object()  # fmt: skip

    def operator_stats(self, *, cell: str, start: str | None, end: str | None, sort: str,
                       token: str | None) -> dict[str, object]:  # fmt: skip
        """Each function's performance in one cell or every cell (``GET /console/api/stats``)."""
        query = {"cell": cell, "sort": sort, **({"from": start} if start else {}), **({"to": end} if end else {})}
        return self._send("GET", f"{CONSOLE_API}/stats", query=query, timeout=REQUEST_TIMEOUT_SECONDS,
                          headers=_bearer(token), signed=False).json_object()  # fmt: skip

    def get_mappings(self) -> list[MappingRow]:
        """Event source mappings with their lag (``GET /lamina/v1/event-source-mappings``)."""
        response = self._send("GET", f"{LOGS_API}/event-source-mappings", timeout=REQUEST_TIMEOUT_SECONDS)
        rows = response.json_object().get("mappings")
        if not isinstance(rows, list):
            raise NoAnswerError("Lamina's event source mappings answer lacks `mappings`.")
        return cast(list[MappingRow], rows)

    def runtimes(self) -> list[dict[str, object]]:
        """Every runtime Lambda has, as the server runs it (``GET /lamina/v1/runtimes``)."""
        rows = self._send("GET", f"{LOGS_API}/runtimes", timeout=RUNTIMES_TIMEOUT_SECONDS).json_object().get("runtimes")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise NoAnswerError("Lamina's runtimes answer lacks a list of `runtimes`.")
        return cast(list[dict[str, object]], rows)

    def list_schedules(self) -> Iterator[ScheduleSummary]:
        """Every EventBridge Scheduler schedule (``GET /schedules``), page by page."""
        token: str | None = None
        while True:
            query = {"MaxResults": "100", **({"NextToken": token} if token else {})}
            page = self._send("GET", "/schedules", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()
            items = page.get("Schedules")
            if not isinstance(items, list):
                raise NoAnswerError("Lamina's ListSchedules answer has no list of Schedules.")
            yield from cast(list[ScheduleSummary], items)
            next_token = page.get("NextToken")
            if not isinstance(next_token, str) or not next_token:
                return
            token = next_token

    def get_schedule(self, name: str, group: str) -> ScheduleDetail:
        path = f"/schedules/{quote(name, safe='')}"
        answer = self._send("GET", path, query={"groupName": group}, timeout=REQUEST_TIMEOUT_SECONDS)
        return cast(ScheduleDetail, answer.json_object())

    def get_outbox(self, *, target: str | None, after: int, limit: int) -> tuple[list[OutboxMessage], int | None]:
        """One page of the outbox (``GET /lamina/v1/outbox``) and where the next page starts."""
        query = {"after": str(after), "limit": str(limit), **({"target": target} if target else {})}
        page = self._send("GET", f"{LOGS_API}/outbox", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()
        messages, next_after = page.get("messages"), page.get("nextAfter")
        if not isinstance(messages, list) or not (next_after is None or isinstance(next_after, int)):
            raise NoAnswerError("Lamina's outbox answer lacks `messages` or `nextAfter`.")
        return cast(list[OutboxMessage], messages), next_after

    def delete_outbox_message(self, message_id: int) -> None:
        self._send("DELETE", f"{LOGS_API}/outbox/{message_id}", timeout=REQUEST_TIMEOUT_SECONDS)

    def start_debugging(self, name: str, *, wait: bool, port: int | None) -> dict[str, object]:
        """Debug a function (``PUT /lamina/v1/functions/{name}/debug``): its session."""
        body: dict[str, object] = {"Wait": wait, **({"Port": port} if port is not None else {})}
        return self._send("PUT", f"{LOGS_API}/functions/{quote(name, safe='')}/debug", json_body=body).json_object()

    def stop_debugging(self, name: str) -> None:
        self._send("DELETE", f"{LOGS_API}/functions/{quote(name, safe='')}/debug", timeout=REQUEST_TIMEOUT_SECONDS)

    # -- IoT topic rules (AWS IoT's rest-json API) and the MQTT broker ---------------------------

    def iot_rules(self) -> Iterator[dict[str, object]]:
        """Every IoT topic rule (ListTopicRules, all pages), each with GetTopicRule's ``rule``."""
        token: str | None = None
        while True:
            query = {"maxResults": "100", **({"nextToken": token} if token else {})}
            page = self._send("GET", "/rules", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()
            items = page.get("rules")
            if not isinstance(items, list):
                raise NoAnswerError("Lamina's ListTopicRules answer has no list of rules.")
            for item in items:
                if isinstance(item, dict):
                    path = f"/rules/{quote(str(item.get('ruleName', '')), safe='')}"
                    rule = self._send("GET", path, timeout=REQUEST_TIMEOUT_SECONDS).json_object().get("rule")
                    yield {**item, **(rule if isinstance(rule, dict) else {})}
            next_token = page.get("nextToken")
            if not isinstance(next_token, str) or not next_token or next_token == token:
                return
            token = next_token

    def iot_broker(self) -> dict[str, object]:
        """The MQTT broker's connection and subscriptions (``GET /lamina/v1/iot``)."""
        return self._send("GET", f"{LOGS_API}/iot", timeout=REQUEST_TIMEOUT_SECONDS).json_object()

    # -- event buses (EventBridge's json-1.1 API) ---------------------------------------------

    def events(self, operation: str, body: Mapping[str, object]) -> dict[str, object]:
        """One EventBridge operation (``X-Amz-Target: AWSEvents.<operation>``) and its answer."""
        headers = {"X-Amz-Target": f"AWSEvents.{operation}", "Content-Type": "application/x-amz-json-1.1"}
        return self._send("POST", "/", body=json.dumps(body).encode(), headers=headers).json_object()

    def sqs(self, operation: str, body: Mapping[str, object]) -> dict[str, object]:
        """One SQS operation (awsJson 1.0: ``X-Amz-Target: AmazonSQS.<operation>``) and its answer."""
        headers = {"X-Amz-Target": f"AmazonSQS.{operation}", "Content-Type": "application/x-amz-json-1.0"}
        return self._send("POST", "/", body=json.dumps(body).encode(), headers=headers).json_object()

    def events_pages(self, operation: str, body: Mapping[str, object], member: str) -> Iterator[object]:
        """Every item of ``member`` across an EventBridge listing's pages (``NextToken``)."""
        token: str | None = None
        while True:
            page = self.events(operation, {**body, **({"NextToken": token} if token else {})})
            items = page.get(member)
            if not isinstance(items, list):
                raise NoAnswerError(f"Lamina's {operation} answer has no list of {member}.")
            yield from items
            next_token = page.get("NextToken")
            if not isinstance(next_token, str) or not next_token or next_token == token:
                return
            token = next_token

    def get_http_apis(self) -> Iterator[HttpApi]:
        """Every HTTP API (apigatewayv2 GetApis, all pages)."""
        for item in self._v2_items("/v2/apis"):
            yield cast(HttpApi, item)

    def get_http_api_routes(self, api_id: str) -> list[HttpApiRoute]:
        """An HTTP API's routes (apigatewayv2 GetRoutes, all pages)."""
        return [cast(HttpApiRoute, item) for item in self._v2_items(f"/v2/apis/{quote(api_id, safe='')}/routes")]

    def get_rest_apis(self) -> Iterator[RestApi]:
        """Every REST API (apigateway GetRestApis, all pages)."""
        position: str | None = None
        while True:
            query = {"limit": "500", **({"position": position} if position else {})}
            page = self._send("GET", "/restapis", query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()
            items, next_position = page.get("item", []), page.get("position")
            if not isinstance(items, list):
                raise NoAnswerError("Lamina's GetRestApis answer lacks `item`.")
            yield from (cast(RestApi, item) for item in items)
            if not isinstance(next_position, str) or not next_position or next_position == position:
                return
            position = next_position

    def get_rest_api_stages(self, api_id: str) -> list[RestStage]:
        """A REST API's stages (apigateway GetStages)."""
        page = self._send("GET", f"/restapis/{quote(api_id, safe='')}/stages", timeout=REQUEST_TIMEOUT_SECONDS)
        items = page.json_object().get("item", [])
        if not isinstance(items, list):
            raise NoAnswerError("Lamina's GetStages answer lacks `item`.")
        return [cast(RestStage, item) for item in items]

    def _v2_items(self, path: str) -> Iterator[object]:
        token: str | None = None
        while True:
            query = {"maxResults": "100", **({"nextToken": token} if token else {})}
            page = self._send("GET", path, query=query, timeout=REQUEST_TIMEOUT_SECONDS).json_object()
            items, next_token = page.get("items", []), page.get("nextToken")
            if not isinstance(items, list):
                raise NoAnswerError("Lamina's answer lacks `items`.")
            yield from items
            if not isinstance(next_token, str) or not next_token:
                return
            token = next_token

    # -- the HTTP boundary -----------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: object = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        progress: Uploaded | None = None,
        signed: bool = True,
    ) -> Response:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        url = self.endpoint + path + (f"?{urlencode(query)}" if query else "")
        # The service each of Lamina's APIs insists its requests are signed for, as AWS's endpoints do.
        service = scopes.service_of(method, unquote(path.partition("?")[0]), urlencode(query) if query else "",
                                    all_headers, body) or scopes.LAMBDA  # fmt: skip
        if signed:
            all_headers.update(sign(method, url, all_headers, body or b"", self._credentials, region=self._region,
                                    service=service))  # fmt: skip
        data: bytes | _Counted | None = body
        if progress is not None and body:
            data = _Counted(body, progress)
            all_headers["Content-Length"] = str(len(body))
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        wait = self._timeout if timeout is None else timeout
        try:
            with self._opener.open(request, timeout=wait) as answer:
                return Response(answer.status, _lower(answer.headers), answer.read())
        except urllib.error.HTTPError as exc:
            with exc:
                status, error_headers, error_body = exc.code, _lower(exc.headers), _read_quietly(exc)
            raise _api_error(status, error_headers, error_body) from None
        except urllib.error.URLError as exc:
            raise UnreachableError(self.endpoint, _describe(exc.reason)) from None
        except TimeoutError:
            raise NoAnswerError(f"Lamina at {self.endpoint} did not answer within {wait:g} s.") from None
        except (OSError, http.client.HTTPException) as exc:
            raise NoAnswerError(
                f"Lamina at {self.endpoint} closed the connection without an answer ({_describe(exc)}). "
                "Check the server's output."
            ) from None


class _Counted:
    """A request body that reports how much of it has been read (sent) so far."""

    def __init__(self, body: bytes, progress: Uploaded) -> None:
        self._body = memoryview(body)
        self._sent = 0
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        end = len(self._body) if size < 0 else min(len(self._body), self._sent + size)
        chunk = bytes(self._body[self._sent:end])
        self._sent = end
        if chunk:
            self._progress(self._sent, len(self._body))
        return chunk


def _api_error(status: int, headers: Mapping[str, str], body: bytes) -> LambdaApiError:
    # botocore reads the code from this header first; it may carry a ":<namespace>" suffix.
    code = headers.get("x-amzn-errortype", "").split(":", 1)[0]
    detail = ""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = code or str(parsed.get("__type") or parsed.get("code") or parsed.get("error") or "")
        detail = str(parsed.get("message") or parsed.get("Message") or "")
    elif body:
        detail = body.decode("utf-8", "replace").strip()[:500]
    return LambdaApiError(status, code or f"HTTP {status}", detail)


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _function_path(name: str) -> str:
    return f"{API_VERSION}/functions/{quote(name, safe='')}"


def _configuration(response: Response) -> FunctionConfiguration:
    return _configuration_from(response.json_object())


def _configuration_from(value: object) -> FunctionConfiguration:
    if not isinstance(value, dict) or not isinstance(value.get("FunctionName"), str):
        raise NoAnswerError("Lamina answered with a function configuration that has no FunctionName.")
    return cast(FunctionConfiguration, value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _decode_log_result(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return f"(X-Amz-Log-Result is not base64: {value[:80]!r})"


def _lower(headers: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _read_quietly(answer: urllib.error.HTTPError) -> bytes:
    try:
        return answer.read()
    except (OSError, http.client.HTTPException):
        return b""


def _describe(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
