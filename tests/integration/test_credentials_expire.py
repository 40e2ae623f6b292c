"""Temporary credentials stop working at their expiry, on a real clock: the server and the AWS CLI run
under libfaketime (scripts/install/faketime.sh), both reading one offset from a file the test moves
forward, so that a quarter of an hour passes for both without waiting for it (and without a clock
skew between them: what is refused is the expired token, not the request's date)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
from pathlib import Path
from typing import Callable

from tests.conftest import LaminaProcess
from tests.integration.test_iam import ACCT, VENV_BIN, iam_client

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip


def _libfaketime() -> str:
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert found, "libfaketime is missing: scripts/install/faketime.sh installs it (scripts/test runs it)"
    return found[0]


def test_assumed_role_credentials_expire_when_their_time_is_up(make_server: Callable[..., LaminaProcess],
                                                               tmp_path: Path) -> None:  # fmt: skip
    offset = tmp_path / "offset"
    offset.write_text("+0\n")
    clock = {"LD_PRELOAD": _libfaketime(), "FAKETIME_TIMESTAMP_FILE": str(offset), "FAKETIME_NO_CACHE": "1",
             "DONT_FAKE_MONOTONIC": "1"}  # fmt: skip
    server = make_server(**clock)
    iam, sts = iam_client(server.endpoint), iam_client(server.endpoint, "sts")
    role = iam.create_role(RoleName="short-lived", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]
    iam.put_role_policy(RoleName="short-lived", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"}]}))
    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="brief", DurationSeconds=900)["Credentials"]
    session = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
               "AWS_SESSION_TOKEN": creds["SessionToken"]}  # fmt: skip
    root = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

    def aws(keys: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **clock, **keys, "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null",
               "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}  # fmt: skip
        return subprocess.run([str(VENV_BIN / "aws"), "--endpoint-url", server.endpoint, "--output", "json", *args],
                              capture_output=True, text=True, env=env, timeout=120)  # fmt: skip

    def identity(keys: dict[str, str]) -> str:
        done = aws(keys, "sts", "get-caller-identity")
        assert done.returncode == 0, done.stderr
        return str(json.loads(done.stdout)["Arn"])

    assumed = f"arn:aws:sts::{ACCT}:assumed-role/short-lived/brief"
    assert identity(session) == assumed
    offset.write_text("+840\n")  # 14 minutes on: a minute left
    assert identity(session) == assumed
    assert aws(session, "lambda", "list-functions").returncode == 0

    offset.write_text("+960\n")  # 16 minutes on: a minute past the expiry
    refused = aws(session, "sts", "get-caller-identity")
    assert refused.returncode != 0
    assert "(ExpiredToken)" in refused.stderr and "The security token included in the request is expired" in refused.stderr
    refused = aws(session, "lambda", "list-functions")
    assert refused.returncode != 0 and "(ExpiredTokenException)" in refused.stderr
    # The clocks moved together: the root's key, signed at the same moment, is still good.
    assert identity(root) == f"arn:aws:iam::{ACCT}:root"
