"""The TLS side of a Kafka mapping's connection: an ``ssl.SSLContext`` made from the secrets its
SERVER_ROOT_CA_CERTIFICATE (the CA that signed the brokers' certificates; without it, the
system's trusted CAs) and CLIENT_CERTIFICATE_TLS_AUTH (mTLS: the client's certificate chain and
private key) name, with the broker's hostname verified, as Lambda verifies it.

The root CA is loaded from memory. OpenSSL reads a certificate chain and key only from a file, so
they are written to an anonymous in-memory file (``memfd``), loaded through its ``/proc/self/fd``
path and closed at once; where there is none, to an owner-only temporary file removed right after.
The key never reaches a disk Lamina keeps. What cannot be used is ``SourceUnavailable`` saying what
to fix, never the key or its password.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator

from lamina.mappings.source import SourceUnavailable
from lamina.secrets import ClientCertificate

# with-kafka.md's "Provided certificate or private key is invalid".
INVALID_KEY = ("Provided certificate or private key is invalid. Please check the certificate and privateKey in the "
               "secret {secret}: {reason}.")  # fmt: skip
INVALID_ROOT_CA = "The certificate in the secret {secret} is not a PEM CA certificate: {reason}."
NO_CERTIFICATE = "it holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)"
NO_PASSWORD = "the private key is encrypted and the secret has no privateKeyPassword"
WRONG_PASSWORD = "the privateKeyPassword does not decrypt the private key"
NOT_A_KEY = "the privateKey is not a PEM private key (PKCS #8: -----BEGIN PRIVATE KEY----- ...)"
MISMATCH = "the private key is not the certificate's"


def certificate_problem(pem: str) -> str | None:
    """Why ``pem`` is not a PEM certificate (chain), or None (pure)."""
    from cryptography import x509

    try:
        x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return NO_CERTIFICATE
    return None


def key_problem(client: ClientCertificate) -> str | None:
    """Why the client's certificate or key cannot be used, or None (pure; a key that is not the
    certificate's is OpenSSL's to find)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if certificate_problem(client.certificate) is not None:
        return "the certificate field " + NO_CERTIFICATE.removeprefix("it ")
    encrypted = "ENCRYPTED PRIVATE KEY" in client.private_key
    if encrypted and not client.password:
        return NO_PASSWORD
    password = client.password.encode() if encrypted and client.password else None
    try:
        load_pem_private_key(client.private_key.encode(), password)
    except ValueError:
        return WRONG_PASSWORD if encrypted else NOT_A_KEY
    except Exception:  # noqa: BLE001 - an algorithm or format cryptography does not take
        return NOT_A_KEY
    return None


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "reason", None)
    if code == "KEY_VALUES_MISMATCH":
        return MISMATCH
    return str(code).replace("_", " ").lower() if isinstance(code, str) and code else "OpenSSL could not load them"


def context(root_ca: str | None, client: ClientCertificate | None, *, root_arn: str | None = None,
            client_arn: str | None = None) -> ssl.SSLContext:  # fmt: skip
    """A client context verifying brokers against ``root_ca`` (PEM; None: the system's CAs), with
    hostname verification, presenting ``client`` if given."""
    if root_ca is not None and (problem := certificate_problem(root_ca)) is not None:
        raise SourceUnavailable(INVALID_ROOT_CA.format(secret=root_arn, reason=problem))
    try:
        made = ssl.create_default_context(cadata=root_ca) if root_ca is not None else ssl.create_default_context()
    except (ssl.SSLError, ValueError) as exc:
        raise SourceUnavailable(INVALID_ROOT_CA.format(secret=root_arn, reason=_reason(exc))) from None
    if client is not None:
        if (problem := key_problem(client)) is not None:
            raise SourceUnavailable(INVALID_KEY.format(secret=client_arn, reason=problem))
        chain = (client.certificate.strip() + "\n" + client.private_key.strip() + "\n").encode()
        password = (client.password or "").encode()
        try:
            with _private_file(chain) as path:
                # Always a password callback: without one OpenSSL would prompt on the terminal.
                made.load_cert_chain(path, password=lambda: password)
        except (ssl.SSLError, ValueError) as exc:
            raise SourceUnavailable(INVALID_KEY.format(secret=client_arn, reason=_reason(exc))) from None
    return made


@contextlib.contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A path OpenSSL can read ``data`` from while the block runs: an in-memory file, else an
    owner-only temporary one; gone afterwards either way."""
    fd = -1
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            fd = os.memfd_create("lamina-kafka-client-key", os.MFD_CLOEXEC)
    if fd >= 0 and os.path.exists(f"/proc/self/fd/{fd}"):
        try:
            _write_all(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    if fd >= 0:
        os.close(fd)
    with tempfile.TemporaryDirectory(prefix="lamina-kafka-") as directory:  # 0700
        path = os.path.join(directory, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        try:
            yield path
        finally:
            os.unlink(path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
