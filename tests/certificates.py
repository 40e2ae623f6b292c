"""Certificates for the tests' TLS brokers, made with ``cryptography``: a CA, a server certificate
for localhost and 127.0.0.1, a client certificate, each as PEM text (keys in PKCS #8, as AWS's
secrets hold them)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    certificate: str  # PEM
    key: str = field(repr=False)  # PEM, PKCS #8, unencrypted
    chain: str = ""  # PEM: the certificate, then its issuer's (empty for a CA)
    _key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False, compare=False)
    _cert: x509.Certificate | None = field(default=None, repr=False, compare=False)

    def encrypted_key(self, password: str) -> str:
        """The key as an ENCRYPTED PRIVATE KEY (PKCS #8) under ``password``."""
        assert self._key is not None
        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(password.encode())).decode()  # fmt: skip

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """The chain (or certificate) and the key as files ``<name>.pem`` and ``<name>.key``, owner-only."""
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / f"{name}.pem", directory / f"{name}.key"
        cert.write_text(self.chain or self.certificate)
        key.touch(0o600)
        key.write_text(self.key)
        return cert, key


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()  # fmt: skip


def authority(common: str = "Lamina test CA") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common)).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return Issued(cert.public_bytes(serialization.Encoding.PEM).decode(), _pem_key(key), "", key, cert)


def issue(ca: Issued, common: str, *, server: bool) -> Issued:
    """A certificate signed by ``ca``: a server's (for localhost and 127.0.0.1) or a client's."""
    assert ca._key is not None and ca._cert is not None
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder().subject_name(_name(common)).issuer_name(ca._cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca._key.public_key()), critical=False)
    )  # fmt: skip
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca._key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return Issued(pem, _pem_key(key), pem + ca.certificate, key, cert)
