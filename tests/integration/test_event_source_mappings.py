"""Event source mappings through the Lambda API: boto3's ``lambda`` client and the AWS CLI against a
real server, with queues made by boto3's ``sqs`` client. Validation errors (codes and messages),
states, listing and its filters and pages. What the pollers deliver: test_sqs_mappings.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import LaminaProcess, deploy, lambda_client
from tests.functions import wait_until
from tests.integration.test_clients import aws_cli
from tests.mapping_helpers import PRINTER, make_queue, sqs_client, state_of

QUEUE_GONE = ("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
              "SQS Error Message: The specified queue does not exist for this wsdl version.")  # fmt: skip


def _error(call: Any, **params: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_answers_creating_then_the_mapping_is_enabled(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTER)
    client.publish_version(FunctionName=fn_name)
    client.create_alias(FunctionName=fn_name, Name="live", FunctionVersion="1")
    _, arn = make_queue(sqs_client(lamina.endpoint), fn_name)
    created = client.create_event_source_mapping(
        FunctionName=f"{fn_name}:live", EventSourceArn=arn, BatchSize=20, MaximumBatchingWindowInSeconds=2,
        FilterCriteria={"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]},
        FunctionResponseTypes=["ReportBatchItemFailures"], ScalingConfig={"MaximumConcurrency": 3},
    )  # fmt: skip
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and created["StateTransitionReason"] == "USER_INITIATED"
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fn_name}:live"
    assert created["EventSourceArn"] == arn and created["BatchSize"] == 20
    assert created["MaximumBatchingWindowInSeconds"] == 2
    assert created["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"kind": ["order"]}}'}]}
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert created["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    assert created["LastModified"].year >= 2024  # botocore parsed the epoch seconds
    wait_until(lambda: state_of(client, created["UUID"]) == "Enabled")
    got = client.get_event_source_mapping(UUID=created["UUID"])
    assert got["LastProcessingResult"] == "No records processed"
    default = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)
    assert default["BatchSize"] == 10 and default["MaximumBatchingWindowInSeconds"] == 0
    assert default["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fn_name}"
    assert "FilterCriteria" not in default and "ScalingConfig" not in default


def test_bad_input_is_refused_with_lambdas_errors(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTER)
    sqs = sqs_client(lamina.endpoint)
    _, arn = make_queue(sqs, fn_name)
    _, fifo = make_queue(sqs, f"{fn_name}.fifo", FifoQueue="true")
    raw = lambda_client(lamina.endpoint, parameter_validation=False)
    create = raw.create_event_source_mapping
    region = "arn:aws:sqs:us-east-1:000000000000"
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"BatchSize": 0}, "ValidationException", "1 validation error detected: Value '0' at 'batchSize' failed to "
         "satisfy constraint: Member must have value greater than or equal to 1"),
        ({"BatchSize": 10_001, "ScalingConfig": {"MaximumConcurrency": 1}}, "ValidationException",
         "2 validation errors detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have "
         "value less than or equal to 10000; Value '1' at 'scalingConfig.maximumConcurrency' failed to satisfy "
         "constraint: Member must have value greater than or equal to 2"),
        ({"FunctionResponseTypes": ["Everything"]}, "ValidationException",
         "1 validation error detected: Value '[Everything]' at 'functionResponseTypes' failed to satisfy constraint: "
         "Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"),
        ({"StartingPosition": "LATEST"}, "InvalidParameterValueException",
         "StartingPosition is not valid for SQS event sources."),
        ({"MaximumRetryAttempts": 2}, "InvalidParameterValueException",
         "Unsupported MaximumRetryAttempts parameter for given event source mapping type."),
        ({"DestinationConfig": {"OnFailure": {"Destination": arn}}}, "InvalidParameterValueException",
         "Unsupported DestinationConfig parameter for given event source mapping type."),
        ({"BisectBatchOnFunctionError": True}, "InvalidParameterValueException",
         "Unsupported BisectBatchOnFunctionError parameter for given event source mapping type."),
        ({"BatchSize": 50}, "InvalidParameterValueException",
         "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"),
        ({"FilterCriteria": {"Filters": [{"Pattern": "{nope"}]}}, "InvalidParameterValueException",
         "Invalid filter pattern definition."),
        ({"FunctionName": "no-such-function"}, "InvalidParameterValueException", "Function does not exist"),
        ({"FunctionName": f"{fn_name}:no-such-alias"}, "InvalidParameterValueException", "Function does not exist"),
        ({"EventSourceArn": f"{region}:no-such-queue"}, "InvalidParameterValueException", QUEUE_GONE),
        ({"EventSourceArn": fifo, "BatchSize": 11, "MaximumBatchingWindowInSeconds": 1},
         "InvalidParameterValueException",
         "BatchSize 11 is not valid for FIFO queues: FIFO queues take batches of 1 to 10."),
        ({"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}, "InvalidParameterValueException",
         "Lamina does not read from Amazon Kinesis streams yet: only Amazon SQS queues (Lamina's own), "
         "self-managed Apache Kafka topics and Amazon MQ for RabbitMQ brokers can be event sources."),
        ({"EventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/c/1"}, "InvalidParameterValueException",
         "Lamina does not read from Amazon MSK (Kafka) clusters yet: only Amazon SQS queues (Lamina's own), "
         "self-managed Apache Kafka topics and Amazon MQ for RabbitMQ brokers can be event sources."),
        ({"EventSourceArn": None, "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b:9092"]}},
          "Topics": ["orders"]}, "InvalidParameterValueException",
         "StartingPosition must be specified for a self-managed Apache Kafka event source."),
    ]  # fmt: skip
    for params, code, message in cases:
        body = {"FunctionName": fn_name, "EventSourceArn": arn, **params}
        body = {k: v for k, v in body.items() if v is not None}
        assert _error(create, **body)[:2] == (code, message), params
    assert _error(create, FunctionName=fn_name, EventSourceArn=arn, BatchSize=0)[2] == 400
    assert client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"] == []

    first = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)
    assert _error(create, FunctionName=fn_name, EventSourceArn=arn) == (
        "ResourceConflictException",
        f'An event source mapping with SQS arn (" {arn} ") and function (" {fn_name} ") already exists. Please '
        f"update or delete the existing mapping with UUID {first['UUID']}", 409,
    )  # fmt: skip
    missing = "00000000-0000-4000-8000-000000000000"
    for call in (client.get_event_source_mapping, client.delete_event_source_mapping):
        assert _error(call, UUID=missing) == (
            "ResourceNotFoundException", "The resource you requested does not exist.", 404
        )
    assert _error(client.update_event_source_mapping, UUID=missing, BatchSize=5)[0] == "ResourceNotFoundException"
    assert _error(raw.update_event_source_mapping, UUID=first["UUID"], BatchSize=100)[1] == (
        "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
    )
    assert _error(raw.list_event_source_mappings, MaxItems=0)[0] == "ValidationException"


def test_update_disables_enables_and_changes_then_delete_removes(lamina: LaminaProcess, client: Any,
                                                                  fn_name: str) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    deploy(client, f"{fn_name}-other", PRINTER)
    _, arn = make_queue(sqs_client(lamina.endpoint), fn_name)
    uuid = client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=arn)["UUID"]
    wait_until(lambda: state_of(client, uuid) == "Enabled")
    disabled = client.update_event_source_mapping(UUID=uuid, Enabled=False)
    assert disabled["ResponseMetadata"]["HTTPStatusCode"] == 202 and disabled["State"] == "Disabling"
    wait_until(lambda: state_of(client, uuid) == "Disabled")
    enabled = client.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert enabled["State"] == "Enabling"
    wait_until(lambda: state_of(client, uuid) == "Enabled")
    changed = client.update_event_source_mapping(
        UUID=uuid, FunctionName=f"{fn_name}-other", BatchSize=100, MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": [{"Pattern": '{"body": ["x"]}'}]}, FunctionResponseTypes=["ReportBatchItemFailures"],
    )  # fmt: skip
    assert changed["State"] == "Updating" and changed["BatchSize"] == 100
    assert changed["FunctionArn"].endswith(f":function:{fn_name}-other")
    assert changed["LastModified"] >= disabled["LastModified"]
    wait_until(lambda: state_of(client, uuid) == "Enabled")
    cleared = client.update_event_source_mapping(UUID=uuid, FilterCriteria={"Filters": []}, FunctionResponseTypes=[])
    assert "FilterCriteria" not in cleared and cleared["FunctionResponseTypes"] == []
    deleted = client.delete_event_source_mapping(UUID=uuid)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202 and deleted["State"] == "Deleting"
    wait_until(lambda: state_of(client, uuid) is None)


def test_list_filters_by_function_and_source_and_pages(lamina: LaminaProcess, client: Any, fn_name: str) -> None:
    deploy(client, fn_name, PRINTER)
    deploy(client, f"{fn_name}-b", PRINTER)
    sqs = sqs_client(lamina.endpoint)
    arns = [make_queue(sqs, f"{fn_name}-{i}")[1] for i in range(3)]
    mine = {client.create_event_source_mapping(FunctionName=fn_name, EventSourceArn=a)["UUID"] for a in arns}
    other = client.create_event_source_mapping(FunctionName=f"{fn_name}-b", EventSourceArn=arns[0])["UUID"]
    by_function = client.list_event_source_mappings(FunctionName=fn_name)["EventSourceMappings"]
    assert {m["UUID"] for m in by_function} == mine
    full_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{fn_name}-b"
    assert [m["UUID"] for m in client.list_event_source_mappings(FunctionName=full_arn)["EventSourceMappings"]] == [
        other
    ]
    by_source = client.list_event_source_mappings(EventSourceArn=arns[0])["EventSourceMappings"]
    assert {m["UUID"] for m in by_source} == {other} | {m["UUID"] for m in by_function if m["EventSourceArn"] == arns[0]}
    both = client.list_event_source_mappings(FunctionName=fn_name, EventSourceArn=arns[1])["EventSourceMappings"]
    assert len(both) == 1 and both[0]["EventSourceArn"] == arns[1]
    seen: list[str] = []
    page = client.list_event_source_mappings(FunctionName=fn_name, MaxItems=2)
    assert len(page["EventSourceMappings"]) == 2 and "NextMarker" in page
    seen += [m["UUID"] for m in page["EventSourceMappings"]]
    page = client.list_event_source_mappings(FunctionName=fn_name, MaxItems=2, Marker=page["NextMarker"])
    assert "NextMarker" not in page
    seen += [m["UUID"] for m in page["EventSourceMappings"]]
    assert sorted(seen) == sorted(mine) and len(seen) == 3
    paginated = client.get_paginator("list_event_source_mappings").paginate(
        FunctionName=fn_name, PaginationConfig={"PageSize": 1}
    )
    assert sorted(m["UUID"] for p in paginated for m in p["EventSourceMappings"]) == sorted(mine)


def test_the_aws_cli_creates_lists_and_deletes(lamina: LaminaProcess, client: Any, fn_name: str,
                                               tmp_path: Path) -> None:  # fmt: skip
    deploy(client, fn_name, PRINTER)
    _, arn = make_queue(sqs_client(lamina.endpoint), fn_name)
    made = aws_cli(lamina.endpoint, "create-event-source-mapping", "--function-name", fn_name,
                   "--event-source-arn", arn, "--batch-size", "5",
                   "--filter-criteria", '{"Filters": [{"Pattern": "{\\"body\\": {\\"a\\": [1]}}"}]}', cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    assert created["FilterCriteria"] == {"Filters": [{"Pattern": '{"body": {"a": [1]}}'}]}
    listed = aws_cli(lamina.endpoint, "list-event-source-mappings", "--function-name", fn_name, cwd=tmp_path)
    assert [m["UUID"] for m in json.loads(listed.stdout)["EventSourceMappings"]] == [created["UUID"]]
    refused = aws_cli(lamina.endpoint, "create-event-source-mapping", "--function-name", fn_name,
                      "--event-source-arn", arn, "--starting-position", "LATEST", cwd=tmp_path)  # fmt: skip
    assert refused.returncode != 0
    assert "InvalidParameterValueException" in refused.stderr and "StartingPosition is not valid" in refused.stderr
    gone = aws_cli(lamina.endpoint, "delete-event-source-mapping", "--uuid", created["UUID"], cwd=tmp_path)
    assert json.loads(gone.stdout)["State"] == "Deleting"
    wait_until(lambda: state_of(client, created["UUID"]) is None)
