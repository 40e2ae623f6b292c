"""Kafka mappings' pure parts: the event, the filter view, the on-failure record, the options and
what a settled batch comes to."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.mappings.filters import Filters
from lamina.mappings.kafka import options
from lamina.mappings.kafka.batch import Batch
from lamina.mappings.kafka.records import (
    Encoder, Failure, Message, event, event_of, filter_view, kafka_record, on_failure_record, view_of,
)  # fmt: skip
from lamina.mappings.kafka.settling import Settlement, Status, settle
from lamina.mappings.source import Lazy

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "aws_events" / "kafka-self-managed-event.json"
SERVERS = {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1.example.com:9092"]}}


def message(value: bytes | None, offset: int = 15, key: bytes | None = b"recordKey") -> Message:
    return Message(topic="mytopic", partition=0, offset=offset, timestamp=1545084650987, timestamp_type=0, key=key,
                   value=value, headers=[("headerKey", b"headerValue")])  # fmt: skip


def test_the_event_is_awss_sample_but_for_its_event_source() -> None:
    sample = json.loads(SAMPLE.read_text())
    record = kafka_record(message(b'{"key":"value"}'))
    got = json.loads(event(sample["bootstrapServers"], [record]))
    assert got == {**sample, "eventSource": "SelfManagedKafka"}  # with-kafka.md's value


def test_records_are_grouped_by_topic_and_partition_in_order() -> None:
    records = [kafka_record(message(b"a", offset=1)), kafka_record(message(b"b", offset=2))]
    other = kafka_record(Message("other", 3, 7, 1, 1, None, b"c", []))
    got = json.loads(event("h:1", [records[0], other, records[1]]))["records"]
    assert [r["offset"] for r in got["mytopic-0"]] == [1, 2]
    assert got["other-3"] == [{"topic": "other", "partition": 3, "offset": 7, "timestamp": 1,
                               "timestampType": "LOG_APPEND_TIME", "value": base64.b64encode(b"c").decode(),
                               "headers": []}]  # fmt: skip


def test_filters_see_json_values_parsed_plain_ones_as_strings_and_others_not_at_all() -> None:
    keep = Filters((json.dumps({"value": {"kind": ["keep"]}}),))
    by_text = Filters((json.dumps({"value": ["hello"]}),))
    by_metadata = Filters((json.dumps({"partition": [0]}),))
    for value, kept in [(b'{"kind": "keep"}', (True, False, True)), (b'{"kind": "drop"}', (False, False, True)),
                        (b"hello", (False, True, True)), (b"\xff\xfe", (False, False, True))]:  # fmt: skip
        view = filter_view(kafka_record(message(value)), message(value))
        assert (keep.keeps(view), by_text.keeps(view), by_metadata.keeps(view)) == kept, value


def test_the_encoder_writes_what_json_dumps_writes_of_the_record() -> None:
    encoder = Encoder()
    messages = [
        message(b'{"key":"value"}'), message(None, key=None), message(b"", offset=0, key=b""),
        Message('t\u00e9"pic\\', 7, 2**40, 0, 5, b"\x00\xff", b"\xfe", [("h\u00e9", b"\x01"), ("e", b""), ("e", b"2")]),
        Message("other", 1, 3, 4, 1, None, b"v", []),
    ]  # fmt: skip
    for m in messages:
        text = encoder.encode(m)
        assert text == json.dumps(kafka_record(m)) and text.isascii(), m


def test_an_event_of_encoded_records_is_the_event_of_the_records() -> None:
    encoder = Encoder()
    first, second = message(b"a", offset=1), message(b"b", offset=2)
    other = Message("other", 3, 7, 1, 1, None, b"c", [])
    got = event_of('h:1,"h":2', {"mytopic-0": [encoder.encode(first), encoder.encode(second)],
                                 "other-3": [encoder.encode(other)]})  # fmt: skip
    want = event('h:1,"h":2', [kafka_record(first), kafka_record(other), kafka_record(second)])
    assert json.loads(got) == json.loads(want)


def test_lazy_records_are_made_on_first_use_only() -> None:
    made: list[bytes | None] = []

    def record(m: Message) -> dict[str, object]:
        made.append(m.value)
        return dict(kafka_record(m))

    lazy = Lazy(record, message(b'{"kind": "keep"}'))
    assert made == []
    assert lazy["offset"] == 15 and dict(lazy) == kafka_record(message(b'{"kind": "keep"}')) and len(lazy) == 8
    assert made == [b'{"kind": "keep"}']  # once
    view = Lazy(view_of, message(b'{"kind": "keep"}'))
    assert Filters((json.dumps({"value": {"kind": ["keep"]}}),)).keeps(view)


def test_a_batch_is_encoded_in_one_loop_as_record_by_record_and_makes_records_only_when_asked() -> None:
    messages = [message(b'{"n": 1}', offset=7), message(None, offset=8, key=None), message(b"\xff", offset=9)]
    texts = Encoder().encode_all(messages)
    assert texts == [Encoder().encode(m) for m in messages] == [json.dumps(kafka_record(m)) for m in messages]
    batch = Batch("mytopic-0", messages, texts)
    assert batch._records is None and len(batch) == 3 and batch.sizes() == [len(t) for t in texts]
    assert (batch.first_offset, batch.last_offset, batch.offsets()) == (7, 9, [7, 8, 9])
    assert [r.id for r in batch] == ["mytopic-0:7", "mytopic-0:8", "mytopic-0:9"]
    assert batch[1].encoded == texts[1] and dict(batch[0].record) == kafka_record(messages[0])
    assert [r.id for r in batch[1:]] == ["mytopic-0:8", "mytopic-0:9"]


def test_the_on_failure_record_describes_the_batch() -> None:
    records = [kafka_record(message(b"a", offset=4)), kafka_record(message(b"b", offset=5))]
    failure = Failure(request_id="r", function_arn="arn:aws:lambda:us-east-1:000000000000:function:f", attempts=3,
                      function_error="Unhandled", executed_version="$LATEST", bootstrap="h:1", consumer_group_id="g",
                      payload_size=10, now_ms=1545084650987)  # fmt: skip
    got = on_failure_record(failure, records)
    assert got["requestContext"] == {"requestId": "r", "functionArn": failure.function_arn,
                                     "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3}  # fmt: skip
    assert got["timestamp"] == "2018-12-17T22:10:50.987Z"
    assert got["KafkaBatchInfo"] == {
        "batchSize": 2, "bootstrapServers": "h:1", "consumerGroupId": "g", "payloadSize": 10,
        "recordsInfo": {"mytopic-0": {"firstRecordOffset": "4", "firstRecordTimestamp": "2018-12-17T22:10:50.987Z",
                                      "lastRecordOffset": "5", "lastRecordTimestamp": "2018-12-17T22:10:50.987Z"}},
    }  # fmt: skip


def test_options_default_as_aws_and_refuse_what_lamina_cannot_do() -> None:
    body = {"SelfManagedEventSource": SERVERS, "Topics": ["orders"], "StartingPosition": "LATEST"}
    parsed = options.parse(body, "the-uuid", window_given=False)
    assert parsed.consumer_group_id == "the-uuid" and parsed.maximum_retry_attempts == -1
    assert parsed.window_seconds(0) == 0.5 and options.parse(body, "u", window_given=True).window_seconds(0) == 0.0
    assert options.KafkaOptions.from_doc(parsed.doc()) == parsed
    given = options.parse({**body, "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId": "mine"},
                           "SourceAccessConfigurations": [{"Type": "VPC_SUBNET", "URI": "subnet:s-1"}]}, "u",
                          window_given=False)  # fmt: skip
    assert given.consumer_group_id == "mine" and given.access == (("VPC_SUBNET", "subnet:s-1"),)
    for change, error in [({"Topics": [".hidden"]}, ValidationError), ({"StartingPosition": "AT_TIMESTAMP"},
                          InvalidParameterValue), ({"SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": "x"}]},
                          InvalidParameterValue), ({"SelfManagedEventSource": {"Endpoints": {"OTHER": ["h:1"]}}},
                          InvalidParameterValue), ({"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:000000000000:t"}}},
                          InvalidParameterValue), ({"MaximumRecordAgeInSeconds": 60}, InvalidParameterValue)]:  # fmt: skip
        with pytest.raises(error):
            options.parse({**body, **change}, "u", window_given=False)
    later = options.updated(parsed, {"MaximumRetryAttempts": 2, "MaximumBatchingWindowInSeconds": 1})
    assert (later.maximum_retry_attempts, later.window_given, later.topic) == (2, True, "orders")


def test_a_settled_batch_commits_past_what_is_done_and_reads_the_rest_again() -> None:
    d, f, r = Status.DONE, Status.FAILED, Status.RELEASED
    assert settle([(5, d), (6, d)], 2, -1) == Settlement(7, None, None, 0, False)
    # A failure: nothing committed, read again from the first record, one attempt more.
    assert settle([(5, f), (6, f)], 2, -1) == Settlement(None, None, 5, 3, True)
    # Done up to a failure: committed up to it, the rest read again (a fresh count).
    assert settle([(5, d), (6, f), (7, d)], 4, -1) == Settlement(6, None, 6, 1, True)
    # Released only (not attempted): read again at once, no attempt counted.
    assert settle([(5, d), (6, r)], 1, -1) == Settlement(6, None, 6, 0, False)
    # Past MaximumRetryAttempts: given up up to the last failed record, committed past it.
    assert settle([(5, f), (6, f)], 1, 1) == Settlement(7, (0, 2), None, 2, False)
    assert settle([(5, d), (6, f), (7, r)], 0, 0) == Settlement(7, (1, 2), 7, 1, False)
    assert settle([(5, f)], 0, 1) == Settlement(None, None, 5, 1, True)
