"""Environments' credentials (sandbox/credentials.py) and the SDK trees' places (runtime/sdk), with plain values."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from lamina.errors import InvalidParameterValue
from lamina.identity.principals import AccessKey, Principal, PrincipalKind
from lamina.model import Code, FunctionConfig
from lamina.runtime import sdk
from lamina.runtime.sdk.install import requirements_for
from lamina.sandbox import credentials

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::000000000000:role/worker"
PRINCIPAL = Principal("000000000000", "arn:aws:sts::000000000000:assumed-role/worker/fn", "AROAEXAMPLE:fn",
                      PrincipalKind.ASSUMED_ROLE, role_arn=ROLE)  # fmt: skip


def key(expires_in: float | None, token: str | None = "token") -> AccessKey:
    expires = NOW + timedelta(seconds=expires_in) if expires_in is not None else None
    return AccessKey("ASIAEXAMPLE", "secret", PRINCIPAL, session_token=token, expires_at=expires)


def test_an_environment_is_given_its_key_its_token_and_the_endpoint() -> None:
    assert credentials.variables(key(3600), "http://127.0.0.1:9000") == {
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
    }  # fmt: skip


def test_without_an_issuer_only_the_endpoint_is_given() -> None:
    assert credentials.variables(None, "http://127.0.0.1:9000") == {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}
    assert credentials.variables(None, None) == {}
    assert "AWS_SESSION_TOKEN" not in credentials.variables(key(3600, token=None), None)


def test_the_secret_and_token_stay_out_of_reprs() -> None:
    assert "secret" not in repr(key(3600)) and "token" not in repr(key(3600))


@pytest.mark.parametrize(
    ("expires_in", "lifetime"),
    [
        (12 * 3600, credentials.MAX_AGE_SECONDS),  # the usual: retired at six hours, long before expiry
        (3600, 3600 - credentials.EXPIRY_MARGIN_SECONDS),  # shorter credentials: before they expire
        (60, 0.0),  # about to expire: takes no invocation
        (None, credentials.MAX_AGE_SECONDS),  # credentials that never expire: the age limit still holds
    ],
)
def test_an_environment_serves_until_its_credentials_near_expiry(expires_in: float | None, lifetime: float) -> None:
    assert credentials.lifetime(key(expires_in), NOW) == lifetime


def test_without_credentials_nothing_expires() -> None:
    assert credentials.lifetime(None, NOW) is None


class Issuer:
    """A CredentialIssuer of plain values: what it was asked, and a key or a refusal."""

    def __init__(self, refuse: bool = False) -> None:
        self.asked: list[tuple[str, str, int]] = []
        self.refuse = refuse

    async def assume_role(self, role_arn: str, session_name: str, duration_seconds: int) -> AccessKey:
        self.asked.append((role_arn, session_name, duration_seconds))
        if self.refuse:
            raise InvalidParameterValue("The role does not exist.")
        return key(duration_seconds)


def function() -> FunctionConfig:
    return FunctionConfig(name="fn", runtime="python3.12", handler="app.handler", role=ROLE, code=Code("0" * 64, "", 1))


def test_the_role_is_assumed_for_a_session_named_after_the_function() -> None:
    issuer = Issuer()
    issued = asyncio.run(credentials.issue(issuer, function()))
    assert issuer.asked == [(ROLE, "fn", credentials.CREDENTIALS_SECONDS)]
    assert issued.session_token == "token"


def test_a_role_that_cannot_be_assumed_raises_the_issuers_error() -> None:
    with pytest.raises(InvalidParameterValue):
        asyncio.run(credentials.issue(Issuer(refuse=True), function()))


# -- the SDK trees ---------------------------------------------------------------------------


def test_python39_has_its_own_tree_and_later_versions_share_one() -> None:
    assert [sdk.python_tree_for(minor) for minor in (9, 10, 12, 14)] == [9, 10, 10, 10]
    sdks = sdk.Sdks(Path("/sdk"))
    assert sdks.python_dir(9).name == "3.9" and sdks.python_dir(13).name == "3.10"
    assert sdks.python_dir(12).parent == sdks.python_root == Path("/sdk/python") / sdk.digest(sdk.PYTHON_REQUIREMENTS)
    assert sdks.node_modules == Path("/sdk/nodejs") / sdk.digest(sdk.NODE_LOCK) / "node_modules"


def test_runtimes_are_told_only_of_installed_trees(tmp_path: Path) -> None:
    sdks = sdk.Sdks(tmp_path)
    assert sdks.variables("python", "python3.12") == {} and sdks.variables("nodejs", "nodejs20.x") == {}
    assert sdks.kept() == () and sdks.installed() == {"python": False, "nodejs": False}
    sdks.python_dir(12).mkdir(parents=True)
    sdks.node_modules.mkdir(parents=True)
    assert sdks.variables("python", "python3.12") == {sdk.PYTHON_VARIABLE: str(sdks.python_dir(12))}
    assert sdks.variables("python", "python3.9") == {}  # its tree is not there
    assert sdks.variables("nodejs", "nodejs22.x") == {sdk.NODE_VARIABLE: str(sdks.node_modules)}
    assert sdks.variables("java", "java21") == {}  # AWS's Java runtimes carry no SDK
    assert sdks.kept() == (sdks.python_root, sdks.node_root)
    # A sandboxed environment sees them in /var/runtime, as on AWS: boto3 beside the runtime, node_modules in it.
    assert sdks.variables("python", "python3.12", runtime_dir="/var/runtime") == {sdk.PYTHON_VARIABLE: "/var/runtime"}
    assert sdks.variables("nodejs", "nodejs22.x", runtime_dir="/var/runtime") == {
        sdk.NODE_VARIABLE: "/var/runtime/node_modules"}
    (sdks.python_dir(12) / "boto3").mkdir()
    (sdks.python_dir(12) / "six.py").write_text("")
    assert sdks.files("python", "python3.12") == {"boto3": sdks.python_dir(12) / "boto3",
                                                  "six.py": sdks.python_dir(12) / "six.py"}  # fmt: skip
    assert sdks.files("nodejs", "nodejs20.x") == {"node_modules": sdks.node_modules}
    assert sdks.files("python", "python3.9") == {} and sdks.files("java", "java21") == {}


def test_the_pins_are_chosen_for_each_python() -> None:
    text = 'boto3==1.0\n# a comment\nurllib3==1.26 ; python_version < "3.10"\nurllib3==2.8 ; python_version >= "3.10"\n'
    assert requirements_for(9, text) == ["boto3==1.0", "urllib3==1.26"]
    assert requirements_for(12, text) == ["boto3==1.0", "urllib3==2.8"]
    with pytest.raises(ValueError):
        requirements_for(12, 'six==1 ; sys_platform == "linux"\n')


def test_every_pin_is_exact() -> None:
    for minor in sdk.PYTHON_TREES:
        assert all("==" in line for line in requirements_for(minor, sdk.PYTHON_REQUIREMENTS.read_text()))
