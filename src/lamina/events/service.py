"""The event bus control plane: buses, rules and targets, kept in memory and written through the
store's resources (kinds ``events/bus``, ``events/rule``, ``events/target``) before a change is
answered; loaded at start. The ``default`` bus always exists and cannot be deleted.

Changes are made one at a time (a lock), each checked in full before anything is written, so a
refused request changes nothing and two requests cannot both pass a check only one may (a rule's
last target removed while it is deleted, the fifth target added twice); a PutTargets
entry that is refused is reported in FailedEntries while the others are applied, as on AWS.
``matching`` is the routing decision the bus makes for each event: the enabled rules of its bus
whose pattern matches, and their targets. Each bus's enabled patterns are filed in a
``PatternIndex`` (events/index.py), so an event is tested only against the rules that can match
it; a bus's index is made again, when next needed, after any change to its rules.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from typing import Callable, Mapping, Sequence

from lamina.control.validation import constraint
from lamina.errors import ValidationError
from lamina.events import model, validation
from lamina.events.errors import LimitExceeded, ResourceAlreadyExists, bus_not_found, rule_not_found
from lamina.events.index import PatternIndex
from lamina.events.model import BUS, DEFAULT_BUS, RULE, TARGET, Bus, Rule, Target
from lamina.events.pattern import Pattern, compile_pattern
from lamina.events.targets import MAX_TARGETS_PER_RULE, Failed, check
from lamina.schedules.expressions import InvalidScheduleExpression, parse
from lamina.settings import Settings
from lamina.store.base import Delivery, Resource
from lamina.store.aggregates import ResourceStore

MAX_BUSES = 100
MAX_RULES_PER_BUS = 300


class EventBusService:
    def __init__(self, store: ResourceStore, settings: Settings, clock: Callable[[], float] = time.time,
                 rules_changed: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        self._store = store
        self._rules_changed = rules_changed  # after each change to rules (events/scheduled.py follows them)
        self._settings = settings
        self._now = clock
        self._buses: dict[str, Bus] = {}
        self._rules: dict[str, Rule] = {}
        self._patterns: dict[str, Pattern] = {}
        self._targets: dict[str, dict[str, Target]] = {}  # rule key -> target id -> target
        self._indexes: dict[str, PatternIndex[str]] = {}  # bus -> its enabled rules' patterns; made when needed
        self._changing = asyncio.Lock()

    async def load(self) -> None:
        self._buses = {r.key: Bus.load(r.doc) for r in await self._store.list_resources(BUS)}
        if DEFAULT_BUS not in self._buses:  # the first start: the default bus comes into being
            default = Bus(DEFAULT_BUS, self._now())
            await self._store.change_resources([Resource(BUS, DEFAULT_BUS, default.doc())])
            self._buses[DEFAULT_BUS] = default
        for r in await self._store.list_resources(RULE):
            rule = Rule.load(r.doc)
            self._rules[rule.key] = rule
            if rule.event_pattern is not None:
                self._patterns[rule.key] = compile_pattern(rule.event_pattern)
        for r in await self._store.list_resources(TARGET):
            rule_key = r.key.rsplit("/", 1)[0]
            target = Target.load(r.doc)
            self._targets.setdefault(rule_key, {})[target.id] = target
        self._indexes.clear()
        self._rules_changed()

    # -- names and ARNs

    def bus_arn(self, name: str) -> str:
        return model.bus_arn(self._settings, name)

    def rule_arn(self, rule: Rule) -> str:
        return model.rule_arn(self._settings, rule.bus, rule.name)

    def bus(self, name_or_arn: str | None) -> Bus:
        """The bus a request names (by name or ARN; none: ``default``), or ResourceNotFound."""
        ref = validation.bus_reference(name_or_arn) or DEFAULT_BUS
        name = model.local_bus_name(self._settings, ref)
        if name is None or name not in self._buses:
            raise bus_not_found(name or ref)
        return self._buses[name]

    def find_bus(self, name: str) -> Bus | None:
        return self._buses.get(name)

    def rule(self, name: str, bus_ref: str | None) -> Rule:
        bus = self.bus(bus_ref)
        rule = self._rules.get(f"{bus.name}/{validation.rule_name(name)}")
        if rule is None:
            raise rule_not_found(name, bus.name)
        return rule

    def find_rule(self, key: str) -> Rule | None:
        return self._rules.get(key)

    def find_target(self, rule_key: str, target_id: str) -> Target | None:
        return self._targets.get(rule_key, {}).get(target_id)

    def targets(self, rule: Rule) -> list[Target]:
        return list(self._targets.get(rule.key, {}).values())

    # -- buses

    async def create_bus(self, name: str, description: str | None, tags: Mapping[str, str]) -> Bus:
        async with self._changing:
            validation.new_bus_name(name)
            if name in self._buses:
                raise ResourceAlreadyExists(f"Event bus {name} already exists.")
            if len(self._buses) >= MAX_BUSES:
                raise LimitExceeded("The requested resource exceeds the maximum number allowed.")
            bus = Bus(name, self._now(), description, dict(tags))
            await self._store.change_resources([Resource(BUS, name, bus.doc())])
            self._buses[name] = bus
            return bus

    def list_buses(self, prefix: str | None, token: str | None, limit: int) -> tuple[list[Bus], str | None]:
        names = sorted(n for n in self._buses if n.startswith(prefix or ""))
        page, next_token = paginate(names, token, limit)
        return [self._buses[n] for n in page], next_token

    async def delete_bus(self, name: str) -> None:
        """Deleting a bus that does not exist is not an error; one with rules is refused."""
        async with self._changing:
            if name == DEFAULT_BUS:
                raise ValidationError("Cannot delete event bus default.")
            if name not in self._buses:
                return
            if any(rule.bus == name for rule in self._rules.values()):
                raise ValidationError(f"Cannot delete event bus {name} because it has rules.")
            await self._store.change_resources(deletes=[(BUS, name)])
            del self._buses[name]
            self._indexes.pop(name, None)

    # -- rules

    async def put_rule(
        self, name: str, bus_ref: str | None, *, event_pattern: str | None, schedule: str | None,
        state: str | None, description: str | None, role_arn: str | None, tags: Mapping[str, str] | None,
    ) -> Rule:  # fmt: skip
        """Create or replace a rule. As on AWS, a replaced rule keeps none of its old values (a member
        not given takes its default) except its tags: Tags given for an existing rule are ignored
        (TagResource changes them)."""
        async with self._changing:
            validation.rule_name(name)
            bus = self.bus(bus_ref)
            if state is not None and state not in model.STATES:
                raise constraint(state, "state", f"Member must satisfy enum value set: [{', '.join(model.STATES)}]")
            if event_pattern is None and schedule is None:
                raise ValidationError("Parameter(s) EventPattern or ScheduleExpression must be specified.")
            pattern = compile_pattern(event_pattern) if event_pattern is not None else None
            if schedule is not None:
                if bus.name != DEFAULT_BUS:
                    raise ValidationError("ScheduleExpression is supported only on the default event bus.")
                try:
                    if schedule.strip().startswith("at("):  # one-time schedules are Scheduler's alone
                        raise InvalidScheduleExpression(schedule)
                    parse(schedule)
                except InvalidScheduleExpression:
                    raise ValidationError("Parameter ScheduleExpression is not valid.") from None
            old = self._rules.get(f"{bus.name}/{name}")
            if old is None and sum(r.bus == bus.name for r in self._rules.values()) >= MAX_RULES_PER_BUS:
                raise LimitExceeded("The requested resource exceeds the maximum number allowed.")
            rule = Rule(name, bus.name, state or model.ENABLED, event_pattern, schedule, description, role_arn,
                        old.tags if old is not None else dict(tags or {}))  # fmt: skip
            await self._store.change_resources([Resource(RULE, rule.key, rule.doc())])
            self._rules[rule.key] = rule
            if pattern is not None:
                self._patterns[rule.key] = pattern
            else:
                self._patterns.pop(rule.key, None)
            self._indexes.pop(rule.bus, None)
            self._rules_changed()
            return rule

    async def set_state(self, name: str, bus_ref: str | None, state: str) -> None:
        async with self._changing:
            rule = dataclasses.replace(self.rule(name, bus_ref), state=state)
            await self._store.change_resources([Resource(RULE, rule.key, rule.doc())])
            self._rules[rule.key] = rule
            self._indexes.pop(rule.bus, None)
            self._rules_changed()

    async def delete_rule(self, name: str, bus_ref: str | None, force: bool) -> None:
        """Deleting a rule that does not exist is not an error; one with targets is refused."""
        async with self._changing:
            bus = self.bus(bus_ref)
            key = f"{bus.name}/{validation.rule_name(name)}"
            if key not in self._rules:
                return
            if self._targets.get(key):
                raise ValidationError("Rule can't be deleted since it has targets.")
            await self._store.change_resources(deletes=[(RULE, key)], delete_prefixes=[(TARGET, key + "/")])
            del self._rules[key]
            self._patterns.pop(key, None)
            self._targets.pop(key, None)
            self._indexes.pop(bus.name, None)
            self._rules_changed()

    def list_rules(self, prefix: str | None, bus_ref: str | None, token: str | None,
                   limit: int) -> tuple[list[Rule], str | None]:  # fmt: skip
        bus = self.bus(bus_ref)
        names = sorted(r.name for r in self._rules.values() if r.bus == bus.name and r.name.startswith(prefix or ""))
        page, next_token = paginate(names, token, limit)
        return [self._rules[f"{bus.name}/{n}"] for n in page], next_token

    def rules_by_target(self, target_arn: str, bus_ref: str | None, token: str | None,
                        limit: int) -> tuple[list[str], str | None]:  # fmt: skip
        bus = self.bus(bus_ref)
        names = sorted(
            r.name for r in self._rules.values()
            if r.bus == bus.name and any(t.arn == target_arn for t in self._targets.get(r.key, {}).values())
        )  # fmt: skip
        return paginate(names, token, limit)

    # -- targets

    async def put_targets(
        self, name: str, bus_ref: str | None, entries: Sequence[Mapping[str, object]]
    ) -> list[Failed]:
        async with self._changing:
            rule = self.rule(name, bus_ref)
            if not 1 <= len(entries) <= 10:
                raise constraint("[...]", "targets", "Member must have length less than or equal to 10")
            current = dict(self._targets.get(rule.key, {}))
            failed: list[Failed] = []
            accepted: list[Target] = []
            for entry in entries:
                validation.target_id(entry.get("Id"))
                result = check(entry)
                if isinstance(result, Failed):
                    failed.append(result)
                    continue
                accepted.append(result)
            if len(set(current) | {t.id for t in accepted}) > MAX_TARGETS_PER_RULE:
                raise LimitExceeded("The requested resource exceeds the maximum number allowed.")
            puts = [Resource(TARGET, f"{rule.key}/{t.id}", dict(t.wire)) for t in accepted]
            if puts:
                await self._store.change_resources(puts)
            for t in accepted:
                current[t.id] = t
            self._targets[rule.key] = current
            return failed

    async def remove_targets(self, name: str, bus_ref: str | None, ids: Sequence[str]) -> None:
        async with self._changing:
            rule = self.rule(name, bus_ref)
            for target_id in ids:
                validation.target_id(target_id)
            current = self._targets.get(rule.key, {})
            gone = [i for i in ids if i in current]
            if gone:
                await self._store.change_resources(deletes=[(TARGET, f"{rule.key}/{i}") for i in gone])
            for i in gone:
                current.pop(i, None)

    # -- tags

    def tagged(self, arn: str) -> Bus | Rule:
        """The bus or rule an ARN names, for the tagging operations."""
        rule = model.parse_rule_arn(self._settings, arn)
        if rule is not None:
            found = self._rules.get(f"{rule[0]}/{rule[1]}")
            if found is None:
                raise rule_not_found(rule[1], rule[0])
            return found
        name = model.local_bus_name(self._settings, arn) if arn.startswith("arn:") else None
        if name is None or name not in self._buses:
            raise bus_not_found(name or arn)
        return self._buses[name]

    async def set_tags(self, arn: str, add: Mapping[str, str], remove: Sequence[str] = ()) -> None:
        async with self._changing:
            found = self.tagged(arn)
            tags = {k: v for k, v in {**found.tags, **add}.items() if k not in remove}
            if isinstance(found, Rule):
                rule = dataclasses.replace(found, tags=tags)
                await self._store.change_resources([Resource(RULE, rule.key, rule.doc())])
                self._rules[rule.key] = rule
            else:
                bus = dataclasses.replace(found, tags=tags)
                await self._store.change_resources([Resource(BUS, bus.name, bus.doc())])
                self._buses[bus.name] = bus

    # -- routing

    def matching(self, bus: str, event: Mapping[str, object]) -> tuple[Delivery, ...]:
        """The deliveries an event put on ``bus`` owes: one per target of each enabled rule of the bus
        whose pattern matches it (rules with a schedule only match nothing)."""
        index = self._indexes.get(bus)
        if index is None:
            index = self._indexes[bus] = self._index(bus)
        owed: list[Delivery] = []
        for key in index.matching(event):
            owed.extend(Delivery(key, target_id) for target_id in self._targets.get(key, {}))
        return tuple(owed)

    def _index(self, bus: str) -> PatternIndex[str]:
        """The enabled rules of ``bus`` with a pattern, in the order ``_patterns`` holds them."""
        return PatternIndex(
            (key, pattern) for key, pattern in self._patterns.items()
            if self._rules[key].bus == bus and self._rules[key].state != model.DISABLED
        )  # fmt: skip

    def scheduled_rules(self) -> list[tuple[str, str]]:
        """(rule key, ScheduleExpression) of every enabled rule with a schedule: what a timer fires
        through ``EventBus.fire_scheduled``."""
        return sorted((key, rule.schedule_expression) for key, rule in self._rules.items()
                      if rule.schedule_expression is not None and rule.state != model.DISABLED)  # fmt: skip

    def scheduled_deliveries(self, rule: Rule) -> tuple[Delivery, ...]:
        return tuple(Delivery(rule.key, target_id) for target_id in self._targets.get(rule.key, {}))


def paginate(names: list[str], token: str | None, limit: int) -> tuple[list[str], str | None]:
    """A page of sorted ``names`` after the one a NextToken names, and the token of the next page."""
    start = 0
    if token:
        try:
            after = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise ValidationError("The NextToken provided is invalid.") from None
        start = next((i for i, n in enumerate(names) if n > after), len(names))
    page = names[start:start + limit]
    more = start + limit < len(names)
    return page, base64.urlsafe_b64encode(page[-1].encode()).decode() if more and page else None
