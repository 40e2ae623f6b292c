"""Lamina's TLS certificates (lamina/tls): the names its certificate lists, the local CA made once
and the server certificate renewed when it no longer serves, owner-only files, and the keys and
pairs it refuses to serve with, on real files."""

from __future__ import annotations

import datetime
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509

from lamina.settings import Settings
from lamina.tls.certificates import TlsError, TlsFiles, check_key_mode, local_authority
from lamina.tls.context import server_context
from lamina.tls.names import served_names

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.timezone.utc)
NAMES = served_names("127.0.0.1", "us-east-1")


def alt_names(path: Path) -> tuple[set[str], set[str]]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san.get_values_for_type(x509.DNSName)), {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


def test_the_names_cover_loopback_and_every_host_lamina_routes_by() -> None:
    assert {"localhost", "s3.localhost", "*.s3.localhost", "*.execute-api.localhost",
            "*.lambda-url.us-east-1.localhost", "*.lambda-url.eu-west-1.localhost"} <= set(NAMES.dns)  # fmt: skip
    assert NAMES.ips == ("127.0.0.1", "::1")
    assert served_names("0.0.0.0", "us-east-1") == served_names("::", "us-east-1") == NAMES
    assert served_names("10.1.2.3", "us-east-1").ips == ("127.0.0.1", "::1", "10.1.2.3")
    assert served_names("[::1]", "us-east-1").ips == ("127.0.0.1", "::1")
    assert "lamina.example.com" in served_names("Lamina.Example.com", "us-east-1").dns
    assert "*.lambda-url.local-1.localhost" in served_names("127.0.0.1", "local-1").dns  # LAMINA_REGION's own


def test_the_local_ca_is_made_once_and_its_keys_are_the_owners_alone(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    files = local_authority(directory, NAMES, NOW)
    assert files.ca == directory / "ca.pem" and files.cert == directory / "server.pem"
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
        assert stat.S_IMODE(os.stat(directory / name).st_mode) == 0o600, name
    assert sorted(p.name for p in directory.iterdir()) == ["ca-key.pem", "ca.pem", "server-key.pem", "server.pem"]
    dns, ips = alt_names(files.cert)
    assert set(NAMES.dns) <= dns and ips == {"127.0.0.1", "::1"}
    ca, cert, key = files.ca.read_bytes(), files.cert.read_bytes(), files.key.read_bytes()
    assert local_authority(directory, NAMES, NOW + datetime.timedelta(days=100)) == files
    assert (files.ca.read_bytes(), files.cert.read_bytes(), files.key.read_bytes()) == (ca, cert, key)
    # Its certificate verifies against the CA, as a client checks it.
    client = ssl.create_default_context(cafile=str(files.ca))
    assert client.cert_store_stats()["x509_ca"] == 1
    issued = x509.load_pem_x509_certificate(cert)
    issued.verify_directly_issued_by(x509.load_pem_x509_certificate(ca))


def test_the_server_certificate_is_made_again_when_it_no_longer_serves(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    files = local_authority(directory, NAMES, NOW)
    assert files.ca is not None
    ca, first = files.ca.read_bytes(), files.cert.read_bytes()
    # Another host to listen on: the certificate must name it.
    other = served_names("lamina.internal", "us-east-1")
    local_authority(directory, other, NOW)
    assert "lamina.internal" in alt_names(files.cert)[0] and files.ca.read_bytes() == ca
    second = files.cert.read_bytes()
    assert second != first
    # Within 30 days of its end: renewed, by the same CA.
    local_authority(directory, other, NOW + datetime.timedelta(days=380))
    assert files.cert.read_bytes() != second and files.ca.read_bytes() == ca
    # A certificate that is not one, or not this CA's: made anew.
    files.cert.write_text("not a certificate")
    local_authority(directory, other, NOW)
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca))  # fmt: skip
    elsewhere = local_authority(tmp_path / "elsewhere", other, NOW)
    files.cert.write_bytes(elsewhere.cert.read_bytes())
    local_authority(directory, other, NOW)
    x509.load_pem_x509_certificate(files.cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca))  # fmt: skip


def test_a_directory_that_is_not_lamina_s_own_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "tls").symlink_to(target)
    with pytest.raises(TlsError, match="not a directory of Lamina's own user"):
        local_authority(tmp_path / "tls", NAMES, NOW)
    assert list(target.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(TlsError, match="not a directory of Lamina's own user"):
        local_authority(tmp_path / "file", NAMES, NOW)


def test_a_damaged_or_swapped_ca_key_is_refused_not_replaced(tmp_path: Path) -> None:
    files = local_authority(tmp_path / "tls", NAMES, NOW)
    assert files.ca is not None
    ca_key, ca = files.ca.parent / "ca-key.pem", files.ca.read_bytes()
    for damage in (b"not a key", files.key.read_bytes()):  # garbage; the server's key, not the CA's
        ca_key.write_bytes(damage)
        with pytest.raises(TlsError, match="is not the key of .*ca.pem: remove"):
            local_authority(tmp_path / "tls", NAMES, NOW)
        assert files.ca.read_bytes() == ca


def test_a_local_key_made_readable_by_others_is_refused(tmp_path: Path) -> None:
    files = local_authority(tmp_path / "tls", NAMES, NOW)
    server_context(files)
    files.key.chmod(0o644)
    with pytest.raises(TlsError, match=r"Lamina's TLS key .* is open to other users \(mode 0644\)"):
        server_context(files)
    assert files.ca is not None
    (files.ca.parent / "ca-key.pem").chmod(0o604)
    with pytest.raises(TlsError, match="Lamina's CA key .* open to other users"):
        local_authority(tmp_path / "tls", NAMES, NOW)


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o640])
def test_keys_their_owner_or_group_may_read_are_accepted(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "key.pem"
    key.write_text("k")
    key.chmod(mode)
    check_key_mode(key, "The key")


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o602, 0o601, 0o666])
def test_keys_others_may_touch_are_refused(tmp_path: Path, mode: int) -> None:
    key = tmp_path / "key.pem"
    key.write_text("k")
    key.chmod(mode)
    with pytest.raises(TlsError, match=f"open to other users \\(mode {mode:04o}\\): .*chmod 600"):
        check_key_mode(key, "The key")


def test_keys_that_cannot_be_read_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match="cannot be read: No such file or directory"):
        check_key_mode(tmp_path / "missing.pem", "The key")
    with pytest.raises(TlsError, match="is not a regular file"):
        check_key_mode(tmp_path, "The key")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)  # no writer ever comes: an open that waited for one would hang here
    with pytest.raises(TlsError, match="is not a regular file"):
        check_key_mode(fifo, "The key")
    with pytest.raises(TlsError, match=r"LAMINA_TLS_CERT\) .*fifo is not a regular file"):
        server_context(TlsFiles(cert=fifo, key=local_authority(tmp_path / "tls", NAMES, NOW).key))
    with pytest.raises(TlsError, match=r"LAMINA_TLS_CERT\) /dev/zero is not a regular file"):
        server_context(TlsFiles(cert=Path("/dev/zero"), key=local_authority(tmp_path / "tls", NAMES, NOW).key))


def test_pairs_that_cannot_be_served_are_refused(tmp_path: Path) -> None:
    one = local_authority(tmp_path / "one", NAMES, NOW)
    two = local_authority(tmp_path / "two", NAMES, NOW)
    with pytest.raises(TlsError, match="cannot be served"):
        server_context(TlsFiles(cert=one.cert, key=two.key))  # not the certificate's key
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * 5000 + b"\n-----END CERTIFICATE-----\n")
    with pytest.raises(TlsError, match="cannot be served"):
        server_context(TlsFiles(cert=garbage, key=one.key))
    with pytest.raises(TlsError, match=r"LAMINA_TLS_CERT\) .*missing.pem cannot be read"):
        server_context(TlsFiles(cert=tmp_path / "missing.pem", key=one.key))
    context = server_context(one)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2


def test_settings_take_the_tls_variables_and_refuse_half_of_a_pair(tmp_path: Path) -> None:
    assert Settings.from_env({}).tls_port is None
    assert Settings.from_env({"LAMINA_TLS_PORT": "0"}).tls_port == 0
    assert Settings.from_env({"LAMINA_TLS_PORT": "9443"}).tls_files is None
    assert Settings.from_env({}, tls_port=8443).tls_port == 8443
    for bad in ("https", "-1", "65536", "9443abc"):
        with pytest.raises(TlsError, match="must be a port number"):
            Settings.from_env({"LAMINA_TLS_PORT": bad})
    with pytest.raises(TlsError, match="is the HTTP port too"):
        Settings.from_env({"LAMINA_TLS_PORT": "9000"})
    with pytest.raises(TlsError, match="is the HTTP port too"):
        Settings.from_env({"LAMINA_PORT": "8000"}, tls_port=8000)
    assert Settings.from_env({"LAMINA_PORT": "0", "LAMINA_TLS_PORT": "0"}).tls_port == 0  # two free ports
    files = local_authority(tmp_path / "tls", NAMES, NOW)
    env = {"LAMINA_TLS_CERT": str(files.cert), "LAMINA_TLS_KEY": str(files.key)}
    with pytest.raises(TlsError, match="set LAMINA_TLS_PORT"):
        Settings.from_env(env)
    assert Settings.from_env(env, tls_port=0).tls_files == TlsFiles(cert=files.cert, key=files.key)
    with pytest.raises(TlsError, match="go together"):
        Settings.from_env({"LAMINA_TLS_PORT": "0", "LAMINA_TLS_CERT": str(files.cert)})
    with pytest.raises(TlsError, match="go together"):
        Settings.from_env({"LAMINA_TLS_PORT": "0", "LAMINA_TLS_KEY": str(files.key)})
    files.key.chmod(0o644)
    with pytest.raises(TlsError, match="LAMINA_TLS_KEY"):
        Settings.from_env({**env, "LAMINA_TLS_PORT": "0"})

