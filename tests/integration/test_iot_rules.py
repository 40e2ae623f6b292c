"""AWS IoT topic rules: the real boto3 ``iot`` client and the AWS CLI against the rules API, and end
to end with a real Mosquitto and a real MQTT client (paho-mqtt) publishing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.publish as publish
import pytest

from tests.conftest import LaminaProcess, deploy
from tests.mosquitto import Mosquitto, mosquitto, mosquitto_path  # noqa: F401  (the fixture)
from tests import signing

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
ACCOUNT = "000000000000"
RECORDER = """
import json
def handler(event, context):
    print("GOT " + json.dumps(event, sort_keys=True))
"""


def lamina_iot_rules(endpoint: str) -> str:
    """What ``lamina iot rules`` prints."""
    done = subprocess.run([str(VENV_BIN / "lamina"), "--endpoint", endpoint, "iot", "rules"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def iot_client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("iot", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def payload(sql: str, function: str = "fn", **extra: Any) -> dict[str, Any]:
    return {"sql": sql, "actions": [{"lambda": {"functionArn": function_arn(function)}}], **extra}


def error_code(info: pytest.ExceptionInfo[Any]) -> str:
    return str(info.value.response["Error"]["Code"])


def got(endpoint: str, name: str) -> list[Any]:
    with signing.urlopen(f"{endpoint}/lamina/v1/functions/{name}/logs?since=0&limit=10000", timeout=10) as r:
        messages = [e["message"] for e in json.loads(r.read())["events"]]
    return [json.loads(m.split(" ", 1)[1]) for m in messages if m.startswith("GOT ")]


def broker_status(endpoint: str) -> dict[str, Any]:
    with signing.urlopen(f"{endpoint}/lamina/v1/iot", timeout=10) as r:
        doc: dict[str, Any] = json.loads(r.read())
        return doc


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_subscribed(endpoint: str, *filters: str) -> None:
    wait_for(f"subscriptions to {filters}", lambda: (s := broker_status(endpoint))["connected"]
             and set(filters) <= set(s["subscriptions"]))  # fmt: skip


def send(broker: Mosquitto, topic: str, body: bytes | str | dict[str, Any]) -> None:
    data = json.dumps(body) if isinstance(body, dict) else body
    publish.single(topic, data, qos=1, hostname="127.0.0.1", port=broker.port)


def send_and_wait_received(endpoint: str, broker: Mosquitto, topic: str, body: bytes | str | dict[str, Any]) -> None:
    """Publish, and wait until Lamina has handed the message to its rules (whatever they did)."""
    before = broker_status(endpoint)["received"]
    send(broker, topic, body)
    wait_for(f"a message on {topic!r} to be received", lambda: broker_status(endpoint)["received"] > before)


# -- The API --------------------------------------------------------------------------------------


def test_every_operation_with_boto3(lamina: LaminaProcess) -> None:
    iot = iot_client(lamina.endpoint)
    iot.create_topic_rule(ruleName="api_rule_a", topicRulePayload=payload(
        "SELECT *, topic(2) AS room FROM 'api/+/temp' WHERE temp > 20", description="warm rooms"))  # fmt: skip
    got_rule = iot.get_topic_rule(ruleName="api_rule_a")
    assert got_rule["ruleArn"] == f"arn:aws:iot:us-east-1:{ACCOUNT}:rule/api_rule_a"
    rule = got_rule["rule"]
    assert rule["ruleName"] == "api_rule_a" and rule["description"] == "warm rooms"
    assert rule["sql"] == "SELECT *, topic(2) AS room FROM 'api/+/temp' WHERE temp > 20"
    assert rule["actions"] == [{"lambda": {"functionArn": function_arn("fn")}}]
    assert rule["ruleDisabled"] is False and rule["awsIotSqlVersion"] == "2015-10-08"
    assert abs(rule["createdAt"].timestamp() - time.time()) < 3600
    created = rule["createdAt"]

    iot.disable_topic_rule(ruleName="api_rule_a")
    assert iot.get_topic_rule(ruleName="api_rule_a")["rule"]["ruleDisabled"] is True
    iot.enable_topic_rule(ruleName="api_rule_a")
    assert iot.get_topic_rule(ruleName="api_rule_a")["rule"]["ruleDisabled"] is False

    iot.replace_topic_rule(ruleName="api_rule_a", topicRulePayload=payload(
        "SELECT a FROM 'api/other'", "fn2", ruleDisabled=True, awsIotSqlVersion="2016-03-23"))  # fmt: skip
    rule = iot.get_topic_rule(ruleName="api_rule_a")["rule"]
    assert rule["sql"] == "SELECT a FROM 'api/other'" and rule["ruleDisabled"] is True
    assert rule["awsIotSqlVersion"] == "2016-03-23" and rule["createdAt"] == created
    assert rule["actions"] == [{"lambda": {"functionArn": function_arn("fn2")}}]

    listed = iot.list_topic_rules(topic="api/other")["rules"]
    assert listed == [{"ruleArn": f"arn:aws:iot:us-east-1:{ACCOUNT}:rule/api_rule_a", "ruleName": "api_rule_a",
                       "topicPattern": "api/other", "createdAt": created, "ruleDisabled": True}]  # fmt: skip
    assert iot.list_topic_rules(topic="api/other", ruleDisabled=False)["rules"] == []

    iot.delete_topic_rule(ruleName="api_rule_a")
    with pytest.raises(iot.exceptions.UnauthorizedException):
        iot.get_topic_rule(ruleName="api_rule_a")
    assert iot.list_topic_rules(topic="api/other")["rules"] == []


def test_errors_as_aws_reports_them(lamina: LaminaProcess) -> None:
    iot = iot_client(lamina.endpoint)
    iot.create_topic_rule(ruleName="err_rule", topicRulePayload=payload("SELECT * FROM 'err/#'"))
    with pytest.raises(iot.exceptions.ResourceAlreadyExistsException):
        iot.create_topic_rule(ruleName="err_rule", topicRulePayload=payload("SELECT * FROM 'err/#'"))
    with pytest.raises(iot.exceptions.SqlParseException) as bad_sql:
        iot.create_topic_rule(ruleName="err_sql", topicRulePayload=payload("SELECT * FORM 'err/#'"))
    assert bad_sql.value.response["Error"]["Message"] == "Line 1:9 mismatched input 'FORM' expecting FROM"
    assert bad_sql.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(iot.exceptions.SqlParseException):
        iot.replace_topic_rule(ruleName="err_rule", topicRulePayload=payload("SELECT * FROM 'err/#' WHERE"))
    with pytest.raises(iot.exceptions.SqlParseException):
        iot.create_topic_rule(ruleName="err_filter", topicRulePayload=payload("SELECT * FROM 'a/#/b'"))
    with pytest.raises(iot.exceptions.InvalidRequestException) as bad_name:
        iot.create_topic_rule(ruleName="has-dash", topicRulePayload=payload("SELECT * FROM 'x'"))
    assert "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$" in str(bad_name.value)
    with pytest.raises(iot.exceptions.InvalidRequestException) as other_action:
        iot.create_topic_rule(ruleName="err_sns", topicRulePayload={"sql": "SELECT * FROM 'x'", "actions": [
            {"sns": {"targetArn": "arn:aws:sns:us-east-1:000000000000:t", "roleArn": "arn:aws:iam::0:role/r"}}]})  # fmt: skip
    assert "Lamina runs only 'lambda' actions" in str(other_action.value)
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.create_topic_rule(ruleName="err_arn", topicRulePayload=payload("SELECT * FROM 'x'") | {
            "actions": [{"lambda": {"functionArn": "not-an-arn"}}]})  # fmt: skip
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.create_topic_rule(ruleName="err_ver", topicRulePayload=payload("SELECT * FROM 'x'", awsIotSqlVersion="1999"))
    for operation in (iot.get_topic_rule, iot.delete_topic_rule, iot.enable_topic_rule, iot.disable_topic_rule):
        with pytest.raises(iot.exceptions.UnauthorizedException):
            operation(ruleName="no_such_rule")
    with pytest.raises(iot.exceptions.UnauthorizedException):
        iot.replace_topic_rule(ruleName="no_such_rule", topicRulePayload=payload("SELECT * FROM 'x'"))
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.list_topic_rules(nextToken="%%%")
    iot.delete_topic_rule(ruleName="err_rule")


def test_pagination(lamina: LaminaProcess) -> None:
    iot = iot_client(lamina.endpoint)
    names = [f"page_rule_{i:02d}" for i in range(7)]
    for name in names:
        iot.create_topic_rule(ruleName=name, topicRulePayload=payload("SELECT * FROM 'paged/topic'"))
    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"topic": "paged/topic", "maxResults": 3}
    while True:
        page = iot.list_topic_rules(**kwargs)
        pages += 1
        seen += [r["ruleName"] for r in page["rules"]]
        if "nextToken" not in page:
            break
        kwargs["nextToken"] = page["nextToken"]
    assert seen == names and pages == 3
    paginated = [r["ruleName"] for p in iot.get_paginator("list_topic_rules").paginate(
        topic="paged/topic", PaginationConfig={"PageSize": 2}) for r in p["rules"]]  # fmt: skip
    assert paginated == names
    for name in names:
        iot.delete_topic_rule(ruleName=name)


def test_the_aws_cli(lamina: LaminaProcess, tmp_path: Path) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip

    def aws(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", lamina.endpoint, "iot", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip

    (tmp_path / "rule.json").write_text(json.dumps(payload("SELECT temp FROM 'cli/+'")))
    created = aws("create-topic-rule", "--rule-name", "cli_rule", "--topic-rule-payload", "file://rule.json")
    assert created.returncode == 0, created.stderr
    shown = aws("get-topic-rule", "--rule-name", "cli_rule")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["rule"]["sql"] == "SELECT temp FROM 'cli/+'"
    assert aws("disable-topic-rule", "--rule-name", "cli_rule").returncode == 0
    listed = aws("list-topic-rules", "--topic", "cli/+")
    assert [r["ruleDisabled"] for r in json.loads(listed.stdout)["rules"]] == [True]
    assert aws("enable-topic-rule", "--rule-name", "cli_rule").returncode == 0
    (tmp_path / "bad.json").write_text(json.dumps(payload("SELECT FROM 'cli/+'")))
    bad = aws("replace-topic-rule", "--rule-name", "cli_rule", "--topic-rule-payload", "file://bad.json")
    assert bad.returncode != 0 and "SqlParseException" in bad.stderr
    assert aws("delete-topic-rule", "--rule-name", "cli_rule").returncode == 0
    gone = aws("get-topic-rule", "--rule-name", "cli_rule")
    assert gone.returncode != 0 and "UnauthorizedException" in gone.stderr


def test_rules_are_kept_across_restarts_and_kept_without_a_broker(make_server: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = make_server(data)
    iot_client(server.endpoint).create_topic_rule(ruleName="kept", topicRulePayload=payload("SELECT * FROM 'k'"))
    assert broker_status(server.endpoint) == {"configured": False, "url": None, "connected": False,
                                              "subscriptions": [], "lastError": None, "received": 0, "invoked": 0, "held": 0}  # fmt: skip
    shown = lamina_iot_rules(server.endpoint)
    assert "kept" in shown and "'k'" not in shown and "ENABLED" in shown
    assert "rules will not fire until the server's LAMINA_MQTT_URL names an MQTT broker" in shown
    assert server.stop() == 0
    assert any("will not fire until LAMINA_MQTT_URL" in line for line in server.output)
    again = make_server(data)
    assert iot_client(again.endpoint).get_topic_rule(ruleName="kept")["rule"]["sql"] == "SELECT * FROM 'k'"


# -- End to end, with a real broker ---------------------------------------------------------------


def test_rules_fire_with_the_selected_json(make_server: Any, mosquitto: Mosquitto) -> None:
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    client = server.client()
    deploy(client, "warm", RECORDER)
    deploy(client, "everything", RECORDER)
    deploy(client, "off", RECORDER)
    iot = iot_client(server.endpoint)
    iot.create_topic_rule(ruleName="warm", topicRulePayload=payload(
        "SELECT temp, meta.unit AS unit, topic() AS topic, topic(2) AS room FROM 'home/+/temp' "
        "WHERE temp > 20 AND (meta.unit = 'C' OR meta.unit = 'F')", "warm"))  # fmt: skip
    iot.create_topic_rule(ruleName="everything", topicRulePayload=payload("SELECT * FROM 'home/#'", "everything"))
    iot.create_topic_rule(ruleName="off", topicRulePayload=payload("SELECT * FROM 'home/#'", "off", ruleDisabled=True))
    wait_subscribed(server.endpoint, "home/+/temp", "home/#")
    assert "home/#" in broker_status(server.endpoint)["subscriptions"]

    send_and_wait_received(server.endpoint, mosquitto, "home/kitchen/temp", {"temp": 10, "meta": {"unit": "C"}})
    send_and_wait_received(server.endpoint, mosquitto, "home/kitchen/hum", {"hum": 40})
    send_and_wait_received(server.endpoint, mosquitto, "home/hall/temp", {"temp": 25, "meta": {"unit": "C"}, "x": 1})
    assert broker_status(server.endpoint)["invoked"] == 4  # warm once, everything three times, off never

    assert wait_for("warm's event", lambda: got(server.endpoint, "warm")) == [
        {"temp": 25, "unit": "C", "topic": "home/hall/temp", "room": "hall"}]
    everything = wait_for("three events", lambda: (e := got(server.endpoint, "everything")) and len(e) == 3 and e)
    assert sorted(everything, key=json.dumps) == sorted(
        [{"temp": 10, "meta": {"unit": "C"}}, {"hum": 40}, {"temp": 25, "meta": {"unit": "C"}, "x": 1}], key=json.dumps)
    assert got(server.endpoint, "off") == []

    # Enabling a rule subscribes it; disabling stops it firing; deleting unsubscribes.
    iot.enable_topic_rule(ruleName="off")
    iot.disable_topic_rule(ruleName="everything")
    iot.delete_topic_rule(ruleName="warm")
    wait_for("home/+/temp unsubscribed", lambda: broker_status(server.endpoint)["subscriptions"] == ["home/#"])
    send_and_wait_received(server.endpoint, mosquitto, "home/attic/temp", {"temp": 30, "meta": {"unit": "C"}})
    assert wait_for("off's event", lambda: got(server.endpoint, "off")) == [{"temp": 30, "meta": {"unit": "C"}}]
    assert len(got(server.endpoint, "everything")) == 3 and len(got(server.endpoint, "warm")) == 1


def test_a_broker_restart_is_survived(make_server: Any, mosquitto: Mosquitto) -> None:
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    deploy(server.client(), "sink", RECORDER)
    iot_client(server.endpoint).create_topic_rule(ruleName="sink", topicRulePayload=payload(
        "SELECT n FROM 'restart/me'", "sink"))  # fmt: skip
    wait_subscribed(server.endpoint, "restart/me")
    send(mosquitto, "restart/me", {"n": 1})
    wait_for("the first event", lambda: got(server.endpoint, "sink") == [{"n": 1}])

    shown = lamina_iot_rules(server.endpoint)
    assert f"broker: {mosquitto.url} connected, 1 subscription" in shown
    assert [line.split() for line in shown.splitlines()][1] == ["sink", "restart/me", "sink", "ENABLED"]

    mosquitto.kill()
    wait_for("Lamina to notice the broker is gone", lambda: not broker_status(server.endpoint)["connected"])
    assert f"broker: {mosquitto.url} NOT connected" in lamina_iot_rules(server.endpoint)
    assert iot_client(server.endpoint).list_topic_rules()["rules"]  # the API answers meanwhile
    mosquitto.start()
    wait_subscribed(server.endpoint, "restart/me")
    send(mosquitto, "restart/me", {"n": 2})
    events = wait_for("the second event", lambda: (e := got(server.endpoint, "sink")) and len(e) == 2 and e)
    assert sorted(e["n"] for e in events) == [1, 2]


def test_messages_published_while_lamina_is_away_are_delivered(make_server: Any, mosquitto: Mosquitto,
                                                               tmp_path: Path) -> None:  # fmt: skip
    data = tmp_path / "data"
    server = make_server(data, LAMINA_MQTT_URL=mosquitto.url)
    deploy(server.client(), "later", RECORDER)
    iot_client(server.endpoint).create_topic_rule(ruleName="later", topicRulePayload=payload(
        "SELECT n FROM 'away/+'", "later"))  # fmt: skip
    wait_subscribed(server.endpoint, "away/+")
    assert server.stop() == 0
    for n in range(5):
        send(mosquitto, f"away/{n}", {"n": n})  # QoS 1: the broker keeps them for Lamina's session
    again = make_server(data, LAMINA_MQTT_URL=mosquitto.url)
    events = wait_for("five events", lambda: (e := got(again.endpoint, "later")) and len(e) == 5 and e)
    assert sorted(e["n"] for e in events) == [0, 1, 2, 3, 4]


def test_hostile_messages(make_server: Any, mosquitto: Mosquitto) -> None:
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    deploy(server.client(), "hostile", RECORDER)
    deploy(server.client(), "raw", RECORDER)
    iot = iot_client(server.endpoint)
    iot.create_topic_rule(ruleName="hostile", topicRulePayload=payload(
        "SELECT *, topic() AS t FROM 'h/#' WHERE odd = true", "hostile"))  # fmt: skip
    iot.create_topic_rule(ruleName="hostile_any", topicRulePayload=payload("SELECT * FROM 'h/#'", "hostile"))
    iot.create_topic_rule(ruleName="raw", topicRulePayload=payload(
        "SELECT encode(*, 'base64') AS data FROM 'raw/+'", "raw"))  # fmt: skip
    wait_subscribed(server.endpoint, "h/#", "raw/+")
    status = broker_status(server.endpoint)

    send_and_wait_received(server.endpoint, mosquitto, "h/huge", json.dumps({"x": "y" * (1024 * 1024)}))
    send_and_wait_received(server.endpoint, mosquitto, "h/binary", b"\x00\xff\xfe not json at all")
    send_and_wait_received(server.endpoint, mosquitto, "h/deep", "[" * 100_000 + "]" * 100_000)
    send_and_wait_received(server.endpoint, mosquitto, "h/deep-object", '{"a":' * 50_000 + "1" + "}" * 50_000)
    send_and_wait_received(server.endpoint, mosquitto, "h/nan", '{"x": NaN}')
    send_and_wait_received(server.endpoint, mosquitto, "h/odd \u00ff\U0001F600//ü", {"odd": True})
    send_and_wait_received(server.endpoint, mosquitto, "raw/bin", b"\x00\x01\xff")
    after = broker_status(server.endpoint)
    assert after["received"] == status["received"] + 7
    # Only the odd topic's message (twice: two rules) and the raw one were fit to invoke with.
    assert after["invoked"] == status["invoked"] + 3
    odd = wait_for("the odd topic's events", lambda: (e := got(server.endpoint, "hostile")) and len(e) == 2 and e)
    assert {"odd": True, "t": "h/odd \u00ff\U0001F600//ü"} in odd and {"odd": True} in odd
    assert wait_for("raw's event", lambda: got(server.endpoint, "raw")) == [{"data": "AAH/"}]
    assert iot.list_topic_rules()["rules"]  # and the API still answers
    assert not any("Traceback" in line for line in server.output)


def test_a_broker_that_asks_for_credentials(make_server: Any, tmp_path: Path) -> None:
    executable = mosquitto_path()
    if executable is None:
        pytest.skip("mosquitto is not installed (scripts/install/mosquitto.sh)")
    broker = Mosquitto(tmp_path / "secured", executable, users={"alice": "s3cret:@/"}).start()
    try:
        refused = make_server(tmp_path / "refused", LAMINA_MQTT_URL=f"mqtt://alice:wrong@127.0.0.1:{broker.port}")
        wait_for("the refusal", lambda: broker_status(refused.endpoint)["lastError"])
        status = broker_status(refused.endpoint)
        assert not status["connected"] and "Not authorized" in status["lastError"], status
        assert status["url"] == f"mqtt://alice@127.0.0.1:{broker.port}"  # never the password
        assert "NOT connected" in lamina_iot_rules(refused.endpoint)

        server = make_server(tmp_path / "allowed", LAMINA_MQTT_URL=f"mqtt://alice:s3cret%3A%40%2F@127.0.0.1:{broker.port}")
        deploy(server.client(), "secured", RECORDER)
        iot_client(server.endpoint).create_topic_rule(ruleName="secured", topicRulePayload=payload(
            "SELECT * FROM 'secure/+'", "secured"))  # fmt: skip
        wait_subscribed(server.endpoint, "secure/+")
        publish.single("secure/1", '{"ok": 1}', qos=1, hostname="127.0.0.1", port=broker.port,
                       auth={"username": "alice", "password": "s3cret:@/"})  # fmt: skip
        assert wait_for("the event", lambda: got(server.endpoint, "secured")) == [{"ok": 1}]
        assert not any("s3cret" in line for line in server.output + refused.output)
    finally:
        broker.stop()


def test_a_broker_that_is_down_at_start_delays_nothing(make_server: Any, tmp_path: Path) -> None:
    executable = mosquitto_path()
    if executable is None:
        pytest.skip("mosquitto is not installed (scripts/install/mosquitto.sh)")
    broker = Mosquitto(tmp_path / "late", executable)  # its port chosen, not started yet
    server = make_server(LAMINA_MQTT_URL=broker.url)
    try:
        wait_for("a failed connection", lambda: broker_status(server.endpoint)["lastError"])
        deploy(server.client(), "late", RECORDER)
        iot_client(server.endpoint).create_topic_rule(ruleName="late", topicRulePayload=payload(
            "SELECT * FROM 'late/+'", "late"))  # fmt: skip
        assert broker_status(server.endpoint)["connected"] is False
        broker.start()
        wait_subscribed(server.endpoint, "late/+")
        send(broker, "late/1", {"at": "last"})
        assert wait_for("the event", lambda: got(server.endpoint, "late")) == [{"at": "last"}]
    finally:
        broker.stop()


def test_retained_messages_fire_once(make_server: Any, mosquitto: Mosquitto) -> None:
    server = make_server(LAMINA_MQTT_URL=mosquitto.url)
    deploy(server.client(), "kept", RECORDER)
    iot = iot_client(server.endpoint)
    iot.create_topic_rule(ruleName="exact", topicRulePayload=payload("SELECT n FROM 'ret/a'", "kept"))
    wait_subscribed(server.endpoint, "ret/a")
    before = broker_status(server.endpoint)
    publish.single("ret/a", '{"n": 1}', qos=1, retain=True, hostname="127.0.0.1", port=mosquitto.port)
    wait_for("the retained message", lambda: broker_status(server.endpoint)["received"] == before["received"] + 1)
    assert broker_status(server.endpoint)["invoked"] == before["invoked"] + 1  # published live: it fires

    # A new subscription makes the broker send the retained message again: state, not a new event.
    iot.create_topic_rule(ruleName="wildcard", topicRulePayload=payload("SELECT n FROM 'ret/+'", "kept"))
    wait_subscribed(server.endpoint, "ret/a", "ret/+")
    send_and_wait_received(server.endpoint, mosquitto, "ret/a", {"n": 2})
    assert broker_status(server.endpoint)["invoked"] == before["invoked"] + 3  # n=2 by both rules, n=1 not again
    events = wait_for("three events", lambda: (e := got(server.endpoint, "kept")) and len(e) == 3 and e)
    assert sorted(e["n"] for e in events) == [1, 2, 2]


# -- Acknowledgement: nothing lost on a crash -----------------------------------------------------

# Prints its number, then stays long enough that its line is written (the server writes log lines
# every 0.1 s) before its event leaves the store: a kill -9 never loses a line whose event is gone.
NUMBERED = """
import json, time
def handler(event, context):
    print("GOT " + json.dumps(event, sort_keys=True), flush=True)
    time.sleep(0.3)
"""


def test_kill_9_mid_stream_loses_nothing(make_server: Any, mosquitto: Mosquitto, tmp_path: Path) -> None:
    import threading
    from collections import Counter

    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    data, count = tmp_path / "data", 300
    env = {"LAMINA_MQTT_URL": mosquitto.url, "LAMINA_ASYNC_WORKERS": "8"}
    first = make_server(data, **env)
    deploy(first.client(), "numbered", NUMBERED)
    iot_client(first.endpoint).create_topic_rule(ruleName="numbered", topicRulePayload=payload(
        "SELECT n FROM 'stream/+'", "numbered"))  # fmt: skip
    wait_subscribed(first.endpoint, "stream/+")

    publisher = paho.Client(CallbackAPIVersion.VERSION2, client_id="numbered-publisher")
    publisher.connect("127.0.0.1", mosquitto.port)
    publisher.loop_start()
    failures: list[BaseException] = []

    def publish_all() -> None:  # as fast as the broker takes them: Lamina falls behind, as in a burst
        try:
            for n in range(count):
                publisher.publish(f"stream/{n % 7}", json.dumps({"n": n}), qos=1).wait_for_publish(30)
        except BaseException as exc:
            failures.append(exc)

    sending = threading.Thread(target=publish_all)
    sending.start()
    try:
        wait_for("some invocations stored", lambda: broker_status(first.endpoint)["invoked"] >= 40)
        first.kill()
    finally:
        sending.join(60)
        publisher.loop_stop()
        publisher.disconnect()
    assert not failures and not sending.is_alive()

    second = make_server(data, **env)
    deadline = time.monotonic() + 180
    delivered: Counter[int] = Counter()
    while time.monotonic() < deadline and set(delivered) != set(range(count)):
        time.sleep(0.5)
        delivered = Counter(e["n"] for e in got(second.endpoint, "numbered"))
    assert set(delivered) == set(range(count)), f"lost: {sorted(set(range(count)) - set(delivered))}"
    duplicates = sum(times - 1 for times in delivered.values())
    print(f"kill -9 mid-stream: {count} messages, all delivered, {duplicates} more than once")


SLOW = """
import json, time
def handler(event, context):
    print("GOT " + json.dumps(event, sort_keys=True), flush=True)
    time.sleep(2)
"""


def test_a_full_queue_holds_the_message_until_it_has_room(make_server: Any, mosquitto: Mosquitto) -> None:
    # A queue of one event: while the first runs (two seconds), the second is refused for now.
    server = make_server(LAMINA_MQTT_URL=mosquitto.url, LAMINA_ASYNC_QUEUE_EVENTS="1")
    deploy(server.client(), "narrow", SLOW)
    iot_client(server.endpoint).create_topic_rule(ruleName="narrow", topicRulePayload=payload(
        "SELECT n FROM 'narrow/+'", "narrow"))  # fmt: skip
    wait_subscribed(server.endpoint, "narrow/+")
    for n in range(3):
        send(mosquitto, f"narrow/{n}", {"n": n})
    wait_for("an invocation held", lambda: broker_status(server.endpoint)["held"] == 1)
    events = wait_for("three events", lambda: (e := got(server.endpoint, "narrow")) and len(e) == 3 and e)
    assert sorted(e["n"] for e in events) == [0, 1, 2]  # held, then stored: none dropped
    status = broker_status(server.endpoint)
    assert status["invoked"] == 3 and status["received"] == 3
    assert server.stop() == 0
    assert any("refused for now" in line for line in server.output)


def test_a_message_refused_for_good_is_acknowledged(make_server: Any, mosquitto: Mosquitto,
                                                   tmp_path: Path) -> None:  # fmt: skip
    data = tmp_path / "data"
    server = make_server(data, LAMINA_MQTT_URL=mosquitto.url)
    deploy(server.client(), "alive", RECORDER)
    iot = iot_client(server.endpoint)
    iot.create_topic_rule(ruleName="ghost", topicRulePayload=payload("SELECT n FROM 'gone/+'", "ghost"))
    iot.create_topic_rule(ruleName="alive", topicRulePayload=payload("SELECT n FROM 'gone/+'", "alive"))
    wait_subscribed(server.endpoint, "gone/+")
    send_and_wait_received(server.endpoint, mosquitto, "gone/1", {"n": 1})
    assert broker_status(server.endpoint)["invoked"] == 1  # alive's; ghost's function does not exist
    assert wait_for("alive's event", lambda: got(server.endpoint, "alive")) == [{"n": 1}]
    assert server.stop() == 0
    assert any("IoT rule ghost: invoking" in line and "dropped" in line for line in server.output)

    # Acknowledged: the broker does not send it again to the same session.
    again = make_server(data, LAMINA_MQTT_URL=mosquitto.url)
    wait_subscribed(again.endpoint, "gone/+")
    send_and_wait_received(again.endpoint, mosquitto, "gone/2", {"n": 2})
    assert broker_status(again.endpoint)["received"] == 1
    events = wait_for("the second event", lambda: (e := got(again.endpoint, "alive")) and len(e) == 2 and e)
    assert sorted(e["n"] for e in events) == [1, 2]
