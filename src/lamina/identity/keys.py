"""The access keys Lamina accepts: root keys from configuration, the development pair, and the
key rings other parts add (IAM users' keys, STS sessions).

``LAMINA_ACCESS_KEYS`` names root keys, each ``KEY:SECRET:ACCOUNT`` (the account's root signs
with it), separated by commas or newlines; or ``@/path/to/file``: a file of such entries, one a
line (blank lines and ``#`` comments allowed), readable by its owner only, as the secrets file
is (lamina/secrets.py). Key ids are 16 to 128 characters of A-Z and 0-9 (AWS's own are 20),
accounts 12 digits.

With none configured Lamina runs in the development mode: the published pair ``test``/``test``
is the root of ``Settings.account_id``, and only while Lamina listens on a loopback address
(``lamina server`` refuses to start otherwise: ``refusal``). The API served inside execution
environments never accepts it (``Keys.for_environments``): a function must not become root with
a key anyone knows.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Iterable

from lamina.identity.principals import AccessKey, KeyRing, Principal, PrincipalKind

ACCESS_KEYS_VARIABLE = "LAMINA_ACCESS_KEYS"
DEVELOPMENT_KEY_ID = "test"
DEVELOPMENT_SECRET = "test"
_KEY_ID = re.compile(r"[A-Z0-9]{16,128}")
_ACCOUNT = re.compile(r"[0-9]{12}")


class AccessKeysError(ValueError):
    """``LAMINA_ACCESS_KEYS`` (or the file it names) cannot be used; the message says what to fix."""


def root(account_id: str) -> Principal:
    """The root of ``account_id``: what a root key signs as."""
    return Principal(account_id, f"arn:aws:iam::{account_id}:root", account_id, PrincipalKind.ROOT)


def root_key(access_key_id: str, secret_access_key: str, account_id: str) -> AccessKey:
    return AccessKey(access_key_id, secret_access_key, root(account_id))


def development_key(account_id: str) -> AccessKey:
    """The development mode's published pair, the root of ``account_id``."""
    return root_key(DEVELOPMENT_KEY_ID, DEVELOPMENT_SECRET, account_id)


def parse(text: str, where: str = ACCESS_KEYS_VARIABLE) -> tuple[AccessKey, ...]:
    """Root keys from ``KEY:SECRET:ACCOUNT`` entries separated by commas or newlines (``#`` starts a
    comment line); ``AccessKeysError`` saying which entry is wrong and how."""
    keys: list[AccessKey] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("#"):
            continue
        for entry in (part.strip() for part in line.split(",")):
            if not entry:
                continue
            key = _entry(entry, f"{where}, line {number}" if "\n" in text.strip() else where)
            if key.access_key_id in seen:
                raise AccessKeysError(f"{where}: the key id {key.access_key_id} is given twice; each key id must be unique")
            seen.add(key.access_key_id)
            keys.append(key)
    if not keys:
        raise AccessKeysError(f"{where} names no key: give KEY:SECRET:ACCOUNT entries, or unset it for the "
                              "development mode (test/test, on loopback only)")  # fmt: skip
    return tuple(keys)


def _entry(entry: str, where: str) -> AccessKey:
    key_id, colon, rest = entry.partition(":")
    secret, colon2, account = rest.rpartition(":")
    if not colon or not colon2:
        raise AccessKeysError(f"{where}: an entry is not KEY:SECRET:ACCOUNT (it has {entry.count(':') + 1} parts, "
                              "separated by colons); separate entries with commas or newlines")  # fmt: skip
    if _KEY_ID.fullmatch(key_id) is None:
        raise AccessKeysError(f"{where}: the key id {key_id[:40]!r} must be 16 to 128 characters of A-Z and 0-9 "
                              "(for example AKIAIOSFODNN7EXAMPLE)")  # fmt: skip
    if not secret or secret != secret.strip() or any(c.isspace() for c in secret):
        raise AccessKeysError(f"{where}: the secret of key {key_id} must be non-empty, without spaces")
    if _ACCOUNT.fullmatch(account) is None:
        raise AccessKeysError(f"{where}: the account of key {key_id} must be 12 digits, not {account[:20]!r}")
    return root_key(key_id, secret, account)


def load(value: str) -> tuple[AccessKey, ...]:
    """``LAMINA_ACCESS_KEYS``'s keys: the value itself, or with ``@``, the file it names (refused if
    its group or others may read it)."""
    value = value.strip()
    if not value.startswith("@"):
        return parse(value)
    path = Path(value[1:].strip()).expanduser()
    where = f"{ACCESS_KEYS_VARIABLE} file {path}"
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise AccessKeysError(f"{where} may be read by others (mode {stat.S_IMODE(mode):04o}): it holds "
                                      f"secret keys; make it its owner's only (chmod 600 {path})")  # fmt: skip
            raw = handle.read()
    except OSError as exc:
        raise AccessKeysError(f"{where} cannot be read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AccessKeysError(f"{where} is not UTF-8 text") from None
    return parse(text, where)


def loopback(host: str) -> bool:
    """Whether ``host`` (what Lamina listens on) is reachable from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def refusal(host: str, keys: tuple[AccessKey, ...], *, verify: bool = True) -> str | None:
    """Why ``lamina server`` must not start listening on ``host`` with these root keys (and
    signatures verified or not), or None."""
    if not verify and not loopback(host):
        return ("LAMINA_VERIFY_SIGNATURES=off exists only to measure what verification costs, on a loopback "
                f"address; Lamina will not listen on {host} without verifying signatures")  # fmt: skip
    if keys or loopback(host):
        return None
    return (f"Lamina would listen on {host} with no access keys: the development key pair test/test is "
            f"accepted on loopback only. Set {ACCESS_KEYS_VARIABLE}=KEY:SECRET:ACCOUNT (or =@FILE, one "
            "a line, mode 600), or listen on 127.0.0.1.")  # fmt: skip


class Keys:
    """The key ring the server verifies against: the root keys (or, in the development mode on
    loopback, the development pair), then each ring added (``add``), asked in that order."""

    def __init__(self, roots: Iterable[AccessKey], *, development: AccessKey | None = None) -> None:
        self._roots = {key.access_key_id: key for key in roots}
        self.development = development
        if development is not None:
            self._roots.setdefault(development.access_key_id, development)
        self._rings: list[KeyRing] = []

    @classmethod
    def configured(cls, access_keys: tuple[AccessKey, ...], account_id: str, host: str) -> Keys:
        """Settings' root keys; with none, the development pair if ``host`` is loopback."""
        development = development_key(account_id) if not access_keys and loopback(host) else None
        return cls(access_keys, development=development)

    def add(self, ring: KeyRing) -> None:
        """Ask ``ring`` too, after the root keys and the rings added before it."""
        self._rings.append(ring)

    def find(self, access_key_id: str) -> AccessKey | None:
        key = self._roots.get(access_key_id)
        if key is not None:
            return key
        for ring in self._rings:
            key = ring.find(access_key_id)
            if key is not None:
                return key
        return None

    def accounts(self) -> frozenset[str]:
        """The accounts whose root keys Lamina holds."""
        return frozenset(key.principal.account_id for key in self._roots.values())

    def for_environments(self) -> KeyRing:
        """This ring without the development pair: what the API inside environments accepts."""
        return _WithoutDevelopment(self)


class _WithoutDevelopment:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def find(self, access_key_id: str) -> AccessKey | None:
        key = self._keys.find(access_key_id)
        return None if key is not None and key is self._keys.development else key
