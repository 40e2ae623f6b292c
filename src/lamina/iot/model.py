"""A topic rule: what CreateTopicRule and ReplaceTopicRule accept (validated as AWS IoT does),
the stored document (kind ``iot/rule``) and the shapes the API answers with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

from lamina.iot.errors import IotInvalidRequest, SqlParse
from lamina.iot.sql import Query, SqlParseError, parse

RULE_KIND = "iot/rule"
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_]+$")
SQL_VERSIONS = ("2015-10-08", "2016-03-23", "beta")
DEFAULT_SQL_VERSION = "2015-10-08"
MAX_ACTIONS = 10
MAX_DESCRIPTION = 2028  # what AWS IoT's console and CloudFormation accept
_FUNCTION_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9_-]{1,64}(:(\$LATEST|[a-zA-Z0-9_-]+))?$"
)


def check_name(name: str) -> str:
    """``name`` if it is a valid rule name; ``InvalidRequestException`` as AWS words it otherwise."""
    if not 1 <= len(name) <= 128 or not NAME_PATTERN.match(name):
        raise IotInvalidRequest(
            f"1 validation error detected: Value '{name}' at 'ruleName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$"
        )
    return name


@dataclass(frozen=True)
class TopicRule:
    name: str
    sql: str
    function_arn: str  # the one action's: Lamina runs ``lambda`` actions
    created_at: datetime
    disabled: bool = False
    description: str = ""
    sql_version: str = DEFAULT_SQL_VERSION
    error_function_arn: str | None = None  # errorAction's, kept and shown (not yet run)
    actions: tuple[Mapping[str, object], ...] = field(default=(), compare=False)
    query: Query = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "query", parse(self.sql))

    @property
    def topic_filter(self) -> str:
        return self.query.topic_filter

    def arn(self, region: str, account_id: str) -> str:
        return f"arn:aws:iot:{region}:{account_id}:rule/{self.name}"

    def doc(self) -> dict[str, object]:
        return {"ruleName": self.name, "sql": self.sql, "functionArn": self.function_arn,
                "createdAt": self.created_at.timestamp(), "ruleDisabled": self.disabled,
                "description": self.description, "awsIotSqlVersion": self.sql_version,
                "errorFunctionArn": self.error_function_arn, "actions": list(self.actions)}  # fmt: skip

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> TopicRule:
        error_arn = doc.get("errorFunctionArn")
        actions = doc.get("actions")
        return cls(
            name=str(doc["ruleName"]), sql=str(doc["sql"]), function_arn=str(doc["functionArn"]),
            created_at=datetime.fromtimestamp(float(doc["createdAt"]), timezone.utc),  # type: ignore[arg-type]
            disabled=doc.get("ruleDisabled") is True, description=str(doc.get("description") or ""),
            sql_version=str(doc.get("awsIotSqlVersion") or DEFAULT_SQL_VERSION),
            error_function_arn=error_arn if isinstance(error_arn, str) else None,
            actions=tuple(a for a in actions if isinstance(a, dict)) if isinstance(actions, list) else (),
        )  # fmt: skip

    def wire(self) -> dict[str, object]:
        """GetTopicRule's ``rule``."""
        out: dict[str, object] = {
            "ruleName": self.name, "sql": self.sql, "description": self.description,
            "createdAt": self.created_at.timestamp(), "actions": list(self.actions),
            "ruleDisabled": self.disabled, "awsIotSqlVersion": self.sql_version,
        }  # fmt: skip
        if self.error_function_arn is not None:
            out["errorAction"] = {"lambda": {"functionArn": self.error_function_arn}}
        return out

    def list_item(self, region: str, account_id: str) -> dict[str, object]:
        """ListTopicRules' item."""
        return {"ruleArn": self.arn(region, account_id), "ruleName": self.name, "topicPattern": self.topic_filter,
                "createdAt": self.created_at.timestamp(), "ruleDisabled": self.disabled}  # fmt: skip


def from_payload(name: str, payload: Mapping[str, object], created_at: datetime) -> TopicRule:
    """A rule from a TopicRulePayload; ``InvalidRequestException`` or ``SqlParseException``
    (with the parser's line and column) for what AWS IoT refuses, and for actions Lamina does not run."""
    check_name(name)
    sql = payload.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise IotInvalidRequest("1 validation error detected: Value null at 'topicRulePayload.sql' failed to "
                                "satisfy constraint: Member must not be null")  # fmt: skip
    actions = payload.get("actions")
    if not isinstance(actions, list):
        raise IotInvalidRequest("1 validation error detected: Value null at 'topicRulePayload.actions' failed "
                                "to satisfy constraint: Member must not be null")  # fmt: skip
    if len(actions) > MAX_ACTIONS:
        raise IotInvalidRequest(f"1 validation error detected: Value '{len(actions)}' at 'topicRulePayload.actions' "
                                f"failed to satisfy constraint: Member must have length less than or equal to {MAX_ACTIONS}")  # fmt: skip
    if len(actions) != 1:
        raise IotInvalidRequest("Lamina runs exactly one action per rule, a 'lambda' action "
                                "({\"lambda\": {\"functionArn\": \"arn:aws:lambda:...\"}}); this rule has "
                                f"{len(actions)}")  # fmt: skip
    function_arn = _lambda_arn(actions[0], "actions")
    error_action = payload.get("errorAction")
    error_arn = _lambda_arn(error_action, "errorAction") if error_action is not None else None
    version = payload.get("awsIotSqlVersion")
    if version is None:
        version = DEFAULT_SQL_VERSION
    if not isinstance(version, str) or version not in SQL_VERSIONS:
        raise IotInvalidRequest(f"Invalid SQL version: {version}. Valid versions: {', '.join(SQL_VERSIONS)}")
    description = payload.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        raise IotInvalidRequest(f"The description must be a string of at most {MAX_DESCRIPTION} characters")
    disabled = payload.get("ruleDisabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise IotInvalidRequest("ruleDisabled must be a boolean")
    try:
        return TopicRule(
            name=name, sql=sql, function_arn=function_arn, created_at=created_at, disabled=disabled is True,
            description=description or "", sql_version=version, error_function_arn=error_arn,
            actions=(dict(actions[0]),),
        )  # fmt: skip
    except SqlParseError as exc:
        raise SqlParse(str(exc)) from None


def _lambda_arn(action: object, where: str) -> str:
    if not isinstance(action, dict) or not action:
        raise IotInvalidRequest(f"{where}: an action must be an object naming one action kind")
    kinds = sorted(action)
    if kinds != ["lambda"]:
        others = ", ".join(k for k in kinds if k != "lambda")
        raise IotInvalidRequest(f"Lamina runs only 'lambda' actions; {where} has: {others}")
    body = action["lambda"]
    arn = body.get("functionArn") if isinstance(body, dict) else None
    if not isinstance(arn, str) or not _FUNCTION_ARN.match(arn):
        raise IotInvalidRequest(f"Invalid Lambda function ARN: {arn}")
    return arn
