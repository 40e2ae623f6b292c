"""What execution environments may ask of Lamina's API: to invoke functions, put events, send
messages to queues and read and write objects, nothing else.

Who calls is known by where the connection arrived, never guessed: Lamina serves two
applications over the same routes. The operator's is served only on ``lamina server``'s own
address (every request signed with a key Lamina knows: api/authentication.py). The environments' is served
only on the listener inside each sandboxed environment's own network namespace (127.0.0.1 at the
same port), which nothing outside that environment can reach; through it a function may only
invoke functions (chaining works as on Lambda), without the log tail (``LogType: Tail``), which
could hold another function's output, put events on event buses (PutEvents: what a rule then
invokes, a function could invoke itself) and send messages to queues (GetQueueUrl, SendMessage,
SendMessageBatch; not receiving them: a queue may hold another function's destination records).
S3's requests are answered ahead of this guard (objects/api.py), which lets environments read and
write objects, not administer buckets (``objects.operations.FROM_ENVIRONMENTS``). Everything else
is ``AccessDeniedException``.
"""

from __future__ import annotations

from aiohttp import web

from lamina.api.errors import Handler
from lamina.errors import AccessDenied

_INVOKE_SUFFIXES = ("/invocations", "/invoke-async", "/invoke-async/")
# Invoke's and InvokeAsync's paths begin so; other operations' paths may end like them (a topic rule
# or a schedule named "invocations": POST /rules/invocations, POST /schedules/invocations).
_INVOKE_PREFIXES = ("/2015-03-31/functions/", "/2014-11-13/functions/")
_TARGETS = frozenset({"AWSEvents.PutEvents", "AmazonSQS.GetQueueUrl", "AmazonSQS.SendMessage",
                      "AmazonSQS.SendMessageBatch"})  # fmt: skip

# Whether an application is the environments' (True) or the operator's (False).
FROM_ENVIRONMENT = web.AppKey("from_environment", bool)


@web.middleware
async def environment_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method != "POST" or not (
        (request.path.startswith(_INVOKE_PREFIXES) and request.path.endswith(_INVOKE_SUFFIXES))
        or (request.path == "/" and request.headers.get("X-Amz-Target") in _TARGETS)
    ):
        raise AccessDenied(
            "Execution environments may only invoke functions, put events and send messages through Lamina's API; "
            f"{request.method} {request.path} is refused."
        )
    return await handler(request)
