"""RabbitMQ mappings' pure parts: broker addresses, the aws:rmq event, filter views, validation,
when a poison message is given up."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue, ValidationError
from lamina.mappings.brokers import (BrokerAddress, broker_name, find, not_configured, parse_address, parse_brokers,
                                     tls_context)
from lamina.mappings.filters import Filters
from lamina.mappings.model import EventSourceMapping, SourceKind, State
from lamina.mappings.rabbitmq import MAX_REDELIVERIES, gives_up
from lamina.mappings.rmq_event import Properties, event, event_of, filter_view, header_value, java_date, rmq_record
from lamina.mappings.validation import check_rabbitmq, parse
from lamina.settings import Settings

ARN = "arn:aws:mq:us-west-2:111122223333:broker:pizzaBroker:b-9bcfa592-423a-4942-879d-eb284b418fc8"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-xPBMTt"


def test_broker_urls_are_parsed_with_user_password_port_and_vhost() -> None:
    assert parse_address("amqp://127.0.0.1") == BrokerAddress("127.0.0.1", 5672, "guest", "guest", "/",
                                                               credentials_given=False)  # fmt: skip
    address = parse_address("amqp://me:p%40ss%20word@broker.local:5673/shop%2Feu")
    assert (address.host, address.port, address.username, address.password, address.vhost) == (
        "broker.local", 5673, "me", "p@ss word", "shop/eu")
    assert parse_address("amqp://me:pw@h/").vhost == "/"
    assert "pw" not in str(address) and "p@ss" not in repr(address) and str(address).startswith("amqp://me@")


@pytest.mark.parametrize("url, words", [
    ("http://u:hunter2@h:1", "is not amqp"), ("mqtt://h", "is not amqp"), ("amqp://u:hunter2@h:x", "invalid port"),
    ("amqp://u:hunter2@:5672", "names no host"), ("amqp://u:hunter2@h/a/b", "more than a host"),
])  # fmt: skip
def test_bad_broker_urls_are_refused_without_their_password(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        parse_address(url)
    assert "hunter2" not in str(caught.value)


def test_brokers_are_found_by_arn_or_by_name() -> None:
    brokers = parse_brokers(f"pizzaBroker=amqp://a:1@h1, {ARN.replace('pizza', 'pasta')}=amqp://h2:5600/v")
    assert find(brokers, ARN) == BrokerAddress("h1", 5672, "a", "1")
    assert find(brokers, ARN.replace("pizza", "pasta")) == BrokerAddress("h2", 5600, vhost="v")
    assert find(brokers, ARN.replace("pizza", "salad")) is None
    assert broker_name(ARN) == "pizzaBroker" and broker_name("arn:aws:sqs:us-east-1:000000000000:q") is None
    assert "LAMINA_RABBITMQ_BROKERS=pizzaBroker=amqp://" in not_configured(ARN)
    with pytest.raises(ValueError, match="is not <broker name or ARN>=amqp"):
        parse_brokers("amqp://h")
    settings = Settings.from_env({"LAMINA_RABBITMQ_BROKERS": "b=amqp://u:secret@h:1"})
    assert settings.rabbitmq_brokers == {"b": BrokerAddress("h", 1, "u", "secret")}
    assert "secret" not in repr(settings)


def test_the_record_has_every_basic_property_as_aws_writes_them() -> None:
    props = Properties(content_type="text/plain", headers={"header1": "value1", "b": b"\x00\x01", "numberInHeader": 10,
                                                             "d": Decimal("1.5"), "nested": {"l": ["x", 2]}},
                       delivery_mode=1, priority=34, expiration_ms=60000,
                       timestamp=dt.datetime(1970, 1, 1, 0, 33, 41, tzinfo=dt.timezone.utc), user_id="u")  # fmt: skip
    record = rmq_record(props, b'{"timeout":0}', redelivered=False)
    basic = record["basicProperties"]
    assert isinstance(basic, dict)
    assert list(basic) == ["contentType", "contentEncoding", "headers", "deliveryMode", "priority", "correlationId",
                           "replyTo", "expiration", "messageId", "timestamp", "type", "userId", "appId", "clusterId",
                           "bodySize"]  # fmt: skip
    assert basic["headers"] == {"header1": {"bytes": [118, 97, 108, 117, 101, 49]}, "b": {"bytes": [0, 1]},
                                "numberInHeader": 10, "d": 1.5, "nested": {"l": [{"bytes": [120]}, 2]}}  # fmt: skip
    assert basic["timestamp"] == "Jan 1, 1970, 12:33:41 AM" and basic["expiration"] == "60000"
    assert basic["bodySize"] == 13 and basic["contentEncoding"] is None
    assert record["redelivered"] is False and base64.b64decode(str(record["data"])) == b'{"timeout":0}'
    assert json.loads(event(ARN, "q::/", [record])) == {
        "eventSource": "aws:rmq", "eventSourceArn": ARN, "rmqMessagesByQueue": {"q::/": [record]}}
    other = rmq_record(Properties(message_id="ü"), b"\xff", redelivered=True)
    texts = [json.dumps(record), json.dumps(other)]
    assert event_of(ARN, 'q"::/', texts) == event(ARN, 'q"::/', [record, other])  # byte for byte


def test_java_dates_and_header_values() -> None:
    assert java_date(dt.datetime(2024, 3, 9, 13, 5, 7, tzinfo=dt.timezone.utc)) == "Mar 9, 2024, 1:05:07 PM"
    assert java_date(dt.datetime(2024, 3, 9, 12, 0, 0)) == "Mar 9, 2024, 12:00:00 PM"
    assert header_value(True) is True and header_value(None) is None


def test_filters_see_data_decoded_and_parsed() -> None:
    keep = Filters(('{"data": {"kind": ["keep"]}}',))
    plain = Filters(('{"data": ["hello"]}',))
    metadata = Filters(('{"redelivered": [true]}',))

    def view(body: bytes, redelivered: bool = False) -> dict[str, object]:
        return filter_view(rmq_record(Properties(), body, redelivered), body)

    assert keep.keeps(view(b'{"kind": "keep"}')) and not keep.keeps(view(b'{"kind": "drop"}'))
    assert not keep.keeps(view(b"keep")) and plain.keeps(view(b"hello"))
    assert metadata.keeps(view(b"\xff\xfe", redelivered=True)) and "data" not in view(b"\xff\xfe")


def test_a_poison_message_is_given_up_after_five_redeliveries() -> None:
    assert MAX_REDELIVERIES == 5
    assert [gives_up(n) for n in range(1, 8)] == [False] * 5 + [True] * 2


def test_mq_requests_are_checked() -> None:
    good: dict[str, object] = {"FunctionName": "f", "EventSourceArn": ARN, "Queues": ["q"],
            "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}, {"Type": "VIRTUAL_HOST", "URI": "v"}]}  # fmt: skip
    request = parse(good, create=True)
    check_rabbitmq(request, create=True)
    assert request.queues == ("q",) and request.access == (("BASIC_AUTH", SECRET), ("VIRTUAL_HOST", "v"))
    with pytest.raises(ValidationError, match="queues"):
        parse({**good, "Queues": ["a", "b"]}, create=True)
    with pytest.raises(ValidationError, match="uRI"):
        parse({**good, "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": "no spaces"}]}, create=True)
    cases: list[tuple[dict[str, object], str]] = [({"Queues": None}, "Queues is a required"), ({"SourceAccessConfigurations": None}, "BASIC_AUTH"),
                       ({"BisectBatchOnFunctionError": True}, "Unsupported BisectBatchOnFunctionError"),
                       ({"SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}] * 2}, "only once")]  # fmt: skip
    for bad, words in cases:
        body = {k: v for k, v in {**good, **bad}.items() if v is not None}
        with pytest.raises(InvalidParameterValue, match=words):
            check_rabbitmq(parse(body, create=True), create=True)
    check_rabbitmq(parse({"BatchSize": 500}, create=False), create=False)  # an update need not repeat them


def test_mq_mappings_keep_their_queues_and_access_through_the_store() -> None:
    mapping = EventSourceMapping(
        uuid="u", kind=SourceKind.RABBITMQ, source_arn=ARN, function="f", qualifier=None, function_arn="fa",
        batch_size=100, batching_window=0, enabled=True, state=State.ENABLED, last_modified=1.0, queues=("q",),
        access=(("BASIC_AUTH", SECRET), ("VIRTUAL_HOST", "v")),
    )  # fmt: skip
    assert EventSourceMapping.from_doc(mapping.doc()) == mapping
    assert mapping.virtual_host == "v"
    document = mapping.document("us-east-1", "000000000000")
    assert document["Queues"] == ["q"]
    assert document["SourceAccessConfigurations"] == [{"Type": "BASIC_AUTH", "URI": SECRET}, {"Type": "VIRTUAL_HOST", "URI": "v"}]


def test_amqps_urls_are_tls_on_port_5671_by_default() -> None:
    address = parse_address("amqps://me:pw@broker.example.com/shop")
    assert (address.tls, address.port, address.vhost, address.credentials_given) == (True, 5671, "shop", True)
    assert str(address) == "amqps://me@broker.example.com:5671/shop"
    assert parse_address("amqps://b:5999").port == 5999 and not parse_address("amqp://b").tls
    assert str(parse_address("amqps://b")) == "amqps://b:5671/%2F"  # no user named: none shown


def test_the_ca_file_is_checked_when_the_server_starts(tmp_path: Path) -> None:
    from tests import certificates

    ca = tmp_path / "ca.pem"
    ca.write_text(certificates.authority("Broker CA").certificate)
    settings = Settings.from_env({"LAMINA_RABBITMQ_CA_FILE": str(ca)})
    assert settings.rabbitmq_ca_file == ca
    assert [c["subject"] for c in tls_context(ca).get_ca_certs()] == [((("commonName", "Broker CA"),),)]
    assert tls_context(None).check_hostname
    (tmp_path / "bad.pem").write_text("not a certificate")
    for path, words in ((tmp_path / "bad.pem", "cannot be used"), (tmp_path / "absent.pem", "No such file")):
        with pytest.raises(ValueError, match=f"LAMINA_RABBITMQ_CA_FILE {path} .*{words}"):
            Settings.from_env({"LAMINA_RABBITMQ_CA_FILE": str(path)})


def test_the_credentials_are_the_secrets_as_the_file_holds_it_else_the_urls(tmp_path: Path) -> None:
    from lamina.mappings.rabbitmq import RabbitSource
    from lamina.mappings.source import SourceUnavailable

    secret = "arn:aws:secretsmanager:us-east-1:000000000000:secret:mq"
    path = tmp_path / "secrets.json"
    path.write_text("{}")
    path.chmod(0o600)
    bare = RabbitSource(ARN, parse_address("amqps://h"), "q", secret=secret, secrets_file=path)
    with pytest.raises(SourceUnavailable, match=f"The secret {secret} is not in LAMINA_SECRETS_FILE"):
        bare._credentials()
    with pytest.raises(SourceUnavailable, match="Lamina was started without LAMINA_SECRETS_FILE"):
        RabbitSource(ARN, parse_address("amqps://h"), "q", secret=secret)._credentials()
    with_url = RabbitSource(ARN, parse_address("amqps://u:pw@h"), "q", secret=secret, secrets_file=path)
    assert with_url._credentials() == ("u", "pw")
    path.write_text(json.dumps({secret: {"username": "alice", "password": "s3cret"}}))
    assert bare._credentials() == with_url._credentials() == ("alice", "s3cret")  # read again: no restart
    path.write_text(json.dumps({secret: {"username": "alice"}}))
    with pytest.raises(SourceUnavailable, match="has no string username and password"):
        with_url._credentials()
