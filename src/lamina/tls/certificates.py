"""Lamina's own certificate authority and server certificate, made in the data directory.

Without ``LAMINA_TLS_CERT``/``LAMINA_TLS_KEY`` the TLS listener presents a certificate of a local
CA that Lamina makes once, under ``<data>/tls/``: ``ca.pem`` (what clients are told to trust:
``AWS_CA_BUNDLE``), ``ca-key.pem``, ``server.pem`` and ``server-key.pem``. The directory is 0700
and every key 0600, written through a temporary file and a rename, so a crash never leaves half a
key and no other user can read one even for a moment. The CA is kept for ten years; the server
certificate is made again whenever it does not list every name Lamina answers by (``names``: a
new ``LAMINA_HOST``), expires within 30 days, or was not issued by the CA in the directory.

Keys are ECDSA P-256: quick to make and to handshake with, and accepted by every current client.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lamina.tls.names import ServerNames

CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers accept of a server certificate, and what public CAs issue at most
RENEW_BEFORE = datetime.timedelta(days=30)


class TlsError(Exception):
    """A certificate or key Lamina cannot serve with: said to the operator, who fixes it."""


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files a TLS listener serves with; ``ca``: the local CA's certificate (None for an
    operator's own pair)."""

    cert: Path
    key: Path
    ca: Path | None = None


def local_authority(directory: Path, names: ServerNames, now: datetime.datetime | None = None) -> TlsFiles:
    """The local CA's and server's files under ``directory``, made or renewed as needed."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    _private_directory(directory)
    files = TlsFiles(cert=directory / "server.pem", key=directory / "server-key.pem", ca=directory / "ca.pem")
    assert files.ca is not None
    ca_key_path = directory / "ca-key.pem"
    ca_cert = _read_cert(files.ca)
    if ca_cert is None or not ca_key_path.exists() or ca_cert.not_valid_after_utc <= now + RENEW_BEFORE:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _ca_certificate(ca_key, now)
        _write(ca_key_path, _key_pem(ca_key))
        _write(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM))
    else:
        ca_key = _ca_key(ca_key_path, ca_cert)
    current = _read_cert(files.cert)
    if current is None or not files.key.exists() or not _fits(current, ca_cert, names, now):
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_cert = _server_certificate(server_key, ca_key, ca_cert, names, now)
        _write(files.key, _key_pem(server_key))
        _write(files.cert, server_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _ca_key(path: Path, ca: x509.Certificate) -> ec.EllipticCurvePrivateKey:
    """The local CA's key, checked: its mode, its form, and that it is ``ca``'s. A damaged one is
    never replaced silently: clients trust the CA it belongs to."""
    check_key_mode(path, "Lamina's CA key")
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        loaded = None
    if not isinstance(loaded, ec.EllipticCurvePrivateKey) or loaded.public_key() != ca.public_key():
        raise TlsError(f"{path} is not the key of {path.with_name('ca.pem')}: remove {path.parent} and Lamina "
                       "makes a new CA (clients must then trust the new ca.pem)")  # fmt: skip
    return loaded


def check_key_mode(path: Path, what: str) -> None:
    """TlsError unless ``path`` is a regular file this process can read and others cannot (its
    group may: Debian's ``ssl-cert`` group is how keys are shared with services)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hold the start up
    except OSError as exc:
        raise TlsError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if not stat.S_ISREG(mode):
        raise TlsError(f"{what} {path} is not a regular file")
    if mode & stat.S_IRWXO:
        raise TlsError(f"{what} {path} is open to other users (mode {stat.S_IMODE(mode):04o}): a private "
                       f"key must be its owner's alone (chmod 600 {path})")  # fmt: skip


def _fits(cert: x509.Certificate, ca: x509.Certificate, names: ServerNames, now: datetime.datetime) -> bool:
    """Whether the server certificate on disk still serves: issued by ``ca``, valid beyond the
    renewal margin, and listing every name."""
    if cert.issuer != ca.subject or cert.not_valid_after_utc <= now + RENEW_BEFORE:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):  # not this CA's
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    dns = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(names.dns) <= dns and set(names.ips) <= ips


def _ca_certificate(key: ec.EllipticCurvePrivateKey, now: datetime.datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Lamina"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"Lamina local CA {now:%Y-%m-%d %H:%M:%S}")])  # fmt: skip
    public = key.public_key()
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def _server_certificate(key: ec.EllipticCurvePrivateKey, ca_key: ec.EllipticCurvePrivateKey,
                        ca: x509.Certificate, names: ServerNames, now: datetime.datetime) -> x509.Certificate:  # fmt: skip
    alt: list[x509.GeneralName] = [x509.DNSName(name) for name in names.dns]
    alt += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in names.ips]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.dns[0])]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())  # fmt: skip


def _read_cert(path: Path) -> x509.Certificate | None:
    """The certificate at ``path``; None if there is none (or it is not one: made anew)."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _private_directory(directory: Path) -> None:
    """``directory`` made (0700) and checked: a real directory of this user, not a link elsewhere."""
    try:
        directory.mkdir(mode=0o700, parents=True)
    except FileExistsError:  # made by an earlier run, or something else there: looked at below
        pass
    found = os.lstat(directory)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.geteuid():
        raise TlsError(f"{directory} is not a directory of Lamina's own user: remove it, and Lamina makes it anew")
    os.chmod(directory, 0o700)


def _write(path: Path, data: bytes) -> None:
    """``data`` at ``path``, owner-only from the start, replaced in one rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
