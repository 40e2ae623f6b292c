"""The SAM transform (stacks/transform.py) and a bucket's NotificationConfiguration as S3's XML
(stacks/resources/notifications.py), with plain values: what the translator makes, its errors in
CloudFormation's words, managed policies from Lamina's own table, hostile input refused or escaped."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from lamina.stacks.errors import ResourceFailed, StackValidationError, TemplateError
from lamina.stacks.resources.notifications import notification_xml
from lamina.stacks.transform import SAM, declared, expand, read

FUNCTION = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Alias: {Type: String, Default: live}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: "def handler(event, context): return 1"
      AutoPublishAlias: !Ref Alias
      Policies: [%s]
"""


def test_a_sam_template_is_read_as_what_the_translator_makes_of_it() -> None:
    body = FUNCTION % "AmazonSQSFullAccess"
    template = read(body, {"Alias": "prod"}, "eu-west-1", "123456789012")
    assert template.original == body and "Transform" not in json.loads(template.body)
    types = {r.logical_id: r.type for r in template.resources.values()}
    assert types["Fn"] == "AWS::Lambda::Function" and types["FnAliasprod"] == "AWS::Lambda::Alias"
    # A managed policy named in Policies: its ARN from the table Lamina ships (no call to IAM).
    role = template.resources["FnRole"].properties
    assert "arn:aws:iam::aws:policy/AmazonSQSFullAccess" in role["ManagedPolicyArns"]
    # A template without a transform is read as it is.
    plain = "Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
    assert read(plain, {}, "us-east-1", "123456789012").original is None


def test_the_translators_errors_are_cloudformations_validation_errors() -> None:
    with pytest.raises(StackValidationError) as caught:
        read(FUNCTION % "AWSLambdaRole" + "      Nonsense: 1\n", {}, "us-east-1", "123456789012")
    assert caught.value.message.startswith(f"Transform {SAM} failed with: Invalid Serverless Application "
                                           "Specification document. Number of errors found: 1. Resource with id [Fn] "
                                           "is invalid.")  # fmt: skip
    # A policy name Lamina's table lacks is passed on as given, as the translator does with AWS's:
    # attaching it fails the role's creation (IAM's NoSuchEntity).
    role = read(FUNCTION % "NoSuchManagedPolicy", {}, "us-east-1", "123456789012").resources["FnRole"]
    assert "NoSuchManagedPolicy" in role.properties["ManagedPolicyArns"]
    with pytest.raises(StackValidationError) as caught:
        expand({"Transform": SAM, "Resources": []}, {}, "us-east-1", "123456789012")
    assert caught.value.message.startswith(f"Transform {SAM} failed with: ")


@pytest.mark.parametrize("transform, message", [
    ("AWS::Include", "No transform named AWS::Include found."),
    ("Evil", "No transform named 123456789012::Evil found."),
    ([SAM, "AWS::LanguageExtensions"], "No transform named AWS::LanguageExtensions found."),
])  # fmt: skip
def test_transforms_lamina_does_not_serve_are_refused(transform: object, message: str) -> None:
    with pytest.raises(StackValidationError) as caught:
        expand({"Transform": transform, "Resources": {}}, {}, "us-east-1", "123456789012")
    assert caught.value.message == message


def test_hostile_transform_sections_and_templates() -> None:
    with pytest.raises(TemplateError):
        declared({"Transform": {"Name": "AWS::Include"}})
    with pytest.raises(TemplateError):
        declared({"Transform": [SAM, 3]})
    with pytest.raises(StackValidationError) as caught:  # the original's size is checked as any template's
        read("Transform: " + SAM + "\n#" + "x" * 60_000, {}, "us-east-1", "123456789012")
    assert "51200" in caught.value.message
    with pytest.raises(TemplateError):  # YAML aliases refused before the translator sees anything
        read("Transform: " + SAM + "\nResources: &a {X: *a}\n", {}, "us-east-1", "123456789012")


def test_a_notification_configuration_becomes_s3s_xml_with_its_text_escaped() -> None:
    body = notification_xml({
        "LambdaConfigurations": [{"Event": "s3:ObjectCreated:*", "Function": "arn:aws:lambda:us-east-1:1:function:f",
                                  "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/</Value><x>"}]}}}],
        "QueueConfigurations": [{"Event": "s3:ObjectRemoved:*", "Queue": "arn:aws:sqs:us-east-1:1:q"}],
        "EventBridgeConfiguration": {"EventBridgeEnabled": True},
    })  # fmt: skip
    root = ElementTree.fromstring(body)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    function = root.find(f"{ns}CloudFunctionConfiguration")
    assert function is not None and function.findtext(f"{ns}Event") == "s3:ObjectCreated:*"
    assert function.findtext(f"{ns}Filter/{ns}S3Key/{ns}FilterRule/{ns}Value") == "in/</Value><x>"
    assert root.findtext(f"{ns}QueueConfiguration/{ns}Queue") == "arn:aws:sqs:us-east-1:1:q"
    assert root.find(f"{ns}EventBridgeConfiguration") is not None


@pytest.mark.parametrize("config", [
    [], {"LambdaConfigurations": {"Event": "x"}}, {"LambdaConfigurations": ["x"]},
    {"LambdaConfigurations": [{"Event": {"nested": 1}, "Function": "f"}]},
    {"QueueConfigurations": [{"Event": "e", "Queue": "q", "Filter": {"S3Key": "prefix"}}]},
])  # fmt: skip
def test_malformed_notification_configurations_fail_the_resource(config: object) -> None:
    with pytest.raises(ResourceFailed):
        notification_xml(config)  # type: ignore[arg-type]
