"""The configuration fields' checks (control/fields.py), their stored documents and the RuntimeVersionArn,
with plain values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lamina import ids
from lamina.control import fields as f
from lamina.errors import InvalidParameterValue, ValidationError
from lamina.model import Code, FileSystem, FunctionConfig, LoggingSettings, VpcSettings
from lamina.runtime.families import Runtime
from lamina.runtime.variables import Placement, lambda_environment
from lamina.runtime.version_arn import runtime_version_arn
from lamina.sandbox import platform_log
from lamina.store.codec import decode, encode

ACCESS_POINT = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0"


def test_logging_json_brings_levels_and_text_refuses_them() -> None:
    assert f.logging_config({}, "fn") == LoggingSettings("Text", "", "", "")
    assert f.logging_config({"LogFormat": "JSON"}, "fn") == LoggingSettings("JSON", "INFO", "INFO", "")
    assert f.logging_config({"LogFormat": "JSON", "ApplicationLogLevel": "TRACE", "SystemLogLevel": "WARN",
                             "LogGroup": "/my/group"}, "fn") == LoggingSettings("JSON", "TRACE", "WARN", "/my/group")  # fmt: skip
    # The function's own group is its default: nothing to remember.
    assert f.logging_config({"LogGroup": "/aws/lambda/fn"}, "fn").log_group == ""
    with pytest.raises(InvalidParameterValue, match='LogLevel is not supported when LogFormat is set to "Text"'):
        f.logging_config({"SystemLogLevel": "INFO"}, "fn")
    with pytest.raises(ValidationError, match=r"at 'loggingConfig.logFormat' .* enum value set: \[JSON, Text\]"):
        f.logging_config({"LogFormat": "json"}, "fn")
    with pytest.raises(ValidationError, match="loggingConfig.systemLogLevel"):
        f.logging_config({"LogFormat": "JSON", "SystemLogLevel": "ERROR"}, "fn")
    with pytest.raises(ValidationError, match="loggingConfig.logGroup"):
        f.logging_config({"LogGroup": "has space"}, "fn")


def test_tracing_and_snap_start_enums() -> None:
    assert f.tracing_mode({}) == "PassThrough" and f.tracing_mode({"Mode": "Active"}) == "Active"
    with pytest.raises(ValidationError, match=r"tracingConfig.mode.*\[Active, PassThrough\]"):
        f.tracing_mode({"Mode": "active"})
    assert f.snap_start({}) == "None" and f.snap_start({"ApplyOn": "PublishedVersions"}) == "PublishedVersions"
    with pytest.raises(ValidationError, match=r"snapStart.applyOn.*\[PublishedVersions, None\]"):
        f.snap_start({"ApplyOn": "Always"})


@pytest.mark.parametrize(
    ("runtime", "supported"),
    [("java11", True), ("java21", True), ("java8.al2", False), ("python3.12", True), ("python3.14", True),
     ("python3.11", False), ("python3.9", False), ("dotnet8", True), ("nodejs22.x", False), ("provided.al2023", False)],
)  # fmt: skip
def test_snap_start_runtimes(runtime: str, supported: bool) -> None:
    assert f.snap_start_supported(runtime) is supported
    f.check_snap_start("None", runtime)
    if not supported:
        with pytest.raises(InvalidParameterValue, match=f"^{runtime} is not supported for SnapStart enabled functions.$"):
            f.check_snap_start("PublishedVersions", runtime)


def test_vpc_config_and_its_id() -> None:
    vpc = f.vpc_config({"SubnetIds": ["subnet-0a", "subnet-0b"], "SecurityGroupIds": ["sg-1"]})
    assert vpc == VpcSettings(("subnet-0a", "subnet-0b"), ("sg-1",), False)
    assert f.vpc_config({}) == VpcSettings()
    assert f.vpc_id(VpcSettings()) == ""
    assert f.vpc_id(vpc).startswith("vpc-") and len(f.vpc_id(vpc)) == 21
    assert f.vpc_id(vpc) == f.vpc_id(VpcSettings(("subnet-0b", "subnet-0a"), ()))  # the subnets, in any order
    with pytest.raises(ValidationError, match="vpcConfig.subnetIds"):
        f.vpc_config({"SubnetIds": ["net-1"]})
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        f.vpc_config({"SecurityGroupIds": [f"sg-{i}" for i in range(6)]})
    with pytest.raises(ValidationError, match="less than or equal to 16"):
        f.vpc_config({"SubnetIds": [f"subnet-{i}" for i in range(17)]})
    with pytest.raises(InvalidParameterValue):
        f.vpc_config({"Ipv6AllowedForDualStack": "yes"})


def test_file_systems_and_kms_key() -> None:
    assert f.file_system_configs([{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/data"}]) == (
        FileSystem(ACCESS_POINT, "/mnt/data"),
    )
    assert f.file_system_configs([]) == ()
    with pytest.raises(ValidationError, match="fileSystemConfigs.member.localMountPath"):
        f.file_system_configs([{"Arn": ACCESS_POINT, "LocalMountPath": "/data"}])
    with pytest.raises(ValidationError, match="fileSystemConfigs.member.arn"):
        f.file_system_configs([{"Arn": "arn:aws:s3:::bucket", "LocalMountPath": "/mnt/data"}])
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        f.file_system_configs([{"Arn": ACCESS_POINT, "LocalMountPath": "/mnt/a"}] * 2)
    assert f.kms_key_arn("") == ""
    assert f.kms_key_arn("arn:aws:kms:us-east-1:123456789012:key/k") == "arn:aws:kms:us-east-1:123456789012:key/k"
    with pytest.raises(ValidationError, match="kMSKeyArn"):
        f.kms_key_arn("key/k")


def test_runtime_version_arn_is_per_runtime_and_build() -> None:
    arn = runtime_version_arn("eu-west-1", "python3.12", "1.0")
    assert arn.startswith("arn:aws:lambda:eu-west-1::runtime:") and len(arn.rsplit(":", 1)[1]) == 64
    assert arn == runtime_version_arn("eu-west-1", "python3.12", "1.0")
    assert arn != runtime_version_arn("eu-west-1", "python3.13", "1.0")
    assert arn != runtime_version_arn("eu-west-1", "python3.12", "1.1")


def test_stored_document_round_trip_and_older_documents() -> None:
    fn = FunctionConfig("fn", "python3.12", "app.handler", "arn:aws:iam::123456789012:role/r", Code("d", "s", 1))
    full = dataclasses.replace(
        fn, environment_set=True, tracing_mode="Active", logging=LoggingSettings("JSON", "WARN", "DEBUG", "/g"),
        vpc=VpcSettings(("subnet-1",), ("sg-1",), True), file_systems=(FileSystem(ACCESS_POINT, "/mnt/x"),),
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/k", snap_start="PublishedVersions",
    )  # fmt: skip
    assert decode(encode(full)) == full
    assert decode(encode(fn)) == fn
    # A document written before these fields existed reads as their defaults.
    old = {k: v for k, v in json.loads(encode(full)).items()
           if k not in ("environment_set", "tracing_mode", "logging", "vpc", "file_systems", "kms_key_arn", "snap_start")}  # fmt: skip
    assert decode(json.dumps(old)) == fn


def test_environment_carries_tracing_and_logging() -> None:
    runtime = Runtime("python3.12", "python", ("python3",))
    fn = FunctionConfig("fn", "python3.12", "app.handler", "arn:aws:iam::123456789012:role/r", Code("d", "s", 1))

    def env(config: FunctionConfig) -> dict[str, str]:
        return lambda_environment(config, runtime, placement=Placement.sandboxed(), runtime_api="127.0.0.1:9001",
                                  log_stream="s", region="us-east-1")  # fmt: skip

    plain = env(fn)
    assert plain["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert not {"AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "AWS_XRAY_DAEMON_ADDRESS"} & plain.keys()
    configured = env(dataclasses.replace(fn, tracing_mode="Active", logging=LoggingSettings("JSON", "ERROR", "INFO", "/g")))
    assert configured["AWS_LAMBDA_LOG_GROUP_NAME"] == "/g"
    assert (configured["AWS_LAMBDA_LOG_FORMAT"], configured["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "ERROR")
    assert configured["AWS_XRAY_CONTEXT_MISSING"] == "LOG_ERROR"
    assert configured["AWS_XRAY_DAEMON_ADDRESS"] == "169.254.79.129:2000"


def test_trace_ids_are_sampled_when_asked() -> None:
    assert ids.trace_id(0).endswith(";Sampled=0;Lineage=1")
    assert ids.trace_id(0, sampled=True).endswith(";Sampled=1;Lineage=1")
    assert ids.trace_id(0x65000000, sampled=True).startswith("Root=1-65000000-")


def test_platform_lines_text_and_json() -> None:
    text = LoggingSettings()
    assert platform_log.start(text, "r", "$LATEST", 0) == "START RequestId: r Version: $LATEST"
    assert platform_log.end(text, "r", "success", 1.5, 0) == "END RequestId: r"
    assert platform_log.report(text, "r", "success", duration_ms=1.234, billed_ms=2, memory_mb=128,
                               max_memory_used_mb=30, init_ms=None, now_ms=0) == (
        "REPORT RequestId: r\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t"
    )  # fmt: skip
    as_json = LoggingSettings("JSON", "INFO", "INFO")
    now_ms = 1_700_000_000_123
    assert json.loads(platform_log.start(as_json, "r", "1", now_ms) or "") == {
        "time": "2023-11-14T22:13:20.123Z", "type": "platform.start", "record": {"requestId": "r", "version": "1"},
    }  # fmt: skip
    assert json.loads(platform_log.end(as_json, "r", "error", 1.5, now_ms) or "")["record"] == {
        "requestId": "r", "status": "error", "metrics": {"durationMs": 1.5},
    }  # fmt: skip
    report = json.loads(platform_log.report(as_json, "r", "success", duration_ms=1.234, billed_ms=2, memory_mb=128,
                                            max_memory_used_mb=30, init_ms=100.0, now_ms=now_ms) or "")  # fmt: skip
    assert report["type"] == "platform.report" and report["record"] == {
        "requestId": "r", "status": "success",
        "metrics": {"durationMs": 1.23, "billedDurationMs": 2, "memorySizeMB": 128, "maxMemoryUsedMB": 30,
                    "initDurationMs": 100.0},
    }  # fmt: skip
    quiet = LoggingSettings("JSON", "INFO", "WARN")
    assert platform_log.start(quiet, "r", "1", now_ms) is None
    assert platform_log.end(quiet, "r", "success", 1.0, now_ms) is None
