"""The event bus's control plane as values: buses, rules and their targets, their ARNs, and the
documents they are stored as (``Store.change_resources``, kinds ``events/bus``, ``events/rule``,
``events/target``).

Keys: a bus by its name; a rule by ``<bus>/<name>``; a target by ``<bus>/<rule>/<id>`` (custom bus
names hold no ``/``, so a key splits one way only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, cast

from lamina.events.transform import TargetInput, TargetSpec
from lamina.settings import Settings

DEFAULT_BUS = "default"
ENABLED, DISABLED = "ENABLED", "DISABLED"
STATES = (ENABLED, DISABLED, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
BUS, RULE, TARGET = "events/bus", "events/rule", "events/target"

# EventBridge's defaults for a target's RetryPolicy.
DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE_SECONDS = 86400


def bus_arn(settings: Settings, name: str) -> str:
    return f"arn:aws:events:{settings.region}:{settings.account_id}:event-bus/{name}"


def rule_arn(settings: Settings, bus: str, name: str) -> str:
    path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
    return f"arn:aws:events:{settings.region}:{settings.account_id}:rule/{path}"


def local_bus_name(settings: Settings, name_or_arn: str) -> str | None:
    """The bus a name or an ARN of this region and account names (None: an ARN of elsewhere)."""
    prefix = f"arn:aws:events:{settings.region}:{settings.account_id}:event-bus/"
    if name_or_arn.startswith("arn:"):
        return name_or_arn[len(prefix):] if name_or_arn.startswith(prefix) else None
    return name_or_arn


def parse_rule_arn(settings: Settings, arn: str) -> tuple[str, str] | None:
    """(bus, rule name) of a rule ARN of this region and account; None if ``arn`` is not one."""
    prefix = f"arn:aws:events:{settings.region}:{settings.account_id}:rule/"
    if not arn.startswith(prefix):
        return None
    bus, _, name = arn[len(prefix):].rpartition("/")
    return (bus or DEFAULT_BUS, name) if name else None


@dataclass(frozen=True)
class Bus:
    name: str
    created: float  # epoch seconds
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def doc(self) -> dict[str, object]:
        return {"name": self.name, "created": self.created, "description": self.description, "tags": dict(self.tags)}

    @staticmethod
    def load(doc: Mapping[str, object]) -> Bus:
        created = doc.get("created")
        return Bus(str(doc["name"]), float(created) if isinstance(created, (int, float)) else 0.0,
                   _opt(doc.get("description")), _tags(doc.get("tags")))  # fmt: skip


@dataclass(frozen=True)
class Rule:
    name: str
    bus: str
    state: str = ENABLED
    event_pattern: str | None = None
    schedule_expression: str | None = None
    description: str | None = None
    role_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.bus}/{self.name}"

    def doc(self) -> dict[str, object]:
        return {
            "name": self.name, "bus": self.bus, "state": self.state, "eventPattern": self.event_pattern,
            "scheduleExpression": self.schedule_expression, "description": self.description,
            "roleArn": self.role_arn, "tags": dict(self.tags),
        }  # fmt: skip

    @staticmethod
    def load(doc: Mapping[str, object]) -> Rule:
        return Rule(
            str(doc["name"]), str(doc["bus"]), str(doc["state"]), _opt(doc.get("eventPattern")),
            _opt(doc.get("scheduleExpression")), _opt(doc.get("description")), _opt(doc.get("roleArn")),
            _tags(doc.get("tags")),
        )  # fmt: skip


@dataclass(frozen=True)
class RetryPolicy:
    maximum_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_EVENT_AGE_SECONDS


@dataclass(frozen=True)
class Target:
    """One target of a rule. ``wire`` is the target as PutTargets gave it (members Lamina stores but
    does not act on, such as SqsParameters, are kept there and listed back unchanged)."""

    id: str
    arn: str
    wire: Mapping[str, object]
    input: TargetInput = TargetInput()  # Input, InputPath or InputTransformer, compiled
    retry_policy: RetryPolicy = RetryPolicy()
    dead_letter_arn: str | None = None

    @staticmethod
    def load(wire: Mapping[str, object]) -> Target:
        """A target from its wire form (already validated: ``events/targets.py``)."""
        retry = wire.get("RetryPolicy")
        policy = RetryPolicy()
        if isinstance(retry, Mapping):
            policy = RetryPolicy(
                int(retry.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)),
                int(retry.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_SECONDS)),
            )
        dlq = wire.get("DeadLetterConfig")
        return Target(
            str(wire["Id"]), str(wire["Arn"]), dict(wire), TargetInput.of(cast(TargetSpec, wire)), policy,
            _opt(dlq.get("Arn")) if isinstance(dlq, Mapping) else None,
        )  # fmt: skip


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _tags(value: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}
