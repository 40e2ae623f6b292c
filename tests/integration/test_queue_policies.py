"""Queue policies, evaluated: two accounts (two root keys) on one server, another account's
principals reaching a queue as its policy allows, and services delivering into queues only where
the policy lets their service principal (outside the development mode)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, server_env
from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEY_A, KEY_B, KEYS, SECRET_A, SECRET_B, client
from tests import signing
from tests.objects import bucket_name

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
R = "us-east-1"


def error_code(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return str(info.value.response["Error"]["Code"])


def keyed(service: str, endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=R, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 0}))  # fmt: skip


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    env = server_env(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    process = LaminaProcess(tmp_path_factory.mktemp("queue-policies"), env).start()
    yield process
    process.stop()


def make_user(endpoint: str, account: str, name: str, statements: list[dict[str, Any]]) -> Any:
    """An SQS client of a new user of ``account`` whose one inline policy holds ``statements``."""
    iam = client("iam", endpoint, account)
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy(*statements))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    sqs = keyed("sqs", endpoint, made["AccessKeyId"], made["SecretAccessKey"])
    sqs.arn = arn
    return sqs


def make_queue(server: LaminaProcess, name: str, queue_policy: str | None = None) -> tuple[str, str]:
    sqs = client("sqs", server.endpoint, ACCOUNT_A)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    if queue_policy is not None:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy})
    return url, f"arn:aws:sqs:{R}:{ACCOUNT_A}:{name}"


def test_without_a_policy_another_account_is_refused(server: LaminaProcess) -> None:
    url, _ = make_queue(server, "no-policy")
    b = client("sqs", server.endpoint, ACCOUNT_B)
    assert error_code(b.send_message, QueueUrl=url, MessageBody="x") == "AccessDenied"
    assert error_code(b.receive_message, QueueUrl=url) == "AccessDenied"
    assert error_code(b.get_queue_url, QueueName="no-policy", QueueOwnerAWSAccountId=ACCOUNT_A) == "AccessDenied"
    with pytest.raises(ClientError) as info:
        b.send_message(QueueUrl=url, MessageBody="x")
    error = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Message"] == (f"User: arn:aws:iam::{ACCOUNT_B}:root is not authorized to perform: sqs:SendMessage "
                                f"on resource: arn:aws:sqs:{R}:{ACCOUNT_A}:no-policy because no resource-based "
                                "policy allows the sqs:SendMessage action")  # fmt: skip
    # A queue that does not exist is not there, whoever asks.
    missing = url.rsplit("/", 1)[0] + "/missing"
    assert error_code(b.send_message, QueueUrl=missing, MessageBody="x") == "AWS.SimpleQueueService.NonExistentQueue"
    assert error_code(b.get_queue_url, QueueName="missing", QueueOwnerAWSAccountId=ACCOUNT_A) == \
        "AWS.SimpleQueueService.NonExistentQueue"  # fmt: skip
    # A's own root is not touched by it.
    a = client("sqs", server.endpoint, ACCOUNT_A)
    a.send_message(QueueUrl=url, MessageBody="a's")
    assert [m["Body"] for m in a.receive_message(QueueUrl=url)["Messages"]] == ["a's"]


def test_add_permission_lets_the_other_account_send_receive_and_delete(server: LaminaProcess) -> None:
    url, arn = make_queue(server, "shared")
    a, b = client("sqs", server.endpoint, ACCOUNT_A), client("sqs", server.endpoint, ACCOUNT_B)
    a.add_permission(QueueUrl=url, Label="b", AWSAccountIds=[ACCOUNT_B],
                     Actions=["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueUrl"])  # fmt: skip
    found = b.get_queue_url(QueueName="shared", QueueOwnerAWSAccountId=ACCOUNT_A)["QueueUrl"]
    assert found.endswith(f"/{ACCOUNT_A}/shared")
    b.send_message(QueueUrl=found, MessageBody="from b")
    sent = b.send_message_batch(QueueUrl=found, Entries=[{"Id": "1", "MessageBody": "batched"}])
    assert [s["Id"] for s in sent["Successful"]] == ["1"]
    received = b.receive_message(QueueUrl=found, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["batched", "from b"]
    for message in received:
        b.delete_message(QueueUrl=found, ReceiptHandle=message["ReceiptHandle"])
    assert a.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "ApproximateNumberOfMessagesNotVisible"] == "0"  # fmt: skip
    # Only what was granted; and never what SQS keeps to the queue's own account.
    assert error_code(b.get_queue_attributes, QueueUrl=found, AttributeNames=["All"]) == "AccessDenied"
    assert error_code(b.set_queue_attributes, QueueUrl=found, Attributes={"DelaySeconds": "1"}) == "AccessDenied"
    assert error_code(b.delete_queue, QueueUrl=found) == "AccessDenied"
    a.remove_permission(QueueUrl=url, Label="b")
    assert error_code(b.send_message, QueueUrl=found, MessageBody="again") == "AccessDenied"
    assert arn in a.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def test_another_accounts_users_need_both_policies_and_conditions_and_denies_count(server: LaminaProcess) -> None:
    url, arn = make_queue(server, "matrix")
    send_it = [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn}]
    bob = make_user(server.endpoint, ACCOUNT_B, "bob", send_it)
    carol = make_user(server.endpoint, ACCOUNT_B, "carol", send_it)
    dave = make_user(server.endpoint, ACCOUNT_B, "dave", [])
    a = client("sqs", server.endpoint, ACCOUNT_A)
    # The policy names B's account: B's users need their own policies to allow it too.
    a.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}, "Action": "sqs:SendMessage",
         "Resource": arn})})  # fmt: skip
    bob.send_message(QueueUrl=url, MessageBody="bob")
    assert error_code(dave.send_message, QueueUrl=url, MessageBody="dave") == "AccessDenied"
    # With a condition: only bob.
    a.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "sqs:*", "Resource": arn,
         "Condition": {"ArnEquals": {"aws:PrincipalArn": bob.arn}}})})  # fmt: skip
    bob.send_message(QueueUrl=url, MessageBody="bob again")
    assert error_code(carol.send_message, QueueUrl=url, MessageBody="carol") == "AccessDenied"
    # An explicit deny wins over both allows.
    a.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "sqs:*", "Resource": arn},
        {"Effect": "Deny", "Principal": {"AWS": carol.arn}, "Action": "sqs:SendMessage", "Resource": arn})})
    bob.send_message(QueueUrl=url, MessageBody="bob once more")
    assert error_code(carol.send_message, QueueUrl=url, MessageBody="carol") == "AccessDenied"
    bodies = sorted(m["Body"] for m in a.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
    assert bodies == ["bob", "bob again", "bob once more"]


def test_within_the_account_the_queue_policy_allows_and_denies(server: LaminaProcess) -> None:
    url, arn = make_queue(server, "own")
    erin = make_user(server.endpoint, ACCOUNT_A, "erin", [])
    frank = make_user(server.endpoint, ACCOUNT_A, "frank", [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}])
    a = client("sqs", server.endpoint, ACCOUNT_A)
    assert error_code(erin.send_message, QueueUrl=url, MessageBody="erin") == "AccessDenied"
    frank.send_message(QueueUrl=url, MessageBody="frank")
    a.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(
        {"Effect": "Allow", "Principal": {"AWS": erin.arn}, "Action": "sqs:SendMessage", "Resource": arn},
        {"Effect": "Deny", "Principal": {"AWS": frank.arn}, "Action": "sqs:SendMessage", "Resource": arn})})
    erin.send_message(QueueUrl=url, MessageBody="erin")  # the queue's policy alone suffices in its account
    assert error_code(frank.send_message, QueueUrl=url, MessageBody="frank") == "AccessDenied"
    a.send_message(QueueUrl=url, MessageBody="root")  # the account's root, as before
    bodies = sorted(m["Body"] for m in a.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"])
    assert bodies == ["erin", "frank", "root"]


def test_the_aws_cli_of_another_account_sends_where_the_policy_allows(server: LaminaProcess, tmp_path: Path) -> None:
    url, _ = make_queue(server, "cli", policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "sqs:SendMessage", "Resource": arn_of("cli")}))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": KEY_B, "AWS_SECRET_ACCESS_KEY": SECRET_B, "AWS_DEFAULT_REGION": R,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, "sqs", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip

    sent = cli("send-message", "--queue-url", url, "--message-body", "via the cli")
    assert sent.returncode == 0, sent.stderr
    assert "MessageId" in json.loads(sent.stdout)
    refused = cli("receive-message", "--queue-url", url)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr
    a = client("sqs", server.endpoint, ACCOUNT_A)
    assert [m["Body"] for m in a.receive_message(QueueUrl=url)["Messages"]] == ["via the cli"]


def arn_of(name: str) -> str:
    return f"arn:aws:sqs:{R}:{ACCOUNT_A}:{name}"


def events_may_send(queue_arn: str, rule_arn: str) -> str:
    return policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                   "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}})  # fmt: skip


def test_a_rule_delivers_to_a_queue_only_as_its_policy_allows(server: LaminaProcess) -> None:
    events, sqs = client("events", server.endpoint, ACCOUNT_A), client("sqs", server.endpoint, ACCOUNT_A)
    rule_arn = events.put_rule(Name="to-queues", EventPattern=json.dumps({"source": ["policy.test"]}))["RuleArn"]
    open_url, open_arn = make_queue(server, "rule-allowed", events_may_send(arn_of("rule-allowed"), rule_arn))
    closed_url, closed_arn = make_queue(server, "rule-refused", events_may_send(
        arn_of("rule-refused"), rule_arn.replace("to-queues", "another-rule")))  # fmt: skip
    dlq_url, dlq_arn = make_queue(server, "rule-dlq")
    events.put_targets(Rule="to-queues", Targets=[
        {"Id": "open", "Arn": open_arn},
        {"Id": "closed", "Arn": closed_arn, "DeadLetterConfig": {"Arn": dlq_arn}}])  # fmt: skip
    events.put_events(Entries=[{"Source": "policy.test", "DetailType": "t", "Detail": json.dumps({"n": 1})}])
    (delivered,) = sqs.receive_message(QueueUrl=open_url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(delivered["Body"])["detail"] == {"n": 1}
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=20, MessageAttributeNames=["All"])["Messages"]
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["TARGET_ARN"] == closed_arn and attributes["RULE_ARN"] == rule_arn
    assert "Messages" not in sqs.receive_message(QueueUrl=closed_url, WaitTimeSeconds=0)


def s3_may_send(queue_arn: str, bucket: str) -> str:
    return policy({"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
                   "Resource": queue_arn, "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
                                                        "StringEquals": {"aws:SourceAccount": ACCOUNT_A}}})  # fmt: skip


def test_bucket_notifications_need_the_queue_policy_to_allow_s3(server: LaminaProcess) -> None:
    s3 = keyed("s3", server.endpoint, KEY_A, SECRET_A)
    sqs = client("sqs", server.endpoint, ACCOUNT_A)
    bucket = bucket_name("qp")
    s3.create_bucket(Bucket=bucket)
    url, arn = make_queue(server, "s3-target")
    configuration = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
    with pytest.raises(ClientError) as info:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    assert info.value.response["Error"]["Code"] == "InvalidArgument"
    assert info.value.response["Error"]["Message"] == "Unable to validate the following destination configurations"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": s3_may_send(arn, "another-bucket")})
    assert error_code(s3.put_bucket_notification_configuration, Bucket=bucket,
                      NotificationConfiguration=configuration) == "InvalidArgument"  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": s3_may_send(arn, bucket)})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"] == "k"


def test_in_the_development_mode_services_deliver_without_a_policy(make_server: Any) -> None:
    """As Lambda's triggers there: logged once, and delivered."""
    dev = make_server()
    events = boto3.client("events", endpoint_url=dev.endpoint, region_name=R, aws_access_key_id="test",
                          aws_secret_access_key="test")  # fmt: skip
    sqs = boto3.client("sqs", endpoint_url=dev.endpoint, region_name=R, aws_access_key_id="test",
                       aws_secret_access_key="test")  # fmt: skip
    url = sqs.create_queue(QueueName="dev")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="dev", EventPattern=json.dumps({"source": ["dev.test"]}))
    events.put_targets(Rule="dev", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": "dev.test", "DetailType": "t", "Detail": "{}"}])
    assert len(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]) == 1
    s3 = keyed("s3", dev.endpoint, "test", "test")
    bucket = bucket_name("dev")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})  # fmt: skip


def test_a_request_sent_to_the_queue_url_itself_is_decided_by_the_same_policy(server: LaminaProcess) -> None:
    """Some SDKs send a queue's requests to its URL, without QueueUrl in the body."""
    url, arn = make_queue(server, "by-url")

    def send(body: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(url, data=json.dumps({"MessageBody": body}).encode(), method="POST", headers={
            "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
        try:
            with signing.urlopen(request, timeout=30, key=KEY_B, secret=SECRET_B) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, answer = send("refused")
    assert status == 403 and answer["__type"].endswith("AccessDeniedException"), answer
    client("sqs", server.endpoint, ACCOUNT_A).set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_B}, "Action": "sqs:SendMessage", "Resource": arn})})
    status, answer = send("allowed")
    assert status == 200 and "MessageId" in answer, answer
    received = client("sqs", server.endpoint, ACCOUNT_A).receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in received] == ["allowed"]
