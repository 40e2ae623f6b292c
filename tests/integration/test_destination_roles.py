"""A function's dead-letter queue and asynchronous destinations are sent to with its execution role,
as AWS checks it: at CreateFunction, UpdateFunctionConfiguration and PutFunctionEventInvokeConfig
(InvalidParameterValueException, AWS's words), and at send time (a refused dead letter or record is
not sent, and counted lost). A queue of another account must allow the role in its policy. An event
bus rule's target may be another account's function, which runs in its own account once its
resource policy allows the rule, and an event source mapping may read another account's queue its
policy lets the function's role read. One server, two accounts (two root keys); boto3 throughout."""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from tests import signing
from tests.conftest import LaminaProcess, deploy, server_env
from tests.functions import wait_until
from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, KEYS, SECRET_A, SECRET_B, client
from tests.roles import make_role

FAILING = "def handler(event, context):\n    raise RuntimeError('boom ' + str(event))\n"
ANSWERING = "def handler(event, context):\n    return {'ran': context.invoked_function_arn, 'got': event}\n"
DEAD_LETTER = "The provided execution role does not have permissions to call {} on {}"
DESTINATION = "The function execution role does not have permissions to call {} on {}"
INVALID = "InvalidParameterValueException"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path_factory.mktemp("destination-roles"), env).start()
    yield process
    assert process.stop() == 0  # a mapping reading another account's queue does not hold the shutdown up


def role(server: LaminaProcess, account: str, name: str, statements: list[dict[str, Any]]) -> str:
    key, secret = (KEY_A, SECRET_A) if account == ACCOUNT_A else (KEY_B, SECRET_B)
    return make_role(server.endpoint, name, statements, key=key, secret=secret)


def queue(server: LaminaProcess, account: str, name: str) -> tuple[str, str]:
    """(url, arn) of a new queue of ``account``."""
    sqs = client("sqs", server.endpoint, account)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def refusal(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def send_allowed(arn: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}


def received(server: LaminaProcess, account: str, url: str) -> dict[str, Any]:
    """The next message of the queue (waiting for it), deleted."""
    sqs = client("sqs", server.endpoint, account)

    def one() -> dict[str, Any] | None:
        found = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MessageAttributeNames=["All"]).get("Messages")
        return found[0] if found else None

    message: dict[str, Any] = wait_until(one, timeout=60)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return message


def lost(server: LaminaProcess, function: str) -> dict[str, Any]:
    with signing.urlopen(f"{server.endpoint}/lamina/v1/queue", timeout=10, key=KEY_A, secret=SECRET_A) as r:
        rows = json.loads(r.read())["lost"]
    return next((row for row in rows if row["function"] == function), {})


def outbox_of(server: LaminaProcess, target: str) -> list[dict[str, Any]]:
    """Account A's outbox messages for ``target``."""
    url = f"{server.endpoint}/lamina/v1/outbox?target={target}"
    with signing.urlopen(url, timeout=10, key=KEY_A, secret=SECRET_A) as r:
        return list(json.loads(r.read())["messages"])


def invoke_event(lam: Any, name: str, payload: object) -> None:
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(payload))["StatusCode"] == 202


def test_a_dead_letter_queue_the_role_cannot_send_to_is_refused(server: LaminaProcess) -> None:
    lam = client("lambda", server.endpoint, ACCOUNT_A)
    _, dlq = queue(server, ACCOUNT_A, "refused-dlq")
    _, elsewhere = queue(server, ACCOUNT_A, "refused-elsewhere")
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT_A}:alarms"
    bare = role(server, ACCOUNT_A, "dlq-bare", [])
    wrong_queue = role(server, ACCOUNT_A, "dlq-wrong-queue", [send_allowed(elsewhere)])
    denied = role(server, ACCOUNT_A, "dlq-denied", [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                                                    {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": dlq}])
    sender = role(server, ACCOUNT_A, "dlq-sender", [send_allowed(dlq)])
    publisher = role(server, ACCOUNT_A, "dlq-publisher", [{"Effect": "Allow", "Action": "sns:Publish",
                                                           "Resource": topic}])  # fmt: skip

    for refused_role in (bare, wrong_queue, denied):
        with pytest.raises(ClientError) as raised:
            deploy(lam, "dlq-refused", FAILING, role=refused_role, DeadLetterConfig={"TargetArn": dlq})
        error = raised.value.response["Error"]
        assert (error["Code"], error["Message"]) == (INVALID, DEAD_LETTER.format("SendMessage", "SQS"))
    assert refusal(lam.get_function, FunctionName="dlq-refused")[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as raised:
        deploy(lam, "dlq-refused", FAILING, role=sender, DeadLetterConfig={"TargetArn": topic})
    assert raised.value.response["Error"]["Message"] == DEAD_LETTER.format("Publish", "SNS")

    deploy(lam, "dlq-sender", FAILING, role=sender, DeadLetterConfig={"TargetArn": dlq})
    deploy(lam, "dlq-publisher", FAILING, role=publisher, DeadLetterConfig={"TargetArn": topic})
    # Changing the role, or the target, is checked again; the function is left as it was.
    assert refusal(lam.update_function_configuration, FunctionName="dlq-sender", Role=bare) == (
        INVALID, DEAD_LETTER.format("SendMessage", "SQS"))  # fmt: skip
    assert refusal(lam.update_function_configuration, FunctionName="dlq-sender",
                   DeadLetterConfig={"TargetArn": elsewhere}) == (INVALID, DEAD_LETTER.format("SendMessage", "SQS"))
    config = lam.get_function_configuration(FunctionName="dlq-sender")
    assert (config["Role"], config["DeadLetterConfig"]["TargetArn"]) == (sender, dlq)
    lam.get_waiter("function_updated_v2").wait(FunctionName="dlq-sender")
    lam.update_function_configuration(FunctionName="dlq-sender", DeadLetterConfig={"TargetArn": ""})
    lam.get_waiter("function_updated_v2").wait(FunctionName="dlq-sender")
    lam.update_function_configuration(FunctionName="dlq-sender", Role=bare)  # no dead-letter queue: nothing to send


def test_a_queue_policy_allowing_the_role_is_enough_within_the_account(server: LaminaProcess) -> None:
    lam, sqs = client("lambda", server.endpoint, ACCOUNT_A), client("sqs", server.endpoint, ACCOUNT_A)
    url, dlq = queue(server, ACCOUNT_A, "policy-dlq")
    bare = role(server, ACCOUNT_A, "policy-bare", [])
    assert refusal(lam.create_function, FunctionName="by-policy", Runtime="python3.11", Role=bare,
                   Handler="app.handler", Code={"ZipFile": b"PK"}, DeadLetterConfig={"TargetArn": dlq}) == (
        INVALID, DEAD_LETTER.format("SendMessage", "SQS"))  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": bare}, "Action": "sqs:SendMessage", "Resource": dlq}]})})
    deploy(lam, "by-policy", FAILING, role=bare, DeadLetterConfig={"TargetArn": dlq})


def test_destinations_the_role_cannot_reach_are_refused(server: LaminaProcess) -> None:
    lam = client("lambda", server.endpoint, ACCOUNT_A)
    _, target = queue(server, ACCOUNT_A, "destination-queue")
    bus = f"arn:aws:events:us-east-1:{ACCOUNT_A}:event-bus/default"
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT_A}:records"
    deploy(lam, "destination-answer", ANSWERING, role=role(server, ACCOUNT_A, "destination-answer", []))
    answer = lam.get_function_configuration(FunctionName="destination-answer")["FunctionArn"]
    deploy(lam, "destination-bare", ANSWERING, role=role(server, ACCOUNT_A, "destination-bare", []))
    put = lam.put_function_event_invoke_config
    for arn, action in ((target, "SendMessage"), (bus, "PutEvents"), (topic, "Publish"), (answer, "InvokeFunction")):
        assert refusal(put, FunctionName="destination-bare", DestinationConfig={"OnFailure": {"Destination": arn}}) == (
            INVALID, DESTINATION.format(action, arn))  # fmt: skip
        assert refusal(put, FunctionName="destination-bare", DestinationConfig={"OnSuccess": {"Destination": arn}}) == (
            INVALID, DESTINATION.format(action, arn))  # fmt: skip
    assert refusal(lam.get_function_event_invoke_config, FunctionName="destination-bare")[0] == (
        "ResourceNotFoundException")  # fmt: skip
    put(FunctionName="destination-bare", MaximumRetryAttempts=1)
    assert refusal(lam.update_function_event_invoke_config, FunctionName="destination-bare",
                   DestinationConfig={"OnSuccess": {"Destination": target}}) == (
        INVALID, DESTINATION.format("SendMessage", target))  # fmt: skip

    allowed = role(server, ACCOUNT_A, "destination-all", [
        send_allowed(target), {"Effect": "Allow", "Action": "events:PutEvents", "Resource": bus},
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": answer}])  # fmt: skip
    deploy(lam, "destination-allowed", ANSWERING, role=allowed)
    put(FunctionName="destination-allowed", DestinationConfig={"OnSuccess": {"Destination": target},
                                                              "OnFailure": {"Destination": answer}})  # fmt: skip
    put(FunctionName="destination-allowed", DestinationConfig={"OnSuccess": {"Destination": bus}})


def test_a_send_the_role_no_longer_allows_is_lost_and_counted(server: LaminaProcess) -> None:
    lam, iam = client("lambda", server.endpoint, ACCOUNT_A), client("iam", server.endpoint, ACCOUNT_A)
    dlq_url, dlq = queue(server, ACCOUNT_A, "sent-dlq")
    records_url, records = queue(server, ACCOUNT_A, "sent-records")
    sender = role(server, ACCOUNT_A, "sent-role", [send_allowed(dlq), send_allowed(records)])
    deploy(lam, "sent-failing", FAILING, role=sender, DeadLetterConfig={"TargetArn": dlq})
    deploy(lam, "sent-answering", ANSWERING, role=sender)
    lam.put_function_event_invoke_config(FunctionName="sent-failing", MaximumRetryAttempts=0)
    lam.put_function_event_invoke_config(FunctionName="sent-answering",
                                         DestinationConfig={"OnSuccess": {"Destination": records}})  # fmt: skip

    invoke_event(lam, "sent-failing", "first")
    invoke_event(lam, "sent-answering", "first")
    letter = received(server, ACCOUNT_A, dlq_url)
    assert json.loads(letter["Body"]) == "first"
    assert letter["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom first"
    record = json.loads(received(server, ACCOUNT_A, records_url)["Body"])
    assert record["responsePayload"]["got"] == "first"

    iam.delete_role_policy(RoleName="sent-role", PolicyName="allowed")  # the role may no longer send
    invoke_event(lam, "sent-failing", "second")
    invoke_event(lam, "sent-answering", "second")
    wait_until(lambda: lost(server, "sent-failing").get("DeadLetterErrors") == 1, timeout=60)
    wait_until(lambda: lost(server, "sent-answering").get("DestinationDeliveryFailures") == 1, timeout=60)
    with signing.urlopen(f"{server.endpoint}/lamina/v1/outbox", timeout=10, key=KEY_A, secret=SECRET_A) as r:
        waiting = json.loads(r.read())
    assert dlq not in json.dumps(waiting) and records not in json.dumps(waiting)
    sqs = client("sqs", server.endpoint, ACCOUNT_A)
    for url in (dlq_url, records_url):
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    # The same counts, as Prometheus reads them (loopback: no token needed).
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert f'lamina_dead_letter_errors_total{{account="{ACCOUNT_A}",function="sent-failing",region="us-east-1"}} 1.0' \
        in metrics  # fmt: skip
    assert f'lamina_destination_delivery_failures_total{{account="{ACCOUNT_A}",function="sent-answering",' \
           f'region="us-east-1"}} 1.0' in metrics  # fmt: skip


def test_a_queue_of_another_account_takes_dead_letters_its_policy_allows(server: LaminaProcess) -> None:
    lam = client("lambda", server.endpoint, ACCOUNT_A)
    url, dlq = queue(server, ACCOUNT_B, "shared-dlq")  # B's queue
    sender = role(server, ACCOUNT_A, "cross-sender", [send_allowed(dlq)])  # A's role, allowed by its own policy
    assert refusal(lam.create_function, FunctionName="cross-dlq", Runtime="python3.11", Role=sender,
                   Handler="app.handler", Code={"ZipFile": b"PK"}, DeadLetterConfig={"TargetArn": dlq}) == (
        INVALID, DEAD_LETTER.format("SendMessage", "SQS"))  # fmt: skip

    sqs_b = client("sqs", server.endpoint, ACCOUNT_B)
    sqs_b.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}, "Action": "sqs:SendMessage",
         "Resource": dlq}]})})  # fmt: skip
    bare = role(server, ACCOUNT_A, "cross-bare", [])  # the queue's policy alone does not do across accounts
    assert refusal(lam.create_function, FunctionName="cross-dlq", Runtime="python3.11", Role=bare,
                   Handler="app.handler", Code={"ZipFile": b"PK"}, DeadLetterConfig={"TargetArn": dlq}) == (
        INVALID, DEAD_LETTER.format("SendMessage", "SQS"))  # fmt: skip

    deploy(lam, "cross-dlq", FAILING, role=sender, DeadLetterConfig={"TargetArn": dlq})
    lam.put_function_event_invoke_config(FunctionName="cross-dlq", MaximumRetryAttempts=0)
    # A rule of A's targeting the same queue: its policy does not allow events.amazonaws.com, so the
    # rule's event waits in A's outbox and never reaches B's queue (only a function's role crosses).
    events_a = client("events", server.endpoint, ACCOUNT_A)
    events_a.put_rule(Name="to-b-queue", EventPattern=json.dumps({"source": ["crossing"]}))
    events_a.put_targets(Rule="to-b-queue", Targets=[{"Id": "q", "Arn": dlq}])
    assert events_a.put_events(Entries=[{"Source": "crossing", "DetailType": "t", "Detail": "{}"}])[
        "FailedEntryCount"] == 0  # fmt: skip
    wait_until(lambda: [m for m in outbox_of(server, dlq) if m["kind"] == "event"], timeout=60)

    invoke_event(lam, "cross-dlq", "across")  # its dead letter is written to the outbox after the rule's event
    letter = received(server, ACCOUNT_B, url)
    assert json.loads(letter["Body"]) == "across"
    assert letter["MessageAttributes"]["ErrorMessage"]["StringValue"] == "boom across"
    assert [m["kind"] for m in outbox_of(server, dlq)] == ["event"]  # looked at before the letter, left
    assert "Messages" not in client("sqs", server.endpoint, ACCOUNT_B).receive_message(QueueUrl=url)


def test_a_rule_fires_another_accounts_function_once_its_policy_allows(server: LaminaProcess) -> None:
    events_a = client("events", server.endpoint, ACCOUNT_A)
    lam_b = client("lambda", server.endpoint, ACCOUNT_B)
    records_url, records = queue(server, ACCOUNT_B, "rule-records")
    refusals_url, refusals = queue(server, ACCOUNT_A, "rule-refusals")
    deploy(lam_b, "rule-target", ANSWERING, role=role(server, ACCOUNT_B, "rule-target", [send_allowed(records)]))
    target = lam_b.get_function_configuration(FunctionName="rule-target")["FunctionArn"]
    lam_b.put_function_event_invoke_config(FunctionName="rule-target",
                                           DestinationConfig={"OnSuccess": {"Destination": records}})  # fmt: skip
    rule = events_a.put_rule(Name="to-b", EventPattern=json.dumps({"source": ["orders"]}))["RuleArn"]
    events_a.put_targets(Rule="to-b", Targets=[{"Id": "b", "Arn": target, "DeadLetterConfig": {"Arn": refusals},
                                                "RetryPolicy": {"MaximumRetryAttempts": 0}}])  # fmt: skip

    def put(detail: str) -> None:
        answer = events_a.put_events(Entries=[{"Source": "orders", "DetailType": "placed", "Detail": json.dumps(
            {"n": detail})}])  # fmt: skip
        assert answer["FailedEntryCount"] == 0

    put("before")  # B's function does not allow the rule: the event is dead-lettered in A, unrun
    letter = received(server, ACCOUNT_A, refusals_url)
    attributes = {name: value["StringValue"] for name, value in letter["MessageAttributes"].items()}
    assert (attributes["ERROR_CODE"], attributes["RULE_ARN"], attributes["TARGET_ARN"]) == (
        "NO_PERMISSIONS", rule, target)  # fmt: skip

    lam_b.add_permission(FunctionName="rule-target", StatementId="from-a", Action="lambda:InvokeFunction",
                         Principal="events.amazonaws.com", SourceArn=rule)  # fmt: skip
    put("after")
    record = json.loads(received(server, ACCOUNT_B, records_url)["Body"])
    assert record["responsePayload"]["ran"] == target  # it ran in B, as B's function
    assert record["responsePayload"]["got"]["detail"] == {"n": "after"}
    assert record["responsePayload"]["got"]["account"] == ACCOUNT_A
    sqs_b = client("sqs", server.endpoint, ACCOUNT_B)
    assert "Messages" not in sqs_b.receive_message(QueueUrl=records_url, WaitTimeSeconds=0)  # "before" never ran


PRINTING = """
def handler(event, context):
    for record in event['Records']:
        print('READ', record['eventSourceARN'], record['body'])
"""
READ = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def printed(server: LaminaProcess, function: str) -> list[str]:
    url = f"{server.endpoint}/lamina/v1/functions/{function}/logs?since=0&limit=1000"
    with signing.urlopen(url, timeout=10, key=KEY_A, secret=SECRET_A) as r:
        return [e["message"].strip() for e in json.loads(r.read())["events"] if e["message"].startswith("READ ")]


def test_a_mapping_reads_another_accounts_queue_once_its_policy_allows(server: LaminaProcess) -> None:
    lam = client("lambda", server.endpoint, ACCOUNT_A)
    url, source = queue(server, ACCOUNT_B, "b-source")
    reader = role(server, ACCOUNT_A, "b-reader", [{"Effect": "Allow", "Action": READ, "Resource": source}])
    deploy(lam, "b-reader", PRINTING, role=reader)
    create = lam.create_event_source_mapping
    assert refusal(create, EventSourceArn=source, FunctionName="b-reader") == (
        INVALID, "The provided execution role does not have permissions to call ReceiveMessage on SQS")  # fmt: skip

    sqs_b = client("sqs", server.endpoint, ACCOUNT_B)
    sqs_b.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": reader}, "Action": READ, "Resource": source}]})})  # fmt: skip
    deploy(lam, "b-bare", PRINTING, role=role(server, ACCOUNT_A, "b-bare", []))  # its own policies allow nothing
    assert refusal(create, EventSourceArn=source, FunctionName="b-bare")[1].endswith("call ReceiveMessage on SQS")

    mapping = create(EventSourceArn=source, FunctionName="b-reader", BatchSize=1)
    assert mapping["EventSourceArn"] == source
    wait_until(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Enabled", timeout=60)
    sqs_b.send_message(QueueUrl=url, MessageBody="from b")
    assert wait_until(lambda: printed(server, "b-reader"), timeout=60) == [f"READ {source} from b"]
    attributes = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    wait_until(lambda: set(sqs_b.get_queue_attributes(QueueUrl=url, AttributeNames=attributes)["Attributes"].values())
               == {"0"}, timeout=60)  # read and deleted in B's queue
