"""The TLS listener's server-side context: TLS 1.2 and later, HTTP/1.1 (what Lamina speaks)."""

from __future__ import annotations

import os
import ssl
import stat

from lamina.tls.certificates import TlsError, TlsFiles, check_key_mode


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """A context presenting ``files.cert`` (its chain, PEM) with ``files.key``; TlsError, said
    plainly, for a key others may read or this process may not, or a pair that is not PEM or does
    not match."""
    key, cert = files.key, files.cert
    check_key_mode(key, "The TLS key (LAMINA_TLS_KEY)" if files.ca is None else "Lamina's TLS key")
    try:
        regular = stat.S_ISREG(os.stat(cert).st_mode)
    except OSError as exc:
        raise TlsError(f"The TLS certificate (LAMINA_TLS_CERT) {cert} cannot be read: {exc.strerror or exc}") from None
    if not regular:  # a FIFO or a device would hold the start up, or never end
        raise TlsError(f"The TLS certificate (LAMINA_TLS_CERT) {cert} is not a regular file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TlsError(f"The TLS certificate {cert} and key {key} cannot be served: {exc.reason or exc} "
                       "(both must be PEM, the key unencrypted and the certificate's)") from None  # fmt: skip
    except OSError as exc:
        raise TlsError(f"The TLS certificate (LAMINA_TLS_CERT) {cert} cannot be read: {exc.strerror or exc}") from None
    return context
