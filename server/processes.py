"""``reelgraph serve --processes N``: N server processes sharing one port (SO_REUSEPORT).

One grpc.aio process handles about one core's worth of calls; on a host with
more cores, N processes on the same port let the kernel spread connections
over them (the README's serving section has the measured rates). The parent only supervises: each child is a
complete server (own health, own metrics port), as a replica behind an L4
balancer would be. Children are stopped with the parent and die with it.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from reelgraph.errors import ReelgraphError
from reelgraph.settings import ClientSettings
from reelgraph.supervision import Supervisor, free_port, grpc_serving, supervise
from server.settings import ServerSettings


def child_args(settings: ServerSettings, port: int, index: int) -> list[str]:
    """``reelgraph serve`` arguments of child ``index``; settings not given here come from the environment."""
    args = [sys.executable, "-m", "reelgraph", "serve", "--processes", "1"]
    args += ["--bundles", str(settings.bundles_dir), "--host", settings.host, "--port", str(port)]
    args += ["--scoring-threads", str(settings.workers), "--max-pairs", str(settings.max_pairs)]
    args += ["--log-format", settings.log_format.value, "--event-loop", settings.event_loop.value]
    if settings.redis_url:
        args += ["--redis", settings.redis_url]
    if settings.metrics_port is not None:
        args += ["--metrics-port", str(settings.metrics_port + index if settings.metrics_port else 0)]
    return args


@dataclass(frozen=True)
class ProbeTls:
    """PEM bytes the readiness probe speaks TLS with; all None: plaintext."""

    root_certificates: bytes | None = None
    private_key: bytes | None = None
    certificate_chain: bytes | None = None


def probe_tls(settings: ServerSettings, env: Mapping[str, str] | None = None) -> ProbeTls:
    """The readiness probe's TLS, from the server's own TLS settings (plaintext when it serves plaintext).

    It trusts ``REELGRAPH_CLIENT_TLS_CA`` when set, the mTLS client CA and the server's own
    certificate file (so: a self-signed certificate, one signed by the client CA, or a file
    that holds its chain). Under mTLS it presents ``REELGRAPH_CLIENT_TLS_CERT``/``_KEY`` when
    set, else the server's own certificate and key (accepted when the client CA signed them).
    Raises ``ReelgraphError`` for a file it cannot read, ``SettingsError`` for a bad variable.
    """
    if settings.tls_cert is None or settings.tls_key is None:
        return ProbeTls()
    client = ClientSettings.from_env(env)
    roots = b"\n".join(_pem(p) for p in (client.tls_ca, settings.tls_client_ca, settings.tls_cert) if p is not None)
    if settings.tls_client_ca is None:
        return ProbeTls(roots)
    if client.tls_cert is not None and client.tls_key is not None:
        return ProbeTls(roots, _pem(client.tls_key), _pem(client.tls_cert))
    return ProbeTls(roots, _pem(settings.tls_key), _pem(settings.tls_cert))


def _pem(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReelgraphError(f"cannot read {path}: {exc.strerror}") from None


def _ready(stack: Supervisor, target: str, n: int, tls: ProbeTls, timeout_s: float = 300.0) -> bool:
    """Until 3·n health checks in a row, each on a new connection, say SERVING (so, very
    likely, every child answers); False when a child dies or time runs out."""
    deadline, streak = time.monotonic() + timeout_s, 0
    while streak < 3 * n:
        if stack.exited() is not None or time.monotonic() > deadline:
            stack.say("a server process did not come up")
            return False
        serving = grpc_serving(
            target,
            1.0,
            root_certificates=tls.root_certificates,
            private_key=tls.private_key,
            certificate_chain=tls.certificate_chain,
        )
        streak = streak + 1 if serving else 0
        if streak == 0:
            time.sleep(0.2)
    return True


def serve_processes(settings: ServerSettings, say: Callable[[str], None] = print) -> int:
    """Run ``settings.processes`` servers on one port until SIGINT/SIGTERM or one dies; the exit status."""
    port = settings.port or free_port(settings.host)
    tls = probe_tls(settings)  # before any child starts: an unreadable file is one line, exit 2
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Supervisor(say)
    try:
        for i in range(settings.processes):
            child = stack.spawn(f"server {i + 1}", child_args(settings, port, i))
            say(f"server {i + 1}: pid {child.proc.pid}")
        if not _ready(stack, f"{settings.host}:{port}", settings.processes, tls):
            return 1
        say(f"reelgraph serving on {settings.host}:{port} ({settings.processes} processes)")
        return supervise(stack, stop)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
