"""The operations of Lamina's services as IAM actions and resources, and AccessDenied's wording."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Mapping

import pytest
from aiohttp import web

from lamina.api import aliases, concurrency, event_config, functions, http_apis, invoke, iot, lamina, layers
from lamina.api import mappings, object_events, policy, rest_apis, rest_authorizers, scheduler, tagging, tags
from lamina.api import urls, versions
from lamina.control.policy import build_statement, policy_document
from lamina.iam import denial
from lamina.iam.actions import json as json_actions
from lamina.iam.actions import cloudwatch, lambda_api, rest, s3
from lamina.iam.actions import query as query_actions
from lamina.iam.actions.operation import FunctionRef, Wire, resource_account
from lamina.iam.evaluate import Decision
from lamina.iam.policy import PolicyKind, parse
from lamina.iam.triggers import decision
from lamina.invoke.service import InvokeSource
from lamina.model import FunctionPolicy

R, A = "us-east-1", "111111111111"
FN = f"arn:aws:lambda:{R}:{A}:function:orders"

CSC = f"arn:aws:lambda:{R}:{A}:code-signing-config:csc-0123456789abcdefg"
LAMBDA = [
    ("POST", "/2015-03-31/functions/orders/invocations", {}, "lambda:InvokeFunction", FN),
    ("POST", "/2015-03-31/functions/orders/invocations", {"Qualifier": "live"}, "lambda:InvokeFunction", FN + ":live"),
    ("POST", "/2015-03-31/functions/orders:7/invocations", {}, "lambda:InvokeFunction", FN + ":7"),
    ("POST", f"/2015-03-31/functions/{FN.replace(':', '%3A')}/invocations", {}, "lambda:InvokeFunction", FN),
    ("POST", f"/2015-03-31/functions/{A}:function:orders/invocations", {}, "lambda:InvokeFunction", FN),
    ("POST", "/2015-03-31/functions/arn:aws:lambda:eu-west-1:222222222222:function:x/invocations", {},
     "lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:222222222222:function:x"),
    ("POST", "/2014-11-13/functions/orders/invoke-async/", {}, "lambda:InvokeFunction", FN),
    ("GET", "/2015-03-31/functions/", {}, "lambda:ListFunctions", "*"),
    ("GET", "/2015-03-31/functions/orders", {}, "lambda:GetFunction", FN),
    ("GET", "/2015-03-31/functions/orders/configuration", {}, "lambda:GetFunctionConfiguration", FN),
    ("PUT", "/2015-03-31/functions/orders/code", {}, "lambda:UpdateFunctionCode", FN),
    ("PUT", "/2015-03-31/functions/orders/configuration", {}, "lambda:UpdateFunctionConfiguration", FN),
    ("DELETE", "/2015-03-31/functions/orders", {}, "lambda:DeleteFunction", FN),
    ("GET", "/2016-08-19/account-settings/", {}, "lambda:GetAccountSettings", "*"),
    ("POST", "/2015-03-31/functions/orders/policy", {}, "lambda:AddPermission", FN),
    ("DELETE", "/2015-03-31/functions/orders/policy/sid-1", {}, "lambda:RemovePermission", FN),
    ("GET", "/2015-03-31/functions/orders/policy", {}, "lambda:GetPolicy", FN),
    ("POST", "/2015-03-31/functions/orders/versions", {}, "lambda:PublishVersion", FN),
    ("GET", "/2015-03-31/functions/orders/versions", {}, "lambda:ListVersionsByFunction", FN),
    ("POST", "/2015-03-31/functions/orders/aliases", {}, "lambda:CreateAlias", FN),
    ("GET", "/2015-03-31/functions/orders/aliases/live", {}, "lambda:GetAlias", FN + ":live"),
    ("DELETE", "/2015-03-31/functions/orders/aliases/live", {}, "lambda:DeleteAlias", FN + ":live"),
    ("PUT", "/2019-09-25/functions/orders/event-invoke-config", {}, "lambda:PutFunctionEventInvokeConfig", FN),
    ("GET", "/2019-09-25/functions/orders/event-invoke-config/list", {}, "lambda:ListFunctionEventInvokeConfigs", FN),
    ("POST", "/2021-10-31/functions/orders/url", {}, "lambda:CreateFunctionUrlConfig", FN),
    ("GET", "/2021-10-31/functions/orders/urls", {}, "lambda:ListFunctionUrlConfigs", FN),
    ("PUT", "/2017-10-31/functions/orders/concurrency", {}, "lambda:PutFunctionConcurrency", FN),
    ("GET", "/2019-09-30/functions/orders/concurrency", {}, "lambda:GetFunctionConcurrency", FN),
    ("GET", "/2019-09-30/functions/orders/provisioned-concurrency", {"Qualifier": "1"},
     "lambda:GetProvisionedConcurrencyConfig", FN + ":1"),
    ("GET", "/2019-09-30/functions/orders/provisioned-concurrency", {}, "lambda:ListProvisionedConcurrencyConfigs", FN),
    ("POST", "/2018-10-31/layers/deps/versions", {}, "lambda:PublishLayerVersion", f"arn:aws:lambda:{R}:{A}:layer:deps"),
    ("GET", "/2018-10-31/layers/deps/versions/3", {}, "lambda:GetLayerVersion", f"arn:aws:lambda:{R}:{A}:layer:deps:3"),
    ("GET", "/2018-10-31/layers", {}, "lambda:ListLayers", "*"),
    ("GET", "/2018-10-31/layers", {"find": "LayerVersion", "Arn": f"arn:aws:lambda:{R}:222222222222:layer:deps:3"},
     "lambda:GetLayerVersion", f"arn:aws:lambda:{R}:222222222222:layer:deps:3"),  # GetLayerVersionByArn
    ("POST", "/2018-10-31/layers/deps/versions/3/policy", {}, "lambda:AddLayerVersionPermission",
     f"arn:aws:lambda:{R}:{A}:layer:deps:3"),
    ("GET", "/2018-10-31/layers/deps/versions/3/policy", {}, "lambda:GetLayerVersionPolicy",
     f"arn:aws:lambda:{R}:{A}:layer:deps:3"),
    ("DELETE", "/2018-10-31/layers/deps/versions/3/policy/sid", {}, "lambda:RemoveLayerVersionPermission",
     f"arn:aws:lambda:{R}:{A}:layer:deps:3"),
    ("POST", "/2020-04-22/code-signing-configs/", {}, "lambda:CreateCodeSigningConfig", "*"),
    ("GET", f"/2020-04-22/code-signing-configs/{CSC}", {}, "lambda:GetCodeSigningConfig", CSC),
    ("GET", f"/2020-04-22/code-signing-configs/{CSC}/functions", {}, "lambda:ListFunctionsByCodeSigningConfig", CSC),
    ("PUT", "/2020-06-30/functions/orders/code-signing-config", {}, "lambda:PutFunctionCodeSigningConfig", FN),
    ("PUT", "/2024-08-31/functions/orders/recursion-config", {}, "lambda:PutFunctionRecursionConfig", FN),
    ("GET", "/2021-07-20/functions/orders/runtime-management-config", {"Qualifier": "1"},
     "lambda:GetRuntimeManagementConfig", FN + ":1"),
    ("POST", "/2015-03-31/event-source-mappings/", {}, "lambda:CreateEventSourceMapping", "*"),
    ("GET", "/2015-03-31/event-source-mappings/abc", {}, "lambda:GetEventSourceMapping",
     f"arn:aws:lambda:{R}:{A}:event-source-mapping:abc"),
    ("POST", f"/2017-03-31/tags/{FN}", {}, "lambda:TagResource", FN),
    ("GET", f"/2017-03-31/tags/{FN}", {}, "lambda:ListTags", FN),
]


@pytest.mark.parametrize(("method", "path", "query", "action", "resource"), LAMBDA,
                         ids=[f"{c[0]} {c[1]} {c[2]}" for c in LAMBDA])  # fmt: skip
def test_lambda_operations(method: str, path: str, query: Mapping[str, str], action: str, resource: str) -> None:
    op = lambda_api.operation(method, path, query, R, A)
    assert op is not None
    assert (op.action, op.resources, op.wire) == (action, (resource,), Wire.REST_JSON)


def test_lambda_operations_carry_the_function_and_its_condition_keys() -> None:
    op = lambda_api.operation("POST", "/2015-03-31/functions/orders:live/invocations", {}, R, A)
    assert op is not None and op.function == FunctionRef("orders", "live")
    assert op.context == {"lambda:FunctionArn": FN + ":live"}
    created = lambda_api.operation("POST", "/2015-03-31/functions", {}, R, A, lambda: "orders")
    assert created is not None and created.resources == (FN,) and created.function is None
    assert lambda_api.operation("GET", "/2015-03-31/nothing", {}, R, A) is None
    assert lambda_api.operation("PATCH", "/2015-03-31/functions/orders", {}, R, A) is None


JSON = [
    ("AWSEvents.PutEvents", {"Entries": [{"Source": "a"}]}, "events:PutEvents", (f"arn:aws:events:{R}:{A}:event-bus/default",)),
    ("AWSEvents.PutEvents", {"Entries": [{"EventBusName": "orders"}, {"EventBusName": f"arn:aws:events:{R}:{A}:event-bus/b"}]},
     "events:PutEvents", (f"arn:aws:events:{R}:{A}:event-bus/b", f"arn:aws:events:{R}:{A}:event-bus/orders")),
    ("AWSEvents.PutRule", {"Name": "nightly"}, "events:PutRule", (f"arn:aws:events:{R}:{A}:rule/nightly",)),
    ("AWSEvents.PutTargets", {"Rule": "r", "EventBusName": "orders"}, "events:PutTargets",
     (f"arn:aws:events:{R}:{A}:rule/orders/r",)),
    ("AWSEvents.CreateEventBus", {"Name": "orders"}, "events:CreateEventBus", (f"arn:aws:events:{R}:{A}:event-bus/orders",)),
    ("AWSEvents.ListRules", {}, "events:ListRules", ("*",)),
    ("AmazonSQS.SendMessage", {"QueueUrl": f"http://localhost:9000/{A}/jobs"}, "sqs:SendMessage",
     (f"arn:aws:sqs:{R}:{A}:jobs",)),
    ("AmazonSQS.SendMessageBatch", {"QueueUrl": f"http://localhost:9000/{A}/jobs"}, "sqs:SendMessage",
     (f"arn:aws:sqs:{R}:{A}:jobs",)),
    ("AmazonSQS.DeleteMessageBatch", {"QueueUrl": f"http://localhost:9000/{A}/jobs"}, "sqs:DeleteMessage",
     (f"arn:aws:sqs:{R}:{A}:jobs",)),
    ("AmazonSQS.CreateQueue", {"QueueName": "jobs"}, "sqs:CreateQueue", (f"arn:aws:sqs:{R}:{A}:jobs",)),
    ("AmazonSQS.ListQueues", {}, "sqs:ListQueues", ("*",)),
    ("Logs_20140328.PutSubscriptionFilter", {"logGroupName": "/aws/lambda/orders", "filterName": "f"},
     "logs:PutSubscriptionFilter", (f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/orders:*",)),
    ("Logs_20140328.DescribeSubscriptionFilters", {"logGroupName": "/aws/lambda/orders"},
     "logs:DescribeSubscriptionFilters", (f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/orders:*",)),
    ("Logs_20140328.DeleteSubscriptionFilter", {"logGroupName": "/aws/lambda/orders", "filterName": "f"},
     "logs:DeleteSubscriptionFilter", (f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/orders:*",)),
    ("Logs_20140328.StartLiveTail", {"logGroupIdentifiers": ["/aws/lambda/a", f"arn:aws:logs:{R}:{A}:log-group:/b"]},
     "logs:StartLiveTail", (f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/a:*", f"arn:aws:logs:{R}:{A}:log-group:/b:*")),
    ("GraniteServiceVersion20100801.GetMetricData", {"MetricDataQueries": []}, "cloudwatch:GetMetricData", ("*",)),
]


@pytest.mark.parametrize(("target", "members", "action", "resources"), JSON, ids=[c[0] + str(i) for i, c in enumerate(JSON)])
def test_json_operations(target: str, members: Mapping[str, object], action: str, resources: tuple[str, ...]) -> None:
    op = json_actions.operation(target, members, R, A)
    assert op is not None and (op.action, op.resources, op.wire) == (action, resources, Wire.JSON)


def test_query_operations() -> None:
    role = query_actions.operation("iam", {"Action": "CreateRole", "RoleName": "r"}, A, None)
    assert role is not None and (role.action, role.resources) == ("iam:CreateRole", (f"arn:aws:iam::{A}:role/r",))
    key = query_actions.operation("iam", {"Action": "CreateAccessKey"}, A, "alice")
    assert key is not None and key.resources == (f"arn:aws:iam::{A}:user/alice",)
    listed = query_actions.operation("iam", {"Action": "ListRoles"}, A, None)
    assert listed is not None and listed.resources == ("*",) and listed.wire is Wire.QUERY
    created = query_actions.operation("iam", {"Action": "CreatePolicy", "PolicyName": "p", "Path": "/t/"}, A, None)
    assert created is not None and created.resources == (f"arn:aws:iam::{A}:policy/t/p",)
    policy = query_actions.operation("iam", {"Action": "GetPolicy", "PolicyArn": "arn:aws:iam::aws:policy/X"}, A, None)
    assert policy is not None and policy.resources == ("arn:aws:iam::aws:policy/X",)
    # STS decides AssumeRole itself; GetCallerIdentity needs no permission.
    assert query_actions.operation("sts", {"Action": "AssumeRole"}, A, None) is None
    assert query_actions.operation("sts", {"Action": "GetCallerIdentity"}, A, None) is None
    metrics = query_actions.operation("monitoring", {"Action": "ListMetrics"}, A, None)
    assert metrics is not None and (metrics.action, metrics.resources, metrics.wire) == (
        "cloudwatch:ListMetrics", ("*",), Wire.QUERY)


def test_cloudwatchs_cbor_operations_by_path() -> None:
    op = cloudwatch.from_path("/service/GraniteServiceVersion20100801/operation/GetMetricStatistics")
    assert op is not None and (op.action, op.resources, op.wire) == ("cloudwatch:GetMetricStatistics", ("*",), Wire.CBOR)
    assert cloudwatch.from_path("/service/Other/operation/GetMetricStatistics") is None
    assert cloudwatch.from_path("/service/GraniteServiceVersion20100801/operation/Get*") is None


S3 = [
    ("GetObject", "b", "k/x.txt", "s3:GetObject", "arn:aws:s3:::b/k/x.txt"),
    ("HeadObject", "b", "k", "s3:GetObject", "arn:aws:s3:::b/k"),
    ("PutObject", "b", "k", "s3:PutObject", "arn:aws:s3:::b/k"),
    ("UploadPart", "b", "k", "s3:PutObject", "arn:aws:s3:::b/k"),
    ("ListObjectsV2", "b", None, "s3:ListBucket", "arn:aws:s3:::b"),
    ("CreateBucket", "b", None, "s3:CreateBucket", "arn:aws:s3:::b"),
    ("DeleteObjects", "b", None, "s3:DeleteObject", "arn:aws:s3:::b/*"),
    ("PutBucketNotificationConfiguration", "b", None, "s3:PutBucketNotification", "arn:aws:s3:::b"),
    ("ListBuckets", None, None, "s3:ListAllMyBuckets", "*"),
]


@pytest.mark.parametrize(("name", "bucket", "key", "action", "resource"), S3, ids=[c[0] for c in S3])
def test_s3_operations(name: str, bucket: str | None, key: str | None, action: str, resource: str) -> None:
    op = s3.operation(name, bucket, key)
    assert (op.action, op.resources, op.wire) == (action, (resource,), Wire.S3)


def test_s3_operations_name_the_bucket_whose_policy_applies_and_their_condition_keys() -> None:
    query = {"prefix": "home/", "delimiter": "/", "max-keys": "10", "other": "x"}
    listing = s3.operation("ListObjectsV2", "b", None, "111111111111", query, {"aws:SecureTransport": "false"})
    assert listing.bucket is not None and (listing.bucket.name, listing.bucket.account) == ("b", "111111111111")
    assert dict(listing.context) == {"aws:SecureTransport": "false", "s3:prefix": "home/", "s3:delimiter": "/",
                                     "s3:max-keys": "10"}  # fmt: skip
    assert listing.account_of("arn:aws:s3:::b", "222222222222") == "111111111111"
    assert "s3:prefix" not in s3.operation("GetObject", "b", "k", "111111111111", query).context
    assert s3.operation("CreateBucket", "b", None, "111111111111").bucket is None  # the caller's, whoever has it
    assert s3.operation("GetObject", "b", "k").account_of("arn:aws:s3:::b/k", "222222222222") == "222222222222"


REST = [
    ("POST", "/schedules/nightly", {}, {}, "scheduler:CreateSchedule", f"arn:aws:scheduler:{R}:{A}:schedule/default/nightly"),
    ("GET", "/schedules/nightly", {"groupName": "ops"}, {}, "scheduler:GetSchedule",
     f"arn:aws:scheduler:{R}:{A}:schedule/ops/nightly"),
    ("PUT", "/schedules/nightly", {}, {"GroupName": "ops"}, "scheduler:UpdateSchedule",
     f"arn:aws:scheduler:{R}:{A}:schedule/ops/nightly"),
    ("GET", "/schedules", {}, {}, "scheduler:ListSchedules", "*"),
    ("DELETE", "/schedule-groups/ops", {}, {}, "scheduler:DeleteScheduleGroup", f"arn:aws:scheduler:{R}:{A}:schedule-group/ops"),
    ("POST", "/rules/r1", {}, {}, "iot:CreateTopicRule", f"arn:aws:iot:{R}:{A}:rule/r1"),
    ("POST", "/rules/r1/enable", {}, {}, "iot:EnableTopicRule", f"arn:aws:iot:{R}:{A}:rule/r1"),
    ("GET", "/rules", {}, {}, "iot:ListTopicRules", "*"),
    ("PATCH", "/v2/apis/abc/routes/r", {}, {}, "apigateway:PATCH", f"arn:aws:apigateway:{R}::/v2/apis/abc/routes/r"),
    ("GET", "/restapis/abc/stages", {}, {}, "apigateway:GET", f"arn:aws:apigateway:{R}::/restapis/abc/stages"),
    ("POST", f"/tags/arn:aws:scheduler:{R}:{A}:schedule-group/ops", {}, {}, "scheduler:TagResource",
     f"arn:aws:scheduler:{R}:{A}:schedule-group/ops"),
    ("GET", "/lamina/v1/functions/orders/logs", {}, {}, "lamina:GetLogs", "*"),
    ("DELETE", "/lamina/v1/outbox/7", {}, {}, "lamina:DeleteOutboxMessage", "*"),
]


@pytest.mark.parametrize(("method", "path", "query", "members", "action", "resource"), REST,
                         ids=[f"{c[0]} {c[1]}" for c in REST])  # fmt: skip
def test_rest_operations(method: str, path: str, query: Mapping[str, str], members: Mapping[str, object],
                         action: str, resource: str) -> None:  # fmt: skip
    op = rest.operation(method, path, query, members, R, A)
    assert op is not None and (op.action, op.resources) == (action, (resource,))


def test_what_asks_nothing_of_iam() -> None:
    assert rest.operation("GET", "/lamina/v1/health", {}, {}, R, A) is None
    assert rest.operation("GET", "/somewhere", {}, {}, R, A) is None
    assert json_actions.operation("Other.Thing", {}, R, A) is None


def test_resource_accounts() -> None:
    assert resource_account(FN, "x") == A
    assert resource_account("arn:aws:s3:::b/k", "x") == "x"
    assert resource_account("*", "x") == "x"


def test_access_denied_messages() -> None:
    user = f"arn:aws:iam::{A}:user/alice"
    assert denial.message(user, "lambda:GetFunction", FN, Decision.IMPLICIT_DENY, True) == (
        f"User: {user} is not authorized to perform: lambda:GetFunction on resource: {FN} because no "
        "identity-based policy allows the lambda:GetFunction action")
    assert denial.message(user, "lambda:GetFunction", FN, Decision.IDENTITY_DENY, True).endswith(
        "with an explicit deny in an identity-based policy")
    assert denial.message(user, "lambda:GetFunction", FN, Decision.RESOURCE_DENY, True).endswith(
        "with an explicit deny in a resource-based policy")
    assert denial.message(user, "lambda:InvokeFunction", FN, Decision.IMPLICIT_DENY, False).endswith(
        "because no resource-based policy allows the lambda:InvokeFunction action")


def test_trigger_permissions_decision() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    rule = f"arn:aws:events:{R}:{A}:rule/nightly"
    statement = build_statement({"StatementId": "events", "Action": "lambda:InvokeFunction",
                                 "Principal": "events.amazonaws.com", "SourceArn": rule, "SourceAccount": A}, FN)  # fmt: skip
    policy = parse(policy_document(FunctionPolicy("orders", "$LATEST", (statement,), "r1")), PolicyKind.RESOURCE)
    events = InvokeSource("events.amazonaws.com", rule, A)
    assert decision(events, FN, A, policy, now)
    assert not decision(InvokeSource("events.amazonaws.com", rule + "-other", A), FN, A, policy, now)
    assert not decision(InvokeSource("events.amazonaws.com", rule, "999999999999"), FN, A, policy, now)
    assert not decision(InvokeSource("s3.amazonaws.com", rule, A), FN, A, policy, now)
    assert not decision(events, FN, A, None, now)  # no policy: no permission


def test_function_url_operations() -> None:
    op = lambda_api.function_url_operation("orders", "live", "AWS_IAM", R, A)
    assert (op.action, op.resources) == ("lambda:InvokeFunctionUrl", (FN + ":live",))
    assert op.context["lambda:FunctionUrlAuthType"] == "AWS_IAM" and op.function == FunctionRef("orders", "live")


def test_invoke_operations_as_the_front_door_asks() -> None:
    op = lambda_api.invoke_operation("orders:live", None, R, A)
    assert (op.action, op.resources, op.function) == ("lambda:InvokeFunction", (FN + ":live",), FunctionRef("orders", "live"))
    other = lambda_api.invoke_operation("arn:aws:lambda:eu-west-1:222222222222:function:x", "3", R, A)
    assert other.resources == ("arn:aws:lambda:eu-west-1:222222222222:function:x:3",)


def test_aws_managed_policies_are_every_accounts() -> None:
    assert resource_account("arn:aws:iam::aws:policy/AdministratorAccess", A) == A


def _sample(path: str) -> str:
    """A route's path with each ``{variable}`` (or ``{variable:regex}``) given a plain value."""
    return re.sub(r"\{[^}:]+(?::[^}]+)?\}", lambda m: FN if m.group(0).startswith("{Resource") else "x1", path)


def test_every_route_the_api_serves_is_an_operation_iam_decides() -> None:
    """A route missing from the tables would be served to any verified caller, whatever its policies."""
    # No signature: the health check; the object-events intake has its own token.
    exempt = {("GET", "/lamina/v1/health"), ("POST", "/lamina/v1/object-events/x1"),
              ("HEAD", "/lamina/v1/object-events/x1")}  # fmt: skip
    modules = (aliases, concurrency, event_config, functions, http_apis, invoke, iot, lamina, layers, mappings,
               object_events, policy, rest_apis, rest_authorizers, scheduler, tagging, tags, urls, versions)  # fmt: skip
    missing = []
    for module in modules:
        for route in module.routes:
            assert isinstance(route, web.RouteDef)
            path, method = _sample(route.path), "GET" if route.method == "*" else route.method
            if (method, path) in exempt:
                continue
            found = lambda_api.operation(method, path, {}, R, A) or rest.operation(method, path, {}, {}, R, A)
            if found is None:
                missing.append(f"{route.method} {route.path}")
    assert missing == [], "\n".join(missing)


def test_cloudformation_operations_act_on_their_stack() -> None:
    op = query_actions.operation("cloudformation", {"Action": "CreateStack", "StackName": "app"}, "123456789012", None,
                                 "eu-west-1")  # fmt: skip
    assert op is not None and op.action == "cloudformation:CreateStack"
    assert op.resources == ("arn:aws:cloudformation:eu-west-1:123456789012:stack/app/*",)
    stack_id = "arn:aws:cloudformation:eu-west-1:123456789012:stack/app/4f0c"
    op = query_actions.operation("cloudformation", {"Action": "DescribeStacks", "StackName": stack_id}, "1", None)
    assert op is not None and op.resources == (stack_id,)
    for action in ("ListStacks", "ValidateTemplate", "ListExports"):
        op = query_actions.operation("cloudformation", {"Action": action}, "1", None)
        assert op is not None and op.resources == ("*",)
    assert query_actions.operation("cloudformation", {}, "1", None) is None
