"""PutTargets' entries, checked one by one: each becomes a ``Target`` or a failed entry with
EventBridge's error code and message (the other entries are applied all the same, as on AWS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from lamina.errors import ValidationError
from lamina.events.model import Target

MAX_TARGETS_PER_RULE = 5
_KNOWN = (
    "Id", "Arn", "RoleArn", "Input", "InputPath", "InputTransformer", "KinesisParameters",
    "RunCommandParameters", "EcsParameters", "BatchParameters", "SqsParameters", "HttpParameters",
    "RedshiftDataParameters", "SageMakerPipelineParameters", "DeadLetterConfig", "RetryPolicy",
    "AppSyncParameters",
)  # fmt: skip


@dataclass(frozen=True)
class Failed:
    target_id: str
    code: str
    message: str

    def wire(self) -> dict[str, str]:
        return {"TargetId": self.target_id, "ErrorCode": self.code, "ErrorMessage": self.message}


def check(entry: Mapping[str, object]) -> Target | Failed:
    """One PutTargets entry (its Id already checked) as a target, or why it is refused."""
    target_id = str(entry["Id"])
    arn = entry.get("Arn")
    if not isinstance(arn, str) or not arn.startswith("arn:") or len(arn) > 1600:
        return Failed(target_id, "ValidationException", f"Parameter {arn} is not valid.")
    retry = entry.get("RetryPolicy")
    if retry is not None:
        problem = _retry_problem(retry)
        if problem:
            return Failed(target_id, "ValidationException", problem)
    dlq = entry.get("DeadLetterConfig")
    if dlq is not None and (not isinstance(dlq, Mapping) or not str(dlq.get("Arn", "")).startswith("arn:")):
        return Failed(target_id, "ValidationException", "DeadLetterConfig Arn is not valid.")
    try:  # Input, InputPath and InputTransformer, compiled once (events/transform.py)
        return Target.load({k: v for k, v in entry.items() if k in _KNOWN and v is not None})
    except ValidationError as exc:
        return Failed(target_id, "ValidationException", exc.message)


def _retry_problem(retry: object) -> str | None:
    if not isinstance(retry, Mapping):
        return "RetryPolicy is not valid."
    attempts = retry.get("MaximumRetryAttempts")
    if attempts is not None and (not isinstance(attempts, int) or not 0 <= attempts <= 185):
        return "MaximumRetryAttempts must be between 0 and 185."
    age = retry.get("MaximumEventAgeInSeconds")
    if age is not None and (not isinstance(age, int) or not 60 <= age <= 86400):
        return "MaximumEventAgeInSeconds must be between 60 and 86400."
    return None
