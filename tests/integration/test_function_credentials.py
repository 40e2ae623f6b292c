"""Functions call Lamina's services with the SDK their runtime carries and their execution role's
credentials, unconfigured: boto3 in a python function, the AWS SDK for JavaScript v3 in a nodejs
one. What the role's policy allows succeeds (an SQS SendMessage, a Lambda Invoke); what it does not
is AccessDeniedException. A role that cannot be assumed is an init error; the credentials never show
in GetFunction.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from tests.conftest import LaminaProcess, deploy, make_zip, server_env
from tests.functions import invoke
from tests.integration.test_nodejs import HOST, MAJOR
from tests.roles import make_role

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaminaProcess]:
    subprocess.run([sys.executable, "-m", "lamina.runtime.sdk.install"], check=True, timeout=600)
    process = LaminaProcess(tmp_path_factory.mktemp("credentials-data"), server_env()).start()
    yield process
    process.stop()


def aws(server: LaminaProcess, service: str) -> Any:
    return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}, read_timeout=120))  # fmt: skip


@pytest.fixture(scope="module")
def client(server: LaminaProcess) -> Any:
    return server.client()


@pytest.fixture(scope="module")
def world(server: LaminaProcess, client: Any) -> dict[str, str]:
    """A queue, a function to invoke, and two roles: one may send to the queue and invoke the
    function, the other may only send."""
    queue_url = aws(server, "sqs").create_queue(QueueName="credentials-inbox")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:credentials-inbox"
    target = "credentials-target"
    deploy(client, target, "def handler(event, context):\n    return {'echoed': event}\n", runtime="python3.12")
    target_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{target}"
    for role, actions in (("credentials-worker", [("sqs:SendMessage", queue_arn), ("lambda:InvokeFunction", target_arn)]),
                          ("credentials-sender", [("sqs:SendMessage", queue_arn)])):  # fmt: skip
        make_role(server.endpoint, role, [{"Effect": "Allow", "Action": action, "Resource": resource}
                                          for action, resource in actions])  # fmt: skip
    return {"queue_url": queue_url, "target": target, "worker": f"arn:aws:iam::{ACCOUNT}:role/credentials-worker",
            "sender": f"arn:aws:iam::{ACCOUNT}:role/credentials-sender"}  # fmt: skip


PYTHON = """
import boto3, botocore.exceptions, json, os

def handler(event, context):
    out = {"identity": boto3.client("sts").get_caller_identity()["Arn"]}
    sqs = boto3.client("sqs")
    out["sent"] = "MessageId" in sqs.send_message(QueueUrl=event["queue_url"], MessageBody="from " + context.function_name)
    try:
        reply = boto3.client("lambda").invoke(FunctionName=event["target"], Payload=b'{"hello": 1}')
        out["invoked"] = json.loads(reply["Payload"].read())
    except botocore.exceptions.ClientError as exc:
        out["invoked"] = exc.response["Error"]["Code"]
    out["configured"] = sorted(k for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN") if os.environ.get(k))
    return out
"""

NODE = """
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { LambdaClient, InvokeCommand } from '@aws-sdk/client-lambda';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';

export const handler = async (event, context) => {
  const out = { identity: (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn };
  const sent = await new SQSClient({}).send(new SendMessageCommand({ QueueUrl: event.queue_url, MessageBody: 'from ' + context.functionName }));
  out.sent = Boolean(sent.MessageId);
  try {
    const reply = await new LambdaClient({}).send(new InvokeCommand({ FunctionName: event.target, Payload: Buffer.from('{"hello": 1}') }));
    out.invoked = JSON.parse(Buffer.from(reply.Payload).toString());
  } catch (error) {
    out.invoked = error.name;
  }
  return out;
};
"""

def deploy_as(client: Any, name: str, code: str | dict[str, str], role: str, *, runtime: str = "python3.12",
              handler: str = "app.handler", **kwargs: Any) -> None:
    """Create a function with execution role ``role`` and wait until it is Active."""
    files = {"app.py": code} if isinstance(code, str) else code
    client.create_function(FunctionName=name, Runtime=runtime, Role=role, Handler=handler,
                           Code={"ZipFile": make_zip(files)}, Timeout=30, **kwargs)  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


needs_node = pytest.mark.skipif(HOST is None or MAJOR < 20, reason="no node 20 or later on this host")


def received(server: LaminaProcess, queue_url: str, name: str) -> list[str]:
    """The messages function ``name`` sent to the queue (each test's function sends its own)."""
    sqs = aws(server, "sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return [body for body in bodies if body == f"from {name}"]
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_boto3_in_a_function_calls_lamina_with_its_role(server: LaminaProcess, client: Any, world: dict[str, str],
                                                        fn_name: str) -> None:  # fmt: skip
    deploy_as(client, fn_name, PYTHON, world["worker"])
    response, body, log = invoke(client, fn_name, {"queue_url": world["queue_url"], "target": world["target"]})
    assert "FunctionError" not in response, log
    assert body == {"identity": f"arn:aws:sts::{ACCOUNT}:assumed-role/credentials-worker/{fn_name}", "sent": True,
                    "invoked": {"echoed": {"hello": 1}},
                    "configured": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]}  # fmt: skip
    assert received(server, world["queue_url"], fn_name) == [f"from {fn_name}"]


def test_what_the_role_does_not_allow_is_denied(server: LaminaProcess, client: Any, world: dict[str, str],
                                               fn_name: str) -> None:  # fmt: skip
    deploy_as(client, fn_name, PYTHON, world["sender"])
    response, body, log = invoke(client, fn_name, {"queue_url": world["queue_url"], "target": world["target"]})
    assert "FunctionError" not in response, log
    assert body["sent"] is True and body["invoked"] == "AccessDeniedException", body
    assert received(server, world["queue_url"], fn_name) == [f"from {fn_name}"]


@needs_node
def test_the_javascript_sdk_in_a_function_calls_lamina_with_its_role(
    server: LaminaProcess, client: Any, world: dict[str, str], fn_name: str
) -> None:
    deploy_as(client, fn_name, {"index.mjs": NODE}, world["worker"], handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {"queue_url": world["queue_url"], "target": world["target"]})
    assert "FunctionError" not in response, log
    assert body == {"identity": f"arn:aws:sts::{ACCOUNT}:assumed-role/credentials-worker/{fn_name}", "sent": True,
                    "invoked": {"echoed": {"hello": 1}}}  # fmt: skip
    assert received(server, world["queue_url"], fn_name) == [f"from {fn_name}"]


@needs_node
def test_the_javascript_sdk_is_denied_what_the_role_does_not_allow(
    server: LaminaProcess, client: Any, world: dict[str, str], fn_name: str
) -> None:
    deploy_as(client, fn_name, {"index.mjs": NODE}, world["sender"], handler="index.handler", runtime=f"nodejs{MAJOR}.x")
    response, body, log = invoke(client, fn_name, {"queue_url": world["queue_url"], "target": world["target"]})
    assert "FunctionError" not in response, log
    assert body["sent"] is True and body["invoked"] == "AccessDeniedException", body
    assert received(server, world["queue_url"], fn_name) == [f"from {fn_name}"]


def test_the_credentials_are_not_the_functions_configuration(client: Any, world: dict[str, str], fn_name: str) -> None:
    deploy_as(client, fn_name, PYTHON, world["worker"], Environment={"Variables": {"MINE": "1"}})
    shown = json.dumps(client.get_function(FunctionName=fn_name)["Configuration"])
    assert "AWS_ACCESS_KEY_ID" not in shown and "AWS_SESSION_TOKEN" not in shown and '"MINE"' in shown


def test_a_function_named_with_one_character_gets_its_credentials(client: Any) -> None:
    """Lambda allows a one-character name, and names its role's session after it, shorter than
    AssumeRole lets its callers ask for."""
    deploy(client, "x", "import os\ndef handler(event, context):\n    return os.environ['AWS_ACCESS_KEY_ID'][:4]\n")
    try:
        response = client.invoke(FunctionName="x", Payload=b"{}")
        assert "FunctionError" not in response and json.loads(response["Payload"].read()) == "ASIA"
    finally:
        client.delete_function(FunctionName="x")


ROOT_KEY, ROOT_SECRET = "AKIALAMINAROOT000001", "root-secret-of-the-test"


def test_a_role_that_cannot_be_assumed_is_an_init_error(make_server: Callable[..., LaminaProcess], fn_name: str) -> None:
    """Outside the development mode (a root key configured), where a missing role is not made again."""
    server = make_server(LAMINA_ACCESS_KEYS=f"{ROOT_KEY}:{ROOT_SECRET}:{ACCOUNT}")

    def root(service: str) -> Any:
        return boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=ROOT_KEY,
                            aws_secret_access_key=ROOT_SECRET, config=Config(retries={"max_attempts": 0}))  # fmt: skip

    iam, client = root("iam"), root("lambda")
    role = make_role(server.endpoint, "soon-gone", [], key=ROOT_KEY, secret=ROOT_SECRET)
    deploy_as(client, fn_name, PYTHON, role)
    iam.delete_role(RoleName="soon-gone")
    response, body, log = invoke(client, fn_name, {})
    assert response.get("FunctionError") == "Unhandled", body
    assert body["errorType"] == "Runtime.Unknown", body
    assert body["errorMessage"].startswith("The role defined for the function cannot be assumed by Lambda."), body
    assert "soon-gone" in body["errorMessage"], body
