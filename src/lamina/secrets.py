"""Secrets Manager secrets, as a file of the operator's (``LAMINA_SECRETS_FILE``).

Lamina has no Secrets Manager; where AWS reads a secret an event source mapping names by ARN
(a Kafka mapping's BASIC_AUTH, SASL_SCRAM_*, CLIENT_CERTIFICATE_TLS_AUTH or
SERVER_ROOT_CA_CERTIFICATE SourceAccessConfiguration, Amazon MQ's BASIC_AUTH), Lamina reads this
file: a JSON object mapping each secret's ARN to its value as Secrets Manager would hold it (SASL
and Amazon MQ: ``{"username": ..., "password": ...}``; a client certificate: ``{"certificate":
<PEM chain>, "privateKey": <PEM, PKCS #8>, "privateKeyPassword": <if encrypted>}``; a root CA:
``{"certificate": <PEM>}``; a string value is taken as the secret string itself). The file holds
passwords and keys, so it must be readable by its owner only (mode 0600 or 0400): anything else is
refused. It is read at start (so a bad file stops the
server with a clear message) and again whenever a mapping starts, so an edited file is seen without
a restart. Parsing is pure (``parse``); ``load`` adds the file's checks.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

SECRETS_VARIABLE = "LAMINA_SECRETS_FILE"


class SecretsFileError(ValueError):
    """The secrets file cannot be used (its message says why and how to fix it)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """CLIENT_CERTIFICATE_TLS_AUTH's secret: the PEM chain (client certificate first) and its key."""

    certificate: str
    private_key: str = field(repr=False)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Secret values by ARN, as JSON text (what GetSecretValue's SecretString would be)."""

    values: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __contains__(self, arn: object) -> bool:
        return arn in self.values

    def _fields(self, arn: str) -> dict[str, object]:
        text = self.values.get(arn)
        if text is None:
            return {}
        try:
            doc = json.loads(text)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def credentials(self, arn: str) -> Credentials | None:
        """The secret's ``username`` and ``password`` (None: the secret has no such pair)."""
        doc = self._fields(arn)
        username, password = doc.get("username"), doc.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return None
        return Credentials(username, password)

    def certificate(self, arn: str) -> str | None:
        """The secret's ``certificate`` (PEM text; None: the secret has none)."""
        found = self._fields(arn).get("certificate")
        return found if isinstance(found, str) and found.strip() else None

    def client_certificate(self, arn: str) -> ClientCertificate | None:
        """The secret's ``certificate``, ``privateKey`` and ``privateKeyPassword`` (None: no
        certificate or no key)."""
        doc = self._fields(arn)
        certificate, key, password = doc.get("certificate"), doc.get("privateKey"), doc.get("privateKeyPassword")
        if not isinstance(certificate, str) or not isinstance(key, str) or not certificate.strip() or not key.strip():
            return None
        return ClientCertificate(certificate, key, password if isinstance(password, str) and password else None)


def parse(text: str, where: str = SECRETS_VARIABLE) -> Secrets:
    """The secrets in a file's text; SecretsFileError unless it is a JSON object of ARN to value."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SecretsFileError(f"{where} is not valid JSON ({exc}): it must be an object mapping secret "
                               "ARNs to their values") from None  # fmt: skip
    if not isinstance(doc, dict):
        raise SecretsFileError(f"{where} must be a JSON object mapping secret ARNs to their values")
    values: dict[str, str] = {}
    for arn, value in doc.items():
        if isinstance(value, str):
            values[arn] = value
        elif isinstance(value, dict):
            values[arn] = json.dumps(value)
        else:
            raise SecretsFileError(f"{where}: the value of {arn} must be a JSON object (e.g. "
                                   '{"username": ..., "password": ...}) or a string')  # fmt: skip
    return Secrets(values)


def check_mode(mode: int, path: Path) -> None:
    """SecretsFileError if ``mode`` lets the group or others read (or write) the file."""
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretsFileError(
            f"{SECRETS_VARIABLE} {path} is readable by others (mode {stat.S_IMODE(mode):04o}): it holds "
            f"passwords, so it must be 0600 or 0400 (chmod 600 {path})"
        )


def load(path: Path) -> Secrets:
    """The secrets in the file at ``path``: its mode checked, then its JSON."""
    try:
        with path.open("rb") as handle:
            check_mode(os.fstat(handle.fileno()).st_mode, path)
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise SecretsFileError(f"{SECRETS_VARIABLE} {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SecretsFileError(f"{SECRETS_VARIABLE} {path} is not UTF-8 text") from None
    return parse(text, f"{SECRETS_VARIABLE} {path}")
