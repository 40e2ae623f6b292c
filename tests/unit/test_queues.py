"""The embedded queues' pure parts: MD5s, message and queue validation, FIFO deduplication, and
which messages a receive takes, with plain values."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from lamina.queues import fifo, messages, model, moves, permissions
from lamina.queues.errors import InvalidAttributeName, InvalidAttributeValue, InvalidMessageContents
from lamina.queues.errors import InvalidParameterValue, OverLimit
from lamina.queues.messages import MessageAttribute
from lamina.queues.receiving import Held, backlog, choose, counts, next_visible_ms
from lamina.store.base import QueueMessage


def test_md5s_are_those_sqs_gives() -> None:
    # A message AWS delivered (a Lambda SQS event's md5OfMessageAttributes) and the body's plain MD5.
    assert messages.md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    assert messages.md5_of_attributes({"sample-attribute": MessageAttribute("String", "sample-value")}) == (
        "7c815262be77a62f56671125069ca888"
    )
    assert messages.md5_of_attributes({}) is None


def test_md5_of_attributes_sorts_names_and_marks_binary_values() -> None:
    a = {"b": MessageAttribute("Number", "1"), "a": MessageAttribute("Binary", binary_value=b"\x00\x01")}
    assert messages.md5_of_attributes(a) == messages.md5_of_attributes(dict(reversed(list(a.items()))))
    as_string = {"a": MessageAttribute("String", "\x00\x01"), "b": a["b"]}
    assert messages.md5_of_attributes(a) != messages.md5_of_attributes(as_string)


def test_message_attributes_are_parsed_and_checked_as_sqs_does() -> None:
    parsed = messages.parse_attributes({
        "s": {"DataType": "String.custom", "StringValue": "x"},
        "n": {"DataType": "Number", "StringValue": "1.5"},
        "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\xff").decode()},
    })  # fmt: skip
    assert parsed["b"] == MessageAttribute("Binary", binary_value=b"\xff")
    assert messages.decode(messages.encode(parsed)) == parsed
    bad = [
        {"AWS.x": {"DataType": "String", "StringValue": "v"}},
        {"a..b": {"DataType": "String", "StringValue": "v"}},
        {"a": {"DataType": "Str", "StringValue": "v"}},
        {"a": {"DataType": "String", "StringValue": ""}},
        {"a": {"DataType": "Number", "StringValue": "one"}},
        {"a": {"DataType": "Binary", "BinaryValue": "!!"}},
        {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)},
    ]
    for raw in bad:
        with pytest.raises(InvalidParameterValue):
            messages.parse_attributes(raw)


def test_bodies_outside_sqs_characters_or_too_long_are_refused() -> None:
    messages.check_body("tab\tnewline\n emoji \U0001f600")
    with pytest.raises(InvalidMessageContents):
        messages.check_body("bell \x07")
    with pytest.raises(InvalidParameterValue):
        messages.check_body("")
    attributes = {"k": MessageAttribute("String", "vv")}
    assert messages.message_size("abc", attributes) == 3 + 1 + len("String") + 2
    messages.check_size("x" * 1024, {}, 1024)
    with pytest.raises(InvalidParameterValue, match="shorter than 1024 bytes"):
        messages.check_size("x" * 1020, attributes, 1024)


def test_system_attributes_are_stored_beside_message_attributes_and_kept_apart() -> None:
    stored = messages.encode({"k": MessageAttribute("String", "v")}, {"AWSTraceHeader": "Root=1-a"})
    assert messages.decode(stored) == {"k": MessageAttribute("String", "v")}
    assert messages.system_of(stored) == {"AWSTraceHeader": "Root=1-a"}
    moved = messages.with_system(stored, "DeadLetterQueueSourceArn", "arn:aws:sqs:us-east-1:000000000000:q")
    source = "arn:aws:sqs:us-east-1:000000000000:q"
    assert messages.system_of(moved) == {"AWSTraceHeader": "Root=1-a", "DeadLetterQueueSourceArn": source}
    assert messages.decode(moved) == messages.decode(stored) and messages.system_of(messages.encode({})) == {}
    trace = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-a"}}
    assert messages.parse_system_attributes(trace) == {"AWSTraceHeader": MessageAttribute("String", "Root=1-a")}
    for bad in [{"Other": trace["AWSTraceHeader"]}, {"AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}},
                {"AWSTraceHeader": "Root=1-a"}, ["AWSTraceHeader"]]:  # fmt: skip
        with pytest.raises(InvalidParameterValue):
            messages.parse_system_attributes(bad)


def test_message_attribute_names_select_all_names_and_prefixes() -> None:
    a = {n: MessageAttribute("String", "v") for n in ("foo.a", "foo.b", "bar", "foobar")}
    assert set(messages.select(a, ["All"])) == set(a)
    assert set(messages.select(a, ["foo.*", "bar"])) == {"foo.a", "foo.b", "bar"}
    assert messages.select(a, None) == {}


def test_queue_attributes_are_checked_and_normalised() -> None:
    assert model.normalise({"VisibilityTimeout": "007", "DelaySeconds": "900"}, fifo=False, creating=True) == {
        "VisibilityTimeout": "7", "DelaySeconds": "900",
    }  # fmt: skip
    for name, value in [("DelaySeconds", "901"), ("VisibilityTimeout", "-1"), ("MaximumMessageSize", "1048577"),
                        ("MessageRetentionPeriod", "59"), ("ReceiveMessageWaitTimeSeconds", "x")]:  # fmt: skip
        with pytest.raises(InvalidAttributeValue, match=f"parameter {name}"):
            model.normalise({name: value}, fifo=False, creating=True)
    with pytest.raises(InvalidAttributeName, match="Unknown Attribute Colour."):
        model.normalise({"Colour": "red"}, fifo=False, creating=True)
    with pytest.raises(InvalidAttributeName):  # a FIFO queue's attribute on a standard queue
        model.normalise({"ContentBasedDeduplication": "true"}, fifo=False, creating=True)
    with pytest.raises(InvalidAttributeName):  # FifoQueue is for CreateQueue only
        model.normalise({"FifoQueue": "true"}, fifo=True, creating=False)
    dlq = "arn:aws:sqs:us-east-1:000000000000:d"
    given = json.dumps({"deadLetterTargetArn": dlq, "maxReceiveCount": "3"})
    policy = model.normalise({"RedrivePolicy": given}, fifo=False, creating=True)
    assert policy["RedrivePolicy"] == '{"deadLetterTargetArn":"%s","maxReceiveCount":3}' % dlq
    assert model.redrive_policy(policy) == model.RedrivePolicy(dlq, 3)
    for text in ["nope", "[]", '{"maxReceiveCount": 3}', '{"deadLetterTargetArn": "x", "maxReceiveCount": 3}',
                 '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:d", "maxReceiveCount": 0}']:  # fmt: skip
        with pytest.raises(InvalidParameterValue, match="RedrivePolicy"):
            model.normalise({"RedrivePolicy": text}, fifo=False, creating=True)


def test_queue_names_urls_and_arns() -> None:
    model.check_name("orders-1_a", fifo=False)
    model.check_name("orders.fifo", fifo=True)
    for name, is_fifo in [("orders.fifo", False), ("orders", True), ("a b", False), ("x" * 81, False), ("", False)]:
        with pytest.raises(InvalidParameterValue):
            model.check_name(name, is_fifo)
    assert model.name_from_url("http://localhost:4566/000000000000/q") == ("000000000000", "q")
    assert model.name_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo") == ("123456789012", "q.fifo")
    assert model.name_from_url("q") == (None, "q")
    assert model.name_from_url("http://h/a/b/c") is None
    assert model.arn_parts("arn:aws:sqs:eu-west-1:123456789012:q") == ("eu-west-1", "123456789012", "q")
    assert model.arn_parts("arn:aws:sns:eu-west-1:123456789012:q") is None


def test_redrive_allow_policy_decides_which_sources_may_use_a_dead_letter_queue() -> None:
    source = "arn:aws:sqs:us-east-1:000000000000:src"
    assert model.allows_source({}, source)
    assert not model.allows_source({"RedriveAllowPolicy": '{"redrivePermission":"denyAll"}'}, source)
    by_queue = {"RedriveAllowPolicy": json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source]})}
    assert model.allows_source(by_queue, source)
    assert not model.allows_source(by_queue, source + "2")


def test_permissions_are_statements_of_the_queue_policy_by_label() -> None:
    arn = "arn:aws:sqs:us-east-1:000000000000:q"
    one = permissions.add(None, arn, "send", ["111122223333"], ["SendMessage"])
    assert json.loads(one) == {"Version": "2012-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": [
        {"Sid": "send", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
         "Action": "SQS:SendMessage", "Resource": arn}]}  # fmt: skip
    two = permissions.add(one, arn, "both", ["111122223333", "444455556666"], ["ReceiveMessage", "*"])
    second = json.loads(two)["Statement"][1]
    assert second["Principal"]["AWS"] == ["arn:aws:iam::111122223333:root", "arn:aws:iam::444455556666:root"]
    assert second["Action"] == ["SQS:ReceiveMessage", "SQS:*"]
    assert json.loads(permissions.remove(two, arn, "send"))["Statement"] == [second]
    assert permissions.remove(one, arn, "send") == ""
    refusals = [
        lambda: permissions.add(one, arn, "send", ["111122223333"], ["SendMessage"]),  # the label exists
        lambda: permissions.add(one, arn, "bad label", ["111122223333"], ["SendMessage"]),
        lambda: permissions.add(one, arn, "x", ["111122223333"], ["Fly"]),
        lambda: permissions.add(one, arn, "x", ["alice"], ["SendMessage"]),
        lambda: permissions.add(one, arn, "x", [], ["SendMessage"]),
        lambda: permissions.remove(one, arn, "absent"),
    ]
    for refused in refusals:
        with pytest.raises(InvalidParameterValue):
            refused()
    full = None
    for i in range(permissions.MAX_STATEMENTS):
        full = permissions.add(full, arn, f"p{i}", ["111122223333"], ["SendMessage"])
    with pytest.raises(OverLimit):
        permissions.add(full, arn, "one-more", ["111122223333"], ["SendMessage"])


def test_the_deduplication_window_lasts_five_minutes() -> None:
    window: fifo.Window[str] = fifo.Window()
    key = fifo.key("d", "g", "queue")
    window.remember(key, "m-1", now_ms=1000)
    assert window.seen(key, 1000 + fifo.WINDOW_MS - 1) == "m-1"
    assert window.seen(key, 1000 + fifo.WINDOW_MS) is None
    assert fifo.key("d", "g1", "messageGroup") != fifo.key("d", "g2", "messageGroup")
    assert fifo.key("d", "g1", "queue") == fifo.key("d", "g2", "queue")
    assert fifo.content_id("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def held(seq: int, visible_ms: int = 0, receive_count: int = 0, group: str | None = None, sent_ms: int = 0) -> Held:
    return Held(QueueMessage("q", f"m{seq}", "b", "{}", sent_ms, visible_ms, group_id=group, seq=seq),
                visible_ms, receive_count)  # fmt: skip


def take(messages: list[Held], now: int = 100, limit: int = 10, *, is_fifo: bool = False,
         max_receives: int | None = None) -> list[int]:  # fmt: skip
    choice = choose(messages, now, limit, fifo=is_fifo, retention_ms=10_000, max_receive_count=max_receives)
    return [h.seq for h in choice.deliver]


def test_a_receive_attempt_holds_while_none_of_its_messages_changed() -> None:
    messages = {1: held(1, visible_ms=500, receive_count=1), 2: held(2, visible_ms=500, receive_count=1)}
    earlier = fifo.attempt([messages[2], messages[1]])
    assert fifo.retried(earlier, messages) == [messages[2], messages[1]]  # in the order first given
    assert fifo.retried(earlier, {2: messages[2]}) is None  # one deleted
    received_again = {**messages, 1: held(1, visible_ms=500, receive_count=2)}
    assert fifo.retried(earlier, received_again) is None
    visibility_changed = {**messages, 1: held(1, visible_ms=900, receive_count=1)}
    assert fifo.retried(earlier, visibility_changed) is None


def test_fifo_ids_are_ascii_letters_digits_and_punctuation_up_to_128() -> None:
    for good in ["a", "A-9_x", "a" * 128, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"]:
        fifo.check_id("ReceiveRequestAttemptId", good)
    for bad in ["", "a" * 129, "a b", "caf\u00e9", "tab\t"]:
        with pytest.raises(InvalidParameterValue, match="parameter MessageGroupId is invalid"):
            fifo.check_id("MessageGroupId", bad)


def test_a_window_entry_updated_keeps_its_expiry() -> None:
    window: fifo.Window[str] = fifo.Window()
    window.remember("k", "first", now_ms=0)
    window.update("k", "second")
    window.update("absent", "x")
    assert window.seen("k", fifo.WINDOW_MS - 1) == "second" and window.seen("absent", 0) is None
    assert window.seen("k", fifo.WINDOW_MS) is None


def test_a_move_step_sends_the_tasks_available_messages_to_their_source_or_the_destination_given() -> None:
    source = "arn:aws:sqs:us-east-1:000000000000:work"
    elsewhere = source.replace("work", "elsewhere")

    def came(seq: int, **kw: int) -> Held:
        message = held(seq, **kw)
        message.stored = dataclasses.replace(message.stored,
                                             attributes=messages.encode({}, {"DeadLetterQueueSourceArn": source}))
        return message

    # 3 is in flight, 5 came after the task started (it covers up to 4): neither is moved.
    queue = [came(1), came(2), came(3, visible_ms=500, receive_count=1), came(4), came(5)]

    def exists(arn: str) -> bool:
        return arn in (source, elsewhere)

    back = moves.step(queue, 100, 4, None, exists)
    assert [(h.seq, arn) for h, arn in back.moves] == [(1, source), (2, source), (4, source)]
    assert back.done and back.failure is None
    first = moves.step(queue, 100, 4, elsewhere, exists, limit=2)
    assert [(h.seq, arn) for h, arn in first.moves] == [(1, elsewhere), (2, elsewhere)] and not first.done
    assert moves.step([], 100, 4, None, exists) == moves.Step(done=True)

    # The first message with nowhere to go fails the task; those before it are moved.
    gone = moves.step(queue, 100, 4, None, lambda arn: False)
    assert gone.moves == [] and gone.failure == moves.NO_QUEUE
    unknown = moves.step([came(1), held(2), came(3)], 100, 4, None, exists)
    assert [h.seq for h, _ in unknown.moves] == [1] and unknown.failure == moves.NO_SOURCE

    handle = moves.task_handle(source)
    assert moves.source_of_handle(handle) == source and moves.source_of_handle("not a handle") is None


def test_a_move_task_keeps_its_pace_and_is_stored_as_it_is() -> None:
    assert moves.pause_s(10, 5) == 2.0 and moves.pause_s(10, None) == 10 / moves.DEFAULT_RATE
    assert (moves.batch(1), moves.batch(7), moves.batch(500), moves.batch(None)) == (1, 7, moves.BATCH, moves.BATCH)
    task = moves.MoveTask("h", "arn:src", None, 7, 1000, 3, 42, moved=2, status=moves.FAILED, failure=moves.NO_QUEUE)
    assert moves.MoveTask.from_doc(json.loads(json.dumps(task.doc()))) == task
    assert not task.active and moves.MoveTask("h", "a", "b", None, 0, 0, 0).active


def test_a_standard_queue_serves_available_messages_oldest_first() -> None:
    queue = [held(1), held(2, visible_ms=500), held(3), held(4)]
    assert take(queue) == [1, 3, 4]
    assert take(queue, limit=2) == [1, 3]
    assert take(queue, now=500) == [1, 2, 3, 4]


def test_a_fifo_queue_holds_a_group_back_while_its_oldest_message_is_in_flight() -> None:
    queue = [held(1, visible_ms=500, receive_count=1, group="a"), held(2, group="a"), held(3, group="b"),
             held(4, group="a"), held(5, group="b")]  # fmt: skip
    assert take(queue, is_fifo=True) == [3, 5]
    assert take(queue, now=500, is_fifo=True) == [1, 2, 4, 3, 5]  # a group's messages together
    assert take(queue, is_fifo=False) == [2, 3, 4, 5]


def test_a_fifo_receive_takes_as_many_of_one_group_as_it_can_before_the_next() -> None:
    queue = [held(1, group="a"), held(2, group="b"), held(3, group="a"), held(4, group="c"), held(5, group="b"),
             held(6, group="a")]  # fmt: skip
    assert take(queue, is_fifo=True, limit=2) == [1, 3]
    assert take(queue, is_fifo=True, limit=4) == [1, 3, 6, 2]
    assert take(queue, is_fifo=True) == [1, 3, 6, 2, 5, 4]
    assert take(queue[1:], is_fifo=True, limit=3) == [2, 5, 3]  # the group of the oldest message first
    assert take(queue, is_fifo=False, limit=4) == [1, 2, 3, 4]
    spread = [held(i, group=f"g{i}") for i in range(1, 31)] + [held(31, group="g1")]
    assert take(spread, is_fifo=True, limit=2) == [1, 2]  # g1's second is beyond the look ahead (20)
    assert take(spread, is_fifo=True, limit=4) == [1, 31, 2, 3]  # within it (40)


def test_receives_past_max_receive_count_go_to_the_dead_letter_queue_and_old_messages_expire() -> None:
    queue = [held(1, receive_count=3), held(2, receive_count=2), held(3, sent_ms=-20_000)]
    choice = choose(queue, 100, 10, fifo=False, retention_ms=10_000, max_receive_count=3)
    assert [h.seq for h in choice.deliver] == [2]
    assert [h.seq for h in choice.redrive] == [1]
    assert [h.seq for h in choice.expire] == [3]
    assert take(queue[:2], max_receives=None) == [1, 2]


def test_counts_and_the_next_message_to_become_visible() -> None:
    queue = [held(1), held(2, visible_ms=300, receive_count=1), held(3, visible_ms=200)]
    assert counts(queue, 100) == counts(queue, 199)
    c = counts(queue, 100)
    assert (c.visible, c.not_visible, c.delayed) == (1, 1, 1)
    assert next_visible_ms(queue, 100) == 200
    assert next_visible_ms(queue, 300) is None


def test_backlog_counts_visible_and_in_flight_messages_and_the_oldest_visible_ones_age() -> None:
    queue = [held(1, sent_ms=500, visible_ms=99_000, receive_count=1), held(2, sent_ms=1_000, visible_ms=1_000),
             held(3, sent_ms=4_000, visible_ms=4_000), held(4, sent_ms=6_000, visible_ms=20_000)]  # fmt: skip
    # 1 is in flight (sent first, yet not waiting), 4 is delayed: neither visible nor in flight
    assert backlog(queue, 10_000) == (2, 1, 9.0)
    assert backlog(queue, 20_000) == (3, 1, 19.0)
    assert backlog(queue, 99_000) == (4, 0, 98.5)
    assert backlog([], 10_000) == (0, 0, None)
