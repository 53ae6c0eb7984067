"""TLS and mutual TLS from settings, with certificates made by openssl for the test (``pki`` in conftest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from reelgraph.client import Client
from tests.server.conftest import ServerThread, settings_for


def _score(client: Client) -> list[int]:
    return client.score_pairs(np.array([1]), np.array([10])).status.tolist()  # type: ignore[no-any-return]


def test_tls(bundles: Path, pki: Path) -> None:
    srv = ServerThread(settings_for(bundles, tls_cert=pki / "server.pem", tls_key=pki / "server.key"))
    try:
        with Client.from_files(srv.target, ca=pki / "ca.pem", retries=0, timeout_s=10) as c:
            assert _score(c) == [0]
        with Client(srv.target, retries=0, timeout_s=5) as plain, pytest.raises(grpc.RpcError) as exc:
            _score(plain)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    finally:
        srv.stop()


def test_mutual_tls(bundles: Path, pki: Path) -> None:
    srv = ServerThread(
        settings_for(bundles, tls_cert=pki / "server.pem", tls_key=pki / "server.key", tls_client_ca=pki / "ca.pem")
    )
    try:
        with Client.from_files(
            srv.target, ca=pki / "ca.pem", cert=pki / "client.pem", key=pki / "client.key", retries=0, timeout_s=10
        ) as c:
            assert _score(c) == [0]
        with (
            Client.from_files(srv.target, ca=pki / "ca.pem", retries=0, timeout_s=5) as anonymous,
            pytest.raises(grpc.RpcError) as exc,
        ):
            _score(anonymous)
        assert exc.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    finally:
        srv.stop()


def test_half_configured_tls_is_refused() -> None:
    from server.settings import ServerSettings

    with pytest.raises(ValueError, match="must be set together"):
        ServerSettings.from_env({"REELGRAPH_TLS_CERT": "/x.pem"})
    with pytest.raises(ValueError, match="mTLS"):
        ServerSettings.from_env({"REELGRAPH_TLS_CLIENT_CA": "/ca.pem"})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reelgraph", *args], capture_output=True, text=True, timeout=120)


def test_the_client_commands_reach_a_mutual_tls_server(bundles: Path, pki: Path) -> None:
    srv = ServerThread(
        settings_for(bundles, tls_cert=pki / "server.pem", tls_key=pki / "server.key", tls_client_ca=pki / "ca.pem")
    )
    tls = ["--tls-ca", str(pki / "ca.pem"), "--tls-cert", str(pki / "client.pem"), "--tls-key", str(pki / "client.key")]
    try:
        health = _cli("health", "--server", srv.target, *tls)
        plain = _cli("health", "--server", srv.target)
        rec = _cli("recommend", "--server", srv.target, "--user", "1", "-k", "3", *tls)
        audience = _cli("audience", "--genres", "Comedy", "-k", "2", "--server", srv.target, *tls)
        anonymous = _cli("recommend", "--server", srv.target, "--user", "1", "--tls-ca", str(pki / "ca.pem"))
    finally:
        srv.stop()
    assert (health.returncode, plain.returncode) == (0, 1), health.stdout + health.stderr
    assert "SERVING" in health.stdout
    assert rec.returncode == 0, rec.stdout + rec.stderr
    assert "user 1" in rec.stdout
    assert audience.returncode == 0, audience.stdout + audience.stderr
    assert anonymous.returncode == 2  # the server wants a client certificate: one line, no traceback
    assert "UNAVAILABLE" in anonymous.stderr
    assert "Traceback" not in anonymous.stderr
