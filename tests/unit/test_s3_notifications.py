"""Bucket notifications with plain values: configurations as boto3 writes them and reads them back,
S3's refusals, which configurations a change concerns, and the events built key for key as AWS's
samples have them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.parsers import RestXMLParser
from botocore.serialize import create_serializer

from lamina.errors import ApiError
from lamina.objects.change import ObjectChange
from lamina.objects.errors import InvalidArgument, MalformedXML
from lamina.objects.notifications import Destinations, NotificationConfigs
from lamina.objects.notifications import codec, matching, records, validation
from lamina.objects.notifications.model import KIND, Configuration, Kind, Notifications
from lamina.settings import Settings
from lamina.store.base import NOTIFICATION
from lamina.store.memory import MemoryStore

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "aws_events"
ACCOUNT = "123456789012"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:thumbs"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:uploads"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
EVERYTHING = Destinations(function=lambda arn: True, queue=lambda arn: True)
SETTINGS = Settings(account_id=ACCOUNT, region="us-east-1")


def s3_client() -> Any:
    return botocore.session.get_session().create_client(
        "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def boto3_body(configuration: dict[str, Any]) -> bytes:
    """The body botocore serialises for put_bucket_notification_configuration, from its model."""
    model = s3_client().meta.service_model.operation_model("PutBucketNotificationConfiguration")
    request = create_serializer("rest-xml").serialize_to_request(
        {"Bucket": "b", "NotificationConfiguration": configuration}, model
    )
    body = request["body"]
    return body if isinstance(body, bytes) else str(body).encode()


def boto3_reads(body: bytes) -> dict[str, Any]:
    """GetBucketNotificationConfiguration's answer as boto3 parses it."""
    model = s3_client().meta.service_model.operation_model("GetBucketNotificationConfiguration")
    parsed: dict[str, Any] = RestXMLParser().parse({"body": body, "headers": {}, "status_code": 200},
                                                   model.output_shape)  # fmt: skip
    parsed.pop("ResponseMetadata", None)
    return parsed


def ids(*names: str) -> Any:
    made = iter(names)
    return lambda: next(made)


def configs(destinations: Destinations = EVERYTHING, make_id: Any = None) -> NotificationConfigs:
    return NotificationConfigs(MemoryStore(), SETTINGS, destinations, make_id or ids("id-1", "id-2", "id-3"))


def put(c: NotificationConfigs, configuration: dict[str, Any], bucket: str = "b") -> None:
    asyncio.run(c.put(bucket, boto3_body(configuration)))


def change(event: str = "ObjectCreated:Put", key: str = "photos/cat.jpg", **fields: Any) -> ObjectChange:
    values: dict[str, Any] = dict(
        bucket="b", key=key, event=event, size=1305107, etag="b21b84d653bb07b05b1e6b33684dc11b", version_id=None,
        sequencer="0C0F6F405D6ED209E1", request_id="D82B88E5F771F645", source_ip="205.255.255.255",
        principal="AWS:AIDAINPONIXQXHT3IKHL2", time_ms=1567539447192,
    )  # fmt: skip
    values.update(fields)
    return ObjectChange(**values)


# -- configurations in and out -----------------------------------------------------------------


def test_what_boto3_puts_is_what_boto3_gets_back_with_ids_made_and_rule_names_as_s3_lists_them() -> None:
    given = {
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "photos/"},
                                                {"Name": "suffix", "Value": ".jpg"}]}}},
        ],
        "QueueConfigurations": [
            {"Id": "to-queue", "QueueArn": QUEUE, "Events": ["s3:ObjectRemoved:Delete", "s3:ObjectCreated:Copy"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "docs/"}]}}},
        ],
        "EventBridgeConfiguration": {},
    }  # fmt: skip
    c = configs()
    put(c, given)
    assert boto3_reads(c.get("b")) == {
        "QueueConfigurations": [
            {"Id": "to-queue", "QueueArn": QUEUE, "Events": ["s3:ObjectRemoved:Delete", "s3:ObjectCreated:Copy"],
             "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "docs/"}]}}},
        ],
        "LambdaFunctionConfigurations": [
            {"Id": "id-1", "LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "photos/"},
                                                {"Name": "Suffix", "Value": ".jpg"}]}}},
        ],
        "EventBridgeConfiguration": {},
    }  # fmt: skip


def test_a_bucket_without_configuration_answers_an_empty_one_and_an_empty_put_removes_it() -> None:
    c = configs()
    assert boto3_reads(c.get("b")) == {}
    put(c, {"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"]}]})
    assert boto3_reads(c.get("b"))["QueueConfigurations"][0]["QueueArn"] == QUEUE
    put(c, {})
    assert boto3_reads(c.get("b")) == {}


def test_configurations_are_written_through_the_store_and_loaded_back() -> None:
    store = MemoryStore()
    first = NotificationConfigs(store, SETTINGS, EVERYTHING, ids("kept"))
    asyncio.run(first.put("b", boto3_body({"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"]}]})))
    stored = asyncio.run(store.list_resources(KIND))
    assert [r.key for r in stored] == ["b"]
    again = NotificationConfigs(store, SETTINGS, EVERYTHING)
    asyncio.run(again.load())
    assert again.get("b") == first.get("b")
    assert [m.target for m in again.messages(change())] == [QUEUE]
    asyncio.run(again.forget("b"))
    assert asyncio.run(store.list_resources(KIND)) == []
    assert again.messages(change()) == []


def test_an_id_s3_makes_is_a_uuid_in_base64() -> None:
    import base64
    import uuid

    made = validation.new_id()
    assert uuid.UUID(base64.b64decode(made).decode())


def test_the_stored_document_round_trips() -> None:
    n = Notifications((Configuration(Kind.QUEUE, "q", QUEUE, ("s3:ObjectCreated:*",), (("Prefix", "a/"),)),), True)
    assert Notifications.from_doc(json.loads(json.dumps(n.doc()))) == n


# -- what S3 refuses ---------------------------------------------------------------------------


def refused(configuration: dict[str, Any] | bytes, destinations: Destinations = EVERYTHING) -> ApiError:
    c = configs(destinations)
    body = configuration if isinstance(configuration, bytes) else boto3_body(configuration)
    with pytest.raises(ApiError) as caught:
        asyncio.run(c.put("b", body))
    assert c.get("b") == configs().get("b")  # nothing changed
    return caught.value


def test_an_unknown_event_type_is_refused() -> None:
    err = refused({"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:Rename"]}]})
    assert isinstance(err, InvalidArgument) and err.status == 400
    assert err.message == "The event is not supported for notifications"


@pytest.mark.parametrize(("rules", "message"), [
    ([{"Name": "contains", "Value": "x"}], "filter rule name must be either prefix or suffix"),
    ([{"Name": "prefix", "Value": "a"}, {"Name": "Prefix", "Value": "b"}],
     "Cannot specify more than one prefix rule in a filter."),
    ([{"Name": "suffix", "Value": "a"}, {"Name": "suffix", "Value": "b"}],
     "Cannot specify more than one suffix rule in a filter."),
    ([{"Name": "prefix", "Value": "x" * 1025}],
     "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation"),
])  # fmt: skip
def test_filter_rules_are_checked_as_s3_checks_them(rules: list[dict[str, str]], message: str) -> None:
    err = refused({"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
                                            "Filter": {"Key": {"FilterRules": rules}}}]})  # fmt: skip
    assert isinstance(err, InvalidArgument) and err.message == message


OVERLAP = "Configurations overlap. Configurations on the same bucket cannot share a common event type."


@pytest.mark.parametrize(("a", "b"), [
    (("s3:ObjectCreated:*", "", ""), ("s3:ObjectCreated:Put", "", "")),
    (("s3:ObjectCreated:Put", "photos/", ""), ("s3:ObjectCreated:Put", "photos/2024/", "")),
    (("s3:ObjectCreated:*", "", ".jpg"), ("s3:ObjectCreated:Copy", "raw/", "")),
])  # fmt: skip
def test_configurations_sharing_an_event_type_and_keys_overlap(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    err = refused({"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": FN, "Events": [event], "Filter": {"Key": {"FilterRules": [
            {"Name": "prefix", "Value": prefix}, {"Name": "suffix", "Value": suffix}]}}}
        for event, prefix, suffix in (a, b)
    ]})  # fmt: skip
    assert isinstance(err, InvalidArgument) and err.message == OVERLAP


def test_configurations_apart_by_event_type_prefix_or_suffix_do_not_overlap() -> None:
    c = configs(make_id=ids("1", "2", "3", "4"))
    put(c, {"LambdaFunctionConfigurations": [
        {"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "photos/"}]}}},
        {"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "docs/"}]}}},
        {"LambdaFunctionArn": FN, "Events": ["s3:ObjectRemoved:*"]},
    ], "QueueConfigurations": [
        {"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:Put"],
         "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".png"}, {"Name": "prefix", "Value": "x"}]}}},
    ]})  # fmt: skip
    assert len(c.configuration("b").configurations) == 4


def test_destinations_that_cannot_be_reached_are_each_named_with_s3s_detail() -> None:
    err = refused(
        {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"]}],
         "QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectRemoved:*"]}],
         "TopicConfigurations": [{"TopicArn": TOPIC, "Events": ["s3:ObjectRestore:*"]}]},
        Destinations(function=lambda arn: False, queue=lambda arn: False),
    )  # fmt: skip
    assert isinstance(err, InvalidArgument)
    assert err.message == "Unable to validate the following destination configurations"
    assert err.fields == {
        "ArgumentName1": TOPIC,
        "ArgumentValue1": "Permissions on the destination topic do not allow S3 to publish notifications from this bucket",
        "ArgumentName2": QUEUE,
        "ArgumentValue2": "Permissions on the destination queue do not allow S3 to publish notifications from this bucket",
        "ArgumentName3": FN,
        "ArgumentValue3": f"Not authorized to invoke function [{FN}]",
    }


def test_a_topic_is_refused_even_where_every_other_destination_is_reachable() -> None:
    err = refused({"TopicConfigurations": [{"TopicArn": TOPIC, "Events": ["s3:ObjectCreated:*"]}]})
    assert isinstance(err, InvalidArgument) and err.fields["ArgumentName1"] == TOPIC


def test_skipping_destination_validation_takes_functions_and_queues_unasked() -> None:
    c = configs(Destinations(function=lambda arn: False, queue=lambda arn: False))
    body = boto3_body({"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"]}]})
    asyncio.run(c.put("b", body, skip_destination_validation=True))
    assert [m.target for m in c.messages(change())] == [QUEUE]


@pytest.mark.parametrize("body", [
    b"", b"not xml", b"<NotificationConfiguration>", b"<Other/>",
    b"<NotificationConfiguration><QueueConfiguration><Event>s3:ObjectCreated:*</Event></QueueConfiguration>"
    b"</NotificationConfiguration>",  # no Queue
    b"<NotificationConfiguration><QueueConfiguration><Queue>q</Queue></QueueConfiguration></NotificationConfiguration>",
    b"<NotificationConfiguration><Unknown/></NotificationConfiguration>",
    b"<NotificationConfiguration><QueueConfiguration><Queue>q</Queue><Event>s3:ObjectCreated:*</Event>"
    b"<Filter><S3Key><FilterRule><Name>prefix</Name></FilterRule></S3Key></Filter>"
    b"</QueueConfiguration></NotificationConfiguration>",  # a rule without a Value
])  # fmt: skip
def test_malformed_xml_is_refused(body: bytes) -> None:
    err = refused(body)
    assert isinstance(err, MalformedXML) and err.status == 400 and err.code == "MalformedXML"
    assert err.message == codec.MALFORMED


def test_a_billion_laughs_body_is_refused_without_expanding_anything() -> None:
    entities = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE NotificationConfiguration [<!ENTITY lol0 "lol">{entities}]>'
            "<NotificationConfiguration><QueueConfiguration><Id>&lol9;</Id><Queue>q</Queue>"
            "<Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>").encode()  # fmt: skip
    assert isinstance(refused(body), MalformedXML)


def test_any_dtd_is_refused_even_a_harmless_one() -> None:
    # A plain XML parser would take this one (one small entity); S3's bodies never need a DTD.
    body = (b'<?xml version="1.0"?><!DOCTYPE NotificationConfiguration [<!ENTITY name "q1">]>'
            b"<NotificationConfiguration><QueueConfiguration><Id>&name;</Id><Queue>" + QUEUE.encode() +
            b"</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>")  # fmt: skip
    assert isinstance(refused(body), MalformedXML)


def test_an_external_entity_is_refused() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<NotificationConfiguration><QueueConfiguration><Id>&e;</Id><Queue>q</Queue>"
            b"<Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>")  # fmt: skip
    assert isinstance(refused(body), MalformedXML)


# -- matching ----------------------------------------------------------------------------------


def test_wildcards_cover_their_family_and_nothing_else() -> None:
    assert matching.covers("s3:ObjectCreated:*", "s3:ObjectCreated:CompleteMultipartUpload")
    assert matching.covers("s3:ObjectCreated:Put", "s3:ObjectCreated:Put")
    assert not matching.covers("s3:ObjectCreated:Put", "s3:ObjectCreated:Copy")
    assert not matching.covers("s3:ObjectCreated:*", "s3:ObjectRemoved:Delete")
    assert not matching.covers("s3:ObjectRestore:*", "s3:ObjectRestoreX:Post")


def test_a_change_goes_to_each_configuration_whose_events_and_filter_take_it() -> None:
    c = configs(make_id=ids("all-docs", "jpg", "removed"))  # made in the order S3 lists them
    put(c, {
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": FN, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "photos/"}, {"Name": "suffix", "Value": ".jpg"}]}}},
            {"LambdaFunctionArn": FN, "Events": ["s3:ObjectRemoved:*"]},
        ],
        "QueueConfigurations": [
            {"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:Put"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "docs/"}]}}},
        ],
    })  # fmt: skip

    def taken(event: str, key: str) -> list[tuple[str, str]]:
        found = c.messages(change(event, key))
        assert all(m.kind == NOTIFICATION and m.request_id == "D82B88E5F771F645" for m in found)
        return [(m.target, json.loads(m.body)["Records"][0]["s3"]["configurationId"]) for m in found]

    assert taken("ObjectCreated:Put", "photos/cat.jpg") == [(FN, "jpg")]
    assert taken("ObjectCreated:CompleteMultipartUpload", "photos/big.jpg") == [(FN, "jpg")]
    assert taken("ObjectCreated:Put", "photos/cat.png") == []
    assert taken("ObjectCreated:Put", "other/cat.jpg") == []
    assert taken("ObjectCreated:Put", "docs/a.txt") == [(QUEUE, "all-docs")]
    assert taken("ObjectCreated:Copy", "docs/a.txt") == []
    assert taken("ObjectRemoved:Delete", "docs/a.txt") == [(FN, "removed")]
    assert c.messages(change(bucket="other")) == []


def test_eventbridge_takes_every_change_on_the_default_bus() -> None:
    c = configs()
    put(c, {"EventBridgeConfiguration": {}})
    [message] = c.messages(change())
    assert message.target == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    assert message.kind == NOTIFICATION
    assert json.loads(message.body)["detail-type"] == "Object Created"


# -- the events, as AWS shapes them --------------------------------------------------------------


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_a_creation_record_is_s3s_key_for_key() -> None:
    expected = sample("s3Event.json")
    made = json.loads(records.body(
        change(bucket="lambda-artifacts-deafc19498e3f2df", key="b21b84d653bb07b05b1e6b33684dc11b"),
        "828aa6fc-f7b5-4305-8584-487c791949c1", records.Origin("us-east-2", "A3I5XTEXAMAI3E"),
    ))  # fmt: skip
    [want], [got] = expected["Records"], made["Records"]
    host = got["responseElements"].pop("x-amz-id-2")
    want["responseElements"].pop("x-amz-id-2")  # S3's host id: one of Lamina's own
    assert host == records.host_id("D82B88E5F771F645") and len(host) == 44
    assert json.dumps(got) == json.dumps(want)  # the same keys, in the same order, with the same values


def test_a_removal_record_has_neither_size_nor_etag() -> None:
    [want] = sample("s3EventDeleteObject.json")["Records"]
    [got] = json.loads(records.body(
        change("ObjectRemoved:Delete", bucket="lambda-artifacts-deafc19498e3f2df",
               key="b21b84d653bb07b05b1e6b33684dc11b", size=0, etag=""),
        "828aa6fc-f7b5-4305-8584-487c791949c1", records.Origin("us-east-2", "A3I5XTEXAMAI3E"),
    ))["Records"]  # fmt: skip
    for record in (want, got):
        record["responseElements"].pop("x-amz-id-2")
    assert json.dumps(got) == json.dumps(want)


def test_a_versioned_object_names_its_version_before_the_sequencer() -> None:
    [got] = json.loads(records.body(change(version_id="yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV"), "c",
                                    records.Origin("us-east-1", ACCOUNT)))["Records"]  # fmt: skip
    assert list(got["s3"]["object"]) == ["key", "size", "eTag", "versionId", "sequencer"]
    assert got["s3"]["object"]["versionId"] == "yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV"


@pytest.mark.parametrize(("key", "encoded"), [
    ("hello world.jpg", "hello+world.jpg"),
    ("photos/2024/cat.jpg", "photos/2024/cat.jpg"),
    ("year=2024/a+b.txt", "year%3D2024/a%2Bb.txt"),
    ("café (1).png", "caf%C3%A9+%281%29.png"),
    ("a-b_c.d*e~f", "a-b_c.d*e%7Ef"),
])  # fmt: skip
def test_keys_are_url_encoded_as_s3_encodes_them(key: str, encoded: str) -> None:
    assert records.encode_key(key) == encoded


def test_event_time_has_milliseconds() -> None:
    assert records.event_time(1567539447192) == "2019-09-03T19:37:27.192Z"
    assert records.event_time(1567539447000) == "2019-09-03T19:37:27.000Z"


def test_the_eventbridge_object_created_event_is_s3s_key_for_key() -> None:
    want = sample("s3EventBridgeNotificationObjectCreatedEvent.json")
    made = records.eventbridge(
        change(bucket="example-bucket", key="IMG_m7fzo3.jpg", size=184662, etag="4e68adba0abe2dc8653dc3354e14c01d",
               sequencer="006408CAD69598B05E", request_id="57H08PA84AB1JZW0", principal="123456789012",
               source_ip="34.252.34.74", time_ms=1678297814000),
        records.Origin("eu-west-1", "123456789012"),
    )  # fmt: skip
    assert made is not None
    got = made.wire()
    got["id"] = want["id"]  # EventBridge's own
    assert json.dumps(got) == json.dumps(want)


def test_the_eventbridge_object_deleted_event_is_s3s_key_for_key() -> None:
    want = sample("s3EventBridgeNotificationObjectDeletedEvent.json")
    made = records.eventbridge(
        change("ObjectRemoved:DeleteMarkerCreated", bucket="example-bucket", key="IMG_m7fzo3.jpg", size=0, etag="",
               sequencer="006408CAD69598B05E", request_id="0BH729840619AG5K", principal="123456789012",
               source_ip="34.252.34.74", time_ms=1636675200000),
        records.Origin("ca-central-1", "111122223333"),
    )  # fmt: skip
    assert made is not None
    got = made.wire()
    got["id"] = want["id"]
    assert json.dumps(got) == json.dumps(want)


def test_the_eventbridge_event_is_the_same_for_the_same_change_and_none_for_what_it_does_not_send() -> None:
    origin = records.Origin("us-east-1", ACCOUNT)
    first, again = records.eventbridge(change(), origin), records.eventbridge(change(), origin)
    assert first is not None and again is not None and first.id == again.id
    other = records.eventbridge(change(sequencer="0C0F6F405D6ED209E2"), origin)
    assert other is not None and other.id != first.id
    assert records.eventbridge(change("ReducedRedundancyLostObject"), origin) is None


# -- the relay for functions ---------------------------------------------------------------------


class Invocations:
    """Stands in for the invoker: records each request, answers with what ``answers`` says first."""

    def __init__(self, *answers: ApiError) -> None:
        self.requests: list[Any] = []
        self._answers = list(answers)

    async def invoke(self, request: Any) -> object:
        self.requests.append(request)
        if self._answers:
            raise self._answers.pop(0)
        return None


def test_the_relay_invokes_functions_asynchronously_drops_the_gone_and_keeps_what_was_refused_for_now() -> None:
    from lamina.errors import ResourceNotFound, TooManyRequests
    from lamina.objects.notifications.relay import NotificationRelay
    from lamina.store.base import DESTINATION, OutboxMessage

    store = MemoryStore()
    local = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
    messages = [
        OutboxMessage(local + "busy:live", NOTIFICATION, "", "r1", b'{"Records": [1]}', {}, 0),
        OutboxMessage(local + "gone", NOTIFICATION, "", "r2", b'{"Records": [2]}', {}, 0),
        OutboxMessage(local + "other", DESTINATION, "f", "r3", b"{}", {}, 0),  # not a notification
        OutboxMessage(f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:far", NOTIFICATION, "", "r4", b"{}", {}, 0),
        OutboxMessage(QUEUE, NOTIFICATION, "", "r5", b"{}", {}, 0),  # the queues' relay's
    ]  # fmt: skip
    asyncio.run(store.add_outbox(messages))
    invocations = Invocations(TooManyRequests("full", reason="ReservedFunctionConcurrentInvocationLimitExceeded"),
                              ResourceNotFound("Function not found"))  # fmt: skip
    relay = NotificationRelay(store, invocations, SETTINGS)

    def left() -> list[str]:
        return [m.request_id for m in asyncio.run(store.list_outbox(None, 0, 100))]

    asyncio.run(relay.relay_once())
    assert [(r.function, r.qualifier, r.invocation_type, r.payload) for r in invocations.requests] == [
        ("busy", "live", "Event", b'{"Records": [1]}'), ("gone", None, "Event", b'{"Records": [2]}'),
    ]  # fmt: skip
    assert left() == ["r1", "r3", "r4", "r5"]  # the gone function's dropped; the refused one kept
    asyncio.run(relay.relay_once())  # refused for now: looked at again, and taken
    assert [r.function for r in invocations.requests] == ["busy", "gone", "busy"]
    assert left() == ["r3", "r4", "r5"]
    asyncio.run(relay.relay_once())
    assert len(invocations.requests) == 3


def test_this_servers_destinations_are_its_functions_and_its_standard_queues() -> None:
    from lamina.objects.notifications.destinations import local
    from lamina.queues.service import Queues

    settings = Settings()  # account 000000000000, us-east-1

    class Functions:
        def find(self, name: str, qualifier: str | None) -> object | None:
            return object() if (name, qualifier) in {("thumbs", None), ("thumbs", "live")} else None

    queues = Queues(MemoryStore(), settings, base_url="http://localhost:9000")

    async def make() -> None:
        await queues.create_queue("uploads", {}, {})
        await queues.create_queue("ordered.fifo", {"FifoQueue": "true"}, {})

    asyncio.run(make())
    destinations = local(Functions(), queues, settings)
    here = "arn:aws:lambda:us-east-1:000000000000:function:"
    assert destinations.function(here + "thumbs") and destinations.function(here + "thumbs:live")
    assert not destinations.function(here + "thumbs:old") and not destinations.function(here + "other")
    assert not destinations.function("arn:aws:lambda:eu-west-1:000000000000:function:thumbs")
    assert not destinations.function("thumbs")
    assert destinations.queue("arn:aws:sqs:us-east-1:000000000000:uploads")
    assert not destinations.queue("arn:aws:sqs:us-east-1:000000000000:ordered.fifo")  # S3 does not send to FIFO
    assert not destinations.queue("arn:aws:sqs:us-east-1:000000000000:missing")
