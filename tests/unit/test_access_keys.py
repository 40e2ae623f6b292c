"""LAMINA_ACCESS_KEYS and LAMINA_ACCOUNT_ID read, the development mode, and the start-up refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.identity.keys import AccessKeysError, Keys, load, loopback, parse, refusal, root_key
from lamina.identity.principals import AccessKey, PrincipalKind
from lamina.settings import Settings

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_entries_are_root_keys_of_their_accounts() -> None:
    keys = parse(f"AKIAIOSFODNN7EXAMPLE:{SECRET}:123456789012, AKIAOTHERKEY00000000:s:e:c:210987654321")
    assert [k.access_key_id for k in keys] == ["AKIAIOSFODNN7EXAMPLE", "AKIAOTHERKEY00000000"]
    assert keys[0].secret_access_key == SECRET
    assert keys[1].secret_access_key == "s:e:c"  # a secret may hold colons: the account is what follows the last
    assert keys[0].principal.arn == "arn:aws:iam::123456789012:root"
    assert keys[0].principal.kind is PrincipalKind.ROOT and keys[0].principal.user_id == "123456789012"


@pytest.mark.parametrize(("value", "says"), [
    ("AKIAIOSFODNN7EXAMPLE", "KEY:SECRET:ACCOUNT"),
    (f"akiaiosfodnn7example:{SECRET}:123456789012", "16 to 128 characters of A-Z and 0-9"),
    (f"AKIASHORT:{SECRET}:123456789012", "16 to 128 characters"),
    (f"AKIAIOSFODNN7EXAMPLE:{SECRET}:1234", "12 digits"),
    ("AKIAIOSFODNN7EXAMPLE::123456789012", "non-empty"),
    (f"AKIAIOSFODNN7EXAMPLE:{SECRET}:123456789012,AKIAIOSFODNN7EXAMPLE:{SECRET}:123456789012", "twice"),
    (" , ", "names no key"),
])  # fmt: skip
def test_wrong_entries_say_what_to_fix(value: str, says: str) -> None:
    with pytest.raises(AccessKeysError, match=says):
        parse(value)


def test_a_key_file_must_be_its_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"# Lamina's root keys\nAKIAIOSFODNN7EXAMPLE:{SECRET}:123456789012\n\n")
    path.chmod(0o644)
    with pytest.raises(AccessKeysError, match="chmod 600"):
        load(f"@{path}")
    path.chmod(0o600)
    assert [k.access_key_id for k in load(f"@{path}")] == ["AKIAIOSFODNN7EXAMPLE"]
    with pytest.raises(AccessKeysError, match="cannot be read"):
        load(f"@{tmp_path / 'missing'}")


def test_settings_read_keys_and_the_account() -> None:
    settings = Settings.from_env({"LAMINA_ACCESS_KEYS": f"AKIAIOSFODNN7EXAMPLE:{SECRET}:123456789012"})
    assert not settings.development_mode
    assert settings.account_id == "123456789012"  # the keys' one account, when LAMINA_ACCOUNT_ID is not set
    assert Settings.from_env({"LAMINA_ACCOUNT_ID": "111122223333"}).account_id == "111122223333"
    assert Settings.from_env({}).development_mode
    with pytest.raises(ValueError, match="12 digits"):
        Settings.from_env({"LAMINA_ACCOUNT_ID": "12"})
    with pytest.raises(AccessKeysError, match="replaced by LAMINA_ACCESS_KEYS"):
        Settings.from_env({"LAMINA_ACCESS_KEY_ID": "AKIDOLD", "LAMINA_SECRET_ACCESS_KEY": "old"})


def test_development_pair_only_on_loopback() -> None:
    assert Keys.configured((), "000000000000", "127.0.0.1").find("test") is not None
    assert Keys.configured((), "000000000000", "::1").find("test") is not None
    assert Keys.configured((), "000000000000", "0.0.0.0").find("test") is None
    configured = (root_key("AKIAIOSFODNN7EXAMPLE", SECRET, "123456789012"),)
    assert Keys.configured(configured, "123456789012", "127.0.0.1").find("test") is None


def test_environments_never_accept_the_development_pair() -> None:
    keys = Keys.configured((), "000000000000", "127.0.0.1")
    assert keys.find("test") is not None
    assert keys.for_environments().find("test") is None


def test_added_rings_are_asked_after_the_root_keys() -> None:
    root = root_key("AKIAIOSFODNN7EXAMPLE", SECRET, "123456789012")
    shadow = AccessKey("AKIAIOSFODNN7EXAMPLE", "other", root.principal)
    user = AccessKey("AKIAUSERKEY000000000", "user-secret", root.principal)

    class Ring:
        def find(self, access_key_id: str) -> AccessKey | None:
            return {k.access_key_id: k for k in (shadow, user)}.get(access_key_id)

    keys = Keys([root])
    keys.add(Ring())
    assert keys.find("AKIAIOSFODNN7EXAMPLE") is root
    assert keys.find("AKIAUSERKEY000000000") is user
    assert keys.find("AKIANOBODY0000000000") is None


def test_start_up_is_refused_off_loopback_without_keys() -> None:
    assert loopback("127.0.0.1") and loopback("localhost") and loopback("::1") and loopback("127.1.2.3")
    assert not loopback("0.0.0.0") and not loopback("192.168.1.10") and not loopback("example.com")
    message = refusal("0.0.0.0", ())
    assert message is not None and "LAMINA_ACCESS_KEYS" in message and "127.0.0.1" in message
    assert refusal("127.0.0.1", ()) is None
    assert refusal("0.0.0.0", (root_key("AKIAIOSFODNN7EXAMPLE", SECRET, "123456789012"),)) is None
