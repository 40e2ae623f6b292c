"""Schedules and schedule groups as EventBridge Scheduler defines them: the request's fields
checked against botocore's model (with AWS's messages), and their stored documents.

Times are aware UTC datetimes; on the wire and in the store they are epoch seconds (the rest-json
protocol's timestamps).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Mapping

from lamina.errors import ApiError
from lamina.schedules.expressions import Schedule, parse

DEFAULT_GROUP = "default"
GROUP_KIND = "scheduler/group"
SCHEDULE_KIND = "scheduler/schedule"
DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_EVENT_AGE_SECONDS = 86400
# A firing missed while Lamina was down still fires (once) when it is at most this late, or the
# flexible time window's length when that is longer (docs/schedules.md).
MISSED_GRACE = timedelta(minutes=5)

_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9\-]+:\d{12}:function:([a-zA-Z0-9\-_]+)(:[a-zA-Z0-9\-_$]+)?$")
_SQS_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$")


class SchedulerValidation(ApiError):
    code = "ValidationException"
    status = 400
    message_key = "Message"


class SchedulerNotFound(ApiError):
    code = "ResourceNotFoundException"
    status = 404
    message_key = "Message"


class SchedulerConflict(ApiError):
    code = "ConflictException"
    status = 409
    message_key = "Message"


@dataclass(frozen=True)
class Target:
    arn: str
    role_arn: str
    input: str | None = None
    max_retries: int = DEFAULT_RETRY_ATTEMPTS
    max_age_seconds: int = DEFAULT_EVENT_AGE_SECONDS
    dead_letter_arn: str | None = None

    @property
    def payload(self) -> bytes:
        """What the function receives: the Input verbatim, or ``{}``."""
        return (self.input if self.input is not None else "{}").encode()

    def wire(self) -> dict[str, object]:
        doc: dict[str, object] = {"Arn": self.arn, "RoleArn": self.role_arn,
                                  "RetryPolicy": {"MaximumRetryAttempts": self.max_retries,
                                                  "MaximumEventAgeInSeconds": self.max_age_seconds}}  # fmt: skip
        if self.input is not None:
            doc["Input"] = self.input
        if self.dead_letter_arn is not None:
            doc["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        return doc


@dataclass(frozen=True)
class ScheduleRecord:
    name: str
    group: str
    expression: str
    timezone: str
    target: Target
    created: datetime
    modified: datetime
    state: str = "ENABLED"
    flexible_minutes: int | None = None  # None: Mode OFF
    start: datetime | None = None
    end: datetime | None = None
    description: str | None = None
    kms_key_arn: str | None = None
    action_after_completion: str = "NONE"
    last_firing: datetime | None = None  # the nominal time of the last firing taken
    client_token: str | None = None

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name}"

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:scheduler:{region}:{account}:schedule/{self.group}/{self.name}"

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.flexible_minutes or 0)

    @property
    def grace(self) -> timedelta:
        return max(MISSED_GRACE, self.window)

    def schedule(self) -> Schedule:
        return parse(self.expression, self.timezone, start=self.start or self.created)

    def cursor(self) -> datetime:
        """The time up to which it has fired: its last firing, or its last change (a schedule
        fires after it was created or changed). A rate without StartDate fires at once when
        created, as AWS's does."""
        if self.last_firing is not None:
            return max(self.last_firing, self.modified)
        if self.start is not None and self.start >= self.modified:
            return self.start - timedelta(microseconds=1)  # its StartDate is its first occurrence
        if self.start is None and self.modified == self.created and self.expression.strip().startswith("rate("):
            return self.created - timedelta(microseconds=1)
        return self.modified

    def wire(self, region: str, account: str) -> dict[str, object]:
        flexible: dict[str, object] = {"Mode": "OFF"} if self.flexible_minutes is None else {
            "Mode": "FLEXIBLE", "MaximumWindowInMinutes": self.flexible_minutes}  # fmt: skip
        doc: dict[str, object] = {
            "Arn": self.arn(region, account), "GroupName": self.group, "Name": self.name,
            "ScheduleExpression": self.expression, "ScheduleExpressionTimezone": self.timezone,
            "State": self.state, "CreationDate": self.created.timestamp(),
            "LastModificationDate": self.modified.timestamp(), "Target": self.target.wire(),
            "FlexibleTimeWindow": flexible, "ActionAfterCompletion": self.action_after_completion,
        }  # fmt: skip
        for name, value in (("StartDate", self.start), ("EndDate", self.end)):
            if value is not None:
                doc[name] = value.timestamp()
        if self.description is not None:
            doc["Description"] = self.description
        if self.kms_key_arn is not None:
            doc["KmsKeyArn"] = self.kms_key_arn
        return doc

    def summary(self, region: str, account: str) -> dict[str, object]:
        return {"Arn": self.arn(region, account), "Name": self.name, "GroupName": self.group, "State": self.state,
                "CreationDate": self.created.timestamp(), "LastModificationDate": self.modified.timestamp(),
                "Target": {"Arn": self.target.arn}}  # fmt: skip

    def doc(self) -> dict[str, object]:
        """The stored document: the wire form plus what only Lamina keeps."""
        doc = self.wire("-", "-")
        del doc["Arn"]
        doc["LastFiring"] = self.last_firing.timestamp() if self.last_firing is not None else None
        doc["ClientToken"] = self.client_token
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> ScheduleRecord:
        record = from_request(str(doc["Name"]), doc, _time(doc["CreationDate"]), default_group=str(doc["GroupName"]))
        last = doc.get("LastFiring")
        token = doc.get("ClientToken")
        return replace(
            record, modified=_time(doc["LastModificationDate"]),
            last_firing=_time(last) if last is not None else None,
            client_token=str(token) if token is not None else None,
        )  # fmt: skip


@dataclass(frozen=True)
class Group:
    name: str
    created: datetime
    modified: datetime
    tags: Mapping[str, str] = field(default_factory=dict)
    client_token: str | None = None

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:scheduler:{region}:{account}:schedule-group/{self.name}"

    def wire(self, region: str, account: str) -> dict[str, object]:
        return {"Arn": self.arn(region, account), "Name": self.name, "State": "ACTIVE",
                "CreationDate": self.created.timestamp(), "LastModificationDate": self.modified.timestamp()}  # fmt: skip

    def doc(self) -> dict[str, object]:
        return {"Name": self.name, "CreationDate": self.created.timestamp(), "LastModificationDate":
                self.modified.timestamp(), "Tags": dict(self.tags), "ClientToken": self.client_token}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Group:
        tags = doc.get("Tags")
        token = doc.get("ClientToken")
        return cls(str(doc["Name"]), _time(doc["CreationDate"]), _time(doc["LastModificationDate"]),
                   {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
                   str(token) if token is not None else None)  # fmt: skip


def _time(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchedulerValidation(f"Invalid timestamp {value!r}.")
    return datetime.fromtimestamp(float(value), timezone.utc)


def _text(doc: Mapping[str, object], name: str, *, required: bool = False) -> str | None:
    value = doc.get(name)
    if value is None:
        if required:
            raise SchedulerValidation(f"1 validation error detected: Value null at '{_member(name)}' failed to "
                                      "satisfy constraint: Member must not be null")  # fmt: skip
        return None
    if not isinstance(value, str):
        raise SchedulerValidation(f"Invalid value for {name}.")
    return value


def _member(name: str) -> str:
    return name[0].lower() + name[1:]


def _mapping(doc: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = doc.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SchedulerValidation(f"Invalid value for {name}.")
    return value


def _int(doc: Mapping[str, object], name: str, low: int, high: int, default: int) -> int:
    value = doc.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SchedulerValidation(
            f"1 validation error detected: Value '{value}' at '{_member(name)}' failed to satisfy constraint: "
            f"Member must have value {'greater than or equal to ' + str(low) if isinstance(value, int) and value < low else 'less than or equal to ' + str(high)}"
        )
    return value


def check_name(name: str, member: str = "name") -> str:
    if not _NAME.match(name):
        raise SchedulerValidation(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+"
        )
    return name


def lambda_function(arn: str) -> tuple[str, str | None]:
    """The function name and qualifier a Lambda target ARN names."""
    match = _LAMBDA_ARN.match(arn)
    if match is None:
        raise SchedulerValidation(f"Invalid target ARN {arn}: Lamina's schedules invoke Lambda functions only.")
    return match[1], match[2][1:] if match[2] else None


def from_request(
    name: str, body: Mapping[str, object], now: datetime, *, default_group: str = DEFAULT_GROUP
) -> ScheduleRecord:
    """A schedule from CreateSchedule's or UpdateSchedule's body (or a stored document), created
    and last changed ``now``."""
    check_name(name)
    group = check_name(_text(body, "GroupName") or default_group, "groupName")
    expression = _text(body, "ScheduleExpression", required=True)
    assert expression is not None
    tz = _text(body, "ScheduleExpressionTimezone") or "UTC"
    target_doc = body.get("Target")
    if not isinstance(target_doc, dict):
        _text(body, "Target", required=True)
        raise SchedulerValidation("Invalid value for Target.")
    arn = _text(target_doc, "Arn", required=True)
    role = _text(target_doc, "RoleArn", required=True)
    assert arn is not None and role is not None
    lambda_function(arn)
    retry = _mapping(target_doc, "RetryPolicy")
    dead = _mapping(target_doc, "DeadLetterConfig")
    dead_arn = _text(dead, "Arn")
    if dead_arn is not None and not _SQS_ARN.match(dead_arn):
        raise SchedulerValidation(
            f"1 validation error detected: Value '{dead_arn}' at 'target.deadLetterConfig.arn' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: arn:aws[a-z-]*:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+"
        )
    input_text = _text(target_doc, "Input")
    if input_text is not None:
        try:
            json.loads(input_text)
        except (ValueError, RecursionError):
            raise SchedulerValidation("Invalid Input: a Lambda function's input must be JSON.") from None
    target = Target(arn, role, input_text, _int(retry, "MaximumRetryAttempts", 0, 185, DEFAULT_RETRY_ATTEMPTS),
                    _int(retry, "MaximumEventAgeInSeconds", 60, 86400, DEFAULT_EVENT_AGE_SECONDS), dead_arn)  # fmt: skip
    flexible = body.get("FlexibleTimeWindow")
    if not isinstance(flexible, dict):
        _text(body, "FlexibleTimeWindow", required=True)
        raise SchedulerValidation("Invalid value for FlexibleTimeWindow.")
    mode = _text(flexible, "Mode", required=True)
    minutes: int | None = None
    if mode == "FLEXIBLE":
        if flexible.get("MaximumWindowInMinutes") is None:
            raise SchedulerValidation("MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.")
        minutes = _int(flexible, "MaximumWindowInMinutes", 1, 1440, 1)
    elif mode != "OFF":
        raise SchedulerValidation(_enum(str(mode), "flexibleTimeWindow.mode", ("OFF", "FLEXIBLE")))
    elif flexible.get("MaximumWindowInMinutes") is not None:
        raise SchedulerValidation("MaximumWindowInMinutes must not be set when FlexibleTimeWindow Mode is OFF.")
    state = _text(body, "State") or "ENABLED"
    if state not in ("ENABLED", "DISABLED"):
        raise SchedulerValidation(_enum(state, "state", ("ENABLED", "DISABLED")))
    after = _text(body, "ActionAfterCompletion") or "NONE"
    if after not in ("NONE", "DELETE"):
        raise SchedulerValidation(_enum(after, "actionAfterCompletion", ("NONE", "DELETE")))
    start = _time(body["StartDate"]) if body.get("StartDate") is not None else None
    end = _time(body["EndDate"]) if body.get("EndDate") is not None else None
    if start is not None and end is not None and end <= start:
        raise SchedulerValidation("The provided start date must be before the provided end date.")
    description = _text(body, "Description")
    if description is not None and len(description) > 512:
        raise SchedulerValidation("1 validation error detected: Value at 'description' failed to satisfy constraint: "
                                  "Member must have length less than or equal to 512")  # fmt: skip
    record = ScheduleRecord(name, group, expression, tz, target, now, now, state, minutes, start, end, description,
                            _text(body, "KmsKeyArn"), after, client_token=_text(body, "ClientToken"))  # fmt: skip
    record.schedule()  # InvalidScheduleExpression (a ValidationException) with AWS's message
    return record


def _enum(value: str, member: str, allowed: tuple[str, ...]) -> str:
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]")  # fmt: skip
