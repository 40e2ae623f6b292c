"""CloudFormation's stacks API (lamina/stacks) against a real server: the AWS CLI's
``cloudformation deploy`` creates, updates and deletes a stack of a role, an inline-code function, a
version, an alias, a queue and a rule; failures roll back with CloudFormation's statuses and
events; boto3's waiters work; stacks outlive a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess

VENV_BIN = Path(sys.executable).parent
FAST = {"Delay": 1, "MaxAttempts": 120}

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Description: A function with its role, a version, an alias, a queue and a schedule.
Parameters:
  Greeting:
    Type: String
    Default: hello
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
      Policies:
        - PolicyName: send
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt Queue.Arn}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 40
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Environment:
        Variables:
          GREETING: !Ref Greeting
          QUEUE: !Ref Queue
      Code:
        ZipFile: |
          import os
          def handler(event, context):
              return {"said": os.environ["GREETING"] + "MARK"}
  Version:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Fn
      Description: code MARK
  Live:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: !GetAtt Version.Version
      Name: live
  Hourly:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(1 hour)
      Targets:
        - {Id: fn, Arn: !GetAtt Fn.Arn}
  Invoke:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Fn
      Action: lambda:InvokeFunction
      Principal: events.amazonaws.com
      SourceArn: !GetAtt Hourly.Arn
Outputs:
  FunctionName:
    Value: !Ref Fn
  AliasArn:
    Value: !Ref Live
    Export: {Name: !Sub "${AWS::StackName}-alias"}
  QueueUrl:
    Value: !Ref Queue
"""


def client(server: LaminaProcess, name: str) -> Any:
    return boto3.client(name, endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0}))  # fmt: skip


def aws(server: LaminaProcess, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", **(env or {})}  # fmt: skip
    return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)  # fmt: skip


def settled(cfn: Any, name: str) -> dict[str, Any]:
    """The stack once its operation has ended (polled: the test asserts on what it ends as)."""
    for _ in range(600):
        stack: dict[str, Any] = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        time.sleep(0.2)
    raise AssertionError(f"stack {name} did not settle")


def events(cfn: Any, name: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of the stack's events, oldest first."""
    found = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(found)]


def invoke(lam: Any, name: str) -> Any:
    return json.loads(lam.invoke(FunctionName=name)["Payload"].read())


def error_of(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return dict(caught.value.response["Error"])


@pytest.mark.slow
def test_the_aws_cli_deploys_updates_and_deletes_a_stack(lamina: LaminaProcess, tmp_path: Path) -> None:
    cfn, lam, iam, sqs = (client(lamina, n) for n in ("cloudformation", "lambda", "iam", "sqs"))
    events_client = client(lamina, "events")
    (tmp_path / "t.yaml").write_text(TEMPLATE)
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "t.yaml", "--stack-name", "cli",
               "--capabilities", "CAPABILITY_IAM", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully created/updated stack - cli" in done.stdout
    stack = cfn.describe_stacks(StackName="cli")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o for o in stack["Outputs"]}
    name = outputs["FunctionName"]["OutputValue"]
    assert name.startswith("cli-Fn-")
    assert invoke(lam, name) == {"said": "helloMARK"}
    assert invoke(lam, outputs["AliasArn"]["OutputValue"]) == {"said": "helloMARK"}
    assert outputs["AliasArn"]["ExportName"] == "cli-alias"
    assert cfn.list_exports()["Exports"][0]["Name"] == "cli-alias"
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName="cli")["StackResources"]}
    assert set(resources) == {"Role", "Queue", "Fn", "Version", "Live", "Hourly", "Invoke"}
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in resources.values())
    role_name = resources["Role"]["PhysicalResourceId"]
    assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == ["send"]
    queue_url = outputs["QueueUrl"]["OutputValue"]
    assert sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "40"}
    rule = resources["Hourly"]["PhysicalResourceId"]
    assert events_client.list_targets_by_rule(Rule=rule)["Targets"][0]["Arn"].endswith(f":function:{name}")
    assert "events.amazonaws.com" in lam.get_policy(FunctionName=name)["Policy"]
    assert cfn.get_template(StackName="cli")["TemplateBody"] == TEMPLATE

    # An update of the code and the environment: the same function, updated (not replaced). The
    # version's description changes too, so a new version is published (versions are immutable: as
    # on CloudFormation, a version whose properties stay the same is not published again) and the
    # alias follows it.
    (tmp_path / "t.yaml").write_text(TEMPLATE.replace("MARK", "AGAIN"))
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "t.yaml", "--stack-name", "cli",
               "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", "Greeting=bonjour", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    stack = cfn.describe_stacks(StackName="cli")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["Parameters"] == [{"ParameterKey": "Greeting", "ParameterValue": "bonjour"}]
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}["FunctionName"] == name
    assert invoke(lam, name) == {"said": "bonjourAGAIN"}
    assert invoke(lam, outputs["AliasArn"]["OutputValue"]) == {"said": "bonjourAGAIN"}
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "2"]
    statuses = events(cfn, "cli")
    assert ("Fn", "UPDATE_COMPLETE", "") in statuses
    assert ("Version", "DELETE_COMPLETE", "") in statuses  # the old version, once the new one is in place
    assert [s for s in statuses if s[0] == "cli"][-2:] == [("cli", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", ""),
                                                          ("cli", "UPDATE_COMPLETE", "")]  # fmt: skip

    # The same again: no changes, as the CLI says it.
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "t.yaml", "--stack-name", "cli",
               "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", "Greeting=bonjour",
               "--no-fail-on-empty-changeset", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes to deploy" in done.stdout

    # Deleted, with boto3's waiter: nothing is left behind.
    cfn.delete_stack(StackName="cli")
    cfn.get_waiter("stack_delete_complete").wait(StackName="cli", WaiterConfig=FAST)
    assert error_of(cfn.describe_stacks, StackName="cli")["Message"] == "Stack with id cli does not exist"
    assert error_of(lam.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"
    assert error_of(iam.get_role, RoleName=role_name)["Code"] == "NoSuchEntity"
    assert error_of(sqs.get_queue_attributes, QueueUrl=queue_url)["Code"] in (
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    assert error_of(events_client.describe_rule, Name=rule)["Code"] == "ResourceNotFoundException"
    assert cfn.list_exports()["Exports"] == []
    deleted = [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "cli"]
    assert deleted[0]["StackStatus"] == "DELETE_COMPLETE"


def test_an_unknown_type_fails_the_stack_and_rolls_back(lamina: LaminaProcess) -> None:
    cfn, sqs = client(lamina, "cloudformation"), client(lamina, "sqs")
    body = json.dumps({"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "rolled-back-queue"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "DependsOn": "Queue", "Properties": {}}}})  # fmt: skip
    cfn.create_stack(StackName="unknown", TemplateBody=body)
    with pytest.raises(Exception, match="ROLLBACK_COMPLETE"):  # the create waiter fails on a rollback, as on AWS
        cfn.get_waiter("stack_create_complete").wait(StackName="unknown", WaiterConfig=FAST)
    stack = settled(cfn, "unknown")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"] == "The following resource(s) failed to create: [Table]. Rollback requested by user."
    seen = events(cfn, "unknown")
    failed = [s for s in seen if s[1] == "CREATE_FAILED"]
    assert failed[0][0] == "Table" and failed[0][2].startswith("Unrecognized resource types: [AWS::DynamoDB::Table]")
    assert [s[1] for s in seen if s[0] == "unknown"] == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS",
                                                         "ROLLBACK_COMPLETE"]  # fmt: skip
    assert ("Queue", "DELETE_COMPLETE", "") in seen
    assert error_of(sqs.get_queue_url, QueueName="rolled-back-queue")["Code"] in (
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    assert cfn.describe_stack_resources(StackName="unknown")["StackResources"] == []
    # A stack that rolled back can only be deleted.
    assert "can not be updated" in error_of(cfn.update_stack, StackName="unknown", TemplateBody=body)["Message"]
    cfn.delete_stack(StackName="unknown")
    cfn.get_waiter("stack_delete_complete").wait(StackName="unknown", WaiterConfig=FAST)


def test_a_failing_resource_rolls_back_a_create_and_an_update(lamina: LaminaProcess) -> None:
    cfn, sqs, lam = client(lamina, "cloudformation"), client(lamina, "sqs"), client(lamina, "lambda")
    role = "arn:aws:iam::000000000000:role/lamina-test"
    fn = {"Type": "AWS::Lambda::Function", "DependsOn": "Queue", "Properties": {
        "FunctionName": "cfn-rollback-fn", "Runtime": "python3.12", "Handler": "index.handler", "Role": role,
        "MemorySize": 256, "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"}}}  # fmt: skip
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-rollback-q", "VisibilityTimeout": 30}}
    bad = json.loads(json.dumps(fn))
    bad["DependsOn"] = "Other"
    bad["Properties"]["MemorySize"] = 64
    other = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-rollback-other"}}
    cfn.create_stack(StackName="failing", TemplateBody=json.dumps({"Resources": {"Other": other, "Fn": bad}}))
    assert settled(cfn, "failing")["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [s for s in events(cfn, "failing") if s[1] == "CREATE_FAILED"]
    assert failed[0][0] == "Fn" and "memorySize" in failed[0][2]
    assert ("Other", "DELETE_COMPLETE", "") in events(cfn, "failing")
    cfn.delete_stack(StackName="failing")
    cfn.get_waiter("stack_delete_complete").wait(StackName="failing", WaiterConfig=FAST)

    # A function made, then refused more reserved concurrency than the account has: it goes with
    # the rollback, though the resource never completed.
    greedy = json.loads(json.dumps(fn))
    greedy["Properties"].update(FunctionName="cfn-greedy-fn", ReservedConcurrentExecutions=100_000)
    del greedy["DependsOn"]
    cfn.create_stack(StackName="greedy", TemplateBody=json.dumps({"Resources": {"Fn": greedy}}))
    assert settled(cfn, "greedy")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "below its minimum value" in [s for s in events(cfn, "greedy") if s[1] == "CREATE_FAILED"][0][2]
    assert error_of(lam.get_function, FunctionName="cfn-greedy-fn")["Code"] == "ResourceNotFoundException"

    good = json.dumps({"Resources": {"Queue": queue, "Fn": fn}})
    cfn.create_stack(StackName="updating", TemplateBody=good)
    cfn.get_waiter("stack_create_complete").wait(StackName="updating", WaiterConfig=FAST)
    # The queue's change goes through, then the function's fails half-way (its code is updated, its
    # memory refused): both are rolled back, the function's code too.
    queue2 = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-rollback-q", "VisibilityTimeout": 99}}
    fn2 = json.loads(json.dumps(fn))
    fn2["Properties"]["MemorySize"] = 1
    fn2["Properties"]["Code"]["ZipFile"] = "def handler(e, c):\n    return 2\n"  # applied before the memory fails
    cfn.update_stack(StackName="updating", TemplateBody=json.dumps({"Resources": {"Queue": queue2, "Fn": fn2}}))
    with pytest.raises(Exception, match="UPDATE_ROLLBACK_COMPLETE"):
        cfn.get_waiter("stack_update_complete").wait(StackName="updating", WaiterConfig=FAST)
    stack = settled(cfn, "updating")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    seen = events(cfn, "updating")
    assert [s[1] for s in seen if s[0] == "updating"][-4:] == [
        "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE"]  # fmt: skip
    assert [s for s in seen if s[1] == "UPDATE_FAILED"][0][0] == "Fn"
    url = sqs.get_queue_url(QueueName="cfn-rollback-q")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "30"}
    assert lam.get_function_configuration(FunctionName="cfn-rollback-fn")["MemorySize"] == 256
    assert invoke(lam, "cfn-rollback-fn") == 1
    assert cfn.get_template(StackName="updating")["TemplateBody"] == json.loads(good)  # boto3 reads JSON bodies
    cfn.delete_stack(StackName="updating")
    cfn.get_waiter("stack_delete_complete").wait(StackName="updating", WaiterConfig=FAST)
    assert error_of(lam.get_function, FunctionName="cfn-rollback-fn")["Code"] == "ResourceNotFoundException"


def test_requests_are_refused_in_cloudformations_words(lamina: LaminaProcess) -> None:
    cfn = client(lamina, "cloudformation")
    cycle = json.dumps({"Resources": {"A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"},
                                      "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"}}})  # fmt: skip
    error = error_of(cfn.validate_template, TemplateBody=cycle)
    assert error == {"Type": "Sender", "Code": "ValidationError",
                     "Message": "Template format error: Circular dependency between resources: [A, B]"}
    role = TEMPLATE.split("      Policies:")[0]
    error = error_of(cfn.create_stack, StackName="nocaps", TemplateBody=role)
    assert error["Code"] == "InsufficientCapabilitiesException"
    assert error["Message"] == "Requires capabilities : [CAPABILITY_IAM]"
    named = role.replace("    Properties:\n", "    Properties:\n      RoleName: named\n", 1)
    error = error_of(cfn.create_stack, StackName="nocaps", TemplateBody=named, Capabilities=["CAPABILITY_IAM"])
    assert error["Message"] == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    assert cfn.validate_template(TemplateBody=role)["Capabilities"] == ["CAPABILITY_IAM"]
    assert error_of(cfn.describe_stacks, StackName="nope")["Message"] == "Stack with id nope does not exist"
    assert error_of(cfn.create_stack, StackName="bad_name", TemplateBody=cycle)["Code"] == "ValidationError"
    hostile = "Resources:\n  Q: &q {Type: AWS::SQS::Queue}\n  R: *q\n"
    assert "YAML aliases are not allowed" in error_of(cfn.validate_template, TemplateBody=hostile)["Message"]
    error = error_of(cfn.validate_template, TemplateBody="Resources:\n  Q: {Type: AWS::SQS::Queue}\n#" + "x" * 52_000)
    assert error["Code"] == "ValidationError"
    error = error_of(cfn.create_stack, StackName="params", TemplateBody=json.dumps({
        "Parameters": {"Size": {"Type": "Number", "AllowedValues": ["1", "2"]}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))  # fmt: skip
    assert error["Message"] == "Parameters: [Size] must have values"
    assert error_of(cfn.describe_change_set, ChangeSetName="nope", StackName="nope")["Code"] == "ChangeSetNotFound"


def test_exports_are_imported_and_held_while_in_use(lamina: LaminaProcess) -> None:
    cfn, sqs = client(lamina, "cloudformation"), client(lamina, "sqs")
    exporting = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
                            "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Q", "Arn"]},
                                                "Export": {"Name": "shared-queue-arn"}}}})  # fmt: skip
    importing = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {
        "RedrivePolicy": {"deadLetterTargetArn": {"Fn::ImportValue": "shared-queue-arn"}, "maxReceiveCount": 3}}}}})
    cfn.create_stack(StackName="exporter", TemplateBody=exporting)
    cfn.get_waiter("stack_create_complete").wait(StackName="exporter", WaiterConfig=FAST)
    cfn.create_stack(StackName="importer", TemplateBody=importing)
    cfn.get_waiter("stack_create_complete").wait(StackName="importer", WaiterConfig=FAST)
    arn = cfn.list_exports()["Exports"][0]["Value"]
    url = cfn.describe_stack_resource(StackName="importer", LogicalResourceId="Q")["StackResourceDetail"][
        "PhysicalResourceId"]
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert json.loads(policy)["deadLetterTargetArn"] == arn
    assert cfn.list_imports(ExportName="shared-queue-arn")["Imports"] == ["importer"]
    cfn.delete_stack(StackName="exporter")
    stack = settled(cfn, "exporter")
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["StackStatusReason"] == "Export shared-queue-arn cannot be deleted as it is in use by importer"
    for name in ("importer", "exporter"):
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_stacks_and_their_events_outlive_a_restart(make_server: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path / "data")
    cfn = client(server, "cloudformation")
    body = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    cfn.create_stack(StackName="durable", TemplateBody=body, Tags=[{"Key": "team", "Value": "a"}])
    cfn.get_waiter("stack_create_complete").wait(StackName="durable", WaiterConfig=FAST)
    before = events(cfn, "durable")
    server.stop()
    server = make_server(tmp_path / "data")
    cfn = client(server, "cloudformation")
    stack = cfn.describe_stacks(StackName="durable")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE" and stack["Tags"] == [{"Key": "team", "Value": "a"}]
    assert events(cfn, "durable") == before
    cfn.delete_stack(StackName="durable")
    cfn.get_waiter("stack_delete_complete").wait(StackName="durable", WaiterConfig=FAST)


def test_a_stacks_resources_are_made_with_the_callers_permissions(make_server: Any) -> None:
    root_key, root_secret, acct = "AKIAROOTKEYEXAMPLE02", "root-secret-for-the-stack-tests-000000", "000000000000"
    server = make_server(LAMINA_ACCESS_KEYS=f"{root_key}:{root_secret}:{acct}")
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=root_key,
                       aws_secret_access_key=root_secret)  # fmt: skip
    iam.create_user(UserName="deployer")
    # Stacks, and queues named app-*: not roles.
    iam.put_user_policy(UserName="deployer", PolicyName="stacks", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "cloudformation:*", "Resource": f"arn:aws:cloudformation:us-east-1:{acct}:stack/app-*"},
            {"Effect": "Allow", "Action": ["sqs:CreateQueue", "sqs:DeleteQueue"],
             "Resource": f"arn:aws:sqs:us-east-1:{acct}:app-*"}]}))  # fmt: skip
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    cfn = boto3.client("cloudformation", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                       config=Config(retries={"max_attempts": 0}))  # fmt: skip
    queue = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "app-q"}}}})
    assert error_of(cfn.create_stack, StackName="other", TemplateBody=queue)["Code"] == "AccessDenied"
    cfn.create_stack(StackName="app-queue", TemplateBody=queue)
    cfn.get_waiter("stack_create_complete").wait(StackName="app-queue", WaiterConfig=FAST)
    role = TEMPLATE.split("      Policies:")[0]
    cfn.create_stack(StackName="app-role", TemplateBody=role, Capabilities=["CAPABILITY_IAM"])
    assert settled(cfn, "app-role")["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [s for s in events(cfn, "app-role") if s[1] == "CREATE_FAILED"][0]
    assert failed[0] == "Role" and "is not authorized to perform: iam:CreateRole" in failed[2]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == []
    for name in ("app-queue", "app-role"):
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig=FAST)


def test_code_and_templates_come_from_lamina_s_object_store(lamina: LaminaProcess) -> None:
    from tests.conftest import make_zip

    cfn, s3, lam = client(lamina, "cloudformation"), client(lamina, "s3"), client(lamina, "lambda")
    s3.create_bucket(Bucket="cfn-artifacts")
    s3.put_object(Bucket="cfn-artifacts", Key="code/app.zip",
                  Body=make_zip({"app.py": "def handler(e, c):\n    return 'from s3'\n"}))  # fmt: skip
    template = """
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::000000000000:role/lamina-test
      Code: {S3Bucket: cfn-artifacts, S3Key: code/app.zip}
  Url:
    Type: AWS::Lambda::Url
    Properties: {TargetFunctionArn: !GetAtt Fn.Arn, AuthType: NONE}
  Bucket:
    Type: AWS::S3::Bucket
  Logs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub "/aws/lambda/${Fn}"}
Outputs:
  Url: {Value: !GetAtt Url.FunctionUrl}
  Bucket: {Value: !Ref Bucket}
"""
    s3.put_object(Bucket="cfn-artifacts", Key="templates/app.yaml", Body=template.encode())
    cfn.create_stack(StackName="from-s3", TemplateURL=f"{lamina.endpoint}/cfn-artifacts/templates/app.yaml")
    cfn.get_waiter("stack_create_complete").wait(StackName="from-s3", WaiterConfig=FAST)
    stack = cfn.describe_stacks(StackName="from-s3")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    name = cfn.describe_stack_resource(StackName="from-s3", LogicalResourceId="Fn")["StackResourceDetail"][
        "PhysicalResourceId"]
    assert invoke(lam, name) == "from s3"
    assert lam.get_function_url_config(FunctionName=name)["FunctionUrl"] == outputs["Url"]
    s3.head_bucket(Bucket=outputs["Bucket"])
    assert outputs["Bucket"].startswith("from-s3-bucket-") and outputs["Bucket"] == outputs["Bucket"].lower()
    # Templates are read from Lamina's object store only: no other scheme, no host is ever asked.
    for url in (f"{lamina.endpoint}/cfn-artifacts/none.yaml", "file:///etc/passwd", "http://169.254.169.254/latest/x",
                f"{lamina.endpoint}/cfn-artifacts/../../etc/passwd", "ftp://cfn-artifacts.s3.amazonaws.com/x"):
        refused = error_of(cfn.create_stack, StackName="nowhere", TemplateURL=url)
        assert refused["Code"] == "ValidationError", url
    assert error_of(cfn.describe_stacks, StackName="nowhere")["Code"] == "ValidationError"
    virtual = "https://cfn-artifacts.s3.us-east-1.amazonaws.com/templates/app.yaml"
    assert cfn.validate_template(TemplateURL=virtual)["Parameters"] == []
    cfn.delete_stack(StackName="from-s3")
    cfn.get_waiter("stack_delete_complete").wait(StackName="from-s3", WaiterConfig=FAST)
    assert error_of(s3.head_bucket, Bucket=outputs["Bucket"])["Code"] == "404"
    assert error_of(lam.get_function, FunctionName=name)["Code"] == "ResourceNotFoundException"


@pytest.mark.slow
def test_the_aws_cli_packages_a_folder_into_the_object_store_and_deploys_it(lamina: LaminaProcess,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 'packaged'\n")
    (tmp_path / "t.yaml").write_text("""
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: arn:aws:iam::000000000000:role/lamina-test
      Code: ./src
Outputs:
  Name: {Value: !Ref Fn}
""")
    client(lamina, "s3").create_bucket(Bucket="cfn-packages")
    # `package` takes no --endpoint-url for its S3 client: AWS_ENDPOINT_URL points every client at Lamina.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_ENDPOINT_URL": lamina.endpoint}  # fmt: skip
    for args in (["package", "--template-file", "t.yaml", "--s3-bucket", "cfn-packages", "--output-template-file",
                  "packaged.yaml"], ["deploy", "--template-file", "packaged.yaml", "--stack-name", "packaged"]):
        done = subprocess.run([str(VENV_BIN / "aws"), "cloudformation", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    assert "S3Bucket: cfn-packages" in (tmp_path / "packaged.yaml").read_text()
    cfn = client(lamina, "cloudformation")
    name = cfn.describe_stacks(StackName="packaged")["Stacks"][0]["Outputs"][0]["OutputValue"]
    assert invoke(client(lamina, "lambda"), name) == "packaged"
    cfn.delete_stack(StackName="packaged")
    cfn.get_waiter("stack_delete_complete").wait(StackName="packaged", WaiterConfig=FAST)
