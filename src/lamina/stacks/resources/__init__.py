"""The resource types stacks can hold, each with its provider (resources/base.py)."""

from __future__ import annotations

from lamina.stacks.resources.base import Provider
from lamina.stacks.resources.functions import Alias, Function, Permission, Url, Version
from lamina.stacks.resources.gateways import GATEWAY_PROVIDERS
from lamina.stacks.resources.layers import LayerVersion, LayerVersionPermission
from lamina.stacks.resources.policies import ManagedPolicy, Policy
from lamina.stacks.resources.services import Bucket, BucketPolicy, LogGroup, Queue, Role, Rule
from lamina.stacks.resources.triggers import EventBus, EventInvokeConfig, EventSourceMapping, Schedule, ScheduleGroup

PROVIDERS: dict[str, Provider] = {p.type_name: p for p in (
    Function(), Version(), Alias(), Permission(), Url(), LayerVersion(), LayerVersionPermission(), EventSourceMapping(),
    EventInvokeConfig(), Role(), ManagedPolicy(), Policy(), Queue(), Bucket(), BucketPolicy(), Rule(), EventBus(),
    Schedule(), ScheduleGroup(), LogGroup(), *GATEWAY_PROVIDERS)}  # fmt: skip
