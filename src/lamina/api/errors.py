"""The one place errors become HTTP responses, in AWS's shape.

Every response carries ``x-amzn-RequestId``. An ``ApiError`` becomes its status, the header
``X-Amzn-ErrorType: <Code>`` (botocore reads the code from it first) and the JSON body
``{"Type": "User", "message": "..."}``. Anything unexpected is logged and becomes a
``ServiceException`` (500) that says nothing of Lamina's internals. The store's own errors
(``lamina.store.errors``: a function deleted while it was written, ...) are worded as Lambda words
them here (``from_store``), and only here. A request whose body took
too long to arrive (``RequestTimeout``, 408) is answered and its connection closed.
"""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

from aiohttp import web

from lamina import ids
from lamina.errors import ApiError, RequestTooLarge, ResourceConflict, ResourceNotFound, ServiceError
from lamina.errors import function_not_found, stale_revision, url_exists
from lamina.model import LATEST
from lamina.store import errors as store

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REQUEST_ID = "lamina.request_id"
MAX_REQUEST_BYTES = web.AppKey("max_request_bytes", int)
# What the store's errors name a function by: its ARN (Settings.function_arn) in the request's cell.
FunctionArn = Callable[[str, "str | None"], str]
FUNCTION_ARN: web.AppKey[Callable[[web.Request], FunctionArn]] = web.AppKey("function_arn")


def from_store(error: store.StoreError, arn: FunctionArn) -> ApiError:
    """A store error as Lambda's API words it (``arn`` names a function, qualified or not)."""
    if isinstance(error, store.StaleRevision):
        return stale_revision("GetPolicy" if error.kind == store.POLICY else "GetFunction/GetAlias")
    qualified = arn(error.function, None if error.qualifier == LATEST else error.qualifier)
    if error.kind == store.ALIAS:
        if isinstance(error, store.Conflict):
            return ResourceConflict(f"Alias already exists: {qualified}")
        return ResourceNotFound(f"Alias not found: {qualified}")
    if error.kind == store.FUNCTION_URL:
        if isinstance(error, store.Conflict):
            return url_exists(qualified)
        return ResourceNotFound("The resource you requested does not exist.")
    if isinstance(error, store.Conflict):
        return ResourceConflict(f"Function already exist: {error.function}")
    return function_not_found(arn(error.function, None))


def error_parts(error: ApiError, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """An error's status, headers (before Content-Type) and JSON body: aiohttp's answer
    (``error_response``) and the front door's (lamina/dataplane) are made of these."""
    headers = {"X-Amzn-ErrorType": error.code, "x-amzn-RequestId": request_id, **error.headers()}
    return error.status, headers, json.dumps(error.body()).encode()


def error_response(error: ApiError, request_id: str) -> web.Response:
    status, headers, body = error_parts(error, request_id)
    return web.Response(status=status, body=body, headers=headers, content_type="application/json")


class UnknownOperation(ApiError):
    code = "UnknownOperationException"
    status = 404


class RequestTimeout(ApiError):
    """The client sent its request's body too slowly (``Settings.body_timeout_seconds``)."""

    code = "RequestTimeoutException"
    status = 408


@web.middleware
async def aws_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = ids.request_id()
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except RequestTimeout as exc:
        response = error_response(exc, request_id)
        # Not kept for another request: aiohttp reads what is left of the body for at most its
        # lingering time (10 s), so that the client can see the answer, then closes.
        response.force_close()
        return response
    except ApiError as exc:
        return error_response(exc, request_id)
    except store.StoreError as exc:
        return error_response(from_store(exc, request.app[FUNCTION_ARN](request)), request_id)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[MAX_REQUEST_BYTES]
        return error_response(RequestTooLarge(f"Request must be smaller than {limit} bytes for the operation"), request_id)
    except web.HTTPNotFound:
        return error_response(UnknownOperation(f"Unknown operation {request.method} {request.path}"), request_id)
    except web.HTTPMethodNotAllowed:
        return error_response(UnknownOperation(f"Unknown operation {request.method} {request.path}"), request_id)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(ServiceError("An internal error occurred; see the Lamina server log."), request_id)
    response.headers.setdefault("x-amzn-RequestId", request_id)
    return response
