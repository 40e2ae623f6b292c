"""Lamina's Python runtime: the process that runs inside every Python execution environment.

Started as ``<interpreter> -u bootstrap.py``. It imports the function's handler (``_HANDLER``), then
loops on the Lambda Runtime API at ``$AWS_LAMBDA_RUNTIME_API``: fetch the next event, call the
handler, post the result or the error. Its observable behaviour (error types and messages, the
error document, the log lines, the context object, the JSON encoding of results) follows AWS's own
runtime interface client, awslambdaric 4.x.

This file must run on Python 3.9 through 3.13 and import only the standard library: the function's
interpreter does not have lamina installed. It sits on the hot path, so it keeps one connection to
the Runtime API, imports everything up front and does little work per invocation. It speaks
Lamina's framed encoding of the Runtime API (``FramedClient``: a result and the next request in one
send), and HTTP/1.1 (``RuntimeClient``) to a server that does not answer the framed preface.
"""

import os
import sys

# Drop this file's own directory from sys.path before anything else is imported, so that nothing
# next to the runtime can shadow the standard library or be imported by the function.
_RUNTIME_DIR = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _RUNTIME_DIR]

import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

_API_PREFIX = "/2018-06-01/runtime"
_PATH_NEXT = _API_PREFIX + "/invocation/next"
_PATH_INVOCATION = _API_PREFIX + "/invocation/"
_PATH_INIT_ERROR = _API_PREFIX + "/init/error"

_HEADER_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"

_ERROR_LOG_LINE_TERMINATE = "\r"
_ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as the managed runtime writes tracebacks
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START "
    "log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate "
    "this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)

# The request being processed, for the log records (awslambdaric's _GLOBAL_AWS_REQUEST_ID).
_REQUEST_ID = None
_TENANT_ID = None


class FaultException(Exception):
    """An error the runtime reports under a ``Runtime.*`` type rather than the exception's class."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


class _RuntimeAPIGone(Exception):
    """The Runtime API cannot be reached: the environment is being torn down."""


# --------------------------------------------------------------------------------------------
# JSON, as awslambdaric's marshaller writes it (simplejson with its defaults, ", " and ": "
# separators, NaN allowed, Decimal written as its own digits, bytes decoded as UTF-8, and
# non-ASCII kept as-is only for the python3.12-and-later execution environments).


def _ensure_ascii():
    env = os.environ.get("AWS_EXECUTION_ENV") or ""
    prefix = "AWS_Lambda_python3."
    if env.startswith(prefix):
        try:
            return int(env[len(prefix) :]) < 12
        except ValueError:
            return True
    return True


# A Decimal is first written as a marker string, then the marker (with its quotes) is replaced by
# the number's digits; the random part makes a clash with a real string out of the question.
_DECIMAL_MARK = "\x00lamina-decimal:" + os.urandom(8).hex() + ":"
_DECIMAL_MARK_RE = re.compile('"' + re.escape(json.dumps(_DECIMAL_MARK)[1:-1]) + '([0-9]+)"')
_NAN = float("nan")


class _Encoder(json.JSONEncoder):
    def __init__(self, ensure_ascii):
        super().__init__(ensure_ascii=ensure_ascii, allow_nan=True)
        self.raw = []

    def default(self, o):
        if isinstance(o, bytes):
            return o.decode("utf-8")
        # A Decimal can exist only once the decimal module has been imported.
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            if o.is_nan():
                return _NAN
            raw = self.raw
            raw.append(str(o))
            return _DECIMAL_MARK + str(len(raw) - 1)
        return json.JSONEncoder.default(self, o)


_ENCODER = _Encoder(_ensure_ascii())


def to_json(obj):
    encoder = _ENCODER
    if encoder.raw:
        encoder.raw = []
    text = encoder.encode(obj)
    raw = encoder.raw
    if raw:
        encoder.raw = []
        text = _DECIMAL_MARK_RE.sub(lambda m: raw[int(m.group(1))], text)
    return text


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e))
        )


def unmarshal_request(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e))
        )


# --------------------------------------------------------------------------------------------
# The context object.


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"custom={self.custom},"
            f"env={self.env},"
            f"client={self.client}"
            "])"
        )


def _obj_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field, None))
    return obj


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")

# Read once: the environment does not change between invocations.
_FUNCTION_ENV = {}


def _read_function_env():
    get = os.environ.get
    _FUNCTION_ENV.update(
        log_group_name=get("AWS_LAMBDA_LOG_GROUP_NAME"),
        log_stream_name=get("AWS_LAMBDA_LOG_STREAM_NAME"),
        function_name=get("AWS_LAMBDA_FUNCTION_NAME"),
        memory_limit_in_mb=get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
        function_version=get("AWS_LAMBDA_FUNCTION_VERSION"),
    )


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        env = _FUNCTION_ENV
        self.aws_request_id = invoke_id
        self.log_group_name = env["log_group_name"]
        self.log_stream_name = env["log_stream_name"]
        self.function_name = env["function_name"]
        self.memory_limit_in_mb = env["memory_limit_in_mb"]
        self.function_version = env["function_version"]
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c_fields = _pop_w3c(client_context)

        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)

        identity = CognitoIdentity()
        if cognito_identity is not None:
            identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        else:
            identity.cognito_identity_id = None
            identity.cognito_identity_pool_id = None
        self.identity = identity

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta_ms = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def w3c(self):
        """The W3C trace context (traceparent, tracestate, baggage) the invocation carried."""
        return dict(self._w3c_fields)

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


def _pop_w3c(client_context):
    # The "w3c" member of the client context is taken out of it and offered through w3c().
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
        )


def _create_context(
    client_context_json, cognito_identity_json, deadline_ms, invoke_id, function_arn, tenant_id
):
    client_context = None
    if client_context_json:
        client_context = _parse_json_header(client_context_json, "Client Context")
    cognito_identity = None
    if cognito_identity_json:
        cognito_identity = _parse_json_header(cognito_identity_json, "Cognito Identity")
    return LambdaContext(
        invoke_id, client_context, cognito_identity, deadline_ms, function_arn, tenant_id
    )


# --------------------------------------------------------------------------------------------
# Errors and their log lines.


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _own_filename():
    return _own_filename.__code__.co_filename


_THIS_FILE = _own_filename()


def _user_frames(tb):
    """The traceback's frames as awslambdaric formats them, without this runtime's own frames."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if frame[0] != _THIS_FILE:
            frames = frames[i:]
            break
    return traceback.format_list(frames)


def _build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    return make_error(str(value), etype.__name__, _user_frames(tb), invoke_id)


def _replace_indentation(line):
    stripped = line.lstrip(" ")
    return _ERROR_LOG_IDENT * (len(line) - len(stripped)) + stripped


def _log_error_text(error_result):
    description = "[ERROR]"
    error_type = error_result.get("errorType")
    if error_type:
        description += " " + error_type
    error_message = error_result.get("errorMessage")
    if error_message:
        if error_type:
            description += ":"
        description += " " + error_message
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                for trace_line in element.splitlines():
                    lines.append(_replace_indentation(trace_line))
    sys.stdout.write(_ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _log_error_json(error_result):
    record = {"timestamp": time.strftime(_DATETIME_FORMAT, time.gmtime()), "level": "ERROR"}
    record.update(error_result)
    sys.stdout.write(to_json(record) + "\n")


_log_error = _log_error_text


# --------------------------------------------------------------------------------------------
# Logging: the root logger writes "[LEVEL]\t<UTC time>\t<request id>\t<message>" to stdout.

_LOG_RESERVED_FIELDS = frozenset(
    (
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "aws_request_id",
        "tenant_id",
        "_frame_type",
    )
)


class LambdaLoggerHandler(logging.Handler):
    def emit(self, record):
        sys.stdout.write(self.format(record))


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID or ""
        record.tenant_id = _TENANT_ID
        return True


class JsonFormatter(logging.Formatter):
    _encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def __init__(self):
        super().__init__(datefmt=_DATETIME_FORMAT)

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info
        msg = record.msg
        result = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": msg if isinstance(msg, dict) and not record.args else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": (
                f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None
            ),
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        result.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _LOG_RESERVED_FIELDS and key not in result
        )
        return self._encode({k: v for k, v in result.items() if v is not None}) + "\n"


def _setup_logging():
    global _log_error
    log_format = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper()
    log_level = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    log_level = {None: "", "TRACE": "DEBUG"}.get(log_level, log_level).upper()

    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    if log_format == "JSON":
        handler.setFormatter(JsonFormatter())
        _log_error = _log_error_json
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    root = logging.getLogger()
    if log_level in logging._nameToLevel:
        root.setLevel(log_level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


# --------------------------------------------------------------------------------------------
# The Runtime API client.

_STALE_CONNECTION_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
_JSON_HEADERS = {"Content-Type": "application/json"}
_UNKNOWN_HEADERS = {"Content-Type": "application/unknown"}

_RECV_SIZE = 65536
_MAX_HEAD = 1 << 20  # a response head (or chunk-size line) larger than this is an error
_SENDMSG_MIN = 65536  # bodies from this size are sent with the head without being copied to it
# As http.client refuses to send them: spaces and control characters in the request target.
_BAD_PATH_CHAR = re.compile("[\x00-\x20\x7f]").search


class _Headers(dict):
    """Response headers, stored under lower-cased names and looked up regardless of case."""

    __slots__ = ()

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name):
        # As email.message.Message (http.client's headers): None for a missing header.
        return dict.get(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())


class _Response(object):
    __slots__ = ("status", "reason", "msg")

    def __init__(self, status, reason, msg):
        self.status = status
        self.reason = reason
        self.msg = msg

    @property
    def headers(self):
        return self.msg

    def getheader(self, name, default=None):
        return self.msg.get(name, default)


class RuntimeClient(object):
    """HTTP/1.1 to the Runtime API over one kept-alive TCP connection, on a bare socket.

    (http.client parses every response head with the email package: a sizeable share of the
    runtime's own CPU time per invocation, and its import, with ssl's, tens of milliseconds of a
    cold start.) A numeric IPv4 address is connected to without name resolution: getaddrinfo
    reads the resolver configuration on first use, over a millisecond of a cold start. Nagle's
    algorithm is off: requests are small and latency-bound. A response body is read by its
    Content-Length, chunked, or up to the end of the connection; interim (1xx) responses are
    skipped; header values lose their surrounding blanks.
    """

    def __init__(self, address):
        host, port = _socket_address(address)
        self._target = (host, port)
        netloc = "[" + host + "]" if ":" in host else host
        if port != 80:
            netloc += ":%d" % port
        self._host = b"Host: " + netloc.encode("ascii")
        self._sock = None
        self._buf = b""  # bytes received past the last response

    def call(self, method, path, body=None, headers=_JSON_HEADERS):
        """One request on the kept-alive connection; returns (response, body bytes)."""
        if _BAD_PATH_CHAR(path) is not None:
            self.close()
            raise _RuntimeAPIGone()
        lines = [(method + " " + path + " HTTP/1.1").encode("ascii"), self._host]
        for name, value in headers.items():
            if value.__class__ is not bytes:
                value = str(value).encode("latin-1")
            if b"\r" in value or b"\n" in value:
                raise ValueError("Invalid header value %r" % (value,))
            lines.append(name.encode("ascii") + b": " + value)
        if body is not None:
            if body.__class__ is str:
                body = body.encode("latin-1")
            lines.append(b"Content-Length: %d" % len(body))
        elif method in ("POST", "PUT", "PATCH"):
            lines.append(b"Content-Length: 0")
        lines.append(b"\r\n")
        head = b"\r\n".join(lines)

        retried = False
        while True:
            sock = self._sock
            reused = sock is not None
            try:
                if sock is None:
                    sock = self._connect()
                if body is None:
                    sock.sendall(head)
                elif len(body) < _SENDMSG_MIN:
                    sock.sendall(head + body)
                else:
                    self._send_large(sock, head, body)
                return self._read_response(sock, method)
            except _STALE_CONNECTION_ERRORS:
                # The server may have closed an idle keep-alive connection (a long invocation):
                # try once more on a new one.
                self.close()
                if retried or not reused:
                    raise _RuntimeAPIGone() from None
                retried = True
            except (OSError, ValueError):
                # ValueError: the answer is not well-formed HTTP/1.x.
                self.close()
                raise _RuntimeAPIGone() from None

    def _connect(self):
        sock = _connect(self._target)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._buf = b""
        return sock

    @staticmethod
    def _send_large(sock, head, body):
        sent = sock.sendmsg((head, body))
        if sent < len(head):
            sock.sendall(head[sent:])
            sock.sendall(body)
        elif sent < len(head) + len(body):
            sock.sendall(memoryview(body)[sent - len(head) :])

    def _read_response(self, sock, method):
        buf = self._buf
        self._buf = b""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise ValueError("response head too large")
                data = sock.recv(_RECV_SIZE)
                if not data:
                    if buf:
                        raise ValueError("incomplete response head")
                    # Closed before answering: stale if the connection was a kept-alive one.
                    raise ConnectionResetError("connection closed without a response")
                buf += data
                continue
            lines = buf[:end].decode("latin-1").split("\r\n")
            version, _, status = lines[0].partition(" ")
            status, _, reason = status.partition(" ")
            if (
                (version != "HTTP/1.1" and version != "HTTP/1.0")
                or len(status) != 3
                or not status.isdigit()
            ):
                raise ValueError("bad status line")
            status = int(status)
            if status < 100:
                raise ValueError("bad status line")
            start = end + 4
            if status >= 200:
                break
            buf = buf[start:]  # an interim (1xx) response: the real one follows

        headers = _Headers()
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if colon:
                headers.setdefault(name.rstrip().lower(), value.strip())
        connection = dict.get(headers, "connection")
        if version == "HTTP/1.1":
            close = connection is not None and "close" in connection.lower()
        else:
            close = not (
                (connection is not None and "keep-alive" in connection.lower())
                or dict.__contains__(headers, "keep-alive")
            )

        if status == 204 or status == 304 or method == "HEAD":
            body = b""
            self._buf = buf[start:]
        elif dict.get(headers, "transfer-encoding", "").lower().endswith("chunked"):
            body = self._read_chunked(sock, buf[start:])
        else:
            length = dict.get(headers, "content-length")
            if length is not None:
                length = int(length)
                if length < 0:
                    raise ValueError("bad Content-Length")
                stop = start + length
                if len(buf) >= stop:
                    body = buf[start:stop]
                    if len(buf) > stop:
                        self._buf = buf[stop:]
                else:
                    body = _recv_exactly(sock, buf[start:], length)
            else:
                # No length: the body runs to the end of the connection.
                parts = [buf[start:]]
                data = sock.recv(_RECV_SIZE)
                while data:
                    parts.append(data)
                    data = sock.recv(_RECV_SIZE)
                body = b"".join(parts)
                close = True
        if close:
            self.close()
        return _Response(status, reason, headers), body

    def _read_chunked(self, sock, buf):
        """A chunked body's data; chunk extensions and trailers are dropped."""
        parts = []
        while True:
            line, buf = _recv_line(sock, buf)
            size = int(line.partition(b";")[0], 16)
            if size < 0:
                raise ValueError("bad chunk size")
            if size == 0:
                break
            if len(buf) >= size + 2:
                chunk, end, buf = buf[:size], buf[size : size + 2], buf[size + 2 :]
            else:
                chunk = _recv_exactly(sock, buf, size + 2)
                chunk, end, buf = chunk[:size], chunk[size:], b""
            if end != b"\r\n":
                raise ValueError("bad chunk")
            parts.append(chunk)
        line, buf = _recv_line(sock, buf)
        while line:  # trailer fields, up to the empty line
            line, buf = _recv_line(sock, buf)
        self._buf = buf
        return b"".join(parts)

    def close(self):
        sock = self._sock
        if sock is not None:
            self._sock = None
            self._buf = b""
            sock.close()

    def next_invocation(self):
        response, body = self.call("GET", _PATH_NEXT)
        if response.status != 200:
            _fatal(
                "Failed to get next invocation. Http Response code: {}".format(response.status)
            )
        return response.msg, body

    def post_result(self, invoke_id, payload, content_type):
        headers = _JSON_HEADERS if content_type == "application/json" else _UNKNOWN_HEADERS
        response, body = self.call(
            "POST", _PATH_INVOCATION + invoke_id + "/response", payload, headers
        )
        status = response.status
        # 413: the result is over the size limit; the platform reports that to the caller and
        # this environment stays usable.
        if status >= 300 and status != 413:
            _fatal(
                "Failed to post invocation response. Http response code: {}. {}".format(
                    status, body.decode("utf-8", "replace")
                )
            )

    def post_error(self, invoke_id, error_result, path=None):
        headers = {
            "Content-Type": "application/json",
            _HEADER_ERROR_TYPE: error_result["errorType"].encode("utf-8"),
        }
        response, body = self.call(
            "POST",
            path or (_PATH_INVOCATION + invoke_id + "/error"),
            to_json(error_result).encode("utf-8"),
            headers,
        )
        status = response.status
        if status >= 300 and status != 413:
            what = "init error" if path else "invocation error"
            _fatal(
                "Failed to post {}. Http response code: {}. {}".format(
                    what, status, body.decode("utf-8", "replace")
                )
            )


_PREFACE = b"LAMINA1\n"
_FRAME_NEXT = b"\x00\x00\x00\x01N"
_EVENT_KIND = 0x45  # "E"


class FramedClient(object):
    """The Runtime API in Lamina's framed encoding, over one TCP connection on a bare socket.

    The connection opens with ``LAMINA1\n``; then each side sends frames (a 4-byte big-endian
    length of what follows, a kind byte, a body). A result (``R``) or an error (``X``) is not
    answered: it is kept and sent with the next ``N`` in one ``sendall``, and the server answers
    that with the next event (``E``: header lines, a blank line, the payload), read with one
    ``recv`` when it is small. An init error (``I``) is sent, the sending side shut, and the
    server's end of the connection awaited: it has then read the error.

    A server that answers the preface with anything but an event does not speak frames: the
    client then speaks HTTP (``RuntimeClient``) from then on.
    """

    def __init__(self, address):
        self._address = address
        self._target = _socket_address(address)
        self._sock = None
        self._pending = None  # a result's frame, as (head, payload): sent with the next N
        self._confirmed = False  # the server has answered with a frame
        self._http = None  # the HTTP client, if the server does not speak frames

    def close(self):
        sock = self._sock
        if sock is not None:
            self._sock = None
            sock.close()
        if self._http is not None:
            self._http.close()

    def _connect(self):
        sock = _connect(self._target)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        return sock

    def _fall_back(self):
        self.close()
        self._http = RuntimeClient(self._address)
        return self._http

    def next_invocation(self):
        if self._http is not None:
            return self._http.next_invocation()
        pending = self._pending
        self._pending = None
        sock = self._sock
        try:
            if sock is None:
                sock = self._connect()
                first = _PREFACE
            else:
                first = b""
            if pending is None:
                sock.sendall(first + _FRAME_NEXT)
            elif len(pending[1]) < _SENDMSG_MIN:
                sock.sendall(first + pending[0] + pending[1] + _FRAME_NEXT)
            else:
                _send_parts(sock, (first + pending[0], pending[1], _FRAME_NEXT))
            data = sock.recv(_RECV_SIZE)
            while 0 < len(data) < 5:
                more = sock.recv(_RECV_SIZE)
                if not more:
                    break
                data += more
        except OSError:
            self.close()
            raise _RuntimeAPIGone() from None
        if len(data) < 5 or data[4] != _EVENT_KIND:
            if self._confirmed:
                self.close()
                raise _RuntimeAPIGone()
            # Not a frame in answer to the preface (so nothing is pending): the server speaks
            # only HTTP.
            return self._fall_back().next_invocation()
        self._confirmed = True
        size = int.from_bytes(data[:4], "big") + 4
        if len(data) < size:
            try:
                data = _recv_exactly(sock, data, size)
            except (OSError, ValueError):
                self.close()
                raise _RuntimeAPIGone() from None
        end = data.find(b"\r\n\r\n", 5, size)
        if end < 0:
            self.close()
            raise _RuntimeAPIGone()
        headers = _Headers()
        for line in data[5:end].decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.rstrip().lower()] = value.strip()
        return headers, data[end + 4 : size]

    def post_result(self, invoke_id, payload, content_type):
        if self._http is not None:
            return self._http.post_result(invoke_id, payload, content_type)
        head = invoke_id.encode("latin-1", "replace") + b"\n"
        self._pending = ((len(head) + len(payload) + 1).to_bytes(4, "big") + b"R" + head, payload)

    def post_error(self, invoke_id, error_result, path=None):
        if self._http is not None:
            return self._http.post_error(invoke_id, error_result, path)
        error_type = error_result["errorType"].encode("utf-8").replace(b"\n", b" ")
        document = to_json(error_result).encode("utf-8")
        if path is None:
            head = invoke_id.encode("latin-1", "replace") + b"\n" + error_type + b"\n"
            self._pending = ((len(head) + len(document) + 1).to_bytes(4, "big") + b"X" + head, document)
            return
        # An init error: sent now, and known to be read once the server ends the connection.
        head = error_type + b"\n"
        frame = (len(head) + len(document) + 1).to_bytes(4, "big") + b"I" + head + document
        try:
            sock = self._sock or self._connect()
            sock.sendall(frame if self._confirmed else _PREFACE + frame)
            sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(_RECV_SIZE)
        except OSError:
            self.close()
            raise _RuntimeAPIGone() from None
        if answer and not self._confirmed:
            self._fall_back().post_error(invoke_id, error_result, path)
        else:
            self.close()


def _send_parts(sock, parts):
    """Send ``parts`` in order, without joining them (they are large)."""
    sent = sock.sendmsg(parts)
    for part in parts:
        if sent >= len(part):
            sent -= len(part)
            continue
        sock.sendall(memoryview(part)[sent:])
        sent = 0


def _socket_address(address):
    """``(host, port)`` of "host:port", "[v6]:port" or "host" (port 80), as http.client reads it."""
    i = address.rfind(":")
    if i > address.rfind("]"):
        host = address[:i]
        port = int(address[i + 1 :]) if address[i + 1 :] else 80
    else:
        host, port = address, 80
    if host[:1] == "[" and host[-1:] == "]":
        host = host[1:-1]
    return host, port


def _connect(target):
    """A TCP connection to ``(host, port)``, without name resolution for a numeric IPv4 address."""
    try:
        socket.inet_pton(socket.AF_INET, target[0])
    except OSError:
        return socket.create_connection(target)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect(target)
    except BaseException:
        sock.close()
        raise
    return sock


def _recv_exactly(sock, first, size):
    """``size`` bytes: those of ``first`` (fewer than ``size``), then the socket's."""
    data = bytearray(size)
    view = memoryview(data)
    have = len(first)
    view[:have] = first
    recv_into = sock.recv_into
    while have < size:
        got = recv_into(view[have:])
        if not got:
            raise ValueError("incomplete response body")
        have += got
    view.release()
    return bytes(data)


def _recv_line(sock, buf):
    """The line at the start of ``buf`` (read on from the socket as needed), and what follows it."""
    while True:
        end = buf.find(b"\r\n")
        if end >= 0:
            return buf[:end], buf[end + 2 :]
        if len(buf) > _MAX_HEAD:
            raise ValueError("line too long")
        data = sock.recv(_RECV_SIZE)
        if not data:
            raise ValueError("incomplete chunked body")
        buf += data


def _fatal(message):
    _flush()
    sys.stderr.write("[ERROR] Runtime.LambdaRuntimeClientError: " + message + "\n")
    _flush()
    sys.exit(1)


def _flush():
    try:
        sys.stdout.flush()
    except Exception:
        pass
    try:
        sys.stderr.flush()
    except Exception:
        pass


# --------------------------------------------------------------------------------------------
# Init and the invocation loop.


def _standard_paths():
    """The entries of ``sys.path`` that are the standard library (its zip, its directory,
    lib-dynload): computed once, in the fork server. Everything else the host's interpreter would
    add (its site-packages, dist-packages, the user's site, .pth additions) is left out, so that a
    function imports only what it brings, its layers and the runtime's SDK, as on AWS."""
    import sysconfig

    roots = []
    for name in ("stdlib", "platstdlib"):
        path = sysconfig.get_path(name)
        if path:
            roots.append(os.path.realpath(path))
    kept = []
    for entry in sys.path:
        if not entry or "site-packages" in entry or "dist-packages" in entry:
            continue
        real = os.path.realpath(entry)
        if entry.endswith(".zip") or any(real == root or real.startswith(root + os.sep) for root in roots):
            kept.append(entry)
    return kept


_STANDARD_PATHS = _standard_paths()
# Where Lamina tells the runtime its SDK (boto3) is; read and removed before the function's code runs.
_SDK_VARIABLE = "_LAMINA_SDK_PYTHON"


def _setup_sys_path(task_root):
    """As AWS orders it: the code, the layers, the runtime's SDK, then the standard library (and
    whatever the function's own PYTHONPATH names, after its code and layers)."""
    version = "python{}.{}".format(sys.version_info[0], sys.version_info[1])
    front = [task_root, "/opt/python/lib/" + version + "/site-packages", "/opt/python"]
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sdk = os.environ.pop(_SDK_VARIABLE, "")
    paths = front + extra + ([sdk] if sdk else []) + _STANDARD_PATHS
    sys.path[:] = list(dict.fromkeys(paths))
    importlib.invalidate_caches()


# lamina dev --debug (lamina/debug/session.py): where debugpy listens, whether to wait for the
# debugger, where debugpy is imported from. Read and removed before the function's code runs.
_DEBUG_VARIABLE = "_LAMINA_DEBUG"
_DEBUG_WAIT_VARIABLE = "_LAMINA_DEBUG_WAIT"
_DEBUGPY_VARIABLE = "_LAMINA_DEBUGPY"


def _start_debugger():
    """With ``_LAMINA_DEBUG`` (HOST:PORT, this environment's own loopback): debugpy listening there,
    and with ``_LAMINA_DEBUG_WAIT`` waiting for the debugger, before the handler is imported (a
    breakpoint at the module's top level is hit). debugpy is imported from ``_LAMINA_DEBUGPY`` and
    that directory is off ``sys.path`` again afterwards: the function's imports do not see it."""
    address = os.environ.pop(_DEBUG_VARIABLE, "")
    wait = os.environ.pop(_DEBUG_WAIT_VARIABLE, "") == "1"
    where = os.environ.pop(_DEBUGPY_VARIABLE, "")
    if not address:
        return
    host, _, port = address.rpartition(":")
    if where:
        sys.path.insert(0, where)
    try:
        import debugpy
    finally:
        if where:
            sys.path.remove(where)
    debugpy.listen((host, int(port)))
    if wait:
        debugpy.wait_for_client()


def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME,
            "Bad handler '{}': {}".format(handler, str(e)),
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
        )


def _serve(client, request_handler):
    global _REQUEST_ID, _TENANT_ID
    environ = os.environ
    next_invocation = client.next_invocation
    while True:
        headers, body = next_invocation()
        get = headers.get
        invoke_id = get("Lambda-Runtime-Aws-Request-Id")
        if not invoke_id:
            _fatal("Failed to find header Lambda-Runtime-Aws-Request-Id in response")
        tenant_id = get("Lambda-Runtime-Aws-Tenant-Id")
        _REQUEST_ID = invoke_id
        _TENANT_ID = tenant_id

        trace_id = get("Lambda-Runtime-Trace-Id")
        if trace_id is not None:
            environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in environ:
            del environ["_X_AMZN_TRACE_ID"]

        deadline = get("Lambda-Runtime-Deadline-Ms")
        try:
            deadline_ms = int(deadline) if deadline else 0
        except ValueError:
            deadline_ms = 0

        error_result = None
        try:
            context = _create_context(
                get("Lambda-Runtime-Client-Context"),
                get("Lambda-Runtime-Cognito-Identity"),
                deadline_ms,
                invoke_id,
                get("Lambda-Runtime-Invoked-Function-Arn"),
                tenant_id,
            )
            event = unmarshal_request(body, get("Content-Type"))
            payload, content_type = marshal_response(request_handler(event, context))
        except FaultException as e:
            error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
        except Exception:
            error_result = _build_fault_result(sys.exc_info(), invoke_id)

        if error_result is None:
            _flush()
            client.post_result(invoke_id, payload, content_type)
        else:
            _log_error(error_result)
            _flush()
            client.post_error(invoke_id, error_result)


def main():
    global _ENCODER
    # Computed here, not at import: a fork server imports this module before the environment exists.
    _ENCODER = _Encoder(_ensure_ascii())
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.stderr.write("AWS_LAMBDA_RUNTIME_API is not set\n")
        sys.exit(1)
    handler_name = os.environ.get("_HANDLER")
    if handler_name is None:
        handler_name = sys.argv[1] if len(sys.argv) > 1 else ""
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()

    client = FramedClient(address)
    error_result = None
    try:
        _setup_sys_path(task_root)
        _setup_logging()
        _start_debugger()
        request_handler = get_handler(handler_name)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace)
    except Exception:
        error_result = _build_fault_result(sys.exc_info())

    try:
        if error_result is not None:
            logging.warning(_UNHANDLED_EXCEPTION_WARNING)
            _log_error(error_result)
            _flush()
            client.post_error("", error_result, path=_PATH_INIT_ERROR)
            client.close()
            sys.exit(1)
        _read_function_env()
        _serve(client, request_handler)
    except _RuntimeAPIGone:
        # The platform has gone away (the environment is being shut down): leave quietly.
        client.close()
        _flush()
        sys.exit(1 if error_result is not None else 0)


if __name__ == "__main__":
    main()
