"""Delivering bus events to their rules' targets: ``WORKERS`` owned background tasks
(``lamina-events-delivery-<i>``) take stored events (``Store.list_bus_events`` at start, then each
one as it is accepted), earliest due first, and attempt every delivery of it that is due. An event
is with one worker at a time.

- A Lambda function target (name, version or alias ARN) is an asynchronous invocation through the
  invoker (``invocation_type="Event"``): once it returns, the function's own queue holds the event
  durably, and its own retries and destinations apply. That is the delivery accepted. A function
  of another account in this region is invoked by that account's cell (``reach_functions_with``),
  whose function's resource policy must allow events.amazonaws.com for the rule, as this account's
  must (``NO_PERMISSIONS`` otherwise, not retried).
- An event bus target of this region and account: the event, unchanged (its id kept), is put on
  that bus, matched against its rules, and stored in the same transaction that settles this
  delivery. As on EventBridge, an event a bus received from another bus is not routed on to a third
  (``MAX_HOPS``): that also ends loops of rules.
- A queue of Lamina's own (``lamina.queues``): the payload is sent to it (SendMessage), in the
  message group its ``SqsParameters.MessageGroupId`` names, deduplicated by the event's id for a
  FIFO queue, if the queue's policy lets ``events.amazonaws.com`` send for the rule
  (``NO_PERMISSIONS`` otherwise, not retried; in the development mode logged and allowed).
- Any other target (a queue that does not exist, SNS, ..., a function of another region, a bus of
  another region or account) is one Lamina does not serve yet: the payload goes to the outbox (kind ``event``), where
  it will be taken from (``queues/relay.py`` takes a queue's once it exists).

A failed delivery (a function that does not exist, a throttle) is retried or given up on as
``events/retry.py`` decides; given up on, it goes to the target's DeadLetterConfig queue, which for
now means the outbox, with EventBridge's message attributes (RULE_ARN, TARGET_ARN, ERROR_CODE,
ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS). What an event still owes is written back
after each round of attempts and the event removed once it owes nothing: a crash between an accepted
delivery and that write repeats the delivery after the restart (at least once, as EventBridge).
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import json
import logging
import random
import time
from typing import Callable, Mapping, Protocol

from lamina.control.targets import parse_function_arn
from lamina.errors import AccessDenied, ApiError, ResourceNotFound, TooManyRequests
from lamina.events import model, retry
from lamina.events.model import Target
from lamina.events.transform import RuleRef
from lamina.events.service import EventBusService
from lamina.invoke.service import EVENT, InvokeRequest, InvokeSource, InvokeResult
from lamina.queues.service import Queues
from lamina.settings import Settings
from lamina.store.base import DEAD_LETTER, BusEvent, Delivery, OutboxMessage
from lamina.store.aggregates import BusStore
from lamina.tasks import Waiters, cancel_and_wait

log = logging.getLogger(__name__)

MAX_HOPS = 1  # "EventBridge can't route events received from a sender event bus to a third event bus."
WORKERS = 8
NO_PERMISSIONS = "NO_PERMISSIONS"  # a dead letter's ERROR_CODE: the target refused the rule's service principal
EVENTS_PRINCIPAL = "events.amazonaws.com"
EVENT_KIND = "event"  # an outbox message that is a rule's event for a target Lamina does not serve yet


class Invoker(Protocol):
    async def invoke(self, req: InvokeRequest) -> InvokeResult: ...


def _ms() -> int:
    return int(time.time() * 1000)


@dataclasses.dataclass(frozen=True)
class _Failure:
    code: str  # as a dead letter's ERROR_CODE says it
    message: str
    retriable: bool = False


class Deliverer:
    def __init__(
        self, store: BusStore, control: EventBusService, invoker: Invoker, settings: Settings,
        clock: Callable[[], int] = _ms, rng: random.Random | None = None, queues: Queues | None = None,
    ) -> None:  # fmt: skip
        self._store = store
        self._queues = queues
        self._control = control
        self._invoker = invoker
        self._settings = settings
        self._now = clock
        self._random = rng or random.Random()
        self._backoff = retry.Backoff(settings.events_retry_base_seconds, settings.events_retry_cap_seconds)
        self._due: list[tuple[int, int, BusEvent]] = []  # (when, seq, event)
        self._wake = Waiters()
        self._tasks: list[asyncio.Task[None]] = []
        self._invoker_of: Callable[[str, str], Invoker | None] = lambda account, region: None

    def reach_functions_with(self, invoker_of: Callable[[str, str], Invoker | None]) -> None:
        """``invoker_of(account, region)``: the invoker of another account's cell in this region (None:
        no such cell), for targets that are that account's functions."""
        self._invoker_of = invoker_of

    def _function_invoker(self, arn: str) -> Invoker | None | _Failure:
        """Who invokes a function target: this cell's invoker, another account's (same region), a
        failure (an account with no cell has no functions), or None (not a function of this region)."""
        function = parse_function_arn(arn)
        if function is None or function.region != self._settings.region:
            return None
        if function.is_local(self._settings):
            return self._invoker
        there = self._invoker_of(function.account, function.region)
        return there if there is not None else _Failure(retry.NO_RESOURCE, f"Function not found: {arn}")

    async def start(self) -> None:
        """Take up what an earlier run left undelivered, then deliver as events arrive."""
        for event in await self._store.list_bus_events():
            self.add(event)
        self._tasks = [asyncio.create_task(self._run(), name=f"lamina-events-delivery-{i}") for i in range(WORKERS)]

    def add(self, event: BusEvent) -> None:
        """A stored event joins the deliveries (due when its earliest delivery is). Its envelope is
        not kept: a backlog waits on disk, and each round reads it (``Store.read_bus_envelope``)."""
        due = min(d.next_ms for d in event.deliveries)
        heapq.heappush(self._due, (due, event.seq, dataclasses.replace(event, envelope=b"")))
        self._wake.wake()

    async def close(self) -> None:
        """Stop delivering; what is not delivered stays stored for the next start."""
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []

    async def _run(self) -> None:
        while True:
            now = self._now()
            if not self._due or self._due[0][0] > now:
                timeout = None if not self._due else (self._due[0][0] - now) / 1000
                await self._wake.wait(timeout)
                continue
            _, _, event = heapq.heappop(self._due)
            try:
                await self._deliver(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bus event %s: unexpected error; trying it again later", event.seq)
                heapq.heappush(self._due, (self._now() + 1000, event.seq, event))

    async def _deliver(self, event: BusEvent) -> None:
        """One round: every due delivery of ``event`` attempted, then what it still owes written back
        with the events it forwards and its dead letters, in one transaction."""
        stored = await self._store.read_bus_envelope(event.seq)
        if stored is None:
            return  # settled already
        event = dataclasses.replace(event, envelope=stored)
        now = self._now()
        try:
            doc = json.loads(stored)
        except RecursionError:  # its detail parsed when it was put, barely: it cannot be delivered
            log.warning("bus event %d is nested too deep to deliver; dropped", event.seq)
            await self._store.settle_bus_event(event.seq, [], [], [])
            return
        owed: list[Delivery] = []
        forwards: list[BusEvent] = []
        messages: list[OutboxMessage] = []
        for delivery in event.deliveries:
            if delivery.next_ms > now:
                owed.append(delivery)
                continue
            rule = self._control.find_rule(delivery.rule)
            target = self._control.find_target(delivery.rule, delivery.target)
            if rule is None or target is None:
                continue  # removed since the event matched it: nothing is owed any more
            policy = target.retry_policy
            if retry.expired(event.created_ms, now, policy):
                failure: _Failure | None = _Failure("EVENT_AGE_EXCEEDED", "The event is older than the maximum age.")
                decision: retry.Retry | retry.GiveUp = retry.GiveUp(retry.MAX_AGE)
                attempts = delivery.attempts
            else:
                failure = await self._attempt(event, doc, RuleRef(rule.name, self._control.rule_arn(rule)), target, forwards,
                                              messages, now)  # fmt: skip
                if failure is None:
                    continue
                attempts = delivery.attempts + 1
                decision = retry.after_failure(attempts, failure.retriable, event.created_ms, now, policy,
                                               self._backoff, self._random.random())  # fmt: skip
            if isinstance(decision, retry.Retry):
                owed.append(dataclasses.replace(delivery, attempts=attempts, next_ms=decision.at_ms))
                continue
            assert failure is not None
            log.warning("bus event %s for %s of rule %s given up on (%s): %s", doc.get("id"), target.arn,
                        rule.name, decision.condition, failure.message)  # fmt: skip
            if target.dead_letter_arn:
                messages.append(OutboxMessage(
                    target.dead_letter_arn, DEAD_LETTER, "", str(doc.get("id", "")), event.envelope,
                    dead_letter_attributes(self._control.rule_arn(rule), target.arn, failure.code, failure.message,
                                           decision.condition, max(attempts - 1, 0)),
                    now,
                ))  # fmt: skip
        seqs = await self._store.settle_bus_event(event.seq, owed, forwards, messages)
        for forward, seq in zip(forwards, seqs):
            self.add(dataclasses.replace(forward, seq=seq))
        if owed:
            self.add(dataclasses.replace(event, deliveries=tuple(owed)))

    async def _attempt(
        self, event: BusEvent, doc: Mapping[str, object], rule: RuleRef, target: Target, forwards: list[BusEvent],
        messages: list[OutboxMessage], now: int,
    ) -> _Failure | None:  # fmt: skip
        """One delivery to ``target``; None once it is accepted (or written beside the settlement)."""
        invoker = self._function_invoker(target.arn)
        if isinstance(invoker, _Failure):
            return invoker
        if invoker is not None:
            try:
                source = InvokeSource("events.amazonaws.com", rule.arn, self._settings.account_id)
                payload = target.input.render(doc, rule)
                await invoker.invoke(InvokeRequest(target.arn, payload, invocation_type=EVENT, source=source))
            except ResourceNotFound as exc:
                return _Failure(retry.NO_RESOURCE, exc.message)
            except AccessDenied as exc:  # the function's policy does not allow the rule (iam/triggers.py)
                return _Failure(NO_PERMISSIONS, exc.message)
            except TooManyRequests as exc:
                return _Failure(retry.THROTTLING, exc.message, retriable=True)
            except ApiError as exc:  # a fault of the service or a function not ready yet is retried
                return _Failure(exc.code, exc.message, retriable=exc.status >= 500 or exc.status == 409)
            return None
        if target.arn.startswith("arn:aws:events:") and ":event-bus/" in target.arn:
            name = model.local_bus_name(self._settings, target.arn)
            if name is None:  # a bus of another region or account: not Lamina's to deliver yet
                messages.append(OutboxMessage(target.arn, EVENT_KIND, "", str(doc.get("id", "")), event.envelope,
                                              {}, now))  # fmt: skip
                return None
            if self._control.find_bus(name) is None:
                return _Failure(retry.NO_RESOURCE, f"Event bus {name} does not exist.")
            if event.hops >= MAX_HOPS:
                log.warning("bus event %s not passed on to %s: it came from another bus", doc.get("id"), name)
                return None
            owed = self._control.matching(name, doc)
            if owed:
                forwards.append(BusEvent(name, event.envelope, owed, now, hops=event.hops + 1))
            return None
        event_id = str(doc.get("id", ""))
        queue = self._queues.get(target.arn) if self._queues is not None else None
        if self._queues is not None and queue is not None:
            if not self._queues.service_may_send(target.arn, EVENTS_PRINCIPAL, rule.arn):
                return _Failure(NO_PERMISSIONS, f"Access to the queue {target.arn} is denied: its policy does "
                                f"not allow {EVENTS_PRINCIPAL} to send messages for {rule.arn}.")  # fmt: skip
            parameters = target.wire.get("SqsParameters")
            group = parameters.get("MessageGroupId") if isinstance(parameters, Mapping) else None
            try:
                await self._queues.send(target.arn, target.input.render(doc, rule).decode(errors="replace"),
                                        group_id=str(group) if group else None,
                                        deduplication_id=event_id if queue.fifo else None)  # fmt: skip
            except ApiError as exc:  # a FIFO queue without a group, a message too large for the queue, ...
                return _Failure(exc.code, exc.message)
            return None
        messages.append(OutboxMessage(target.arn, EVENT_KIND, "", event_id, target.input.render(doc, rule), {}, now))
        return None


def dead_letter_attributes(
    rule_arn: str, target_arn: str, code: str, message: str, condition: str, retries: int
) -> dict[str, dict[str, str]]:
    """The message attributes EventBridge gives an event it sends to a target's dead-letter queue."""
    return {
        "RULE_ARN": {"DataType": "String", "StringValue": rule_arn},
        "TARGET_ARN": {"DataType": "String", "StringValue": target_arn},
        "ERROR_CODE": {"DataType": "String", "StringValue": code},
        "ERROR_MESSAGE": {"DataType": "String", "StringValue": message},
        "EXHAUSTED_RETRY_CONDITION": {"DataType": "String", "StringValue": condition},
        "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": str(retries)},
    }
