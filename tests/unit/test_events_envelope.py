"""PutEvents entries as EventBridge checks, sizes and wraps them; the envelopes it makes itself."""

from __future__ import annotations

from datetime import datetime, timezone

from lamina.events import envelope
from lamina.events.envelope import Envelope, Rejected

NOW = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)


def make(entry: dict[str, object]) -> Envelope | Rejected:
    return envelope.from_entry(entry, event_id="e-1", now=NOW, account="000000000000", region="us-east-1")


def test_an_entry_becomes_the_envelope_key_for_key() -> None:
    made = make({"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 7}', "Resources": ["r1"]})
    assert isinstance(made, Envelope)
    wire = made.wire()
    assert list(wire) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert wire == {
        "version": "0", "id": "e-1", "detail-type": "Order Placed", "source": "shop", "account": "000000000000",
        "time": "2026-01-02T03:04:05Z", "region": "us-east-1", "resources": ["r1"], "detail": {"id": 7},
    }  # fmt: skip


def test_a_given_time_is_kept_whether_epoch_seconds_or_iso_text() -> None:
    epoch = make({"Source": "s", "DetailType": "t", "Detail": "{}", "Time": 1452733323.0})
    text = make({"Source": "s", "DetailType": "t", "Detail": "{}", "Time": "2016-01-14T01:02:03Z"})
    assert isinstance(epoch, Envelope) and isinstance(text, Envelope)
    assert epoch.wire()["time"] == text.wire()["time"] == "2016-01-14T01:02:03Z"
    assert make({"Source": "s", "DetailType": "t", "Detail": "{}", "Time": "yesterday"}) == Rejected(
        "InvalidArgument", "Parameter Time is not valid."
    )


def test_entries_are_refused_with_eventbridges_codes() -> None:
    assert make({"DetailType": "t", "Detail": "{}"}) == Rejected(
        "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."
    )
    assert make({"Source": "s", "Detail": "{}"}) == Rejected(
        "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."
    )
    assert make({"Source": "s", "DetailType": "t"}) == Rejected(
        "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."
    )
    for detail in ("[1]", "not json", '"text"'):
        assert make({"Source": "s", "DetailType": "t", "Detail": detail}) == Rejected("MalformedDetail",
                                                                                        "Detail is malformed.")
    assert make({"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"}) == Rejected(
        "NotAuthorizedForSourceException", "Not authorized for the source."
    )


def test_entry_size_is_counted_as_aws_documents_it() -> None:
    # 14 for a Time, whatever its form; UTF-8 bytes of Source, DetailType, Detail and each resource.
    entry: dict[str, object] = {"Time": 1.0, "Source": "é", "DetailType": "ab", "Detail": '{"k": "€"}',
                                "Resources": ["r", "ü"], "EventBusName": "not counted"}  # fmt: skip
    assert envelope.entry_size(entry) == 14 + 2 + 2 + len('{"k": "€"}'.encode()) + 1 + 2
    assert envelope.entry_size({"Source": "s", "DetailType": "t", "Detail": "{}"}) == 4
    big = {"Source": "s", "DetailType": "t", "Detail": '{"a": "' + "x" * (256 * 1024 - 11) + '"}'}
    assert envelope.request_size([big]) == 256 * 1024


def test_the_scheduled_event_and_the_destination_record() -> None:
    arn = "arn:aws:events:us-east-1:000000000000:rule/every-minute"
    assert envelope.scheduled(arn, event_id="e", at=NOW, account="000000000000", region="us-east-1").wire() == {
        "version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": "2026-01-02T03:04:05Z", "region": "us-east-1", "resources": [arn],
        "detail": {},
    }  # fmt: skip
    fn = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST"
    bus = "arn:aws:events:us-east-1:000000000000:event-bus/default"
    outcomes = (("Success", "Success"), ("RetriesExhausted", "Failure"), ("EventAgeExceeded", "Failure"))
    for condition, outcome in outcomes:
        record = {"version": "1.0", "requestContext": {"functionArn": fn, "condition": condition}}
        made = envelope.destination_record(record, bus, event_id="e", now=NOW, account="000000000000",
                                           region="us-east-1").wire()  # fmt: skip
        assert made["detail-type"] == f"Lambda Function Invocation Result - {outcome}"
        assert (made["source"], made["resources"], made["detail"]) == ("lambda", [bus, fn], record)


def test_an_envelope_reads_back_from_its_wire_form_and_anything_else_is_none() -> None:
    made = make({"Source": "shop", "DetailType": "Order Placed", "Detail": '{"id": 7}', "Resources": ["r1"]})
    assert isinstance(made, Envelope)
    back = envelope.from_wire(made.wire())
    assert back is not None and back.wire() == made.wire()
    for broken in ([], {**made.wire(), "time": "later"}, {**made.wire(), "detail": "x"},
                   {**made.wire(), "resources": [1]}, {**made.wire(), "id": ""}):  # fmt: skip
        assert envelope.from_wire(broken) is None
