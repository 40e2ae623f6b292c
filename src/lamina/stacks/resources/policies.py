"""AWS::IAM::ManagedPolicy and AWS::IAM::Policy (what SAM's connectors and policies emit), through
IAM's control plane (iam/service.py) in the stack's account.

A managed policy's Ref is its ARN; Lamina keeps no policy versions, so a changed document makes a
new policy (attached where the old one was, which is then detached and deleted), as a changed name
or path does. An inline policy (AWS::IAM::Policy) is put on each of its roles and users under its
PolicyName; its Ref is a generated id, as CloudFormation's."""

from __future__ import annotations

from typing import Any

from lamina.errors import ApiError
from lamina.iam.service import IamService
from lamina.stacks.errors import ResourceFailed
from lamina.stacks.resources.base import Context, Outcome, Properties, Provider, document, required, text


def _iam(ctx: Context) -> IamService:
    if ctx.svc.iam is None:
        raise ResourceFailed("IAM is not served by this Lamina.")
    return ctx.svc.iam


def _names(props: Properties, key: str) -> list[str]:
    value = props.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ResourceFailed(f"Property validation failure: [Value of property {{/{key}}} does not match type "
                             f"{{Array}}]")  # fmt: skip
    # A role may be named by its ARN (…:role/path/name), as CloudFormation takes it.
    return [v.rsplit("/", 1)[-1] for v in value]


def _unless_gone(exc: ApiError) -> None:
    if exc.code != "NoSuchEntity":
        raise exc


class ManagedPolicy(Provider):
    type_name = "AWS::IAM::ManagedPolicy"
    replaced_by = frozenset({"ManagedPolicyName", "Path", "Description", "PolicyDocument"})
    needs_iam_capability = True

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        iam, account = _iam(ctx), ctx.account_id
        name = text(props, "ManagedPolicyName") or ctx.physical_name(logical_id, 128)
        path = text(props, "Path") or "/"
        arn = f"arn:aws:iam::{account}:policy{path}{name}"
        ctx.authorize("iam:CreatePolicy", arn)
        if "PolicyDocument" not in props:
            raise ResourceFailed("Property validation failure: [The property {/PolicyDocument} is required]")
        policy = await iam.create_policy(account, name, document(props["PolicyDocument"]), path,
                                         text(props, "Description"))  # fmt: skip
        try:
            await self._attach(ctx, policy.arn, {}, props)
        except BaseException:
            await self.delete(ctx, Outcome(policy.arn, policy.arn), props)
            raise
        return Outcome(policy.arn, policy.arn, {"PolicyArn": policy.arn, "PolicyId": policy.policy_id})

    @staticmethod
    async def _attach(ctx: Context, arn: str, old: Properties, new: Properties) -> None:
        iam, account = _iam(ctx), ctx.account_id
        for key, attach, detach in (("Roles", iam.attach_role_policy, iam.detach_role_policy),
                                    ("Users", iam.attach_user_policy, iam.detach_user_policy)):  # fmt: skip
            before, after = _names(old, key), _names(new, key)
            for name in after:
                if name not in before:
                    ctx.authorize(f"iam:Attach{key[:-1]}Policy", arn)
                    await attach(account, name, arn)
            for name in before:
                if name not in after:
                    ctx.authorize(f"iam:Detach{key[:-1]}Policy", arn)
                    try:
                        await detach(account, name, arn)
                    except ApiError as exc:
                        _unless_gone(exc)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        await self._attach(ctx, current.physical_id, old, new)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        ctx.authorize("iam:DeletePolicy", current.physical_id)
        await self._attach(ctx, current.physical_id, props, {})
        try:
            await _iam(ctx).delete_policy(ctx.account_id, current.physical_id)
        except ApiError as exc:
            _unless_gone(exc)


class Policy(Provider):
    type_name = "AWS::IAM::Policy"
    replaced_by = frozenset({"PolicyName"})
    needs_iam_capability = True

    @staticmethod
    async def _put(ctx: Context, old: Properties, new: Properties) -> None:
        iam, account = _iam(ctx), ctx.account_id
        name = required(new, "PolicyName") if new else required(old, "PolicyName")
        body = document(new["PolicyDocument"]) if "PolicyDocument" in new else None
        if new and body is None:
            raise ResourceFailed("Property validation failure: [The property {/PolicyDocument} is required]")
        if new and (_names(new, "Groups")):
            raise ResourceFailed("Lamina's IAM has no groups: name Roles or Users.")
        targets: list[tuple[str, Any, Any]] = [("Roles", iam.put_role_policy, iam.delete_role_policy),
                                                ("Users", iam.put_user_policy, iam.delete_user_policy)]  # fmt: skip
        for key, put, remove in targets:
            before, after = _names(old, key), _names(new, key)
            for entity in after:
                if entity not in before or old.get("PolicyDocument") != new.get("PolicyDocument"):
                    ctx.authorize(f"iam:Put{key[:-1]}Policy", f"arn:aws:iam::{account}:{key[:-1].lower()}/{entity}")
                    await put(account, entity, name, body)
            for entity in before:
                if entity not in after:
                    ctx.authorize(f"iam:Delete{key[:-1]}Policy", f"arn:aws:iam::{account}:{key[:-1].lower()}/{entity}")
                    try:
                        await remove(account, entity, name)
                    except ApiError as exc:
                        _unless_gone(exc)

    async def create(self, ctx: Context, logical_id: str, props: Properties) -> Outcome:
        physical = ctx.physical_name(logical_id, 64)
        try:
            await self._put(ctx, {}, props)
        except BaseException:
            await self._put(ctx, props, {})
            raise
        return Outcome(physical, physical)

    async def update(self, ctx: Context, logical_id: str, current: Outcome, old: Properties,
                     new: Properties) -> Outcome:  # fmt: skip
        await self._put(ctx, old, new)
        return current

    async def delete(self, ctx: Context, current: Outcome, props: Properties) -> None:
        await self._put(ctx, props, {})
