"""Event source mappings' pure parts, with plain values: validation, filters, batching, batch item
failures, scaling, the SQS record and the stored document."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Mapping

import pytest

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.mappings import scaling
from lamina.mappings.batching import MAX_PAYLOAD_BYTES, BatchLimits, fitting, payload_size, visibility_timeout
from lamina.mappings.filters import Filters, parsed_body
from lamina.mappings.model import EventSourceMapping, SourceKind, State
from lamina.mappings.responses import Item, done, reported_failures
from lamina.mappings.sqs import as_record, sqs_record
from lamina.mappings.validation import check_fifo, check_sqs, function_parts, parse, source_kind

QUEUE = "arn:aws:sqs:us-east-1:000000000000:orders"


# -- validation ------------------------------------------------------------------------------


def test_parse_lists_every_model_constraint_broken() -> None:
    with pytest.raises(ValidationError) as caught:
        parse({"FunctionName": "f", "EventSourceArn": QUEUE, "BatchSize": 0, "MaximumBatchingWindowInSeconds": 301,
               "ScalingConfig": {"MaximumConcurrency": 1}}, create=True)  # fmt: skip
    assert caught.value.message == (
        "3 validation errors detected: "
        "Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1; "
        "Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value "
        "less than or equal to 300; "
        "Value '1' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value "
        "greater than or equal to 2"
    )


def test_parse_requires_a_function_name_on_create_only() -> None:
    with pytest.raises(ValidationError, match="Value null at 'functionName' failed to satisfy constraint: "
                                              "Member must not be null"):  # fmt: skip
        parse({"EventSourceArn": QUEUE}, create=True)
    assert parse({"BatchSize": 5}, create=False).batch_size == 5


@pytest.mark.parametrize("body, field", [
    ({"BatchSize": 10_001}, "batchSize"),
    ({"ScalingConfig": {"MaximumConcurrency": 1001}}, "scalingConfig.maximumConcurrency"),
    ({"FunctionResponseTypes": ["Whatever"]}, "functionResponseTypes"),
    ({"EventSourceArn": "not-an-arn"}, "eventSourceArn"),
    ({"FunctionName": "bad name!"}, "functionName"),
])  # fmt: skip
def test_parse_names_the_field_as_aws_does(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=f"^1 validation error detected: Value .* at '{field}'"):
        parse({"FunctionName": "f", "EventSourceArn": QUEUE, **body}, create=True)


def test_parse_reads_the_values_and_which_stream_options_are_there() -> None:
    request = parse({"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f:live", "EventSourceArn": QUEUE,
                     "Enabled": False, "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"a": [1]}}'}]},
                     "FunctionResponseTypes": ["ReportBatchItemFailures"], "MaximumRetryAttempts": 2,
                     "StartingPosition": "LATEST"}, create=True)  # fmt: skip
    assert request.enabled is False
    assert request.filters == ('{"body": {"a": [1]}}',)
    assert request.response_types == ("ReportBatchItemFailures",)
    assert request.stream_options == ("StartingPosition", "MaximumRetryAttempts")
    assert function_parts(request.function_name or "") == ("f", "live")


def test_sources_lamina_does_not_read_yet_are_refused_by_name() -> None:
    for arn, words in [("arn:aws:kinesis:us-east-1:000000000000:stream/s", "Amazon Kinesis streams"),
                       ("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x", "Amazon DynamoDB streams"),
                       ("arn:aws:kafka:us-east-1:000000000000:cluster/c/1", "Amazon MSK")]:  # fmt: skip
        with pytest.raises(InvalidParameterValue, match=f"Lamina does not read from {words}"):
            source_kind(parse({"FunctionName": "f", "EventSourceArn": arn}, create=True))
    kafka = {"FunctionName": "f", "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b:9092"]}}}
    assert source_kind(parse(kafka, create=True)) is SourceKind.KAFKA
    with pytest.raises(InvalidParameterValue, match=r"^Unrecognized event source\.$"):
        source_kind(parse({"FunctionName": "f"}, create=True))
    assert source_kind(parse({"FunctionName": "f", "EventSourceArn": QUEUE}, create=True)) is SourceKind.SQS
    broker = "arn:aws:mq:us-east-1:000000000000:broker:b:1"
    assert source_kind(parse({"FunctionName": "f", "EventSourceArn": broker}, create=True)) is SourceKind.RABBITMQ


@pytest.mark.parametrize("body, message", [
    ({"StartingPosition": "LATEST"}, "StartingPosition is not valid for SQS event sources."),
    ({"MaximumRetryAttempts": 1}, "Unsupported MaximumRetryAttempts parameter for given event source mapping type."),
    ({"BisectBatchOnFunctionError": True},
     "Unsupported BisectBatchOnFunctionError parameter for given event source mapping type."),
    ({"DestinationConfig": {"OnFailure": {"Destination": QUEUE}}},
     "Unsupported DestinationConfig parameter for given event source mapping type."),
    ({"TumblingWindowInSeconds": 5}, "Unsupported TumblingWindowInSeconds parameter for given event source mapping type."),
    ({"ParallelizationFactor": 2}, "Unsupported ParallelizationFactor parameter for given event source mapping type."),
    ({"MaximumRecordAgeInSeconds": 60},
     "Unsupported MaximumRecordAgeInSeconds parameter for given event source mapping type."),
    ({"BatchSize": 11}, "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "Invalid filter pattern definition."),
    ({"FilterCriteria": {"Filters": [{}]}}, "Invalid filter pattern definition."),
])  # fmt: skip
def test_sqs_refuses_what_aws_refuses(body: dict[str, object], message: str) -> None:
    request = parse({"FunctionName": "f", "EventSourceArn": QUEUE, **body}, create=True)
    with pytest.raises(InvalidParameterValue) as caught:
        check_sqs(request, batch_size=request.batch_size or 10, batching_window=request.batching_window or 0)
    assert caught.value.message == message


def test_sqs_accepts_a_large_batch_with_a_window_and_fifo_refuses_both() -> None:
    request = parse({"FunctionName": "f", "EventSourceArn": QUEUE, "BatchSize": 100,
                     "MaximumBatchingWindowInSeconds": 1}, create=True)  # fmt: skip
    check_sqs(request, batch_size=100, batching_window=1)
    with pytest.raises(InvalidParameterValue, match="not valid for FIFO queues"):
        check_fifo(batch_size=100, batching_window=1)
    with pytest.raises(InvalidParameterValue, match="Batching window is not supported for FIFO queues"):
        check_fifo(batch_size=10, batching_window=1)
    check_fifo(batch_size=10, batching_window=0)


# -- filters ---------------------------------------------------------------------------------


def test_filters_see_a_json_body_parsed_and_a_plain_one_as_text() -> None:
    json_body = Filters(('{"body": {"kind": ["order"]}}',))
    assert json_body.keeps({"body": parsed_body('{"kind": "order"}')})
    assert not json_body.keeps({"body": parsed_body('{"kind": "refund"}')})
    assert not json_body.keeps({"body": parsed_body("kind=order")})  # plain text against a JSON pattern: dropped
    plain = Filters(('{"body": ["ping"]}',))
    assert plain.keeps({"body": parsed_body("ping")})
    assert not plain.keeps({"body": parsed_body('{"ping": 1}')})  # JSON body against a plain pattern: dropped


def test_any_filter_keeps_a_record_and_none_keeps_all() -> None:
    either = Filters(('{"body": {"a": [1]}}', '{"attributes": {"MessageGroupId": ["g"]}}'))
    assert either.keeps({"body": {"a": 2}, "attributes": {"MessageGroupId": "g"}})
    assert not either.keeps({"body": {"a": 2}, "attributes": {"MessageGroupId": "h"}})
    assert Filters(()).keeps({"body": "anything"})


def test_parsed_body_keeps_strings_that_are_not_json_objects() -> None:
    assert parsed_body('{"a": 1}') == {"a": 1}
    assert parsed_body("[1, 2]") == "[1, 2]"
    assert parsed_body("{broken") == "{broken"


# -- batching --------------------------------------------------------------------------------


def test_a_batch_completes_at_its_size_its_bytes_or_its_window() -> None:
    limits = BatchLimits(max_records=100, window_seconds=2.0, max_bytes=1000)
    assert not limits.complete(0, 0, 5.0)  # nothing yet: the window has not begun
    assert not limits.complete(50, 500, 1.0)
    assert limits.complete(100, 500, 0.0)
    assert limits.complete(50, 1000, 0.0)
    assert limits.complete(1, 10, 2.0)
    assert limits.next_receive(95) == 5 and limits.next_receive(0) == 10 and limits.next_receive(100) == 0


def test_fitting_keeps_the_payload_within_six_megabytes() -> None:
    sizes = [1024 * 1024] * 7
    count = fitting(sizes)
    assert count == 5
    assert payload_size(sizes[:count]) <= MAX_PAYLOAD_BYTES < payload_size(sizes[: count + 1])
    assert fitting([MAX_PAYLOAD_BYTES * 2]) == 1
    assert fitting([10, 10]) == 2


def test_a_window_and_a_long_function_outlasting_the_queues_visibility_timeout_extend_it() -> None:
    assert visibility_timeout(30, 0, 900) is None  # no window: the queue's own, as AWS keeps it
    assert visibility_timeout(30, 5, 3) is None
    assert visibility_timeout(30, 20, 15) == 65  # window + timeout + 30 s
    assert visibility_timeout(30, 1, 29) is None


# -- batch item failures ---------------------------------------------------------------------


@pytest.mark.parametrize("payload, expected", [
    (b"", set()), (b"null", set()), (b"{}", set()), (b'{"batchItemFailures": []}', set()),
    (b'{"batchItemFailures": null}', set()),
    (b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', {"b"}),
    (b"not json", None), (b'{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
    (b'{"batchItemFailures": [{"itemIdentifier": null}]}', None),
    (b'{"batchItemFailures": [{"id": "b"}]}', None),
    (b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', None),
    (b'{"batchItemFailures": "b"}', None),
])  # fmt: skip
def test_reported_failures_as_aws_reads_them(payload: bytes, expected: set[str] | None) -> None:
    assert reported_failures(payload, {"a", "b", "c"}) == expected


def test_fifo_failure_holds_back_the_rest_of_its_group_only() -> None:
    items = [Item("1", "g"), Item("2", "h"), Item("3", "g"), Item("4", "h")]
    assert [i.id for i in done(items, {"1"}, fifo=True)] == ["2", "4"]
    assert [i.id for i in done(items, {"1"}, fifo=False)] == ["2", "3", "4"]
    assert [i.id for i in done(items, set(), fifo=True)] == ["1", "2", "3", "4"]


# -- scaling ---------------------------------------------------------------------------------


def test_width_grows_while_full_and_shrinks_while_empty_within_the_cap() -> None:
    limit = scaling.cap(maximum_concurrency=7, reserved=None)
    assert limit == 7 and scaling.initial(limit) == 5
    assert scaling.next_width(5, limit, full=True, empty=False, since_growth_s=1.0) == 6
    assert scaling.next_width(7, limit, full=True, empty=False, since_growth_s=1.0) == 7
    assert scaling.next_width(2, limit, full=False, empty=True, since_growth_s=0.0) == 1
    assert scaling.next_width(1, limit, full=False, empty=True, since_growth_s=0.0) == 1
    assert scaling.next_width(5, limit, full=False, empty=False, since_growth_s=9.0) == 5


def test_width_grows_by_one_a_second_at_most_as_lambdas_sixty_a_minute() -> None:
    assert scaling.next_width(5, 1000, full=True, empty=False, since_growth_s=0.999) == 5
    assert scaling.next_width(5, 1000, full=True, empty=False, since_growth_s=scaling.GROWTH_INTERVAL_S) == 6
    assert 60 / scaling.GROWTH_INTERVAL_S == 60
    assert scaling.next_width(6, 1000, full=False, empty=True, since_growth_s=0.0) == 5  # shrinking is not paced
    assert scaling.cap(None, 3) == 3 and scaling.cap(None, None) == 1000 and scaling.cap(None, 0) == 1
    assert scaling.initial(scaling.cap(2, None)) == 2


def test_retry_delay_doubles_up_to_thirty_seconds() -> None:
    assert [scaling.retry_delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert scaling.retry_delay(50) == 30.0


# -- the SQS record --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True)
class _Received:
    message_id: str = "m-1"
    receipt_handle: str = "r-1"
    body: str = '{"a": 1}'
    md5_of_body: str = "d"
    attributes: Mapping[str, str] = field(default_factory=lambda: {"ApproximateReceiveCount": "1",
                                                                    "MessageGroupId": "g"})  # fmt: skip
    message_attributes: Mapping[str, _Attribute] = field(default_factory=dict)
    md5_of_message_attributes: str | None = None


def test_sqs_record_has_awss_shape() -> None:
    message = _Received(message_attributes={"s": _Attribute("String", string_value="v"),
                                            "b": _Attribute("Binary", binary_value=b"\x00\x01")})  # fmt: skip
    record = sqs_record(message, QUEUE)
    assert record == {
        "messageId": "m-1", "receiptHandle": "r-1", "body": '{"a": 1}',
        "attributes": {"ApproximateReceiveCount": "1", "MessageGroupId": "g"},
        "messageAttributes": {
            "s": {"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
            "b": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "stringListValues": [],
                  "binaryListValues": [], "dataType": "Binary"},
        },
        "md5OfBody": "d", "eventSource": "aws:sqs", "eventSourceARN": QUEUE, "awsRegion": "us-east-1",
    }  # fmt: skip
    as_source = as_record(message, QUEUE)
    assert as_source.view["body"] == {"a": 1} and as_source.group == "g" and as_source.id == "m-1"
    assert as_source.size == len(json.dumps(record).encode())


# -- the mapping -----------------------------------------------------------------------------


def _mapping(**changes: object) -> EventSourceMapping:
    values: dict[str, object] = dict(
        uuid="0b7a2ad0-3f43-4d56-9c52-3d2a7e0e4f11", kind=SourceKind.SQS, source_arn=QUEUE, function="f",
        qualifier="live", function_arn="arn:aws:lambda:us-east-1:000000000000:function:f:live", batch_size=10,
        batching_window=0, enabled=True, state=State.CREATING, last_modified=1700000000.5,
    )  # fmt: skip
    values.update(changes)
    return EventSourceMapping(**values)  # type: ignore[arg-type]


def test_transitional_states_settle_as_aws_s_do() -> None:
    assert _mapping(state=State.CREATING).settled() == _mapping(state=State.ENABLED)
    assert _mapping(state=State.CREATING, enabled=False).settled() == _mapping(state=State.DISABLED, enabled=False)
    assert _mapping(state=State.DISABLING, enabled=False).settled() == _mapping(state=State.DISABLED, enabled=False)
    assert _mapping(state=State.ENABLING).settled() == _mapping(state=State.ENABLED)
    assert _mapping(state=State.UPDATING).settled() == _mapping(state=State.ENABLED)
    assert _mapping(state=State.DELETING).settled() is None
    assert _mapping(state=State.ENABLED).settled() == _mapping(state=State.ENABLED)


def test_the_stored_document_round_trips() -> None:
    mapping = _mapping(filters=('{"body": ["x"]}',), response_types=("ReportBatchItemFailures",),
                       maximum_concurrency=3, last_result="PROBLEM: Function call failed")  # fmt: skip
    assert EventSourceMapping.from_doc(json.loads(json.dumps(mapping.doc()))) == mapping
    earlier = {k: v for k, v in _mapping().doc().items() if k != "LastProcessingResult"}  # stored before it was
    assert EventSourceMapping.from_doc(earlier).last_result == "No records processed"


def test_the_api_document() -> None:
    doc = _mapping(filters=('{"body": ["x"]}',), maximum_concurrency=3).document("us-east-1", "000000000000")
    assert doc["EventSourceMappingArn"] == (
        "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:0b7a2ad0-3f43-4d56-9c52-3d2a7e0e4f11"
    )
    assert doc["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": ["x"]}'}]}
    assert doc["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert doc["State"] == "Creating" and doc["LastProcessingResult"] == "No records processed"
    assert "ScalingConfig" not in _mapping().document("us-east-1", "000000000000")


# -- lamina mappings -------------------------------------------------------------------------


def test_mapping_rows_show_names_state_result_and_lag() -> None:
    from lamina.cli.mappings import format_age, mapping_rows

    rows = mapping_rows([
        {"uuid": "u-2", "source": QUEUE, "function": "arn:aws:lambda:us-east-1:000000000000:function:f:live",
         "state": "Enabled", "lastProcessingResult": "OK", "backlog": 3, "oldestAgeSeconds": 75.0, "pollers": 5},
        {"uuid": "u-1", "source": "arn:aws:sqs:us-east-1:000000000000:audit",
         "function": "arn:aws:lambda:us-east-1:000000000000:function:g", "state": "Disabled",
         "lastProcessingResult": "No records processed", "backlog": None, "oldestAgeSeconds": None, "pollers": 0},
    ])  # fmt: skip
    assert rows == [
        ["u-1", "audit", "g", "Disabled", "No records processed", "-", "-", "0"],
        ["u-2", "orders", "f:live", "Enabled", "OK", "3", "1m", "5"],
    ]
    assert [format_age(s) for s in (5.4, 600.0, 7200.0)] == ["5s", "10m", "2.0h"]
