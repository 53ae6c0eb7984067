"""``reelgraph stack``: the whole system on one machine, in one command.

Finds the data (or downloads it), trains a bundle when none exists, starts a
private ``redis-server``, the gRPC server and the workers as child processes,
prints where they listen, and on Ctrl-C/SIGTERM stops them in order (workers,
server, Redis) — killing any that outstay their grace — so nothing is orphaned.
Children run in their own sessions (the terminal's Ctrl-C reaches only this
supervisor) and, on Linux, receive SIGTERM should the supervisor die abruptly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from reelgraph.cli.common import (
    BundlesOpt,
    Connection,
    Credentials,
    DataOpt,
    TlsFiles,
    cli_errors,
    speaks_tls,
    talks_to_server,
)
from reelgraph.cli.data import find_data
from reelgraph.cli.redis_process import RedisProcess, start_redis
from reelgraph.errors import ReelgraphError
from reelgraph.settings import DEFAULT_BUNDLES_DIR, CommonSettings
from reelgraph.supervision import Child, Supervisor, die_with_parent, free_port, grpc_serving, supervise


@dataclass(frozen=True)
class StackSettings:
    """What ``reelgraph stack`` starts.

    Attributes:
        bundles_dir: bundles root; a bundle is trained into it when it has none.
        data_dir: explicit MovieLens directory (``--data``), or None to look in
            ``data_root/ml-latest-small``, then the download cache, then download.
        data_root: ``REELGRAPH_DATA_DIR`` (None when unset).
        cache_dir: download cache (``REELGRAPH_CACHE_DIR``).
        download: allowed to download ml-latest-small (checksum-verified) when no data is found.
        host, port: the server's address (port 0 = a free one).
        metrics_port: the server's /metrics port (None = off; 0 = a free one);
            workers use the following ports.
        workers: explanation worker processes (default 1).
        train_args: extra ``reelgraph train`` arguments (e.g. ``--epochs 2``).
        probe: how the readiness probe reaches the server (TLS files when the
            server serves TLS, from ``REELGRAPH_TLS_CERT``/``_KEY`` in the environment).
    """

    bundles_dir: Path = DEFAULT_BUNDLES_DIR
    data_dir: Path | None = None
    data_root: Path | None = None
    cache_dir: Path = field(default_factory=lambda: CommonSettings().cache_dir)
    download: bool = True
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int | None = 9464
    workers: int = 1
    train_args: tuple[str, ...] = ()
    probe: Credentials = field(default_factory=Credentials)


@dataclass
class Stack(Supervisor):
    """The stack's children, stopped in reverse start order, then its private Redis."""

    redis: RedisProcess | None = None

    def stop(self) -> None:
        """SIGTERM every child (last started first), SIGKILL what outstays the grace, then Redis."""
        super().stop()
        if self.redis is not None:
            self.say(f"stopping redis-server (pid {self.redis.proc.pid})")
            self.redis.stop()


def run_stack(settings: StackSettings, say: Callable[[str], None] = print) -> int:
    """Run until SIGINT/SIGTERM or a child dies; returns the exit status (0 = clean stop)."""
    from reelgraph.bundle.loader import bundle_names  # torch: only when the stack runs

    reelgraph = [sys.executable, "-m", "reelgraph"]
    if not bundle_names(settings.bundles_dir):
        data = find_data(settings, say)
        say(f"no bundle in {settings.bundles_dir}: training one on {data} (progress below)")
        train = [*reelgraph, "train", "--data", str(data), "--out", str(settings.bundles_dir), *settings.train_args]
        if subprocess.run(train, check=False).returncode != 0:
            raise ReelgraphError("training failed (see above)")
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    stack = Stack(say)
    try:
        with tempfile.TemporaryDirectory(prefix="reelgraph-redis-") as redis_dir:
            stack.redis = start_redis(Path(redis_dir), preexec_fn=die_with_parent)
            port = _start_children(stack, settings, reelgraph)
            say(_banner(settings, port, stack))
            return supervise(stack, stop)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        say("reelgraph stack stopped")


def _start_children(stack: Stack, settings: StackSettings, reelgraph: list[str]) -> int:
    assert stack.redis is not None
    port = settings.port or free_port(settings.host)
    serve = [*reelgraph, "serve", "--bundles", str(settings.bundles_dir), "--host", settings.host]
    serve += ["--port", str(port), "--redis", stack.redis.url]
    metrics = settings.metrics_port
    if metrics is not None:
        serve += ["--metrics-port", str(metrics)]
    server = stack.spawn("server", serve)
    _wait_serving(f"{settings.host}:{port}", server, settings.probe)
    for i in range(settings.workers):
        work = [*reelgraph, "work", "--redis", stack.redis.url, "--bundles", str(settings.bundles_dir)]
        work += ["--name", f"stack-worker-{i + 1}"]
        if metrics is not None:
            work += ["--metrics-port", str(metrics + 1 + i if metrics else 0)]
        stack.spawn(f"worker {i + 1}", work)
    return port


def _wait_serving(target: str, server: Child, probe: Credentials, timeout_s: float = 120.0) -> None:
    """Block until the server's health check says SERVING."""
    deadline = time.monotonic() + timeout_s
    tls = (probe.root_certificates, probe.private_key, probe.certificate_chain)
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ReelgraphError(f"the server exited with status {server.proc.returncode} (see above)")
        if grpc_serving(target, 1.0, root_certificates=tls[0], private_key=tls[1], certificate_chain=tls[2]):
            return
        time.sleep(0.2)
    raise ReelgraphError(f"the server at {target} was not SERVING after {timeout_s:.0f} s")


def _banner(settings: StackSettings, port: int, stack: Stack) -> str:
    target = f"{settings.host}:{port}"
    assert stack.redis is not None
    lines = [
        "",
        "reelgraph stack ready",
        f"  gRPC server   {target}   (pid {stack.children[0].proc.pid})",
        f"  redis         {stack.redis.url}   (pid {stack.redis.proc.pid})",
        *(f"  {c.name:<13} pid {c.proc.pid}" for c in stack.children[1:]),
    ]
    if settings.metrics_port:
        lines.append(f"  metrics       http://{settings.host}:{settings.metrics_port}/metrics (workers: next ports)")
    lines += [
        "try:",
        f"  reelgraph demo --server {target}",
        f"  reelgraph recommend --server {target} --user 1 -k 10",
        f"  reelgraph explain --server {target} --user 1 --movie 318 --out explain-out",
        f"  grpcurl -plaintext {target} list",
        "Ctrl-C stops everything.",
    ]
    return os.linesep.join(lines)


@speaks_tls
def stack(
    bundles: BundlesOpt = None,
    data: DataOpt = None,
    download: Annotated[bool, typer.Option(help="Download ml-latest-small when no data is found.")] = True,
    host: Annotated[str, typer.Option(help="Server bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Server port (0 = a free one).")] = 50051,
    metrics_port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Server /metrics port; workers take the next ones.")
    ] = 9464,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Explanation worker processes.")] = 1,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs when a bundle must be trained.")] = None,
    *,
    tls: TlsFiles,
) -> None:
    """Run everything locally: data, a bundle (trained if missing), redis-server, server, workers. Ctrl-C stops all.

    The server and workers inherit the environment (``REELGRAPH_*``); when it makes the server
    serve TLS, pass --tls-ca (and --tls-cert/--tls-key for mTLS) so the readiness probe can reach it.
    """
    with cli_errors():
        common = CommonSettings.from_env(bundles_dir=bundles)
        settings = StackSettings(
            bundles_dir=common.bundles_dir,
            data_dir=data,
            data_root=common.data_dir,
            cache_dir=common.cache_dir,
            download=download,
            host=host,
            port=port,
            metrics_port=metrics_port,
            workers=workers,
            train_args=("--epochs", str(epochs)) if epochs else (),
            probe=tls.credentials(),
        )
        try:
            status = run_stack(settings, lambda line: typer.echo(line))
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
    raise typer.Exit(status)


@talks_to_server
def demo(
    user: Annotated[int, typer.Option("--user", help="MovieLens user id to demonstrate with.")] = 1,
    out: Annotated[Path, typer.Option(help="Where the explanation PNGs go.")] = Path("demo-out"),
    *,
    connection: Connection,
) -> None:
    """Tour a running stack: models, a scored batch, top-10 with titles, one explanation with PNGs."""
    from rich.console import Console

    from reelgraph.cli.demo import run_demo

    with cli_errors(connection.server), connection.client() as client:
        run_demo(client, Console(), user, out)
