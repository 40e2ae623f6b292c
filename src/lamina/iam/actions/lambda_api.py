"""The Lambda API's operations (rest-json: method and path) as IAM actions and resources (pure).

Functions are named in paths by name, by partial ARN (``<account>:function:<name>``) or by ARN,
each optionally with ``:<qualifier>``; the ``Qualifier`` query parameter qualifies too. A qualified
call acts on the qualified ARN (``...:function:<name>:<qualifier>``), which a policy naming the
unqualified ARN does not match, as on AWS.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping
from urllib.parse import unquote

from lamina.iam.actions.operation import FunctionRef, LayerRef, Operation, Wire

_F = r"(?P<fn>[^/]+)"
# (method, path pattern, operation name, resource kind): "function", "function-q" (the path's alias or
# version), "layer", "layer-version", "mapping", "arn" (the path's ARN), "*".
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("POST", rf"/2015-03-31/functions/{_F}/invocations", "InvokeFunction", "function"),
    ("POST", rf"/2014-11-13/functions/{_F}/invoke-async/?", "InvokeFunction", "function"),
    ("POST", r"/2015-03-31/functions/?", "CreateFunction", "body-function"),
    ("GET", r"/2015-03-31/functions/?", "ListFunctions", "*"),
    ("GET", rf"/2015-03-31/functions/{_F}", "GetFunction", "function"),
    ("GET", rf"/2015-03-31/functions/{_F}/configuration", "GetFunctionConfiguration", "function"),
    ("PUT", rf"/2015-03-31/functions/{_F}/code", "UpdateFunctionCode", "function"),
    ("PUT", rf"/2015-03-31/functions/{_F}/configuration", "UpdateFunctionConfiguration", "function"),
    ("DELETE", rf"/2015-03-31/functions/{_F}", "DeleteFunction", "function"),
    ("GET", r"/2016-08-19/account-settings/?", "GetAccountSettings", "*"),
    ("POST", rf"/2015-03-31/functions/{_F}/policy", "AddPermission", "function"),
    ("DELETE", rf"/2015-03-31/functions/{_F}/policy/[^/]+", "RemovePermission", "function"),
    ("GET", rf"/2015-03-31/functions/{_F}/policy", "GetPolicy", "function"),
    ("POST", rf"/2015-03-31/functions/{_F}/versions", "PublishVersion", "function"),
    ("GET", rf"/2015-03-31/functions/{_F}/versions", "ListVersionsByFunction", "function"),
    ("POST", rf"/2015-03-31/functions/{_F}/aliases", "CreateAlias", "function"),
    ("GET", rf"/2015-03-31/functions/{_F}/aliases", "ListAliases", "function"),
    ("GET", rf"/2015-03-31/functions/{_F}/aliases/(?P<q>[^/]+)", "GetAlias", "function-q"),
    ("PUT", rf"/2015-03-31/functions/{_F}/aliases/(?P<q>[^/]+)", "UpdateAlias", "function-q"),
    ("DELETE", rf"/2015-03-31/functions/{_F}/aliases/(?P<q>[^/]+)", "DeleteAlias", "function-q"),
    ("PUT", rf"/2019-09-25/functions/{_F}/event-invoke-config", "PutFunctionEventInvokeConfig", "function"),
    ("POST", rf"/2019-09-25/functions/{_F}/event-invoke-config", "UpdateFunctionEventInvokeConfig", "function"),
    ("GET", rf"/2019-09-25/functions/{_F}/event-invoke-config", "GetFunctionEventInvokeConfig", "function"),
    ("DELETE", rf"/2019-09-25/functions/{_F}/event-invoke-config", "DeleteFunctionEventInvokeConfig", "function"),
    ("GET", rf"/2019-09-25/functions/{_F}/event-invoke-config/list", "ListFunctionEventInvokeConfigs", "function"),
    ("POST", rf"/2021-10-31/functions/{_F}/url", "CreateFunctionUrlConfig", "function"),
    ("GET", rf"/2021-10-31/functions/{_F}/url", "GetFunctionUrlConfig", "function"),
    ("PUT", rf"/2021-10-31/functions/{_F}/url", "UpdateFunctionUrlConfig", "function"),
    ("DELETE", rf"/2021-10-31/functions/{_F}/url", "DeleteFunctionUrlConfig", "function"),
    ("GET", rf"/2021-10-31/functions/{_F}/urls", "ListFunctionUrlConfigs", "function"),
    ("PUT", rf"/2017-10-31/functions/{_F}/concurrency", "PutFunctionConcurrency", "function"),
    ("DELETE", rf"/2017-10-31/functions/{_F}/concurrency", "DeleteFunctionConcurrency", "function"),
    ("GET", rf"/2019-09-30/functions/{_F}/concurrency", "GetFunctionConcurrency", "function"),
    ("PUT", rf"/2019-09-30/functions/{_F}/provisioned-concurrency", "PutProvisionedConcurrencyConfig", "function"),
    ("GET", rf"/2019-09-30/functions/{_F}/provisioned-concurrency", "GetProvisionedConcurrencyConfig", "function"),
    ("DELETE", rf"/2019-09-30/functions/{_F}/provisioned-concurrency", "DeleteProvisionedConcurrencyConfig",
     "function"),
    ("POST", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions", "PublishLayerVersion", "layer"),
    ("GET", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions", "ListLayerVersions", "*"),
    ("GET", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions/(?P<v>[^/]+)", "GetLayerVersion", "layer-version"),
    ("DELETE", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions/(?P<v>[^/]+)", "DeleteLayerVersion", "layer-version"),
    ("GET", r"/2018-10-31/layers/?", "ListLayers", "*"),
    ("POST", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions/(?P<v>[^/]+)/policy", "AddLayerVersionPermission",
     "layer-version"),
    ("GET", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions/(?P<v>[^/]+)/policy", "GetLayerVersionPolicy",
     "layer-version"),
    ("DELETE", r"/2018-10-31/layers/(?P<layer>[^/]+)/versions/(?P<v>[^/]+)/policy/[^/]+",
     "RemoveLayerVersionPermission", "layer-version"),
    ("POST", r"/2020-04-22/code-signing-configs/?", "CreateCodeSigningConfig", "*"),
    ("GET", r"/2020-04-22/code-signing-configs/?", "ListCodeSigningConfigs", "*"),
    ("GET", r"/2020-04-22/code-signing-configs/(?P<arn>[^/]+)", "GetCodeSigningConfig", "arn"),
    ("PUT", r"/2020-04-22/code-signing-configs/(?P<arn>[^/]+)", "UpdateCodeSigningConfig", "arn"),
    ("DELETE", r"/2020-04-22/code-signing-configs/(?P<arn>[^/]+)", "DeleteCodeSigningConfig", "arn"),
    ("GET", r"/2020-04-22/code-signing-configs/(?P<arn>[^/]+)/functions", "ListFunctionsByCodeSigningConfig", "arn"),
    ("PUT", rf"/2020-06-30/functions/{_F}/code-signing-config", "PutFunctionCodeSigningConfig", "function"),
    ("GET", rf"/2020-06-30/functions/{_F}/code-signing-config", "GetFunctionCodeSigningConfig", "function"),
    ("DELETE", rf"/2020-06-30/functions/{_F}/code-signing-config", "DeleteFunctionCodeSigningConfig", "function"),
    ("PUT", rf"/2024-08-31/functions/{_F}/recursion-config", "PutFunctionRecursionConfig", "function"),
    ("GET", rf"/2024-08-31/functions/{_F}/recursion-config", "GetFunctionRecursionConfig", "function"),
    ("PUT", rf"/2021-07-20/functions/{_F}/runtime-management-config", "PutRuntimeManagementConfig", "function"),
    ("GET", rf"/2021-07-20/functions/{_F}/runtime-management-config", "GetRuntimeManagementConfig", "function"),
    ("POST", r"/2015-03-31/event-source-mappings/?", "CreateEventSourceMapping", "*"),
    ("GET", r"/2015-03-31/event-source-mappings/?", "ListEventSourceMappings", "*"),
    ("GET", r"/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)", "GetEventSourceMapping", "mapping"),
    ("PUT", r"/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)", "UpdateEventSourceMapping", "mapping"),
    ("DELETE", r"/2015-03-31/event-source-mappings/(?P<uuid>[^/]+)", "DeleteEventSourceMapping", "mapping"),
    ("POST", r"/2017-03-31/tags/(?P<arn>.+)", "TagResource", "arn"),
    ("DELETE", r"/2017-03-31/tags/(?P<arn>.+)", "UntagResource", "arn"),
    ("GET", r"/2017-03-31/tags/(?P<arn>.+)", "ListTags", "arn"),
)
_COMPILED = tuple((method, re.compile(pattern), name, kind) for method, pattern, name, kind in _TABLE)
_FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[^:]+):(?P<account>\d{12}):function:(?P<rest>.+)$")
_PARTIAL = re.compile(r"^(?P<account>\d{12}):function:(?P<rest>.+)$")


def function_arn(named: str, region: str, account: str, qualifier: str | None = None) -> tuple[str, str, str | None]:
    """A function as a path names it -> (its ARN, its name, its qualifier); ``qualifier`` (the query's)
    applies when the name carries none."""
    named = unquote(named)
    found = _FUNCTION_ARN.match(named) or _PARTIAL.match(named)
    rest = named
    if found is not None:
        groups = found.groupdict()
        region, account, rest = groups.get("region") or region, groups["account"], groups["rest"]
    name, _, own = rest.partition(":")
    qualifier = own or qualifier
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return (f"{arn}:{qualifier}" if qualifier else arn), name, qualifier


def operation(method: str, path: str, query: Mapping[str, str], region: str, account: str,
              body_function: Callable[[], str | None] = lambda: None) -> Operation | None:  # fmt: skip
    """The Lambda API operation ``method path`` is, or None if it is none. ``body_function``:
    CreateFunction's FunctionName, read from the body only when asked."""
    for verb, pattern, name, kind in _COMPILED:
        if verb != method:
            continue
        found = pattern.fullmatch(path)
        if found is None:
            continue
        groups = found.groupdict()
        # ListProvisionedConcurrencyConfigs is GetProvisionedConcurrencyConfig's path without a Qualifier.
        if name == "GetProvisionedConcurrencyConfig" and "Qualifier" not in query:
            name = "ListProvisionedConcurrencyConfigs"
        # GetLayerVersionByArn is ListLayers' path with ?find=LayerVersion&Arn=: lambda:GetLayerVersion on that
        # ARN, which another account's layer version policy may allow.
        if name == "ListLayers" and query.get("find") == "LayerVersion" and query.get("Arn"):
            return Operation("lambda:GetLayerVersion", (query["Arn"],), Wire.REST_JSON, function=LayerRef(query["Arn"]))
        action = f"lambda:{name}"
        if kind == "*":
            return Operation(action, ("*",), Wire.REST_JSON)
        if kind == "body-function":
            fn = body_function() or ""
            arn, _, _ = function_arn(fn, region, account)
            return Operation(action, (arn,), Wire.REST_JSON, {"lambda:FunctionArn": arn})
        if kind in ("function", "function-q"):
            qualifier = groups.get("q") if kind == "function-q" else query.get("Qualifier")
            arn, fn_name, qualifier = function_arn(groups["fn"], region, account, qualifier)
            return Operation(action, (arn,), Wire.REST_JSON, {"lambda:FunctionArn": arn},
                             FunctionRef(fn_name, qualifier))  # fmt: skip
        if kind == "layer":
            return Operation(action, (f"arn:aws:lambda:{region}:{account}:layer:{groups['layer']}",), Wire.REST_JSON)
        if kind == "layer-version":
            arn = f"arn:aws:lambda:{region}:{account}:layer:{groups['layer']}:{groups['v']}"
            return Operation(action, (arn,), Wire.REST_JSON)
        if kind == "mapping":
            arn = f"arn:aws:lambda:{region}:{account}:event-source-mapping:{groups['uuid']}"
            return Operation(action, (arn,), Wire.REST_JSON)
        return Operation(action, (unquote(groups["arn"]),), Wire.REST_JSON)
    return None


def passing_role(op: Operation, role: str | None) -> Operation:
    """``op`` (CreateFunction, UpdateFunctionConfiguration) giving the function ``role``: it also needs
    ``iam:PassRole`` on the role, with ``iam:PassedToService`` lambda.amazonaws.com, as on AWS."""
    if not role:
        return op
    passes = Operation("iam:PassRole", (role,), op.wire, {"iam:PassedToService": "lambda.amazonaws.com"})
    return Operation(op.action, op.resources, op.wire, op.context, op.function, (*op.also, passes))


def function_url_operation(function: str, qualifier: str | None, auth_type: str, region: str,
                           account: str) -> Operation:  # fmt: skip
    """A request to a function URL: ``lambda:InvokeFunctionUrl`` on the function (qualified as the
    URL is), with ``lambda:FunctionUrlAuthType`` (AWS_IAM or NONE) among its condition keys."""
    arn, name, qualifier = function_arn(function, region, account, qualifier)
    return Operation("lambda:InvokeFunctionUrl", (arn,), Wire.REST_JSON,
                     {"lambda:FunctionArn": arn, "lambda:FunctionUrlAuthType": auth_type},
                     FunctionRef(name, qualifier))  # fmt: skip


def invoke_operation(function: str, qualifier: str | None, region: str, account: str) -> Operation:
    """Invoke, as a path names its function (name, partial ARN or ARN, with ``:qualifier``) and
    the ``Qualifier`` query parameter: what the front door asks for the Invokes it answers."""
    arn, name, qualifier = function_arn(function, region, account, qualifier)
    return Operation("lambda:InvokeFunction", (arn,), Wire.REST_JSON, {"lambda:FunctionArn": arn},
                     FunctionRef(name, qualifier))  # fmt: skip
