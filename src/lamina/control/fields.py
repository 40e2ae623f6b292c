"""The configuration fields Lamina stores and returns as Lambda does, checked as Lambda checks them:
LoggingConfig, TracingConfig, VpcConfig, FileSystemConfigs, KMSKeyArn, SnapStart, ImageConfig.

Each function takes the raw JSON value of one request member (and what is stored, where an update
builds on it) and returns the typed value to store, or raises ``ValidationError`` (the value
breaks botocore's model: an enum, a pattern, a length) or ``InvalidParameterValue`` (well-formed,
not acceptable). All pure. What Lamina does with each value is in docs/api.md.
"""

from __future__ import annotations

import hashlib
import re
from typing import Mapping

from lamina.control.validation import constraint
from lamina.errors import InvalidParameterValue
from lamina.model import FileSystem, LoggingSettings, VpcSettings

LOG_FORMATS = ("JSON", "Text")
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SYSTEM_LOG_LEVELS = ("DEBUG", "INFO", "WARN")
TRACING_MODES = ("Active", "PassThrough")
SNAP_START_APPLY_ON = ("PublishedVersions", "None")
_LOG_GROUP = re.compile(r"^[\.\-_/#A-Za-z0-9]+$")
_SUBNET = re.compile(r"^subnet-[0-9a-z]*$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-zA-Z]*$")
_MOUNT_PATH = re.compile(r"^/mnt/[a-zA-Z0-9-_.]+$")
_FILE_SYSTEM_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:elasticfilesystem:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"access-point/fsap-[a-f0-9]{17}$|^arn:aws[-a-z]*:s3files:[0-9a-z-:]+:file-system/fs-[0-9a-f]{17,40}/"
    r"access-point/fsap-[0-9a-f]{17,40}$"
)
_KMS_KEY_ARN = re.compile(r"^(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()$")
LOG_LEVEL_WITH_TEXT = (
    'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change '
    'the LogFormat to "JSON" and try again.'
)


def _object(value: object, member: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise InvalidParameterValue(f"{member} must be an object")
    return value


def _enum(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise constraint(value, field, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return value


def logging_config(value: object, function_name: str) -> LoggingSettings:
    """LoggingConfig: a present one replaces the stored settings (an omitted LogFormat is Text). JSON
    brings the levels, INFO unless given; Text refuses them. A LogGroup equal to the function's
    default is kept as the default."""
    doc = _object(value, "LoggingConfig")
    log_format = _enum(doc.get("LogFormat", "Text"), "loggingConfig.logFormat", LOG_FORMATS)
    application = doc.get("ApplicationLogLevel")
    system = doc.get("SystemLogLevel")
    if application is not None:
        application = _enum(application, "loggingConfig.applicationLogLevel", APPLICATION_LOG_LEVELS)
    if system is not None:
        system = _enum(system, "loggingConfig.systemLogLevel", SYSTEM_LOG_LEVELS)
    group = doc.get("LogGroup", "")
    if group != "" and (not isinstance(group, str) or len(group) > 512 or not _LOG_GROUP.match(group)):
        raise constraint(group, "loggingConfig.logGroup", "Member must satisfy regular expression pattern: "
                         "[\\.\\-_/#A-Za-z0-9]+")  # fmt: skip
    if log_format == "Text" and (application is not None or system is not None):
        raise InvalidParameterValue(LOG_LEVEL_WITH_TEXT)
    if group == f"/aws/lambda/{function_name}":
        group = ""
    if log_format == "Text":
        return LoggingSettings(log_format, "", "", str(group))
    return LoggingSettings(log_format, str(application or "INFO"), str(system or "INFO"), str(group))


def tracing_mode(value: object) -> str:
    """TracingConfig's Mode (an omitted Mode: PassThrough)."""
    doc = _object(value, "TracingConfig")
    return _enum(doc.get("Mode", "PassThrough"), "tracingConfig.mode", TRACING_MODES)


def _id_list(value: object, field: str, pattern: re.Pattern[str], most: int, rule: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidParameterValue(f"{field} must be a list of strings")
    if len(value) > most:
        raise constraint(value, field, f"Member must have length less than or equal to {most}")
    for item in value:
        if not isinstance(item, str) or len(item) > 1024 or not pattern.match(item):
            raise constraint(item, field, f"Member must satisfy regular expression pattern: {rule}")
    return tuple(value)


def vpc_config(value: object) -> VpcSettings:
    """VpcConfig as given (empty lists: no VPC, what an update sends to leave one)."""
    doc = _object(value, "VpcConfig")
    subnets = _id_list(doc.get("SubnetIds"), "vpcConfig.subnetIds", _SUBNET, 16, "subnet-[0-9a-z]*")
    groups = _id_list(doc.get("SecurityGroupIds"), "vpcConfig.securityGroupIds", _SECURITY_GROUP, 5,
                      "sg-[0-9a-zA-Z]*")  # fmt: skip
    ipv6 = doc.get("Ipv6AllowedForDualStack", False)
    if ipv6 is None:
        ipv6 = False
    if not isinstance(ipv6, bool):
        raise InvalidParameterValue("VpcConfig.Ipv6AllowedForDualStack must be a boolean")
    return VpcSettings(subnets, groups, ipv6)


def vpc_id(vpc: VpcSettings) -> str:
    """The VpcId Lamina answers: empty without subnets (as Lambda answers), otherwise a stable
    placeholder derived from the subnets (Lamina has no EC2 to ask which VPC they are in)."""
    if not vpc.subnet_ids:
        return ""
    return "vpc-" + hashlib.sha256(",".join(sorted(vpc.subnet_ids)).encode()).hexdigest()[:17]


def file_system_configs(value: object) -> tuple[FileSystem, ...]:
    """FileSystemConfigs: at most one access point and where it is mounted (under /mnt/)."""
    if not isinstance(value, list):
        raise InvalidParameterValue("FileSystemConfigs must be a list")
    if len(value) > 1:
        raise constraint(value, "fileSystemConfigs", "Member must have length less than or equal to 1")
    found = []
    for item in value:
        doc = _object(item, "FileSystemConfigs item")
        arn, path = doc.get("Arn"), doc.get("LocalMountPath")
        if not isinstance(arn, str) or len(arn) > 256 or not _FILE_SYSTEM_ARN.match(arn):
            raise constraint(arn, "fileSystemConfigs.member.arn", "Member must satisfy regular expression pattern: "
                             + _FILE_SYSTEM_ARN.pattern.strip("^$"))  # fmt: skip
        if not isinstance(path, str) or len(path) > 160 or not _MOUNT_PATH.match(path):
            raise constraint(path, "fileSystemConfigs.member.localMountPath",
                             "Member must satisfy regular expression pattern: /mnt/[a-zA-Z0-9-_.]+")  # fmt: skip
        found.append(FileSystem(arn, path))
    return tuple(found)


def kms_key_arn(value: object) -> str:
    """KMSKeyArn (empty: Lambda's own key, what an update sends to go back to it)."""
    if not isinstance(value, str) or len(value) > 10000 or not _KMS_KEY_ARN.match(value):
        raise constraint(value, "kMSKeyArn", "Member must satisfy regular expression pattern: "
                         "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")  # fmt: skip
    return value


def snap_start(value: object) -> str:
    """SnapStart's ApplyOn (an omitted ApplyOn: None)."""
    doc = _object(value, "SnapStart")
    return _enum(doc.get("ApplyOn", "None"), "snapStart.applyOn", SNAP_START_APPLY_ON)


def snap_start_supported(runtime: str) -> bool:
    """Whether Lambda offers SnapStart for ``runtime``: Java 11 and later, Python 3.12 and later,
    .NET 8 and later."""
    for prefix, first in (("java", 11), ("python3.", 12), ("dotnet", 8)):
        rest = runtime.removeprefix(prefix).split(".")[0]
        if runtime.startswith(prefix) and rest.isdigit():
            return int(rest) >= first
    return False


def check_snap_start(apply_on: str, runtime: str) -> None:
    """SnapStart on published versions only where Lambda offers it."""
    if apply_on == "PublishedVersions" and not snap_start_supported(runtime):
        raise InvalidParameterValue(f"{runtime} is not supported for SnapStart enabled functions.")


def refuse_image_config(value: object) -> None:
    """ImageConfig belongs to container images (PackageType Image), which Lamina does not run."""
    del value
    raise InvalidParameterValue(
        "ImageConfig applies only to functions with PackageType Image; Lamina runs .zip deployment packages."
    )
