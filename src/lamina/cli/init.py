"""``lamina init [DIR] --runtime R --trigger T``: a new function's project, ready to test and deploy.

Writes ``src/`` (the handler: ``lamina.cli.scaffolds``), ``tests/`` (a test of it, run with the
language's own tools), ``events/event.json`` (a sample of the trigger's event, from ``lamina event
generate``) and ``template.yaml``: a CloudFormation template with the function (``Code`` a local
folder, as ``aws cloudformation package`` reads it) and its trigger (a function URL, a scheduled
rule, a queue and its mapping, a bucket and its notification). ``lamina deploy`` and ``lamina dev``
read the function from the same template; ``aws cloudformation deploy`` deploys all of it.

Then it prints the next commands, each as it runs from where the user stands. Nothing is
overwritten: a file that exists stops it before anything is written.
"""

from __future__ import annotations

import json
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from lamina.cli.errors import UsageError
from lamina.cli.generate import generate
from lamina.cli.output import Console
from lamina.cli.scaffolds import SCAFFOLDS, Scaffold, family

RUNTIMES = ("python3.12", "nodejs20.x", "ruby3.3", "java21", "dotnet8", "provided.al2023")
TRIGGERS = ("none", "http", "schedule", "sqs", "s3")
EVENT_KINDS = {"http": "apigw-v2", "schedule": "schedule", "sqs": "sqs", "s3": "s3"}
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Project:
    name: str
    runtime: str
    trigger: str
    scaffold: Scaffold

    @property
    def stack(self) -> str:
        """The stack's name: lower case, since the s3 trigger's bucket is named after it."""
        return re.sub(r"[^a-z0-9-]+", "-", self.name.lower()).strip("-")[:40] or "app"


def project_files(project: Project, event: object) -> dict[str, str]:
    """Every file of the project by its path (pure)."""
    http = project.trigger == "http"
    truth = ("True", "False") if family(project.runtime) == "python" else ("true", "false")
    flags = {"http": truth[0] if http else truth[1], "http_shell": "1" if http else "0"}
    files = {path: text.format(**flags) for path, text in project.scaffold.files.items()}
    files["template.yaml"] = template_yaml(project)
    files["events/event.json"] = json.dumps(event, indent=2) + "\n"
    files[".gitignore"] = "build/\n*.class\n*.exe\npackaged.yaml\n__pycache__/\n"
    return files


def template_yaml(project: Project) -> str:
    """The CloudFormation template: the function, its role and its trigger (pure)."""
    policy = "AWSLambdaSQSQueueExecutionRole" if project.trigger == "sqs" else "AWSLambdaBasicExecutionRole"
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        f"Description: \"{project.name} ({project.runtime}, trigger {project.trigger}), made by lamina init\"",
        "Resources:",
        "  FunctionRole:",
        "    Type: AWS::IAM::Role",
        "    Properties:",
        "      AssumeRolePolicyDocument:",
        '        Version: "2012-10-17"',
        "        Statement:",
        "          - Effect: Allow",
        "            Principal: {Service: lambda.amazonaws.com}",
        "            Action: sts:AssumeRole",
        "      ManagedPolicyArns:",
        f"        - arn:aws:iam::aws:policy/service-role/{policy}",
        "  Function:",
        "    Type: AWS::Lambda::Function",
        "    Properties:",
        f"      FunctionName: {project.name}",
        f"      Runtime: {project.runtime}",
        f"      Handler: {project.scaffold.handler}",
        f"      Code: {project.scaffold.code}  # a local folder: lamina deploy zips it, aws cloudformation package uploads it",
        "      Role: !GetAtt FunctionRole.Arn",
        "      MemorySize: 256",
        "      Timeout: 10",
    ]
    lines += _TRIGGERS[project.trigger]
    return "\n".join(lines) + "\n"


_TRIGGERS: dict[str, list[str]] = {
    "none": [],
    "http": [
        "  FunctionUrl:",
        "    Type: AWS::Lambda::Url",
        "    Properties:",
        "      TargetFunctionArn: !GetAtt Function.Arn",
        "      AuthType: NONE",
        "  FunctionUrlPermission:",
        "    Type: AWS::Lambda::Permission",
        "    Properties:",
        "      FunctionName: !Ref Function",
        "      Action: lambda:InvokeFunctionUrl",
        '      Principal: "*"',
        "      FunctionUrlAuthType: NONE",
        "Outputs:",
        "  FunctionUrl:",
        "    Value: !GetAtt FunctionUrl.FunctionUrl",
    ],
    "schedule": [
        "  Schedule:",
        "    Type: AWS::Events::Rule",
        "    Properties:",
        "      ScheduleExpression: rate(1 minute)",
        "      Targets:",
        "        - Id: function",
        "          Arn: !GetAtt Function.Arn",
        "  SchedulePermission:",
        "    Type: AWS::Lambda::Permission",
        "    Properties:",
        "      FunctionName: !Ref Function",
        "      Action: lambda:InvokeFunction",
        "      Principal: events.amazonaws.com",
        "      SourceArn: !GetAtt Schedule.Arn",
    ],
    "sqs": [
        "  Queue:",
        "    Type: AWS::SQS::Queue",
        "    Properties:",
        "      VisibilityTimeout: 60",
        "  QueueMapping:",
        "    Type: AWS::Lambda::EventSourceMapping",
        "    Properties:",
        "      EventSourceArn: !GetAtt Queue.Arn",
        "      FunctionName: !Ref Function",
        "      BatchSize: 10",
        "Outputs:",
        "  QueueUrl:",
        "    Value: !Ref Queue",
    ],
    "s3": [
        "  Bucket:",
        "    Type: AWS::S3::Bucket",
        "    DependsOn: BucketPermission",
        "    Properties:",
        '      BucketName: !Sub "${AWS::StackName}-${AWS::AccountId}-uploads"',
        "      NotificationConfiguration:",
        "        LambdaConfigurations:",
        '          - Event: "s3:ObjectCreated:*"',
        "            Function: !GetAtt Function.Arn",
        "  BucketPermission:",
        "    Type: AWS::Lambda::Permission",
        "    Properties:",
        "      FunctionName: !Ref Function",
        "      Action: lambda:InvokeFunction",
        "      Principal: s3.amazonaws.com",
        "      SourceAccount: !Ref AWS::AccountId",
        '      SourceArn: !Sub "arn:aws:s3:::${AWS::StackName}-${AWS::AccountId}-uploads"',
        "Outputs:",
        "  Bucket:",
        "    Value: !Ref Bucket",
    ],
}


def next_steps(project: Project, directory: str, *, prefix: str = "lamina") -> list[str]:
    """The commands to run next, each as it runs from where ``lamina init`` was run (pure)."""
    name = shlex.quote(project.name)
    lines = ["Next:"]
    if directory != ".":
        lines.append(f"  cd {shlex.quote(directory)}")
    lines += [f"  {command}" for command in project.scaffold.build]
    lines += [
        f"  {project.scaffold.test}",
        f"  {prefix} deploy                # the function in template.yaml",
        f"  {prefix} invoke {name} --payload @events/event.json --logs",
        f"  {prefix} dev                   # redeploys on every save",
    ]
    return lines


def cloudformation_steps(project: Project) -> list[str]:
    """How to deploy the whole template, trigger and all, with the AWS CLI (pure)."""
    return [
        "The whole template, trigger and all, with the AWS CLI (AWS_ENDPOINT_URL points it at Lamina):",
        "  export AWS_ENDPOINT_URL=${LAMINA_ENDPOINT:-http://127.0.0.1:9000} AWS_ACCESS_KEY_ID=test "
        "AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1",
        "  aws s3api create-bucket --bucket artifacts",
        "  aws cloudformation package --template-file template.yaml --s3-bucket artifacts "
        "--output-template-file packaged.yaml",
        f"  aws cloudformation deploy --template-file packaged.yaml --stack-name {project.stack} "
        "--capabilities CAPABILITY_IAM",
    ]


def init(console: Console, directory: Path, *, runtime: str, trigger: str, name: str | None,
         prefix: str = "lamina") -> Project:  # fmt: skip
    """Write the project into ``directory`` and print what to do next."""
    try:
        scaffold = SCAFFOLDS[family(runtime)]
    except KeyError:
        raise UsageError(f"lamina init has no template for {runtime}; choose one of: {', '.join(RUNTIMES)}.") from None
    if trigger not in TRIGGERS:
        raise UsageError(f"no trigger {trigger!r}; choose one of: {', '.join(TRIGGERS)}.")
    chosen = name or directory.resolve().name
    if not _NAME.fullmatch(chosen):
        raise UsageError(f"{chosen!r} cannot be a function's name (letters, digits, - and _, at most 64): "
                         "give one with --name NAME.")  # fmt: skip
    project = Project(chosen, runtime, trigger, scaffold)
    kind = EVENT_KINDS.get(trigger)
    event = generate(kind) if kind else {"name": "world"}
    files = project_files(project, event)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} exists and is not a folder.")
    existing = [path for path in files if (directory / path).exists() or (directory / path).is_symlink()]
    if existing:
        raise UsageError(f"{directory} already has {', '.join(sorted(existing))}; nothing was written. "
                         "Choose an empty or new folder.")  # fmt: skip
    for path, text in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as file:  # "x": never through a file that appeared since
            file.write(text)
        if path in scaffold.executable:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    console.emit({"name": project.name, "runtime": runtime, "trigger": trigger, "directory": str(directory),
                  "files": sorted(files)})  # fmt: skip
    console.say(f"Created {project.name} ({runtime}, trigger: {trigger}) in {directory}:")
    for path in sorted(files):
        console.say(f"  {path}")
    console.say()
    for line in next_steps(project, str(directory), prefix=prefix):
        console.say(line)
    console.say()
    for line in cloudformation_steps(project):
        console.say(line)
    return project
