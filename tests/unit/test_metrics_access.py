"""Who may read /metrics (api/metrics.refused), decided from plain values."""

from __future__ import annotations

from lamina.api.metrics import refused

HOST = "127.0.0.1:9000"


def test_without_a_token_only_loopback_clients_asking_for_a_loopback_host_read_the_metrics() -> None:
    for remote in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert refused(None, None, remote, HOST) is None
    for host in ("localhost:9000", "[::1]:9000", "127.0.0.1", "lamina.localhost:9000"):
        assert refused(None, None, "127.0.0.1", host) is None
    for remote in ("10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "", None, "unix-peer", "127.0.0.1.evil"):
        refusal = refused(None, None, remote, HOST)
        assert refusal is not None and refusal[0] == 403 and "LAMINA_METRICS_TOKEN" in refusal[1]
    for host in ("evil.example:9000", "127.0.0.1.nip.io", "", None):  # DNS rebinding: another site's name
        refusal = refused(None, None, "127.0.0.1", host)
        assert refusal is not None and refusal[0] == 403


def test_with_a_token_every_client_needs_it_as_a_bearer_token() -> None:
    assert refused("t0ken", "Bearer t0ken", "10.0.0.5", "lamina.example:9000") is None
    assert refused("t0ken", "Bearer t0ken", "127.0.0.1", HOST) is None
    for sent in (None, "", "t0ken", "Bearer t0ke", "Bearer t0ken ", "bearer t0ken", "Basic dDA6a2Vu", "Bearer t0kenX"):
        assert refused("t0ken", sent, "127.0.0.1", HOST) == (401, "Send Authorization: Bearer <LAMINA_METRICS_TOKEN>.")
