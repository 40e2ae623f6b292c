"""The event bus in-process: its control plane over the in-memory store, and delivery through a fake
invoker (the ``Invoker`` protocol: records what it is asked, throttles or refuses on demand)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest

from bench.scenarios import matcher

from lamina.errors import ResourceNotFound, TooManyRequests, ValidationError
from lamina.events import model
from lamina.events.engine import EventBridge
from lamina.events.envelope import Rejected
from lamina.events.pattern import InvalidEventPattern, Pattern, compile_pattern
from lamina.invoke.service import InvokeRequest, InvokeResult
from lamina.schedules.clock import FakeClock
from lamina.schedules.firing import Timers
from lamina.settings import Settings
from lamina.store.base import DESTINATION, Delivery, EventContent, OutboxMessage, QueuedEvent
from lamina.store.memory import MemoryStore

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
PATTERN = json.dumps({"source": ["shop"]})


class FakeInvoker:
    """Accepts asynchronous invocations of the functions it knows; throttles the first ``throttles``."""

    def __init__(self, functions: tuple[str, ...] = ("f", "g")) -> None:
        self.functions = functions
        self.received: list[InvokeRequest] = []
        self.throttles = 0
        self.arrived = asyncio.Event()

    async def invoke(self, req: InvokeRequest) -> InvokeResult:
        name = req.function.rsplit(":", 1)[-1] if ":function:" in req.function else req.function
        if name not in self.functions:
            raise ResourceNotFound(f"Function not found: {req.function}")
        if self.throttles:
            self.throttles -= 1
            raise TooManyRequests("Rate Exceeded.", reason="ReservedFunctionConcurrentInvocationLimitExceeded")
        self.received.append(req)
        self.arrived.set()
        return InvokeResult(202, "r", "$LATEST")

    def payloads(self) -> list[dict[str, object]]:
        return [json.loads(r.payload) for r in self.received]


START = datetime(2026, 3, 4, 5, 0, 0, tzinfo=timezone.utc)
Scenario = Callable[[EventBridge, MemoryStore, FakeInvoker], Awaitable[None]]


def run(scenario: Scenario, invoker: FakeInvoker | None = None, **settings: object) -> None:
    async def main() -> None:
        store = MemoryStore()
        fake = invoker or FakeInvoker()
        fast = {"events_retry_base_seconds": 0.01, "events_outbox_poll_seconds": 0.01, **settings}
        s = Settings(**fast)  # type: ignore[arg-type]
        eb = EventBridge(store, fake, s, Timers(FakeClock(START)))
        await eb.start()
        try:
            await scenario(eb, store, fake)
        finally:
            await eb.close()

    asyncio.run(main())


async def settled(store: MemoryStore) -> None:
    """Until the store holds no undelivered bus event (a deadline fails the test)."""
    async with asyncio.timeout(10):
        while await store.list_bus_events():
            await asyncio.sleep(0.005)


async def put(eb: EventBridge, **entry: object) -> str:
    (result,) = await eb.bus.put_events([{"Source": "shop", "DetailType": "Order", "Detail": '{"n": 1}', **entry}])
    assert not isinstance(result, Rejected), result
    return result.event_id


def test_rules_are_validated_before_anything_is_written() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        with pytest.raises(ValidationError, match=r"EventPattern or ScheduleExpression must be specified"):
            await c.put_rule("r", None, event_pattern=None, schedule=None, state=None, description=None,
                             role_arn=None, tags=None)  # fmt: skip
        with pytest.raises(InvalidEventPattern):
            await c.put_rule("r", None, event_pattern="[1]", schedule=None, state=None, description=None,
                             role_arn=None, tags=None)  # fmt: skip
        with pytest.raises(ValidationError, match="Parameter ScheduleExpression is not valid."):
            await c.put_rule("r", None, event_pattern=None, schedule="rate(0 minutes)", state=None,
                             description=None, role_arn=None, tags=None)  # fmt: skip
        await c.create_bus("orders", None, {})
        with pytest.raises(ValidationError, match="supported only on the default event bus"):
            await c.put_rule("r", "orders", event_pattern=None, schedule="rate(5 minutes)", state=None,
                             description=None, role_arn=None, tags=None)  # fmt: skip
        assert await store.list_resources("events/rule") == []
        with pytest.raises(ValidationError, match="Cannot delete event bus default."):
            await c.delete_bus("default")

    run(scenario)


def test_a_rule_with_targets_is_not_deleted_and_the_state_survives_a_reload() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        rule = await c.put_rule("r", None, event_pattern=PATTERN, schedule=None, state=None, description="d",
                                role_arn=None, tags={"k": "v"})  # fmt: skip
        failed = await c.put_targets("r", None, [{"Id": "a", "Arn": FN + "f"},
                                                 {"Id": "b", "Arn": FN + "g", "Input": "{not json"}])  # fmt: skip
        assert [(f.target_id, f.code) for f in failed] == [("b", "ValidationException")]
        with pytest.raises(ValidationError, match="Rule can't be deleted since it has targets."):
            await c.delete_rule("r", None, False)
        again = EventBridge(store, fake, Settings(), Timers(FakeClock(START)))
        await again.control.load()
        assert again.control.rule("r", None) == rule
        assert [t.id for t in again.control.targets(rule)] == ["a"]
        await c.remove_targets("r", None, ["a"])
        await c.delete_rule("r", None, False)
        assert await store.list_resources("events/rule") == await store.list_resources("events/target") == []

    run(scenario)


def test_matching_events_reach_function_targets_as_the_envelope_or_constant_input() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        await c.put_rule("r", None, event_pattern=PATTERN, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_rule("off", None, event_pattern=PATTERN, schedule=None, state="DISABLED", description=None,
                         role_arn=None, tags=None)  # fmt: skip
        queue = "arn:aws:sqs:us-east-1:000000000000:q"
        await c.put_targets("r", None, [{"Id": "whole", "Arn": FN + "f"},
                                        {"Id": "const", "Arn": FN + "g", "Input": '{"fixed": true}'},
                                        {"Id": "queue", "Arn": queue}])  # fmt: skip
        await c.put_targets("off", None, [{"Id": "t", "Arn": FN + "f"}])
        await put(eb, Source="elsewhere")  # matches no rule: accepted, stored nowhere
        assert await store.list_bus_events() == []
        event_id = await put(eb)
        await settled(store)
        assert sorted(r.function for r in fake.received) == [FN + "f", FN + "g"]
        assert all(r.invocation_type == "Event" for r in fake.received)
        by_fn = {r.function: json.loads(r.payload) for r in fake.received}
        assert by_fn[FN + "g"] == {"fixed": True}
        assert by_fn[FN + "f"]["id"] == event_id and by_fn[FN + "f"]["detail"] == {"n": 1}
        (waiting,) = await store.list_outbox(queue, 0, 10)  # a service Lamina does not serve yet
        assert (waiting.kind, waiting.request_id, json.loads(waiting.body)) == ("event", event_id, by_fn[FN + "f"])

    run(scenario)


def test_a_throttled_delivery_is_retried_until_accepted() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        await eb.control.put_rule("r", None, event_pattern=PATTERN, schedule=None, state=None, description=None,
                                  role_arn=None, tags=None)  # fmt: skip
        await eb.control.put_targets("r", None, [{"Id": "t", "Arn": FN + "f"}])
        fake.throttles = 3
        await put(eb)
        await settled(store)
        assert len(fake.received) == 1 and fake.throttles == 0
        assert await store.list_outbox(None, 0, 10) == []

    run(scenario)


def test_given_up_deliveries_go_to_the_dead_letter_queue_with_eventbridges_attributes() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
        await eb.control.put_rule("r", None, event_pattern=PATTERN, schedule=None, state=None, description=None,
                                  role_arn=None, tags=None)  # fmt: skip
        await eb.control.put_targets("r", None, [
            {"Id": "missing", "Arn": FN + "nope", "DeadLetterConfig": {"Arn": dlq}},
            {"Id": "busy", "Arn": FN + "f", "DeadLetterConfig": {"Arn": dlq},
             "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 600}},
        ])  # fmt: skip
        fake.throttles = 100
        event_id = await put(eb)
        await settled(store)
        letters = {m.attributes["TARGET_ARN"]["StringValue"]: m for m in await store.list_outbox(dlq, 0, 10)}
        assert set(letters) == {FN + "nope", FN + "f"}
        missing, busy = letters[FN + "nope"], letters[FN + "f"]
        assert json.loads(missing.body)["id"] == event_id and missing.request_id == event_id
        attrs = {k: v["StringValue"] for k, v in missing.attributes.items()}
        assert attrs == {"RULE_ARN": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r", "TARGET_ARN": FN + "nope",
                         "ERROR_CODE": "NO_RESOURCE", "ERROR_MESSAGE": f"Function not found: {FN}nope",
                         "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "0"}  # fmt: skip
        assert busy.attributes["ERROR_CODE"]["StringValue"] == "THROTTLING"
        assert busy.attributes["RETRY_ATTEMPTS"]["StringValue"] == "1"
        assert fake.received == []

    run(scenario)


def test_a_bus_target_passes_the_event_on_with_its_id() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        await c.create_bus("audit", None, {})
        await c.put_rule("fwd", None, event_pattern=PATTERN, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("fwd", None, [{"Id": "bus", "Arn": c.bus_arn("audit")}])
        await c.put_rule("log", "audit", event_pattern=PATTERN, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("log", "audit", [{"Id": "fn", "Arn": FN + "f"}])
        # Not routed on to a third bus, as on EventBridge (nor back: no loop).
        await c.create_bus("third", None, {})
        await c.put_rule("on", "audit", event_pattern=PATTERN, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("on", "audit", [{"Id": "third", "Arn": c.bus_arn("third")},
                                            {"Id": "back", "Arn": c.bus_arn("default")}])  # fmt: skip
        await c.put_rule("last", "third", event_pattern=PATTERN, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("last", "third", [{"Id": "fn", "Arn": FN + "g"}])
        event_id = await put(eb)
        await settled(store)
        (payload,) = fake.payloads()
        assert payload["id"] == event_id and payload["source"] == "shop"
        assert [r.function for r in fake.received] == [FN + "f"]

    run(scenario)


def test_a_scheduled_rule_fires_the_scheduled_event_at_its_targets_only() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        rule = await c.put_rule("tick", None, event_pattern=None, schedule="rate(1 minute)", state=None,
                                description=None, role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("tick", None, [{"Id": "t", "Arn": FN + "f"}])
        at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
        event_id = await eb.bus.fire_scheduled(rule.key, at)
        await settled(store)
        (payload,) = fake.payloads()
        assert payload == {"version": "0", "id": event_id, "detail-type": "Scheduled Event", "source": "aws.events",
                           "account": ACCOUNT, "time": "2026-03-04T05:06:07Z", "region": "us-east-1",
                           "resources": [c.rule_arn(rule)], "detail": {}}  # fmt: skip
        assert c.scheduled_rules() == [("default/tick", "rate(1 minute)")]
        await c.set_state("tick", None, "DISABLED")
        assert c.scheduled_rules() == []
        assert await eb.bus.fire_scheduled(rule.key, at) is None

    run(scenario)


def test_scheduled_rules_are_armed_in_the_timers_and_fire_through_them() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c, timers = eb.control, eb.scheduled._timers
        clock = timers.clock
        assert isinstance(clock, FakeClock)
        await timers.start()
        try:
            tick = await c.put_rule("tick", None, event_pattern=None, schedule="rate(5 minutes)", state=None,
                                    description=None, role_arn=None, tags=None)  # fmt: skip
            await c.put_targets("tick", None, [{"Id": "t", "Arn": FN + "f"}])
            await c.put_rule("nightly", None, event_pattern=None, schedule="cron(0 3 * * ? *)", state=None,
                             description=None, role_arn=None, tags=None)  # fmt: skip
            assert timers.next_firing("events/rule/default/tick") == START + timedelta(minutes=5)
            assert timers.next_firing("events/rule/default/nightly") == datetime(2026, 3, 5, 3, tzinfo=timezone.utc)
            clock.advance(5 * 60)
            await timers.idle()
            await settled(store)
            (payload,) = fake.payloads()
            assert (payload["detail-type"], payload["resources"]) == ("Scheduled Event", [c.rule_arn(tick)])
            assert payload["time"] == "2026-03-04T05:05:00Z"
            # Disabled, replaced by a pattern, deleted: no timer is left behind.
            await c.set_state("tick", None, "DISABLED")
            assert timers.next_firing("events/rule/default/tick") is None
            await c.set_state("tick", None, "ENABLED")
            assert timers.next_firing("events/rule/default/tick") is not None
            await c.put_rule("nightly", None, event_pattern='{"source": ["x"]}', schedule=None, state=None,
                             description=None, role_arn=None, tags=None)  # fmt: skip
            assert timers.next_firing("events/rule/default/nightly") is None
            await c.remove_targets("tick", None, ["t"])
            await c.delete_rule("tick", None, force=False)
            assert timers.next_firing("events/rule/default/tick") is None
            with pytest.raises(ValidationError):  # one-time schedules are EventBridge Scheduler's
                await c.put_rule("once", None, event_pattern=None, schedule="at(2030-01-01T00:00:00)", state=None,
                                 description=None, role_arn=None, tags=None)  # fmt: skip
        finally:
            await timers.close()

    run(scenario)


def test_destination_records_for_a_bus_leave_the_outbox_for_the_bus() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        pattern = json.dumps({"source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]})
        await c.put_rule("results", None, event_pattern=pattern, schedule=None, state=None, description=None,
                         role_arn=None, tags=None)  # fmt: skip
        await c.put_targets("results", None, [{"Id": "t", "Arn": FN + "g"}])
        record = {"version": "1.0", "requestContext": {"requestId": "r-1", "functionArn": FN + "f:$LATEST",
                                                       "condition": "Success"}, "responsePayload": 42}  # fmt: skip
        sqs = OutboxMessage("arn:aws:sqs:us-east-1:000000000000:q", DESTINATION, "f", "r-0", b"{}", {}, 1)
        bus = OutboxMessage(c.bus_arn("default"), DESTINATION, "f", "r-1", json.dumps(record).encode(), {}, 1)
        seq = await store.enqueue_event(QueuedEvent("r", "f", None, 0, 0), EventContent(b"{}"))
        await store.finish_event(seq, (), [sqs, bus])
        async with asyncio.timeout(10):
            await fake.arrived.wait()
        (payload,) = fake.payloads()
        assert payload["source"] == "lambda" and payload["detail"] == record
        assert payload["resources"] == [c.bus_arn("default"), FN + "f:$LATEST"]
        assert [m.target for m in await store.list_outbox(None, 0, 10)] == [sqs.target]

    run(scenario)


def test_pages_follow_the_last_name_and_arns_name_bus_and_rule() -> None:
    from lamina.events.service import paginate

    names = ["a", "b", "c", "d", "e"]
    page, token = paginate(names, None, 2)
    assert page == ["a", "b"] and token
    page, token = paginate(names, token, 2)
    assert page == ["c", "d"] and token
    assert paginate(names, token, 2) == (["e"], None)
    with pytest.raises(ValidationError, match="NextToken"):
        paginate(names, "%%%", 2)
    s = Settings()
    assert model.rule_arn(s, "default", "r") == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    assert model.rule_arn(s, "orders", "r") == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orders/r"
    assert model.parse_rule_arn(s, model.rule_arn(s, "orders", "r")) == ("orders", "r")
    assert model.parse_rule_arn(s, model.rule_arn(s, "default", "r")) == ("default", "r")
    assert model.local_bus_name(s, model.bus_arn(s, "orders")) == "orders"
    assert model.local_bus_name(s, "arn:aws:events:eu-west-1:111111111111:event-bus/x") is None


def test_put_rule_replaces_a_rule_keeping_only_its_tags() -> None:
    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        await c.put_rule("r", None, event_pattern=PATTERN, schedule=None, state="DISABLED", description="d",
                         role_arn="arn:aws:iam::000000000000:role/x", tags={"k": "v"})  # fmt: skip
        again = await c.put_rule("r", None, event_pattern=None, schedule="rate(5 minutes)", state=None,
                                 description=None, role_arn=None, tags={"other": "x"})  # fmt: skip
        assert (again.state, again.event_pattern, again.description, again.role_arn) == ("ENABLED", None, None, None)
        assert again.tags == {"k": "v"}
        assert c.matching("default", {"source": "shop"}) == ()  # no pattern any more: it matches nothing

    run(scenario)


def test_the_bus_matches_what_testing_every_enabled_rule_of_the_bus_matches() -> None:
    """``matching`` goes through each bus's ``PatternIndex``; the index follows PutRule (new and
    replaced patterns), DeleteRule, DisableRule and EnableRule, and rules of other buses stay out."""

    async def scenario(eb: EventBridge, store: MemoryStore, fake: FakeInvoker) -> None:
        c = eb.control
        await c.create_bus("other", None, {})
        rnd = random.Random(11)
        rules: dict[str, tuple[str, str]] = {}  # key -> (bus, pattern text), as a rule stands now
        enabled: dict[str, bool] = {}

        async def put_rule(name: str, bus: str, pattern: dict[str, object]) -> None:
            text = json.dumps(pattern)
            await c.put_rule(name, bus, event_pattern=text, schedule=None, state=None, description=None,
                             role_arn=None, tags=None)  # fmt: skip
            await c.put_targets(name, bus, [{"Id": "t1", "Arn": FN + "f"}, {"Id": "t2", "Arn": FN + "g"}])
            rules[f"{bus}/{name}"], enabled[f"{bus}/{name}"] = (bus, text), True

        def bus_of(i: int) -> str:
            return "other" if i % 7 == 0 else "default"

        for i in range(120):
            await put_rule(f"r{i}", bus_of(i), matcher.rule(i, rnd))
        events = [matcher.event(rnd) for _ in range(60)]

        compiled: dict[str, Pattern] = {}  # each pattern text compiled once, not once an event

        def expected(bus: str, event: dict[str, object]) -> tuple[Delivery, ...]:
            def matches(text: str) -> bool:
                return (compiled.get(text) or compiled.setdefault(text, compile_pattern(text))).matches(event)

            return tuple(Delivery(key, t) for key, (b, text) in rules.items()
                         if b == bus and enabled[key] and matches(text)
                         for t in ("t1", "t2"))  # fmt: skip

        def check() -> int:
            matched = 0
            for event in events:
                for bus in ("default", "other"):
                    want = expected(bus, event)
                    assert c.matching(bus, event) == want, (bus, event)
                    matched += len(want)
            return matched

        assert check() > 60  # the rules do match events
        for i in range(0, 120, 5):  # patterns replaced
            await put_rule(f"r{i}", bus_of(i), matcher.rule(i + 1, rnd))
        check()
        for i in range(1, 120, 9):
            await c.set_state(f"r{i}", bus_of(i), model.DISABLED)
            enabled[f"{bus_of(i)}/r{i}"] = False
        check()
        for i in range(3, 120, 11):
            await c.remove_targets(f"r{i}", bus_of(i), ["t1", "t2"])
            await c.delete_rule(f"r{i}", bus_of(i), False)
            del rules[f"{bus_of(i)}/r{i}"], enabled[f"{bus_of(i)}/r{i}"]
        assert check() > 0
        for i in (i for i in range(1, 120, 18) if f"{bus_of(i)}/r{i}" in rules):
            await c.set_state(f"r{i}", bus_of(i), model.ENABLED)
            enabled[f"{bus_of(i)}/r{i}"] = True
        check()
        await put_rule("everything", "default", {"version": ["0"]})
        check()
        assert c.matching("default", events[0])[-2:] == (Delivery("default/everything", "t1"),
                                                          Delivery("default/everything", "t2"))  # fmt: skip

    run(scenario)
