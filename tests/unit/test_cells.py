"""Cells' pure decisions: regions, where a cell lives, which request may cross to another account."""

from __future__ import annotations

from pathlib import Path

from lamina.api.cells import action, allows, named
from lamina.cells.regions import Regions
from lamina.cells.registry import cell_dir, existing
from lamina.identity.keys import root_key
from lamina.identity.principals import AccessKey, Caller, Principal, PrincipalKind
from lamina.model import PolicyStatement

B = "222222222222"


def _caller(key: AccessKey) -> Caller:
    return Caller(key, "us-east-1", "lambda")


def _statement(principal: str | dict[str, str], action: str = "lambda:InvokeFunction",
               condition: dict[str, dict[str, str]] | None = None) -> PolicyStatement:  # fmt: skip
    return PolicyStatement("s", principal, action, "arn:aws:lambda:us-east-1:111111111111:function:f", condition or {})


def test_regions_are_awss_and_the_configured_one() -> None:
    regions = Regions("local-1")
    assert "eu-west-1" in regions and "us-east-1" in regions and "local-1" in regions
    assert "xx-nowhere-9" not in regions and "" not in regions and "eu" not in regions


def test_the_default_cell_is_the_data_directory_others_live_under_cells(tmp_path: Path) -> None:
    default = ("000000000000", "us-east-1")
    assert cell_dir(tmp_path, default, *default) == tmp_path
    assert cell_dir(tmp_path, default, B, "us-east-1") == tmp_path / "cells" / B / "us-east-1"
    assert cell_dir(tmp_path, default, "000000000000", "eu-west-1") == tmp_path / "cells/000000000000/eu-west-1"


def test_existing_cells_are_directories_with_a_store(tmp_path: Path) -> None:
    for account, region, store in ((B, "eu-west-1", True), (B, "us-east-1", False), ("notanaccount", "eu-west-1", True),
                                   (B, "xx-nowhere-9", True), ("111111111111", "us-west-2", True)):  # fmt: skip
        where = tmp_path / "cells" / account / region
        where.mkdir(parents=True)
        if store:
            (where / "lamina.db").write_bytes(b"")
    assert existing(tmp_path, Regions("us-east-1")) == [("111111111111", "us-west-2"), (B, "eu-west-1")]
    assert existing(tmp_path / "none", Regions("us-east-1")) == []


def test_function_names_that_name_an_account() -> None:
    assert named("f") is None and named("f:alias") is None
    assert named(f"{B}:function:f") == (None, B, "f", None)
    assert named(f"arn:aws:lambda:eu-west-1:{B}:function:f:live") == ("eu-west-1", B, "f", "live")


def test_the_action_of_a_request_on_a_function() -> None:
    assert action("POST", "/invocations") == "lambda:InvokeFunction"
    assert action("POST", "/invoke-async/") == "lambda:InvokeFunction"
    assert action("GET", "") == "lambda:GetFunction"
    assert action("DELETE", "") == "lambda:DeleteFunction"
    assert action("PUT", "/configuration") == "lambda:UpdateFunctionConfiguration"


def test_which_statements_let_another_account_invoke() -> None:
    root = _caller(root_key("AKIDACCOUNTB00000001", "s", B))
    assert allows((_statement({"AWS": f"arn:aws:iam::{B}:root"}),), root)
    assert allows((_statement("*"),), root)
    assert allows((_statement({"AWS": f"arn:aws:iam::{B}:root"}, "lambda:*"),), root)
    assert not allows((), root)
    assert not allows((_statement({"AWS": "arn:aws:iam::333333333333:root"}),), root)
    assert not allows((_statement({"Service": "s3.amazonaws.com"}),), root)
    assert not allows((_statement({"AWS": f"arn:aws:iam::{B}:root"}, "lambda:GetFunction"),), root)
    assert not allows((_statement("*", condition={"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::b"}}),), root)
    role = Principal(B, f"arn:aws:sts::{B}:assumed-role/r/s", "AROA:s", PrincipalKind.ASSUMED_ROLE,
                     role_arn=f"arn:aws:iam::{B}:role/r")  # fmt: skip
    assumed = _caller(AccessKey("ASIA0000000000000001", "s", role))
    assert allows((_statement({"AWS": f"arn:aws:iam::{B}:role/r"}),), assumed)
    assert allows((_statement({"AWS": f"arn:aws:iam::{B}:root"}),), assumed)  # the account's root: anyone of it
