"""AWS::IAM::Role, AWS::SQS::Queue, AWS::S3::Bucket, AWS::Events::Rule and AWS::Logs::LogGroup,
through the services' own control planes (IAM's is the host's, in the stack's account; the rest
are the stack's cell's). AWS::Logs::LogGroup is accepted and kept: Lamina's log groups are its
functions' (``/aws/lambda/<name>``), there is nothing else to make."""

from __future__ import annotations

import time
from typing import Any

from lamina.api import events as events_api
from lamina.errors import ApiError
from lamina.iam.service import IamService
from lamina.objects import bucket_policy
from lamina.objects.model import Bucket as StoredBucket
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, document, integer, tag_list, text
from lamina.stacks.resources.notifications import notification_xml

_GONE = {"ResourceNotFoundException", "NoSuchEntity", "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue",
         "NoSuchBucket"}  # fmt: skip


def _unless_gone(exc: ApiError) -> None:
    """A delete of what is gone already succeeds."""
    if exc.code not in _GONE:
        raise exc


def _iam(ctx: Context) -> IamService:
    if ctx.svc.iam is None:
        raise ResourceFailed("IAM is not served by this Lamina.")
    return ctx.svc.iam


def _role_arn(ctx: Context, name: str, props: Properties) -> str:
    return f"arn:aws:iam::{ctx.account_id}:role{text(props, 'Path') or '/'}{name}"


def _policies(props: Properties) -> dict[str, str]:
    found: dict[str, str] = {}
    for policy in props.get("Policies") or []:
        if not isinstance(policy, dict) or "PolicyName" not in policy or "PolicyDocument" not in policy:
            raise ResourceFailed("Property validation failure: [Each of {/Policies} must have PolicyName and "
                                 "PolicyDocument]")  # fmt: skip
        found[str(policy["PolicyName"])] = document(policy["PolicyDocument"])
    return found


class Role(Provider):
    type_name = "AWS::IAM::Role"
    replaced_by = frozenset({"RoleName", "Path"})
    needs_iam_capability = True

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        iam, account = _iam(ctx), ctx.account_id
        name = text(props, "RoleName") or ctx.physical_name(logical_id, 64)
        trust = props.get("AssumeRolePolicyDocument")
        if trust is None:
            raise ResourceFailed("Property validation failure: [The property {/AssumeRolePolicyDocument} is required]")
        ctx.authorize("iam:CreateRole", _role_arn(ctx, name, props))
        role = await iam.create_role(account, name, document(trust), path=text(props, "Path"),
                                     description=text(props, "Description"),
                                     max_session_seconds=integer(props, "MaxSessionDuration") or 3600,
                                     tags=tuple(tag_list(props).items()))  # fmt: skip
        try:
            await self._policies(ctx, name, {}, props)
        except BaseException:
            await self.delete(ctx, Outcome(name, name), props)
            raise
        return Outcome(name, name, {"Arn": role.arn, "RoleId": role.role_id})

    async def _policies(self, ctx: Context, name: str, old: Properties, new: Properties) -> None:
        iam, account = _iam(ctx), ctx.account_id
        arn = _role_arn(ctx, name, new)
        before, after = _policies(old), _policies(new)
        for policy_name, text_ in after.items():
            if before.get(policy_name) != text_:
                ctx.authorize("iam:PutRolePolicy", arn)
                await iam.put_role_policy(account, name, policy_name, text_)
        for policy_name in before.keys() - after.keys():
            ctx.authorize("iam:DeleteRolePolicy", arn)
            await iam.delete_role_policy(account, name, policy_name)
        arns_before, arns_after = set(old.get("ManagedPolicyArns") or []), list(new.get("ManagedPolicyArns") or [])
        for policy in arns_after:
            if policy not in arns_before:
                ctx.authorize("iam:AttachRolePolicy", arn)
                await iam.attach_role_policy(account, name, str(policy))
        for policy in arns_before - set(arns_after):
            ctx.authorize("iam:DetachRolePolicy", arn)
            await iam.detach_role_policy(account, name, str(policy))

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        iam, account, name = _iam(ctx), ctx.account_id, current.physical_id
        if old.get("AssumeRolePolicyDocument") != new.get("AssumeRolePolicyDocument"):
            ctx.authorize("iam:UpdateAssumeRolePolicy", _role_arn(ctx, name, new))
            await iam.update_trust(account, name, document(new.get("AssumeRolePolicyDocument")))
        if old.get("Description") != new.get("Description") or old.get("MaxSessionDuration") != new.get(
                "MaxSessionDuration"):
            ctx.authorize("iam:UpdateRole", _role_arn(ctx, name, new))
            await iam.update_role(account, name, text(new, "Description", ""), integer(new, "MaxSessionDuration"))
        await self._policies(ctx, name, old, new)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        iam, account, name = _iam(ctx), ctx.account_id, current.physical_id
        ctx.authorize("iam:DeleteRole", _role_arn(ctx, name, props))
        try:
            role = iam.role(account, name)
            for arn in role.attached:
                await iam.detach_role_policy(account, name, arn)
            for policy_name in list(role.inline):
                await iam.delete_role_policy(account, name, policy_name)
            await iam.delete_role(account, name)
        except ApiError as exc:
            _unless_gone(exc)


_QUEUE_ATTRIBUTES = ("DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
                     "VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "ContentBasedDeduplication",
                     "DeduplicationScope", "FifoThroughputLimit", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
                     "SqsManagedSseEnabled", "FifoQueue")  # fmt: skip


def _queue_attributes(props: Properties) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in _QUEUE_ATTRIBUTES:
        if name in props:
            value = props[name]
            out[name] = document(value) if isinstance(value, (dict, list)) else str(text(props, name))
    return out


class Queue(Provider):
    type_name = "AWS::SQS::Queue"
    replaced_by = frozenset({"QueueName", "FifoQueue"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        queues = ctx.svc.queues
        fifo = str(text(props, "FifoQueue", "false")).lower() == "true"
        name = text(props, "QueueName") or ctx.physical_name(logical_id, 80, suffix=".fifo" if fifo else "")
        ctx.authorize("sqs:CreateQueue", queues.arn_of(name))
        if name in queues.names():
            raise ResourceFailed(f"Resource handler returned message: \"Queue {name} already exists\"")
        queue = await queues.create_queue(name, _queue_attributes(props), tag_list(props))
        url = queues.url_of(queue.name)
        return Outcome(url, url, {"Arn": queues.arn_of(queue.name), "QueueName": queue.name, "QueueUrl": url})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        queues = ctx.svc.queues
        queue = queues.by_url(current.physical_id)
        ctx.authorize("sqs:SetQueueAttributes", queues.arn_of(queue.name))
        defaults = {"DelaySeconds": "0", "MaximumMessageSize": "262144", "MessageRetentionPeriod": "345600",
                    "ReceiveMessageWaitTimeSeconds": "0", "VisibilityTimeout": "30", "RedrivePolicy": ""}  # fmt: skip
        attributes = {k: v for k, v in _queue_attributes(new).items() if k != "FifoQueue"}
        for name in _queue_attributes(old):
            if name not in attributes and name in defaults:
                attributes[name] = defaults[name]
        await queues.set_attributes(queue, attributes)
        before, after = tag_list(old), tag_list(new)
        if before != after:
            await queues.set_tags(queue, after, [k for k in before if k not in after])
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("sqs:DeleteQueue", str(current.attributes.get("Arn", "*")))
        try:
            await ctx.svc.queues.delete_queue(ctx.svc.queues.by_url(current.physical_id))
        except ApiError as exc:
            _unless_gone(exc)


class Bucket(Provider):
    type_name = "AWS::S3::Bucket"
    replaced_by = frozenset({"BucketName"})

    def _outcome(self, ctx: Context, name: str) -> Outcome:
        return Outcome(name, name, {
            "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{ctx.region}.amazonaws.com",
            "DualStackDomainName": f"{name}.s3.dualstack.{ctx.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{ctx.region}.amazonaws.com",
        })  # fmt: skip

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        objects = ctx.svc.objects
        if objects is None:
            raise ResourceFailed("Lamina's object store is not served here.")
        name = text(props, "BucketName") or ctx.physical_name(logical_id, 63, lower=True)
        ctx.authorize("s3:CreateBucket", f"arn:aws:s3:::{name}")
        tags = tag_list(props)
        await objects.create_bucket(StoredBucket(name, ctx.region, ctx.account_id, int(time.time() * 1000),
                                                 tags=tags or None))  # fmt: skip
        try:
            await self._notifications(ctx, name, {}, props)
        except BaseException:  # the resource failed: the bucket goes, as the stack cannot name it
            await objects.delete_bucket(name)
            raise
        return self._outcome(ctx, name)

    @staticmethod
    async def _notifications(ctx: Context, name: str, old: Properties, new: Properties) -> None:
        """NotificationConfiguration, through PutBucketNotificationConfiguration (S3's checks: the
        functions' permissions, the queues' policies, must be there first)."""
        if old.get("NotificationConfiguration") == new.get("NotificationConfiguration"):
            return
        if ctx.svc.notifications is None:
            raise ResourceFailed("Bucket notifications are not served by this Lamina.")
        ctx.authorize("s3:PutBucketNotification", f"arn:aws:s3:::{name}")
        body = notification_xml(new.get("NotificationConfiguration") or {})
        await ctx.svc.notifications.put(name, body)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        assert ctx.svc.objects is not None
        if old.get("Tags") != new.get("Tags"):
            ctx.authorize("s3:PutBucketTagging", f"arn:aws:s3:::{current.physical_id}")
            await ctx.svc.objects.put_bucket_tags(current.physical_id, tag_list(new) or None)
        await self._notifications(ctx, current.physical_id, old, new)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        # A bucket with objects fails to delete (BucketNotEmpty), as on CloudFormation.
        if ctx.svc.objects is None:
            return
        ctx.authorize("s3:DeleteBucket", f"arn:aws:s3:::{current.physical_id}")
        try:
            await ctx.svc.objects.delete_bucket(current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


class BucketPolicy(Provider):
    """Through the object store's PutBucketPolicy and DeleteBucketPolicy, with S3's checks of the
    document (objects/bucket_policy.py); the bucket must be the stack's account's own."""

    type_name = "AWS::S3::BucketPolicy"
    replaced_by = frozenset({"Bucket"})

    async def _put(self, ctx: Context, props: Properties) -> Outcome:
        objects = ctx.svc.objects
        if objects is None:
            raise ResourceFailed("Lamina's object store is not served here.")
        name = str(text(props, "Bucket"))
        ctx.authorize("s3:PutBucketPolicy", f"arn:aws:s3:::{name}")
        if objects.bucket(name).owner != ctx.account_id:
            raise ResourceFailed(f"Resource handler returned message: \"Access Denied\" (Service: S3, Bucket: {name})")
        if "PolicyDocument" not in props:
            raise ResourceFailed("Property validation failure: [The property {/PolicyDocument} is required]")
        await objects.put_bucket_policy(name, bucket_policy.check(document(props["PolicyDocument"]), name))
        return Outcome(name, name)

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        return await self._put(ctx, props)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        return await self._put(ctx, new)

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        if ctx.svc.objects is None:
            return
        ctx.authorize("s3:DeleteBucketPolicy", f"arn:aws:s3:::{current.physical_id}")
        try:
            await ctx.svc.objects.put_bucket_policy(current.physical_id, None)
        except ApiError as exc:
            _unless_gone(exc)


def _rule_body(name: str, props: Properties) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": name}
    for key in ("EventBusName", "ScheduleExpression", "State", "Description", "RoleArn"):
        if key in props:
            body[key] = text(props, key)
    if "EventPattern" in props:
        body["EventPattern"] = document(props["EventPattern"])
    return body


def _rule_arn(ctx: Context, name: str, props: Properties) -> str:
    bus = text(props, "EventBusName")
    path = f"{bus.rsplit('/', 1)[-1]}/{name}" if bus and bus != "default" else name
    return f"arn:aws:events:{ctx.region}:{ctx.account_id}:rule/{path}"


class Rule(Provider):
    type_name = "AWS::Events::Rule"
    replaced_by = frozenset({"Name", "EventBusName"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = text(props, "Name") or ctx.physical_name(logical_id, 64)
        ctx.authorize("events:PutRule", _rule_arn(ctx, name, props))
        answer = await events_api.put_rule(ctx.svc, _rule_body(name, props))
        try:
            await self._targets(ctx, name, {}, props)
        except BaseException:
            await self.delete(ctx, Outcome(name, name), props)
            raise
        arn = str(answer["RuleArn"])
        bus = text(props, "EventBusName")
        physical = f"{bus}|{name}" if bus and bus != "default" else name
        return Outcome(physical, physical, {"Arn": arn})

    async def _targets(self, ctx: Context, name: str, old: Properties, new: Properties) -> None:
        bus = text(new, "EventBusName")
        arn = _rule_arn(ctx, name, new)
        before = {str(t.get("Id")): t for t in old.get("Targets") or [] if isinstance(t, dict)}
        after = [t for t in new.get("Targets") or [] if isinstance(t, dict)]
        stale = [i for i in before if i not in {str(t.get("Id")) for t in after}]
        if stale:
            ctx.authorize("events:RemoveTargets", arn)
            await events_api.remove_targets(ctx.svc, {"Rule": name, "EventBusName": bus, "Ids": stale})
        changed = [t for t in after if before.get(str(t.get("Id"))) != t]
        if changed:
            ctx.authorize("events:PutTargets", arn)
            answer = await events_api.put_targets(ctx.svc, {"Rule": name, "EventBusName": bus, "Targets": changed})
            failed = answer.get("FailedEntries")
            if isinstance(failed, list) and failed:
                first = failed[0]
                raise ResourceFailed(f"Resource handler returned message: \"{first.get('ErrorMessage')}\"")

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        name = current.physical_id.rsplit("|", 1)[-1]
        ctx.authorize("events:PutRule", _rule_arn(ctx, name, new))
        await events_api.put_rule(ctx.svc, _rule_body(name, new))
        await self._targets(ctx, name, old, new)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        name = current.physical_id.rsplit("|", 1)[-1]
        bus = text(props, "EventBusName")
        ids = [str(t.get("Id")) for t in props.get("Targets") or [] if isinstance(t, dict)]
        ctx.authorize("events:DeleteRule", _rule_arn(ctx, name, props))
        try:
            if ids:
                await events_api.remove_targets(ctx.svc, {"Rule": name, "EventBusName": bus, "Ids": ids})
            await events_api.delete_rule(ctx.svc, {"Name": name, "EventBusName": bus})
        except ApiError as exc:
            _unless_gone(exc)


class LogGroup(Provider):
    type_name = "AWS::Logs::LogGroup"
    replaced_by = frozenset({"LogGroupName"})

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        name = text(props, "LogGroupName") or ctx.physical_name(logical_id, 512)
        ctx.authorize("logs:CreateLogGroup", f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}")
        return Outcome(name, name, {"Arn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}:*"})

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        return None
