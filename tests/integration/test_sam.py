"""The SAM transform (lamina/stacks/transform.py) against a real server: a SAM template of a function
with a layer, an alias, an event invoke configuration and five triggers (Schedule, ScheduleV2, SQS, an
S3 bucket, an EventBridge rule) deployed by the AWS CLI's ``cloudformation deploy`` and by boto3's
change sets; every trigger makes the function run; an update (new code and handler, one event fewer)
and the stack's deletion leave nothing behind; templates the transform refuses are AWS's
ValidationErrors."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests import signing
from tests.conftest import ROOT, LaminaProcess, make_zip
from tests.integration.test_cloudformation import FAST, aws, client, error_of, settled
from tests.integration.test_http_apis import call
from tests.integration.test_tls import ca_of, https_of, tls_client

CODE = """import json
def {handler}(event, context):
    print("FIRED {mark} " + json.dumps(event, sort_keys=True))
    return {{"mark": "{mark}"}}
"""

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: A SAM function and its triggers.
Parameters:
  CodeKey: {Type: String}
  Handler: {Type: String, Default: app.handler}
  Bucket: {Type: String}
  StartDate: {Type: String}
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables: {STAGE: test}
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Jobs:
    Type: AWS::SQS::Queue
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: {Bucket: !Ref Bucket, Key: layer.zip}
      CompatibleRuntimes: [python3.12]
      RetentionPolicy: Delete
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: !Ref Handler
      CodeUri: {Bucket: !Ref Bucket, Key: !Ref CodeKey}
      AutoPublishAlias: live
      Layers: [!Ref Shared]
      Policies: [AmazonS3ReadOnlyAccess]
      EventInvokeConfig: {MaximumRetryAttempts: 0}
      Events:
        Minutely:
          Type: Schedule
          Properties: {Schedule: rate(1 minute), Input: '{"from": "schedule"}'}
        Soon:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour), StartDate: !Ref StartDate, Input: '{"from": "schedulev2"}'}
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 1}
        Upload:
          Type: S3
          Properties: {Bucket: !Ref Uploads, Events: "s3:ObjectCreated:*"}
        Custom:
          Type: EventBridgeRule
          Properties: {Pattern: {source: [sam.test]}}
        Web:
          Type: HttpApi
          Properties: {Path: /hello, Method: GET}
Outputs:
  WebEndpoint: {Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com"}
  FunctionName: {Value: !Ref Fn}
  QueueUrl: {Value: !Ref Jobs}
  UploadBucket: {Value: !Ref Uploads}
"""


def fired(endpoint: str, name: str) -> list[tuple[str, Any]]:
    """(mark, event) of each run of the function, as its logs say."""
    with signing.urlopen(f"{endpoint}/lamina/v1/functions/{name}/logs?since=0&limit=10000", timeout=10) as r:
        messages = [e["message"] for e in json.loads(r.read())["events"]]
    found = [m.split(" ", 2)[1:] for m in messages if m.startswith("FIRED ")]
    return [(mark, json.loads(event)) for mark, event in found]


def wait_for(what: Callable[[], Any], seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError("not seen in time")


def upload(server: LaminaProcess, bucket: str, *, mark: str, handler: str = "handler") -> str:
    s3 = client(server, "s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    s3.put_object(Bucket=bucket, Key="layer.zip", Body=make_zip({"python/shared.py": "NAME = 'shared'\n"}))
    key = f"code-{mark}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=make_zip({"app.py": CODE.format(handler=handler, mark=mark)}))
    return key


def outputs(cfn: Any, name: str) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}


def soon() -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parameters(bucket: str, key: str, handler: str = "app.handler") -> list[dict[str, str]]:
    return [{"ParameterKey": "CodeKey", "ParameterValue": key}, {"ParameterKey": "Bucket", "ParameterValue": bucket},
            {"ParameterKey": "Handler", "ParameterValue": handler},
            {"ParameterKey": "StartDate", "ParameterValue": soon()}]  # fmt: skip


def without(template: str, *events: str) -> str:
    """The template without the named events (each is two lines: its name and its properties)."""
    lines = template.splitlines()
    for event in events:
        at = lines.index(f"        {event}:")
        del lines[at:at + 3]
    return "\n".join(lines)


def leftovers(server: LaminaProcess, function: str, stack: str, layer: str) -> list[str]:
    """What of the stack's function and triggers is still there."""
    lam, events, scheduler = (client(server, n) for n in ("lambda", "events", "scheduler"))
    found = [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"] == function]
    found += [m["UUID"] for m in lam.list_event_source_mappings()["EventSourceMappings"] if function in m["FunctionArn"]]
    found += [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].startswith(stack)]
    found += [s["Name"] for s in scheduler.list_schedules()["Schedules"] if s["Name"].startswith("Fn")
              and s["Target"]["Arn"].split(":")[6] == function]  # fmt: skip
    found += [v["LayerVersionArn"] for v in lam.list_layer_versions(LayerName="Shared")["LayerVersions"]
              if v["LayerVersionArn"] == layer]  # fmt: skip
    return found


@pytest.mark.slow
def test_the_aws_cli_deploys_a_sam_template_whose_triggers_fire(lamina: LaminaProcess, tmp_path: Path) -> None:
    cfn, lam, sqs, s3, events = (client(lamina, n) for n in ("cloudformation", "lambda", "sqs", "s3", "events"))
    key = upload(lamina, "sam-cli-code", mark="one")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "template.yaml", "--stack-name", "sam-cli",
               "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", f"CodeKey={key}", "Bucket=sam-cli-code",
               f"StartDate={soon()}", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = outputs(cfn, "sam-cli")
    name = out["FunctionName"]
    config = lam.get_function_configuration(FunctionName=name, Qualifier="live")
    assert config["Timeout"] == 10 and config["Environment"]["Variables"] == {"STAGE": "test"}  # Globals
    layer = config["Layers"][0]["Arn"]
    assert config["Version"] == "1" and layer.split(":")[6] == "Shared"  # SAM names a layer by its logical id
    assert lam.get_function_event_invoke_config(FunctionName=name, Qualifier="live")["MaximumRetryAttempts"] == 0

    # Each trigger makes the alias run.
    sqs.send_message(QueueUrl=out["QueueUrl"], MessageBody="job")
    s3.put_object(Bucket=out["UploadBucket"], Key="in/file.txt", Body=b"x")
    events.put_events(Entries=[{"Source": "sam.test", "DetailType": "t", "Detail": "{}"}])
    api_id = urlsplit(out["WebEndpoint"]).netloc.split(".", 1)[0]
    web = f"http://{api_id}.execute-api.localhost:{urlsplit(lamina.endpoint).port}"
    reply = call(web, "GET", "/hello")
    assert (reply.status, reply.json()) == (200, {"mark": "one"})
    sources = lambda: {e.get("from") or e.get("source") or e.get("routeKey")  # noqa: E731
                       or e["Records"][0]["eventSource"] for _, e in fired(lamina.endpoint, name)}  # fmt: skip
    wait_for(lambda: {"aws:sqs", "aws:s3", "sam.test", "schedulev2", "GET /hello"} <= sources())
    wait_for(lambda: "schedule" in sources(), seconds=150)  # rate(1 minute) counts from the rule's creation

    # GetTemplate: the template as given and as the transform made it.
    original = cfn.get_template(StackName="sam-cli")["TemplateBody"]
    assert "AWS::Serverless-2016-10-31" in original and "AWS::Serverless::Function" in original
    processed = cfn.get_template(StackName="sam-cli", TemplateStage="Processed")["TemplateBody"]
    assert "Transform" not in processed and processed["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"

    # An update: new code and handler, the SQS event gone.
    key = upload(lamina, "sam-cli-code", mark="two", handler="main")
    (tmp_path / "template.yaml").write_text(without(TEMPLATE, "Work"))
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "template.yaml", "--stack-name", "sam-cli",
               "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", f"CodeKey={key}", "Handler=app.main",
               cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if name in m["FunctionArn"]]
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "2"
    events.put_events(Entries=[{"Source": "sam.test", "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: [e for mark, e in fired(lamina.endpoint, name) if mark == "two" and e.get("source") == "sam.test"])
    assert call(web, "GET", "/hello").json() == {"mark": "two"}  # the route invokes the alias, now version 2

    # Deleted: nothing of it is left (the bucket emptied first, as CloudFormation needs).
    s3.delete_object(Bucket=out["UploadBucket"], Key="in/file.txt")
    done = aws(lamina, "cloudformation", "delete-stack", "--stack-name", "sam-cli", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-cli", WaiterConfig=FAST)
    assert leftovers(lamina, name, "sam-cli", layer) == []
    assert out["UploadBucket"] not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert error_of(client(lamina, "apigatewayv2").get_api, ApiId=api_id)["Code"] == "NotFoundException"


def test_boto3_change_sets_create_update_and_delete_a_sam_stack(lamina: LaminaProcess) -> None:
    cfn, lam, s3, events = (client(lamina, n) for n in ("cloudformation", "lambda", "s3", "events"))
    key = upload(lamina, "sam-cs-code", mark="one")
    made = cfn.create_change_set(StackName="sam-cs", ChangeSetName="first", ChangeSetType="CREATE",
                                 TemplateBody=TEMPLATE, Parameters=parameters("sam-cs-code", key),
                                 Capabilities=["CAPABILITY_IAM"])  # fmt: skip
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig=FAST)
    described = cfn.describe_change_set(ChangeSetName=made["Id"])
    added = {c["ResourceChange"]["ResourceType"] for c in described["Changes"]}
    assert {"AWS::Lambda::Function", "AWS::Lambda::Alias", "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule",
            "AWS::Scheduler::Schedule", "AWS::Lambda::LayerVersion", "AWS::Lambda::EventInvokeConfig"} <= added
    assert not any(t.startswith("AWS::Serverless") for t in added)
    # The change set's template, as given and as processed.
    assert "Transform" in cfn.get_template(ChangeSetName=made["Id"])["TemplateBody"]
    processed = cfn.get_template(ChangeSetName=made["Id"], TemplateStage="Processed")["TemplateBody"]
    assert "Transform" not in processed and "FnWork" in processed["Resources"]
    cfn.execute_change_set(ChangeSetName=made["Id"])
    stack = settled(cfn, "sam-cs")
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    out = outputs(cfn, "sam-cs")
    name, bucket = out["FunctionName"], out["UploadBucket"]
    layer = lam.get_function_configuration(FunctionName=name)["Layers"][0]["Arn"]
    notified = s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    assert [c["LambdaFunctionArn"] for c in notified] == [lam.get_alias(FunctionName=name, Name="live")["AliasArn"]]
    assert [r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName="sam-cs")["StackResources"]
            if r["ResourceType"] == "AWS::Lambda::EventSourceMapping"] == ["FnWork"]  # fmt: skip

    # An update by change set: the S3 and SQS events go, and with them the mapping and the notification.
    update = cfn.create_change_set(StackName="sam-cs", ChangeSetName="second", TemplateBody=without(
        TEMPLATE, "Work", "Upload"), Parameters=parameters("sam-cs-code", key), Capabilities=["CAPABILITY_IAM"])
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=update["Id"], WaiterConfig=FAST)
    removed = {c["ResourceChange"]["LogicalResourceId"] for c in cfn.describe_change_set(
        ChangeSetName=update["Id"])["Changes"] if c["ResourceChange"]["Action"] == "Remove"}
    assert removed == {"FnWork", "FnUploadPermission"}
    cfn.execute_change_set(ChangeSetName=update["Id"])
    assert settled(cfn, "sam-cs")["StackStatus"] == "UPDATE_COMPLETE"
    assert not [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if name in m["FunctionArn"]]
    assert "LambdaFunctionConfigurations" not in s3.get_bucket_notification_configuration(Bucket=bucket)
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name, Qualifier="live")["Policy"])[
        "Statement"] if s["Principal"] == {"Service": "s3.amazonaws.com"}] == []
    events.put_events(Entries=[{"Source": "sam.test", "DetailType": "t", "Detail": "{}"}])
    wait_for(lambda: [e for _, e in fired(lamina.endpoint, name) if e.get("source") == "sam.test"])

    cfn.delete_stack(StackName="sam-cs")
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-cs", WaiterConfig=FAST)
    assert leftovers(lamina, name, "sam-cs", layer) == []


def test_templates_the_transform_refuses(lamina: LaminaProcess, tmp_path: Path) -> None:
    cfn = client(lamina, "cloudformation")
    key = upload(lamina, "sam-bad-code", mark="bad")
    # What the translator refuses, in its own words.
    bad = TEMPLATE.replace("      AutoPublishAlias: live", "      AutoPublishAlias: live\n      Nonsense: 1")
    error = error_of(cfn.validate_template, TemplateBody=bad)
    assert error["Code"] == "ValidationError"
    assert error["Message"] == ("Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application "
                                "Specification document. Number of errors found: 1. Resource with id [Fn] is invalid. "
                                "property Nonsense not defined for resource of type AWS::Serverless::Function")
    error = error_of(cfn.create_change_set, StackName="sam-bad", ChangeSetName="c", ChangeSetType="CREATE",
                     TemplateBody=TEMPLATE.replace("CodeUri: {Bucket: !Ref Bucket, Key: !Ref CodeKey}",
                                                   "CodeUri: ./src"), Parameters=parameters("sam-bad-code", key))
    assert "'CodeUri' is not a valid S3 Uri" in error["Message"], error
    assert error_of(cfn.describe_stacks, StackName="sam-bad")["Code"] == "ValidationError"  # nothing was made
    # Transforms Lamina does not serve, as CloudFormation answers a macro it cannot find.
    for transform, message in (("AWS::Include", "No transform named AWS::Include found."),
                               ("MyMacro", "No transform named 000000000000::MyMacro found.")):
        body = TEMPLATE.replace("Transform: AWS::Serverless-2016-10-31",
                                f"Transform: [AWS::Serverless-2016-10-31, {transform}]")
        assert error_of(cfn.validate_template, TemplateBody=body) == {"Code": "ValidationError", "Message": message,
                                                                       "Type": "Sender"}  # fmt: skip
    # CreateStack expands a transform only when told it may.
    error = error_of(cfn.create_stack, StackName="sam-bad", TemplateBody=TEMPLATE,
                     Parameters=parameters("sam-bad-code", key), Capabilities=["CAPABILITY_IAM"])
    assert (error["Code"], error["Message"]) == ("InsufficientCapabilitiesException",
                                                 "Requires capabilities : [CAPABILITY_AUTO_EXPAND]")
    # ValidateTemplate names the transform.
    assert cfn.validate_template(TemplateBody=TEMPLATE)["DeclaredTransforms"] == ["AWS::Serverless-2016-10-31"]
    # A bucket that does not exist: the function fails, the stack rolls back.
    cfn.create_stack(StackName="sam-nobucket", TemplateBody=TEMPLATE, Parameters=parameters("sam-no-such", key),
                     Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = settled(cfn, "sam-nobucket")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="sam-nobucket")[
        "StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("S3 Error Code: NoSuchBucket" in r for r in reasons), reasons


def test_code_in_another_accounts_bucket_is_refused(make_server: Any, tmp_path: Path) -> None:
    from tests.integration.test_accounts import ACCOUNT_A, ACCOUNT_B, KEYS
    from tests.integration.test_accounts import client as account_client

    server = make_server(LAMINA_ACCESS_KEYS=KEYS, LAMINA_ACCOUNT_ID=ACCOUNT_A)
    theirs = account_client("s3", server.endpoint, ACCOUNT_B)
    theirs.create_bucket(Bucket="b-code")
    theirs.put_object(Bucket="b-code", Key="app.zip", Body=make_zip({"app.py": CODE.format(handler="handler",
                                                                                           mark="b")}))
    cfn = account_client("cloudformation", server.endpoint, ACCOUNT_A)
    body = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Runtime: python3.12, Handler: app.handler, CodeUri: s3://b-code/app.zip}
"""
    cfn.create_stack(StackName="steal", TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    stack = settled(cfn, "steal")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="steal")["StackEvents"]
               if e["LogicalResourceId"] == "Fn" and e["ResourceStatus"] == "CREATE_FAILED"]  # fmt: skip
    assert reasons == ["Resource handler returned message: \"Your access has been denied by S3, please make sure your "
                       "request credentials have permission to GetObject for b-code/app.zip. S3 Error Code: "
                       "AccessDenied. S3 Error Message: Access Denied\""]
    assert account_client("lambda", server.endpoint, ACCOUNT_A).list_functions()["Functions"] == []
    # Nor can a stack put a policy on it.
    policy = """
Resources:
  Open:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: b-code
      PolicyDocument:
        Statement: [{Effect: Allow, Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b-code/*"}]
"""
    cfn.create_stack(StackName="open", TemplateBody=policy)
    assert settled(cfn, "open")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert error_of(theirs.get_bucket_policy, Bucket="b-code")["Code"] == "NoSuchBucketPolicy"


def test_every_event_kind_reaches_the_engine(lamina: LaminaProcess) -> None:
    """HTTP API, Kafka and MQ events translate into the resources CloudFormation would create; an MQ
    broker Lamina does not serve fails its mapping with the mapping service's own error."""
    cfn = client(lamina, "cloudformation")
    broker = "arn:aws:mq:us-east-1:000000000000:broker:nowhere:b-0000"
    body = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context): return event"
      Events:
        %s
"""
    events = {
        "Http": ("Http: {Type: HttpApi}", {"AWS::ApiGatewayV2::Api", "AWS::Lambda::Permission"}),
        "Kafka": ("Kafka: {Type: SelfManagedKafka, Properties: {KafkaBootstrapServers: ['localhost:9092'], "
                  "Topics: [t], "
                  "SourceAccessConfigurations: [{Type: BASIC_AUTH, URI: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:k'}]}}",
                  {"AWS::Lambda::EventSourceMapping"}),
    }  # fmt: skip
    for name, (event, types) in events.items():
        made = cfn.create_change_set(StackName=f"sam-{name.lower()}", ChangeSetName="c", ChangeSetType="CREATE",
                                     TemplateBody=body % event, Capabilities=["CAPABILITY_IAM"])  # fmt: skip
        added = {c["ResourceChange"]["ResourceType"] for c in cfn.describe_change_set(ChangeSetName=made["Id"])[
            "Changes"]}  # fmt: skip
        assert types <= added, (name, added)
    mq = (f"Mq: {{Type: MQ, Properties: {{Broker: '{broker}', Queues: [jobs], SourceAccessConfigurations: "
          f"[{{Type: BASIC_AUTH, URI: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:mq'}}]}}}}")
    cfn.create_stack(StackName="sam-mq", TemplateBody=body % mq, Capabilities=["CAPABILITY_IAM",
                                                                               "CAPABILITY_AUTO_EXPAND"])
    assert settled(cfn, "sam-mq")["StackStatus"] == "ROLLBACK_COMPLETE"
    failed = [(e["ResourceType"], e.get("ResourceStatusReason", "")) for e in cfn.describe_stack_events(
        StackName="sam-mq")["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED" and e["LogicalResourceId"] != "sam-mq"]
    assert [t for t, _ in failed] == ["AWS::Lambda::EventSourceMapping"] and broker in failed[0][1], failed


HELLO_WORLD = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: >
  sam-app

  Sample SAM Template for sam-app

Globals:
  Function:
    Timeout: 3

Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello_world/
      Handler: app.lambda_handler
      Runtime: python3.12
      Architectures:
        - x86_64
      Events:
        HelloWorld:
          Type: Api
          Properties:
            Path: /hello
            Method: get

Outputs:
  HelloWorldApi:
    Description: "API Gateway endpoint URL for Prod stage for Hello World function"
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/hello/"
  HelloWorldFunction:
    Description: "Hello World Lambda Function ARN"
    Value: !GetAtt HelloWorldFunction.Arn
  HelloWorldFunctionIamRole:
    Description: "Implicit IAM Role created for Hello World function"
    Value: !GetAtt HelloWorldFunctionRole.Arn
"""


def hello(server: LaminaProcess, cfn: Any, stack: str) -> Any:
    """What GET on the stack's HelloWorldApi output answers, at Lamina's address for that API."""
    address = urlsplit(outputs(cfn, stack)["HelloWorldApi"])
    api_id = address.netloc.split(".", 1)[0]
    reply = call(f"http://{api_id}.execute-api.localhost:{urlsplit(server.endpoint).port}", "GET", address.path)
    assert reply.status == 200, reply.body
    return reply.json()


def test_the_aws_cli_packages_and_deploys_sams_hello_world(lamina: LaminaProcess, tmp_path: Path) -> None:
    (tmp_path / "hello_world").mkdir()
    (tmp_path / "hello_world" / "app.py").write_text(
        "import json\ndef lambda_handler(event, context):\n"
        "    return {'statusCode': 200, 'body': json.dumps({'message': 'hello world'})}\n")
    (tmp_path / "template.yaml").write_text(HELLO_WORLD)
    client(lamina, "s3").create_bucket(Bucket="sam-packages")
    env = {"AWS_ENDPOINT_URL": lamina.endpoint}  # `package` has no --endpoint-url for its S3 client
    done = aws(lamina, "cloudformation", "package", "--template-file", "template.yaml", "--s3-bucket", "sam-packages",
               "--output-template-file", "packaged.yaml", cwd=tmp_path, env=env)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CodeUri: s3://sam-packages/" in (tmp_path / "packaged.yaml").read_text()
    done = aws(lamina, "cloudformation", "deploy", "--template-file", "packaged.yaml", "--stack-name", "sam-app",
               "--capabilities", "CAPABILITY_IAM", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    arn = outputs(client(lamina, "cloudformation"), "sam-app")["HelloWorldFunction"]
    answer = client(lamina, "lambda").invoke(FunctionName=arn)
    assert json.loads(json.loads(answer["Payload"].read())["body"]) == {"message": "hello world"}
    cfn = client(lamina, "cloudformation")
    assert hello(lamina, cfn, "sam-app") == {"message": "hello world"}  # through its REST API's Prod stage
    api_id = urlsplit(outputs(cfn, "sam-app")["HelloWorldApi"]).netloc.split(".", 1)[0]
    cfn.delete_stack(StackName="sam-app")
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-app", WaiterConfig=FAST)
    assert error_of(client(lamina, "lambda").get_function, FunctionName=arn)["Code"] == "ResourceNotFoundException"
    assert error_of(client(lamina, "apigateway").get_rest_api, restApiId=api_id)["Code"] == "NotFoundException"


def sam_cli() -> Path:
    """The AWS SAM CLI, from a venv of its own (scripts/test makes it: its pins differ from Lamina's)."""
    found = Path(os.environ.get("LAMINA_SAM_CLI", ROOT / ".venv-sam" / "bin" / "sam"))
    if not found.exists():
        pytest.skip(f"the AWS SAM CLI is not installed at {found} (scripts/test installs it)")
    return found


def sam(server: LaminaProcess, *args: str, cwd: Path, tls: bool = False) -> subprocess.CompletedProcess[str]:
    """SAM CLI against ``server``: over plain HTTP, or (``tls``) over HTTPS trusting its local CA."""
    endpoint = https_of(server).replace("127.0.0.1", "localhost") if tls else server.endpoint
    trust = {"AWS_CA_BUNDLE": str(ca_of(server))} if tls else {}
    env = {**os.environ, **trust, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "SAM_CLI_TELEMETRY": "0", "HOME": str(cwd / "home")}
    return subprocess.run([str(sam_cli()), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_sam_deploy_and_sam_delete(make_server: Any, tmp_path: Path) -> None:
    sam_cli()
    server = make_server(LAMINA_TLS_PORT="0")  # its own: `--resolve-s3` makes the account's one managed stack
    app = tmp_path / "sam-app"
    (app / "hello_world").mkdir(parents=True)
    (app / "template.yaml").write_text(HELLO_WORLD)
    handler = app / "hello_world" / "app.py"
    handler.write_text("import json\ndef lambda_handler(event, context):\n"
                       "    return {'statusCode': 200, 'body': json.dumps({'message': 'hello world'})}\n")
    deploy = ("deploy", "--stack-name", "sam-app", "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset",
              "--no-progressbar")  # fmt: skip
    cfn, lam = client(server, "cloudformation"), client(server, "lambda")

    # --resolve-s3 over plain HTTP: SAM CLI's managed stack (itself a SAM template: a bucket and its
    # policy) is created; the upload to its bucket is then refused by that bucket's own policy, which
    # denies every request not made over TLS (aws:SecureTransport false).
    done = sam(server, *deploy, "--resolve-s3", cwd=app)
    assert done.returncode != 0
    assert "Successfully created!" in done.stdout + done.stderr
    assert "AccessDenied" in done.stderr and "PutObject" in done.stderr, done.stdout + done.stderr
    assert cfn.describe_stacks(StackName="aws-sam-cli-managed-default")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

    # The same over HTTPS: the upload is allowed; sam deploy packages, makes the change set,
    # executes it and waits.
    done = sam(server, *deploy, "--resolve-s3", cwd=app, tls=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully created/updated stack - sam-app" in done.stdout
    managed = outputs(cfn, "aws-sam-cli-managed-default")["SourceBucket"]
    secure = tls_client("s3", server, key="test", secret="test")
    assert secure.list_objects_v2(Bucket=managed)["KeyCount"] >= 1  # the package, put over TLS
    assert error_of(client(server, "s3").list_objects_v2, Bucket=managed)["Code"] == "AccessDenied"  # not over HTTP
    arn = outputs(cfn, "sam-app")["HelloWorldFunction"]
    said = lambda: json.loads(json.loads(lam.invoke(FunctionName=arn)["Payload"].read())["body"])  # noqa: E731
    assert said() == {"message": "hello world"} and hello(server, cfn, "sam-app") == {"message": "hello world"}

    # Changed code, deployed again through a bucket of the user's own, over plain HTTP: the same
    # function runs it.
    handler.write_text(handler.read_text().replace("hello world", "hello again"))
    client(server, "s3").create_bucket(Bucket="sam-artifacts")
    done = sam(server, *deploy, "--s3-bucket", "sam-artifacts", cwd=app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs(cfn, "sam-app")["HelloWorldFunction"] == arn and said() == {"message": "hello again"}
    assert hello(server, cfn, "sam-app") == {"message": "hello again"}

    done = sam(server, "delete", "--stack-name", "sam-app", "--no-prompts", cwd=app, tls=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert error_of(lam.get_function, FunctionName=arn)["Code"] == "ResourceNotFoundException"
    assert "sam-app" not in [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]


def test_connectors_and_policies_are_iams_and_go_with_the_stack(lamina: LaminaProcess) -> None:
    """A SAM connector is an AWS::IAM::ManagedPolicy attached to the function's role; an
    AWS::IAM::Policy is an inline policy of the roles it names; both go when the stack does."""
    cfn, iam = client(lamina, "cloudformation"), client(lamina, "iam")
    body = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Connectors:
      ToJobs:
        Properties:
          Destination: {Id: Jobs}
          Permissions: [Write]
    Properties: {Runtime: python3.12, Handler: index.handler, InlineCode: "def handler(e, c): return 1"}
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      PolicyDocument: {Statement: [{Effect: Allow, Action: "sqs:GetQueueUrl", Resource: "*"}]}
      Roles: [!Ref FnRole]
"""
    cfn.create_stack(StackName="sam-iam", TemplateBody=body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert settled(cfn, "sam-iam")["StackStatus"] == "CREATE_COMPLETE"
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName="sam-iam")["StackResources"]}
    policy = resources["FnToJobsPolicy"]
    assert policy["ResourceType"] == "AWS::IAM::ManagedPolicy"
    role = resources["FnRole"]["PhysicalResourceId"]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert policy["PhysicalResourceId"] in attached
    document = iam.get_policy_version(PolicyArn=policy["PhysicalResourceId"], VersionId="v1")["PolicyVersion"]
    assert "sqs:SendMessage" in json.dumps(document["Document"])
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["extra"]
    cfn.delete_stack(StackName="sam-iam")
    cfn.get_waiter("stack_delete_complete").wait(StackName="sam-iam", WaiterConfig=FAST)
    assert error_of(iam.get_role, RoleName=role)["Code"] == "NoSuchEntity"
    assert error_of(iam.get_policy, PolicyArn=policy["PhysicalResourceId"])["Code"] == "NoSuchEntity"
