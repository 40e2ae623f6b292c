"""AWS managed policies Lamina knows, with AWS's documents (``arn:aws:iam::aws:policy/...``),
transcribed as AWS publishes them: the Lambda console policies keep their other services' read
actions (CloudFormation, CloudWatch, X-Ray...), which do nothing in Lamina.

Only those whose documents can be written out faithfully are here: ReadOnlyAccess, whose real
document lists thousands of actions of services Lamina does not serve, is not. An ARN not listed
is ``NoSuchEntity``, as IAM answers an unknown policy.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from lamina.iam.policy import Policy, parse

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
_CONSOLE_READ = ["cloudformation:DescribeStacks", "cloudformation:ListStackResources", "cloudwatch:ListMetrics",
                 "cloudwatch:GetMetricData", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                 "ec2:DescribeVpcs", "kms:ListAliases", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetRole",
                 "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoles",
                 "logs:DescribeLogGroups", "states:DescribeStateMachine", "states:ListStateMachines",
                 "tag:GetResources", "xray:GetTraceSummaries", "xray:BatchGetTraces"]  # fmt: skip
_LAMBDA_LOGS = {"Sid": "LogsReadAccess", "Effect": "Allow", "Action": ["logs:DescribeLogStreams",
                "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail"],
                "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/*"}  # fmt: skip


def _pass_role(service: str, sid: str) -> dict[str, object]:
    return {"Sid": sid, "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": service}}}  # fmt: skip


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    path: str
    description: str
    document: dict[str, object]

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"

    @property
    def policy_id(self) -> str:
        """A stable ANPA... id (AWS's are fixed per policy; these are derived from the name)."""
        digest = hashlib.sha256(self.name.encode()).digest()
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        return "ANPA" + "".join(alphabet[b % 32] for b in digest[:17])

    @property
    def text(self) -> str:
        return json.dumps(self.document, indent=4)

    @property
    def created(self) -> datetime:
        return CREATED

    def policy(self) -> Policy:
        return parse(self.text)


CREATED = datetime(2015, 4, 9, 15, 3, 43, tzinfo=timezone.utc)  # what GetPolicy says of each

_ALL = (
    ManagedPolicy("AWSLambdaBasicExecutionRole", "/service-role/", "Provides write permissions to CloudWatch Logs.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": _LOGS, "Resource": "*"}]}),
    ManagedPolicy("AWSLambdaRole", "/service-role/", "Default policy for AWS Lambda service role.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
                                                           "Resource": ["*"]}]}),
    ManagedPolicy("AWSLambda_FullAccess", "/", "Grants full access to AWS Lambda service, AWS Lambda console "
                  "features, and other related AWS services.",
                  {"Version": "2012-10-17", "Statement": [
                      {"Sid": "AWSLambda_FullAccess", "Effect": "Allow", "Action": [*_CONSOLE_READ, "lambda:*"],
                       "Resource": "*"},
                      _pass_role("lambda.amazonaws.com", "PassRole"), _LAMBDA_LOGS]}),
    ManagedPolicy("AWSLambda_ReadOnlyAccess", "/", "Grants read-only access to AWS Lambda service, AWS Lambda "
                  "console features, and other related AWS services.",
                  {"Version": "2012-10-17", "Statement": [
                      {"Sid": "AWSLambda_ReadOnlyAccess", "Effect": "Allow",
                       "Action": [*_CONSOLE_READ, "lambda:Get*", "lambda:List*"], "Resource": "*"},
                      _LAMBDA_LOGS]}),
    ManagedPolicy("AWSLambdaSQSQueueExecutionRole", "/service-role/", "Provides receive message, delete message, "
                  "and read attribute access to SQS queues, and write permissions to CloudWatch logs.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                      "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
                      "Resource": "*"}]}),
    ManagedPolicy("AWSLambdaDynamoDBExecutionRole", "/service-role/", "Provides list and read access to DynamoDB "
                  "streams and write permissions to CloudWatch logs.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                      "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                      "dynamodb:ListStreams", *_LOGS], "Resource": "*"}]}),
    ManagedPolicy("AmazonSQSFullAccess", "/", "Provides full access to Amazon SQS via the AWS Management Console.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:*"], "Resource": "*"}]}),
    ManagedPolicy("AmazonS3FullAccess", "/", "Provides full access to all buckets via the AWS Management Console.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"],
                                                           "Resource": "*"}]}),
    ManagedPolicy("AmazonS3ReadOnlyAccess", "/", "Provides read only access to all buckets via the AWS Management "
                  "Console.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                      "s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"],
                      "Resource": "*"}]}),
    ManagedPolicy("AmazonEventBridgeFullAccess", "/", "Provides full access to Amazon EventBridge.",
                  {"Version": "2012-10-17", "Statement": [
                      {"Sid": "EventBridgeActions", "Effect": "Allow",
                       "Action": ["events:*", "schemas:*", "scheduler:*", "pipes:*"], "Resource": "*"},
                      {"Sid": "IAMCreateServiceLinkedRoleForApiDestinations", "Effect": "Allow",
                       "Action": "iam:CreateServiceLinkedRole",
                       "Resource": "arn:aws:iam::*:role/aws-service-role/AmazonEventBridgeApiDestinationsServiceRolePolicy",
                       "Condition": {"StringEquals": {"iam:AWSServiceName": "apidestinations.events.amazonaws.com"}}},
                      _pass_role("events.amazonaws.com", "IAMPassRoleAccessForEventBridge"),
                      _pass_role("scheduler.amazonaws.com", "IAMPassRoleAccessForScheduler"),
                      _pass_role("pipes.amazonaws.com", "IAMPassRoleAccessForPipes")]}),
    ManagedPolicy("AdministratorAccess", "/", "Provides full access to AWS services and resources.",
                  {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
)  # fmt: skip

BY_ARN: dict[str, ManagedPolicy] = {p.arn: p for p in _ALL}
BASIC_EXECUTION_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def find(arn: str) -> ManagedPolicy | None:
    return BY_ARN.get(arn)
