"""EventBridge Scheduler's control plane: schedule groups and schedules, kept in memory, written
through the store (kinds ``scheduler/group`` and ``scheduler/schedule``), loaded at start; and each
enabled schedule armed on ``Timers``.

A firing hands the target's input to ``Delivery`` and records the firing's nominal time in the
schedule's document (``LastFiring``), so that a restart neither repeats it nor, within the grace
period, skips one: see ``ScheduleRecord.cursor`` and ``firing.resume_after``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Mapping, Sequence

from lamina.errors import ApiError
from lamina.schedules.delivery import Delivery
from lamina.schedules.firing import Callback, Timers, resume_after
from lamina.schedules.model import (
    DEFAULT_GROUP, GROUP_KIND, SCHEDULE_KIND, Group, ScheduleRecord, SchedulerConflict, SchedulerNotFound,
    SchedulerValidation, check_name, from_request,
)  # fmt: skip
from lamina.settings import Settings
from lamina.store.base import Resource
from lamina.store.aggregates import ResourceStore

log = logging.getLogger(__name__)


class Bounded:
    """A schedule between its StartDate (included) and EndDate (excluded)."""

    def __init__(self, record: ScheduleRecord) -> None:
        self.record = record
        self._schedule = record.schedule()

    def next_after(self, t: datetime) -> datetime | None:
        start, end = self.record.start, self.record.end
        if start is not None and t < start:
            t = start - timedelta(microseconds=1)
        nxt = self._schedule.next_after(t)
        if nxt is None or (end is not None and nxt >= end):
            return None
        return nxt


class SchedulerService:
    def __init__(self, store: ResourceStore, settings: Settings, timers: Timers, delivery: Delivery) -> None:
        self._store = store
        self._settings = settings
        self._timers = timers
        self._delivery = delivery
        self._groups: dict[str, Group] = {}
        self._schedules: dict[str, ScheduleRecord] = {}
        self._lock = asyncio.Lock()

    @property
    def clock_now(self) -> datetime:
        return self._timers.clock.now()

    async def load(self) -> None:
        """Read groups and schedules, arm the enabled ones (catching up per the missed-firings policy)."""
        for resource in await self._store.list_resources(GROUP_KIND):
            group = Group.from_doc(resource.doc)
            self._groups[group.name] = group
        if DEFAULT_GROUP not in self._groups:  # stored once, so that its CreationDate stays put
            now = self.clock_now
            await self._put_group(Group(DEFAULT_GROUP, now, now))
        for resource in await self._store.list_resources(SCHEDULE_KIND):
            try:
                record = ScheduleRecord.from_doc(resource.doc)
            except ApiError as exc:  # e.g. a time zone this host's tz database no longer has
                log.error("schedule %s is kept but not loaded: %s", resource.key, exc.message)
                continue
            self._schedules[record.key] = record
            self._arm(record, catch_up=True)

    async def close(self, timeout: float) -> None:
        """Let hand-overs in progress finish for up to ``timeout`` seconds, then cancel them (call
        after the timers are closed, before the queue stops taking events)."""
        await self._delivery.close(timeout)

    async def idle(self) -> None:
        """Wait until no hand-over is in progress (for tests)."""
        await self._delivery.idle()

    # Groups

    async def create_group(self, name: str, tags: Mapping[str, str], client_token: str | None) -> Group:
        check_name(name)
        async with self._lock:
            existing = self._groups.get(name)
            if existing is not None:
                if client_token is not None and existing.client_token == client_token:
                    return existing
                raise SchedulerConflict(f"Schedule group {name} already exists.")
            now = self.clock_now
            group = Group(name, now, now, dict(tags), client_token)
            await self._store.change_resources([Resource(GROUP_KIND, name, group.doc())])
            self._groups[name] = group
            return group

    def get_group(self, name: str) -> Group:
        group = self._groups.get(name)
        if group is None:
            raise SchedulerNotFound(f"Schedule group {name} does not exist.")
        return group

    def list_groups(self, prefix: str | None) -> list[Group]:
        return [g for n, g in sorted(self._groups.items()) if prefix is None or n.startswith(prefix)]

    async def delete_group(self, name: str) -> None:
        if name == DEFAULT_GROUP:
            raise SchedulerValidation("Cannot delete default group.")
        async with self._lock:
            self.get_group(name)
            doomed = [key for key, record in self._schedules.items() if record.group == name]
            await self._store.change_resources(deletes=[(GROUP_KIND, name)],
                                               delete_prefixes=[(SCHEDULE_KIND, f"{name}/")])  # fmt: skip
            for key in doomed:
                del self._schedules[key]
                self._timers.cancel(_timer_key(key))
            del self._groups[name]

    def group_by_arn(self, arn: str) -> Group:
        prefix = f"arn:aws:scheduler:{self._settings.region}:{self._settings.account_id}:schedule-group/"
        if not arn.startswith(prefix):
            raise SchedulerNotFound(f"Schedule group {arn} does not exist.")
        return self.get_group(arn[len(prefix):])

    async def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        async with self._lock:
            group = self.group_by_arn(arn)
            await self._put_group(replace(group, tags={**group.tags, **tags}))

    async def untag(self, arn: str, keys: Sequence[str]) -> None:
        async with self._lock:
            group = self.group_by_arn(arn)
            await self._put_group(replace(group, tags={k: v for k, v in group.tags.items() if k not in keys}))

    async def _put_group(self, group: Group) -> None:
        await self._store.change_resources([Resource(GROUP_KIND, group.name, group.doc())])
        self._groups[group.name] = group

    # Schedules

    async def create(self, name: str, body: Mapping[str, object]) -> ScheduleRecord:
        now = self.clock_now
        record = from_request(name, body, now)
        async with self._lock:
            self.get_group(record.group)
            existing = self._schedules.get(record.key)
            if existing is not None:
                if record.client_token is not None and existing.client_token == record.client_token:
                    return existing
                raise SchedulerConflict(f"Schedule {name} already exists.")
            await self._put(record)
            return record

    async def update(self, name: str, body: Mapping[str, object]) -> ScheduleRecord:
        record = from_request(name, body, self.clock_now)
        async with self._lock:
            existing = self.get(name, record.group)
            record = replace(record, created=existing.created, last_firing=existing.last_firing)
            await self._put(record)
            return record

    def get(self, name: str, group: str | None) -> ScheduleRecord:
        group = group or DEFAULT_GROUP
        record = self._schedules.get(f"{group}/{name}")
        if record is None:
            raise SchedulerNotFound(f"Schedule {name} does not exist.")
        return record

    async def delete(self, name: str, group: str | None) -> None:
        async with self._lock:
            record = self.get(name, group)
            await self._remove(record)

    def list(self, group: str | None, prefix: str | None, state: str | None) -> list[ScheduleRecord]:
        if group is not None:
            self.get_group(group)
        return [
            r for _, r in sorted(self._schedules.items())
            if (group is None or r.group == group) and (prefix is None or r.name.startswith(prefix))
            and (state is None or r.state == state)
        ]  # fmt: skip

    def next_firing(self, record: ScheduleRecord) -> datetime | None:
        """When the schedule fires next (its flexible-window offset included), if it is armed."""
        return self._timers.due(_timer_key(record.key))

    async def _put(self, record: ScheduleRecord) -> None:
        await self._store.change_resources([Resource(SCHEDULE_KIND, record.key, record.doc())])
        self._schedules[record.key] = record
        self._arm(record, catch_up=False)

    async def _remove(self, record: ScheduleRecord) -> None:
        await self._store.change_resources(deletes=[(SCHEDULE_KIND, record.key)])
        self._schedules.pop(record.key, None)
        self._timers.cancel(_timer_key(record.key))

    def _arm(self, record: ScheduleRecord, *, catch_up: bool) -> None:
        key = _timer_key(record.key)
        if record.state != "ENABLED":
            self._timers.cancel(key)
            return
        cursor = record.cursor()
        after = resume_after(cursor, self.clock_now, record.grace) if catch_up else cursor
        self._timers.set(key, Bounded(record), self._firing(record.key), after=after, window=record.window)

    def _firing(self, key: str) -> Callback:
        async def fire(nominal: datetime) -> None:
            await self._fire(key, nominal)

        return fire

    async def _fire(self, key: str, nominal: datetime) -> None:
        record = self._schedules.get(key)
        if record is None:
            return
        arn = record.arn(self._settings.region, self._settings.account_id)
        self._delivery.fire(arn, record.target, nominal)
        async with self._lock:
            current = self._schedules.get(key)
            if current is None or current.modified != record.modified:
                return  # changed meanwhile: its own arming stands
            done = replace(current, last_firing=nominal)
            last = Bounded(done).next_after(nominal) is None
            if last and done.action_after_completion == "DELETE":
                await self._remove(done)
                return
            await self._store.change_resources([Resource(SCHEDULE_KIND, key, done.doc())])
            self._schedules[key] = done


def _timer_key(key: str) -> str:
    return f"scheduler/schedule/{key}"


def page_token(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()


def page_index(token: str | None) -> int:
    if token is None:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except ValueError:
        raise SchedulerValidation("Invalid NextToken.") from None
