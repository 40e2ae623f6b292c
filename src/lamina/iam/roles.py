"""A function's execution role must exist and trust Lambda (CreateFunction,
UpdateFunctionConfiguration), as on AWS; in the development mode a missing role is created on the
fly (trusting lambda.amazonaws.com, with AWSLambdaBasicExecutionRole attached) and the log says so."""

from __future__ import annotations

import json
import logging

from lamina.errors import InvalidParameterValue
from lamina.iam.context import service_requester
from lamina.iam.errors import EntityAlreadyExists
from lamina.iam.evaluate import Request, trusts
from lamina.iam.managed import BASIC_EXECUTION_ROLE
from lamina.iam.service import IamService, role_name_of

log = logging.getLogger(__name__)

LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
CANNOT_ASSUME = "The role defined for the function cannot be assumed by Lambda."


class ExecutionRoles:
    def __init__(self, iam: IamService, development_mode: bool) -> None:
        self._iam = iam
        self._development = development_mode

    async def check(self, role_arn: str) -> None:
        """Refuse (InvalidParameterValueException, AWS's words) a role that does not exist or does
        not trust Lambda; in the development mode create a missing one, and let an untrusting one be."""
        role = self._iam.find_role(role_arn)
        if role is None:
            named = role_name_of(role_arn)
            if not self._development or named is None:
                raise InvalidParameterValue(CANNOT_ASSUME)
            account, name = named
            path = role_arn.split(":", 5)[5][len("role"):-len(name)] or "/"
            try:
                await self._iam.create_role(account, name, LAMBDA_TRUST, path=path,
                                            description="Created by Lamina for a function (development mode)")  # fmt: skip
            except EntityAlreadyExists:
                if self._iam.find_role(role_arn) is not None:  # another CreateFunction made it meanwhile
                    return
                raise InvalidParameterValue(CANNOT_ASSUME) from None  # a role of that name on another path
            await self._iam.attach_role_policy(account, name, BASIC_EXECUTION_ROLE)
            log.warning("role %s did not exist: created it, trusting lambda.amazonaws.com, with "
                        "AWSLambdaBasicExecutionRole attached (development mode)", role_arn)  # fmt: skip
            return
        request = Request(service_requester("lambda.amazonaws.com"), "sts:AssumeRole", role.arn, role.account)
        if not self._development and not trusts(self._iam.trust_policy(role), request):
            raise InvalidParameterValue(CANNOT_ASSUME)
