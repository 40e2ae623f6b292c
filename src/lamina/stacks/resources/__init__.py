"""The resource types stacks can hold, each with its provider (resources/base.py)."""

from __future__ import annotations

from lamina.stacks.resources.base import Provider
from lamina.stacks.resources.functions import Alias, Function, Permission, Url, Version
from lamina.stacks.resources.gateways import GATEWAY_PROVIDERS
from lamina.stacks.resources.services import Bucket, LogGroup, Queue, Role, Rule

PROVIDERS: dict[str, Provider] = {p.type_name: p for p in (Function(), Version(), Alias(), Permission(), Url(), Role(),
                                                             Queue(), Bucket(), Rule(), LogGroup())}  # fmt: skip
PROVIDERS.update({p.type_name: p for p in GATEWAY_PROVIDERS})
