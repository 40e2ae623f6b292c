"""Lambda API: Invoke (``RequestResponse``, ``Event``, ``DryRun``) and the older InvokeAsync."""

from __future__ import annotations

from aiohttp import web

from lamina.api.context import read_body, services
from lamina.api.errors import REQUEST_ID
from lamina.errors import RequestTooLarge
from lamina.invoke.service import InvokeRequest, InvokeResult

routes = web.RouteTableDef()


@routes.post("/2015-03-31/functions/{FunctionName}/invocations")
async def invoke(request: web.Request) -> web.Response:
    svc = services(request)
    limit = svc.settings.limits.sync_payload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestTooLarge(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    result = await svc.invoker.invoke(InvokeRequest(
        function=request.match_info["FunctionName"],
        payload=await read_body(request),
        qualifier=request.query.get("Qualifier"),
        invocation_type=request.headers.get("X-Amz-Invocation-Type", "RequestResponse"),
        log_tail=request.headers.get("X-Amz-Log-Type") == "Tail",
        client_context=request.headers.get("X-Amz-Client-Context"),
        request_id=request[REQUEST_ID],  # the request's id is the invocation's
        refuse_pending=True,
    ))  # fmt: skip
    content_type = "application/json" if result.status == 200 else None
    headers = result_headers(result)
    return web.Response(status=result.status, body=result.payload, headers=headers, content_type=content_type)


def result_headers(result: InvokeResult) -> dict[str, str]:
    """An invocation's answer's own headers, in order (the front door, lamina/dataplane, writes them too).
    An ``Event`` invocation's 202 names no executed version, as AWS's does not: none has run yet."""
    headers = {"x-amzn-RequestId": result.request_id}
    if result.status != 202:
        headers["X-Amz-Executed-Version"] = result.executed_version
    if result.function_error:
        headers["X-Amz-Function-Error"] = result.function_error
    if result.log_result is not None:
        headers["X-Amz-Log-Result"] = result.log_result
    return headers


@routes.post("/2014-11-13/functions/{FunctionName}/invoke-async/")
@routes.post("/2014-11-13/functions/{FunctionName}/invoke-async")  # as botocore sends it
async def invoke_async(request: web.Request) -> web.Response:
    """InvokeAsync (deprecated by AWS, still served): an ``Event`` invocation answering ``{"Status": 202}``."""
    svc = services(request)
    limit = svc.settings.limits.async_payload_bytes
    if request.content_length is not None and request.content_length > limit:
        raise RequestTooLarge(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    result = await svc.invoker.invoke(InvokeRequest(
        function=request.match_info["FunctionName"], payload=await read_body(request), invocation_type="Event",
        request_id=request[REQUEST_ID], refuse_pending=True,
    ))  # fmt: skip
    return web.json_response({"Status": 202}, status=202, headers={"x-amzn-RequestId": result.request_id})
