"""The pure decisions of layer permissions, code signing configurations, runtime management and
ListFunctions' FunctionVersion/MasterRegion, with plain values."""

from __future__ import annotations

import pytest

from lamina.api.functions import listing_versions
from lamina.control import code_signing
from lamina.control.function_options import RuntimeManagement, runtime_management
from lamina.control.layer_policy import allows, statement
from lamina.errors import InvalidParameterValue, ValidationError

LAYER = "arn:aws:lambda:us-east-1:111111111111:layer:deps:3"
RUNTIME = "arn:aws:lambda:us-east-1::runtime:8eeff65f6809a3ce81507fe733fe09b835899b99481ba22fd75b5a7338290ec1"


def test_layer_statements_as_aws_builds_them() -> None:
    one = statement({"Action": "lambda:GetLayerVersion", "Principal": "222222222222"}, "b", LAYER)
    assert one == {"Sid": "b", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                   "Action": "lambda:GetLayerVersion", "Resource": LAYER}  # fmt: skip
    root = statement({"Action": "lambda:GetLayerVersion", "Principal": "arn:aws:iam::222222222222:root"}, "r", LAYER)
    assert root["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    org = statement({"Action": "lambda:GetLayerVersion", "Principal": "*", "OrganizationId": "o-abcdefghij"}, "o", LAYER)
    assert org["Principal"] == "*" and org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    for body, sid in (({"Action": "lambda:InvokeFunction", "Principal": "*"}, "s"),
                      ({"Action": "lambda:GetLayerVersion", "Principal": "12345"}, "s"),
                      ({"Action": "lambda:GetLayerVersion", "Principal": "*", "OrganizationId": "org"}, "s"),
                      ({"Action": "lambda:GetLayerVersion", "Principal": "*"}, "bad id!")):  # fmt: skip
        with pytest.raises(ValidationError):
            statement(body, sid, LAYER)


def test_which_accounts_a_layer_policy_allows() -> None:
    for_b = statement({"Action": "lambda:GetLayerVersion", "Principal": "222222222222"}, "b", LAYER)
    everyone = statement({"Action": "lambda:GetLayerVersion", "Principal": "*"}, "all", LAYER)
    org = statement({"Action": "lambda:GetLayerVersion", "Principal": "*", "OrganizationId": "o-abcdefghij"}, "o", LAYER)
    assert allows([for_b], "222222222222") and not allows([for_b], "333333333333")
    assert allows([everyone], "333333333333")
    assert not allows([org], "222222222222")  # no organizations in Lamina: a condition allows nobody
    assert not allows([], "222222222222")


def test_code_signing_config_members() -> None:
    profile = "arn:aws:signer:us-east-1:111111111111:/signing-profiles/p/abc"
    assert code_signing.profiles({"SigningProfileVersionArns": [profile]}) == (profile,)
    for bad in ({"SigningProfileVersionArns": []}, {"SigningProfileVersionArns": [profile] * 21},
                {"SigningProfileVersionArns": ["not-an-arn"]}):  # fmt: skip
        with pytest.raises(ValidationError):
            code_signing.profiles(bad)
    with pytest.raises(InvalidParameterValue):
        code_signing.profiles(None)
    assert code_signing.policy(None) == "Warn" and code_signing.policy({}) == "Warn"
    assert code_signing.policy({"UntrustedArtifactOnDeployment": "Enforce"}) == "Enforce"
    with pytest.raises(ValidationError):
        code_signing.policy({"UntrustedArtifactOnDeployment": "enforce"})
    ids = {code_signing.new_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 21 and i.startswith("csc-") and i[4:].isalnum() for i in ids)
    assert all(i == i.lower() for i in ids)


def test_runtime_management_bodies() -> None:
    assert runtime_management({"UpdateRuntimeOn": "Auto"}) == RuntimeManagement("Auto", None)
    assert runtime_management({"UpdateRuntimeOn": "Manual", "RuntimeVersionArn": RUNTIME}) == RuntimeManagement(
        "Manual", RUNTIME)  # fmt: skip
    with pytest.raises(InvalidParameterValue):
        runtime_management({"UpdateRuntimeOn": "Manual"})
    with pytest.raises(InvalidParameterValue):
        runtime_management({"UpdateRuntimeOn": "FunctionUpdate", "RuntimeVersionArn": RUNTIME})
    with pytest.raises(ValidationError):
        runtime_management({"UpdateRuntimeOn": "Never"})
    with pytest.raises(ValidationError):
        runtime_management({"UpdateRuntimeOn": "Manual", "RuntimeVersionArn": "arn:aws:lambda:us-east-1::nope"})


def test_what_list_functions_lists() -> None:
    assert listing_versions(None, None) is False
    assert listing_versions("ALL", None) is True
    assert listing_versions("ALL", "us-east-1") is None and listing_versions("ALL", "ALL") is None
    with pytest.raises(ValidationError):
        listing_versions("LATEST", None)
    with pytest.raises(ValidationError):
        listing_versions("ALL", "Mars")
    with pytest.raises(InvalidParameterValue):
        listing_versions(None, "us-east-1")
