"""``reelgraph serve --processes 2``: two real server processes listening on one port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from reelgraph.client import Client
from reelgraph.errors import ReelgraphError
from reelgraph.supervision import free_port
from server.processes import ProbeTls, probe_tls
from server.settings import ServerSettings
from tests.processes import alive, wait_gone


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A = LISTEN
                inodes.add(fields[9])
    return inodes


def _holds(pid: int, inodes: set[str]) -> bool:
    held = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if m := re.fullmatch(r"socket:\[(\d+)\]", target):
            held.add(m.group(1))
    return bool(held & inodes)


def _serve_two(bundles: Path, port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "reelgraph", "serve", "--bundles", str(bundles), "--port", str(port),
             "--processes", "2", "--metrics-port", "0"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def test_two_processes_share_the_port_and_stop_with_the_parent(bundles: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    parent = _serve_two(bundles, port, log)
    try:
        deadline = time.monotonic() + 120
        while len(_listening_inodes(port)) < 2:
            assert parent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        pids = [int(p) for p in re.findall(r"server \d: pid (\d+)", log.read_text())]
        assert len(pids) == 2
        inodes = _listening_inodes(port)
        assert all(_holds(pid, inodes) for pid in pids)  # each child has its own listening socket
        for _ in range(4):  # new connections, spread by the kernel; every one is answered
            with Client(f"127.0.0.1:{port}", retries=3) as c:
                assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0, log.read_text()
        assert wait_gone(pids, timeout_s=10) == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
    assert all(not alive(p) for p in pids)


def test_two_mutual_tls_processes_become_ready(bundles: Path, pki: Path, tmp_path: Path) -> None:
    """The readiness probe speaks the server's TLS: it trusts the client CA that also signed the
    server certificate and presents the server's own certificate (no REELGRAPH_CLIENT_TLS_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELGRAPH_CLIENT_TLS_")}
    env |= {
        "REELGRAPH_TLS_CERT": str(pki / "server.pem"),
        "REELGRAPH_TLS_KEY": str(pki / "server.key"),
        "REELGRAPH_TLS_CLIENT_CA": str(pki / "ca.pem"),
    }
    port = free_port()
    log = tmp_path / "serve.log"
    parent = _serve_two(bundles, port, log, env)
    try:
        deadline = time.monotonic() + 120
        while "processes)" not in log.read_text():  # "reelgraph serving on …:port (2 processes)"
            assert parent.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert f"reelgraph serving on 127.0.0.1:{port} (2 processes)" in log.read_text()
        tls = {"ca": pki / "ca.pem", "cert": pki / "client.pem", "key": pki / "client.key"}
        with Client.from_files(f"127.0.0.1:{port}", **tls, retries=3, timeout_s=10) as c:
            assert c.score_pairs(np.array([1]), np.array([10])).status.tolist() == [0]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=60) == 0, log.read_text()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)


def test_the_probe_speaks_the_servers_tls(pki: Path, tmp_path: Path) -> None:
    plain = ServerSettings()
    assert probe_tls(plain, {}) == ProbeTls()
    tls = ServerSettings(tls_cert=pki / "server.pem", tls_key=pki / "server.key")
    only_tls = probe_tls(tls, {})
    assert only_tls.root_certificates == (pki / "server.pem").read_bytes()
    assert (only_tls.private_key, only_tls.certificate_chain) == (None, None)
    mtls = ServerSettings(tls_cert=pki / "server.pem", tls_key=pki / "server.key", tls_client_ca=pki / "ca.pem")
    own = probe_tls(mtls, {})
    assert own.root_certificates == (pki / "ca.pem").read_bytes() + b"\n" + (pki / "server.pem").read_bytes()
    assert (own.private_key, own.certificate_chain) == (
        (pki / "server.key").read_bytes(),
        (pki / "server.pem").read_bytes(),
    )
    client_env = {
        "REELGRAPH_CLIENT_TLS_CA": str(pki / "ca.pem"),
        "REELGRAPH_CLIENT_TLS_CERT": str(pki / "client.pem"),
        "REELGRAPH_CLIENT_TLS_KEY": str(pki / "client.key"),
    }
    given = probe_tls(mtls, client_env)
    ca, server_pem = (pki / "ca.pem").read_bytes(), (pki / "server.pem").read_bytes()
    assert given.root_certificates == b"\n".join([ca, ca, server_pem])
    assert (given.private_key, given.certificate_chain) == (
        (pki / "client.key").read_bytes(),
        (pki / "client.pem").read_bytes(),
    )
    with pytest.raises(ReelgraphError, match="cannot read"):
        probe_tls(ServerSettings(tls_cert=tmp_path / "gone.pem", tls_key=pki / "server.key"), {})
